// Known answers: Keccak-256, SHA-256, RFC 8785 (JCS) as the ledger applies it, the JSON reader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keccak256, sha256, toHex, canonicalText, CanonicalError, parseJson, JsonFloat, JsonInputError, JsonDuplicateKeyError, sampleSeed, sampleIndices,
  fromHex, prepareRecord, RecordError } from '../../api/web/static/js/verify/index.js';
import { selector } from '../../api/web/static/js/verify/rpc.js';

const utf8 = (s) => new TextEncoder().encode(s);

test('keccak256 known answers (Ethereum padding, not SHA3)', () => {
  assert.equal(toHex(keccak256(new Uint8Array())), '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  assert.equal(toHex(keccak256(utf8('abc'))), '0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45');
  assert.equal(toHex(keccak256(utf8('hello'))), '0x1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8');
  assert.equal(toHex(selector('transfer(address,uint256)')), '0xa9059cbb');
  assert.equal(toHex(selector('balanceOf(address)')), '0x70a08231');
  // Lengths around the 136-byte rate.
  for (const n of [135, 136, 137, 272]) assert.equal(keccak256(new Uint8Array(n)).length, 32);
});

test('sha256 known answers (WebCrypto)', async () => {
  assert.equal(toHex(await sha256(new Uint8Array())), '0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(toHex(await sha256(utf8('abc'))), '0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

const jcs = (text) => canonicalText(parseJson(text));

test('RFC 8785 section 3.2.2 example', () => {
  const input = '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
    + ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}';
  assert.equal(jcs(input),
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
});

test('RFC 8785 section 3.2.3 key order (UTF-16 code units)', () => {
  const input = '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",'
    + ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control", "\\u00f6": "Latin Small Letter O With Diaeresis"}';
  assert.equal(jcs(input), '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",'
    + '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}');
});

const float64 = (hex) => { const v = new DataView(new ArrayBuffer(8)); v.setBigUint64(0, BigInt('0x' + hex)); return v.getFloat64(0); };

test('RFC 8785 appendix B numbers, with the ledger\'s I-JSON limits', () => {
  const ok = {
    '0000000000000000': '0', '8000000000000000': '0', '0000000000000001': '5e-324', '8000000000000001': '-5e-324',
    '7fefffffffffffff': '1.7976931348623157e+308', 'ffefffffffffffff': '-1.7976931348623157e+308',
    '44b52d02c7e14af5': '9.999999999999997e+22', '44b52d02c7e14af6': '1e+23', '44b52d02c7e14af7': '1.0000000000000001e+23',
    '444b1ae4d6e2ef50': '1e+21', '3eb0c6f7a0b5ed8c': '9.999999999999997e-7', '3eb0c6f7a0b5ed8d': '0.000001',
    '41b3de4355555553': '333333333.3333332', '41b3de4355555554': '333333333.33333325', '41b3de4355555555': '333333333.3333333',
    '41b3de4355555556': '333333333.3333334', '41b3de4355555557': '333333333.33333343',
    'becbf647612f3696': '-0.0000033333333333333333', '43143ff3c1cb0959': '1424953923781206.2',
  };
  for (const [bits, text] of Object.entries(ok)) assert.equal(canonicalText(new JsonFloat(float64(bits))), text, bits);
  // JCS prints these as integers beyond 2^53 - 1, which would not read back exactly: refused, as in Python.
  for (const bits of ['4340000000000000', 'c340000000000000', '4430000000000000', '444b1ae4d6e2ef4e', '444b1ae4d6e2ef4f',
    '7fffffffffffffff', '7ff0000000000000']) {
    assert.throws(() => canonicalText(new JsonFloat(float64(bits))), CanonicalError, bits);
  }
  assert.equal(jcs('[1.0, -0.0, 9007199254740991, -9007199254740991, 100e-2]'), '[1,0,9007199254740991,-9007199254740991,1]');
  assert.throws(() => jcs('9007199254740992'), /integer outside/);
  assert.throws(() => jcs('{"a": ["\\ud800"]}'), (e) => e instanceof CanonicalError && e.message === 'a.[0]: string holds a lone surrogate (not valid Unicode)');
});

test('the JSON reader keeps ints, floats and big integers apart', () => {
  assert.equal(parseJson('5'), 5);
  assert.ok(parseJson('5.0') instanceof JsonFloat);
  assert.ok(parseJson('5e0') instanceof JsonFloat);
  assert.equal(parseJson('123456789012345678901234567890'), 123456789012345678901234567890n);
  assert.equal(parseJson('{"__proto__": 1}').__proto__, 1);
  assert.ok(Number.isNaN(parseJson('NaN', { keepConstants: true }).value)); // a record line: validation names the field
  for (const bad of ['01', '1.', '[1,]', '{"a" 1}', '"\u0001"', 'tru', '1 2']) assert.throws(() => parseJson(bad), SyntaxError, bad);
});

test("the JSON reader refuses what ledger.jsonio refuses, in its words", () => {
  const reason = (input, opts) => { try { parseJson(input, opts); } catch (e) { assert.ok(e instanceof JsonInputError); return e.message; } return null; };
  assert.equal(reason('[' + '['.repeat(64) + ']'.repeat(64) + ']'), 'nested deeper than 64 levels');
  assert.equal(reason('{"unused": ' + '['.repeat(69) + ']'.repeat(69) + ', "format": "dpl-proof/1"}'), 'nested deeper than 64 levels');
  assert.equal(reason('['.repeat(64) + ']'.repeat(64)), null);
  assert.equal(reason('["' + '['.repeat(100) + '"]'), null, 'brackets in a string do not count');
  assert.equal(reason('{"a": NaN}'), 'NaN is not a JSON number (I-JSON)');
  assert.equal(reason('[1, -Infinity]'), '-Infinity is not a JSON number (I-JSON)');
  assert.equal(reason('{"n": 1' + '0'.repeat(4300) + '}'), 'holds an integer of more than 4,300 digits');
  assert.equal(reason('-' + '9'.repeat(4300)), null);
  assert.equal(reason(new Uint8Array([0x5b, 0x22, 0x61, 0xff, 0x22, 0x5d])), 'invalid UTF-8 at byte 3');
  assert.equal(reason(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])), 'invalid UTF-8 at byte 1', 'a surrogate in UTF-8');
  assert.equal(reason(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), 'invalid JSON: Expecting value (line 1, column 1)', 'a byte-order mark');
  assert.equal(reason('["\\ud800"]'), null, 'an escaped lone surrogate is kept (a record names it)');
  assert.equal(reason('["\ud800"]'), 'holds a lone surrogate (not valid Unicode)', 'a raw one cannot be UTF-8');
  assert.equal(reason('["a"\n\n  "b"]'), "invalid JSON: Expecting ',' delimiter (line 3, column 3)");
  assert.equal(reason('{"a": 1,}'), 'invalid JSON: Expecting property name enclosed in double quotes (line 1, column 9)');
  assert.equal(reason('[1,\n 😀]'), 'invalid JSON: Expecting value (line 2, column 2)');
  assert.equal(reason('["😀\\x"]'), 'invalid JSON: Invalid \\escape (line 1, column 4)', 'columns count code points');
});

test('a key twice is refused, naming its path as ledger.jsonio does', () => {
  const refused = (text) => { try { parseJson(text); } catch (e) { assert.ok(e instanceof JsonDuplicateKeyError); return e.message; } return null; };
  assert.equal(refused('{"a": 1, "a": 2}'), "duplicate key 'a' (at a)");
  assert.equal(refused('{"e": [{"r": {"x": 1}}, {"r": {"x": 1, "x": 2}}]}'), "duplicate key 'x' (at e.[1].r.x)");
  assert.equal(refused('[{"k": 1, "k": 1}]'), "duplicate key 'k' (at [0].k)");
  assert.equal(refused('{"a\\u0062": 1, "ab": 2}'), "duplicate key 'ab' (at ab)");  // the same key once unescaped
  assert.equal(refused('{"a": {"x": 1, "x": 2}, "a": 3}'), "duplicate key 'a' (at a)");  // an object before its children
  assert.equal(refused('{"b": 1, "a": 1, "a": 2, "b": 3}'), "duplicate key 'a' (at a)");  // the first key seen twice
  assert.equal(refused(`{"it's": 1, "it's": 2}`), `duplicate key "it's" (at it's)`);
  assert.equal(refused('{"a": 1, "A": 2, "a\\u0301": 3}'), null);
  assert.equal(refused('[' + '{"k": 1, "k": 2}, '.repeat(3) + '{}]'), "duplicate key 'k' (at [0].k)");
});

test('sample indices: all of a small range, k distinct ascending of a large one', () => {
  const seed = sampleSeed(fromHex('c0ffee'.repeat(10) + 'beef'), 7n);
  assert.deepEqual(sampleIndices(seed, 3, 6, 5), [3n, 4n, 5n]);
  const got = sampleIndices(seed, 40, 240, 12);
  assert.equal(new Set(got).size, 12);
  assert.deepEqual([...got].sort((a, b) => (a < b ? -1 : 1)), got);
  assert.ok(got.every((i) => i >= 40n && i < 240n));
});

test('records: the rules, with Python\'s reasons', () => {
  const rec = (over) => ({ id: 'r-1', ts: '2026-10-01T08:00:00+08:00', type: 'iot.telemetry', data: { t: 1 }, ...over });
  assert.equal(new TextDecoder().decode(prepareRecord(rec({}))),
    '{"data":{"t":1},"id":"r-1","ts":"2026-10-01T08:00:00+08:00","type":"iot.telemetry"}');
  const reason = (r) => { try { prepareRecord(r); return null; } catch (e) { assert.ok(e instanceof RecordError); return e.reason; } };
  assert.equal(reason(rec({ ts: '2026-02-29T00:00:00Z' })), 'not a real date or time (day is out of range for month)');
  assert.equal(reason(rec({ ts: '2024-02-29T23:59:60z' })), null);
  assert.equal(reason(rec({ id: 'a\u200bb' })), 'must contain only printable characters');
  assert.equal(reason(rec({ type: 'a..b' })), "must be a dotted name such as 'iot.telemetry'");
  assert.equal(reason(rec({ extra: 1 })), 'unexpected field (a record has only id, ts, type, data)');
  // instants that no UTC calendar day of years 1..9999 holds (Python's datetime overflows on them)
  const outside = 'must name an instant within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z (in UTC)';
  assert.equal(reason(rec({ ts: '0001-01-01T00:00:00+23:59' })), outside);
  assert.equal(reason(rec({ ts: '0001-01-01T00:00:00+00:01' })), outside);
  assert.equal(reason(rec({ ts: '9999-12-31T23:59:59-23:59' })), outside);
  assert.equal(reason(rec({ ts: '9999-12-31T23:59:60-00:01' })), outside);
  assert.equal(reason(rec({ ts: '0001-01-01T00:00:00-23:59' })), null);
  assert.equal(reason(rec({ ts: '9999-12-31T23:59:59.999999999Z' })), null);
});

test('a dynamic return value is read inside its data only', async () => {
  const { bytesAt, RpcError } = await import('../../api/web/static/js/verify/rpc.js');
  const w = (x) => BigInt(x).toString(16).padStart(64, '0');
  const data = (hex) => fromHex('0x' + hex);
  const name = Buffer.from('ACME').toString('hex').padEnd(64, '0');
  assert.equal(new TextDecoder().decode(bytesAt(data(w(64) + '11'.repeat(32) + w(4) + name), 0)), 'ACME');
  assert.equal(bytesAt(data(w(64) + '11'.repeat(32) + w(0)), 0).length, 0);
  for (const [hex, why] of [
    [w(2n ** 255n) + w(0), /offset beyond the data/],           // an offset far outside
    [w(64) + w(0), /offset beyond the data/],                   // no length word
    [w(64) + w(0) + w(5) + name.slice(0, 8), /length beyond the data/],
    [w(64) + w(0) + w(2n ** 200n), /length .* above 4096/],     // a length no answer should carry
  ]) assert.throws(() => bytesAt(data(hex), 0), (e) => e instanceof RpcError && why.test(e.message), hex.slice(0, 20));
});
