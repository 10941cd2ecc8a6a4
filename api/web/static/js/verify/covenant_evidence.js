// Re-checking a covenant warning's evidence from a disclosure of its window
// (ledger/covenant_evidence.py, docs/COVENANTS.md "Re-checking a warning"): the same checks, in the
// same order, with the same names and words. Pure (maths only): the chain checks of the
// disclosure's checkpoint are the caller's (verify/chain.js anchorChecks, against the registry the
// lender trusts). What it ports from ledger/covenants.py is only what a re-check needs: the set's
// check, a covenant in words, the week figures of a window (WeeklyFigures.build), the judgement of
// one week (week_basis, judge_weeks) and a machine's silences (silences).
//
// Checks, in order, up to the first that fails: "warning", "covenant", "disclosure", "same log",
// "checkpoint", "window", "week closed" (weekly codes), "figure". The warning stands only if
// every check passes.
import { BundleError } from './errors.js';
import { toModel, pyType, get } from './json.js';
import { toHex } from './hex.js';
import { canonicalText } from './jcs.js';
import { pyRepr } from './pyfmt.js';
import { check } from './collateral.js';
import { verifyDisclosure } from './disclosure.js';
import { ProfileBuilder, checkProfile, checkTz, checkMapping } from './profile.js';
import { ratio, tzOffsetMs, instantMs, dayOf, weekText, compareCodePoints } from './exact.js';

export const COVENANTS_FORMAT = 'dpl-covenants/1';
const MAX_HOURS = 8760;
const HOUR_MS = 3600000;
const DAY_MS = 86400000;
const IOT = 'iot.telemetry';
const RATIO = /^(0|[1-9][0-9]*)\.[0-9]{6}$/;
const HEX32 = /^0x[0-9a-f]{64}$/;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** A covenant set's mistake (ledger.errors.InvalidArgumentError's words). */
class InvalidArgument extends Error {}
const invalid = (message) => { throw new InvalidArgument(message); };

const isInt = (v) => pyType(v) === 'int';

function hours(where, v) {
  if (!isInt(v) || !(Number(v) >= 1 && Number(v) <= MAX_HOURS)) {
    invalid(`${where}: must be a whole number of hours from 1 to ${MAX_HOURS}, not ${pyRepr(v)}`);
  }
  return Number(v);
}

function percent(where, v) {
  if (!isInt(v) || !(Number(v) >= 1 && Number(v) <= 100)) invalid(`${where}: must be a whole percentage from 1 to 100, not ${pyRepr(v)}`);
  return Number(v);
}

/** A 6-decimal ratio as millionths (BigInt). */
const millionthsOf = (s) => BigInt(s.replace('.', ''));

function share(where, v) {
  if (typeof v !== 'string' || !RATIO.test(v) || millionthsOf(v) > 1000000n) {
    invalid(`${where}: must be a ratio from "0.000000" to "1.000000" with 6 decimals, not ${pyRepr(v)}`);
  }
  return v;
}

/** Each code's parameters: name -> checker (ledger.covenants.CODES). */
export const CODES = {
  anchoring_cadence: { max_hours: hours },
  output_floor: { min_percent: percent },
  stoppage: { max_hours: hours },
  cross_source_mismatch: { max_ratio: share },
  scrap_ceiling: { max_ratio: share },
  customer_concentration: { max_top1_share: share },
};
const own = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isCode = (code) => typeof code === 'string' && own(CODES, code);

