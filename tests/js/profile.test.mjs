// The profile's exact numbers, instants and calendar (docs/PROFILE.md §1, §3) and a few whole
// profiles; tests/web/test_profile_parity.py holds the JS profile to Python's bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  addInt, intOut, ratio, rootRatio, isqrt, roundHalfEven, decimalOf, instantMs, dayOf, dayText, weekText,
  tzOffsetMs, compareCodePoints, daysFromCivil, civilFromDays,
} from '../../api/web/static/js/verify/exact.js';
import {
  buildProfile, checkTz, checkMapping, checkThresholds, DEFAULT_THRESHOLDS, PROFILE_FORMAT, recordDisagreements,
} from '../../api/web/static/js/verify/profile.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';

test('ratios round half-even to 6 decimals, negative ones too, and zero is never signed', () => {
  assert.equal(ratio(1, 8), '0.125000');
  assert.equal(ratio(1, 3), '0.333333');
  assert.equal(ratio(2, 3), '0.666667');
  assert.equal(ratio(1, 2000000), '0.000000'); // 0.5 millionth: tie to even (0)
  assert.equal(ratio(3, 2000000), '0.000002'); // 1.5 millionths: tie to even (2)
  assert.equal(ratio(5, 2000000), '0.000002'); // 2.5 millionths: tie to even (2)
  assert.equal(ratio(-1, 4), '-0.250000');
  assert.equal(ratio(-3, 2000000), '-0.000002');
  assert.equal(ratio(-1, 2000000), '0.000000');
  assert.equal(ratio(-1, 3000000), '0.000000');
  assert.equal(ratio(1, -4), '-0.250000');
  assert.equal(ratio(7, 0), null);
  assert.equal(ratio(0, 5), '0.000000');
  assert.equal(ratio(123, 1), '123.000000');
  assert.equal(ratio(2n ** 70n, 3n), '393530540239137101141.333333');
  assert.equal(roundHalfEven(-5n, 2n), -2n);
  assert.equal(roundHalfEven(-7n, 2n), -4n);
});

test('integer square roots and roots rounded from the exact value', () => {
  for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 2n ** 52n - 1n, 2n ** 53n, 2n ** 53n + 1n, 10n ** 40n, 10n ** 40n - 1n, 2n ** 200n + 12345n]) {
    const r = isqrt(n);
    assert.ok(r * r <= n && (r + 1n) * (r + 1n) > n, `isqrt(${n})`);
  }
  assert.throws(() => isqrt(-1n));
  assert.equal(rootRatio(1n, 4n), '0.500000');
  assert.equal(rootRatio(2n, 1n), '1.414214');
  assert.equal(rootRatio(0n, 7n), '0.000000');
  // sqrt(q) * 10^6 = k + 1/2 exactly: a tie, to even. (2.5e-6)^2 = 6.25e-12 and (3.5e-6)^2.
  assert.equal(rootRatio(625n, 10n ** 14n), '0.000002');
  assert.equal(rootRatio(1225n, 10n ** 14n), '0.000004');
  // Just above and below a tie.
  assert.equal(rootRatio(625n * 10n ** 6n + 1n, 10n ** 20n), '0.000003');
  assert.equal(rootRatio(625n * 10n ** 6n - 1n, 10n ** 20n), '0.000002');
});

test('integer sums stay Numbers while safe and are written as decimal strings beyond 2^53 - 1', () => {
  assert.equal(addInt(1, 2), 3);
  assert.equal(addInt(Number.MAX_SAFE_INTEGER, 0), Number.MAX_SAFE_INTEGER);
  assert.equal(addInt(Number.MAX_SAFE_INTEGER, 1), 9007199254740992n);
  assert.equal(addInt(-Number.MAX_SAFE_INTEGER, -1), -9007199254740992n);
  assert.equal(intOut(addInt(Number.MAX_SAFE_INTEGER, 1)), '9007199254740992');
  assert.equal(intOut(5n), 5);
  assert.equal(intOut(-9007199254740991n), -9007199254740991);
});

