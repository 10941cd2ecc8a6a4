// Lender page: the pledges this lender holds (terms, status, moves) and the consents naming
// it (issue). Every change goes through /v1; an error shows next to the button that caused
// it; without a custodial key the API answers 409 with the transaction to send, shown as such.
// The lien end moves later on the lender's word only up to the max lien end the factory
// signed; past it only with an extension the factory signed (listed here, used by its id).
// The disclosures naming the lender (reports, verified in the browser) are lender/disclosures.js.
// Each pledge carries the badge of its covenant warnings and their timeline (pages/warnings.js);
// the holder acknowledges an open one here and re-checks its evidence (lender/recheck.js).
import { readConfig } from '../config.js';
import { api, ApiError, errorText } from '../api.js';
import { addressOf, badge, clearError, copyable, download, focusOn, h, short, showError, txLink } from '../dom.js';
import { fmtAmount, fmtDate } from '../format.js';
import { browserWallet, walletAccount, walletSend } from '../wallet.js';
import { wireDisclosures } from './lender/disclosures.js';
import { recheckAction } from './lender/recheck.js';
import { countWarnings, renderWarnings, unresolved, warningsBadge } from './warnings.js';

const config = readConfig();

const pledgesEl = document.getElementById('pledges');
const consentsEl = document.getElementById('consents');
/** log id -> stream name, learnt from the consents (a lender may not list logs). */
const streams = new Map();
/** token id -> the factory's extensions of that pledge, not used yet and not expired. */
let extensions = new Map();
/** factory address (lower case) -> its name in the registry's directory. */
let factoryNames = new Map();
/** token id -> the covenant warnings of that pledge (GET /v1/warnings), as last read or acknowledged. */
let warnings = new Map();
/** token id -> the consent document the pledge was issued from (its covenants and pledged profile), when it named this lender. */
let issuedFrom = new Map();

/** Unix seconds as the YYYY-MM-DD (UTC) a date input takes. */
const day = (seconds) => new Date(Number(seconds) * 1000).toISOString().slice(0, 10);

function logName(logId) {
  const stream = streams.get(String(logId).toLowerCase());
  return stream ? h('span', {}, h('b', {}, stream), ' ', short(logId, 6)) : short(logId);
}

