// What a lender concludes from a production profile and a full disclosure of its range
// (ledger/profile_verify.py): the same checks, in the same order, with the same names and words.
// Pure (maths only): the chain checks of the disclosure's checkpoint are the caller's
// (verify/chain.js anchorChecks, against the registry the lender trusts).
//
// Checks, in order, up to the first that fails:
// - "profile": the profile is a dpl-profile/1 document (structure); its line names the mapping and
//   the thresholds the factory chose (chosenParameters): SOUND is relative to them;
// - "disclosure": every record of [from, to) with its salt, in index order, and the range proof
//   rebuild the disclosure's root at its size (verify/disclosure.js verifyDisclosure);
// - "same range": the profile names the disclosure's log, stream, range and checkpoint;
// - "figures": the profile recomputed from the disclosed records (with the profile's own tz,
//   mapping and thresholds) is identical, figure by figure; otherwise every differing figure is
//   named with the value claimed and the value recomputed.
// SOUND only if every check passes.
import { BundleError } from './errors.js';
import { toModel, pyType, JsonFloat } from './json.js';
import { toHex } from './hex.js';
import { canonicalText } from './jcs.js';
import { pyRepr, pyFloatRepr } from './pyfmt.js';
import { check } from './collateral.js';
import { verifyDisclosure } from './disclosure.js';
import { buildProfile, checkProfile, compareProfiles, MISSING, DEFAULT_THRESHOLDS } from './profile.js';
import { compareCodePoints } from './exact.js';

/** How many differing figures the "figures" check names in its line (all are in `differences`). */
export const SHOWN_DIFFERENCES = 20;

/** A value as orjson.dumps(option=OPT_SORT_KEYS) writes it (compact JSON, object keys in code point
 * order: never JS's own order, which puts integer-like keys first); "(absent)" for a figure on one side only. */
export function dumps(value) {
  if (value === MISSING) return '(absent)';
  switch (pyType(value)) {
    case 'NoneType': return 'null';
    case 'bool': return value ? 'true' : 'false';
    case 'int': return String(value);
    case 'float': return pyFloatRepr(value instanceof JsonFloat ? value.value : value);
    case 'str': return JSON.stringify(value);
    case 'list': return `[${value.map(dumps).join(',')}]`;
    default: return `{${Object.keys(value).sort(compareCodePoints).map((k) => `${JSON.stringify(k)}:${dumps(value[k])}`).join(',')}}`;
  }
}

/** ledger.profile_verify._value: the value's JSON, cut to 80 code points. */
function shownValue(value) {
  const text = dumps(value);
  const points = Array.from(text);
  return points.length <= 80 ? text : `${points.slice(0, 77).join('')}...`;
}

/** How many figures (leaves) a profile holds (an empty object or list counts as one). */
function leaves(value) {
  const t = pyType(value);
  if (t === 'dict') return Object.values(value).reduce((a, v) => a + leaves(v), 0) || 1;
  if (t === 'list') return value.reduce((a, v) => a + leaves(v), 0) || 1;
  return 1;
}

/**
 * The disclosure's records as the profile reads them: each read back from its RFC 8785 canonical
 * text (so `5.0` is the integer 5, as ledger.disclosure's record_from_canonical gives Python),
 * with Number indices (the builder counts in safe integers).
 */
function* numbered(records) {
  for (const [index, record] of records) yield [Number(index), JSON.parse(canonicalText(record))];
}

const verdict = (checks, differences = [], verified = null) => ({
  checks, differences, verified, sound: checks.length > 0 && checks.every((c) => c.ok),
});

/** The verdict as ledger.profile_verify.ProfileVerdict.as_json has it (MISSING as "(absent)"). */
export function verdictJson(v) {
  const shown = (x) => (x === MISSING ? '(absent)' : x);
  return { sound: v.sound, checks: v.checks.map(({ name, ok, detail }) => ({ name, ok, detail })),
    differences: v.differences.map(([figure, claimed, recomputed]) => ({ figure, claimed: shown(claimed), recomputed: shown(recomputed) })) };
}

/**
 * What the factory chose besides the records, that the figures and flags rest on: its mapping and
 * the thresholds that are not the defaults, in words ('' when neither); ledger.profile_verify.chosen_parameters.
 */
