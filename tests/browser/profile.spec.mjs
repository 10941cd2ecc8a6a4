// Production profile and full disclosure, end to end in Chromium: the factory previews the
// profile of a range of acme/line-a (the report: flags, headline figures, charts) and discloses
// the range to bank-a after a review; bank-a opens the disclosure's report (every figure
// "declared by the factory"), verifies it in the browser (progress bar to 100 %, SOUND, every
// figure then "recomputed from N disclosed records"); a disclosure document altered on the way
// (route interception) is NOT SOUND naming the disclosure check, a profile with an inflated figure
// NOT SOUND naming the figure; printed (print media), the report keeps its charts and loses the
// navigation and every control; the factory revokes the disclosure and the lender can no longer
// open it; an auditor builds the profile of a range (figures, never records). The verification time is written to test-artifacts/browser/profile-timing.json.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE, KEYS, launch, openPage, signIn, shot, assertFits, assertOnlyExpected, WIDTHS } from './harness.mjs';

const ARTIFACTS = process.env.DPL_UI_ARTIFACTS || 'test-artifacts/browser';
const FROM = 0;
const TO = 3000; // of acme/line-a's sample month (3,198 records, IoT, MES and ERP)
const FORBIDDEN = /^console: Failed to load resource: the server responded with a status of 403 \(Forbidden\)$/;

