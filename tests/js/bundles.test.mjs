// Collateral bundles (a fixture built by the Python code, tests/web/test_js_verifier.py): sound as
// built; each tamper fails its named check; and the same against a mock JSON-RPC node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyCollateral, verifyCollateralOnChain, verifyProofBundleOnChain, verifyBundle, RpcError, toHex, fromHex,
  keccak256, nodeHash, toChecksumAddress } from '../../api/web/static/js/verify/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIX = JSON.parse(readFileSync(join(HERE, 'fixtures', 'collateral-v1.json'), 'utf8'));
const ARTIFACT = JSON.parse(readFileSync(join(HERE, '..', '..', 'ledger', 'chain', 'artifacts', 'DataPledgeRegistry.json'), 'utf8'));
const CODE = { deployedBytecode: ARTIFACT.deployedBytecode, immutableReferences: ARTIFACT.immutableReferences };
const opts = { terms: FIX.terms, anchoredRoot: FIX.anchored_root, issueBlockHash: FIX.issue_block_hash };
const failed = (r) => r.checks.filter((c) => !c.ok).map((c) => c.name);
const edit = (fn) => { const b = structuredClone(FIX.bundle); fn(b); return JSON.stringify(b); };

test('the fixture bundle is sound, checks in Python\'s order', async () => {
  const r = await verifyCollateral(JSON.stringify(FIX.bundle), opts);
  assert.equal(r.sound, true, JSON.stringify(failed(r)));
  const names = ['format', 'manifest digest', 'manifest terms', 'covenants', 'anchored root', 'seed', 'sample indices'];
  for (const e of FIX.bundle.entries) names.push(`entry ${e.index}: leaf hash`, `entry ${e.index}: inclusion`, `entry ${e.index}: agrees with manifest`);
  assert.deepEqual(r.checks.map((c) => c.name), names);
  assert.ok(r.checks.every((c) => c.detail));
});

test('each tamper fails its named check', async () => {
  const e0 = FIX.bundle.entries[0].index;
  const cases = [
    [edit((b) => { b.manifest.records += 1; }), ['format']],
    [edit((b) => { b.manifest.stream = 'other'; }), ['manifest digest']],
    [edit((b) => { b.seed = '0x' + '00'.repeat(32); }), ['seed']],
    [edit((b) => { b.entries.reverse(); }), ['sample indices']],
    [edit((b) => { b.entries[0].salt = '0x' + '11'.repeat(32); }), [`entry ${e0}: leaf hash`]],
    [edit((b) => { b.entries[0].proof[0] = '0x' + '11'.repeat(32); }), [`entry ${e0}: inclusion`]],
    [edit((b) => { b.entries[0].record.type = 'erp.other'; }), [`entry ${e0}: leaf hash`, `entry ${e0}: agrees with manifest`]],
    [edit((b) => { b.token_id = 7.5; }), ['format']],
    [JSON.stringify(FIX.bundle).replace('"token_id":7', '"token_id":7.0'), ['format']],
  ];
  for (const [text, want] of cases) assert.deepEqual(failed(await verifyCollateral(text, opts)), want, text.slice(0, 80));
  assert.deepEqual(failed(await verifyCollateral(JSON.stringify(FIX.bundle), { ...opts, anchoredRoot: null })), ['anchored root']);
  assert.deepEqual(failed(await verifyCollateral(JSON.stringify(FIX.bundle), { ...opts, issueBlockHash: null })), ['seed', 'sample indices']);
  // An object from JSON.parse with an integer it may have rounded: said, not silently judged.
  const r = await verifyCollateral({ ...FIX.bundle, token_id: 2 ** 60 }, opts);
  assert.deepEqual(failed(r), ['format']);
  assert.match(r.checks[0].detail, /JSON\.parse may have rounded/);
});

// --- a mock node --------------------------------------------------------------------------

const REGISTRY = FIX.bundle.registry;
const sel = (sig) => toHex(keccak256(new TextEncoder().encode(sig)).slice(0, 4));
const w = (x) => BigInt(x).toString(16).padStart(64, '0');
const hx = (h) => h.slice(2).padEnd(64, '0');

export const FACTORY = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

/** ABI (string, bytes32): head (offset, digest), then the string's length and padded bytes. */
function listingWords(name) {
  if (name === null) return w(64) + w(0) + w(0);
  const bytes = new TextEncoder().encode(name);
  return w(64) + '01'.repeat(32) + w(bytes.length) + Buffer.from(bytes).toString('hex').padEnd(Math.ceil(bytes.length / 32) * 64, '0');
}

