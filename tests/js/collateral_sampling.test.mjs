// The sampling statement of a dpl-asset/2 collateral report (verify/collateral.js), exact:
// 100 * 0.95^k rounded up to two significant digits, as ledger.pledge.collateral.ceil_percent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missPercent, samplingStatement, headlineFigures, figureText } from '../../api/web/static/js/verify/collateral.js';

test('miss percentages are exact and rounded up', () => {
  const cases = { 1: '95', 2: '91', 14: '49', 20: '36', 40: '13', 45: '10', 100: '0.60', 300: '0.000021' };
  for (const [k, want] of Object.entries(cases)) assert.equal(missPercent(Number(k)), want, `k=${k}`);
  // the bound is above the exact value by less than one unit of its last digit: k = 20
  const exact = (100n * 19n ** 20n * 10n ** 6n) / 20n ** 20n; // 100 * 0.95^20 in millionths, floored
  assert.ok(exact < 36_000_000n && exact >= 35_000_000n);
});

test('the statement says what sampling can and cannot detect', () => {
  const s = samplingStatement(20);
  assert.match(s, /20 samples would miss every one of them with probability at most 36 %/);
  assert.match(s, /records left out of the log/);
  assert.match(samplingStatement(1), /1 sample would miss/);
});

test('headline figures in order, null as none', () => {
  const p = {
    coverage: { records: 10, days: 2 }, mes: null,
    iot: { machines: { 'b-2': { parts: 5, utilization: '0.500000' }, 'a-1': { parts: 7, utilization: null } } },
    sales: { by_currency: { USD: { amount_minor: 9, top1_share: '1.000000' } } }, cross_source: { mismatch: '0.010000' },
  };
  assert.deepEqual(headlineFigures(p).map(([path]) => path), ['coverage.records', 'coverage.days',
    'iot.machines.a-1.parts', 'iot.machines.a-1.utilization', 'iot.machines.b-2.parts', 'iot.machines.b-2.utilization',
    'sales.by_currency.USD.amount_minor', 'sales.by_currency.USD.top1_share', 'cross_source.mismatch']);
  assert.equal(figureText(null), 'none');
  assert.equal(figureText(12), '12');
  assert.equal(figureText('0.500000'), '0.500000');
});
