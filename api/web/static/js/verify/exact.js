// Exact numbers, instants and calendar days for the production profile (docs/PROFILE.md §1, §3).
// Integer sums stay Numbers while they are safe and become BigInts beyond 2^53 - 1; ratios and
// roots are exact rationals of BigInts, rounded half-even once. Pure, no dependencies.

const MILLION = 1000000n;
const DAY_MS = 86400000;

/** a + b for two integers (Number or BigInt): a Number while safe, else a BigInt. */
export function addInt(a, b) {
  if (typeof a === 'number' && typeof b === 'number') {
    const s = a + b;
    if (Number.isSafeInteger(s)) return s;
  }
  return BigInt(a) + BigInt(b);
}

/** An integer as the profile writes it: a JSON integer within +-(2^53 - 1), else its decimal text. */
export function intOut(v) {
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isSafeInteger(n) && BigInt(n) === v ? n : v.toString();
}

/** An integer written by the profile (a JSON integer or a decimal string) as a BigInt, or null. */
export function intIn(v) {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (typeof v === 'string' && /^-?(?:0|[1-9][0-9]*)$/.test(v)) return BigInt(v);
  return null;
}

/** Round n / d (BigInts, d != 0) to an integer, ties to even. */
export function roundHalfEven(n, d) {
  if (d < 0n) { n = -n; d = -d; }
  const neg = n < 0n;
  const a = neg ? -n : n;
  let q = a / d;
  const r2 = (a % d) * 2n;
  if (r2 > d || (r2 === d && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}

/** A count of millionths as the 6-decimal text ("0.012300", "-0.250000"; zero is never signed). */
export function millionths(q) {
  const neg = q < 0n;
  const a = neg ? -q : q;
  const frac = (a % MILLION).toString().padStart(6, '0');
  return `${neg && a !== 0n ? '-' : ''}${a / MILLION}.${frac}`;
}

/** The ratio n / d (integers, Number or BigInt) as a 6-decimal string, null when d is 0. */
export function ratio(n, d) {
  const dd = BigInt(d);
  if (dd === 0n) return null;
  return millionths(roundHalfEven(BigInt(n) * MILLION, dd));
}

/** Integer square root (floor) of a BigInt >= 0. */
export function isqrt(n) {
  if (n < 0n) throw new RangeError('isqrt of a negative number');
  if (n < 9007199254740992n) {
    let x = BigInt(Math.floor(Math.sqrt(Number(n))));
    while (x * x > n) x -= 1n;
    while ((x + 1n) * (x + 1n) <= n) x += 1n;
    return x;
  }
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1); // >= sqrt(n)
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** sqrt(n / d) (BigInts, n >= 0, d > 0) as a 6-decimal string, rounded half-even from the exact root. */
export function rootRatio(n, d) {
  // v = n * 10^12 / d; k = floor(sqrt(v)) = isqrt(floor(v)); round up when sqrt(v) > k + 1/2,
  // i.e. 4 n 10^12 > (2k + 1)^2 d; on equality (a tie) to even.
  const num = n * MILLION * MILLION;
  const k = isqrt(num / d);
  const lhs = 4n * num, rhs = (2n * k + 1n) ** 2n * d;
  const r = lhs > rhs || (lhs === rhs && k % 2n === 1n) ? k + 1n : k;
  return millionths(r);
}

/** An exact decimal {c, e} (value c * 10^e, c a BigInt) of a JSON number: its shortest decimal text. */
export function decimalOf(v) {
  if (Number.isSafeInteger(v)) return { c: BigInt(v), e: 0 };
  return decimalOfText(String(v));
}

/** {c, e} of a decimal text ("-1.25", "1e-7", "4.5e+21"). */
export function decimalOfText(s) {
  const m = /^(-?)([0-9]+)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(s);
  if (!m) throw new RangeError(`not a decimal: ${s}`);
  const frac = m[3] || '';
  const c = BigInt(m[2] + frac);
  return { c: m[1] === '-' ? -c : c, e: Number(m[4] || '0') - frac.length };
}

/** -1, 0 or 1: the JSON number v against the decimal {c, e}, exactly (v's value is its shortest text). */
export function compareToDecimal(v, dec) {
  const x = decimalOf(v);
  let a = x.c, b = dec.c;
  if (x.e > dec.e) a *= 10n ** BigInt(x.e - dec.e); else b *= 10n ** BigInt(dec.e - x.e);
  return a === b ? 0 : a < b ? -1 : 1;
}

/** -1, 0 or 1: rational a/b against c/d (BigInts, b, d > 0). */
export function compareFractions(a, b, c, d) {
  const l = a * d, r = c * b;
  return l === r ? 0 : l < r ? -1 : 1;
}

/** Python's str ordering: by code point (JavaScript's < compares UTF-16 code units). */
export function compareCodePoints(a, b) {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) {
      // A surrogate (0xd800-0xdfff) starts a code point above every BMP character.
      const hx = x >= 0xd800 && x <= 0xdfff, hy = y >= 0xd800 && y <= 0xdfff;
      if (hx !== hy) return hx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return a.length < b.length ? -1 : 1;
}

// ------------------------------------------------------------------ calendar

/** Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
export function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** [y, m, d] of a day number (days since 1970-01-01). */
export function civilFromDays(z) {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

const pad = (n, w) => String(n).padStart(w, '0');

/** "YYYY-MM-DD" of a day number. */
export function dayText(z) {
  const [y, m, d] = civilFromDays(z);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** [ISO year, ISO week] of a day number (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeek(z) {
  const dow = (((z + 3) % 7) + 7) % 7; // 0 = Monday; 1970-01-01 was a Thursday
  const thursday = z - dow + 3;
  const [year] = civilFromDays(thursday);
  return [year, Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1];
}

/** "2026-W40" of a day number. */
export function weekText(z) {
  const [y, w] = isoWeek(z);
  return `${pad(y, 4)}-W${pad(w, 2)}`;
}

const TZ = /^([+-])([0-9]{2}):([0-9]{2})$/;

/** The offset of a `±HH:MM` text in milliseconds, or null when it is not one (hours 00-23, minutes 00-59). */
export function tzOffsetMs(tz) {
  const m = typeof tz === 'string' ? TZ.exec(tz) : null;
  if (!m || Number(m[2]) > 23 || Number(m[3]) > 59) return null;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 3600000 + Number(m[3]) * 60000);
}

const d2 = (s, i) => (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48;

/**
 * The instant of a record's RFC 3339 `ts` in whole milliseconds since 1970 UTC: fraction digits
 * after the third dropped, a leap second 60 read as 59, the offset applied. The text is a
 * validated record's (`YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM)`); null when it has not that shape.
 */
export function instantMs(ts) {
  if (typeof ts !== 'string' || ts.length < 20 || ts.charCodeAt(4) !== 45) return null;
  const y = d2(ts, 0) * 100 + d2(ts, 2), mo = d2(ts, 5), d = d2(ts, 8);
  const h = d2(ts, 11), mi = d2(ts, 14);
  let s = d2(ts, 17);
  if (s === 60) s = 59;
  let i = 19, ms = 0;
  if (ts.charCodeAt(i) === 46) { // '.'
    i++;
    let k = 0;
    for (; i < ts.length; i++, k++) {
      const c = ts.charCodeAt(i) - 48;
      if (c < 0 || c > 9) break;
      if (k < 3) ms = ms * 10 + c;
    }
    if (k === 0) return null;
    for (; k < 3; k++) ms *= 10;
  }
  let off = 0;
  const z = ts.charCodeAt(i);
  if (z === 90 || z === 122) { // Z z
    if (i + 1 !== ts.length) return null;
  } else if ((z === 43 || z === 45) && i + 6 === ts.length && ts.charCodeAt(i + 3) === 58) {
    off = (z === 45 ? -1 : 1) * (d2(ts, i + 1) * 60 + d2(ts, i + 4)) * 60000;
  } else {
    return null;
  }
  const v = ((daysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + s * 1000 + ms - off;
  return Number.isSafeInteger(v) ? v : null;
}

/** The day number of an instant (ms) seen at offset `tzMs`. */
export const dayOf = (ms, tzMs) => Math.floor((ms + tzMs) / DAY_MS);
