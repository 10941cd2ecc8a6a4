// RFC 8785 JSON Canonicalization Scheme as ledger/canonical.py applies it (I-JSON limits included):
// integers within +-(2^53 - 1), finite floats not in [2^53, 1e21) in magnitude (JCS would print
// those as integers beyond the safe range), string keys, no lone surrogates, a depth limit.
// Numbers print as ECMAScript's Number.prototype.toString, which is what RFC 8785 specifies.
import { pyType, floatValue, keysOf } from './json.js';
import { utf8 } from './hex.js';

export const MAX_SAFE_INTEGER = 2 ** 53 - 1;
const INTEGRAL_MAX = 2 ** 53;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A value JCS cannot canonicalise; `path` names where (e.g. ["data", "temp"]). */
export class CanonicalError extends Error {
  constructor(path, reason) {
    super(`${path.join('.') || '(value)'}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

export const hasLoneSurrogate = (s) => LONE_SURROGATE.test(s);

/** Throw CanonicalError if `value` is not canonicalisable I-JSON (Python's `check`). */
export function check(value, maxDepth = 64) {
  walk(value, maxDepth, []);
}

function walk(value, depth, path) {
  const t = pyType(value);
  if (t === 'str') {
    if (hasLoneSurrogate(value)) throw new CanonicalError(path, 'string holds a lone surrogate (not valid Unicode)');
  } else if (t === 'bool' || t === 'NoneType') {
    // fine
  } else if (t === 'int') {
    const v = BigInt(value);
    if (v > BigInt(MAX_SAFE_INTEGER) || v < -BigInt(MAX_SAFE_INTEGER)) {
      throw new CanonicalError(path, 'integer outside +-(2^53 - 1) cannot be represented exactly; send it as a string');
    }
  } else if (t === 'float') {
    const x = floatValue(value);
    if (!Number.isFinite(x)) throw new CanonicalError(path, 'NaN and Infinity are not JSON numbers');
    if (Math.abs(x) >= INTEGRAL_MAX && Math.abs(x) < 1e21) {
      throw new CanonicalError(path, 'number of 2^53 or more (below 1e21) cannot be represented exactly; send it as a string');
    }
  } else if (t === 'list' || t === 'dict') {
    if (depth <= 0) throw new CanonicalError(path, 'nested too deep');
    if (t === 'list') {
      value.forEach((v, k) => walk(v, depth - 1, [...path, `[${k}]`]));
    } else {
      for (const k of keysOf(value)) {
        if (hasLoneSurrogate(k)) throw new CanonicalError(path, 'object key holds a lone surrogate');
        walk(value[k], depth - 1, [...path, k]);
      }
    }
  } else {
    throw new CanonicalError(path, `${typeof value} is not a JSON type`);
  }
}

function serialise(value) {
  switch (pyType(value)) {
    case 'NoneType': return 'null';
    case 'bool': return value ? 'true' : 'false';
    case 'str': return JSON.stringify(value); // RFC 8785 string escaping is JSON.stringify's
    case 'int': return BigInt(value).toString();
    case 'float': { const x = floatValue(value); return x === 0 ? '0' : String(x); }
    case 'list': return '[' + value.map(serialise).join(',') + ']';
    default: {
      // Sorted by UTF-16 code units: JavaScript's default string order.
      const keys = Object.keys(value).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      return '{' + keys.map((k) => JSON.stringify(k) + ':' + serialise(value[k])).join(',') + '}';
    }
  }
}

/** RFC 8785 canonical text of a JSON value; throws CanonicalError naming the offending value. */
export function canonicalText(value, maxDepth = 64) {
  check(value, maxDepth);
  return serialise(value);
}

/** RFC 8785 canonical UTF-8 bytes of a JSON value (Python's `canonicalize`). */
export function canonicalize(value, maxDepth = 64) {
  return utf8(canonicalText(value, maxDepth));
}
