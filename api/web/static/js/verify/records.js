// Production records as ledger/records.py validates them, and their canonical bytes.
// A record is {"id": str, "ts": str, "type": str, "data": object}; see prepareRecord.
import { pyType, has, keysOf } from './json.js';
import { canonicalize, CanonicalError } from './jcs.js';
import { isPrintableChar } from './pyfmt.js';
import { daysFromCivil } from './exact.js';

export const MAX_ID_LENGTH = 128;
export const MAX_DEPTH = 32;
export const MAX_CANONICAL_BYTES = 64 * 1024;
export const RECORD_KEYS = ['id', 'ts', 'type', 'data'];

const TS_SHAPE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$/;
const TS = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))$/;
const TYPE = /^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)*$/;
const MAX_TYPE_LENGTH = 128;

/** A record that breaks the rules; `reason` is ledger.errors.RecordError's reason. */
export class RecordError extends Error {
  constructor(field, reason) {
    super(field ? `${field}: ${reason}` : reason);
    this.field = field;
    this.reason = reason;
  }
}

/** Python's words for a JSON value's type, as records.py writes them. */
export function jsonTypeName(v) {
  return { NoneType: 'null', bool: 'a boolean', int: 'a number', float: 'a number', str: 'a string',
    list: 'an array', dict: 'an object' }[pyType(v)];
}

const codePoints = (s) => [...s];

/**
 * Validate a parsed record and compute its canonical bytes (ledger.records.prepare_record).
 * Returns the canonical bytes; throws RecordError with Python's reason.
 */
export function prepareRecord(value) {
  if (pyType(value) !== 'dict') throw new RecordError(null, 'a record must be a JSON object');
  const keys = keysOf(value);
  if (keys.length !== 4 || !RECORD_KEYS.every((k) => has(value, k))) {
    const missing = RECORD_KEYS.filter((k) => !has(value, k));
    if (missing.length) throw new RecordError(missing[0], 'missing field');
    const extra = keys.filter((k) => !RECORD_KEYS.includes(k)).sort(cmpCodePoints);
    throw new RecordError(extra[0], 'unexpected field (a record has only id, ts, type, data)');
  }
  const rid = value.id;
  if (typeof rid !== 'string') throw new RecordError('id', `must be a string, not ${jsonTypeName(rid)}`);
  const idLength = codePoints(rid).length;
  if (!(idLength > 0 && idLength <= MAX_ID_LENGTH)) {
    throw new RecordError('id', `must be 1-${MAX_ID_LENGTH} characters, got ${idLength}`);
  }
  if (!codePoints(rid).every(isPrintableChar)) throw new RecordError('id', 'must contain only printable characters');
  const ts = value.ts;
  if (typeof ts !== 'string') throw new RecordError('ts', `must be a string, not ${jsonTypeName(ts)}`);
  const problem = rfc3339Problem(ts);
  if (problem) throw new RecordError('ts', problem);
  const rtype = value.type;
  if (typeof rtype !== 'string') throw new RecordError('type', `must be a string, not ${jsonTypeName(rtype)}`);
  if (codePoints(rtype).length > MAX_TYPE_LENGTH || !TYPE.test(rtype)) {
    throw new RecordError('type', "must be a dotted name such as 'iot.telemetry'");
  }
  const data = value.data;
  if (pyType(data) !== 'dict') throw new RecordError('data', `must be a JSON object, not ${jsonTypeName(data)}`);
  let canonical;
  try {
    canonical = canonicalize(value, MAX_DEPTH);
  } catch (e) {
    if (!(e instanceof CanonicalError)) throw e;
    const reason = e.reason === 'nested too deep' ? `nested deeper than ${MAX_DEPTH} levels` : e.reason;
    throw new RecordError(e.path.join('.') || null, reason);
  }
  if (canonical.length > MAX_CANONICAL_BYTES) {
    throw new RecordError(null, `canonical form is ${canonical.length} bytes, more than ${MAX_CANONICAL_BYTES} (64 KiB)`);
  }
  return canonical;
}

