// The /verify page's downloadable report (pages/verify/report.js): plain JSON from the verifier's
// answer, which holds BigInt token ids and byte arrays that JSON.stringify refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, jsonSafe, verdictLine, blockRef, reportFileName, REPORT_FORMAT } from '../../api/web/static/js/pages/verify/report.js';

const verdict = { tokenId: 7n, sound: false, checks: [
  { name: 'registry', ok: true, detail: 'holds the code' }, { name: 'seed', ok: false, detail: 'wrong seed' }] };
const facts = {
  bundleFormat: 'dpl-collateral/1', source: 'the pasted text', bundleSha256: '0x' + 'ab'.repeat(32), tokenId: 7n,
  rpcUrl: 'http://127.0.0.1:8545', chainId: 31337n, registry: '0x' + '12'.repeat(20), registrySource: 'the registry field',
  factory: '', startedAt: new Date('2026-12-06T20:00:00.000Z'), finishedAt: new Date('2026-12-06T20:00:01.250Z'),
  headBefore: { number: '0x10', hash: '0x' + '01'.repeat(32) }, headAfter: { number: '0x11', hash: '0x' + '02'.repeat(32) },
};

test('the verifier answer holds a BigInt: JSON.stringify refuses it (the bug), the report does not', () => {
  assert.throws(() => JSON.stringify(verdict), /BigInt/);
  const report = buildReport(verdict, facts);
  assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'plain JSON, round-trips');
  assert.equal(report.format, REPORT_FORMAT);
  assert.equal(report.verdict, 'NOT SOUND');
  assert.equal(report.summary, '1 of 2 checks failed');
  assert.equal(report.token_id, '7');
  assert.equal(report.checked_at, '2026-12-06T20:00:01.250Z');
  assert.equal(report.duration_ms, 1250);
  assert.deepEqual(report.chain, { rpc_url: 'http://127.0.0.1:8545', chain_id: '31337',
    head_before: { number: '16', hash: '0x' + '01'.repeat(32) }, head_after: { number: '17', hash: '0x' + '02'.repeat(32) } });
  assert.equal(report.trust.expected_factory, null);
  assert.deepEqual(report.checks, verdict.checks);
  assert.equal(reportFileName(report), 'verification-pledge-7-20261206T200001Z.json');
});

test('a node that did not answer leaves the chain facts null; a proof bundle has no token', () => {
  const report = buildReport({ sound: true, checks: [{ name: 'format', ok: true, detail: 'ok' }] },
    { ...facts, tokenId: null, chainId: null, headBefore: null, headAfter: undefined });
  assert.equal(report.verdict, 'SOUND');
  assert.equal(report.token_id, null);
  assert.equal(report.chain.chain_id, null);
  assert.equal(report.chain.head_before, null);
  assert.equal(report.chain.head_after, null);
  assert.match(reportFileName(report), /^verification-proof-/);
});

test('jsonSafe: exact integers as text, bytes as hex, nested', () => {
  assert.deepEqual(jsonSafe({ a: [2n ** 70n, new Uint8Array([0, 255])], m: new Map([[1n, 2n]]) }),
    { a: ['1180591620717411303424', '0x00ff'], m: { 1: '2' } });
  assert.equal(verdictLine([{ ok: true }, { ok: true }]), 'all 2 checks passed');
  assert.deepEqual(blockRef({ number: 'zz', hash: 5 }), { number: null, hash: null });
});
