// The consent form: Prepare shows the EIP-712 typed data that will be signed; Sign and submit
// has the service sign it (custodial) or takes a signature made elsewhere (a browser wallet, or
// pasted).
import { readConfig } from '../../config.js';
import { api, ApiError, controlFor } from '../../api.js';
import { busy, clearError, download, focusOn, h, short, showError, table } from '../../dom.js';
import { fmtAmount, fmtDate, parseAmount } from '../../format.js';
import { browserWallet, walletAccount, walletSignTypedData } from '../../wallet.js';
import { refresh, state } from './state.js';
import { currencyText, fieldRows } from './typed.js';
import { renderConsents } from './pledges.js';

const $ = (id) => document.getElementById(id);

let form, prepared, prepareButton, controls; // set by wireConsentForm
// Which field an API detail is about, when the API names no field.
const HINTS = [
  [/range|index|beyond|covering|checkpoint/i, 'to'], [/max_lien_end|max lien end/i, 'max_lien_end'],
  [/lien_end|lien end/i, 'lien_end'],
  [/maturity/i, 'maturity'], [/deadline/i, 'deadline'], [/lender|address|party/i, 'lender'], [/currency/i, 'currency'],
  [/samples/i, 'samples'], [/log/i, 'log_id'],
];
let draft = null; // { terms, answer } of the prepared consent, or null

/** The principal as typed ("50,000.00") in the currency's minor units; an Error in words when it is not one. */
function principal() {
  const minor = parseAmount(controls.principal.value, controls.currency.value.trim().toUpperCase());
  return Number.isSafeInteger(Number(minor)) ? Number(minor) : minor; // exact either way
}

/** Under the principal: the amount as it will be signed ("= 50,000.00 EUR"), or what is wrong with it. */
function echoPrincipal() {
  const out = $('c-principal-read');
  if (!out) return;
  const currency = controls.currency.value.trim().toUpperCase();
  if (!controls.principal.value.trim()) { out.textContent = ''; return; }
  try {
    out.textContent = `= ${fmtAmount(parseAmount(controls.principal.value, currency), currency || '?')}`;
  } catch (e) {
    out.textContent = e.message;
  }
}

function terms() {
  const v = (name) => controls[name].value.trim();
  const int = (name) => (v(name) === '' || !/^-?\d+$/.test(v(name)) ? v(name) : Number(v(name)));
  const t = {
    log_id: v('log_id'), from: int('from'), to: int('to'), lender: v('lender'), principal: principal(),
    currency: v('currency').toUpperCase(), maturity: v('maturity'), lien_end: v('lien_end'), samples: int('samples'),
    loan_ref: v('loan_ref'),
  };
  if (v('deadline')) t.deadline = v('deadline');
  if (v('max_lien_end')) t.max_lien_end = v('max_lien_end');
  return t;
}

function clearFormErrors() {
  for (const c of [...Object.values(controls), prepareButton]) clearError(c);
}

function showFormError(e, fallback) {
  showError(controlFor(e, controls, fallback, HINTS), e);
}

function invalidate() {
  if (!draft) return;
  draft = null;
  prepared.replaceChildren(h('p', { class: 'notice', role: 'status' },
    'The form changed, so the prepared consent was discarded: prepare it again to see what will be signed.'));
}

/** What signing means, in words, from the message itself (what gets signed, not what was typed). */
function consentSummary(answer, typed) {
  const m = answer.typed_data.message;
  const currency = currencyText(m.currency);
  const lender = typed?.lender && !/^0x/i.test(typed.lender) ? [h('b', {}, typed.lender), ' (', short(m.lender, 6), ')'] : [short(m.lender, 6)];
  const extendable = String(m.maxLienEnd) !== String(m.lienEnd)
    ? `; the lender may extend it up to ${fmtDate(Number(m.maxLienEnd))} without asking you` : '';
  return h('p', { class: 'notice', 'data-testid': 'consent-summary' },
    'By signing, you pledge records ', h('b', {}, `[${m.start}, ${m.end})`), ` of ${answer.consent.stream} as collateral to `, ...lender,
    ' for a loan of ', h('b', { 'data-testid': 'consent-amount' }, fmtAmount(m.principal, currency)),
    ', maturing ', h('b', {}, fmtDate(Number(m.maturity))), '. The lien holds until ', h('b', {}, fmtDate(Number(m.lienEnd))),
    `${extendable}. ${m.samples} sampled records will be disclosed to the lender.`);
}

