// How Python prints values in the verifier's messages (repr and str), so that details read
// the same in the browser as from the Python verifier.
import { JsonFloat, pyType, floatValue, keysOf } from './json.js';
import { isPrintableChar, strRepr } from './pystr.js';

export { isPrintableChar };

/** Python's repr() of a float. */
export function pyFloatRepr(x) {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mant, expS] = Math.abs(x).toExponential().split('e');
  const exp = Number(expS);
  const digits = mant.replace('.', '');
  const sign = x < 0 ? '-' : '';
  if (exp >= -4 && exp < 16) {
    let s;
    if (exp < 0) s = '0.' + '0'.repeat(-exp - 1) + digits;
    else if (digits.length <= exp + 1) s = digits + '0'.repeat(exp + 1 - digits.length) + '.0';
    else s = digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1);
    return sign + s;
  }
  const m = digits.length > 1 ? digits[0] + '.' + digits.slice(1) : digits;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Python's repr() of a model value. */
export function pyRepr(v) {
  switch (pyType(v)) {
    case 'NoneType': return 'None';
    case 'bool': return v ? 'True' : 'False';
    case 'int': return BigInt(v).toString();
    case 'float': return pyFloatRepr(floatValue(v));
    case 'str': return strRepr(v);
    case 'list': return '[' + v.map(pyRepr).join(', ') + ']';
    default: return '{' + keysOf(v).map((k) => `${strRepr(k)}: ${pyRepr(v[k])}`).join(', ') + '}';
  }
}

/**
 * ledger.text.shown: text from outside (a bundle, the chain), safe to show. Each non-printable
 * code point (Python's str.isprintable) as Python's unicode_escape writes it (\\t \\n \\r, \\xNN,
 * \\uNNNN, \\UNNNNNNNN); printable text comes back unchanged, so escaping twice changes nothing.
 * Which code points are assigned follows this runtime's Unicode tables (see the README).
 */
export function shown(text) {
  let out = '';
  for (const ch of text) {
    if (isPrintableChar(ch)) { out += ch; continue; }
    const cp = ch.codePointAt(0);
    if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp <= 0xff) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp <= 0xffff) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out;
}

/** ledger.directory.shown_name: a name read from the chain, shown (the same rule as `shown`). */
export const shownName = shown;

/** Python's str() (what an f-string prints): strings as they are, the rest as repr. */
export function pyStr(v) {
  return typeof v === 'string' ? v : pyRepr(v);
}

export { JsonFloat };
