// The covenant warnings' words (pages/warnings.js): every code's figure against its limit, exact
// from the API's texts; the window, what resolved a warning, the badge and the order. The
// rendering itself is held by the Chromium spec (tests/browser/warnings.spec.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  badgeOf, codeText, countWarnings, countsText, figureText, machineOf, newestFirst, resolvedByText, titleText, windowText,
} from '../../api/web/static/js/pages/warnings.js';

const warning = (over) => ({ id: 1, token_id: 7, key: 'output_floor/2026-W44', code: 'output_floor', state: 'open',
  window: { from: 2087, to: 2906 }, week: '2026-W44', checkpoint: { size: 4077, root: '0x' + 'ab'.repeat(32), anchor_tx: null },
  value: '240.000000', threshold: '336.000000', message: 'In 2026-W44, …', evidence: null, ...over });

test('each covenant code\'s figure against its limit, in words and exact', () => {
  assert.equal(figureText(warning()), '240 good units a day, below the floor of 336 a day');
  assert.equal(figureText(warning({ value: '240.500000' })), '240.5 good units a day, below the floor of 336 a day');
  assert.equal(figureText(warning({ code: 'cross_source_mismatch', value: '0.054531', threshold: '0.030000' })),
    'a mismatch of 5.45 % between machines and MES, above the limit of 3.00 %');
  assert.equal(figureText(warning({ code: 'scrap_ceiling', value: '0.061000', threshold: '0.050000' })),
    'a scrap rate of 6.10 %, above the ceiling of 5.00 %');
  assert.equal(figureText(warning({ code: 'customer_concentration', value: '0.612345', threshold: '0.500000' })),
    'the largest customer\'s share 61.23 %, above the limit of 50.00 %');
  assert.equal(figureText(warning({ code: 'stoppage', value: '90061', threshold: '28800' })),
    'silent for 90,061 s (25 h 1 min), longer than the limit of 28,800 s (8 h 0 min)');
  assert.equal(figureText(warning({ code: 'anchoring_cadence', value: '176400', threshold: '172800' })),
    'the newest anchored checkpoint is 176,400 s (49 h 0 min) old, older than 172,800 s (48 h 0 min)');
  assert.equal(figureText(warning({ code: 'new_code', value: '3', threshold: '2' })), 'value 3, threshold 2', 'a code added later: as it is');
  assert.equal(codeText('output_floor'), 'Output below the floor');
  assert.equal(codeText('toString'), 'toString', 'no inherited name is a code');
});

test('what a warning is about, its window, and what resolved it', () => {
  assert.equal(titleText(warning()), 'Output below the floor — week 2026-W44');
  const stop = warning({ code: 'stoppage', key: 'stoppage/press/07/range', week: null });
  assert.equal(machineOf(stop), 'press/07', 'a machine name may hold a slash');
  assert.equal(titleText(stop), 'A machine stopped reporting — machine press/07');
  assert.equal(titleText(warning({ code: 'anchoring_cadence', key: 'anchoring_cadence/4077', week: null })), 'Data stopped being anchored');
  assert.equal(windowText(warning()), 'records [2087, 2906) (819 records)');
  assert.equal(windowText(warning({ window: { from: 4077, to: 4077 } })), 'no record after checkpoint 4,077');
  assert.equal(resolvedByText(warning()), null, 'the API says nothing: nothing is said');
  assert.equal(resolvedByText(warning({ evidence: { code: 'output_floor', window: { from: 2906, to: 3700 }, week: '2026-W45', machine: null } })),
    'week 2026-W45 met the covenant again (records [2906, 3700))');
  assert.equal(resolvedByText(warning({ evidence: { code: 'stoppage', window: { from: 10, to: 90 }, week: null, machine: 'cnc-01' } })),
    'machine cnc-01 reported within the limit again (records [10, 90))');
  assert.equal(resolvedByText(warning({ evidence: { code: 'anchoring_cadence', window: { from: 5000, to: 5000 }, week: null, machine: null } })),
    'a newer checkpoint was anchored in time');
});

test('the badge: open first, acknowledged only, none open; counts and order', () => {
  assert.deepEqual(badgeOf({ open: 2, acknowledged: 1, resolved: 3 }), { text: '2 open warnings', kind: 'warning-open' });
  assert.deepEqual(badgeOf({ open: 1, acknowledged: 0, resolved: 0 }), { text: '1 open warning', kind: 'warning-open' });
  assert.deepEqual(badgeOf({ open: 0, acknowledged: 2, resolved: 1 }), { text: '2 acknowledged', kind: 'warning-acknowledged' });
  assert.deepEqual(badgeOf({ open: 0, acknowledged: 0, resolved: 1 }), { text: 'no open warning (1 resolved)', kind: 'warning-none' });
  assert.deepEqual(badgeOf(undefined), { text: 'no warnings', kind: 'warning-none' });
  const list = [warning({ id: 1 }), warning({ id: 2, state: 'resolved', window: { from: 467, to: 1200 } }),
    warning({ id: 3, state: 'acknowledged', window: { from: 3000, to: 3100 } }), warning({ id: 4, state: 'bogus' })];
  assert.deepEqual(countWarnings(list), { open: 1, acknowledged: 1, resolved: 1 });
  assert.equal(countsText(countWarnings(list)), '1 open · 1 acknowledged · 1 resolved');
  assert.deepEqual(newestFirst(list).map((w) => w.id), [3, 4, 1, 2], 'the later window first, then the later raised');
  assert.deepEqual(list.map((w) => w.id), [1, 2, 3, 4], 'the caller\'s list is left as it was');
});