/** ledger.covenants.check_covenants: a checked copy, else InvalidArgument naming the field. */
export function checkCovenants(obj) {
  if (pyType(obj) !== 'dict') invalid('covenants: must be a JSON object');
  const extra = Object.keys(obj).filter((k) => !['format', 'tz', 'covenants'].includes(k)).sort(compareCodePoints);
  if (extra.length) invalid(`covenants ${extra[0]}: unknown field`);
  const fmt = get(obj, 'format');
  if (fmt !== COVENANTS_FORMAT) invalid(`covenants format: must be ${pyRepr(COVENANTS_FORMAT)}, not ${pyRepr(fmt ?? null)}`);
  if (!own(obj, 'tz')) invalid('covenants tz: missing (an offset like +08:00 that names the weeks)');
  let tz;
  try { tz = checkTz(obj.tz); } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    invalid(`covenants tz: ${e.message}`);
  }
  const items = get(obj, 'covenants');
  if (pyType(items) !== 'list' || !items.length) invalid('covenants covenants: must be a non-empty list');
  const out = [], seen = new Set();
  items.forEach((item, i) => {
    const where = `covenants[${i}]`;
    if (pyType(item) !== 'dict') invalid(`${where}: must be an object`);
    const code = get(item, 'code') ?? null;
    if (!isCode(code)) invalid(`${where}.code: ${pyRepr(code)} is not a covenant (known: ${Object.keys(CODES).join(', ')})`);
    if (seen.has(code)) invalid(`${where}.code: ${code} is listed twice`);
    seen.add(code);
    const params = CODES[code];
    const more = Object.keys(item).filter((k) => k !== 'code' && !own(params, k)).sort(compareCodePoints);
    if (more.length) invalid(`${where}.${more[0]}: not a parameter of ${code}`);
    const copy = { code };
    for (const [name, checker] of Object.entries(params)) {
      if (!own(item, name)) invalid(`${where}.${name}: missing (the ${code} covenant needs it)`);
      copy[name] = checker(`${where}.${name}`, item[name]);
    }
    out.push(copy);
  });
  return { format: COVENANTS_FORMAT, tz, covenants: out };
}

/** ledger.covenants.describe: one checked covenant in words. */
export function describe(c) {
  switch (c.code) {
    case 'anchoring_cadence': return `the log gets a new anchored checkpoint at least every ${c.max_hours} hours (block time)`;
    case 'output_floor': return `each week's MES good output per day with records is at least ${c.min_percent} % of the pledged range's`;
    case 'stoppage': return `no machine of the pledged range goes more than ${c.max_hours} hours without a telemetry reading`;
    case 'cross_source_mismatch': return `each week's IoT-vs-MES mismatch is at most ${c.max_ratio}`;
    case 'scrap_ceiling': return `each week's MES scrap rate is at most ${c.max_ratio}`;
    default: return `in each week and currency, the largest customer's share of sales is at most ${c.max_top1_share}`;
  }
}

/** A profile count (an integer or a decimal string beyond 2^53) as a BigInt, 0 for null. */
const int = (v) => (v === null || v === undefined ? 0n : BigInt(v));

/** Python's f"{x:.1f}" of the double x >= 0: the exact binary value rounded, ties to even (JS
 * toFixed rounds exact ties up: 0.25 is "0.3" there, "0.2" in Python). */
export function pyFixed1(x) {
  const q = x * 4;
  if (Number.isInteger(q) && q % 2 === 1) { // x = k + 0.25 or k + 0.75: x * 10 ends in .5 exactly
    const t = x * 10, lo = Math.floor(t);
    const n = lo % 2 === 0 ? lo : lo + 1;
    return `${Math.floor(n / 10)}.${n % 10}`;
  }
  return x.toFixed(1);
}

const hoursText = (ms) => `${pyFixed1(ms / HOUR_MS)} hours`;

// ---------------------------------------------------------------- the figures of a window

/** The week figure of a profile-figure covenant: [value, subject] (ledger.covenants._week_figure). */
function weekFigure(code, p) {
  if (code === 'cross_source_mismatch') {
    const cs = p.cross_source;
    return [(cs || {}).mismatch ?? null, cs];
  }
  if (code === 'scrap_ceiling') return [(p.mes || {}).scrap_rate ?? null, p.mes];
  let worst = null;
  const by = (p.sales || {}).by_currency || {};
  for (const currency of Object.keys(by).sort(compareCodePoints)) {
    const s = by[currency].top1_share;
    if (s !== null && (worst === null || millionthsOf(s) > millionthsOf(worst[0]))) worst = [s, currency];
  }
  return worst === null ? [null, null] : worst;
}

