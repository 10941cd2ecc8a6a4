// Factory page: its logs (size, root, anchor timeline, "Anchor now"), records per day and
// type as a stacked-bar chart, its pledges and consents, and the consent form: Prepare shows
// the EIP-712 typed data that will be signed; Sign and submit has the service sign it
// (custodial) or takes a signature made elsewhere. The extension form works the same way for
// a PledgeExtension: a later lien end for one of its live pledges.
import {
  api, ApiError, badge, browserWallet, busy, clearError, config, controlFor, download, errorText, fmtAmount, fmtTime, h,
  loading, short, showError, table, txLink, walletAccount, walletSignTypedData,
} from '../ui.js';

const $ = (id) => document.getElementById(id);
const STEPS = ['pending', 'included', 'final'];
const COLOURS = ['#0b57d0', '#e8710a', '#137333', '#9334e6', '#b3261e', '#00838f', '#7a5901', '#5b6570'];
const NEWEST_CHECKPOINTS = 5;
let logs = [];

// --- logs and their anchors -------------------------------------------------------------

/** pending → included → final, the reached steps coloured, the current one marked. */
function anchorTimeline(anchor) {
  if (!anchor) return badge('not anchored', 'pending');
  if (!STEPS.includes(anchor.state)) return badge(anchor.state, anchor.state);
  const reached = STEPS.indexOf(anchor.state);
  return h('ol', { class: 'timeline', 'aria-label': `anchor ${anchor.state}` },
    STEPS.map((step, i) => h('li', { 'aria-current': i === reached ? 'step' : null },
      badge(step, i <= reached ? step : 'todo'))));
}

function checkpointRow(cp) {
  const a = cp.anchor;
  return h('tr', { 'data-size': cp.size },
    h('td', {}, cp.size.toLocaleString('en')),
    h('td', {}, short(cp.root)),
    h('td', { 'data-state': a?.state || 'none' }, anchorTimeline(a)),
    h('td', {}, txLink(a?.tx_hash)),
    h('td', {}, a?.block_number ?? '—'));
}

async function renderCheckpoints(log, box) {
  const checkpoints = await api('GET', `/v1/logs/${log.log_id}/checkpoints`);
  checkpoints.sort((x, y) => y.size - x.size);
  const headers = ['Size', 'Root', 'Anchor', 'Transaction', 'Block'];
  const newest = checkpoints.slice(0, NEWEST_CHECKPOINTS).map(checkpointRow);
  const older = checkpoints.slice(NEWEST_CHECKPOINTS).map(checkpointRow);
  box.replaceChildren(...[
    checkpoints.length ? table(headers, newest, { class: 'checkpoints' })
      : h('p', { class: 'muted' }, 'No checkpoint yet: append records, then anchor.'),
    older.length ? h('details', {}, h('summary', {}, `${older.length} older checkpoints`), table(headers, older)) : null,
  ].filter(Boolean));
}

/** For a factory whose key the service does not hold: its wallet signs the newest checkpoint
 * (and RegisterLog, the first time); the service checks and keeps the signatures, then anchors. */
function walletSigning(log, notice, timeline) {
  if (!browserWallet()) {
    return h('p', { class: 'muted' }, 'The service holds no key for this factory: sign checkpoints with a browser wallet '
      + '(none found in this browser), or GET …/checkpoints/to-sign and POST …/checkpoints/signatures.');
  }
  const button = h('button', { type: 'button', class: 'secondary', 'data-testid': 'sign-checkpoint' },
    'Sign the newest checkpoint with your wallet');
  button.addEventListener('click', () => busy(button, async () => {
    const todo = await api('GET', `/v1/logs/${log.log_id}/checkpoints/to-sign`);
    const account = await walletAccount(todo.factory, todo.checkpoint.domain.chainId);
    const body = { size: todo.size, signature: await walletSignTypedData(account, todo.checkpoint) };
    if (todo.register) body.register_signature = await walletSignTypedData(account, todo.register);
    await api('POST', `/v1/logs/${log.log_id}/checkpoints/signatures`, body);
    notice.textContent = `Checkpoint ${todo.size} signed; anchoring…`;
    try {
      const reports = await api('POST', `/v1/logs/${log.log_id}/checkpoints/anchor`);
      notice.textContent = reports.map((r) => `size ${r.size}: ${r.state}${r.block_number ? ` in block ${r.block_number}` : ''}`).join('; ');
    } catch (e) {
      if (!(e instanceof ApiError && e.problem?.type?.endsWith('/anchoring-busy'))) throw e;
      // the background anchoring holds the lock right now: it sends the signed checkpoint itself
      notice.textContent = `Checkpoint ${todo.size} signed; the background anchoring is sending it…`;
      for (let i = 0; i < 60; i++) {
        await new Promise((r) => setTimeout(r, 1000));
        const a = (await api('GET', `/v1/logs/${log.log_id}/checkpoints`)).find((c) => c.size === todo.size)?.anchor;
        if (a && (a.state === 'included' || a.state === 'final')) {
          notice.textContent = `size ${todo.size}: ${a.state} in block ${a.block_number}`;
          break;
        }
      }
    }
    await renderCheckpoints(log, timeline);
  }));
  return h('div', {}, button);
}

