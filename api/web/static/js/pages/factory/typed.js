// EIP-712 typed data shown field by field, each value with what it means, before it is signed.
import { h } from '../../dom.js';
import { fmtAmount, fmtDate } from '../../format.js';
import { streamOf } from './state.js';

/** The text of a bytes3 currency code ("0x455552" -> "EUR"). */
export function currencyText(hex) {
  return new TextDecoder().decode(Uint8Array.from(String(hex).slice(2).match(/../g) || [], (b) => parseInt(b, 16)));
}

/** A field of the typed data as readable text, with what it means where that helps. Integers
 * come as decimal strings (exact above 2^53); dates are small enough for Number. */
function explain(name, value, values, loanRef) {
  const when = () => fmtDate(Number(value));
  const extra = {
    logId: () => streamOf(value),
    currency: () => currencyText(value),
    maturity: when, lienEnd: when, deadline: when,
    maxLienEnd: () => `${when()}: the lender may extend the lien up to then without asking you`,
    newLienEnd: () => `${when()}: the pledge's holder may move the lien end to this date, once`,
    tokenId: () => `pledge #${value}`,
    nonce: () => 'random, chosen for this draft: the one that gets signed',
    principal: () => `${fmtAmount(value, currencyText(values.currency))} (in minor units: ${value})`, loanRefDigest: () => `SHA-256 of "${loanRef ?? ''}"`,
    covenantsDigest: () => (/^0x0{64}$/.test(String(value)) ? 'zero: no covenants'
      : 'SHA-256 of the covenants agreed with this loan (dpl-covenants/1): the monitor judges exactly these'),
  }[name];
  return extra ? extra() : null;
}

/** Table rows of `values` (a typed-data domain or message) by `types`, each explained; `loanRef`
 * is the text whose digest loanRefDigest is. */
export function fieldRows(types, values, loanRef = null) {
  return types.map(({ name, type }) => {
    const note = explain(name, values[name], values, loanRef);
    return h('tr', { 'data-field': name },
      h('th', { scope: 'row' }, name), h('td', {}, h('code', {}, type)),
      h('td', { 'data-value': String(values[name]) }, h('code', {}, String(values[name])),
        note ? h('div', { class: 'muted' }, note) : null));
  });
}

