// Lender page, "Granted data": the data-access grants naming this lender (dpl-grant/1,
// docs/GRANTS.md), live ones first; through a live grant, read a page of a granted log's records
// (GET /v1/grants/{id}/records, a dpl-grant-read/1) shown as a table of the granted fields only —
// the fields a grant leaves out are marked hidden and never reach the page. A record granted whole
// comes with its salt and inclusion proof: those are checked in this browser (the page's records
// as one dpl-proof/1, verify/proof_bundle.js: leaf hash and RFC 9162 inclusion under the read's
// checkpoint, then that root on chain through the JSON-RPC URL and registry of the Disclosures
// section, verify/chain.js) and marked "verified"; a record with hidden fields is labelled "the
// service's word", as the answer's notice says. On a dpl-record/2 log every record comes as a
// partial record (its hidden fields as commitments, never their values): the page of records is
// checked here with verify/grant_read.js (verifyGrantRead: each record's leaf rebuilt from its
// disclosed fields and commitments, and its inclusion under the checkpoint), a record that fails
// marked NOT verified on its own, then the checkpoint's root on chain as above (anchorChecks); a
// record that passes reads "verified (hidden fields committed)". Each read's receipt (its
// access-log entry) is shown.
import { readConfig } from '../../config.js';
import { api, errorText } from '../../api.js';
import { badge, busy, h, short, table } from '../../dom.js';
import { fmtTime } from '../../format.js';
import { shown } from '../../verify/pyfmt.js';
import { isAddress } from '../../verify/collateral.js';
import { parseJson, get } from '../../verify/json.js';
import { anchorChecks, verifyProofBundleOnChain } from '../../verify/chain.js';
import { verifyGrantRead } from '../../verify/grant_read.js';
import { BundleError } from '../../verify/errors.js';
import { verifyProofBundle } from '../../verify/proof_bundle.js';

const $ = (id) => document.getElementById(id);
/** The page a read asks for by default (the API allows up to 1,000). */
const PAGE = 50;

/**
 * The proven records of a dpl-grant-read/1 (`read`: parsed by verify/json.js, so numbers keep
 * Python's view) as one dpl-proof/1 bundle against the read's checkpoint, or null when none is
 * proven. Only the fields a dpl-proof/1 has are taken.
 */
export function proofBundleOf(read) {
  const proven = (get(read, 'records') || []).filter((e) => get(e, 'proven') === true && get(e, 'proof'));
  if (!proven.length || !get(read, 'checkpoint')) return null;
  return {
    format: 'dpl-proof/1', log_id: get(read, 'log_id'), stream: get(read, 'stream'),
    checkpoint: get(read, 'checkpoint'), anchor: get(read, 'anchor') ?? null,
    entries: proven.map((e) => ({ index: get(e, 'index'), record: get(e, 'record'), salt: get(e, 'salt'),
      leaf_hash: get(e, 'leaf_hash'), proof: get(e, 'proof') })),
  };
}

async function registryCode() {
  const r = await fetch('/web/registry-code.json');
  if (!r.ok) throw new Error(`the registry's expected code could not be loaded (HTTP ${r.status})`);
  return r.json();
}

/** The chain to check against: the Disclosures section's fields (or the service's defaults). */
function trust() {
  const config = readConfig();
  const rpcUrl = ($('d-rpc')?.value || config.rpcUrl || '').trim();
  const registry = ($('d-registry')?.value || config.registry || '').trim();
  if (!/^https?:\/\/\S+$/.test(rpcUrl)) throw new Error('no JSON-RPC URL to check the proofs against (under Disclosures, "The chain to check against")');
  if (!isAddress(registry)) throw new Error('no registry address to trust (under Disclosures, "The chain to check against")');
  return { rpcUrl, registry, registrySource: registry.toLowerCase() === (config.registry || '').toLowerCase()
    ? "the registry field (this service's pinned registry)" : 'the registry field (an address you typed)' };
}