// Python sorts str by code point; JavaScript's default order is by UTF-16 code unit.
function cmpCodePoints(a, b) {
  const x = codePoints(a), y = codePoints(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

// --- timestamps ---------------------------------------------------------------------------

const isLeap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y, m) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1];

// Python's repr of timedelta(seconds=s), as datetime's offset error prints it.
function timedeltaRepr(s) {
  const days = Math.floor(s / 86400), secs = s - days * 86400;
  const parts = [];
  if (days) parts.push(`days=${days}`);
  if (secs) parts.push(`seconds=${secs}`);
  return `datetime.timedelta(${parts.join(', ') || '0'})`;
}

const OFFSET_ERROR = (s) => 'offset must be a timedelta strictly between -timedelta(hours=24) and '
  + `timedelta(hours=24), not ${timedeltaRepr(s)}.`;

// What datetime.fromisoformat (Python 3.11) says about fields of the right shape, in its order.
function calendarProblem(y, mo, d, h, mi, s, offsetSeconds) {
  if (Math.abs(offsetSeconds) >= 86400) return OFFSET_ERROR(offsetSeconds);
  if (y < 1) return `year ${y} is out of range`;
  if (mo < 1 || mo > 12) return 'month must be in 1..12';
  if (d < 1 || d > daysIn(y, mo)) return 'day is out of range for month';
  if (h > 23) return 'hour must be in 0..23';
  if (mi > 59) return 'minute must be in 0..59';
  if (s > 59) return 'second must be in 0..59';
  return null;
}

/** Why `ts` is not an RFC 3339 timestamp with an offset (records.py's words), or null. */
export function rfc3339Problem(ts) {
  if (!TS_SHAPE.test(ts)) return 'must be an RFC 3339 timestamp with an offset, e.g. 2026-01-31T08:00:00+08:00';
  const m = TS.exec(ts);
  const n = (i) => Number(m[i]);
  let s = n(6);
  if (s === 60) s = 59; // a leap second reads as :59
  const off = m[8] ? (m[8] === '+' ? 1 : -1) * (n(9) * 3600 + n(10) * 60) : 0;
  const problem = calendarProblem(n(1), n(2), n(3), n(4), n(5), s, off);
  if (problem) return `not a real date or time (${problem})`;
  if (!/[Zz]$/.test(ts) && ts.slice(-2) > '59') return 'offset minutes must be 00-59';
  const [seconds] = parseTimestamp(ts);
  if (seconds < MIN_INSTANT || seconds > MAX_INSTANT) return TS_OUT_OF_RANGE;
  return null;
}

// The UTC instants Python's datetime can name: 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z.
export const TS_OUT_OF_RANGE = 'must name an instant within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z (in UTC)';
const MIN_INSTANT = daysFromCivil(1, 1, 1) * 86400;
const MAX_INSTANT = daysFromCivil(9999, 12, 31) * 86400 + 86399;

/**
 * The instant of an RFC 3339 timestamp as ledger.records.parse_timestamp reads it:
 * [seconds since 1970 UTC, microseconds], or null where Python raises ValueError.
 */
export function parseTimestamp(ts) {
  const m = typeof ts === 'string' ? TS.exec(ts) : null;
  if (!m) return null;
  const n = (i) => Number(m[i]);
  const [y, mo, d, h, mi] = [n(1), n(2), n(3), n(4), n(5)];
  const s = Math.min(n(6), 59);
  const micro = m[7] ? Number((m[7].slice(1) + '000000').slice(0, 6)) : 0;
  const off = m[8] ? (m[8] === '+' ? 1 : -1) * (n(9) * 3600 + n(10) * 60) : 0;
  if (calendarProblem(y, mo, d, h, mi, s, off)) return null;
  return [daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - off, micro];
}

/** -1, 0 or 1 as instant a is before, at or after instant b. */
export function compareInstants(a, b) {
  return a[0] !== b[0] ? Math.sign(a[0] - b[0]) : Math.sign(a[1] - b[1]);
}