let browser;
let disclosureId;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function call(method, path, slot, body) {
  const r = await fetch(BASE + path, {
    method, headers: { Authorization: `Bearer ${KEYS[slot]}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** The newest anchored checkpoint of acme/line-a reaches TO (the anchorer runs every 2 s). */
async function anchoredTo(size) {
  const [log] = (await call('GET', '/v1/logs', 'factory')).filter((l) => l.stream === 'acme/line-a');
  for (let i = 0; i < 60; i++) {
    const cps = await call('GET', `/v1/logs/${log.log_id}/checkpoints`, 'factory');
    if (cps.some((c) => c.size >= size && c.anchor)) return log;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`no anchored checkpoint of acme/line-a reaches ${size}`);
}

async function assertReport(report, provenance) {
  // flags first: the first section after the header is the flags, each naming figure and threshold
  const sections = await report.locator('section.report-section').evaluateAll((els) => els.map((e) => e.dataset.section));
  assert.deepEqual(sections.slice(0, 3), ['flags', 'headline', 'charts']);
  const flags = report.locator('.flag');
  if (await flags.count()) assert.match(await flags.first().textContent(), /figure .+ = .+, threshold .+/);
  for (const chart of ['daily-output', 'utilisation', 'heat-map']) {
    assert.equal(await report.locator(`svg[data-chart="${chart}"]`).count(), 1, `chart ${chart}`);
  }
  assert.ok(await report.locator('svg[data-chart^="sales-"]').count() >= 1, 'a sales-by-customer chart per currency');
  assert.ok(await report.locator('svg[data-chart="heat-map"] rect[data-mismatch]').count() > 0, 'heat map cells');
  const kinds = await report.locator('.figure').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.provenance))]);
  assert.deepEqual(kinds, [provenance], `every figure is ${provenance}`);
  for (const figure of ['mes.qty_good', 'mes.scrap_rate', 'mes.plan_attainment', 'cross_source.mismatch', 'coverage.records']) {
    assert.equal(await report.locator(`.figure[data-figure="${figure}"]`).count(), 1, `headline figure ${figure}`);
  }
}

test('the factory previews the profile of a range and discloses it to bank-a after a review', async () => {
  const log = await anchoredTo(TO);
  const page = await openPage(browser);
  await signIn(page, 'factory');
  await page.goto(BASE + '/factory');
  await page.locator('#p-log option').first().waitFor({ state: 'attached' });
  await page.selectOption('#p-log', log.log_id);
  await page.fill('#p-from', String(FROM));
  await page.fill('#p-to', String(TO));
  await page.fill('#p-tz', '+08:00');
  await page.getByRole('button', { name: 'Preview profile' }).click();
  const report = page.locator('#p-report [data-testid="profile-report"]');
  await report.waitFor();
  await assertReport(report, 'declared');
  assert.match(await report.locator('[data-figure="coverage.records"] .value').textContent(), /^3,000$/);
  assert.match(await report.locator('.report-head').textContent(), /days at \+08:00/);
  await shot(page, 'profile-factory-preview');

  // from the consent form: the range about to be pledged, previewed before consenting
  await page.selectOption('#c-log', log.log_id);
  await page.fill('#c-from', '0');
  await page.fill('#c-to', '200');
  await page.getByRole('button', { name: "Preview the range's profile" }).click();
  await page.locator('#p-report .figure[data-figure="coverage.records"] .value', { hasText: /^200$/ }).waitFor();
  assert.equal(await page.inputValue('#p-to'), '200');
  await page.fill('#p-to', String(TO));

  await page.fill('#d-lender', 'bank-a');
  await page.getByRole('button', { name: 'Disclose the range…' }).click();
  assert.match(await page.getByTestId('disclose-review').textContent(), /every record of acme\/line-a \[0, 3000\) — 3000 records, each with its salt — to bank-a/);
  await page.getByRole('button', { name: 'Confirm disclosure' }).click();
  const made = await page.getByTestId('disclosed').textContent();
  disclosureId = Number(/Disclosure #(\d+) made/.exec(made)[1]);
  await page.getByTestId(`disclosure-${disclosureId}`).waitFor();
  assert.match(await page.getByTestId(`disclosure-${disclosureId}`).textContent(), /\[0, 3000\).*live/);
  await assertFits(page);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

async function lenderReport(size = WIDTHS.desktop, routes = async () => {}) {
  const page = await openPage(browser, size);
  await routes(page);
  await signIn(page, 'lender_a');
  await page.waitForSelector('body[data-loaded="true"]');
  const card = page.getByTestId(`disclosure-${disclosureId}`);
  await card.getByRole('button', { name: 'Open report' }).click();
  const report = card.locator('[data-testid="profile-report"]');
  await report.waitFor();
  return { page, card, report };
}

test('bank-a opens the report and verifies it in the browser: progress to 100 %, SOUND, figures recomputed', async () => {
  assert.ok(disclosureId, 'the factory disclosed a range (previous test)');
  const { page, card, report } = await lenderReport();
  await assertReport(report, 'declared');
  assert.match(await report.locator('[data-testid="provenance"]').textContent(), /declared by the factory until you verify/);
  await shot(page, 'profile-lender-declared');

  await card.getByRole('button', { name: 'Verify in this browser' }).click();
  const verdict = card.getByTestId('profile-verdict');
  await verdict.waitFor({ timeout: 120_000 });
  assert.match(await verdict.textContent(), /^SOUND — all \d+ checks passed$/, await card.getByTestId('profile-checks').textContent());
  const bar = card.getByTestId('verify-progress');
  const [value, max] = await bar.evaluate((el) => [el.value, el.max]);
  assert.equal(value, max);
  assert.equal(max, TO - FROM);
  assert.match(await card.getByTestId('verify-progress-text').textContent(), /^3,000 of 3,000 records \(100 %\)$/);
  const names = await card.locator('[data-testid="profile-checks"] li').evaluateAll((els) => els.map((e) => e.dataset.check));
  assert.deepEqual(names.slice(0, 4), ['profile', 'disclosure', 'same range', 'figures']);
  for (const chain of ['registry', 'bundle names this registry', 'factory', 'anchor']) assert.ok(names.includes(chain), `chain check ${chain}`);
  const after = card.locator('[data-testid="profile-report"]');
  await assertReport(after, 'recomputed');
  assert.match(await after.locator('[data-figure="mes.qty_good"] .prov').textContent(), /^recomputed from 3,000 disclosed records$/);
  const time = card.getByTestId('verify-time');
  const ms = Number(await time.getAttribute('data-ms'));
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, 'profile-timing.json'), JSON.stringify({ records: TO - FROM, ms, detail: await time.textContent() }, null, 1));
  await assertFits(page);
  await shot(page, 'profile-lender-sound');

  // printed: no navigation, no buttons, the report and its charts kept
  await page.emulateMedia({ media: 'print' });
  for (const hidden of ['header.top', 'footer', `#verify-disclosure-${disclosureId}`, '#reload', '#d-chain']) {
    assert.equal(await page.locator(hidden).first().isVisible(), false, `${hidden} hidden in print`);
  }
  assert.equal(await page.locator('#held-title').isVisible(), false, 'the other sections are not printed');
  assert.ok(await after.isVisible());
  assert.ok(await after.locator('svg[data-chart="daily-output"]').isVisible(), 'charts kept in print');
  assert.ok(await after.locator('svg[data-chart="heat-map"]').isVisible(), 'charts kept in print');
  const breaks = await after.locator('section.report-section.charts').evaluate((el) => getComputedStyle(el).breakBefore);
  assert.equal(breaks, 'page');
  await shot(page, 'profile-lender-print');
  const pdf = await page.pdf({ format: 'A4' });
  assert.ok(pdf.length > 10_000);
  writeFileSync(join(ARTIFACTS, 'profile-report.pdf'), pdf);
  await page.emulateMedia({ media: 'screen' });
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a disclosure document altered on the way is NOT SOUND, naming the disclosure check', async () => {
  const tamper = async (page) => page.route('**/v1/disclosures/*/document', async (route) => {
    const response = await route.fetch();
    const text = await response.text();
    // one record's good quantity, on its own line: the range proof no longer leads to the root
    const altered = text.replace(/"qty_good":(\d+)/, (_, n) => `"qty_good":${Number(n) + 1}`);
    assert.notEqual(altered, text);
    await route.fulfill({ response, body: altered });
  });
  const { page, card } = await lenderReport(WIDTHS.desktop, tamper);
  await card.getByRole('button', { name: 'Verify in this browser' }).click();
  const verdict = card.getByTestId('profile-verdict');
  await verdict.waitFor({ timeout: 120_000 });
  assert.match(await verdict.textContent(), /^NOT SOUND — disclosure: range proof does not lead to the checkpoint root/);
  const failed = card.locator('[data-testid="profile-checks"] li[data-ok="false"]');
  assert.deepEqual(await failed.evaluateAll((els) => els.map((e) => e.dataset.check)), ['disclosure']);
  const kinds = await card.locator('.figure').evaluateAll((els) => [...new Set(els.map((e) => e.dataset.provenance))]);
  assert.deepEqual(kinds, ['declared'], 'nothing recomputed from records that did not verify');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a profile with an inflated figure is NOT SOUND, naming the figure; the report marks it', async () => {
  const inflate = async (page) => page.route('**/v1/disclosures/*/profile', async (route) => {
    const response = await route.fetch();
    const p = await response.json();
    p.mes.qty_good += 5000;
    await route.fulfill({ response, body: JSON.stringify(p) });
  });
  const { page, card } = await lenderReport(WIDTHS.phone, inflate);
  await card.getByRole('button', { name: 'Verify in this browser' }).click();
  const verdict = card.getByTestId('profile-verdict');
  await verdict.waitFor({ timeout: 120_000 });
  assert.match(await verdict.textContent(), /^NOT SOUND — figures: 1 figure\(s\) differ from the records: mes\.qty_good: claimed \d+, recomputed \d+$/);
  assert.equal(await card.locator('[data-testid="differences"] tr[data-figure="mes.qty_good"]').count(), 1);
  const marked = card.locator('[data-figure="mes.qty_good"].differs');
  assert.equal(await marked.count(), 1);
  assert.match(await marked.locator('.prov').textContent(), /^NOT what the records give: recomputed \d+$/);
  assert.equal(await card.locator(".figure[data-figure=\"mes.scrap_rate\"]").getAttribute('data-provenance'), 'declared');
  await assertFits(page);
  await shot(page, 'profile-lender-not-sound');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('text from a profile is only ever text: markup in names and messages is shown, never run; controls escaped', async () => {
  const hostile = '<img src=x onerror="window.pwned=1">';
  const hostileProfile = async (page) => page.route('**/v1/disclosures/*/profile', async (route) => {
    const response = await route.fetch();
    const p = await response.json();
    const [machine] = Object.keys(p.iot.machines);
    p.iot.machines[`${hostile}\u202e`] = p.iot.machines[machine];
    const cur = Object.keys(p.sales.by_currency)[0];
    p.sales.by_currency[cur].by_customer[hostile] = 1;
    p.flags.unshift({ code: 'gap', message: `${hostile} \u202emessage`, figure: hostile, value: '1', threshold: '0' });
    const [someDay] = Object.keys(Object.values(p.cross_source.by_machine_day)[0]);
    p.cross_source.by_machine_day[`${hostile}\u202e`] = { [someDay]: [1, 2] };
    p.sales.by_currency[`${cur}\u202e no-print`] = p.sales.by_currency[cur];
    await route.fulfill({ response, body: JSON.stringify(p) });
  });
  const { page, report } = await lenderReport(WIDTHS.desktop, hostileProfile);
  assert.equal(await report.locator('img').count(), 0, 'no element made from the text');
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  const flag = await report.locator('.flag').first().textContent();
  assert.ok(flag.includes('<img src=x onerror="window.pwned=1"> \\u202emessage'), flag);
  assert.ok((await report.textContent()).includes(`${hostile}\\u202e`), 'the machine name as text, its control escaped');
  assert.ok(await report.locator('svg text', { hasText: '<img src=x' }).count() > 0, 'in the charts too, as text');
  // a heat-map cell's tooltip and a currency's chart and amount: the control escaped there too, and a
  // name never becomes a class (a currency "EUR no-print" hid its chart from the printed report)
  assert.ok(!(await report.textContent()).includes('\u202e'), 'no raw bidi control anywhere in the report');
  assert.equal(await report.locator('svg.no-print').count(), 0, 'a currency is no class');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('an auditor builds the profile of a range of any log: the same report, figures only', async () => {
  const page = await openPage(browser);
  await signIn(page, 'auditor');
  await page.waitForSelector('body[data-loaded="true"]');
  const [log] = (await call('GET', '/v1/logs', 'auditor')).filter((l) => l.stream === 'acme/line-a');
  await page.selectOption('#pf-log', log.log_id);
  await page.fill('#pf-to', String(TO));
  await page.fill('#pf-tz', '+08:00');
  await page.getByRole('button', { name: 'Build profile' }).click();
  const report = page.locator('#pf-report [data-testid="profile-report"]');
  await report.waitFor();
  await assertReport(report, 'declared');
  assert.match(await report.locator('.figure[data-figure="coverage.records"] .value').textContent(), /^3,000$/);
  await assertFits(page);
  // before any audit ran, the page's "Latest audit" reads a 404 (it says so): the only console error allowed
  assertOnlyExpected(page, [[/status of 404 \(Not Found\)$/, /\/v1\/audit\/latest$/]]);
  await page.context().close();
});

test('the factory revokes the disclosure: the lender can no longer open it', async () => {
  const page = await openPage(browser);
  await signIn(page, 'factory');
  await page.goto(BASE + '/factory');
  const row = page.getByTestId(`disclosure-${disclosureId}`);
  await row.getByRole('button', { name: 'Revoke…' }).click();
  await row.getByRole('button', { name: 'Confirm revoke' }).click();
  await page.getByTestId(`disclosure-${disclosureId}`).filter({ hasText: 'revoked' }).waitFor();
  await page.context().close();
  const lender = await openPage(browser);
  await signIn(lender, 'lender_a');
  await lender.waitForSelector('body[data-loaded="true"]');
  const card = lender.getByTestId(`disclosure-${disclosureId}`);
  assert.match(await card.locator('h3').textContent(), /revoked/);
  assert.equal(await card.getByRole('button', { name: 'Open report' }).count(), 0);
  const r = await fetch(`${BASE}/v1/disclosures/${disclosureId}/document`, { headers: { Authorization: `Bearer ${KEYS.lender_a}` } });
  assert.equal(r.status, 403);
  assertOnlyExpected(lender, [[FORBIDDEN, /./]]);
  await lender.context().close();
});