function logCard(log) {
  const timeline = h('div', { class: 'stack' }, loading('Loading checkpoints…'));
  const notice = h('p', { class: 'muted', role: 'status' });
  const anchor = h('button', { type: 'button', class: 'secondary' }, 'Anchor now');
  anchor.addEventListener('click', () => busy(anchor, async () => {
    notice.textContent = 'Anchoring…';
    const reports = await api('POST', `/v1/logs/${log.log_id}/checkpoints/anchor`);
    notice.textContent = reports.length
      ? reports.map((r) => `size ${r.size}: ${r.state}${r.block_number ? ` in block ${r.block_number}` : ''}${r.note ? ` (${r.note})` : ''}`).join('; ')
      : 'Nothing to anchor.';
    await renderCheckpoints(log, timeline);
    return true;
  }).then((ok) => { if (ok === undefined && notice.textContent === 'Anchoring…') notice.textContent = ''; }));
  const card = h('article', { class: 'log stack', 'data-log': log.stream },
    h('h3', {}, log.stream),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Log id'), h('dd', {}, short(log.log_id)),
      h('dt', {}, 'Size'), h('dd', { 'data-testid': 'size' }, String(log.size)),
      h('dt', {}, 'Root'), h('dd', { 'data-testid': 'root' }, h('code', {}, log.root))),
    h('div', { class: 'row' }, h('div', {}, anchor), config.custodial ? null : walletSigning(log, notice, timeline)), notice,
    timeline);
  renderCheckpoints(log, timeline).catch((e) => timeline.replaceChildren(h('p', { class: 'error', role: 'alert' },
    `Checkpoints could not be read: ${errorText(e)}`)));
  return card;
}

// --- records per day and type --------------------------------------------------------------

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A round top for the y axis (1, 2 or 5 times a power of ten) and its step. */
function niceScale(max) {
  if (max <= 0) return { top: 1, step: 1 };
  const raw = max / 4;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((v) => v >= raw);
  return { top: Math.ceil(max / step) * step, step };
}

