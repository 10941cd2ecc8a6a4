// Auditor page: every log's checkpoints checked against the registry from this browser
// (eth_call rootAt at a JSON-RPC URL the auditor chooses), the service's latest audit and a
// run of a new one with its progress streamed (NDJSON), every pledge, read-only, with the counts of
// its covenant warnings by state (an auditor sees counts, not the warnings), and the production
// profile of a range of any log (auditor_profile.js).
import { readConfig } from '../config.js';
import { api, ApiError, errorText } from '../api.js';
import { addressOf, badge, clearError, copyable, download, focusOn, h, short, showError, table, txLink } from '../dom.js';
import { fmtAmount, fmtDate, fmtTime } from '../format.js';
import { RpcClient, RpcError } from '../verify/rpc.js';
import { rootAt } from '../verify/chain.js';
import { fromHex, toHex } from '../verify/hex.js';
import { offerLogs, wireProfile } from './auditor_profile.js';
import { renderAccessCounts } from './auditor_access.js';
import { STATES } from './warnings.js';

const config = readConfig();

const ZERO32 = '0x' + '0'.repeat(64);
const PARALLEL = 6;

const logsEl = document.getElementById('logs');
const summaryEl = document.getElementById('check-summary');
const rpcInput = document.getElementById('rpc');
const checkBtn = document.getElementById('check');
const reportEl = document.getElementById('report');
const runBtn = document.getElementById('run');
const downloadBtn = document.getElementById('download');
const progressBox = document.getElementById('progress-box');
const progressBar = document.getElementById('progress');
const progressText = document.getElementById('progress-text');
const pledgesEl = document.getElementById('pledges');

/** [{log, checkpoints, cells: Map(size -> td)}] once loaded. */
let logs = [];
let latest = null;

// --- chain reads: the verifier's own JSON-RPC client and rootAt (verify/rpc.js, verify/chain.js),
// so the node's answers are read by one set of rules (ledger.jsonio's) on every page -----------

/** The verifier's client for `url`; no cookie of this service goes to the node. */
function node(url) {
  return new RpcClient(url, { fetch: (u, init) => fetch(u, { ...init, credentials: 'omit' }) });
}

/** The root anchored for (logId, size); 0x00… when none was (the registry keeps no per-checkpoint time:
 * the anchor column shows the block the service recorded). */
async function anchoredRoot(client, logId, size) {
  let got;
  try {
    got = await rootAt(client, config.registry, fromHex(logId), BigInt(size));
  } catch (e) {
    // an answer too short for a bytes32: most often no contract at that address
    if (e instanceof RpcError && e.code === undefined && /^the call returned/.test(e.message)) {
      throw new RpcError(`${e.message}: is ${config.registry} the registry on this chain?`, { url: client.url });
    }
    throw e;
  }
  if (!got) return { root: ZERO32 }; // beyond uint64: no registry holds it
  return { root: toHex(got) };
}

/** After an action of `button`: the keyboard focus back on it, when disabling it lost the focus. */
function keepFocus(button) {
  if (!document.activeElement || document.activeElement === document.body) focusOn(button);
}

/** Runs `work` over `items`, at most PARALLEL at a time. */
async function pool(items, work) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(PARALLEL, items.length) }, async () => {
    while (next < items.length) { const i = next++; await work(items[i]); }
  });
  await Promise.all(lanes);
}

// --- checkpoints ---------------------------------------------------------------------------

function anchorCell(a) {
  if (!a) return h('span', { class: 'muted' }, 'not anchored');
  return h('span', {}, badge(a.state), ' ', txLink(a.tx_hash), a.block_number ? ` block ${a.block_number}` : '');
}

function renderLogs() {
  if (!logs.length) {
    logsEl.replaceChildren(h('p', { class: 'muted', 'data-testid': 'no-logs' }, 'No logs yet.'));
    return;
  }
  logsEl.replaceChildren(...logs.map((entry) => {
    const { log, checkpoints } = entry;
    entry.cells = new Map();
    const rows = checkpoints.map((c) => {
      const cell = h('td', { 'data-testid': 'onchain' }, h('span', { class: 'muted' }, c.anchor ? 'not checked' : ''));
      if (!c.anchor) cell.replaceChildren(badge('pending'), ' not anchored yet');
      entry.cells.set(c.size, cell);
      return h('tr', { 'data-size': c.size }, h('td', {}, c.size.toLocaleString('en')), h('td', {}, short(c.root)),
        h('td', {}, anchorCell(c.anchor)), cell);
    });
    return h('div', { class: 'log-check', 'data-testid': `log-${log.stream}` },
      h('h3', {}, log.stream, ' ', copyable(log.log_id, `the log id of ${log.stream}`, 6)),
      h('p', { class: 'muted' }, `${log.size.toLocaleString('en')} records · ${checkpoints.length} checkpoint${checkpoints.length === 1 ? '' : 's'} · factory `, short(log.factory)),
      checkpoints.length ? table(['Size', 'Root (service)', 'Anchor', 'On chain'], rows, { class: 'nowrap' })
        : h('p', { class: 'muted' }, 'No checkpoints yet.'));
  }));
}

