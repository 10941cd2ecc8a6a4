// verify/covenant_evidence.js: the parts of ledger/covenants.py a re-check ports (the set's check,
// Python's "{:.1f}" of hours, a machine's silences, one week's output floor). The whole re-check is
// held against Python by tests/web/test_covenant_evidence_parity.py.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCovenants, pyFixed1, silences, judgeWeek, weekBasis, recheckEvidence } from '../../api/web/static/js/verify/covenant_evidence.js';

test('hours print as Python prints f"{x:.1f}": exact binary ties go to even (toFixed rounds them up)', () => {
  // the answers are Python 3.11's
  const python = { 0.25: '0.2', 0.75: '0.8', 1.25: '1.2', 2.25: '2.2', 0.05: '0.1', 0.15: '0.1', 0.35: '0.3', 11: '11.0',
    10.95: '10.9', 2.5: '2.5', 48.75: '48.8', 8760.25: '8760.2' };
  for (const [x, text] of Object.entries(python)) assert.equal(pyFixed1(Number(x)), text, x);
  assert.equal((0.25).toFixed(1), '0.3'); // why pyFixed1 exists
});

test('a covenant set is checked with the Python words', () => {
  const good = { format: 'dpl-covenants/1', tz: '+08:00', covenants: [{ code: 'stoppage', max_hours: 8 }] };
  assert.deepEqual(checkCovenants(good), good);
  assert.throws(() => checkCovenants({ ...good, covenants: [{ code: 'stoppage', max_hours: 0 }] }),
    { message: 'covenants[0].max_hours: must be a whole number of hours from 1 to 8760, not 0' });
  assert.throws(() => checkCovenants({ ...good, covenants: [{ code: 'sunshine' }] }), /covenants\[0\]\.code: 'sunshine' is not a covenant/);
  assert.throws(() => checkCovenants({ ...good, covenants: [{ code: 'stoppage', max_hours: 8 }, { code: 'stoppage', max_hours: 9 }] }),
    { message: 'covenants[1].code: stoppage is listed twice' });
});

test('silences: from the range, between readings, and going on; a gap of exactly the limit is none', () => {
  const c = { code: 'stoppage', max_hours: 8 };
  const H = 3600000, cp = [100, '0x' + 'ab'.repeat(32)];
  const r = { inst: [9 * H, 12 * H, 20 * H, 40 * H], index: [10, 20, 30, 40] };
  const found = silences(c, cp, 'm1', r, { since: 0, start: 5, newest: 49 * H });
  assert.deepEqual(found.map((s) => [s.key, s.window, s.value]), [
    ['stoppage/m1/range', [5, 11], '32400'], ['stoppage/m1/30', [30, 41], '72000'], ['stoppage/m1/40', [40, 100], '32400']]);
  assert.match(found[1].message, /^Machine m1 sent no telemetry for 20\.0 hours after its reading 30 then reported again: more than 8 hours\.$/);
  assert.deepEqual(silences(c, cp, 'm1', { inst: [8 * H], index: [9] }, { since: 0, start: 5, newest: 16 * H }), []);
  assert.deepEqual(silences(c, cp, 'm2', undefined, { since: 0, start: 5, newest: 9 * H }).map((s) => [s.key, s.window]),
    [['stoppage/m2/range', [5, 100]]]);
});

test('one week judged by output_floor: below the floor a warning, else met with its value', () => {
  const c = { code: 'output_floor', min_percent: 70 };
  const basis = weekBasis(c, { mes: { qty_good: 6720 }, coverage: { days: 14 } }); // 480 a day: floor 336
  const week = (good) => ({ name: '2026-W44', first: 3, last: 9, profile: { mes: { qty_good: good }, coverage: { days: 7 } } });
  const low = judgeWeek(c, basis, [10, 'r'], week(1680)).warning;
  assert.deepEqual([low.value, low.threshold, low.window, low.key], ['240.000000', '336.000000', [3, 10], 'output_floor/2026-W44']);
  assert.deepEqual(judgeWeek(c, basis, [10, 'r'], week(2352)), { met: true, value: '336.000000' }); // exactly the floor
  assert.equal(weekBasis(c, { mes: null, coverage: { days: 3 } }), null);
});

test('a malformed warning is one failed check, not an exception', async () => {
  const v = await recheckEvidence('{"code": "stoppage", "code": "x"}', '{}', { covenants: {}, pledgedProfile: {} });
  assert.equal(v.stands, false);
  assert.deepEqual(v.checks.map((c) => [c.name, c.ok]), [['warning', false]]);
  assert.match(v.checks[0].detail, /duplicate key/);
});
