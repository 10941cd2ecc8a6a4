// Factory page, "Access log": every read through the factory's grants, and every refused read, as
// the service's anchored access log has them (GET /v1/access-log, docs/ACCESS.md), newest first.
// "Verify" on an entry fetches its dpl-proof/1 (GET /v1/access-log/{index}/proof) and checks it in
// this browser: the entry's leaf and its inclusion under the checkpoint root (verify/merkle.js
// through verify/proof_bundle.js), then that root on chain through the JSON-RPC URL and the
// registry address the page shows (the service's pinned registry unless changed; never an address
// the proof names), as the other verifications of the pages do.
import { readConfig } from '../../config.js';
import { api, errorText } from '../../api.js';
import { badge, busy, clearError, focusOn, h, short, showError, table } from '../../dom.js';
import { fmtTime } from '../../format.js';
import { shown } from '../../verify/pyfmt.js';
import { isAddress } from '../../verify/collateral.js';
import { verifyProofBundleOnChain } from '../../verify/chain.js';
import { streamOf } from './state.js';

const $ = (id) => document.getElementById(id);
/** How many of the newest entries the page lists. */
const SHOWN = 200;

async function registryCode() {
  const r = await fetch('/web/registry-code.json');
  if (!r.ok) throw new Error(`the registry's expected code could not be loaded (HTTP ${r.status})`);
  return r.json();
}

/** The chain inputs, checked (an error next to its field), or a thrown Error. */
function trust() {
  const rpc = $('al-rpc'), registry = $('al-registry');
  [rpc, registry].forEach(clearError);
  const rpcUrl = rpc.value.trim(), address = registry.value.trim();
  if (!/^https?:\/\/\S+$/.test(rpcUrl)) { showError(rpc, new Error('an http(s) JSON-RPC URL is needed')); focusOn(rpc); return null; }
  if (!isAddress(address)) {
    showError(registry, new Error('the registry address to trust is needed (0x and 40 hex digits; EIP-55 if mixed case)'));
    focusOn(registry);
    return null;
  }
  return { rpcUrl, registry: address,
    registrySource: address.toLowerCase() === (readConfig().registry || '').toLowerCase()
      ? "the registry field (this service's pinned registry)" : 'the registry field (an address you typed)' };
}

/** An entry's records: an index range, or a count with the digest of the index list. */
function recordsText(r) {
  if (r && 'from' in r) return `[${r.from}, ${r.to})`;
  if (r && 'count' in r) return h('span', {}, `${r.count.toLocaleString('en')} records, indices `, short(r.indices_sha256, 6));
  return '—';
}

function fieldsText(fields) {
  const entries = Object.entries(fields || {});
  if (!entries.length) return h('span', { class: 'muted' }, 'none');
  return entries.map(([type, f]) => h('div', {}, h('code', {}, shown(type)), ': ', f === '*' ? 'every field' : [].concat(f).map(shown).join(', ')));
}

/** "Verify" of entry `e`: its proof checked here, the verdict and the checks beside it. */
function verifyCell(e) {
  const button = h('button', { type: 'button', class: 'secondary', id: `access-verify-${e.index}` }, 'Verify');
  const out = h('div', { 'data-testid': `access-verdict-${e.index}`, 'aria-live': 'polite' });
  button.addEventListener('click', () => busy(button, async () => {
    const given = trust();
    if (!given) return;
    out.replaceChildren(h('span', { class: 'muted' }, 'Checking…'));
    let r;
    try {
      const response = await api('GET', `/v1/access-log/${e.index}/proof`, undefined, { raw: true });
      const bytes = new Uint8Array(await response.arrayBuffer());
      r = await verifyProofBundleOnChain(bytes, { ...given, registryCode: await registryCode() });
    } catch (err) { // not anchored yet (409), the node down: said in words where the verdict goes
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Not checked: ${errorText(err)}`));
      return;
    }
    const failed = r.checks.filter((c) => !c.ok);
    out.replaceChildren(
      r.sound ? h('span', { class: 'badge ok', 'data-verdict': 'verified' }, 'verified')
        : h('span', { class: 'badge bad', 'data-verdict': 'failed' }, 'NOT verified'),
      ' ', h('span', {}, r.sound ? `in the log at size ${r.size}, root anchored on chain`
        : `${failed.map((c) => c.name).join(', ')}: ${shown(failed[0]?.detail || r.error || '')}`),
      h('details', {}, h('summary', {}, `${r.checks.length} checks`),
        h('ul', { class: 'checks compact' }, r.checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad', 'data-check': c.name },
          `${c.ok ? '✓' : '✗'} ${c.name} — `, shown(c.detail))))));
  }));
  return [button, out];
}

/** The factory's access log, newest entries first, in `box`. */
export async function renderAccessLog(box = $('access-log')) {
  const head = await api('GET', '/v1/access-log?limit=1');
  const start = Math.max(0, head.size - SHOWN);
  const page = head.size > 1 ? await api('GET', `/v1/access-log?start=${start}&limit=${SHOWN}`) : head;
  const entries = [...page.entries].sort((a, b) => b.index - a.index);
  if (!entries.length) {
    box.replaceChildren(h('p', { class: 'muted', 'data-testid': 'access-log-empty' }, 'No one has read through your grants yet.'));
    return page;
  }
  const rows = entries.map((e) => h('tr', { 'data-entry': e.index, 'data-outcome': e.outcome },
    h('td', {}, `#${e.index}`), h('td', {}, fmtTime(e.ts)),
    h('td', {}, h('b', {}, shown(e.party)), ` (${e.role})`, e.address ? [' ', short(e.address, 6)] : '',
      e.key_prefix ? h('div', { class: 'muted' }, `key ${shown(e.key_prefix)}…`) : ''),
    h('td', {}, e.grant_id === null ? '—' : `#${e.grant_id}`), h('td', {}, shown(streamOf(e.log_id))),
    h('td', {}, recordsText(e.records)), h('td', {}, fieldsText(e.fields)),
    h('td', { 'data-field': 'outcome' }, e.outcome === 'read' ? badge('read', 'ok') : badge('refused', 'bad'),
      e.reason ? h('div', {}, shown(e.reason)) : ''),
    h('td', { class: 'action' }, verifyCell(e))));
  box.replaceChildren(
    h('p', { class: 'muted' }, `${page.size.toLocaleString('en')} entries${page.size > SHOWN ? `, the newest ${SHOWN} listed` : ''}; `
      + 'access log ', short(page.access_log, 6), '.'),
    table(['Entry', 'When', 'Reader', 'Grant', 'Log', 'Records', 'Fields shown', 'Outcome', ''], rows, { class: 'access-log' }));
  return page;
}

/** Loads the access log, saying in words when it cannot be read. */
export function loadAccessLog() {
  const box = $('access-log');
  return renderAccessLog(box).catch((e) => box.replaceChildren(h('p', { class: 'error', role: 'alert' },
    `The access log could not be read: ${errorText(e)}`)));
}