/**
 * Checks the proven records of `read` here: resolves to index -> {ok, detail}. Each record's leaf
 * hash and inclusion are checked offline first (a failure marks that record only); the records that
 * pass are then checked together against the chain (a failed chain check fails them all, with its reason).
 */
async function checkProven(read) {
  const bundle = proofBundleOf(read);
  const verdicts = new Map();
  if (!bundle) return verdicts;
  const offline = await verifyProofBundle(bundle);
  const failedCheck = (index) => offline.checks.find((c) => !c.ok && (c.name === `entry ${index}: leaf hash` || c.name === `entry ${index}: inclusion`));
  const format = offline.checks.find((c) => c.name === 'format' && !c.ok);
  const passing = [];
  for (const e of bundle.entries) {
    const index = Number(e.index);
    const bad = format || failedCheck(index);
    if (bad) verdicts.set(index, { ok: false, detail: `${bad.name}: ${bad.detail}` });
    else passing.push(e);
  }
  if (!passing.length) return verdicts;
  const r = await verifyProofBundleOnChain({ ...bundle, entries: passing }, { ...trust(), registryCode: await registryCode() });
  const bad = r.checks.find((c) => !c.ok);
  for (const e of passing) {
    verdicts.set(Number(e.index), r.sound ? { ok: true, detail: `leaf at index ${e.index} of size ${r.size}, root anchored on chain` }
      : { ok: false, detail: bad ? `${bad.name}: ${bad.detail}` : (r.error || 'not checked') });
  }
  return verdicts;
}

/** The record format of a read (a v1 answer may not name it). */
const V2 = 'dpl-record/2';

/**
 * Checks a read of a dpl-record/2 log (`read`: parsed by verify/json.js) here: resolves to index ->
 * {ok, detail}. The page is checked whole with verifyGrantRead; when that fails, each record alone
 * (the same answer holding it only), so a failure marks that record only, in verifyGrantRead's
 * words. The proven records that pass are then checked together against the chain (the checkpoint's
 * root anchored for the log at its size; a failed chain check fails them all, with its reason).
 */
async function checkPartials(read) {
  const verdicts = new Map();
  const records = get(read, 'records');
  if (!Array.isArray(records)) return verdicts;
  const attempt = async (doc) => {
    try { return { ok: await verifyGrantRead(doc) }; } catch (e) {
      if (!(e instanceof BundleError)) throw e;
      return { error: e.message };
    }
  };
  let header = null;
  const passing = [];
  const whole = await attempt(read);
  if (whole.ok) {
    header = whole.ok;
    for (const [index, , proven] of whole.ok.records) if (proven) passing.push(Number(index));
  } else {
    for (const e of records) {
      const one = await attempt({ ...read, records: [e] });
      const index = Number(get(e, 'index'));
      if (one.ok) {
        header = one.ok;
        if (one.ok.records[0][2]) passing.push(index);
      } else {
        verdicts.set(index, { ok: false, detail: one.error });
      }
    }
  }
  if (!passing.length) return verdicts;
  const chain = await anchorChecks(header, { ...trust(), registryCode: await registryCode() });
  const bad = chain.find((c) => !c.ok);
  for (const index of passing) {
    verdicts.set(index, bad ? { ok: false, detail: `${bad.name}: ${bad.detail}` }
      : { ok: true, detail: `leaf at index ${index} of size ${header.size} (rebuilt from the disclosed fields and the hidden fields' commitments), root anchored on chain` });
  }
  return verdicts;
}

const cellValue = (v) => h('code', {}, shown(typeof v === 'string' ? v : JSON.stringify(v)));

