// Collateral bundles (a fixture built by the Python code, tests/web/test_js_verifier.py): sound as
// built; each tamper fails its named check; and the same against a mock JSON-RPC node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyCollateral, verifyCollateralOnChain, verifyProofBundleOnChain, verifyBundle, RpcError, toHex, fromHex,
  keccak256 } from '../../api/web/static/js/verify/index.js';

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
  const names = ['format', 'manifest digest', 'manifest terms', 'anchored root', 'seed', 'sample indices'];
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

function pledgeWords({ status = 1 } = {}) {
  const t = FIX.terms;
  return [hx(t.logId), w(t.start), w(t.end), w(t.checkpointSize), hx(t.assetDigest), w(1000), hx('0x455552'), w(2e9), w(3e9),
    w(3e9), w(t.samples), w(0), w('0x' + '42'.repeat(20)), w(status), w('0x' + '11'.repeat(20)), w(t.issueBlock)].join('');
}

async function withNode(state, fn) {
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
      if (method === 'eth_getBlockByNumber') return reply({ hash: FIX.issue_block_hash, number: params[0] });
      if (method === 'eth_call') {
        const data = params[0].data;
        if (data.startsWith(sel('pledge(uint256)'))) return reply('0x' + pledgeWords(state));
        if (data.startsWith(sel('rootAt(bytes32,uint64)'))) return reply('0x' + hx(state.root ?? FIX.anchored_root) + w(1700000000));
        if (data.startsWith(sel('ownerOf(uint256)'))) return reply('0x' + w('0x' + '42'.repeat(20)));
      }
      res.end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: `no ${method}` } }));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  try { return await fn(`http://127.0.0.1:${server.address().port}`); } finally { server.close(); }
}

test('on chain: the registry code, the pledge, then the pure checks', async () => {
  await withNode({}, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, registryCode: CODE });
    assert.equal(r.sound, true, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.deepEqual(r.checks.slice(0, 4).map((c) => c.name), ['registry', 'bundle names this pledge', 'pledge holds its lien', 'format']);
    const other = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 8, { rpcUrl, registryCode: CODE });
    assert.deepEqual(failed(other).slice(0, 1), ['bundle names this pledge']);
    // the registry in lower case is the same registry
    const lower = await verifyCollateralOnChain(JSON.stringify({ ...FIX.bundle, registry: FIX.bundle.registry.toLowerCase() }), 7,
      { rpcUrl, registryCode: CODE, registry: FIX.bundle.registry });
    assert.equal(lower.sound, true, JSON.stringify(failed(lower)));
  });
  await withNode({ status: 2 }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, registryCode: CODE });
    assert.deepEqual(failed(r), ['pledge holds its lien']);
  });
  await withNode({ status: 0 }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, registryCode: CODE });
    assert.deepEqual(failed(r), ['pledge']);
  });
  await withNode({ code: ARTIFACT.deployedBytecode.slice(0, -2) + '00' }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, registryCode: CODE });
    assert.deepEqual(r.checks.map((c) => [c.name, c.ok]), [['registry', false]]);
  });
  await withNode({ root: '0x' + '01'.repeat(32) }, async (rpcUrl) => {
    const r = await verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl, registryCode: CODE, registry: REGISTRY.toLowerCase() });
    assert.ok(failed(r).includes('anchored root'));
  });
});

test('a dpl-proof/1 bundle against the anchor\'s registry', async () => {
  const b = FIX.bundle;
  const proof = { format: 'dpl-proof/1', log_id: FIX.terms.logId, stream: 'line-a/telemetry',
    checkpoint: { size: FIX.terms.checkpointSize, root: FIX.anchored_root },
    anchor: { chain_id: 31337, registry: REGISTRY, tx_hash: '0x' + '01'.repeat(32), block_number: 12 }, entries: b.entries };
  assert.equal((await verifyBundle(JSON.stringify(proof))).sound, true);
  await withNode({}, async (rpcUrl) => {
    const r = await verifyProofBundleOnChain(JSON.stringify(proof), { rpcUrl });
    assert.equal(r.sound, true, r.error);
    assert.equal(r.checks.at(-1).name, 'anchor');
    const other = await verifyProofBundleOnChain(JSON.stringify({ ...proof, anchor: { ...proof.anchor, chain_id: 1 } }), { rpcUrl });
    assert.match(other.error, /is chain 31337, but the bundle's anchor is on chain 1/);
  });
  await withNode({ root: '0x' + '00'.repeat(32) }, async (rpcUrl) => {
    assert.match((await verifyProofBundleOnChain(JSON.stringify(proof), { rpcUrl })).error, /never anchored/);
  });
});

test('a node that is down is an RpcError naming the URL', async () => {
  await assert.rejects(verifyCollateralOnChain(JSON.stringify(FIX.bundle), 7, { rpcUrl: 'http://127.0.0.1:9', registryCode: CODE }),
    (e) => e instanceof RpcError && e.message.includes('http://127.0.0.1:9') && e.message.includes('not answering'));
});
