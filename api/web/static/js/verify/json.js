// A JSON reader that keeps what Python's json.loads keeps, so the verdicts can match Python's:
// - an integer literal stays an integer of any size: a Number when safe, else a BigInt;
// - a literal with a fraction or exponent is a float: a JsonFloat (so 5.0 is not the integer 5);
// - NaN, Infinity and -Infinity are read as floats (as json.loads does; the verifiers reject them);
// - a duplicate key is refused, naming its path, as ledger.jsonio refuses it (two readers of one
//   document must never see two different values): JsonDuplicateKeyError.
// Objects have a null prototype, so keys such as "__proto__" are ordinary keys, and remember
// their keys' order (a JS object lists integer-like keys first; Python keeps the text's order).
import { pyRepr } from './pyfmt.js';

const ORDER = Symbol('key order');
const DUPLICATES = Symbol('keys seen twice');

/** A JSON number written with a fraction or an exponent (Python's float). */
export class JsonFloat {
  constructor(value) { this.value = value; }
  valueOf() { return this.value; }
  toJSON() { return this.value; }
}

export class JsonSyntaxError extends SyntaxError {}

/**
 * A key appears twice in one object. `reason` and `path` are ledger.jsonio's words: `path` joins
 * the keys and `[i]` list positions with dots (`entries.[0].record.id`), as Python prints it.
 */
export class JsonDuplicateKeyError extends JsonSyntaxError {
  constructor(key, path) {
    const reason = `duplicate key ${pyRepr(key)}`;
    super(`${reason} (at ${path})`);
    this.reason = reason;
    this.path = path;
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Parse a JSON text into the value model above; throws JsonSyntaxError with the position. */
export function parseJson(text) {
  let i = 0;
  const fail = (msg) => { throw new JsonSyntaxError(`${msg} at character ${i}`); };
  const ws = () => { while (i < text.length && WS.has(text[i])) i++; };
  function value(depth) {
    if (depth > 5000) fail('nested too deep');
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      const obj = Object.create(null);
      const order = [];
      Object.defineProperty(obj, ORDER, { value: order });
      ws();
      if (text[i] === '}') { i++; return obj; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expecting property name enclosed in double quotes');
        const key = string();
        ws();
        if (text[i] !== ':') fail("expecting ':' delimiter");
        i++;
        const v = value(depth + 1);
        if (!has(obj, key)) order.push(key);
        else if (obj[DUPLICATES]) obj[DUPLICATES].push(key);
        else Object.defineProperty(obj, DUPLICATES, { value: [key] });
        obj[key] = v;
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === '}') { i++; return obj; }
        fail("expecting ',' delimiter");
      }
    }
    if (ch === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i] === ']') { i++; return arr; }
        fail("expecting ',' delimiter");
      }
    }
    if (ch === '"') return string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null], ['NaN', new JsonFloat(NaN)],
      ['Infinity', new JsonFloat(Infinity)], ['-Infinity', new JsonFloat(-Infinity)]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) fail('expecting value');
    i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new JsonFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? (Object.is(n, -0) ? 0 : n) : BigInt(m[0]);
  }
  function string() {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) { out += text.slice(start, i); i++; return out; }
      if (c < 0x20) fail('invalid control character');
      if (c === 0x5c) {
        out += text.slice(start, i);
        const e = text[i + 1];
        if (e === 'u') {
          const h = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('invalid \\uXXXX escape');
          out += String.fromCharCode(parseInt(h, 16));
          i += 6;
        } else if (e in ESCAPES) {
          out += ESCAPES[e];
          i += 2;
        } else fail('invalid \\escape');
        start = i;
        continue;
      }
      i++;
    }
  }
  const v = value(0);
  ws();
  if (i !== text.length) fail('extra data');
  const dup = findDuplicate(v);
  if (dup) throw new JsonDuplicateKeyError(dup.key, [...dup.path, dup.key].join('.'));
  return v;
}

