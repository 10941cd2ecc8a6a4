// dpl-asset/1 and dpl-asset/2 manifests as ledger/assets.py reads them back: checkManifest,
// assetDigest, recordDisagreements. Figures are ints, finite floats or decimal strings, compared
// exactly. A dpl-asset/2 manifest also carries the range's dpl-profile/1 (verify/profile.js).
import { pyType, isInt, isNumber, floatValue, has, get, keysOf } from './json.js';
import { canonicalize, check, CanonicalError } from './jcs.js';
import { sha256 } from './sha256.js';
import { HEX32 } from './hex.js';
import { pyRepr, pyStr } from './pyfmt.js';
import { parseTimestamp, compareInstants } from './records.js';
import { DECIMAL, decimalFits, lessExact } from './numbers.js';
import { BundleError } from './errors.js';
import { checkProfile } from './profile.js';

export const ASSET_FORMAT = 'dpl-asset/1';
export const ASSET_FORMAT_V2 = 'dpl-asset/2';

function field(obj, key, where) {
  if (!has(obj, key)) throw new BundleError(`${where}${key} is missing`);
  return obj[key];
}

function obj(value, where) {
  if (pyType(value) !== 'dict') throw new BundleError(`${where} must be a JSON object`);
  return value;
}

function int(value, where, minimum = 0) {
  if (!isInt(value) || BigInt(value) < BigInt(minimum)) throw new BundleError(`${where} must be an integer >= ${minimum}`);
  return BigInt(value);
}

function figure(value, where) {
  const t = pyType(value);
  if (t === 'int' || (t === 'float' && Number.isFinite(floatValue(value)))) return value;
  if (t === 'str' && DECIMAL.test(value) && decimalFits(value)) return value;
  throw new BundleError(`${where} must be a finite JSON number or a decimal string`);
}

function timestamp(value, where) {
  if (typeof value !== 'string') throw new BundleError(`${where} must be a string`);
  const at = parseTimestamp(value);
  if (!at) throw new BundleError(`${where} must be an RFC 3339 timestamp with an offset`);
  return at;
}

/**
 * Check the structure of a manifest (ledger.assets.check_manifest); return it unchanged.
 * Throws BundleError naming the first field that is wrong.
 */
export function checkManifest(manifest) {
  const m = obj(manifest, 'the manifest');
  const fmt = field(m, 'format', '');
  if (fmt !== ASSET_FORMAT && fmt !== ASSET_FORMAT_V2) {
    throw new BundleError(`format is ${pyRepr(fmt)}, expected ${pyRepr(ASSET_FORMAT)} or ${pyRepr(ASSET_FORMAT_V2)}`);
  }
  const logId = field(m, 'log_id', '');
  if (typeof logId !== 'string' || !HEX32.test(logId)) throw new BundleError('log_id must be 0x followed by 64 lowercase hex digits');
  const stream = field(m, 'stream', '');
  if (typeof stream !== 'string' || !stream) throw new BundleError('stream must be a non-empty string');
  const rng = obj(field(m, 'range', ''), 'range');
  const lo = int(field(rng, 'from', 'range.'), 'range.from');
  const hi = int(field(rng, 'to', 'range.'), 'range.to');
  if (lo >= hi) throw new BundleError(`range.from (${lo}) must be below range.to (${hi})`);
  const cp = obj(field(m, 'checkpoint', ''), 'checkpoint');
  const size = int(field(cp, 'size', 'checkpoint.'), 'checkpoint.size');
  if (hi > size) throw new BundleError(`range.to (${hi}) is beyond checkpoint.size (${size})`);
  const root = field(cp, 'root', 'checkpoint.');
  if (typeof root !== 'string' || !HEX32.test(root)) throw new BundleError('checkpoint.root must be 0x followed by 64 lowercase hex digits');
  const records = int(field(m, 'records', ''), 'records');
  if (records !== hi - lo) throw new BundleError(`records is ${records}, but the range holds ${hi - lo}`);
  const period = obj(field(m, 'period', ''), 'period');
  const first = timestamp(field(period, 'first_ts', 'period.'), 'period.first_ts');
  const last = timestamp(field(period, 'last_ts', 'period.'), 'period.last_ts');
  if (compareInstants(first, last) > 0) throw new BundleError('period.first_ts is later than period.last_ts');
  const types = obj(field(m, 'types', ''), 'types');
  let total = 0n;
  for (const t of keysOf(types)) {
    const where = `types[${pyRepr(t)}]`;
    const body = obj(types[t], where);
    const count = int(field(body, 'count', `${where}.`), `${where}.count`, 1);
    total += count;
    const fields = obj(field(body, 'fields', `${where}.`), `${where}.fields`);
    for (const key of keysOf(fields)) {
      const fw = `${where}.fields[${pyRepr(key)}]`;
      const fig = obj(fields[key], fw);
      const c = int(field(fig, 'count', `${fw}.`), `${fw}.count`, 1);
      if (c > count) throw new BundleError(`${fw}.count (${c}) is more than the type's count (${count})`);
      for (const name of ['sum', 'min', 'max']) figure(field(fig, name, `${fw}.`), `${fw}.${name}`);
      if (lessExact(fig.max, fig.min)) throw new BundleError(`${fw}.min is greater than its max`);
    }
  }
  if (total !== records) throw new BundleError(`the type counts add up to ${total}, not records (${records})`);
  if (fmt === ASSET_FORMAT_V2) {
    checkProfile(field(m, 'profile', '')); // its BundleError names the field ("profile mes: …")
    sameAsset(m.profile, logId, stream, lo, hi, size, root);
  }
  try {
    check(m);
  } catch (e) {
    if (e instanceof CanonicalError) throw new BundleError(`the manifest is not canonical JSON: ${e.message}`);
    throw e;
  }
  return m;
}