test("a float's exact value is that of its shortest text", () => {
  assert.deepEqual(decimalOf(0.1), { c: 1n, e: -1 });
  assert.deepEqual(decimalOf(1e-7), { c: 1n, e: -7 });
  assert.deepEqual(decimalOf(-2.5e-8), { c: -25n, e: -9 });
  assert.deepEqual(decimalOf(1.5e21), { c: 15n, e: 20 });
  assert.deepEqual(decimalOf(42), { c: 42n, e: 0 });
  assert.deepEqual(decimalOf(12.34), { c: 1234n, e: -2 });
});

test('instants: whole ms, sub-ms dropped, leap second, offsets, years 1 and 9999', () => {
  assert.equal(instantMs('1970-01-01T00:00:00Z'), 0);
  assert.equal(instantMs('1970-01-01T00:00:00.0019Z'), 1);
  assert.equal(instantMs('1970-01-01T00:00:00.999999999Z'), 999);
  assert.equal(instantMs('1970-01-01T00:00:00.5Z'), 500);
  assert.equal(instantMs('1970-01-01t08:00:00+08:00'), 0);
  assert.equal(instantMs('1969-12-31T19:00:00-05:00'), 0);
  assert.equal(instantMs('2016-12-31T23:59:60Z'), instantMs('2016-12-31T23:59:59Z'));
  assert.equal(instantMs('2016-12-31T23:59:60.5Z'), instantMs('2016-12-31T23:59:59Z') + 500);
  assert.equal(instantMs('2026-10-01T00:00:00.000+08:00'), Date.UTC(2026, 8, 30, 16));
  // Date.UTC reads years 0-99 as 1900-1999; ours does not.
  assert.equal(instantMs('0001-01-01T00:00:00Z'), -62135596800000);
  assert.equal(instantMs('0099-03-01T00:00:00Z'), new Date('0099-03-01T00:00:00Z').getTime());
  assert.equal(instantMs('9999-12-31T23:59:59.999999Z'), 253402300799999);
  assert.equal(instantMs('0001-01-01T08:00:00+08:00'), -62135596800000);
  assert.equal(instantMs('not a time'), null);
  assert.equal(instantMs('2026-01-01T00:00:00'), null);
});

test('days and ISO weeks in an offset, near midnight and at year boundaries', () => {
  const tz8 = tzOffsetMs('+08:00'), tzm = tzOffsetMs('-05:30');
  assert.equal(tz8, 8 * 3600000);
  assert.equal(tzm, -(5 * 3600000 + 30 * 60000));
  assert.equal(tzOffsetMs('+24:00'), null);
  assert.equal(tzOffsetMs('+08:60'), null);
  assert.equal(tzOffsetMs('08:00'), null);
  const at = (ts, tz) => dayText(dayOf(instantMs(ts), tz));
  assert.equal(at('2026-10-01T15:59:59.999Z', tz8), '2026-10-01');
  assert.equal(at('2026-10-01T16:00:00Z', tz8), '2026-10-02');
  assert.equal(at('2026-10-01T05:29:59.999Z', tzm), '2026-09-30');
  assert.equal(at('2026-10-01T05:30:00Z', tzm), '2026-10-01');
  assert.equal(at('1969-12-31T23:59:59.999Z', 0), '1969-12-31');
  assert.equal(at('0001-01-01T00:00:00Z', 0), '0001-01-01');
  assert.equal(at('9999-12-31T23:59:59Z', 0), '9999-12-31');
  const week = (y, m, d) => weekText(daysFromCivil(y, m, d));
  assert.equal(week(2026, 10, 1), '2026-W40');
  assert.equal(week(2021, 1, 3), '2020-W53'); // a Sunday: the last week of 2020
  assert.equal(week(2021, 1, 4), '2021-W01');
  assert.equal(week(2024, 12, 30), '2025-W01'); // a Monday in the first week of 2025
  assert.equal(week(2026, 1, 1), '2026-W01');
  assert.equal(week(2027, 1, 1), '2026-W53');
  assert.equal(week(1, 1, 1), '0001-W01'); // 0001-01-01 was a Monday
  assert.equal(week(9999, 12, 31), '9999-W52');
  for (const z of [-719162, -1, 0, 1, 20000, 2932896]) {
    const [y, m, d] = civilFromDays(z);
    assert.equal(daysFromCivil(y, m, d), z);
  }
});