/** Stacked bars, one per day, one colour per type; each segment names its day, type and count. */
export function activityChart(activity, title) {
  const { days, types } = activity;
  const colour = Object.fromEntries(types.map((t, i) => [t, COLOURS[i % COLOURS.length]]));
  const bar = 14, gap = 6, left = 44, right = 8, top = 10, plot = 180, bottom = 34;
  // at least wide enough for the axis title, however few the days
  const width = Math.max(200, left + Math.max(days.length, 1) * (bar + gap) + right);
  const height = top + plot + bottom;
  const totals = days.map((d) => Object.values(d.counts).reduce((a, b) => a + b, 0));
  const { top: yTop, step } = niceScale(Math.max(0, ...totals));
  const y = (v) => top + plot - (v / yTop) * plot;
  const id = 'chart-' + Math.random().toString(36).slice(2);
  const svg = s('svg', {
    class: 'activity-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-labelledby': `${id}-t ${id}-d`,
  },
  s('title', { id: `${id}-t` }, title),
  s('desc', { id: `${id}-d` }, `${days.length} days from ${days[0]?.day ?? '—'} to ${days.at(-1)?.day ?? '—'}; `
    + `types ${types.join(', ')}; at most ${Math.max(0, ...totals)} records a day.`));
  for (let v = 0; v <= yTop; v += step) {
    svg.append(s('line', { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: '#d8dde3', 'stroke-width': 1 }),
      s('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5b6570' }, v));
  }
  // a day label (MM-DD) is ~30 px wide, a bar and its gap 20: label every other bar at least
  const every = Math.max(Math.ceil(34 / (bar + gap)), Math.ceil(days.length / 12));
  days.forEach((d, i) => {
    const x = left + i * (bar + gap) + gap / 2;
    const g = s('g', { class: 'day', 'data-day': d.day });
    let acc = 0;
    for (const t of types) {
      const n = d.counts[t] || 0;
      if (!n) continue;
      g.append(s('rect', { x, y: y(acc + n), width: bar, height: Math.max(1, y(acc) - y(acc + n)), fill: colour[t],
        'data-type': t }, s('title', {}, `${d.day} · ${t}: ${n}`)));
      acc += n;
    }
    svg.append(g);
    if (i % every === 0) {
      svg.append(s('text', { x: x + bar / 2, y: top + plot + 14, 'text-anchor': 'middle', 'font-size': 10, fill: '#5b6570' },
        d.day.slice(5)));
    }
  });
  svg.append(s('line', { x1: left, x2: width - right, y1: top + plot, y2: top + plot, stroke: '#5b6570' }));
  svg.append(s('text', { x: left, y: height - 4, 'font-size': 10, fill: '#5b6570' }, 'day (MM-DD, UTC)'));
  const legend = h('ul', { class: 'legend', 'aria-label': 'Record types' },
    types.map((t) => {
      const swatch = h('i', { 'aria-hidden': 'true' });
      swatch.style.background = colour[t];
      return h('li', { 'data-type': t }, swatch, t);
    }));
  const asTable = h('details', {}, h('summary', {}, 'The counts as a table'),
    table(['Day', ...types, 'Total'], days.map((d, i) => h('tr', {}, h('td', {}, d.day),
      types.map((t) => h('td', {}, d.counts[t] || 0)), h('td', {}, totals[i])))));
  return h('figure', { class: 'activity stack' },
    h('div', { class: 'chart-scroll', tabindex: '0', 'aria-label': 'chart, scrolls sideways' }, svg), legend, asTable);
}

async function renderActivity(box) {
  if (!logs.length) { box.replaceChildren(h('p', { class: 'muted' }, 'No logs yet.')); return; }
  const parts = await Promise.all(logs.map(async (log) => {
    try {
      const a = await api('GET', `/v1/logs/${log.log_id}/activity`);
      if (!a.days.length) return h('div', {}, h('h3', {}, log.stream), h('p', { class: 'muted' }, 'No records yet.'));
      return h('div', { 'data-log': log.stream }, h('h3', {}, log.stream),
        h('p', { class: 'muted' }, `Records ${a.from}–${a.to - 1}.`),
        activityChart(a, `Records per day and type, ${log.stream}`));
    } catch (e) {
      return h('p', { class: 'error', role: 'alert' }, `${log.stream}: ${errorText(e)}`);
    }
  }));
  box.replaceChildren(...parts);
}

// --- pledges and consents -------------------------------------------------------------------

/** A counterparty: its party name with the address beside it, or just the address. */
const party = (name, address) => (name ? h('span', { title: address }, h('b', {}, name), ' ', short(address, 6)) : short(address, 6));

const streamOf = (logId) => logs.find((l) => l.log_id === logId)?.stream ?? logId;

