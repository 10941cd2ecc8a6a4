// The /verify page's plain verdict and readable records (pages/verify/summary.js), from the
// Python-built fixture bundle as verify/json.js parses it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseJson } from '../../api/web/static/js/verify/index.js';
import { plainVerdict, sampledRecords } from '../../api/web/static/js/pages/verify/summary.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIX = JSON.parse(readFileSync(join(HERE, 'fixtures', 'collateral-v1.json'), 'utf8'));
const bundle = parseJson(JSON.stringify(FIX.bundle));
const facts = { tokenId: 1n, rpcUrl: 'http://node', registry: '0xReg' };

test('each sampled record readable: index, id, time, type, every field exactly as written', () => {
  const records = sampledRecords(bundle);
  assert.equal(records.length, FIX.bundle.entries.length);
  const first = FIX.bundle.entries[0];
  assert.equal(records[0].index, String(first.index));
  assert.equal(records[0].id, first.record.id);
  assert.equal(records[0].ts, first.record.ts);
  assert.deepEqual(records[0].fields.map(([k]) => k), Object.keys(first.record.data), 'fields in the record\'s order');
  assert.deepEqual(Object.fromEntries(records[0].fields).temp_c, String(first.record.data.temp_c));
  // exact: an integer above 2^53 and a float keep their digits; text from the bundle is escaped
  const odd = parseJson('{"entries": [{"index": 3, "record": {"id": "x\\u202e", "ts": "t", "type": "y", '
    + '"data": {"big": 9007199254740993, "f": 1e+300, "s": "a\\nb", "list": [1, 2.5]}}}]}');
  assert.deepEqual(sampledRecords(odd)[0].fields, [['big', '9007199254740993'], ['f', '1e+300'], ['s', 'a\\nb'], ['list', '[1, 2.5]']]);
  assert.equal(sampledRecords(odd)[0].id, 'x\\u202e');
  assert.deepEqual(sampledRecords(parseJson('{"entries": 5}')), []);
});

test('the plain verdict says what was checked and what it means for the loan', () => {
  const checks = [{ name: 'pledge holds its lien', ok: true, detail: 'status live, holder 0xB' }, { name: 'seed', ok: true, detail: 'ok' }];
  const good = plainVerdict({ sound: true, checks }, bundle, 'dpl-collateral/1', facts);
  const m = FIX.bundle.manifest;
  assert.equal(good.checked, `Pledge #1 on chain (read from http://node through registry 0xReg): its manifest of records `
    + `[${m.range.from}, ${m.range.to}) of ${m.stream}, and ${FIX.bundle.entries.length} sampled records, each proven in the `
    + `log's checkpoint of size ${m.checkpoint.size} that the registry anchored.`);
  assert.match(good.meaning, /^The pledge holds its lien \(status live, holder 0xB\) on records the factory's log holds exactly as shown/);
  const bad = plainVerdict({ sound: false, checks: [...checks, { name: 'anchored root', ok: false, detail: 'no root\nSOUND' }] },
    bundle, 'dpl-collateral/1', facts);
  assert.equal(bad.meaning, 'Do not rely on this bundle: 1 check failed, first "anchored root" — no root\\nSOUND. What it shows is '
    + 'not proven to be the collateral this pledge holds a lien on.');
  const proof = parseJson('{"stream": "acme/line-a", "checkpoint": {"size": 40}, "entries": [{}]}');
  assert.match(plainVerdict({ sound: true, checks }, proof, 'dpl-proof/1', facts).checked, /^1 record of acme\/line-a, proven in the checkpoint of size 40/);
  assert.match(plainVerdict({ sound: true, checks }, proof, 'dpl-proof/1', facts).meaning, /A proof bundle is not a pledge/);
});