test('strings order by code point, as Python sorts them', () => {
  assert.equal(compareCodePoints('a', 'b'), -1);
  assert.equal(compareCodePoints('ab', 'a'), 1);
  assert.equal(compareCodePoints('\u{1F600}', '\uFFFF'), 1); // UTF-16 would put the emoji first
  assert.equal(compareCodePoints('x', 'x'), 0);
});

test('inputs are checked: tz, mapping, thresholds', () => {
  assert.equal(checkTz('+00:00'), '+00:00');
  assert.throws(() => checkTz(undefined), BundleError);
  assert.equal(checkTz('-03:30'), '-03:30');
  assert.throws(() => checkTz('+8:00'), BundleError);
  assert.throws(() => checkTz(8), BundleError);
  assert.equal(checkMapping(null), null);
  assert.throws(() => checkMapping({ format: 'dpl-mapping/2', types: {} }), BundleError);
  assert.throws(() => checkMapping({ format: 'dpl-mapping/1', types: { 'x.y': { type: 'z' } } }), BundleError);
  assert.throws(() => checkMapping({ format: 'dpl-mapping/1', types: { 'mes.work_order': { type: 'a', fields: { nope: 'b' } } } }), BundleError);
  assert.deepEqual(checkThresholds(null), { ...DEFAULT_THRESHOLDS });
  assert.throws(() => checkThresholds({ max_gap_s: -1 }), BundleError);
  assert.throws(() => checkThresholds({ max_mismatch: '0.05' }), BundleError);
  assert.throws(() => checkThresholds({ surprise: 1 }), BundleError);
});

const at = (i, ts, type, data) => [i, { id: `r${i}`, ts, type, data }];
const OPTS = (n) => ({ logId: '0x' + '00'.repeat(32), stream: 's', start: 0, end: n, checkpointSize: n, checkpointRoot: '0x' + '11'.repeat(32) });

test('a small profile whose every figure is known', () => {
  const recs = [
    at(0, '2026-01-05T08:00:00Z', 'iot.telemetry', { machine: 'm1', state: 'running', parts_total: 10, power_kw: 1.5, temp_c: 90 }),
    at(1, '2026-01-05T09:00:00Z', 'iot.telemetry', { machine: 'm1', state: 'idle', parts_total: 70, power_kw: 0.5, temp_c: 80 }),
    at(2, '2026-01-05T10:00:00Z', 'iot.telemetry', { machine: 'm1', state: 'running', parts_total: 30, temp_c: 70 }), // reset
    at(3, '2026-01-05T12:00:00Z', 'mes.work_order', { product: 'P', qty_good: 95, qty_scrap: 5, qty_planned: 100, machine: 'm1' }),
    at(4, '2026-01-06T12:00:00Z', 'erp.sales_order', { customer: 'C', currency: 'EUR', amount_minor: 700, lines: [{ sku: 'P', qty: 50 }, { sku: 1 }] }),
    at(5, '2026-01-06T13:00:00Z', 'erp.sales_order', { customer: 'D', currency: 'EUR', amount_minor: 300 }),
    at(6, '2026-01-06T14:00:00Z', 'mes.work_order', { product: 'P', qty_good: 'x' }),
    at(7, '2026-01-06T14:00:00Z', 'other.kind', {}),
  ];
  const p = buildProfile(recs, OPTS(8));
  assert.equal(p.format, PROFILE_FORMAT);
  assert.deepEqual(p.coverage, { records: 8, first_ts: '2026-01-05T08:00:00Z', last_ts: '2026-01-06T14:00:00Z', days: 2,
    days_without_records: 0, longest_gap_s: 86400, types: { 'iot.telemetry': 3, 'mes.work_order': 2, 'erp.sales_order': 2, 'other.kind': 1 } });
  const m1 = p.iot.machines.m1;
  assert.equal(m1.parts, 60 + 30);
  assert.equal(m1.resets, 1);
  assert.equal(m1.running, 2);
  assert.equal(m1.utilization, '0.666667');
  assert.equal(m1.energy_kwh, '2.000000'); // 1.5 kW x 1 h + 0.5 kW x 1 h
  assert.equal(m1.energy_per_part, '0.022222');
  assert.equal(m1.longest_stop_s, 7200);
  assert.deepEqual(m1.temp_c, { readings: 3, p50: 80, p95: 90, max: 90, over_limit: '0.333333' });
  assert.equal(m1.vibration_mm_s, null);
  assert.equal(p.mes.skipped, 1);
  assert.equal(p.mes.scrap_rate, '0.050000');
  assert.equal(p.sales.by_currency.EUR.top1_share, '0.700000');
  assert.equal(p.sales.by_currency.EUR.hhi, '0.580000');
  assert.deepEqual(p.cross_source.by_machine_day, { m1: { '2026-01-05': [90, 100] } });
  assert.equal(p.cross_source.mismatch, '0.100000');
  assert.deepEqual(p.cross_source.by_product, { P: { mes_good: 95, erp_qty: 50, ratio: '1.900000' } });
  assert.deepEqual(p.flags.map((f) => [f.code, f.figure]), [
    ['gap', 'coverage.longest_gap_s'],
    ['device_health', 'iot.machines.m1.temp_c.over_limit'],
    ['customer_concentration', 'sales.by_currency.EUR.top1_share'],
    ['cross_source_mismatch', 'cross_source.mismatch'],
    ['skipped_records', 'mes.skipped'],
  ]);
});