async function renderPledges(box) {
  const pledges = await api('GET', '/v1/pledges');
  box.replaceChildren(pledges.length ? table(['Token', 'Status', 'Log', 'Records', 'Principal', 'Maturity', 'Lien end', 'Max lien end', 'Holder'],
    pledges.map((p) => h('tr', { 'data-token': p.token_id },
      h('td', {}, `#${p.token_id}`), h('td', {}, badge(p.status)), h('td', {}, streamOf(p.log_id)),
      h('td', {}, `[${p.from}, ${p.to})`), h('td', {}, fmtAmount(p.principal, p.currency)),
      h('td', {}, fmtTime(p.maturity)), h('td', {}, fmtTime(p.lien_end)), h('td', { 'data-field': 'max_lien_end' }, fmtTime(p.max_lien_end)),
      h('td', {}, party(p.holder_party, p.holder)))),
    { class: 'pledges' }) : h('p', { class: 'muted' }, 'No pledges over these logs yet.'));
  const live = pledges.filter((p) => p.status === 'live');
  const chosen = extensionControls.token_id.value;
  extensionControls.token_id.replaceChildren(...live.map((p) => h('option', { value: p.token_id },
    `#${p.token_id} · ${streamOf(p.log_id)} [${p.from}, ${p.to}) · lien end ${fmtTime(p.lien_end)}, max ${fmtTime(p.max_lien_end)}`)));
  if (live.some((p) => String(p.token_id) === chosen)) extensionControls.token_id.value = chosen;
}

async function renderExtensions(box) {
  const extensions = await api('GET', '/v1/pledges/extensions');
  extensions.sort((a, b) => b.extension_id - a.extension_id);
  box.replaceChildren(extensions.length ? table(['Id', 'Pledge', 'New lien end', 'Deadline', 'State', 'Nonce'],
    extensions.map((e) => h('tr', { 'data-extension': e.extension_id },
      h('td', {}, `#${e.extension_id}`), h('td', {}, `#${e.token_id}`), h('td', {}, fmtTime(e.extension.lien_end)),
      h('td', {}, fmtTime(e.extension.deadline)),
      h('td', {}, e.used ? badge('used', 'ok') : e.expired ? badge('expired', 'lapsed') : badge('not used yet', 'pending')),
      h('td', {}, short(e.extension.nonce, 6)))), { class: 'extensions' })
    : h('p', { class: 'muted' }, 'No extensions signed.'));
}

async function renderConsents(box) {
  const consents = await api('GET', '/v1/pledges/consents');
  consents.sort((a, b) => b.consent_id - a.consent_id);
  box.replaceChildren(consents.length ? table(['Id', 'Issued', 'Records', 'Lender', 'Principal', 'Deadline', 'Nonce'],
    consents.map(({ consent_id: id, token_id: token, lender_party: lender, consent: c }) => h('tr', { 'data-consent': id },
      h('td', {}, `#${id}`), h('td', {}, token ? badge(`pledge #${token}`, 'live') : badge('not issued', 'pending')),
      h('td', {}, `${c.stream} [${c.terms.from}, ${c.terms.to})`), h('td', {}, party(lender, c.terms.lender)),
      h('td', {}, fmtAmount(c.terms.principal, c.terms.currency)), h('td', {}, fmtTime(c.deadline)),
      h('td', {}, short(c.nonce, 6)))), { class: 'consents' })
    : h('p', { class: 'muted' }, 'No consents yet: prepare one below.'));
}

function refresh(box, render, what) {
  return render(box).catch((e) => box.replaceChildren(h('p', { class: 'error', role: 'alert' },
    `${what} could not be read: ${errorText(e)}`)));
}

// --- the consent form -------------------------------------------------------------------------

const form = $('consent-form');
const prepared = $('prepared');
const prepareButton = $('c-prepare');
const controls = {
  log_id: $('c-log'), from: $('c-from'), to: $('c-to'), lender: $('c-lender'), principal: $('c-principal'),
  currency: $('c-currency'), maturity: $('c-maturity'), lien_end: $('c-lien-end'), max_lien_end: $('c-max-lien-end'),
  deadline: $('c-deadline'), samples: $('c-samples'), loan_ref: $('c-loan-ref'),
};
// Which field an API detail is about, when the API names no field.
const HINTS = [
  [/range|index|beyond|covering|checkpoint/i, 'to'], [/max_lien_end|max lien end/i, 'max_lien_end'],
  [/lien_end|lien end/i, 'lien_end'],
  [/maturity/i, 'maturity'], [/deadline/i, 'deadline'], [/lender|address|party/i, 'lender'], [/currency/i, 'currency'],
  [/samples/i, 'samples'], [/log/i, 'log_id'],
];
let draft = null; // { terms, answer } of the prepared consent, or null