/** The read as a table: id, ts, type, the granted fields (others marked hidden), the proof's state. */
function recordsTable(read, grant, verdicts) {
  const fields = [];
  const add = (f) => { if (!fields.includes(f)) fields.push(f); };
  for (const e of read.records) {
    const granted = grant.types[e.record.type] || [];
    if (granted.length === 1 && granted[0] === '*') Object.keys(e.record.data || {}).forEach(add);
    else granted.forEach(add);
  }
  const v2 = read.record_format === V2;
  const rows = read.records.map((e) => {
    const granted = grant.types[e.record.type] || [];
    const whole = v2 ? !(e.partial?.hidden?.length) : granted.length === 1 && granted[0] === '*';
    const data = e.record.data || {};
    const cells = fields.map((f) => (Object.prototype.hasOwnProperty.call(data, f) ? h('td', { 'data-field': f }, cellValue(data[f]))
      : h('td', { 'data-field': f, class: 'muted' }, '—')));
    const verdict = verdicts.get(e.index);
    let proof;
    if (!e.proven) proof = h('span', { class: 'badge pending', 'data-proof': 'word' }, "the service's word");
    else if (verdict?.ok) proof = h('span', { class: 'badge ok', 'data-proof': 'verified', title: verdict.detail },
      v2 && !whole ? 'verified (hidden fields committed)' : 'verified');
    else if (verdict) proof = [h('span', { class: 'badge bad', 'data-proof': 'failed' }, 'NOT verified'), ' ', shown(verdict.detail)];
    else proof = h('span', { class: 'badge pending', 'data-proof': 'unchecked' }, 'not checked');
    return h('tr', { 'data-index': e.index, 'data-type': e.record.type },
      h('td', {}, String(e.index)), h('td', {}, cellValue(e.record.id)), h('td', {}, cellValue(e.record.ts)),
      h('td', {}, h('code', {}, shown(e.record.type))), ...cells,
      whole ? h('td', { 'data-field': '(other)' }, 'none') : h('td', { 'data-field': '(other)', class: 'hidden-field' }, 'hidden'),
      h('td', { 'data-field': '(proof)' }, proof));
  });
  return table(['Index', 'Id', 'ts', 'Type', ...fields.map(shown), 'Other data fields', 'Proof'], rows, { class: 'grant-records' });
}

/** The receipt of a read: the access-log entry the service wrote before answering. */
function receiptOf(read) {
  const r = read.receipt;
  if (!r) return h('p', { class: 'muted' }, 'No receipt came with this read.');
  return h('p', { class: 'receipt', 'data-testid': 'grant-receipt' }, 'Receipt: access-log entry ',
    h('b', { 'data-field': 'index' }, `#${r.index}`), ', leaf hash ', short(r.leaf_hash, 8), ' in access log ', short(r.access_log, 6),
    ' — keep it to prove this read was logged.');
}

/**
 * A live grant's read form: a granted log, a range, "Read records"; the page of records below.
 * `prefix` names its controls' ids and `testid` its test ids, distinct where one grant is shown twice
 * (under Granted data and in an application).
 */
