// Exact comparison of the numbers a manifest and a record may hold: ints of any size, floats,
// and decimal strings (ledger.assets.exact / _less), never through a rounded double.
import { pyType, floatValue } from './json.js';

export const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const MAX_EMAX = 999999999999999999n;
const MIN_ETINY = -1999999999999999997n;

const digits = (c) => BigInt(c.toString().length);

/** An exact decimal {neg, coef, exp} (value = +-coef * 10**exp) of an int, finite float or decimal string. */
export function toExact(v) {
  const t = pyType(v);
  if (t === 'int') { const b = BigInt(v); return { neg: b < 0n, coef: b < 0n ? -b : b, exp: 0n }; }
  if (t === 'float') {
    const x = floatValue(v);
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const hi = view.getUint32(0), lo = view.getUint32(4);
    const neg = hi >>> 31 === 1;
    const bexp = (hi >>> 20) & 0x7ff;
    let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    let e2;
    if (bexp === 0) e2 = -1074n; else { mant |= 1n << 52n; e2 = BigInt(bexp) - 1075n; }
    if (e2 >= 0n) return { neg, coef: mant << e2, exp: 0n };
    return { neg, coef: mant * 5n ** -e2, exp: e2 };
  }
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(v);
  const frac = m[3] || '';
  return { neg: m[1] === '-', coef: BigInt(m[2] + frac), exp: BigInt(m[4] || '0') - BigInt(frac.length) };
}

/** Can Python's Decimal hold this decimal string (its exponent limits)? */
export function decimalFits(s) {
  const { coef, exp } = toExact(s);
  return exp + digits(coef) - 1n <= MAX_EMAX && exp >= MIN_ETINY;
}

function cmpMagnitude(a, b) {
  if (a.coef === 0n || b.coef === 0n) return a.coef === b.coef ? 0 : a.coef === 0n ? -1 : 1;
  const adjA = a.exp + digits(a.coef), adjB = b.exp + digits(b.coef);
  if (adjA !== adjB) return adjA < adjB ? -1 : 1;
  // Same order of magnitude: the exponents differ by less than the digit counts.
  let x = a.coef, y = b.coef;
  if (a.exp > b.exp) x *= 10n ** (a.exp - b.exp); else y *= 10n ** (b.exp - a.exp);
  return x === y ? 0 : x < y ? -1 : 1;
}

/** -1, 0 or 1: a compared with b, exactly. */
export function compareExact(a, b) {
  const x = toExact(a), y = toExact(b);
  const sx = x.coef === 0n ? 0 : x.neg ? -1 : 1, sy = y.coef === 0n ? 0 : y.neg ? -1 : 1;
  if (sx !== sy) return sx < sy ? -1 : 1;
  if (sx === 0) return 0;
  return sx * cmpMagnitude(x, y);
}

export const lessExact = (a, b) => compareExact(a, b) < 0;
