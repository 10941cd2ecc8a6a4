// Lender page, "Disclosures": the full disclosures naming this lender. Each opens the factory's
// production profile as a report (pages/profile_report.js: every figure "declared by the factory")
// and verifies it in this browser: the dpl-disclosure/1 is downloaded, its records and range proof
// checked (verify/disclosure.js, with a progress bar), the profile recomputed and compared figure by
// figure (verify/profile_verify.js, ledger/profile_verify.py's checks and words), then the
// checkpoint checked on chain through the lender's own JSON-RPC URL and the registry it trusts
// (verify/profile_chain.js, as `dpl profile verify --rpc` does; the service's pinned registry
// unless the lender changes it, never an address the files name). SOUND only if every check passes;
// the report then says "recomputed from N disclosed records", else it names each differing figure.
import { readConfig } from '../../config.js';
import { api, errorText } from '../../api.js';
import { badge, busy, clearError, focusOn, h, short, showError, table } from '../../dom.js';
import { fmtTime } from '../../format.js';
import { shown } from '../../verify/pyfmt.js';
import { isAddress } from '../../verify/collateral.js';
import { dumps } from '../../verify/profile_verify.js';
import { verifyProfileOnChain } from '../../verify/profile_chain.js';
import { profileReport } from '../profile_report.js';

const config = readConfig();
const $ = (id) => document.getElementById(id);
/** How many differing figures the table lists (the check's line names 20; the count is always given). */
const LISTED_DIFFERENCES = 500;

export async function registryCode() {
  const r = await fetch('/web/registry-code.json');
  if (!r.ok) throw new Error(`the registry's expected code could not be loaded (HTTP ${r.status})`);
  return r.json();
}

/** The chain inputs, checked (an error next to its field, the details opened), or null. */
export function trustInputs() {
  const rpc = $('d-rpc'), registry = $('d-registry'), factory = $('d-factory');
  [rpc, registry, factory].forEach(clearError);
  const fail = (el, text) => { $('d-chain').open = true; showError(el, new Error(text)); focusOn(el); return null; };
  const rpcUrl = rpc.value.trim();
  if (!/^https?:\/\/\S+$/.test(rpcUrl)) return fail(rpc, 'an http(s) JSON-RPC URL is needed');
  const address = registry.value.trim();
  if (!isAddress(address)) return fail(registry, 'the registry address to trust is needed (0x and 40 hex digits; EIP-55 if mixed case)');
  const expected = factory.value.trim();
  if (expected && !isAddress(expected)) return fail(factory, 'the expected factory must be an address (0x and 40 hex digits)');
  return { rpcUrl, registry: address, factory: expected || null,
    registrySource: address.toLowerCase() === (config.registry || '').toLowerCase()
      ? "the registry field (this service's pinned registry)" : 'the registry field (an address you typed)' };
}

function checksList(checks) {
  return h('ul', { class: 'checks', 'data-testid': 'profile-checks' }, checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad',
    'data-check': c.name, 'data-ok': String(c.ok) },
  h('span', { class: 'name' }, `${c.ok ? '✓' : '✗'} ${c.name}`), ' — ', h('span', { class: 'detail' }, shown(c.detail)))));
}

function differencesTable(differences) {
  if (!differences.length) return null;
  const value = (v) => h('code', {}, shown(dumps(v)));
  const rows = differences.slice(0, LISTED_DIFFERENCES).map(([figure, claimed, recomputed]) => h('tr', { 'data-figure': figure },
    h('td', {}, h('code', {}, shown(figure))), h('td', {}, value(claimed)), h('td', {}, value(recomputed))));
  return h('div', { class: 'differences', 'data-testid': 'differences' },
    h('h4', {}, `${differences.length} differing figure(s)${differences.length > LISTED_DIFFERENCES ? `, the first ${LISTED_DIFFERENCES} listed` : ''}`),
    table(['Figure', 'Declared by the factory', 'Recomputed from the records'], rows));
}

/** One disclosure: its terms, "Open report", then the report with "Verify in this browser". */
function disclosureCard(d) {
  const box = h('div', { class: 'report-box' });
  const open = h('button', { type: 'button', class: 'secondary', id: `open-report-${d.id}` }, 'Open report');
  const state = d.revoked_at ? badge(`revoked ${fmtTime(d.revoked_at)}`, 'lapsed') : badge('live', 'live');
  const card = h('article', { class: 'item disclosure', 'data-testid': `disclosure-${d.id}` },
    h('h3', {}, `Disclosure #${d.id} `, state),
    h('dl', { class: 'terms' },
      h('dt', {}, 'Log'), h('dd', {}, h('b', {}, shown(d.stream)), ' ', short(d.log_id, 6)),
      h('dt', {}, 'Records'), h('dd', {}, `[${d.range.from}, ${d.range.to}) · ${(d.range.to - d.range.from).toLocaleString('en')} records`),
      h('dt', {}, 'Checkpoint size'), h('dd', {}, d.checkpoint_size.toLocaleString('en')),
      h('dt', {}, 'Days at'), h('dd', {}, d.tz),
      h('dt', {}, 'Disclosed'), h('dd', {}, fmtTime(d.created_at))),
    d.revoked_at ? null : h('div', { class: 'buttons no-print' }, open),
    box);
  open.addEventListener('click', () => busy(open, async () => {
    const response = await api('GET', `/v1/disclosures/${d.id}/profile`, undefined, { raw: true });
    const bytes = new Uint8Array(await response.arrayBuffer());
    showReport(d, box, bytes);
    open.hidden = true;
  }));
  return card;
}