function verdict(c, onChain) {
  if (onChain.root === ZERO32) {
    return c.anchor.state === 'pending'
      ? [badge('pending'), ' anchor sent, not on chain yet']
      : [badge('missing'), ' no root anchored at this size'];
  }
  if (onChain.root === c.root.toLowerCase()) return [badge('match')];
  return [badge('mismatch'), h('div', { class: 'root-pair' },
    h('div', {}, 'service ', h('code', {}, c.root)), h('div', {}, 'chain ', h('code', {}, onChain.root)))];
}

function renderSummary(counts, url) {
  summaryEl.replaceChildren(
    ...['match', 'mismatch', 'missing', 'pending'].map((kind) =>
      h('span', { 'data-testid': `count-${kind}` }, badge(`${counts[kind]} ${kind}`, kind))),
    h('span', { class: 'muted' }, `at ${url}, ${fmtTime(Math.floor(Date.now() / 1000))}`));
}

async function check() {
  clearError(checkBtn);
  const url = rpcInput.value.trim();
  if (!url) { showError(checkBtn, new Error('Enter a JSON-RPC URL.')); return; }
  if (!config.registry) { showError(checkBtn, new Error('The service names no registry (its chain is not reachable).')); return; }
  checkBtn.disabled = true;
  summaryEl.replaceChildren(h('span', { class: 'muted' }, 'Checking…'));
  try {
    const client = node(url);
    const chainId = Number(await client.chainId());
    if (config.chainId && chainId !== config.chainId) {
      throw new Error(`${url} serves chain ${chainId}; the service anchors on chain ${config.chainId}.`);
    }
    const counts = { match: 0, mismatch: 0, missing: 0, pending: 0 };
    const work = [];
    for (const entry of logs) {
      for (const c of entry.checkpoints) {
        if (c.anchor) work.push([entry, c]);
        else counts.pending += 1;
      }
    }
    for (const [entry, c] of work) entry.cells.get(c.size).replaceChildren(h('span', { class: 'muted' }, 'checking…'));
    let failure = null;
    await pool(work, async ([entry, c]) => {
      const cell = entry.cells.get(c.size);
      try {
        const parts = verdict(c, await anchoredRoot(client, entry.log.log_id, c.size));
        counts[parts[0].textContent] += 1;
        cell.replaceChildren(...parts);
      } catch (e) {
        failure ??= e;
        cell.replaceChildren(h('span', { class: 'muted' }, 'not checked'));
      }
    });
    if (failure) throw failure;
    renderSummary(counts, url);
  } catch (e) {
    summaryEl.replaceChildren();
    showError(checkBtn, e);
  } finally {
    checkBtn.disabled = false;
    keepFocus(checkBtn);
  }
}

async function loadLogs() {
  try {
    const list = await api('GET', '/v1/logs');
    logs = await Promise.all(list.map(async (log) => ({
      log, checkpoints: log.log_id ? await api('GET', `/v1/logs/${log.log_id}/checkpoints`) : [],
    })));
    renderLogs();
    offerLogs(list);
    api('GET', '/v1/factories').catch(() => [])
      .then((listed) => renderAccessCounts(list, new Map(listed.filter((f) => f.name).map((f) => [f.address.toLowerCase(), f.name]))));
  } catch (e) {
    logsEl.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not load the logs: ', errorText(e)));
  } finally {
    logsEl.setAttribute('aria-busy', 'false');
  }
}

// --- audit ---------------------------------------------------------------------------------

function renderReport(r) {
  latest = r;
  downloadBtn.disabled = !r;
  if (!r) {
    reportEl.replaceChildren(h('p', { class: 'muted', 'data-testid': 'no-report' }, 'No audit has run yet: run one.'));
    return;
  }
  const n = r.findings?.length || 0;
  reportEl.replaceChildren(...[
    h('p', { class: `verdict ${r.clean ? 'ok' : 'bad'}`, 'data-testid': 'verdict' },
      r.clean ? 'Clean: no findings' : `${n} finding${n === 1 ? '' : 's'}`),
    h('dl', { class: 'terms' },
      [['Ran at', fmtTime(r.ran_at)], ['Logs', r.logs], ['Records', r.records?.toLocaleString('en')],
        ['Anchor events', r.anchor_events], ['Pledges', r.pledges], ['Chain', r.chain_id],
        ['Registry', short(r.registry)]].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')])),
    n ? h('ul', { class: 'checks', 'data-testid': 'findings' }, r.findings.map((f) => h('li', { class: 'bad' }, f))) : []].flat());
}

async function loadReport() {
  try {
    renderReport(await api('GET', '/v1/audit/latest'));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) renderReport(null);
    else reportEl.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not load the latest report: ', errorText(e)));
  } finally {
    reportEl.setAttribute('aria-busy', 'false');
  }
}

function progress({ records, total }) {
  progressBar.max = Math.max(total, 1);
  progressBar.value = Math.min(records, total);
  progressText.textContent = `${records.toLocaleString('en')} / ${total.toLocaleString('en')} records`;
}