function terms() {
  const v = (name) => controls[name].value.trim();
  const int = (name) => (v(name) === '' || !/^-?\d+$/.test(v(name)) ? v(name) : Number(v(name)));
  const t = {
    log_id: v('log_id'), from: int('from'), to: int('to'), lender: v('lender'), principal: int('principal'),
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
form.addEventListener('input', invalidate);
form.addEventListener('change', invalidate);

/** A field of the typed data as readable text, with what it means where that helps. Integers
 * come as decimal strings (exact above 2^53); dates are small enough for Number. */
function explain(name, value) {
  const when = () => fmtTime(Number(value));
  const extra = {
    logId: () => streamOf(value),
    currency: () => new TextDecoder().decode(Uint8Array.from(value.slice(2).match(/../g) || [], (b) => parseInt(b, 16))),
    maturity: when, lienEnd: when, deadline: when,
    maxLienEnd: () => `${when()}: the lender may extend the lien up to then without asking you`,
    newLienEnd: () => `${when()}: the pledge's holder may move the lien end to this date, once`,
    tokenId: () => `pledge #${value}`,
    nonce: () => 'random, chosen for this draft: the one that gets signed',
    principal: () => 'minor units', loanRefDigest: () => `SHA-256 of "${draft?.terms.loan_ref ?? ''}"`,
  }[name];
  return extra ? extra() : null;
}

function fieldRows(types, values) {
  return types.map(({ name, type }) => {
    const note = explain(name, values[name]);
    return h('tr', { 'data-field': name },
      h('th', { scope: 'row' }, name), h('td', {}, h('code', {}, type)),
      h('td', { 'data-value': String(values[name]) }, h('code', {}, String(values[name])),
        note ? h('div', { class: 'muted' }, note) : null));
  });
}

function showPrepared(answer) {
  const td = answer.typed_data;
  const submit = h('button', { type: 'button', id: 'c-submit' }, 'Sign and submit');
  const result = h('div', { class: 'stack', 'aria-live': 'polite' });
  const external = h('div', { class: 'stack', hidden: true });
  const signature = h('input', { id: 'c-signature', autocomplete: 'off', spellcheck: 'false', placeholder: '0x… (65 bytes)' });
  const sendSignature = h('button', { type: 'button', id: 'c-send-signature' }, 'Submit signature');
  const walletSign = h('button', { type: 'button', id: 'c-wallet-sign' }, 'Sign with your browser wallet');
  external.append(
    h('p', {}, 'The service holds no key for this factory. Sign the typed data above with your own wallet '
      + '(eth_signTypedData_v4, from ', h('code', {}, config.address || 'your factory address'), ') and paste the signature.'),
    browserWallet() ? h('div', {}, walletSign)
      : h('p', { class: 'muted' }, 'No browser wallet (e.g. MetaMask) in this browser: sign elsewhere and paste below.'),
    h('div', {}, h('button', { type: 'button', class: 'secondary', onclick: () => download('consent-typed-data.json', td) },
      'Download the typed data')),
    h('label', { for: 'c-signature' }, 'Signature'), signature, h('div', {}, sendSignature));

  const done = async (out) => {
    draft = null;
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
        h('dt', {}, 'Deadline'), h('dd', {}, `${fmtTime(c.deadline)} (${c.deadline})`),
        h('dt', {}, 'Signature'), h('dd', {}, short(c.signature, 12))),
      changed.length ? h('p', { class: 'error', role: 'alert' }, `The signed terms differ from the prepared ones in: ${changed.join(', ')}`)
        : h('p', {}, 'The signed message is exactly the prepared one (every field, nonce and deadline included). '
          + 'The lender named can now issue the pledge.')));
    await refresh($('consents'), renderConsents, 'Consents');
  };

  submit.addEventListener('click', () => busy(submit, async () => {
    if (!draft) throw new Error('the form changed: prepare again');
    // The service signs the draft's own nonce and deadline: exactly the message shown above.
    const t = { ...draft.terms, deadline: String(answer.consent.deadline), nonce: String(answer.consent.nonce) };
    try {
      await done(await api('POST', '/v1/pledges/consents', { terms: t }));
    } catch (e) {
      if (e instanceof ApiError && e.problem.type?.endsWith('/not-custodial')) external.hidden = false;
      throw e;
    }
  }));
  walletSign.addEventListener('click', () => busy(walletSign, async () => {
    if (!draft) throw new Error('the form changed: prepare again');
    const account = await walletAccount(config.address, td.domain.chainId);
    const sig = await walletSignTypedData(account, td); // the wallet shows the same fields as the table above
    await done(await api('POST', '/v1/pledges/consents', { consent: { ...answer.consent, signature: sig } }));
  }));
  sendSignature.addEventListener('click', () => busy(sendSignature, async () => {
    if (!draft) throw new Error('the form changed: prepare again');
    const sig = signature.value.trim();
    if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) throw new Error('a signature is 0x and 130 hex digits (65 bytes)');
    await done(await api('POST', '/v1/pledges/consents', { consent: { ...answer.consent, signature: sig } }));
  }, signature));

  prepared.replaceChildren(
    h('h3', {}, 'What will be signed (EIP-712)'),
    h('p', {}, `Primary type `, h('code', {}, td.primaryType), `; ${answer.consent.stream}, records `
      + `[${answer.consent.terms.from}, ${answer.consent.terms.to}) of checkpoint ${answer.consent.terms.checkpoint_size}.`),
    h('h4', {}, 'Domain'),
    table(['Field', 'Type', 'Value'], fieldRows(td.types.EIP712Domain, td.domain), { class: 'typed domain' }),
    h('h4', {}, 'Message'),
    table(['Field', 'Type', 'Value'], fieldRows(td.types[td.primaryType], td.message), { class: 'typed message' }),
    h('details', {}, h('summary', {}, 'The raw typed data (JSON)'), h('pre', {}, JSON.stringify(td, null, 2))),
    h('div', {}, submit), external, result);
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  clearFormErrors();
  prepareButton.disabled = true;
  const t = terms();
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
});

