// Range proofs (verify/merkle.js) against the compact-range vectors made with transparency-dev/merkle's
// Go code (tests/vectors/compact-ranges/), and verify/disclosure.js on disclosures built here.
// The full alteration corpus, with Python's exact words, runs in tests/web/test_disclosure_parity.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { leafHash, nodeHash, rootFromRange, verifyRange, rangeProofRanges, ProofError, RootMismatchError } from '../../api/web/static/js/verify/merkle.js';
import { verifyDisclosure, DISCLOSURE_FORMAT } from '../../api/web/static/js/verify/disclosure.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';
import { prepareRecord } from '../../api/web/static/js/verify/records.js';
import { toHex, fromHex, concatBytes, utf8 } from '../../api/web/static/js/verify/hex.js';

const DOC = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'compact-ranges', 'compact_ranges.json'), 'utf8'));

// RFC 9162 MTH, recursive: the slow reference.
async function mth(leaves) {
  if (leaves.length === 1) return leaves[0];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(await mth(leaves.slice(0, k)), await mth(leaves.slice(k)));
}

async function rangeProof(leaves, start, end) {
  const { left, right } = rangeProofRanges(start, end, leaves.length);
  const hashes = async (ranges) => Promise.all(ranges.map(([a, b]) => mth(leaves.slice(Number(a), Number(b)))));
  return { left: await hashes(left), right: await hashes(right) };
}

test('range proofs match the Go compact ranges on every vector pair', async () => {
  assert.deepEqual(DOC.sizes.map((v) => v.size), Array.from({ length: 70 }, (_, i) => i + 1));
  let pairs = 0;
  for (const v of DOC.sizes) {
    const leaves = await Promise.all(Array.from({ length: v.size }, (_, i) => leafHash(utf8(`leaf:${i}`))));
    const root = fromHex(v.root);
    assert.equal(toHex(await mth(leaves)), v.root);
    for (const [b, e] of v.pairs) {
      const left = v.left[String(b)].map(fromHex), right = v.right[String(e)].map(fromHex);
      const built = await rangeProof(leaves, b, e);
      assert.deepEqual(built.left.map(toHex), v.left[String(b)], `size ${v.size} [${b}, ${e}) left`);
      assert.deepEqual(built.right.map(toHex), v.right[String(e)], `size ${v.size} [${b}, ${e}) right`);
      assert.equal(toHex(await rootFromRange(left, leaves.slice(b, e), right, b, v.size)), v.root, `size ${v.size} [${b}, ${e})`);
      await verifyRange(left, leaves.slice(b, e), right, BigInt(b), BigInt(v.size), root);
      pairs += 1;
    }
  }
  assert.ok(pairs > 1500);
});

test('range proof errors use ledger.merkle\'s words', async () => {
  const leaves = await Promise.all(Array.from({ length: 11 }, (_, i) => leafHash(new Uint8Array([i]))));
  const { left, right } = await rangeProof(leaves, 3, 5);
  const root = await mth(leaves);
  const refused = (p, message) => assert.rejects(p, (e) => e instanceof ProofError && (message instanceof RegExp ? message.test(e.message) : e.message === message));
  await refused(rootFromRange([...left, left[0]], leaves.slice(3, 5), right, 3, 11), 'wrong number of left proof hashes 3, want 2');
  await refused(rootFromRange(left, leaves.slice(3, 5), right.slice(0, -1), 3, 11), 'wrong number of right proof hashes 3, want 4');
  await refused(rootFromRange(left, [], right, 3, 11), 'empty range: a range proof needs at least one leaf');
  await refused(rootFromRange([], leaves.slice(0, 2), [], 10, 11), 'range [10, 12) is beyond size 11');
  await refused(rootFromRange(left, leaves.slice(3, 5), right, -1, 11), 'start and size must be non-negative integers');
  await refused(rootFromRange([left[0], left[1].slice(0, 31)], leaves.slice(3, 5), right, 3, 11), 'left[1] must be 32 bytes, got 31');
  const bad = Uint8Array.from(root); bad[0] ^= 1;
  await assert.rejects(verifyRange(left, leaves.slice(3, 5), right, 3, 11, bad), (e) => e instanceof RootMismatchError && /^root mismatch: calculated 0x/.test(e.message));
  const swapped = [leaves[4], leaves[3]];
  await assert.rejects(verifyRange(left, swapped, right, 3, 11, root), RootMismatchError);
});