function pledgeWords({ status = 1, covenantsDigest = '0x' + '00'.repeat(32) } = {}) {
  const t = FIX.terms;
  return [hx(t.logId), w(t.start), w(t.end), w(t.checkpointSize), hx(t.assetDigest), w(1000), hx('0x455552'), w(2e9), w(3e9),
    w(3e9), w(t.samples), w(0), w('0x' + '42'.repeat(20)), hx(covenantsDigest), w(status), w('0x' + '11'.repeat(20)),
    w(t.issueBlock)].join('');
}

/** A JSON-RPC node answering what the verifiers ask (state overrides: code, status, root, factory, listing, receipts, raw,
 * noBlocks: the node has no block). */
export async function withNode(state, fn) {
  const code = fromHex(ARTIFACT.deployedBytecode);
  for (const refs of Object.values(ARTIFACT.immutableReferences)) for (const { start, length } of refs) code.fill(0xab, start, start + length);
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const { id, method, params } = JSON.parse(body);
      const reply = (result) => res.end(JSON.stringify({ jsonrpc: '2.0', id, result }));
      if (method === 'eth_chainId') return reply('0x7a69');
      if (method === 'eth_getCode') return reply(state.code ?? toHex(code));
      if (method === 'eth_getBlockByNumber') {
        return reply(state.noBlocks ? null : { hash: FIX.issue_block_hash, number: params[0], timestamp: '0x6553f100' });
      }
      if (method === 'eth_getTransactionReceipt') return reply((state.receipts || {})[params[0]] ?? null);
      if (method === 'eth_call') {
        const data = params[0].data;
        if (state.raw && data.startsWith(sel(state.raw.sig))) return reply(state.raw.answer);
        if (data.startsWith(sel('factoryOf(bytes32)'))) return reply('0x' + w(state.factory ?? FACTORY));
        if (data.startsWith(sel('factoryListing(address)'))) {
          return reply('0x' + listingWords(state.listing === undefined ? 'ACME Precision Co.' : state.listing));
        }
        if (data.startsWith(sel('pledge(uint256)'))) return reply('0x' + pledgeWords(state));
        if (data.startsWith(sel('rootAt(bytes32,uint64)'))) return reply('0x' + hx(state.root ?? FIX.anchored_root));
        if (data.startsWith(sel('ownerOf(uint256)'))) return reply('0x' + w('0x' + '42'.repeat(20)));
      }
      res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: `no ${method}` } }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try { return await fn(`http://127.0.0.1:${server.address().port}`); } finally { server.close(); }
}

test('on chain: the registry code, the pledge, whose log it is, then the pure checks', async () => {
  const trust = { registryCode: CODE, registry: REGISTRY };
  await withNode({}, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.equal(r.sound, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.deepEqual(r.checks.slice(0, 5).map((c) => c.name),
      ['registry', 'bundle names this pledge', 'pledge holds its lien', 'factory', 'format']);
    assert.equal(r.checks[3].detail, `factory ${FACTORY} (registered as ACME Precision Co.); log ${FIX.terms.logId} is its stream 'line-a/telemetry'`);
    const other = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 8, { rpcUrl, ...trust });
    assert.deepEqual(failed(other).slice(0, 1), ['bundle names this pledge']);
    // the registry in lower case is the same registry
    const lower = await verifyCollateralOnChain(JSON.stringify({ ...FIX.bundle, registry: FIX.bundle.registry.toLowerCase() }), 7,
      { rpcUrl, ...trust });
    assert.equal(lower.sound, true, JSON.stringify(failed(lower)));
    // no registry given: nothing is trusted, the bundle's own address is never used
    const none = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, registryCode: CODE });
    assert.deepEqual(none.checks.map((c) => [c.name, c.ok]), [['registry', false]]);
    assert.match(none.checks[0].detail, /^no trusted registry for chain 31337/);
    // a bundle that names another registry than the trusted one
    const elsewhere = await verifyCollateralOnChain(JSON.stringify({ ...FIX.bundle, registry: '0x' + '12'.repeat(20) }), 7, { rpcUrl, ...trust });
    assert.deepEqual(failed(elsewhere), ['bundle names this pledge']);
  });
  await withNode({ listing: null }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.equal(r.checks[3].detail.split(';')[0], `factory ${FACTORY} (not in the directory)`);
  });
  await withNode({ factory: '0x' + '42'.repeat(20) }, async (rpcUrl) => {  // the log is another factory's stream
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.deepEqual(failed(r), ['factory']);
    assert.match(r.checks[3].detail, /the bundle's stream is not this log's$/);
  });
  await withNode({ status: 2 }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.deepEqual(failed(r), ['pledge holds its lien']);
  });
  await withNode({ status: 0 }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.deepEqual(failed(r), ['pledge']);
  });
  await withNode({ code: ARTIFACT.deployedBytecode.slice(0, -2) + '00' }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), [['registry', false]]);
  });
  await withNode({ root: '0x' + '01'.repeat(32) }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust, registry: REGISTRY.toLowerCase() });
    assert.ok(failed(r).includes('anchored root'));
  });
});