export function chosenParameters(p) {
  const parts = [];
  if (p.mapping !== null) {
    const types = p.mapping.types;
    const entries = Object.keys(types).sort(compareCodePoints).map((name) => {
      const entry = types[name];
      const items = Object.prototype.hasOwnProperty.call(entry, 'type') ? [`type ${pyRepr(entry.type)}`] : [];
      const fields = entry.fields || {};
      for (const field of Object.keys(fields).sort(compareCodePoints)) items.push(`${field} <- ${pyRepr(fields[field])}`);
      return items.length ? `${name} (${items.join(', ')})` : name;
    });
    parts.push(`read with the factory's mapping: ${entries.join('; ')}`);
  }
  const changed = Object.entries(DEFAULT_THRESHOLDS).filter(([key, d]) => p.thresholds[key] !== d)
    .map(([key, d]) => `${key} ${p.thresholds[key]} (default ${d})`);
  if (changed.length) parts.push(`flags at thresholds the factory chose: ${changed.join(', ')}`);
  return parts.map((part) => `; ${part}`).join('');
}

/**
 * Check `profile` against `disclosure`.
 * @param profile the factory's profile: JSON text or bytes (read exactly, by ledger.jsonio's rules) or a parsed object
 * @param disclosure the dpl-disclosure/1: JSON text or bytes, or a parsed object
 * @param opts.onProgress ({done, total}) as the disclosure's records are hashed
 * @returns Promise of {sound, checks: [{name, ok, detail}], differences: [[figure, claimed, recomputed]],
 *   verified: {logId, stream, start, end, size, root, anchor, records} once the disclosure verified, else null}
 */
export async function verifyProfile(profile, disclosure, { onProgress } = {}) {
  let p;
  try {
    const model = toModel(profile, 'the profile');
    if (model.error) throw new BundleError(model.error);
    p = checkProfile(model.value);
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    return verdict([check('profile', false, `not a production profile: ${e.message}`)]);
  }
  const checks = [check('profile', true, `dpl-profile/1 of ${pyRepr(p.stream)} records [${p.range.from}, ${p.range.to}) `
    + `at size ${p.checkpoint.size}${chosenParameters(p)}`)];
  let d;
  try {
    d = await verifyDisclosure(disclosure, { onProgress });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    checks.push(check('disclosure', false, e.message));
    return verdict(checks);
  }
  const n = d.end - d.start;
  const root = toHex(d.root);
  checks.push(check('disclosure', true, `${n} record(s) [${d.start}, ${d.end}) of ${pyRepr(d.stream)} and the range `
    + `proof rebuild root ${root} at size ${d.size}`));
  const logId = d.logId ? toHex(d.logId) : null;
  const mismatched = [
    ['log_id', p.log_id === logId],
    ['stream', p.stream === d.stream],
    ['range', BigInt(p.range.from) === BigInt(d.start) && BigInt(p.range.to) === BigInt(d.end)],
    ['checkpoint', BigInt(p.checkpoint.size) === BigInt(d.size) && p.checkpoint.root === root],
  ].filter(([, same]) => !same).map(([name]) => name);
  if (mismatched.length) {
    checks.push(check('same range', false, `the profile and the disclosure differ in ${mismatched.join(', ')}: `
      + 'the disclosure does not cover what the profile describes'));
    return verdict(checks, [], d);
  }
  checks.push(check('same range', true, 'the profile describes exactly the disclosed range and checkpoint'));
  let recomputed;
  try {
    recomputed = buildProfile(numbered(d.records), { tz: p.tz, mapping: p.mapping, thresholds: p.thresholds, logId, stream: d.stream,
      start: Number(d.start), end: Number(d.end), checkpointSize: Number(d.size), checkpointRoot: root });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    checks.push(check('figures', false, `the profile's parameters cannot be used: ${e.message}`));
    return verdict(checks, [], d);
  }
  const differences = compareProfiles(p, recomputed);
  if (differences.length) {
    const named = differences.slice(0, SHOWN_DIFFERENCES)
      .map(([path, c, r]) => `${path}: claimed ${shownValue(c)}, recomputed ${shownValue(r)}`).join('; ');
    const more = differences.length > SHOWN_DIFFERENCES ? ` (and ${differences.length - SHOWN_DIFFERENCES} more)` : '';
    checks.push(check('figures', false, `${differences.length} figure(s) differ from the records: ${named}${more}`));
  } else {
    checks.push(check('figures', true, `all ${leaves(recomputed)} figures recomputed identically from ${n} disclosed record(s)`));
  }
  return verdict(checks, differences, d);
}