// ledger.jsonio.find_duplicate: depth first, in document order, an object before its children;
// the first key an object repeats. Iterative, so any depth is safe.
function findDuplicate(root) {
  const stack = [[root, []]];
  while (stack.length) {
    const [v, path] = stack.pop();
    if (v === null || typeof v !== 'object' || v instanceof JsonFloat) continue;
    if (Array.isArray(v)) {
      for (let k = v.length - 1; k >= 0; k--) stack.push([v[k], [...path, `[${k}]`]]);
      continue;
    }
    if (v[DUPLICATES]) return { path, key: v[DUPLICATES][0] };
    const keys = keysOf(v);
    for (let k = keys.length - 1; k >= 0; k--) stack.push([v[keys[k]], [...path, keys[k]]]);
  }
  return null;
}

// --- the value model, in Python's terms -------------------------------------------------

/** Python's type name of a model value: NoneType, bool, int, float, str, list, dict. */
export function pyType(v) {
  if (v === null || v === undefined) return 'NoneType';
  switch (typeof v) {
    case 'boolean': return 'bool';
    case 'bigint': return 'int';
    case 'number': return Number.isInteger(v) ? 'int' : 'float';
    case 'string': return 'str';
    default:
      if (v instanceof JsonFloat) return 'float';
      if (Array.isArray(v)) return 'list';
      return 'dict';
  }
}

export const isInt = (v) => pyType(v) === 'int';
export const isFloat = (v) => pyType(v) === 'float';
export const isNumber = (v) => { const t = pyType(v); return t === 'int' || t === 'float'; };
export const isDict = (v) => pyType(v) === 'dict';
/** The Number of a float (JsonFloat or a non-integral Number). */
export const floatValue = (v) => (v instanceof JsonFloat ? v.value : v);
/** An int as a BigInt. */
export const bigOf = (v) => BigInt(v);

/** An object's keys in the order the JSON text gave them (Python's dict order). */
export const keysOf = (obj) => obj[ORDER] || Object.keys(obj);

/** `key in obj` for a model object (only own keys count). */
export const has = (obj, key) => Object.prototype.hasOwnProperty.call(obj, key);
/** Python's `obj.get(key)`: undefined when missing. */
export const get = (obj, key) => (has(obj, key) ? obj[key] : undefined);

/** Python `==` on two scalars of the model (ints, floats and bools compare by value). */
export function pyEq(a, b) {
  const num = (v) => (typeof v === 'boolean' ? (v ? 1 : 0) : isNumber(v) ? (isInt(v) ? BigInt(v) : floatValue(v)) : undefined);
  const x = num(a), y = num(b);
  if (x !== undefined && y !== undefined) {
    if (typeof x === 'bigint' && typeof y === 'bigint') return x === y;
    if (typeof x === 'number' && typeof y === 'number') return x === y;
    const f = typeof x === 'number' ? x : y, n = typeof x === 'bigint' ? x : y;
    return Number.isInteger(f) && BigInt(f) === n;
  }
  if ((a === null || a === undefined) && (b === null || b === undefined)) return true;
  return a === b;
}

/**
 * A value to verify: JSON text is read with parseJson (exact); an object (say from JSON.parse)
 * is taken as it is, unless it holds an integral Number beyond 2**53 - 1, which JSON.parse may
 * have rounded: then `{error}` says so (pass the JSON text instead).
 */
export function toModel(input) {
  if (typeof input === 'string') {
    try { return { value: parseJson(input) }; } catch (e) {
      if (e instanceof JsonDuplicateKeyError) return { error: `the bundle: ${e.message}` }; // ledger.jsonio's words
      return { error: `the bundle is not JSON: ${e.message}` };
    }
  }
  const bad = findUnfaithful(input, []);
  if (bad) {
    return { error: `${bad.join('.') || '(value)'} is a number beyond +-(2^53 - 1) that JSON.parse may have rounded: `
      + 'pass the bundle as JSON text so its integers keep their exact value' };
  }
  return { value: input };
}

function findUnfaithful(v, path) {
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) return path;
  if (Array.isArray(v)) {
    for (let k = 0; k < v.length; k++) { const r = findUnfaithful(v[k], [...path, `[${k}]`]); if (r) return r; }
  } else if (v && typeof v === 'object' && !(v instanceof JsonFloat) && !(v instanceof Uint8Array)) {
    for (const k of keysOf(v)) { const r = findUnfaithful(v[k], [...path, k]); if (r) return r; }
  }
  return null;
}