/**
 * ledger.covenants.WeeklyFigures.build over `records` ([index, record] pairs, consecutive from
 * `start`): {start, end, weeks: [{name, endMs, first, last, n, profile, figures}], machines:
 * Map(name -> {inst, index}) in time order, newestMs}.
 */
export function weeklyFigures(records, { start, tz, mapping }) {
  tz = checkTz(tz);
  mapping = checkMapping(mapping);
  const tzMs = tzOffsetMs(tz);
  const mapped = ((mapping || {}).types || {})[IOT] || {};
  const iotType = mapped.type ?? IOT;
  const renamed = mapped.fields || {};
  const machineKey = renamed.machine ?? 'machine';
  const unused = new Set(['power_kw', 'temp_c', 'vibration_mm_s'].map((f) => renamed[f] ?? f));
  const weeks = new Map();
  const readings = new Map();
  let newest = null, expected = start;
  for (const [index, record0] of records) {
    if (index !== expected) invalid(`records after the range must come in index order from ${start}: expected index ${expected}, got ${pyRepr(index)}`);
    expected += 1;
    let record = record0;
    const instant = instantMs(record.ts);
    if (instant === null) invalid(`record ${index} has no valid ts`);
    if (newest === null || instant > newest) newest = instant;
    const day = dayOf(instant, tzMs);
    const monday = day - ((((day + 3) % 7) + 7) % 7);
    let w = weeks.get(monday);
    if (w === undefined) {
      w = { name: weekText(monday), endMs: (monday + 7) * DAY_MS - tzMs, first: index, last: index,
        builder: new ProfileBuilder({ tz, mapping }), n: 0, profile: null, figures: {} };
      weeks.set(monday, w);
    }
    const data = record.data;
    const isReading = record.type === iotType && pyType(data) === 'dict';
    if (isReading && Object.keys(data).some((k) => unused.has(k))) {
      record = { ...record, data: Object.fromEntries(Object.entries(data).filter(([k]) => !unused.has(k))) };
    }
    w.builder.add(w.n, record);
    w.n += 1;
    w.last = index;
    if (isReading) {
      const machine = data[machineKey];
      if (typeof machine === 'string') {
        let r = readings.get(machine);
        if (r === undefined) { r = { inst: [], index: [] }; readings.set(machine, r); }
        r.inst.push(instant);
        r.index.push(index);
      }
    }
  }
  const zero = '0x' + '00'.repeat(32);
  const weekList = [...weeks.keys()].sort((a, b) => a - b).map((monday) => {
    const w = weeks.get(monday);
    w.profile = w.builder.result({ logId: zero, stream: 'week', start: 0, end: w.n, checkpointSize: w.n, checkpointRoot: zero });
    w.builder = null;
    for (const code of ['cross_source_mismatch', 'scrap_ceiling', 'customer_concentration']) w.figures[code] = weekFigure(code, w.profile);
    return w;
  });
  const machines = new Map();
  for (const [name, r] of readings) {
    const order = r.inst.map((_, i) => i).sort((a, b) => (r.inst[a] - r.inst[b]) || (r.index[a] - r.index[b]));
    machines.set(name, { inst: order.map((i) => r.inst[i]), index: order.map((i) => r.index[i]) });
  }
  return { start, end: expected, weeks: weekList, machines, newestMs: newest };
}

// ---------------------------------------------------------------- judging (the monitor's rules)

/** ledger.covenants.week_basis: what a weekly covenant compares each week with, null when not judged. */
export function weekBasis(c, pledged) {
  if (c.code === 'output_floor') {
    const baseGood = int((pledged.mes || {}).qty_good);
    const baseDays = BigInt(pledged.coverage.days);
    if (baseGood === 0n || baseDays === 0n) return null;
    return { baseGood, baseDays, floorN: BigInt(c.min_percent) * baseGood, floorD: 100n * baseDays };
  }
  return { limit: c.code === 'customer_concentration' ? c.max_top1_share : c.max_ratio };
}