test("a record whose day at the profile's offset is outside years 0001-9999 is refused, not named", () => {
  const one = (ts, tz) => buildProfile([at(0, ts, 'x', {})], { ...OPTS(1), tz });
  assert.throws(() => one('9999-12-31T12:00:00Z', '+23:59'), /record 0 falls on a day outside the years 0001-9999 at tz \+23:59/);
  assert.throws(() => one('0001-01-01T00:00:00Z', '-00:01'), BundleError);
  assert.equal(one('9999-12-31T12:00:00Z', '+11:59').daily[0].day, '9999-12-31');
  const p = one('0001-01-01T00:00:00Z', '+00:00');
  assert.equal(p.weekly[0].week, '0001-W01');
  assert.deepEqual(recordDisagreements({ ...p, tz: '-00:01' }, 0, recs0()), ['record 0 falls on a day outside the years 0001-9999']);
  assert.deepEqual(recordDisagreements(p, 0, recs0()), []);
});
const recs0 = () => ({ id: 'r0', ts: '0001-01-01T00:00:00Z', type: 'x', data: {} });

test('records parsed by json.js (floats as JsonFloat, key order kept) give the JSON.parse profile', async () => {
  const { parseJson } = await import('../../api/web/static/js/verify/json.js');
  const { canonicalText } = await import('../../api/web/static/js/verify/jcs.js');
  const texts = [
    '{"data":{"machine":"m","parts_total":5,"power_kw":1.25,"state":"running","temp_c":85.5,"vibration_mm_s":1e-7},"id":"a","ts":"2026-01-01T00:00:00Z","type":"iot.telemetry"}',
    '{"data":{"machine":"m","parts_total":9,"power_kw":2,"state":"idle","temp_c":1e+21},"id":"b","ts":"2026-01-01T01:00:00Z","type":"iot.telemetry"}',
    '{"data":{"amount_minor":10,"currency":"EUR","customer":"C","lines":[{"qty":2,"sku":"P"}]},"id":"c","ts":"2026-01-02T00:00:00Z","type":"erp.sales_order"}',
    '{"data":{"product":"P","qty_good":4,"qty_planned":5,"qty_scrap":1},"id":"d","ts":"2026-01-02T00:00:00Z","type":"mes.work_order"}',
  ];
  const a = buildProfile(texts.map((t, i) => [i, JSON.parse(t)]), OPTS(4));
  const b = buildProfile(texts.map((t, i) => [i, parseJson(t)]), OPTS(4));
  assert.equal(canonicalText(b), canonicalText(a));
  assert.equal(a.iot.machines.m.energy_kwh, '1.250000');
  assert.equal(Number(a.iot.machines.m.temp_c.max), 1e21); // a float past 2^53, written as one
  assert.match(canonicalText(a), /"max":1e\+21,/);
});
