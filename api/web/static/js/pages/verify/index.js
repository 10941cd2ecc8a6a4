// Verify collateral: load a bundle (fetched for a held pledge, dropped, chosen or pasted),
// then run every check in this browser against the chain at the RPC URL the user typed, through
// the registry in the registry field (the service's pinned registry unless the user changes it;
// never the address the bundle names).
import { readConfig } from '../../config.js';
import { api } from '../../api.js';
import { busy, clearError, download, focusOn, h, showError } from '../../dom.js';
import { parseJson, JsonInputError, isAddress, verifyCollateralOnChain, verifyProofBundleOnChain, shown, RpcClient, sha256, toHex } from '../../verify/index.js';
import { tilesChecks } from '../../verify/tiles.js';
import { rootAt } from '../../verify/chain.js';
import { buildReport, reportFileName } from './report.js';
import { plainVerdict, sampledRecords } from './summary.js';

const config = readConfig();

const $ = (id) => document.getElementById(id);
const state = { text: null, bundle: null, format: null, source: null, report: null };
const FORMATS = { 'dpl-collateral/1': 'collateral bundle', 'dpl-proof/1': 'proof bundle' };

/**
 * A bundle from `input`: the bytes of a file or of the service's answer (strict UTF-8, a byte-order
 * mark refused, as dpl reads a file), or pasted text. Read by ledger.jsonio's rules (verify/json.js):
 * a key twice, nesting deeper than 64, NaN or an integer of more than 4,300 digits is refused, in
 * jsonio's words. Text from the input is shown escaped (ledger.text.shown).
 */
function load(input, source) {
  const drop = $('drop');
  clearError(drop);
  state.bundle = null;
  state.format = null;
  $('verify').disabled = true;
  let bundle;
  try {
    bundle = parseJson(input);
  } catch (e) {
    if (!(e instanceof JsonInputError)) throw e;
    showError(drop, new Error(shown(`${source}: ${e.message}`)));
    $('loaded').textContent = 'No bundle loaded.';
    return;
  }
  const format = bundle && typeof bundle === 'object' ? bundle.format : undefined;
  if (!FORMATS[format]) {
    showError(drop, new Error(shown(`${source} is not a dpl-collateral/1 or dpl-proof/1 bundle (format: ${JSON.stringify(format ?? null)})`)));
    $('loaded').textContent = 'No bundle loaded.';
    return;
  }
  state.text = input; // verified from the text itself: exact integers, keys in their order
  state.bundle = bundle;
  state.format = format;
  state.source = source;
  const token = $('token');
  token.disabled = format !== 'dpl-collateral/1';
  if (format === 'dpl-collateral/1' && !token.value && bundle.token_id !== undefined) token.value = String(bundle.token_id);
  const n = Array.isArray(bundle.entries) ? bundle.entries.length : 0;
  $('loaded').replaceChildren(shown(`Loaded a ${FORMATS[format]} from ${source}: ${n} entr${n === 1 ? 'y' : 'ies'}.`));
  $('verify').disabled = false;
  $('result').replaceChildren(h('p', { class: 'muted' }, 'Press Verify.'));
}

async function readFile(file) {
  if (!file) return;
  if (file.size > 64 * 1024 * 1024) {
    showError($('drop'), new Error(`${file.name} is ${Math.round(file.size / 1048576)} MiB: too large for a bundle`));
    return;
  }
  load(new Uint8Array(await file.arrayBuffer()), file.name); // bytes: decoded as strict UTF-8 by the reader
}

async function registryCode() {
  const r = await fetch('/web/registry-code.json');
  if (!r.ok) throw new Error(`the registry's expected code could not be loaded (HTTP ${r.status})`);
  return r.json();
}

/** The sampled records, readable: one card each (index, id, time, type, then every data field). */
function recordsSection(bundle) {
  const records = sampledRecords(bundle);
  if (!records.length) return '';
  return h('section', { class: 'records', 'data-testid': 'records', 'aria-labelledby': 'records-h' },
    h('h3', { id: 'records-h' }, `The ${records.length} record${records.length === 1 ? '' : 's'} ${state.format === 'dpl-collateral/1' ? 'sampled' : 'proven'}`),
    h('div', { class: 'record-list' }, records.map((r) => h('article', { class: 'record', 'data-index': r.index },
      h('h4', {}, `#${r.index} `, h('code', {}, r.id)),
      h('p', { class: 'muted' }, `${r.type} · ${r.ts}`),
      h('dl', { class: 'terms' }, r.fields.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]))))));
}