const weekMessage = (code, week, value, limit, subject) => {
  if (code === 'cross_source_mismatch') {
    return `In ${week}, IoT counted ${subject.iot_parts} parts and MES reported ${subject.mes_units} units over the `
      + `machine-days: a mismatch of ${value}, more than ${limit}.`;
  }
  if (code === 'scrap_ceiling') {
    return `In ${week}, MES reported ${subject.qty_scrap} scrap of ${int(subject.qty_good) + int(subject.qty_scrap)} `
      + `units: a scrap rate of ${value}, more than ${limit}.`;
  }
  return `In ${week}, the largest customer had a share of ${value} of the ${subject} sales, more than ${limit}.`;
};

/** ledger.covenants.judge_weeks, for one week: {warning} or {met, value}, or null when the week's figure is null. */
export function judgeWeek(c, basis, cp, w) {
  const code = c.code, p = w.profile, window = [w.first, w.last + 1];
  if (code === 'output_floor') {
    const good = int((p.mes || {}).qty_good), days = BigInt(p.coverage.days);
    const perDay = ratio(good, days), floor = ratio(basis.floorN, basis.floorD);
    if (good * basis.floorD < basis.floorN * days) {
      return { warning: { key: `${code}/${w.name}`, code, window, week: w.name, checkpoint: cp, value: perDay, threshold: floor,
        message: `In ${w.name}, MES good output was ${good} units over ${days} day(s) with records, ${perDay} a day: less `
          + `than ${c.min_percent} % of the pledged range's ${basis.baseGood} units over ${basis.baseDays} day(s) (${floor} a day).` } };
    }
    return { met: true, value: perDay };
  }
  const [value, subject] = w.figures[code];
  if (value === null) return null;
  if (millionthsOf(value) > millionthsOf(basis.limit)) {
    return { warning: { key: `${code}/${w.name}`, code, window, week: w.name, checkpoint: cp, value, threshold: basis.limit,
      message: weekMessage(code, w.name, value, basis.limit, subject) } };
  }
  return { met: true, value };
}

/** ledger.covenants.silences: the stoppage warnings of one machine (its readings `r` or undefined). */
export function silences(c, cp, name, r, { since, start, newest }) {
  const limit = c.max_hours * HOUR_MS;
  const found = [];
  if (r === undefined) {
    const gap = newest - since;
    if (gap > limit) found.push(['range', [start, cp[0]], gap, false]);
  } else {
    const first = r.inst[0] - since;
    if (first > limit) found.push(['range', [start, r.index[0] + 1], first, true]);
    for (let i = 1; i < r.inst.length; i++) {
      const gap = r.inst[i] - r.inst[i - 1];
      if (gap > limit) {
        const a = r.index[i - 1], b = r.index[i];
        found.push([String(a), [Math.min(a, b), Math.max(a, b) + 1], gap, true]);
      }
    }
    const tail = newest - r.inst[r.inst.length - 1];
    if (tail > limit) found.push([String(r.index[r.index.length - 1]), [r.index[r.index.length - 1], cp[0]], tail, false]);
  }
  return found.map(([keyStart, window, gap, ended]) => {
    const began = keyStart === 'range' ? 'the end of the pledged range' : `its reading ${keyStart}`;
    const how = ended ? 'then reported again' : 'and has not reported since (up to the newest record)';
    return { key: `stoppage/${name}/${keyStart}`, code: 'stoppage', window, week: null, checkpoint: cp,
      value: String(Math.floor(gap / 1000)), threshold: String(Math.floor(limit / 1000)),
      message: `Machine ${name} sent no telemetry for ${hoursText(gap)} after ${began} ${how}: more than ${c.max_hours} hours.` };
  });
}

// ---------------------------------------------------------------- the re-check

const isNat = (v) => pyType(v) === 'int' && Number(v) >= 0 && Number(v) <= MAX_SAFE && Number.isSafeInteger(Number(v));

