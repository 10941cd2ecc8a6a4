// A JSON reader with ledger.jsonio's rules and words, so that both verifiers refuse the same texts
// for the same reasons and read the rest to the same values (Python's json.loads value model):
// - depth first: nesting deeper than 64 levels is refused before the parser runs (jsonio's flat
//   scan: strings removed, brackets counted); then invalid UTF-8 (bytes), then the first syntax
//   error in the text, in the words and at the (line, column) Python's json module gives; then a
//   duplicate key, with its path;
// - NaN, Infinity and -Infinity are refused ("NaN is not a JSON number (I-JSON)"), as jsonio.loads
//   refuses them in a bundle; `keepConstants` reads them as floats instead, as Python reads a record
//   line (its validation then names the field);
// - an integer literal stays an integer of any size up to Python's 4,300 digits (a Number when
//   safe, else a BigInt); a literal with a fraction or exponent is a float (JsonFloat: 5.0 is not 5);
// - bytes (a file, a fetched body) are decoded as strict UTF-8 and a byte-order mark is not skipped
//   (Python refuses it: "Expecting value"); a string with a lone surrogate is refused, as Python
//   refuses to encode it.
// Objects have a null prototype, so keys such as "__proto__" are ordinary keys, and remember
// their keys' order (a JS object lists integer-like keys first; Python keeps the text's order).
import { strRepr } from './pystr.js';

const ORDER = Symbol('key order');
const DUPLICATES = Symbol('keys seen twice');

/** ledger.jsonio.MAX_DEPTH: nesting allowed (the top-level array or object is level 1). */
export const MAX_DEPTH = 64;
/** Python's sys.int_info.default_max_str_digits: json.loads refuses a longer integer literal. */
export const MAX_INT_DIGITS = 4300;
export const LONE_SURROGATE = 'holds a lone surrogate (not valid Unicode)';

/** A JSON number written with a fraction or an exponent (Python's float). */
export class JsonFloat {
  constructor(value) { this.value = value; }
  valueOf() { return this.value; }
  toJSON() { return this.value; }
}

export class JsonSyntaxError extends SyntaxError {}

/**
 * A JSON text was refused (ledger.jsonio.JsonInputError): `reason` says why in jsonio's words,
 * `path` where (`entries.[0].record.id`; null for the whole text). The message is
 * `reason (at path)`, as Python prints it after "what: ".
 */
export class JsonInputError extends JsonSyntaxError {
  constructor(reason, path = null) {
    super(path ? `${reason} (at ${path})` : reason);
    this.reason = reason;
    this.path = path;
  }
}

/** A key appears twice in one object: `reason` "duplicate key 'k'", `path` joining the keys. */
export class JsonDuplicateKeyError extends JsonInputError {
  constructor(key, path) {
    super(`duplicate key ${strRepr(key)}`, path);
  }
}

const QUOTE = 0x22, BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]), CLOSE = new Set([0x5d, 0x7d]);

/**
 * ledger.jsonio.nesting_exceeds: do arrays and objects nest deeper than `max` outside strings?
 * A flat scan over code units (a string) or bytes (a Uint8Array): a string runs from a quote to
 * the next unescaped quote (a backslash escapes any one unit), or to the end. Linear, no recursion.
 */
export function nestingExceeds(units, max = MAX_DEPTH) {
  const at = typeof units === 'string' ? (i) => units.charCodeAt(i) : (i) => units[i];
  let depth = 0;
  for (let i = 0, n = units.length; i < n; i++) {
    const c = at(i);
    if (c === QUOTE) {
      for (i++; i < n; i++) {
        const d = at(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE) break;
      }
    } else if (OPEN.has(c)) {
      if (++depth > max) return true;
    } else if (CLOSE.has(c)) depth--;
  }
  return false;
}

/** Where the first ill-formed UTF-8 sequence starts (Python's UnicodeDecodeError.start), or -1. */
export function utf8ErrorAt(bytes) {
  for (let i = 0, n = bytes.length; i < n;) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) { need = 2; lo = 0xa0; }
    else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) need = 2;
    else if (b === 0xed) { need = 2; hi = 0x9f; } // no surrogates
    else if (b === 0xf0) { need = 3; lo = 0x90; }
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b === 0xf4) { need = 3; hi = 0x8f; } // nothing above U+10FFFF
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += need + 1;
  }
  return -1;
}

const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
const ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
const HEX4 = /^[0-9a-fA-F]{4}$/;
const CONSTANTS = [['NaN', NaN], ['Infinity', Infinity], ['-Infinity', -Infinity]];

/** Python's JSONDecodeError position: (line, column) of code point `i` (a UTF-16 index here). */
function lineColumn(text, i) {
  const before = text.slice(0, i);
  const nl = before.lastIndexOf('\n');
  const line = before.split('\n').length;
  const column = [...before.slice(nl + 1)].length + 1;
  return `(line ${line}, column ${column})`;
}

/**
 * Parse one JSON text by ledger.jsonio's rules (see above); throws JsonInputError (or its
 * JsonDuplicateKeyError) with jsonio's reason.
 * @param input JSON text: a string, or bytes (Uint8Array/ArrayBuffer: decoded as strict UTF-8)
 * @param opts.keepConstants read NaN/Infinity as floats (Python's record lines) instead of refusing them
 * @param opts.maxDepth nesting allowed (default 64)
 */