function render(report, meta, kept, facts) {
  state.report = kept;
  const failed = report.checks.filter((c) => !c.ok);
  const verdict = report.sound
    ? h('p', { class: 'verdict ok', 'data-testid': 'verdict' }, `SOUND — all ${report.checks.length} checks passed`)
    : h('p', { class: 'verdict bad', 'data-testid': 'verdict' },
      `NOT SOUND — ${failed.length} of ${report.checks.length} checks failed`);
  const plain = plainVerdict(report, state.bundle, state.format, facts);
  const factory = report.checks.find((c) => c.name === 'factory');
  // Details quote the bundle and the chain: shown escaped (ledger.text.shown, as dpl prints them),
  // so no newline, bidi control or other invisible character can make a line look like another.
  const items = report.checks.map((c) => h('li', { class: c.ok ? 'ok' : 'bad', 'data-check': c.name, 'data-ok': String(c.ok) },
    h('span', { class: 'name' }, `${c.ok ? '✓' : '✗'} ${c.name}`), ' — ', h('span', { class: 'detail' }, shown(c.detail))));
  $('result').replaceChildren(
    verdict,
    h('div', { class: 'plain', 'data-testid': 'plain-verdict' },
      h('p', { 'data-testid': 'checked' }, h('b', {}, 'What was checked: '), plain.checked),
      h('p', { 'data-testid': 'meaning' }, h('b', {}, 'What it means for the loan: '), plain.meaning)),
    // whose data it is: the factory the registry names for the log (and its directory listing)
    factory ? h('p', { class: factory.ok ? 'factory' : 'factory bad', 'data-testid': 'factory' },
      h('b', {}, 'Factory: '), h('span', { class: 'detail' }, shown(factory.detail))) : '',
    h('p', { class: 'muted meta' }, meta),
    h('button', { type: 'button', class: 'secondary', 'data-testid': 'download-report',
      onclick: () => download(reportFileName(state.report), state.report) }, 'Download this report (JSON)'),
    recordsSection(state.bundle),
    h('h3', {}, 'Every check'),
    h('ul', { class: 'checks', 'data-testid': 'checks' }, items),
  );
}

/** The inputs, checked before anything is read; an error goes next to its own field, the focus with it. */
function inputs() {
  const given = readInputs();
  if (!given) focusOn(document.querySelector('#rpc[aria-invalid], #registry[aria-invalid], #factory[aria-invalid], #tiles[aria-invalid], #token[aria-invalid]'));
  return given;
}

function readInputs() {
  for (const id of ['rpc', 'token', 'registry', 'factory', 'tiles']) clearError($(id));
  const rpcUrl = $('rpc').value.trim();
  if (!/^https?:\/\/\S+$/.test(rpcUrl)) return showError($('rpc'), new Error('an http(s) JSON-RPC URL is needed')) && null;
  // The registry to trust, for both formats: the one the bundle names is never used.
  const registry = $('registry').value.trim();
  if (!isAddress(registry)) {
    return showError($('registry'), new Error('the registry address to trust is needed (0x and 40 hex digits; EIP-55 if mixed case)')) && null;
  }
  // The factory the lender expects (optional): a log of another factory is then not sound.
  const factory = $('factory').value.trim();
  if (factory && !isAddress(factory)) {
    return showError($('factory'), new Error('the expected factory must be an address (0x and 40 hex digits; EIP-55 if mixed case)')) && null;
  }
  // The log's published tiles (optional, a proof bundle): the proof is rebuilt from them too.
  const tiles = $('tiles').value.trim();
  if (tiles && !/^https?:\/\/\S+$/.test(tiles)) return showError($('tiles'), new Error('the tiles URL must be an http(s) URL')) && null;
  const vkey = $('vkey').value.trim() || null;
  if (state.format !== 'dpl-collateral/1') return { rpcUrl, registry, factory, tiles, vkey };
  const tokenId = $('token').value.trim();
  if (!/^[1-9][0-9]{0,19}$/.test(tokenId) || BigInt(tokenId) > 2n ** 64n - 1n) {
    return showError($('token'), new Error("the pledge's token id is needed: 1 to 2^64 - 1 (the registry counts in uint64)")) && null;
  }
  return { rpcUrl, tokenId: BigInt(tokenId), registry, factory };
}