/** Why `w` is not a covenant warning, or null (ledger.covenant_evidence._warning). */
function warningProblem(w) {
  if (pyType(w) !== 'dict') return 'must be a JSON object';
  const code = get(w, 'code') ?? null;
  if (!isCode(code)) return `code ${pyRepr(code)} is not a covenant`;
  const window = get(w, 'window');
  if (pyType(window) !== 'dict' || !isNat(get(window, 'from')) || !isNat(get(window, 'to')) || Number(window.from) > Number(window.to)) {
    return 'window must be {from, to} with integers 0 <= from <= to';
  }
  const cp = get(w, 'checkpoint');
  const root = pyType(cp) === 'dict' ? get(cp, 'root') : undefined;
  if (pyType(cp) !== 'dict' || !isNat(get(cp, 'size')) || typeof root !== 'string' || !HEX32.test(root)) {
    return 'checkpoint must be {size, root} with root 0x and 64 lowercase hex digits';
  }
  if (Number(window.to) > Number(cp.size)) return `window [${window.from}, ${window.to}) ends beyond the checkpoint size ${cp.size}`;
  for (const name of ['value', 'threshold', 'message']) if (typeof get(w, name) !== 'string') return `${name} must be a string`;
  const week = get(w, 'week') ?? null, key = get(w, 'key') ?? null;
  if (key !== null && typeof key !== 'string') return 'key must be a string';
  if (code === 'stoppage' || code === 'anchoring_cadence') {
    if (week !== null) return `week must be null for ${code}`;
  } else if (typeof week !== 'string') {
    return `week must be the ISO week (like 2026-W41) for ${code}`;
  } else if (key !== null && key !== `${code}/${week}`) {
    return `key ${pyRepr(key)} is not ${code}/${week}`;
  }
  if (code === 'stoppage') {
    if (key === null) {
      return 'a stoppage warning needs its key (stoppage/MACHINE/START, as dpl monitor warnings --json, '
        + 'the API and the webhooks give it): it names the machine';
    }
    const slash = key.indexOf('/');
    const head = slash < 0 ? key : key.slice(0, slash), rest = slash < 0 ? '' : key.slice(slash + 1);
    const last = rest.lastIndexOf('/');
    const machine = last < 0 ? '' : rest.slice(0, last), start = last < 0 ? rest : rest.slice(last + 1);
    if (head !== 'stoppage' || !machine || !(start === 'range' || /^[0-9]+$/.test(start))) return `key ${pyRepr(key)} is not stoppage/MACHINE/START`;
  }
  return null;
}

/** Fields as a line shows them: `name value`, the message in double quotes, a null week as `null`. */
const shown = (fields) => Object.entries(fields)
  .map(([name, value]) => (name === 'message' ? `${name} "${value}"` : `${name} ${value === null ? 'null' : value}`)).join('; ');

const result = (checks, verified = null) => ({ checks, verified, stands: checks.length > 0 && checks.every((c) => c.ok) });

/** {stands, checks: [{name, ok, detail}]} as ledger.covenant_evidence.Recheck.as_json has it. */
export function recheckJson(v) {
  return { stands: v.stands, checks: v.checks.map(({ name, ok, detail }) => ({ name, ok, detail })) };
}

/**
 * Re-check a covenant warning's evidence (ledger.covenant_evidence.recheck_evidence).
 * @param warning the warning: DESIGN.md §9's JSON (as the API, the CLI or a webhook gave it, with its `key`),
 *   JSON text or bytes, or a parsed object
 * @param disclosure the dpl-disclosure/1 of (at least) its window: JSON text or bytes, or a parsed object
 * @param opts.covenants the pledge's dpl-covenants/1 set (the consent's `covenants`)
 * @param opts.pledgedProfile the pledged dpl-profile/1 (the consent's manifest's `profile`)
 * @param opts.onProgress ({done, total}) as the disclosure's records are hashed
 * @returns Promise of {stands, checks: [{name, ok, detail}], verified: the disclosure once it verified, else null}
 */
