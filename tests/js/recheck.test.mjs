// The lender page's choice of a disclosure to re-check a warning from (pages/lender/recheck.js):
// the records a code needs ([from, to + 1) for a weekly code, [from, to) for a stoppage), the same
// log, the warning's checkpoint or a later one, not revoked; the smallest that fits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coveringDisclosure, neededRange } from '../../api/web/static/js/pages/lender/recheck.js';

const LOG = '0x' + 'ab'.repeat(32);
const stoppage = { code: 'stoppage', window: { from: 3487, to: 3575 }, checkpoint: { size: 3575 } };
const weekly = { code: 'cross_source_mismatch', window: { from: 2000, to: 2900 }, checkpoint: { size: 3495 } };
const d = (id, from, to, extra = {}) => ({ id, log_id: LOG, range: { from, to }, checkpoint_size: 3575, revoked_at: null, ...extra });

test('a weekly code needs the record after its window; a stoppage its window', () => {
  assert.deepEqual(neededRange(weekly), { from: 2000, to: 2901 });
  assert.deepEqual(neededRange(stoppage), { from: 3487, to: 3575 });
});

test('the smallest live disclosure of the log holding the window at the checkpoint or later', () => {
  assert.equal(coveringDisclosure(stoppage, LOG, [d(1, 0, 3575), d(2, 3487, 3575), d(3, 3400, 3575)]).id, 2);
  assert.equal(coveringDisclosure(stoppage, LOG.toUpperCase().replace('0X', '0x'), [d(2, 3487, 3575)]).id, 2, 'log ids compared in any case');
  assert.equal(coveringDisclosure(stoppage, LOG, [d(2, 3488, 3575)]), null, 'misses the first record');
  assert.equal(coveringDisclosure(stoppage, LOG, [d(2, 3487, 3574)]), null, 'misses the last record');
  assert.equal(coveringDisclosure(stoppage, LOG, [d(2, 3487, 3575, { revoked_at: '2026-12-01T00:00:00Z' })]), null, 'revoked');
  assert.equal(coveringDisclosure(stoppage, LOG, [d(2, 3487, 3575, { log_id: '0x' + 'cd'.repeat(32) })]), null, 'another log');
  assert.equal(coveringDisclosure(stoppage, LOG, [d(2, 3487, 3575, { checkpoint_size: 3574 })]), null, 'an earlier checkpoint');
  assert.equal(coveringDisclosure(weekly, LOG, [d(4, 2000, 2900)]), null, 'a weekly code without the record after its window');
  assert.equal(coveringDisclosure(weekly, LOG, [d(4, 2000, 2901)]).id, 4);
});