export function parseJson(input, { keepConstants = false, maxDepth = MAX_DEPTH } = {}) {
  let text;
  if (typeof input === 'string') {
    if (LONE.test(input)) throw new JsonInputError(LONE_SURROGATE);
    if (nestingExceeds(input, maxDepth)) throw new JsonInputError(`nested deeper than ${maxDepth} levels`);
    text = input;
  } else {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    if (nestingExceeds(bytes, maxDepth)) throw new JsonInputError(`nested deeper than ${maxDepth} levels`);
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new JsonInputError(`invalid UTF-8 at byte ${utf8ErrorAt(bytes)}`);
    }
  }
  const n = text.length;
  let i = 0;
  // Python's json module, C scanner (json.decoder, Modules/_json.c): its messages and positions.
  const fail = (msg, at) => { throw new JsonInputError(`invalid JSON: ${msg} ${lineColumn(text, at)}`); };
  const expectingValue = (at) => fail('Expecting value', at);
  const ws = () => { while (i < n && WS.has(text[i])) i++; };
  function value(depth) {
    if (i >= n) expectingValue(i);
    const ch = text[i];
    if (ch === '"') return string();
    if (ch === '{' || ch === '[') {
      if (depth >= maxDepth) throw new JsonInputError(`nested deeper than ${maxDepth} levels`); // (the scan saw it first)
      i++;
      return ch === '{' ? object(depth + 1) : array(depth + 1);
    }
    for (const [word, v] of [['null', null], ['true', true], ['false', false]]) {
      if (text.startsWith(word, i)) { i += word.length; return v; }
    }
    for (const [word, v] of CONSTANTS) {
      if (text.startsWith(word, i)) {
        if (!keepConstants) throw new JsonInputError(`${word} is not a JSON number (I-JSON)`);
        i += word.length;
        return new JsonFloat(v);
      }
    }
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) expectingValue(i);
    i += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) return new JsonFloat(Number(m[0]));
    if (m[0].length - (m[0][0] === '-' ? 1 : 0) > MAX_INT_DIGITS) {
      throw new JsonInputError(`holds an integer of more than ${MAX_INT_DIGITS.toLocaleString('en-US')} digits`);
    }
    const v = Number(m[0]);
    return Number.isSafeInteger(v) ? (Object.is(v, -0) ? 0 : v) : BigInt(m[0]);
  }
  function object(depth) {
    const obj = Object.create(null);
    const order = [];
    Object.defineProperty(obj, ORDER, { value: order });
    ws();
    if (text[i] === '}') { i++; return obj; }
    for (;;) {
      if (text[i] !== '"') fail('Expecting property name enclosed in double quotes', i);
      const key = string();
      ws();
      if (text[i] !== ':') fail("Expecting ':' delimiter", i);
      i++;
      ws();
      const v = value(depth);
      if (!has(obj, key)) order.push(key);
      else if (obj[DUPLICATES]) obj[DUPLICATES].push(key);
      else Object.defineProperty(obj, DUPLICATES, { value: [key] });
      obj[key] = v;
      ws();
      if (text[i] === '}') { i++; return obj; }
      if (text[i] !== ',') fail("Expecting ',' delimiter", i);
      i++;
      ws();
    }
  }
  function array(depth) {
    const arr = [];
    ws();
    if (text[i] === ']') { i++; return arr; }
    for (;;) {
      arr.push(value(depth));
      ws();
      if (text[i] === ']') { i++; return arr; }
      if (text[i] !== ',') fail("Expecting ',' delimiter", i);
      i++;
      ws();
    }
  }
  function string() {
    const begin = i;
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= n) fail('Unterminated string starting at', begin);
      const c = text.charCodeAt(i);
      if (c === 0x22) { out += text.slice(start, i); i++; return out; }
      if (c < 0x20) fail('Invalid control character at', i);
      if (c === 0x5c) {
        out += text.slice(start, i);
        if (i + 1 >= n) fail('Unterminated string starting at', begin);
        const e = text[i + 1];
        if (e === 'u') {
          const h = text.slice(i + 2, i + 6);
          if (i + 6 >= n || !HEX4.test(h)) fail('Invalid \\uXXXX escape', i + 1);
          out += String.fromCharCode(parseInt(h, 16));
          i += 6;
        } else if (e in ESCAPES) {
          out += ESCAPES[e];
          i += 2;
        } else fail('Invalid \\escape', i);
        start = i;
        continue;
      }
      i++;
    }
  }
  ws();
  const v = value(0);
  ws();
  if (i !== n) fail('Extra data', i);
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
 * A value to verify: JSON text or bytes are read with parseJson (exact, jsonio's rules); an
 * object (say from JSON.parse) is taken as it is, unless it holds an integral Number beyond
 * 2**53 - 1, which JSON.parse may have rounded: then `{error}` says so (pass the JSON text instead).
 * A refused text gives `{error}` in ledger.jsonio's words: "the bundle: <reason> (at <path>)"
 * (`what` names the document: "the disclosure", "the profile").
 */
export function toModel(input, what = 'the bundle') {
  if (typeof input === 'string' || input instanceof Uint8Array || input instanceof ArrayBuffer) {
    try { return { value: parseJson(input) }; } catch (e) {
      if (e instanceof JsonInputError) return { error: `${what}: ${e.message}` };
      throw e;
    }
  }
  const bad = findUnfaithful(input, []);
  if (bad) {
    return { error: `${bad.join('.') || '(value)'} is a number beyond +-(2^53 - 1) that JSON.parse may have rounded: `
      + `pass ${what} as JSON text so its integers keep their exact value` };
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