/** The whole body of `response` as bytes, telling `onBytes(received)` as chunks arrive. */
async function readAll(response, onBytes) {
  if (!response.body?.getReader) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onBytes(received);
  }
  const out = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.length; }
  return out;
}

/** The declared report, and the controls to verify and print it. */
function showReport(d, box, profileBytes) {
  const profile = JSON.parse(new TextDecoder().decode(profileBytes)); // for display; verified from the bytes
  const verifyBtn = h('button', { type: 'button', id: `verify-disclosure-${d.id}` }, 'Verify in this browser');
  const printBtn = h('button', { type: 'button', class: 'secondary', onclick: () => window.print() }, 'Print or save as PDF');
  const bar = h('progress', { max: 1, value: 0, 'aria-label': 'Records verified', 'data-testid': 'verify-progress' });
  const barText = h('span', { class: 'progress-text', 'data-testid': 'verify-progress-text' }, '');
  const progress = h('div', { class: 'verify-progress', hidden: true }, bar, barText);
  const result = h('div', { class: 'verify-result', 'aria-live': 'polite', 'data-testid': 'verify-result' });
  let report = profileReport(profile);
  box.replaceChildren(h('div', { class: 'buttons no-print' }, verifyBtn, printBtn), progress, result, report);
  verifyBtn.addEventListener('click', () => busy(verifyBtn, async () => {
    const trust = trustInputs();
    if (!trust) return;
    result.replaceChildren(h('p', { class: 'muted' }, 'Downloading the disclosed records…'));
    progress.hidden = false;
    bar.value = 0; bar.max = 1; barText.textContent = '0 %';
    const started = performance.now();
    const response = await api('GET', `/v1/disclosures/${d.id}/document`, undefined, { raw: true });
    bar.removeAttribute('value'); // indeterminate while the streamed document arrives (no length known)
    const doc = await readAll(response, (bytes) => {
      barText.textContent = `downloading the records: ${(bytes / 1e6).toFixed(1)} MB`;
    });
    const downloaded = performance.now();
    result.replaceChildren(h('p', { class: 'muted' }, `Checking ${(d.range.to - d.range.from).toLocaleString('en')} records…`));
    const verdict = await verifyProfileOnChain(profileBytes, doc, {
      ...trust, registryCode: await registryCode(),
      onProgress: ({ done, total }) => {
        bar.max = total; bar.value = done;
        barText.textContent = `${done.toLocaleString('en')} of ${total.toLocaleString('en')} records (${Math.floor((100 * done) / total)} %)`;
      },
    });
    const finished = performance.now();
    const { checks, sound } = verdict;
    const failed = checks.filter((c) => !c.ok);
    const records = d.range.to - d.range.from;
    const figures = checks.find((c) => c.name === 'figures');
    const provenance = sound ? { kind: 'recomputed', records }
      : figures && !figures.ok && verdict.differences.length
        ? { kind: 'differs', records, differences: verdict.differences.map(([figure, , recomputed]) => ({ figure, recomputed: dumps(recomputed) })) }
        : { kind: 'declared' };
    const ms = Math.round(finished - started);
    result.replaceChildren(
      sound ? h('p', { class: 'verdict ok', 'data-testid': 'profile-verdict' }, `SOUND — all ${checks.length} checks passed`)
        : h('p', { class: 'verdict bad', 'data-testid': 'profile-verdict' },
          `NOT SOUND — ${failed.map((c) => c.name).join(', ')}: ${shown(failed[0].detail)}`),
      h('p', { class: 'muted meta', 'data-testid': 'verify-time', 'data-ms': ms, 'data-records': records },
        `Checked in this browser against ${trust.rpcUrl}, trusting registry ${trust.registry}, in ${ms} ms `
        + `(download ${Math.round(downloaded - started)} ms; records, range proof, figures and chain ${Math.round(finished - downloaded)} ms).`),
      checksList(checks),
      differencesTable(verdict.differences) || '');
    const next = profileReport(profile, { provenance });
    report.replaceWith(next);
    report = next;
    focusOn(result.querySelector('.verdict'));
  }, result));
}

export async function loadDisclosures() {
  const box = $('disclosures');
  box.setAttribute('aria-busy', 'true');
  try {
    const list = await api('GET', '/v1/disclosures');
    const live = list.filter((x) => !x.revoked_at);
    box.replaceChildren(...(list.length === 0 ? [h('p', { class: 'muted', 'data-testid': 'no-disclosures' }, 'No factory has disclosed a range to you yet.')]
      : [...live.map(disclosureCard), ...(list.length > live.length
        ? [h('details', {}, h('summary', {}, `Revoked (${list.length - live.length})`), list.filter((x) => x.revoked_at).map(disclosureCard))] : [])]));
  } catch (e) {
    box.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not load: ', errorText(e)));
  }
  box.setAttribute('aria-busy', 'false');
}

export function wireDisclosures() {
  const reload = $('reload-disclosures');
  reload.addEventListener('click', async () => { reload.disabled = true; await loadDisclosures(); reload.disabled = false; });
  return loadDisclosures();
}