// A disclosure of [start, end) of n records, as ledger.disclosure.disclosure_chunks writes it.
async function disclosure(n, start, end) {
  const records = Array.from({ length: n }, (_, i) => ({ id: `r-${i}`, ts: '2026-10-01T08:00:00+08:00', type: 'iot.telemetry', data: { n: i, temp_c: 60.5 } }));
  const salts = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i % 256));
  const canon = records.map((r) => prepareRecord(r));
  const leaves = await Promise.all(canon.map((c, i) => leafHash(concatBytes(salts[i], c))));
  const { left, right } = await rangeProof(leaves, start, end);
  const dec = new TextDecoder();
  const lines = [];
  for (let i = start; i < end; i++) lines.push(`{"index":${i},"salt":"${toHex(salts[i])}","record":${dec.decode(canon[i])}}`);
  const header = JSON.stringify({ format: DISCLOSURE_FORMAT, log_id: toHex(new Uint8Array(32)), stream: 's', range: { from: start, to: end },
    checkpoint: { size: n, root: toHex(await mth(leaves)) }, anchor: null, proof: { left: left.map(toHex), right: right.map(toHex) } });
  return { text: `${header.slice(0, -1)},"records":[\n${lines.join(',\n')}\n]}\n`, records };
}

test('good disclosures of many shapes verify, with progress reported', async () => {
  for (const [n, a, b] of [[1, 0, 1], [8, 0, 8], [8, 3, 4], [33, 32, 33], [100, 37, 38], [300, 1, 299]]) {
    const { text, records } = await disclosure(n, a, b);
    const progress = [];
    const v = await verifyDisclosure(text, { onProgress: (p) => progress.push(p) });
    assert.deepEqual([v.start, v.end, v.size, v.stream], [BigInt(a), BigInt(b), BigInt(n), 's']);
    assert.equal(v.records.length, b - a);
    assert.equal(v.records[0][0], BigInt(a));
    assert.equal(v.records[0][1].id, records[a].id);
    assert.deepEqual(progress.at(-1), { done: b - a, total: b - a });
  }
});

test('alterations are refused by name', async () => {
  const { text } = await disclosure(20, 5, 15);
  const cases = [
    [(d) => { d.records[3].record.data.n = 99; }, /^range proof does not lead to the checkpoint root .*root mismatch/],
    [(d) => { d.records.splice(4, 1); }, /^records\[4\] \(index 10\): record 9 is missing \(a record was dropped\)$/],
    [(d) => { d.records.push({ ...d.records[9], index: 15 }); }, /^records\[10\] \(index 15\) is outside the range \[5, 15\) \(a record was added\)$/],
    [(d) => { d.records.splice(3, 0, structuredClone(d.records[2])); }, /^records\[3\] \(index 7\) repeats the index of records\[2\]/],
    [(d) => { [d.records[2], d.records[6]] = [d.records[6], d.records[2]]; }, /^records\[2\] \(index 11\) is out of order: expected index 7/],
    [(d) => { d.proof.left.push(d.proof.left[0]); }, /wrong number of left proof hashes 3, want 2$/],
    [(d) => { d.checkpoint.size = 14; }, /^range \[5, 15\) is beyond checkpoint\.size 14$/],
  ];
  for (const [change, message] of cases) {
    const d = JSON.parse(text);
    change(d);
    await assert.rejects(verifyDisclosure(JSON.stringify(d)), (e) => e instanceof BundleError && message.test(e.message), String(message));
  }
});

test('a large disclosure yields to the event loop while it verifies', async () => {
  const { text } = await disclosure(6000, 0, 6000);
  let ticks = 0;
  const timer = setInterval(() => { ticks += 1; }, 0);
  const progress = [];
  await verifyDisclosure(text, { onProgress: (p) => progress.push(p.done) });
  clearInterval(timer);
  assert.ok(progress.length >= 2 && ticks >= 1, `progress ${progress}, ticks ${ticks}`);
});
