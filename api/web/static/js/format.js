// How the pages write values for people: amounts with their currency's decimals, moments and
// dates in UTC, and the registry's refusals in words. Pure: importable by `node --test`.

/** The number of decimals of ISO 4217 `currency` (EUR 2, JPY 0, BHD 3); 2 for a code this runtime does not know. */
export function currencyDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

function groups(whole) {
  return whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** An amount in minor units with its ISO 4217 currency's decimals: (5000000, 'EUR') -> "50,000.00 EUR". Exact (BigInt). */
export function fmtAmount(minor, currency) {
  let v;
  try { v = BigInt(minor); } catch { return `${minor} ${currency} (minor units)`; }
  const digits = currencyDigits(currency);
  const sign = v < 0n ? '-' : '';
  if (v < 0n) v = -v;
  const base = 10n ** BigInt(digits);
  const frac = digits ? '.' + (v % base).toString().padStart(digits, '0') : '';
  return `${sign}${groups(v / base)}${frac} ${currency}`;
}

/**
 * An amount as typed ("50,000", "50000.5", "50 000.00") in `currency`'s minor units, as the decimal
 * text of an integer (exact above 2^53). Throws an Error in words when it is not an amount of that
 * currency: more decimals than it has, a sign, letters.
 */
export function parseAmount(text, currency) {
  const digits = currencyDigits(currency);
  const t = String(text ?? '').trim().replace(/[\s,_']/g, '');
  const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m) throw new Error(`"${String(text ?? '').trim()}" is not an amount: digits, with a decimal point if needed (e.g. 50,000.00)`);
  const frac = m[2] || '';
  if (frac.length > digits) {
    throw new Error(`${currency} has ${digits} decimal${digits === 1 ? '' : 's'}: "${String(text).trim()}" has ${frac.length}`);
  }
  return (BigInt(m[1]) * 10n ** BigInt(digits) + BigInt((frac + '0'.repeat(digits)).slice(0, digits) || '0')).toString();
}

function asDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const iso = (t) => (/T\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(t) ? t + 'Z' : t);
  const d = typeof value === 'number' || typeof value === 'bigint' || /^\d+$/.test(String(value))
    ? new Date(Number(value) * 1000) : new Date(iso(String(value)));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Unix seconds (or ISO text; read as UTC when it carries no offset) as a UTC date-time. */
export function fmtTime(value) {
  const d = asDate(value);
  if (d === null) return '—';
  if (d === undefined) return String(value);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/:00 UTC$/, ' UTC');
}

/**
 * A moment that is a date (the ledger keeps "2027-06-30" as its midnight UTC) as "2027-06-30";
 * any other moment as fmtTime writes it, so nothing is rounded away.
 */
export function fmtDate(value) {
  const d = asDate(value);
  if (d === null) return '—';
  if (d === undefined) return String(value);
  const text = d.toISOString();
  return text.endsWith('T00:00:00.000Z') ? text.slice(0, 10) : fmtTime(value);
}

/** The registry's pledge statuses (IDataPledges.PledgeStatus). */
export const PLEDGE_STATUS = ['none', 'live', 'released', 'defaulted', 'lapsed'];

const statusName = (s) => PLEDGE_STATUS[Number(s)] ?? `in status ${s}`;

const REFUSALS = {
  PledgeNotMatured: ([id, maturity]) => `pledge #${id} is not matured until ${fmtDate(maturity)}: default can be declared from then on`,
  PledgeWrongStatus: ([id, status]) => `pledge #${id} is ${statusName(status)}, which does not allow this`,
  PledgeNotHolder: ([id, caller]) => `${caller} does not hold pledge #${id}`,
  PledgeUnknown: ([id]) => `there is no pledge #${id}`,
  PledgeInvalidLienEnd: ([lienEnd, newLienEnd]) => `the new lien end ${fmtDate(newLienEnd)} is not after the current one, ${fmtDate(lienEnd)}`,
  PledgeExtensionNotConsented: ([id, max, wanted]) => `pledge #${id} may be extended up to ${fmtDate(max)} without the factory; `
    + `${fmtDate(wanted)} needs an extension the factory signed`,
  PledgeConsentExpired: ([deadline]) => `the factory's consent expired at ${fmtTime(deadline)}`,
  PledgeConsentReplayed: ([factory, nonce]) => `this consent of ${factory} was used already (nonce ${nonce})`,
  PledgeInvalidSignature: ([factory]) => `the signature is not the consent of the log's factory ${factory}`,
  PledgeLenderNotApproved: ([account]) => `${account} is not an approved lender in the registry`,
  PledgeWrongLender: ([caller, lender]) => `the consent names lender ${lender}, not ${caller}`,
  PledgeCheckpointNotAnchored: ([, size]) => `no checkpoint of size ${size} is anchored for this log yet`,
  PledgeInvalidRange: ([start, end, size]) => `records [${start}, ${end}) are not a range inside the checkpoint of size ${size}`,
  PledgeInvalidTerms: ([reason]) => `the registry refuses the terms: ${reason}`,
  PledgeRangeOverlaps: ([id]) => `these records are pledged already (pledge #${id})`,
  PledgeApprovalsDisabled: () => 'a pledge moves only by its holder (approvals are disabled)',
};

/**
 * A contract refusal (an API problem's `error` and `arguments`, as decimal or hex text) in
 * words: ('PledgeNotMatured', ['1', '1814313600']) -> "pledge #1 is not matured until 2027-06-30: …".
 * null for an error these words do not cover (the caller shows the API's detail then).
 */
export function refusalText(name, args = []) {
  const words = Object.hasOwn(REFUSALS, name) ? REFUSALS[name] : null;
  return words ? words(args.map(String)) : null;
}

/**
 * The explorer's page of a transaction or an address (`kind` 'tx' or 'address'), or null when no
 * explorer is configured or `value` is not a 0x hash/address.
 */
export function explorerUrl(explorer, kind, value) {
  if (!explorer || !/^0x[0-9a-fA-F]+$/.test(String(value ?? ''))) return null;
  if (kind !== 'tx' && kind !== 'address') return null;
  return `${String(explorer).replace(/\/+$/, '')}/${kind}/${value}`;
}