// --- the extension form ------------------------------------------------------------------------

const extensionForm = $('extension-form');
const extensionPrepared = $('x-prepared');
const extensionPrepare = $('x-prepare');
const extensionControls = { token_id: $('x-token'), lien_end: $('x-lien-end'), deadline: $('x-deadline') };
const EXTENSION_HINTS = [[/deadline/i, 'deadline'], [/lien_end|lien end/i, 'lien_end'], [/pledge|factory|token/i, 'token_id']];
let extensionDraft = null; // the prepared extension's answer, or null

function discardExtension() {
  if (!extensionDraft) return;
  extensionDraft = null;
  extensionPrepared.replaceChildren(h('p', { class: 'notice', role: 'status' },
    'The form changed, so the prepared extension was discarded: prepare it again to see what will be signed.'));
}
extensionForm.addEventListener('input', discardExtension);
extensionForm.addEventListener('change', discardExtension);

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
      `Pledge #${e.token_id}'s holder may move its lien end to ${fmtTime(e.lien_end)} until ${fmtTime(e.deadline)}. `,
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
    const account = await walletAccount(config.address, td.domain.chainId);
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

extensionForm.addEventListener('submit', async (event) => {
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
});

function fillDefaults() {
  controls.log_id.replaceChildren(...logs.map((l) => h('option', { value: l.log_id }, `${l.stream} (${l.size} records)`)));
  const year = new Date().getUTCFullYear() + 1;
  if (!controls.currency.value) controls.currency.value = 'EUR';
  if (!controls.maturity.value) controls.maturity.value = `${year}-06-30`;
  if (!controls.lien_end.value) controls.lien_end.value = `${year}-12-31`;
}

// --- start ----------------------------------------------------------------------------------

async function start() {
  const logsBox = $('logs');
  try {
    logs = await api('GET', '/v1/logs');
  } catch (e) {
    logsBox.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Logs could not be read: ${errorText(e)}`));
    return;
  }
  logsBox.replaceChildren(...(logs.length ? logs.map(logCard)
    : [h('p', { class: 'muted' }, 'No logs yet: create one under "Add records".')]));
  fillDefaults();
  refresh($('activity'), renderActivity, 'Activity');
  refresh($('pledges'), renderPledges, 'Pledges');
  refresh($('consents'), renderConsents, 'Consents');
  refresh($('extensions'), renderExtensions, 'Extensions');
}

start();
// a log was created or records appended (factory_records.js): show the new sizes, roots, charts
document.addEventListener('dpl:logs-changed', () => start());