function terms(pairs) {
  return h('dl', { class: 'terms' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

// --- pledges held before (from the service: its mirror keeps each holding, from the chain's events) ---

/** What ended the holding of `p` (a pledge the service lists with `held: false`). */
function endedText(p) {
  if (p.ended === 'released') return 'released: lien lifted, token burned';
  return `transferred to ${p.ended_to_party || p.ended_to}`;
}

/** Pledges this lender held before and holds no longer, however the move was sent (this page, a wallet, the CLI). */
function showHistory(before) {
  const box = document.getElementById('history');
  box.hidden = !before.length;
  document.getElementById('history-list').replaceChildren(...before.map((p) => h('li', { 'data-testid': `moved-${p.token_id}` },
    h('b', {}, `Pledge #${p.token_id}`), ` (${fmtAmount(p.principal, p.currency)}, records [${p.from}, ${p.to})`
      + `${p.stream ? ` of ${p.stream}` : ''}) — ${endedText(p)} in block ${p.ended_block}`,
    p.ended_tx ? [' · tx ', txLink(p.ended_tx)] : [])));
}

function flash(text, tx) {
  const el = document.getElementById('flash');
  el.replaceChildren(h('p', { class: 'notice', tabindex: '-1' }, text, tx ? [' · tx ', txLink(tx)] : []));
}

/** The 409 of a lender without a custodial key: the transaction to send from its own wallet. */
function showTransaction(anchor, problem) {
  const tx = problem.transaction;
  const box = h('div', { class: 'tx-to-send', role: 'status', id: `${anchor.id}-tx`, 'data-testid': 'tx-to-send' },
    h('p', {}, h('b', {}, 'Send this transaction from your wallet. '), problem.detail || ''),
    terms([['to', h('code', {}, tx.to)], ['chainId', h('code', {}, String(tx.chainId))],
      ['from', tx.from ? h('code', {}, tx.from) : null], ['data', h('code', { class: 'calldata' }, tx.data)]]),
    h('button', { type: 'button', class: 'secondary', onclick: () => download('transaction.json', tx) },
      'Download transaction (JSON)'),
    walletButton(tx));
  // Under the action's cell, across the whole row: calldata needs the width.
  (anchor.closest('.action') || anchor).insertAdjacentElement('afterend', box);
}

/** "Send with your browser wallet" (the wallet signs; this page never sees a key), or why not. */
function walletButton(tx) {
  if (!browserWallet()) {
    return h('p', { class: 'muted' }, 'No browser wallet (e.g. MetaMask) in this browser: send it from your own wallet or node.');
  }
  const button = h('button', { type: 'button', id: `wallet-send-${Math.random().toString(36).slice(2)}` }, 'Send with your browser wallet');
  button.addEventListener('click', () => act(button, async () => {
    await walletAccount(tx.from, tx.chainId);
    const hash = await walletSend(tx);
    await load(); // the service's mirror reads the chain's events: the new state shows
    flash('Sent from your wallet and in a block.', hash);
  }));
  return button;
}

/**
 * Runs a write from `button`: its error (or the transaction to send) appears right after it.
 * The keyboard focus comes back when the page was redrawn meanwhile: to the same control when it
 * is still there, else to the message saying what happened (#flash).
 */
async function act(button, work) {
  clearError(button);
  document.getElementById(`${button.id}-tx`)?.remove();
  button.disabled = true;
  try {
    return await work();
  } catch (e) {
    if (e instanceof ApiError && e.status === 409 && e.problem?.transaction) showTransaction(button, e.problem);
    else showError(button, e);
    return undefined;
  } finally {
    button.disabled = false;
    const lost = !document.activeElement || document.activeElement === document.body;
    if (lost) {
      const same = document.getElementById(button.id);
      if (same && same.offsetParent !== null && !same.disabled) same.focus();
      else focusOn(document.querySelector('#flash p'));
    }
  }
}

/**
 * An irreversible move in two steps: `trigger` opens a review that says what will happen
 * (`what()`, read when opened, so it names what was typed), with "Confirm …" and "Cancel";
 * only Confirm sends. `check()` may refuse before the review opens (an error next to `field`).
 */
function reviewed(trigger, { id, confirmLabel, what, work, check = () => {}, field = trigger }) {
  const confirmBtn = h('button', { type: 'button', class: 'danger', id }, confirmLabel);
  const cancelBtn = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const text = h('p', { 'data-testid': `${id}-review` });
  const panel = h('div', { class: 'stack confirm', hidden: true, role: 'group', 'aria-label': confirmLabel },
    text, h('div', { class: 'buttons' }, confirmBtn, cancelBtn));
  const open = () => {
    clearError(field);
    try { check(); } catch (e) { showError(field, e); focusOn(field); return; }
    text.textContent = `${what()} This cannot be undone.`;
    trigger.hidden = true; panel.hidden = false; confirmBtn.focus();
  };
  const close = () => { clearError(confirmBtn); panel.hidden = true; trigger.hidden = false; trigger.focus(); };
  cancelBtn.addEventListener('click', close);
  confirmBtn.addEventListener('click', () => act(confirmBtn, work));
  return { open, panel };
}

function pledgeActions(p) {
  const id = p.token_id;
  const amount = fmtAmount(p.principal, p.currency);
  const verify = h('div', { class: 'action' },
    h('a', { class: 'button secondary', href: `/verify?token=${id}`, id: `verify-${id}` }, 'Verify collateral'));

  // Declare default: from maturity on (the registry refuses it before); disabled until then, saying when.
  const matured = Number(p.maturity) * 1000 <= Date.now();
  const defaultBtn = h('button', { type: 'button', class: 'danger', id: `default-${id}`, disabled: !matured,
    'aria-describedby': `default-${id}-when` }, 'Declare default…');
  const defaultWhen = h('span', { class: 'label', id: `default-${id}-when` },
    matured ? `Matured ${fmtDate(p.maturity)}` : `Possible from maturity, ${fmtDate(p.maturity)}`);
  const declare = reviewed(defaultBtn, {
    id: `default-confirm-${id}`, confirmLabel: 'Confirm default',
    what: () => `Declare the loan of pledge #${id} (${amount}, matured ${fmtDate(p.maturity)}) in default: the registry `
      + 'records it for everyone to see, and the lien on the factory\'s records stays until you release it.',
    work: async () => {
      const out = await api('POST', `/v1/pledges/${id}/default`);
      await load();
      flash(`Pledge #${id}: default declared.`, out?.tx_hash);
    },
  });
  defaultBtn.addEventListener('click', declare.open);

  const releaseBtn = h('button', { type: 'button', class: 'secondary', id: `release-${id}` }, 'Release…');
  const release = reviewed(releaseBtn, {
    id: `release-confirm-${id}`, confirmLabel: 'Confirm release',
    what: () => `Release pledge #${id}: the loan of ${amount} is repaid, the lien on records [${p.from}, ${p.to}) is lifted `
      + 'and the token burned; you no longer hold any claim on these records.',
    work: async () => {
      const out = await api('POST', `/v1/pledges/${id}/release`);
      await load();
      flash(`Pledge #${id} released.`, out?.tx_hash);
    },
  });
  releaseBtn.addEventListener('click', release.open);

  const toInput = h('input', { id: `transfer-to-${id}`, name: 'to', required: true, autocomplete: 'off',
    spellcheck: 'false', placeholder: 'bank-b or 0x…' });
  const transferBtn = h('button', { type: 'submit', id: `transfer-${id}` }, 'Transfer…');
  const transferTo = () => toInput.value.trim();
  const move = reviewed(transferBtn, {
    id: `transfer-confirm-${id}`, confirmLabel: 'Confirm transfer', field: toInput,
    check: () => { if (!transferTo()) throw new Error('name the lender to transfer to (a party name or an address)'); },
    what: () => `Transfer pledge #${id} (${amount}, records [${p.from}, ${p.to})) to ${transferTo()}: it becomes the holder `
      + 'and alone can release it, declare default or extend it; the pledge leaves your list.',
    work: async () => {
      const to = transferTo();
      const out = await api('POST', `/v1/pledges/${id}/transfer`, { to });
      await load();
      flash(`Pledge #${id} transferred to ${to}.`, out?.tx_hash);
    },
  });
  const transfer = h('form', { class: 'action', novalidate: true },
    h('label', { for: toInput.id }, 'Transfer to (lender name or address)'), toInput, transferBtn, move.panel);
  transfer.addEventListener('submit', (ev) => { ev.preventDefault(); move.open(); });
  toInput.addEventListener('input', () => { if (!move.panel.hidden) { move.panel.hidden = true; transferBtn.hidden = false; } });

  return h('div', { class: 'actions' }, verify,
    h('div', { class: 'action' }, defaultWhen, defaultBtn, declare.panel),
    h('div', { class: 'action' }, h('span', { class: 'label' }, 'Loan repaid'), releaseBtn, release.panel),
    transfer, extendActions(p));
}

/** Extend: a date up to the max lien end the factory signed; past it, each extension the factory signed. */
function extendActions(p) {
  const id = p.token_id;
  const lienEnd = day(p.lien_end);
  const maxEnd = p.max_lien_end ? day(p.max_lien_end) : lienEnd;
  const offers = (extensions.get(id) || []).map((e) => {
    const btn = h('button', { type: 'button', class: 'secondary', id: `extend-with-${e.extension_id}` },
      `Extend to ${day(e.extension.lien_end)} (the factory's extension #${e.extension_id})`);
    btn.addEventListener('click', () => act(btn, async () => {
      const out = await api('POST', `/v1/pledges/${id}/extend`, { extension_id: e.extension_id });
      await load();
      flash(`Pledge #${id}: lien extended to ${day(e.extension.lien_end)} with the factory's extension.`, out?.tx_hash);
    }));
    return h('div', { class: 'action' }, h('span', { class: 'label' }, `Signed by the factory, usable until ${fmtDate(e.extension.deadline)}`), btn);
  });
  const needed = h('p', { class: 'muted', 'data-testid': `extension-needed-${id}` },
    `Later than ${maxEnd} only with the factory's signed extension: ask the factory for one.`);
  if (p.status !== 'live') return h('div', { class: 'action' }, ...offers);
  if (maxEnd <= lienEnd) return h('div', { class: 'action' }, offers.length ? offers : needed);

  const endInput = h('input', { id: `extend-to-${id}`, type: 'date', required: true, value: lienEnd, min: lienEnd, max: maxEnd,
    'aria-describedby': `extend-to-${id}-hint` });
  const extendBtn = h('button', { type: 'submit', id: `extend-${id}` }, 'Extend');
  const extend = h('form', { class: 'action', novalidate: true },
    h('label', { for: endInput.id }, 'New lien end (00:00 UTC)'), endInput,
    h('small', { class: 'muted', id: `extend-to-${id}-hint` }, `Up to ${maxEnd}, the max lien end the factory agreed to.`),
    extendBtn);
  extend.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearError(endInput);
    const value = endInput.value;
    // The registry would refuse it: say so here, send nothing.
    if (value > maxEnd) {
      showError(endInput, new Error(`${value} is past ${maxEnd}, the max lien end the factory agreed to: `
        + 'a later lien end needs the factory\'s signed extension.'));
      return;
    }
    act(extendBtn, async () => {
      const out = await api('POST', `/v1/pledges/${id}/extend`, { lien_end: value });
      await load();
      flash(`Pledge #${id}: lien extended to ${value}.`, out?.tx_hash);
    });
  });
  return h('div', { class: 'stack' }, extend, ...offers);
}

// --- covenant warnings: a badge on the card, the timeline below its terms, Acknowledge for the holder ---

/** The Acknowledge button of an open warning: the state changes in place, an error shows beside it. */
function ackAction(p, w) {
  if (w.state !== 'open') return [];
  const button = h('button', { type: 'button', class: 'secondary', id: `ack-${w.id}` }, 'Acknowledge');
  button.addEventListener('click', () => act(button, async () => {
    const updated = await api('POST', `/v1/pledges/${p.token_id}/warnings/${w.id}/ack`);
    warnings.set(p.token_id, (warnings.get(p.token_id) || []).map((x) => (x.id === updated.id ? updated : x)));
    showWarnings(p);
    flash(`Pledge #${p.token_id}: warning #${w.id} acknowledged; it stays until a later window meets the covenant again.`);
  }));
  return [button];
}

/** What the holder can do with a warning, in its entry's button row: acknowledge it, re-check its evidence. */
const warningActions = (p, w) => [...ackAction(p, w), ...recheckAction(p, w, issuedFrom.get(String(p.token_id)) ?? null)];

/** (Re)draws pledge `p`'s warnings badge and timeline, where its card has them. */
function showWarnings(p) {
  const list = warnings.get(p.token_id);
  const counts = countWarnings(list);
  document.querySelector(`[data-testid="warnings-badge-${p.token_id}"]`)?.replaceWith(warningsBadge(counts, p.token_id));
  const box = document.getElementById(`warnings-${p.token_id}`);
  if (!box) return;
  const summary = box.closest('details')?.querySelector('summary');
  if (summary) summary.textContent = warningsSummary(list);
  renderWarnings(box, list, { actions: (w) => warningActions(p, w) });
}

const warningsSummary = (list) => `Covenant warnings (${list?.length ?? 0})`;

/** The card's warnings part: a timeline, open when a warning is open; unread warnings say so. */
function warningsPart(p) {
  const list = warnings.get(p.token_id);
  if (list === null) return h('p', { class: 'error', role: 'alert' }, 'The covenant warnings could not be read: press Reload.');
  if (!list?.length) return null;
  const box = h('div', { id: `warnings-${p.token_id}`, 'data-testid': `warnings-${p.token_id}`, 'aria-live': 'polite' });
  renderWarnings(box, list, { actions: (w) => warningActions(p, w) });
  return h('details', { class: 'warnings-part', open: unresolved(list) },
    h('summary', {}, warningsSummary(list)), box);
}

function pledgeCard(p) {
  if (p.stream) streams.set(p.log_id.toLowerCase(), p.stream);
  const list = warnings.get(p.token_id);
  return h('article', { class: 'item', 'data-testid': `pledge-${p.token_id}`, 'data-token': p.token_id },
    h('h3', {}, `Pledge #${p.token_id} `, badge(p.status)),
    list === null ? null : h('p', { class: 'warning-line' }, warningsBadge(countWarnings(list), p.token_id)),
    terms([
      ['Log', logName(p.log_id)],
      ['Records', `[${p.from}, ${p.to}) · ${(p.to - p.from).toLocaleString('en')} records`],
      ['Checkpoint size', p.checkpoint_size.toLocaleString('en')],
      ['Principal', fmtAmount(p.principal, p.currency)],
      ['Maturity', fmtDate(p.maturity)],
      ['Lien end', fmtDate(p.lien_end)],
      ['Max lien end', p.max_lien_end ? fmtDate(p.max_lien_end) : null],
      ['Samples', String(p.samples)],
      ['Asset digest', copyable(p.asset_digest, `pledge #${p.token_id}'s asset digest`)],
      ['Factory', addressOf(p.factory, { name: factoryNames.get(String(p.factory).toLowerCase()),
        what: `pledge #${p.token_id}'s factory address`, keep: 10 })],
    ]),
    warningsPart(p),
    pledgeActions(p));
}

function consentCard(c) {
  const doc = c.consent || {};
  const t = doc.terms || {};
  const items = [
    ['Log', doc.stream ? h('span', {}, h('b', {}, doc.stream), ' ', short(t.log_id, 6)) : short(t.log_id)],
    ['Records', `[${t.from}, ${t.to})`],
    ['Checkpoint size', t.checkpoint_size?.toLocaleString('en')],
    ['Principal', fmtAmount(t.principal, t.currency)],
    ['Maturity', fmtDate(t.maturity)],
    ['Lien end', fmtDate(t.lien_end)],
    ['Max lien end', fmtDate(t.max_lien_end)],
    ['Samples', t.samples],
    ['Asset digest', copyable(t.asset_digest, `consent #${c.consent_id}'s asset digest`)],
    ['Factory', addressOf(doc.factory, { name: factoryNames.get(String(doc.factory).toLowerCase()),
      what: `consent #${c.consent_id}'s factory address`, keep: 10 })],
    ['Deadline', fmtDate(doc.deadline)],
  ];
  let state;
  let action = null;
  if (c.token_id) {
    state = badge(`issued as #${c.token_id}`, 'ok');
  } else {
    const expired = doc.deadline && doc.deadline * 1000 < Date.now();
    state = expired ? badge('expired', 'lapsed') : badge('not issued', 'pending');
    const btn = h('button', { type: 'button', id: `issue-${c.consent_id}` }, 'Issue pledge');
    btn.addEventListener('click', () => act(btn, async () => {
      const out = await api('POST', '/v1/pledges', { consent_id: c.consent_id });
      await load();
      flash(`Consent #${c.consent_id} issued as pledge #${out.token_id}.`, out.tx_hash);
    }));
    action = h('div', { class: 'actions' }, h('div', { class: 'action' }, btn));
  }
  return h('article', { class: 'item', 'data-testid': `consent-${c.consent_id}` },
    h('h3', {}, `Consent #${c.consent_id} `, state), terms(items), action);
}

function failed(el, e) {
  el.replaceChildren(h('p', { class: 'error', role: 'alert' },
    'Could not load: ', errorText(e)));
}

async function loadConsents() {
  const consents = await api('GET', '/v1/pledges/consents');
  for (const c of consents) {
    if (c.consent?.terms?.log_id && c.consent.stream) streams.set(c.consent.terms.log_id.toLowerCase(), c.consent.stream);
  }
  issuedFrom = new Map(consents.filter((c) => c.token_id).map((c) => [String(c.token_id), c.consent]));
  const open = consents.filter((c) => !c.token_id);
  const issued = consents.filter((c) => c.token_id);
  consentsEl.replaceChildren(...[
    consents.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-consents' }, 'No consents name you yet.')
      : open.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-open-consents' }, 'None waiting to be issued.') : [],
    open.map(consentCard),
    issued.length ? h('details', {}, h('summary', {}, `Already issued (${issued.length})`), issued.map(consentCard)) : []].flat());
}

async function loadPledges() {
  const [pledges, offered, raised] = await Promise.all([api('GET', '/v1/pledges'), api('GET', '/v1/pledges/extensions'),
    api('GET', '/v1/warnings').catch(() => null)]); // without them, each card says they could not be read
  extensions = new Map();
  for (const e of offered.filter((x) => !x.used && !x.expired)) {
    extensions.set(e.token_id, [...(extensions.get(e.token_id) || []), e]);
  }
  const held = pledges.filter((p) => p.held !== false);
  warnings = new Map(held.map((p) => [p.token_id, raised === null ? null : []]));
  for (const w of raised || []) warnings.get(w.token_id)?.push(w);
  pledgesEl.replaceChildren(...[
    held.length === 0 ? h('p', { class: 'muted', 'data-testid': 'no-pledges' }, 'You hold no pledges.') : [],
    held.map(pledgeCard)].flat());
  showHistory(pledges.filter((p) => p.held === false));
}

async function load() {
  pledgesEl.setAttribute('aria-busy', 'true');
  consentsEl.setAttribute('aria-busy', 'true');
  // The directory's names first (without it, addresses stay unnamed), then the consents: they
  // name the streams the pledges' log ids stand for.
  const listed = await api('GET', '/v1/factories').catch(() => []);
  factoryNames = new Map(listed.filter((f) => f.listed && f.name).map((f) => [f.address.toLowerCase(), f.name]));
  try { await loadConsents(); } catch (e) { failed(consentsEl, e); }
  try { await loadPledges(); } catch (e) { failed(pledgesEl, e); }
  pledgesEl.setAttribute('aria-busy', 'false');
  consentsEl.setAttribute('aria-busy', 'false');
  document.body.dataset.loaded = 'true';
}

const reload = document.getElementById('reload');
reload.addEventListener('click', async () => { reload.disabled = true; await load(); reload.disabled = false; });
if (!config.address) pledgesEl.before(h('p', { class: 'error' }, 'This lender party has no chain address: it can hold no pledge.'));
load();
wireDisclosures();