/**
 * Shows in `container` what will be signed (`answer`: a consent draft, {typed_data, consent}) for
 * `terms` (as typed: names the lender, the loan reference), with "Sign and submit" (custody), the
 * browser wallet or a pasted signature. `id` prefixes the controls' ids; `current()` says whether
 * the draft still stands (a changed form discards it); `onDone(out)` runs once the consent is kept
 * (`out`: {consent_id, consent}). Used by the consent form and by an approved loan application.
 */
export function renderDraft(container, answer, terms, { id = 'c', current = () => true, onDone = async () => {} } = {}) {
  const td = answer.typed_data;
  const submit = h('button', { type: 'button', id: `${id}-submit` }, 'Sign and submit');
  const result = h('div', { class: 'stack', 'aria-live': 'polite' });
  const external = h('div', { class: 'stack', hidden: true });
  const signature = h('input', { id: `${id}-signature`, autocomplete: 'off', spellcheck: 'false', placeholder: '0x… (65 bytes)' });
  const sendSignature = h('button', { type: 'button', id: `${id}-send-signature` }, 'Submit signature');
  const walletSign = h('button', { type: 'button', id: `${id}-wallet-sign` }, 'Sign with your browser wallet');
  external.append(
    h('p', {}, 'The service holds no key for this factory. Sign the typed data above with your own wallet '
      + '(eth_signTypedData_v4, from ', h('code', {}, readConfig().address || 'your factory address'), ') and paste the signature.'),
    browserWallet() ? h('div', {}, walletSign)
      : h('p', { class: 'muted' }, 'No browser wallet (e.g. MetaMask) in this browser: sign elsewhere and paste below.'),
    h('div', {}, h('button', { type: 'button', class: 'secondary', onclick: () => download('consent-typed-data.json', td) },
      'Download the typed data')),
    h('label', { for: `${id}-signature` }, 'Signature'), signature, h('div', {}, sendSignature));

  const done = async (out) => {
    clearError(submit); // a "not custodial" refusal is answered now
    submit.disabled = true;
    external.hidden = true;
    const c = out.consent;
    const signed = c.typed_data?.message ?? {};
    const changed = Object.keys(td.message).filter((k) => String(signed[k]) !== String(td.message[k]));
    result.replaceChildren(h('div', { class: 'notice', role: 'status', 'data-testid': 'consent-result' },
      h('b', {}, `Consent #${out.consent_id} submitted. `),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Consent id'), h('dd', {}, String(out.consent_id)),
        h('dt', {}, 'Nonce'), h('dd', {}, h('code', {}, c.nonce)),
        h('dt', {}, 'Deadline'), h('dd', {}, `${fmtDate(c.deadline)} (${c.deadline})`),
        h('dt', {}, 'Signature'), h('dd', {}, short(c.signature, 12))),
      changed.length ? h('p', { class: 'error', role: 'alert' }, `The signed terms differ from the prepared ones in: ${changed.join(', ')}`)
        : h('p', {}, 'The signed message is exactly the prepared one (every field, nonce and deadline included). '
          + 'The lender named can now issue the pledge.')));
    await onDone(out);
  };

  submit.addEventListener('click', () => busy(submit, async () => {
    if (!current()) throw new Error('the form changed: prepare again');
    // The service signs the draft's own nonce and deadline: exactly the message shown above.
    const t = { ...terms, deadline: String(answer.consent.deadline), nonce: String(answer.consent.nonce) };
    try {
      await done(await api('POST', '/v1/pledges/consents', { terms: t }));
    } catch (e) {
      if (e instanceof ApiError && e.problem.type?.endsWith('/not-custodial')) external.hidden = false;
      throw e;
    }
  }));
  walletSign.addEventListener('click', () => busy(walletSign, async () => {
    if (!current()) throw new Error('the form changed: prepare again');
    const account = await walletAccount(readConfig().address, td.domain.chainId);
    const sig = await walletSignTypedData(account, td); // the wallet shows the same fields as the table above
    await done(await api('POST', '/v1/pledges/consents', { consent: { ...answer.consent, signature: sig } }));
  }));
  sendSignature.addEventListener('click', () => busy(sendSignature, async () => {
    if (!current()) throw new Error('the form changed: prepare again');
    const sig = signature.value.trim();
    if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) throw new Error('a signature is 0x and 130 hex digits (65 bytes)');
    await done(await api('POST', '/v1/pledges/consents', { consent: { ...answer.consent, signature: sig } }));
  }, signature));

  container.replaceChildren(
    h('h3', {}, 'What will be signed (EIP-712)'),
    consentSummary(answer, terms),
    h('p', {}, `Primary type `, h('code', {}, td.primaryType), `; ${answer.consent.stream}, records `
      + `[${answer.consent.terms.from}, ${answer.consent.terms.to}) of checkpoint ${answer.consent.terms.checkpoint_size}.`),
    h('h4', {}, 'Domain'),
    table(['Field', 'Type', 'Value'], fieldRows(td.types.EIP712Domain, td.domain, terms?.loan_ref), { class: 'typed domain' }),
    h('h4', {}, 'Message'),
    table(['Field', 'Type', 'Value'], fieldRows(td.types[td.primaryType], td.message, terms?.loan_ref), { class: 'typed message' }),
    h('details', {}, h('summary', {}, 'The raw typed data (JSON)'), h('pre', {}, JSON.stringify(td, null, 2))),
    h('div', {}, submit), external, result);
}

