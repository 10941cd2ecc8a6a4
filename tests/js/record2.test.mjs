// dpl-record/2 (verify/record2.js) on every vector of tests/vectors/record2/, which
// tests/ledger/test_record2.py runs through ledger/record2.py: the same leaf hashes, the same
// disclosed records, the same refusals in the same words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson, keysOf } from '../../api/web/static/js/verify/json.js';
import { fromHex, toHex, utf8 } from '../../api/web/static/js/verify/hex.js';
import { ProofError } from '../../api/web/static/js/verify/merkle.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';
import {
  fieldSalt, fieldCommitment, fieldNames, leafDataV2, leafHashV2, disclose, verifyPartial, verifyPartialInclusion,
  PartialRecordError, LEAF_PREFIX, hmacSha256,
} from '../../api/web/static/js/verify/record2.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'record2');
// parseJson keeps 1.0 and 1e21 as floats, as Python reads them.
const load = (name) => parseJson(readFileSync(join(DIR, name)));
const FULL = load('full_records.json').records;
const VALID = load('partial_valid.json');
const INVALID = load('partial_invalid.json');

// A model value as plain JSON (BigInt-free, floats as numbers) for deepEqual.
const plain = (v) => JSON.parse(JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? Number(x) : x)));
const sortedKeys = (v) => (v && typeof v === 'object' && !Array.isArray(v)
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortedKeys(v[k])]))
  : Array.isArray(v) ? v.map(sortedKeys) : v);

test('HMAC-SHA256 gives RFC 4231 test case 2', async () => {
  const mac = await hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?'));
  assert.equal(toHex(mac), '0x5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
});

test('every full record gives its field salts, commitments, leaf data and leaf hash', async () => {
  assert.equal(FULL.length, 5);
  for (const c of FULL) {
    const salt = fromHex(c.record_salt);
    assert.deepEqual(fieldNames(c.record), c.fields.map((f) => f.name), c.name);
    for (const f of c.fields) {
      assert.equal(toHex(await fieldSalt(salt, f.name)), f.salt, `${c.name}: ${f.name}`);
      assert.equal(toHex(await fieldCommitment(f.name, utf8(f.canonical), fromHex(f.salt))), f.commitment);
    }
    assert.equal(toHex(await leafDataV2(c.record, salt)), c.leaf_data, c.name);
    assert.equal(toHex(await leafHashV2(c.record, salt)), c.leaf_hash, c.name);
  }
});

test('every valid partial record verifies and proves its leaf in the tree', async () => {
  const { size, root, leaves } = VALID.tree;
  assert.equal(VALID.cases.length, 8);
  for (const c of VALID.cases) {
    const v = await verifyPartialInclusion(c.text, size, c.proof.map(fromHex), fromHex(root));
    assert.equal(v.index, BigInt(c.index), c.name);
    assert.equal(toHex(v.leafHash), c.leaf_hash, c.name);
    assert.equal(toHex(v.leafHash), leaves[c.index]);
    assert.equal(v.hidden, c.hidden, c.name);
    assert.deepEqual(sortedKeys(plain(v.record)), sortedKeys(plain(c.record)), c.name);
  }
});

test('every invalid partial record is refused in Python\'s words', async () => {
  const { size, root } = INVALID.tree;
  assert.ok(INVALID.cases.length >= 55);
  for (const c of INVALID.cases) {
    await assert.rejects(verifyPartialInclusion(c.text, size, c.proof.map(fromHex), fromHex(root)), (e) => {
      assert.ok(e instanceof ProofError || e instanceof BundleError, `${c.name}: ${e}`);
      assert.equal(e instanceof PartialRecordError, c.stage === 'partial', c.name);
      assert.equal(e.message, c.error, c.name);
      return true;
    });
  }
});

test('disclose writes what Python writes, and the bytes hold no hidden value', async () => {
  for (const c of VALID.cases) {
    const doc = parseJson(c.text);
    const full = FULL[Number(c.index)];
    const shown = doc.fields.map((f) => f.name);
    const again = await disclose(full.record, fromHex(full.record_salt), shown, { index: c.index });
    const text = JSON.stringify(again);
    assert.equal(text, c.text, c.name);
  }
  const record = parseJson('{"id":"SO-1","ts":"2026-10-01T09:00:00+08:00","type":"erp.sales_order",'
    + '"data":{"customer":"ACME-Secret-Customer-7731","qty_good":424242,"currency":"CNY"}}');
  const salt = new Uint8Array(32).fill(7);
  const text = JSON.stringify(await disclose(record, salt, ['ts', 'type', 'data.currency'], { index: 0 }));
  for (const hidden of ['ACME-Secret-Customer-7731', '424242', 'customer', 'qty_good', 'SO-1', toHex(salt).slice(2)]) {
    assert.ok(!text.includes(hidden), hidden);
  }
  const v = await verifyPartial(text);
  assert.equal(toHex(v.leafHash), toHex(await leafHashV2(record, salt)));
  assert.deepEqual(keysOf(v.record.data), ['currency']);
});

test('v2 leaf data starts with the prefix whose byte 32 is never a v1 leaf\'s "{"', async () => {
  for (const c of FULL) assert.deepEqual(fromHex(c.leaf_data).slice(0, 33), LEAF_PREFIX);
  assert.equal(LEAF_PREFIX[32], 2);
});