async function verify() {
  const given = inputs();
  if (!given) return;
  $('result').replaceChildren(h('p', { class: 'muted' }, `Checking against ${given.rpcUrl}…`));
  const done = await busy($('verify'), async () => {
    const startedAt = new Date();
    const started = performance.now();
    // What the verdict rests on, for the kept report: the chain's id and its head just before and
    // just after the checks (the verifier reads at "latest"). Read through the verifier's own RPC
    // client; a node that does not answer leaves them null and the verifier says why.
    const node = new RpcClient(given.rpcUrl);
    const head = () => node.request('eth_getBlockByNumber', ['latest', false]).catch(() => null);
    const [chainId, headBefore] = await Promise.all([node.chainId().catch(() => null), head()]);
    const trust = { rpcUrl: given.rpcUrl, registry: given.registry, factory: given.factory, registryCode: await registryCode(),
      registrySource: given.registry.toLowerCase() === (config.registry || '').toLowerCase()
        ? "the registry field (this service's pinned registry)" : 'the registry field (an address you typed)' };
    let report = state.format === 'dpl-collateral/1'
      ? await verifyCollateralOnChain(state.text, given.tokenId, trust)
      : await verifyProofBundleOnChain(state.text, trust);
    if (given.tiles && report.sound) { // and from the log's published tiles (verify/tiles.js)
      const anchored = async (p) => { // the published checkpoint held to the trusted registry, as dpl verify --tiles --rpc
        if (chainId === null || BigInt(chainId) !== p.chainId) {
          return { ok: false, detail: `the published log is on chain ${p.chainId}, not on the chain of ${given.rpcUrl}` };
        }
        try {
          const held = await rootAt(node, given.registry, p.logId, p.checkpoint.size);
          const ok = held !== null && toHex(held) === toHex(p.checkpoint.root);
          return { ok, detail: ok ? `the trusted registry ${given.registry} holds root ${toHex(p.checkpoint.root)} at size ${p.checkpoint.size}`
            : `the trusted registry ${given.registry} does not hold the published root at size ${p.checkpoint.size}` };
        } catch (e) {
          return { ok: false, detail: `cannot read the trusted registry: ${e.message}` };
        }
      };
      const more = await tilesChecks(state.bundle, given.tiles, { vkey: given.vkey, anchored });
      report = { ...report, sound: more.every((c) => c.ok), checks: [...report.checks, ...more] };
    }
    const headAfter = await head();
    const bytes = typeof state.text === 'string' ? new TextEncoder().encode(state.text) : state.text;
    const kept = buildReport(report, {
      bundleFormat: state.format, source: state.source, bundleSha256: toHex(await sha256(bytes)),
      tokenId: state.format === 'dpl-collateral/1' ? given.tokenId : null, rpcUrl: given.rpcUrl, chainId,
      registry: given.registry, registrySource: trust.registrySource, factory: given.factory,
      startedAt, finishedAt: new Date(), headBefore, headAfter,
    });
    render(report, `Checked in this browser against ${given.rpcUrl}, trusting registry ${given.registry}`
      + `${given.factory ? `, expecting factory ${given.factory}` : ''}, in ${Math.round(performance.now() - started)} ms.`, kept,
    { tokenId: given.tokenId ?? null, rpcUrl: given.rpcUrl, registry: given.registry });
    return true;
  }, $('rpc'));
  if (!done) $('result').replaceChildren(h('p', { class: 'muted' }, 'Not verified: see the message next to the JSON-RPC URL.'));
}

function heldPledges() {
  const select = $('held');
  if (!select) return;
  const listed = (async () => {
    try {
      const pledges = await api('GET', '/v1/pledges');
      const wanted = new URLSearchParams(window.location.search).get('token');
      select.replaceChildren(...(pledges.length ? pledges.map((p) => h('option', { value: p.token_id, selected: String(p.token_id) === wanted },
        `#${p.token_id} — records [${p.from}, ${p.to}) — ${p.status}`)) : [h('option', { value: '' }, 'you hold no pledges')]));
    } catch (e) {
      showError(select, e);
    }
  })();
  // Wired at once (a click while the list loads waits for it, it is not lost).
  $('fetch').addEventListener('click', () => busy($('fetch'), async () => {
    await listed;
    const id = select.value;
    if (!id) throw new Error('choose a pledge first');
    const response = await api('GET', `/v1/pledges/${encodeURIComponent(id)}/bundle`, undefined, { raw: true });
    $('token').value = id;
    load(new Uint8Array(await response.arrayBuffer()), `the service (pledge #${id})`);
  }));
}

function wire() {
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); readFile(e.dataTransfer.files[0]); });
  $('file').addEventListener('change', (e) => readFile(e.target.files[0]));
  $('use-paste').addEventListener('click', () => load($('paste').value, 'the pasted text'));
  $('verify').addEventListener('click', verify);
  const wanted = new URLSearchParams(window.location.search).get('token');
  if (wanted && /^[0-9]+$/.test(wanted)) $('token').value = wanted;
  if (!$('registry').value && config.registry) $('registry').value = config.registry;
  heldPledges();
}

wire();