// ledger.assets._same_asset on a profile checkProfile accepted: each of log_id, stream, range,
// checkpoint in which it differs from the manifest's.
function sameAsset(p, logId, stream, lo, hi, size, root) {
  const problems = [];
  if (p.log_id !== logId) problems.push(`log_id ${p.log_id} is not the manifest's ${logId}`);
  if (p.stream !== stream) problems.push(`stream ${pyRepr(p.stream)} is not the manifest's ${pyRepr(stream)}`);
  if (BigInt(p.range.from) !== lo || BigInt(p.range.to) !== hi) {
    problems.push(`range [${p.range.from}, ${p.range.to}) is not the manifest's [${lo}, ${hi})`);
  }
  if (BigInt(p.checkpoint.size) !== size || p.checkpoint.root !== root) {
    problems.push(`checkpoint (size ${p.checkpoint.size} root ${p.checkpoint.root}) is not the manifest's (size ${size} root ${root})`);
  }
  if (problems.length) throw new BundleError(`the profile does not describe this asset: ${problems.join('; ')}`);
}

/** SHA-256 of the manifest's RFC 8785 bytes (what a pledge commits to): a Promise of 32 bytes. */
export function assetDigest(manifest) {
  return sha256(canonicalize(manifest));
}

/** Why `record` contradicts a checked `manifest` (ledger.assets.record_disagreements); [] if it agrees. */
export function recordDisagreements(manifest, record) {
  if (pyType(record) !== 'dict') return ['the record is not a JSON object'];
  const reasons = [];
  const period = manifest.period;
  const ts = get(record, 'ts');
  const at = typeof ts === 'string' ? parseTimestamp(ts) : null;
  if (!at) reasons.push(`ts ${pyRepr(ts)} is not an RFC 3339 timestamp`);
  else if (compareInstants(at, parseTimestamp(period.first_ts)) < 0) {
    reasons.push(`ts ${ts} is before the period's first_ts ${period.first_ts}`);
  } else if (compareInstants(at, parseTimestamp(period.last_ts)) > 0) {
    reasons.push(`ts ${ts} is after the period's last_ts ${period.last_ts}`);
  }
  const rtype = get(record, 'type');
  const body = typeof rtype === 'string' ? get(manifest.types, rtype) : undefined;
  if (body === undefined || body === null) {
    reasons.push(`type ${pyRepr(rtype)} is not in the manifest`);
    return reasons;
  }
  const data = get(record, 'data');
  if (pyType(data) !== 'dict') {
    reasons.push('data is not a JSON object');
    return reasons;
  }
  const fields = body.fields;
  for (const key of keysOf(data)) {
    const v = data[key];
    if (!isNumber(v)) continue;
    if (pyType(v) === 'float' && !Number.isFinite(floatValue(v))) {
      reasons.push(`data.${key} is ${pyRepr(v)}, not a JSON number`);
      continue;
    }
    const fig = get(fields, key);
    if (fig === undefined || fig === null) {
      reasons.push(`data.${key} is a number, but the manifest lists no ${pyRepr(key)} for ${pyRepr(rtype)}`);
      continue;
    }
    if (lessExact(v, fig.min) || lessExact(fig.max, v)) {
      reasons.push(`data.${key} = ${pyRepr(v)} is outside the manifest's range [${pyStr(fig.min)}, ${pyStr(fig.max)}]`);
    }
  }
  return reasons;
}