export function readForm(g, { prefix = 'gr', testid = 'grant' } = {}) {
  const id = `${prefix}-${g.id}`;
  const log = h('select', { id: `${id}-log` }, g.grant.logs.map((l) => h('option', { value: l }, l)));
  const start = 'from' in g.grant.records ? g.grant.records.from : 0;
  const from = h('input', { id: `${id}-from`, type: 'number', min: 0, step: 1, inputmode: 'numeric', value: start });
  const to = h('input', { id: `${id}-to`, type: 'number', min: 1, step: 1, inputmode: 'numeric',
    value: 'to' in g.grant.records ? Math.min(g.grant.records.to, start + PAGE) : PAGE });
  const button = h('button', { type: 'button', id: `${id}-read` }, 'Read records');
  const out = h('div', { class: 'stack', 'data-testid': `${testid}-read-${g.id}`, 'aria-live': 'polite' });
  button.addEventListener('click', () => busy(button, async () => {
    out.replaceChildren(h('p', { class: 'muted', role: 'status' }, 'Reading…'));
    const query = `log=${encodeURIComponent(log.value)}&from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;
    let response;
    try {
      response = await api('GET', `/v1/grants/${g.id}/records?${query}`, undefined, { raw: true });
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-testid': `${testid}-refused-${g.id}` },
        `The read was refused: ${errorText(e)}`));
      return;
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const read = JSON.parse(new TextDecoder().decode(bytes)); // for display; checked from its exact reading below
    let verdicts = new Map(), chainError = null;
    try {
      const exact = parseJson(bytes);
      verdicts = await (get(exact, 'record_format') === V2 ? checkPartials(exact) : checkProven(exact));
    } catch (e) { chainError = errorText(e); }
    const proven = read.records.filter((e) => e.proven).length;
    const verified = [...verdicts.values()].filter((v) => v.ok).length;
    out.replaceChildren(
      h('p', {}, h('b', {}, `${read.records.length} record(s)`), ` of ${shown(read.stream)} in [${read.range.from}, ${read.range.to})`,
        read.checkpoint ? `, against checkpoint ${read.checkpoint.size.toLocaleString('en')} (root ` : '',
        read.checkpoint ? short(read.checkpoint.root, 6) : '', read.checkpoint ? ')' : ', no anchored checkpoint yet', '.'),
      read.notice ? h('p', { class: 'muted', 'data-testid': 'grant-notice' }, shown(read.notice)) : '',
      proven ? h('p', { 'data-testid': 'grant-verified' }, `${verified} of ${proven} proven record(s) verified in this browser`
        + (chainError ? ` (not checked: ${chainError})` : '.')) : '',
      recordsTable(read, g.grant, verdicts), receiptOf(read));
  }, out));
  return h('div', { class: 'stack' },
    h('div', { class: 'row' }, h('div', { class: 'stack' }, h('label', { for: log.id }, 'Log'), log),
      h('div', { class: 'stack' }, h('label', { for: from.id }, 'From'), from),
      h('div', { class: 'stack' }, h('label', { for: to.id }, 'To (exclusive)'), to),
      h('div', {}, button)),
    out);
}

function grantCard(g) {
  const records = 'from' in g.grant.records ? `[${g.grant.records.from}, ${g.grant.records.to})`
    : `ts in [${g.grant.records.since}, ${g.grant.records.until})`;
  const state = g.state === 'live' ? badge('live', 'live') : g.state === 'revoked'
    ? badge(g.revoked_at ? `revoked ${fmtTime(g.revoked_at)}` : 'revoked', 'lapsed') : badge('expired', 'lapsed');
  return h('article', { class: 'item grant', 'data-testid': `grant-${g.id}`, 'data-state': g.state },
    h('h3', {}, `Grant #${g.id} from ${shown(g.factory)} `, state),
    h('dl', { class: 'terms' },
      h('dt', {}, 'Logs'), h('dd', {}, g.grant.logs.map((l) => h('div', {}, short(l, 6)))),
      h('dt', {}, 'Records'), h('dd', {}, records),
      h('dt', {}, 'Types and fields'), h('dd', {}, Object.entries(g.grant.types).map(([t, f]) => h('div', {},
        h('code', {}, shown(t)), ': ', f.length === 1 && f[0] === '*' ? 'every field' : f.map(shown).join(', ')))),
      h('dt', {}, 'Expires'), h('dd', {}, fmtTime(g.grant.expires)),
      h('dt', {}, 'Digest'), h('dd', {}, short(g.digest, 8))),
    g.state === 'live' ? readForm(g) : null);
}

export async function loadGrants() {
  const box = $('grants');
  box.setAttribute('aria-busy', 'true');
  try {
    const list = await api('GET', '/v1/grants');
    list.sort((a, b) => (a.state === 'live') === (b.state === 'live') ? b.id - a.id : a.state === 'live' ? -1 : 1);
    box.replaceChildren(...(list.length ? list.map(grantCard)
      : [h('p', { class: 'muted', 'data-testid': 'no-grants' }, 'No factory has granted you reads of its data yet.')]));
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not load the grants: ', errorText(e)));
  }
  box.setAttribute('aria-busy', 'false');
}

export function wireGrants() {
  const reload = $('reload-grants');
  reload.addEventListener('click', async () => { reload.disabled = true; await loadGrants(); reload.disabled = false; });
  return loadGrants();
}