export async function recheckEvidence(warning, disclosure, { covenants, pledgedProfile, onProgress } = {}) {
  const wm = toModel(warning, 'the warning');
  const problem = wm.error ? wm.error : warningProblem(wm.value);
  if (problem) return result([check('warning', false, `not a covenant warning: ${problem}`)]);
  const w = wm.value;
  const code = w.code, wFrom = Number(w.window.from), wTo = Number(w.window.to);
  const size = Number(w.checkpoint.size), root = w.checkpoint.root;
  const weekWords = w.week ? ` of ${w.week}` : '';
  const checks = [check('warning', true, `${code} warning${weekWords} on records [${wFrom}, ${wTo}) judged at checkpoint size ${size}, root ${root}`)];
  let cov;
  try {
    const m = toModel(covenants, 'the covenants');
    if (m.error) invalid(m.error);
    cov = checkCovenants(m.value);
  } catch (e) {
    if (!(e instanceof InvalidArgument)) throw e;
    checks.push(check('covenant', false, `the pledge's covenants are not a covenant set: ${e.message}`));
    return result(checks);
  }
  const c = cov.covenants.find((x) => x.code === code);
  if (c === undefined) {
    checks.push(check('covenant', false, `the pledge's covenants have no ${code} covenant`));
    return result(checks);
  }
  let p;
  try {
    const m = toModel(pledgedProfile, 'the profile');
    if (m.error) throw new BundleError(m.error);
    p = checkProfile(m.value);
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    checks.push(check('covenant', false, `the pledged profile is not a production profile: ${e.message}`));
    return result(checks);
  }
  checks.push(check('covenant', true, `${code}: ${describe(c)}`));
  if (code === 'anchoring_cadence') {
    checks.push(check('figure', false, 'anchoring_cadence is judged on block time, not on records: no disclosure re-checks '
      + `it; on the chain, the block that anchored checkpoint size ${size} must be more than ${c.max_hours} hours `
      + `(${c.max_hours * 3600} s) older than a later block with no newer checkpoint of the log`));
    return result(checks);
  }
  let d;
  try {
    d = await verifyDisclosure(disclosure, { onProgress });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    checks.push(check('disclosure', false, e.message));
    return result(checks);
  }
  const dStart = Number(d.start), dEnd = Number(d.end), dSize = Number(d.size), dRoot = toHex(d.root);
  checks.push(check('disclosure', true, `${dEnd - dStart} record(s) [${dStart}, ${dEnd}) of ${pyRepr(d.stream)} and the range `
    + `proof rebuild root ${dRoot} at size ${dSize}`));
  const logId = d.logId ? toHex(d.logId) : null;
  if (logId !== p.log_id || d.stream !== p.stream) {
    checks.push(check('same log', false, `the disclosure is of ${pyRepr(d.stream)} (log ${logId === null ? 'None' : logId}), `
      + `the pledge of ${pyRepr(p.stream)} (log ${p.log_id})`));
    return result(checks, d);
  }
  checks.push(check('same log', true, `the disclosure is of the pledged log ${pyRepr(p.stream)}`));
  if (dSize === size && dRoot === root) {
    checks.push(check('checkpoint', true, `the disclosure is at the warning's checkpoint (size ${size})`));
  } else if (dSize > size) {
    checks.push(check('checkpoint', true, `the disclosure is at a later checkpoint (size ${dSize}) than the warning's (size ${size}): `
      + `if both are anchored, its records below ${size} are the warning's (the registry anchors only checkpoints that extend `
      + 'the previous one)'));
  } else {
    checks.push(check('checkpoint', false, `the disclosure is at size ${dSize}, root ${dRoot}; the warning was judged at size `
      + `${size}, root ${root}: another checkpoint`));
    return result(checks, d);
  }
  const start = Number(p.range.to);
  const fail = (name, detail) => { checks.push(check(name, false, detail)); return result(checks, d); };
  if (wFrom < start) {
    return fail('window', `the window [${wFrom}, ${wTo}) begins inside the pledged range (which ends at ${start}): covenants `
      + 'judge the records after it');
  }
  if (code === 'stoppage' && w.key.endsWith('/range') && wFrom !== start) {
    return fail('window', `a silence from the end of the pledged range has a window from ${start}, not from ${wFrom}`);
  }
  if (wFrom === wTo) return fail('window', `the window [${wFrom}, ${wTo}) is empty: no record to recompute from`);
  if (!(dStart <= wFrom && wTo <= dEnd)) {
    return fail('window', `the disclosure holds records [${dStart}, ${dEnd}), the warning's window is [${wFrom}, ${wTo}): `
      + 'the re-check needs every record of the window');
  }
  checks.push(check('window', true, `the disclosure holds the whole window [${wFrom}, ${wTo})`));
  // the records as the profile reads them: each read back from its canonical text, Number indices
  const records = d.records.map(([index, record]) => [Number(index), JSON.parse(canonicalText(record))]);
  let figures;
  try {
    figures = weeklyFigures(records.slice(wFrom - dStart, wTo - dStart), { start: wFrom, tz: cov.tz, mapping: p.mapping });
  } catch (e) {
    if (!(e instanceof InvalidArgument || e instanceof BundleError)) throw e;
    return fail('figure', `the window's records cannot be judged: ${e.message}`);
  }
  const cp = [size, root];
  const claimed = { window: `[${wFrom}, ${wTo})`, week: w.week ?? null, value: w.value, threshold: w.threshold, message: w.message };
  let mine, n;
  if (code === 'stoppage') {
    const rest = w.key.slice(w.key.indexOf('/') + 1);
    const machine = rest.slice(0, rest.lastIndexOf('/'));
    const found = silences(c, cp, machine, figures.machines.get(machine),
      { since: instantMs(p.coverage.last_ts), start, newest: figures.newestMs });
    mine = found.find((s) => s.key === w.key);
    n = wTo - wFrom;
    if (mine === undefined) {
      return fail('figure', `recomputed from ${n} disclosed record(s), the warning differs: the warning says ${shown(claimed)}, `
        + `the records give no silence of machine ${machine} longer than ${c.max_hours} hours there`);
    }
  } else {
    const wk = figures.weeks.find((x) => x.name === w.week);
    if (wk === undefined) return fail('week closed', `the window [${wFrom}, ${wTo}) holds no record of ${w.week}`);
    const closing = records.find(([i, r]) => start <= i && i < size && instantMs(r.ts) >= wk.endMs);
    if (closing === undefined) {
      return fail('week closed', `the monitor judges ${w.week} once a record stamped at or after its end is anchored: the `
        + `disclosure must hold one below the checkpoint size ${size} (usually record ${wTo}: disclose [${wFrom}, ${wTo + 1}))`);
    }
    checks.push(check('week closed', true, `record ${closing[0]} is stamped after ${w.week}: the week was closed`));
    const basis = weekBasis(c, p);
    n = wk.n;
    if (basis === null) return fail('figure', `the pledged range made no MES good output: ${code} is not judged, the warning cannot stand`);
    const judged = judgeWeek(c, basis, cp, wk);
    if (judged === null || judged.met) {
      const gives = judged === null ? 'no figure (no such records that week): not judged' : `value ${judged.value}: the covenant is met`;
      return fail('figure', `recomputed from ${n} disclosed record(s) of ${w.week}, the warning differs: the warning says `
        + `${shown(claimed)}, the records give ${gives}`);
    }
    mine = judged.warning;
  }
  const given = { window: `[${mine.window[0]}, ${mine.window[1]})`, week: mine.week, value: mine.value, threshold: mine.threshold,
    message: mine.message };
  const differ = Object.keys(claimed).filter((k) => claimed[k] !== given[k]);
  if (differ.length) {
    const pick = (o) => Object.fromEntries(differ.map((k) => [k, o[k]]));
    checks.push(check('figure', false, `recomputed from ${n} disclosed record(s), the warning differs: the warning says `
      + `${shown(pick(claimed))}, the records give ${shown(pick(given))}`));
  } else {
    checks.push(check('figure', true, `recomputed from ${n} disclosed record(s): value ${mine.value}, threshold ${mine.threshold} `
      + '— the warning stands'));
  }
  return result(checks, d);
}
