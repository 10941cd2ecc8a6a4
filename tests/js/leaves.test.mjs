// verify/leaves.js: the leaf a record makes by its log's record format (the record2 vectors for
// v2, salt || canonical for v1), and the format a bundle names (absent: dpl-record/1), with
// ledger/leaves.py's words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson } from '../../api/web/static/js/verify/json.js';
import { fromHex, toHex, concatBytes } from '../../api/web/static/js/verify/hex.js';
import { prepareRecord } from '../../api/web/static/js/verify/records.js';
import { leafHash } from '../../api/web/static/js/verify/merkle.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';
import { bundleRecordFormat, leafHashOf, RECORD_V1, RECORD_V2 } from '../../api/web/static/js/verify/leaves.js';

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'record2');

test('each format makes its own leaf: v2 as the vectors say, v1 salt || canonical', async () => {
  const { records } = parseJson(readFileSync(join(DIR, 'full_records.json')));
  assert.ok(records.length >= 3);
  for (const v of records) {
    const salt = fromHex(v.record_salt);
    const canonical = prepareRecord(v.record);
    assert.equal(toHex(await leafHashOf(RECORD_V2, salt, canonical, v.record)), v.leaf_hash);
    const v1 = await leafHashOf(RECORD_V1, salt, canonical, v.record);
    assert.equal(toHex(v1), toHex(await leafHash(concatBytes(salt, canonical))));
    assert.notEqual(toHex(v1), v.leaf_hash);
  }
});

test('a bundle names its format; absent is dpl-record/1; anything else is refused in Python\'s words', () => {
  assert.equal(bundleRecordFormat(parseJson('{}')), RECORD_V1);
  assert.equal(bundleRecordFormat(parseJson('{"record_format": "dpl-record/2"}')), RECORD_V2);
  for (const [text, shown] of [['"dpl-record/3"', "'dpl-record/3'"], ['null', 'None'], ['2', '2'], ['[]', '[]'], ['2.0', '2.0']]) {
    assert.throws(() => bundleRecordFormat(parseJson(`{"record_format": ${text}}`)),
      (e) => e instanceof BundleError && e.message === `record_format must be 'dpl-record/1' or 'dpl-record/2', not ${shown}`);
  }
});
