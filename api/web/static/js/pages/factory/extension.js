// The extension form: a later lien end for one of the factory's live pledges, as a
// PledgeExtension it signs (the service, custodial, or its browser wallet).
import { readConfig } from '../../config.js';
import { api, ApiError, controlFor } from '../../api.js';
import { busy, clearError, download, h, showError, table } from '../../dom.js';
import { fmtDate } from '../../format.js';
import { browserWallet, walletAccount, walletSignTypedData } from '../../wallet.js';
import { refresh, streamOf } from './state.js';
import { fieldRows } from './typed.js';
import { renderExtensions } from './pledges.js';

const $ = (id) => document.getElementById(id);

let extensionForm, extensionPrepared, extensionPrepare, extensionControls; // set by wireExtensionForm
const EXTENSION_HINTS = [[/deadline/i, 'deadline'], [/lien_end|lien end/i, 'lien_end'], [/pledge|factory|token/i, 'token_id']];
let extensionDraft = null; // the prepared extension's answer, or null

function discardExtension() {
  if (!extensionDraft) return;
  extensionDraft = null;
  extensionPrepared.replaceChildren(h('p', { class: 'notice', role: 'status' },
    'The form changed, so the prepared extension was discarded: prepare it again to see what will be signed.'));
}

function showPreparedExtension(token, answer) {
  const td = answer.typed_data;
  const doc = answer.extension;
  const submit = h('button', { type: 'button', id: 'x-submit' }, 'Sign extension and submit');
  const walletSign = h('button', { type: 'button', id: 'x-wallet-sign' }, 'Sign extension with your browser wallet');
  const external = h('div', { class: 'stack', hidden: true },
    h('p', {}, 'The service holds no key for this factory: sign the typed data above with your own wallet.'),
    browserWallet() ? h('div', {}, walletSign)
      : h('p', { class: 'muted' }, 'No browser wallet (e.g. MetaMask) in this browser: sign it elsewhere and submit '
        + `the dpl-extension/1 document to POST /v1/pledges/${token}/extensions.`),
    h('div', {}, h('button', { type: 'button', class: 'secondary', onclick: () => download('extension-typed-data.json', td) },
      'Download the typed data')));
  const result = h('div', { class: 'stack', 'aria-live': 'polite' });
  const done = async (out) => {
    extensionDraft = null;
    clearError(submit);
    submit.disabled = true;
    external.hidden = true;
    const e = out.extension;
    const same = Object.keys(td.message).every((k) => String(e.typed_data.message[k]) === String(td.message[k]));
    result.replaceChildren(h('div', { class: 'notice', role: 'status', 'data-testid': 'extension-result' },
      h('b', {}, `Extension #${out.extension_id} signed. `),
      `Pledge #${e.token_id}'s holder may move its lien end to ${fmtDate(e.lien_end)} until ${fmtDate(e.deadline)}. `,
      same ? 'The signed message is exactly the prepared one.'
        : h('span', { class: 'error', role: 'alert' }, 'The signed message differs from the prepared one.')));
    await refresh($('extensions'), renderExtensions, 'Extensions');
  };
  submit.addEventListener('click', () => busy(submit, async () => {
    if (!extensionDraft) throw new Error('the form changed: prepare again');
    const terms = { lien_end: String(doc.lien_end), deadline: String(doc.deadline), nonce: String(doc.nonce) };
    try {
      await done(await api('POST', `/v1/pledges/${token}/extensions`, { terms }));
    } catch (e) {
      if (e instanceof ApiError && e.problem.type?.endsWith('/not-custodial')) external.hidden = false;
      throw e;
    }
  }));
  walletSign.addEventListener('click', () => busy(walletSign, async () => {
    if (!extensionDraft) throw new Error('the form changed: prepare again');
    const account = await walletAccount(readConfig().address, td.domain.chainId);
    const signature = await walletSignTypedData(account, td);
    await done(await api('POST', `/v1/pledges/${token}/extensions`, { extension: { ...doc, signature } }));
  }));
  extensionPrepared.replaceChildren(
    h('h3', {}, 'What will be signed (EIP-712)'),
    h('p', {}, 'Primary type ', h('code', {}, td.primaryType), `; pledge #${token}.`),
    h('h4', {}, 'Domain'),
    table(['Field', 'Type', 'Value'], fieldRows(td.types.EIP712Domain, td.domain), { class: 'typed extension-domain' }),
    h('h4', {}, 'Message'),
    table(['Field', 'Type', 'Value'], fieldRows(td.types[td.primaryType], td.message), { class: 'typed extension' }),
    h('details', {}, h('summary', {}, 'The raw typed data (JSON)'), h('pre', {}, JSON.stringify(td, null, 2))),
    h('div', {}, submit), external, result);
}

async function prepareExtension(event) {
  event.preventDefault();
  for (const c of [...Object.values(extensionControls), extensionPrepare]) clearError(c);
  const token = extensionControls.token_id.value;
  const body = { lien_end: extensionControls.lien_end.value.trim() };
  if (extensionControls.deadline.value) body.deadline = extensionControls.deadline.value;
  extensionPrepare.disabled = true;
  try {
    if (!token) throw new Error('no live pledge to extend');
    if (!body.lien_end) throw Object.assign(new Error('give the new lien end'), { field: 'lien_end' });
    const answer = await api('POST', `/v1/pledges/${token}/extensions/draft`, body);
    extensionDraft = answer;
    showPreparedExtension(token, answer);
  } catch (e) {
    extensionDraft = null;
    extensionPrepared.replaceChildren();
    const control = e.field ? extensionControls[e.field] : controlFor(e, extensionControls, extensionPrepare, EXTENSION_HINTS);
    showError(control, e);
  } finally {
    extensionPrepare.disabled = false;
  }
}

/** Offers the factory's `live` pledges in the form (keeping the one chosen, when still live). */
export function offerPledges(live) {
  const chosen = extensionControls.token_id.value;
  extensionControls.token_id.replaceChildren(...live.map((p) => h('option', { value: p.token_id },
    `#${p.token_id} · ${streamOf(p.log_id)} [${p.from}, ${p.to}) · lien end ${fmtDate(p.lien_end)}, max ${fmtDate(p.max_lien_end)}`)));
  if (live.some((p) => String(p.token_id) === chosen)) extensionControls.token_id.value = chosen;
}

/** Finds the form's elements and wires it (once, at start). */
export function wireExtensionForm() {
  extensionForm = $('extension-form');
  extensionPrepared = $('x-prepared');
  extensionPrepare = $('x-prepare');
  extensionControls = { token_id: $('x-token'), lien_end: $('x-lien-end'), deadline: $('x-deadline') };
  extensionForm.addEventListener('input', discardExtension);
  extensionForm.addEventListener('change', discardExtension);
  extensionForm.addEventListener('submit', prepareExtension);
}