const TX = '0x' + '01'.repeat(32);
export const PROOF = { format: 'dpl-proof/1', log_id: FIX.terms.logId, stream: 'line-a/telemetry',
  checkpoint: { size: FIX.terms.checkpointSize, root: FIX.anchored_root },
  anchor: { chain_id: 31337, registry: REGISTRY, tx_hash: TX, block_number: 12 }, entries: FIX.bundle.entries };

/** The receipt of the transaction that anchored PROOF's checkpoint (as anvil answers it). */
function anchorReceipt({ to = REGISTRY, status = '0x1', block = '0xc', size = FIX.terms.checkpointSize, emitter = REGISTRY } = {}) {
  const topic0 = toHex(keccak256(new TextEncoder().encode('CheckpointAnchored(bytes32,uint64,bytes32,uint64)')));
  return { transactionHash: TX, status, to: to && to.toLowerCase(), blockNumber: block, logs: [
    { address: emitter.toLowerCase(), topics: [topic0, FIX.terms.logId], data: '0x' + w(size) + hx(FIX.anchored_root) + w(0) }] };
}

test('a dpl-proof/1 bundle against the trusted registry, its factory and its anchor transaction', async () => {
  const trust = { registryCode: CODE, registry: REGISTRY };
  assert.equal((await verifyBundle(JSON.stringify(PROOF))).sound, true);
  const run = (state, doc = PROOF, opts = trust) => withNode(state, (rpcUrl) => verifyProofBundleOnChain(JSON.stringify(doc), { rpcUrl, ...opts }));
  const good = await run({ receipts: { [TX]: anchorReceipt() } });
  assert.equal(good.sound, true, good.error);
  assert.deepEqual(good.checks.slice(-5).map((c) => c.name), ['registry', 'bundle names this registry', 'factory', 'anchor', 'anchor transaction']);
  // when: the timestamp of the block holding the CheckpointAnchored (1700000000), not a time the registry stores
  assert.equal(good.checks.at(-1).detail, `transaction ${TX} in block 12 at 2023-11-14T22:13:20+00:00 anchored this checkpoint`);
  const blockless = await run({ receipts: { [TX]: anchorReceipt() }, noBlocks: true });
  assert.equal(blockless.sound, false);
  assert.equal(blockless.error, `transaction ${TX} is in block 12, which the node does not have`);
  // sent through a wallet or a batching contract (or by a contract's constructor): the registry's own log is the evidence
  for (const to of ['0x' + '12'.repeat(20), null]) {
    const via = await run({ receipts: { [TX]: anchorReceipt({ to }) } });
    assert.equal(via.sound, true, via.error);
    assert.equal(via.checks.at(-1).detail, `transaction ${TX} in block 12 at 2023-11-14T22:13:20+00:00 anchored this checkpoint`);
  }
  // not citing the transaction: no such check (nothing unchecked is shown)
  const quiet = await run({}, { ...PROOF, anchor: { ...PROOF.anchor, tx_hash: null, block_number: null } });
  assert.equal(quiet.sound, true, quiet.error);
  assert.equal(quiet.checks.at(-1).name, 'anchor');
  const cases = [
    [{}, PROOF, trust, `transaction ${TX} is not on chain 31337`],
    [{ receipts: { [TX]: anchorReceipt({ status: '0x0' }) } }, PROOF, trust, 'failed (status 0)'],
    [{ receipts: { [TX]: anchorReceipt({ block: '0xd' }) } }, PROOF, trust, 'is in block 13, not in block 12 as the bundle says'],
    [{ receipts: { [TX]: anchorReceipt({ size: 3 }) } }, PROOF, trust, 'holds no CheckpointAnchored of log'],
    [{ receipts: { [TX]: anchorReceipt({ emitter: '0x' + '12'.repeat(20) }) } }, PROOF, trust,
      `holds no CheckpointAnchored of log ${PROOF.log_id} at size ${PROOF.checkpoint.size} with root ${PROOF.checkpoint.root} from the registry ${REGISTRY}`],
    [{ receipts: { [TX]: anchorReceipt({ to: '0x' + '12'.repeat(20), emitter: '0x' + '12'.repeat(20) }) } }, PROOF, trust,
      'holds no CheckpointAnchored of log'],
    [{}, { ...PROOF, anchor: { ...PROOF.anchor, registry: '0x' + '12'.repeat(20) } }, trust,
      `the bundle's anchor names registry 0x${'12'.repeat(20)}, not the trusted registry ${REGISTRY} of chain 31337`],
    [{}, { ...PROOF, stream: 'line-b/telemetry' }, trust, "would be log 0x"],
    [{ factory: '0x' + '00'.repeat(20) }, PROOF, trust, 'is not registered in the registry: no factory owns it'],
    [{ root: '0x' + '00'.repeat(32) }, PROOF, trust, 'never anchored'],
    [{}, { ...PROOF, anchor: { ...PROOF.anchor, chain_id: 1 } }, trust, "is chain 31337, but the bundle's anchor is on chain 1"],
    [{}, PROOF, { registryCode: CODE }, 'no trusted registry for chain 31337'],
    [{ code: '0x6001' }, PROOF, trust, "does NOT hold the registry's code"],
  ];
  for (const [state, doc, opts, reason] of cases) {
    const r = await run(state, doc, opts);
    assert.equal(r.sound, false, reason);
    assert.ok(r.error.includes(reason), `${reason} | ${r.error}`);
  }
});

