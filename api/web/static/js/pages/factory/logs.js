// The factory's logs: size, root, each checkpoint's anchor timeline, "Anchor now", and (for a
// factory whose key the service does not hold) signing the newest checkpoint with a browser wallet.
import { readConfig } from '../../config.js';
import { api, ApiError, errorText } from '../../api.js';
import { badge, busy, copyable, h, loading, short, table, txLink } from '../../dom.js';
import { browserWallet, walletAccount, walletSignTypedData } from '../../wallet.js';

const STEPS = ['pending', 'included', 'final'];
const NEWEST_CHECKPOINTS = 5;


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

const HEADERS = ['Size', 'Root', 'Anchor', 'Transaction', 'Block'];
/** How often a log card re-reads its log and checkpoints (while the page is visible). */
const POLL_MS = 4000;

/** What a redraw would change: sizes and anchor states (so an unchanged table is left alone). */
const signature = (checkpoints) => JSON.stringify(checkpoints.map((c) => [c.size, c.root, c.anchor?.state ?? null,
  c.anchor?.tx_hash ?? null, c.anchor?.block_number ?? null]));

/** Draws `checkpoints` in `box` unless they are what it shows already; the older ones' fold stays as it was. */
function showCheckpoints(checkpoints, box) {
  const sig = signature(checkpoints);
  if (box.dataset.shown === sig) return;
  box.dataset.shown = sig;
  const open = box.querySelector('details')?.open ?? false;
  checkpoints.sort((x, y) => y.size - x.size);
  const newest = checkpoints.slice(0, NEWEST_CHECKPOINTS).map(checkpointRow);
  const older = checkpoints.slice(NEWEST_CHECKPOINTS).map(checkpointRow);
  box.replaceChildren(...[
    checkpoints.length ? table(HEADERS, newest, { class: 'checkpoints' })
      : h('p', { class: 'muted' }, 'No checkpoint yet: append records, then anchor.'),
    older.length ? h('details', { open }, h('summary', {}, `${older.length} older checkpoints`), table(HEADERS, older)) : null,
  ].filter(Boolean));
}

async function renderCheckpoints(log, box) {
  showCheckpoints(await api('GET', `/v1/logs/${log.log_id}/checkpoints`), box);
}

/**
 * Keeps `card` current without a reload: every POLL_MS while the page is visible, the log's size
 * and root and its checkpoints' anchor states (pending → included → final, new checkpoints) are
 * read again. Stops when the card leaves the page (start() draws new cards).
 */
function watch(log, card, timeline) {
  const tick = async () => {
    if (!card.isConnected) return;
    if (document.visibilityState === 'visible') {
      try {
        const [now, checkpoints] = await Promise.all([api('GET', `/v1/logs/${log.log_id}`),
          api('GET', `/v1/logs/${log.log_id}/checkpoints`)]);
        card.querySelector('[data-testid=size]').textContent = String(now.size);
        card.querySelector('[data-testid=root] code').textContent = now.root;
        showCheckpoints(checkpoints, timeline);
      } catch { /* the service did not answer this time: the next tick asks again */ }
    }
    setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS);
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

/** The card of `log`: its facts, anchor controls and checkpoints. */
export function logCard(log) {
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
      h('dt', {}, 'Log id'), h('dd', {}, copyable(log.log_id, `the log id of ${log.stream}`)),
      h('dt', {}, 'Size'), h('dd', { 'data-testid': 'size' }, String(log.size)),
      h('dt', {}, 'Root'), h('dd', { 'data-testid': 'root' }, h('code', {}, log.root))),
    h('div', { class: 'row' }, h('div', {}, anchor), readConfig().custodial ? null : walletSigning(log, notice, timeline)), notice,
    timeline);
  renderCheckpoints(log, timeline).catch((e) => timeline.replaceChildren(h('p', { class: 'error', role: 'alert' },
    `Checkpoints could not be read: ${errorText(e)}`)));
  watch(log, card, timeline);
  return card;
}
