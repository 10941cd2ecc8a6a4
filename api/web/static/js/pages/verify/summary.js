// The verdict in plain words (what was checked, what it means for the loan) and the sampled
// records, readable, from a verifier's report and the bundle as parsed by verify/json.js. Text
// that comes from the bundle is shown escaped (shown, pyRepr: as dpl prints it). Pure.
import { get, keysOf, pyType } from '../../verify/json.js';
import { pyRepr, shown } from '../../verify/pyfmt.js';

const text = (v) => (pyType(v) === 'str' ? shown(v) : pyRepr(v ?? null));
const dict = (v) => (pyType(v) === 'dict' ? v : null);
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** A value of a record field, readable: text as itself (escaped), numbers exactly as written. */
export function fieldText(value) {
  return text(value);
}

/**
 * The sampled (or proven) records of a bundle: [{index, id, ts, type, fields: [[name, text]]}],
 * in the bundle's order; a record that is not an object is given as its text in `fields`.
 */
export function sampledRecords(bundle) {
  const entries = dict(bundle) ? get(bundle, 'entries') : null;
  if (pyType(entries) !== 'list') return [];
  return entries.map((entry) => {
    const e = dict(entry) || {};
    const record = dict(get(e, 'record'));
    const data = record ? dict(get(record, 'data')) : null;
    return {
      index: text(get(e, 'index')),
      id: record ? text(get(record, 'id')) : '—',
      ts: record ? text(get(record, 'ts')) : '—',
      type: record ? text(get(record, 'type')) : '—',
      fields: data ? keysOf(data).map((k) => [shown(k), text(get(data, k))])
        : [['record', text(get(e, 'record'))]],
    };
  });
}

/**
 * {checked, meaning} for the verdict, in words.
 * @param report the verifier's answer ({sound, checks})
 * @param bundle the parsed bundle; format 'dpl-collateral/1' or 'dpl-proof/1'
 * @param facts.tokenId, facts.rpcUrl, facts.registry
 */
export function plainVerdict(report, bundle, format, { tokenId = null, rpcUrl = '', registry = '' } = {}) {
  const b = dict(bundle) || {};
  const n = pyType(get(b, 'entries')) === 'list' ? get(b, 'entries').length : 0;
  const failed = report.checks.filter((c) => !c.ok);
  const where = `read from ${rpcUrl} through registry ${registry}`;
  let checked;
  if (format === 'dpl-collateral/1') {
    const m = dict(get(b, 'manifest')) || {};
    const range = dict(get(m, 'range')) || {};
    const cp = dict(get(m, 'checkpoint')) || {};
    checked = `Pledge #${tokenId} on chain (${where}): its manifest of records [${text(get(range, 'from'))}, `
      + `${text(get(range, 'to'))}) of ${text(get(m, 'stream'))}, and ${plural(n, 'sampled record', 'sampled records')}, `
      + `each proven in the log's checkpoint of size ${text(get(cp, 'size'))} that the registry anchored.`;
  } else {
    const cp = dict(get(b, 'checkpoint')) || {};
    checked = `${plural(n, 'record', 'records')} of ${text(get(b, 'stream'))}, proven in the checkpoint of size `
      + `${text(get(cp, 'size'))}, against the chain (${where}).`;
  }
  let meaning;
  if (failed.length) {
    meaning = `Do not rely on this bundle: ${plural(failed.length, 'check', 'checks')} failed, first "${failed[0].name}" — `
      + `${shown(failed[0].detail)}. What it shows is not proven to be ${format === 'dpl-collateral/1'
        ? 'the collateral this pledge holds a lien on' : "the factory's anchored log"}.`;
  } else if (format === 'dpl-collateral/1') {
    const lien = report.checks.find((c) => c.name === 'pledge holds its lien');
    meaning = `The pledge holds its lien (${shown(lien?.detail ?? '')}) on records the factory's log holds exactly as shown `
      + 'below, anchored on chain before the pledge was issued; the sample was drawn from the chain at issue, not chosen '
      + 'by the factory. It proves what the factory logged and anchored, not that the log is true to its machines.';
  } else {
    meaning = 'These records are in the factory\'s log exactly as shown below, under a root the registry anchored. '
      + 'A proof bundle is not a pledge: it gives no lien on them.';
  }
  return { checked, meaning };
}