/** PROOF's first record at index 0 of a tree of `size` leaves (a power of two): invented proof hashes, their root. */
async function beyondUint64(size) {
  const depth = size.toString(2).length - 1;
  const proof = Array.from({ length: depth }, (_, i) => '0x' + (i + 1).toString(16).padStart(4, '0').repeat(16));
  let root = fromHex(PROOF.entries[0].leaf_hash);
  for (const h of proof) root = await nodeHash(root, fromHex(h));
  return { ...PROOF, checkpoint: { size: 'SIZE', root: toHex(root) }, entries: [{ ...PROOF.entries[0], index: 0, proof }] };
}

test('on chain: the covenants the bundle carries must hash to the pledge\'s covenantsDigest', async () => {
  const trust = { registryCode: CODE, registry: REGISTRY };
  const covenants = { format: 'dpl-covenants/1', tz: '+08:00', covenants: [{ code: 'anchoring_cadence', max_hours: 48 }] };
  // sha256 of the RFC 8785 bytes, as ledger.covenants.covenants_digest gives it
  const digest = '0x' + createHash('sha256')
    .update('{"covenants":[{"code":"anchoring_cadence","max_hours":48}],"format":"dpl-covenants/1","tz":"+08:00"}').digest('hex');
  const withSet = (set) => JSON.stringify({ ...FIX.bundle, covenants: set });
  await withNode({ covenantsDigest: digest }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(withSet(covenants), 7, { rpcUrl, ...trust });
    assert.equal(r.sound, true, JSON.stringify(failed(r)));
    assert.equal(r.checks.find((c) => c.name === 'covenants').detail, `sha256 ${digest} is the pledge's covenants digest`);
    const forged = await verifyCollateralOnChain(withSet({ ...covenants, covenants: [{ code: 'anchoring_cadence', max_hours: 480 }] }), 7,
      { rpcUrl, ...trust });
    assert.deepEqual(failed(forged), ['covenants']);
    assert.match(forged.checks.find((c) => c.name === 'covenants').detail, /edited or are another loan's$/);
    assert.deepEqual(failed(await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust })), ['covenants']);
  });
  await withNode({}, async (rpcUrl) => {  // an old-style pledge (zero digest): no covenants, sound; a set it never agreed to fails
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.equal(r.checks.find((c) => c.name === 'covenants').detail, 'the pledge commits to no covenants');
    assert.deepEqual(failed(await verifyCollateralOnChain(withSet(covenants), 7, { rpcUrl, ...trust })), ['covenants']);
  });
});