/** Calls `onLine` with each JSON line of an NDJSON response body as it arrives. */
async function readNdjson(response, onLine) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, at).trim();
      buffer = buffer.slice(at + 1);
      if (line) onLine(JSON.parse(line));
    }
    if (done) break;
  }
  if (buffer.trim()) onLine(JSON.parse(buffer));
}

async function runAudit() {
  clearError(runBtn);
  runBtn.disabled = true;
  progressBox.hidden = false;
  progressBar.removeAttribute('value'); // indeterminate until the first line
  progressText.textContent = 'starting…';
  try {
    const response = await api('POST', '/v1/audit', undefined, { headers: { Accept: 'application/x-ndjson' }, raw: true });
    let report = null;
    let failure = null;
    await readNdjson(response, (line) => {
      if (line.progress) progress(line.progress);
      else if (line.report) report = line.report;
      else if (line.error) failure = line.error;
    });
    if (failure) throw new Error(`The audit failed: ${failure.title}${failure.detail ? ': ' + failure.detail : ''}`);
    if (!report) throw new Error('The audit ended without a report.');
    try {
      renderReport(await api('GET', '/v1/audit/latest')); // the kept report, with when it ran
    } catch {
      renderReport({ ...report, ran_at: new Date().toISOString() });
    }
  } catch (e) {
    showError(runBtn, e);
  } finally {
    runBtn.disabled = false;
    keepFocus(runBtn);
  }
}

// --- pledges -------------------------------------------------------------------------------

/** The counts of a pledge's covenant warnings by state (GET /v1/pledges/{token}/warnings), into `cell`. */
async function warningCounts(token, cell) {
  try {
    const { counts } = await api('GET', `/v1/pledges/${token}/warnings`);
    cell.replaceChildren(...STATES.flatMap((s, i) => [i ? ' ' : '',
      h('span', { class: `badge ${counts[s] ? `warning-${s}` : 'todo'}`, 'data-state': s }, `${counts[s]} ${s}`)]));
  } catch (e) {
    cell.replaceChildren(h('span', { class: 'error' }, `not read: ${errorText(e)}`));
  }
}

async function loadPledges() {
  try {
    const [pledges, listed] = await Promise.all([api('GET', '/v1/pledges'),
      api('GET', '/v1/factories').catch(() => [])]); // without the directory, addresses stay unnamed
    const names = new Map(listed.filter((f) => f.listed && f.name).map((f) => [f.address.toLowerCase(), f.name]));
    const streams = new Map(logs.map((e) => [String(e.log.log_id).toLowerCase(), e.log.stream]));
    if (!pledges.length) {
      pledgesEl.replaceChildren(h('p', { class: 'muted', 'data-testid': 'no-pledges' }, 'No pledges yet.'));
      return;
    }
    const cells = new Map(pledges.map((p) => [p.token_id, h('td', { 'data-testid': `warning-counts-${p.token_id}` },
      h('span', { class: 'muted' }, 'reading…'))]));
    pledgesEl.replaceChildren(table(
      ['Token', 'Status', 'Log', 'Records', 'Principal', 'Maturity', 'Lien end', 'Holder', 'Factory', 'Warnings', ''],
      pledges.map((p) => h('tr', { 'data-testid': `pledge-${p.token_id}` },
        h('td', {}, `#${p.token_id}`), h('td', {}, badge(p.status)),
        h('td', {}, streams.get(p.log_id.toLowerCase()) || short(p.log_id, 6)),
        h('td', {}, `[${p.from}, ${p.to})`), h('td', {}, fmtAmount(p.principal, p.currency)),
        h('td', {}, fmtDate(p.maturity)), h('td', {}, fmtDate(p.lien_end)),
        h('td', {}, addressOf(p.holder, { what: `the holder of pledge #${p.token_id}` })),
        h('td', {}, addressOf(p.factory, { name: names.get(String(p.factory).toLowerCase()), what: `the factory of pledge #${p.token_id}` })),
        cells.get(p.token_id),
        h('td', {}, h('a', { href: `/verify?token=${p.token_id}` }, 'Verify')))), { class: 'nowrap' }));
    await pool(pledges, (p) => warningCounts(p.token_id, cells.get(p.token_id)));
  } catch (e) {
    pledgesEl.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not load the pledges: ', errorText(e)));
  } finally {
    pledgesEl.setAttribute('aria-busy', 'false');
  }
}

// --- wiring --------------------------------------------------------------------------------

document.getElementById('check-form').addEventListener('submit', (ev) => { ev.preventDefault(); check(); });
runBtn.addEventListener('click', runAudit);
downloadBtn.addEventListener('click', () => {
  if (latest) download(`dpl-audit-${String(latest.ran_at || 'latest').replace(/[^0-9A-Za-z-]/g, '')}.json`, latest);
});
if (!rpcInput.value) rpcInput.value = config.rpcUrl || '';
wireProfile();

(async () => {
  await Promise.all([loadLogs(), loadReport()]);
  await loadPledges();
  if (rpcInput.value && config.registry && logs.length) await check();
  document.body.dataset.loaded = 'true';
})();
