// The profile report's numbers as people read them (pages/profile_report.js): exact, from the
// profile's own texts, never through a float. The rendering itself is held by the Chromium spec
// (tests/browser/profile.spec.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { percent, fmtCount, decimal, duration, differs, dayMismatch, provenanceText } from '../../api/web/static/js/pages/profile_report.js';

test('a 6-decimal ratio as a percentage, rounded half-even on its own digits', () => {
  assert.equal(percent('0.012300'), '1.23 %');
  assert.equal(percent('1.000000'), '100.00 %');
  assert.equal(percent('0.000049'), '0.00 %');
  assert.equal(percent('0.000050'), '0.00 %', 'half to even (0)');
  assert.equal(percent('0.000150'), '0.02 %', 'half to even (2)');
  assert.equal(percent('0.000051'), '0.01 %');
  assert.equal(percent('-0.250000'), '-25.00 %');
  assert.equal(percent('-0.000001'), '0.00 %', 'no negative zero');
  assert.equal(percent('12.345678'), '1234.57 %');
  assert.equal(percent(null), '—');
  assert.equal(percent('n/a'), 'n/a', 'not a ratio: shown as it is');
});

test('counts exact beyond 2^53, decimals trimmed, durations in words', () => {
  assert.equal(fmtCount(1234567), '1,234,567');
  assert.equal(fmtCount('9007199254740993'), '9,007,199,254,740,993');
  assert.equal(fmtCount(null), '—');
  assert.equal(decimal('0.241000'), '0.241');
  assert.equal(decimal('2.000000'), '2');
  assert.equal(decimal(null), '—');
  assert.equal(duration(90000), '90,000 s (25 h 0 min)');
  assert.equal(duration(59), '59 s (0 min)');
});

test('a figure differs when it or a part of it does', () => {
  const d = ['mes.qty_good', 'daily[3].mes_good', 'cross_source.worst.mismatch'];
  assert.ok(differs('mes.qty_good', d));
  assert.ok(differs('cross_source.worst', d));
  assert.ok(differs('daily', d));
  assert.ok(!differs('mes.qty_good_x', d));
  assert.ok(!differs('mes.scrap_rate', d));
});

test('heat map colour and provenance words', () => {
  assert.equal(dayMismatch(88, 168), 80 / 168);
  assert.equal(dayMismatch(0, 0), 0);
  assert.equal(provenanceText({ kind: 'declared' }), 'declared by the factory');
  assert.equal(provenanceText({ kind: 'recomputed', records: 1234 }), 'recomputed from 1,234 disclosed records');
});

test('the fixture is a dpl-profile/1 with flags, machines, two currencies and a worst machine-day', () => {
  const p = JSON.parse(readFileSync(new URL('./fixtures/profile-report.json', import.meta.url), 'utf8'));
  assert.equal(p.format, 'dpl-profile/1');
  assert.deepEqual(Object.keys(p.sales.by_currency).sort(), ['EUR', 'USD']);
  assert.deepEqual(p.cross_source.worst, { machine: 'cnc-02', day: '2026-10-06', iot_parts: 88, mes_units: 168, mismatch: '0.476190' });
  assert.ok(p.flags.some((f) => f.code === 'cross_source_mismatch'));
});