test('the factory the lender expects: another factory\'s log is not sound', async () => {
  const trust = { registryCode: CODE, registry: REGISTRY };
  const other = toChecksumAddress('0x' + '42'.repeat(20));
  await withNode({ receipts: { [TX]: anchorReceipt() } }, async (rpcUrl) => {
    const ok = await verifyProofBundleOnChain(JSON.stringify(PROOF), { rpcUrl, ...trust, factory: FACTORY.toLowerCase() });
    assert.equal(ok.sound, true, ok.error);
    assert.deepEqual(ok.checks.slice(-4).map((c) => c.name), ['factory', 'expected factory', 'anchor', 'anchor transaction']);
    assert.equal(ok.checks.at(-3).detail, `the log belongs to factory ${FACTORY} (registered as ACME Precision Co.), the expected factory`);
    const rival = await verifyProofBundleOnChain(JSON.stringify(PROOF), { rpcUrl, ...trust, factory: other });
    assert.equal(rival.sound, false);
    assert.equal(rival.checks.at(-1).name, 'expected factory', 'the checks stop at the first that fails');
    assert.equal(rival.error, `the log belongs to factory ${FACTORY} (registered as ACME Precision Co.), not to the expected factory ${other}`);
    const collateral = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust, factory: other });
    assert.deepEqual(failed(collateral), ['expected factory']);
    assert.deepEqual(collateral.checks.slice(3, 5).map((c) => c.name), ['factory', 'expected factory']);
    const without = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, ...trust });
    assert.ok(without.sound && !without.checks.some((c) => c.name === 'expected factory'));
    await assert.rejects(verifyProofBundleOnChain(JSON.stringify(PROOF), { rpcUrl, ...trust, factory: '0x1234' }), /is not an address/);
  });
});

test('a size beyond uint64 is a failed "anchor" check, never sent to the node', async () => {
  const trust = { registryCode: CODE, registry: REGISTRY };
  for (const size of [2n ** 64n, 2n ** 256n]) {
    // (JSON text with the exact integer: JSON.stringify cannot write a BigInt)
    const text = JSON.stringify(await beyondUint64(size)).replace('"SIZE"', String(size));
    assert.equal((await verifyBundle(text)).sound, true);
    const asked = [];
    const r = await withNode({ receipts: { [TX]: anchorReceipt() } }, (rpcUrl) => verifyProofBundleOnChain(text, {
      rpcUrl, ...trust, fetch: (url, init) => { asked.push(JSON.parse(init.body).params?.[0]?.data?.slice(0, 10)); return fetch(url, init); },
    }));
    assert.equal(r.sound, false);
    assert.deepEqual(r.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]),
      [['anchor', `size ${size} is beyond uint64: no registry holds a checkpoint of that size`]]);
    assert.ok(!asked.includes(toHex(keccak256(new TextEncoder().encode('rootAt(bytes32,uint64)')).slice(0, 4))));
  }
  // a dpl-consistency/1 bundle of old = new = 2^64
  const root = PROOF.checkpoint.root;
  const consistency = `{"format": "dpl-consistency/1", "log_id": "${PROOF.log_id}", "stream": "${PROOF.stream}", `
    + `"anchor": ${JSON.stringify(PROOF.anchor)}, "old": {"size": ${2n ** 64n}, "root": "${root}"}, `
    + `"new": {"size": ${2n ** 64n}, "root": "${root}"}, "proof": []}`;
  const r = await withNode({}, (rpcUrl) => verifyProofBundleOnChain(consistency, { rpcUrl, ...trust }));
  assert.equal(r.error, `size ${2n ** 64n} is beyond uint64: no registry holds a checkpoint of that size`);
});

test('a token id beyond uint64 is a failed "pledge" check, never sent to the node', async () => {
  const trust = { registryCode: CODE, registry: REGISTRY };
  await withNode({}, async (rpcUrl) => {
    for (const id of [2n ** 64n, 2n ** 256n + 5n, 0n]) {
      const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), id, { rpcUrl, ...trust });
      assert.equal(r.sound, false);
      assert.deepEqual(r.checks.at(-1), { name: 'pledge', ok: false, detail: `no pledge ${id} in registry ${toChecksumAddress(REGISTRY)} `
        + 'on chain 31337: token ids are 1 to 2^64 - 1 (the registry counts in uint64)' });
    }
  });
});

test('a node that is down is an RpcError naming the URL', async () => {
  await assert.rejects(verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl: 'http://127.0.0.1:9', registryCode: CODE }),
    (e) => e instanceof RpcError && e.message.includes('http://127.0.0.1:9') && e.message.includes('not answering'));
});