function showPrepared(answer) {
  renderDraft(prepared, answer, draft.terms, {
    current: () => draft !== null,
    onDone: async () => { draft = null; await refresh($('consents'), renderConsents, 'Consents'); },
  });
}

async function prepareConsent(event) {
  event.preventDefault();
  clearFormErrors();
  let t;
  try {
    t = terms();
  } catch (e) { // the principal, read on the page: the error goes next to it, and the focus with it
    showError(controls.principal, e);
    focusOn(controls.principal);
    return;
  }
  prepareButton.disabled = true;
  try {
    const answer = await api('POST', '/v1/pledges/consents/draft', t);
    draft = { terms: t, answer };
    showPrepared(answer);
    prepared.querySelector('h3').scrollIntoView({ block: 'nearest' });
  } catch (e) {
    draft = null;
    prepared.replaceChildren();
    showFormError(e, prepareButton);
  } finally {
    prepareButton.disabled = false;
  }
}

/** Fills the log choice from the factory's logs, and a currency and dates to start from. */
export function fillDefaults() {
  controls.log_id.replaceChildren(...state.logs.map((l) => h('option', { value: l.log_id }, `${l.stream} (${l.size} records)`)));
  const year = new Date().getUTCFullYear() + 1;
  if (!controls.currency.value) controls.currency.value = 'EUR';
  if (!controls.maturity.value) controls.maturity.value = `${year}-06-30`;
  if (!controls.lien_end.value) controls.lien_end.value = `${year}-12-31`;
}

/** Finds the form's elements and wires it (once, at start). */
export function wireConsentForm() {
  form = $('consent-form');
  prepared = $('prepared');
  prepareButton = $('c-prepare');
  controls = {
    log_id: $('c-log'), from: $('c-from'), to: $('c-to'), lender: $('c-lender'), principal: $('c-principal'),
    currency: $('c-currency'), maturity: $('c-maturity'), lien_end: $('c-lien-end'), max_lien_end: $('c-max-lien-end'),
    deadline: $('c-deadline'), samples: $('c-samples'), loan_ref: $('c-loan-ref'),
  };
  form.addEventListener('input', invalidate);
  form.addEventListener('change', invalidate);
  form.addEventListener('submit', prepareConsent);
  controls.principal.addEventListener('input', echoPrincipal);
  controls.currency.addEventListener('input', echoPrincipal);
}
