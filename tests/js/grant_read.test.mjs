// The lender page's check of a dpl-grant-read/1 (pages/lender/grants.js proofBundleOf): the
// proven records become one dpl-proof/1 that the verifier judges; records with hidden fields are
// left out. The page itself
// (the table, the chain check, "verified") is held by tests/browser/grants.spec.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { proofBundleOf } from '../../api/web/static/js/pages/lender/grants.js';
import { parseJson } from '../../api/web/static/js/verify/json.js';
import { verifyProofBundle } from '../../api/web/static/js/verify/proof_bundle.js';
import { leafHash, nodeHash } from '../../api/web/static/js/verify/merkle.js';
import { prepareRecord } from '../../api/web/static/js/verify/records.js';
import { concatBytes, toHex } from '../../api/web/static/js/verify/hex.js';

const salt = (k) => '0x' + String(k).repeat(64).slice(0, 64);
const whole = (i, parts) => ({ id: `tel-${i}`, ts: '2026-10-01T00:00:00.000+08:00', type: 'iot.telemetry', data: { machine: 'cnc-01', parts_total: parts } });

/** A two-record log (both whole) and a read of it (as JSON text), with a record whose fields are hidden. */
async function readText({ alter = false } = {}) {
  const records = [whole(0, 15489), whole(1, 0)];
  const text1 = JSON.stringify(records[1]);
  const leaves = [];
  for (const [k, text] of [JSON.stringify(records[0]), text1].entries()) {
    const canonical = prepareRecord(parseJson(text));
    leaves.push(await leafHash(concatBytes(Uint8Array.from(Buffer.from(salt(k + 1).slice(2), 'hex')), canonical)));
  }
  const root = await nodeHash(leaves[0], leaves[1]);
  const entry = (k, text) => `{"index":${k},"record":${text},"proven":true,"salt":"${salt(k + 1)}","leaf_hash":"${toHex(leaves[k])}","proof":["${toHex(leaves[1 - k])}"]}`;
  const hidden = '{"index":2,"record":{"id":"WO-1","ts":"2026-10-01T06:31:29.000+08:00","type":"mes.work_order","data":{"product":"BRK-220"}},"proven":false}';
  const first = alter ? JSON.stringify(records[0]).replace('15489', '15490') : JSON.stringify(records[0]);
  return `{"format":"dpl-grant-read/1","grant":{"id":7,"digest":"0x${'00'.repeat(32)}"},"log_id":"0x${'11'.repeat(32)}",`
    + `"stream":"acme/line-a","range":{"from":0,"to":3},"checkpoint":{"size":2,"root":"${toHex(root)}"},"anchor":null,`
    + `"notice":null,"records":[${entry(0, first)},${entry(1, text1)},${hidden}],"receipt":null}`;
}

test('the proven records of a read become one dpl-proof/1 that verifies; the hidden-field record is left out', async () => {
  const bundle = proofBundleOf(parseJson(await readText()));
  assert.deepEqual(bundle.entries.map((e) => Number(e.index)), [0, 1]);
  assert.deepEqual([bundle.format, bundle.stream, bundle.anchor], ['dpl-proof/1', 'acme/line-a', null]);
  const r = await verifyProofBundle(bundle);
  assert.ok(r.sound, JSON.stringify(r.checks));
});

test('a value altered in the read fails that record\'s leaf hash, not the other\'s', async () => {
  const r = await verifyProofBundle(proofBundleOf(parseJson(await readText({ alter: true }))));
  assert.equal(r.sound, false);
  const failed = r.checks.filter((c) => !c.ok).map((c) => c.name);
  assert.deepEqual(failed, ['entry 0: leaf hash']);
});

test('a read with no proven record, or no checkpoint, gives no bundle', async () => {
  const read = parseJson(await readText());
  assert.equal(proofBundleOf({ ...read, records: read.records.slice(2) }), null);
  assert.equal(proofBundleOf({ ...read, checkpoint: null }), null);
});
