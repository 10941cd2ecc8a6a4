// Factory page: its log with size, root and anchor timeline; the activity chart against
// GET /v1/logs/{id}/activity; the fixture pledge; a consent prepared (the EIP-712 fields shown
// equal the draft's message), submitted and listed; bad forms refused next to the control.
// Consents here use records [1000, 1400) only (the server world is shared by all specs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, KEYS, TOKEN_ID, launch, openPage, signIn, shot, atBothWidths, devAccounts, injectWallet } from './harness.mjs';

let browser;
let log;
before(async () => {
  browser = await launch();
  log = (await bearer('GET', '/v1/logs')).find((l) => l.stream === 'acme/line-a'); // the demo's acme/line-v2 too
});
after(async () => { await browser?.close(); });

async function bearer(method, path, body) {
  const r = await fetch(BASE + path, {
    method, headers: { Authorization: `Bearer ${KEYS.factory}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

async function fillConsent(page, { from, to, lender = 'bank-a', samples = '6', loanRef = 'LOAN-UI-FACTORY' }) {
  await page.getByLabel('Log', { exact: true }).selectOption(log.log_id);
  await page.getByLabel('From (first record)', { exact: true }).fill(String(from));
  await page.getByLabel('To (exclusive)', { exact: true }).fill(String(to));
  await page.getByLabel('Lender (party name or address)', { exact: true }).fill(lender);
  await page.getByLabel('Principal', { exact: true }).fill('15,000.00');
  await page.getByLabel('Currency', { exact: true }).fill('EUR');
  await page.getByLabel('Maturity', { exact: true }).fill('2027-06-30');
  await page.getByLabel('Lien end', { exact: true }).fill('2027-12-31');
  await page.getByLabel('Samples', { exact: true }).fill(samples);
  await page.getByLabel('Loan reference', { exact: true }).fill(loanRef);
}

/** page.problems without Chromium's own line for each refused request the test provoked on purpose. */
const unexpected = (page, statuses) => page.problems.filter((p) =>
  !statuses.some((status) => p === `console: Failed to load resource: the server responded with a status of ${status} (${STATUS_TEXT[status]})`));
const STATUS_TEXT = { 404: 'Not Found', 409: 'Conflict', 422: 'Unprocessable Entity' };

const fieldValue = (page, table, name) =>
  page.locator(`table.${table} tr[data-field="${name}"] td[data-value]`).getAttribute('data-value');

test('the factory sees its log, anchors, chart and pledge', async () => {
  const page = await openPage(browser);
  await signIn(page, 'factory');
  assert.equal(new URL(page.url()).pathname, '/factory');
  const card = page.locator('article.log[data-log="acme/line-a"]');
  assert.equal(await card.getByTestId('size').textContent(), '3495');
  assert.equal(await card.getByTestId('root').textContent(), log.root);

  // the newest checkpoint's anchor is included or final, with a block number
  const newest = card.locator('table.checkpoints tbody tr').first();
  await newest.locator('td[data-state="final"], td[data-state="included"]').waitFor();
  assert.equal(await newest.getAttribute('data-size'), '3495');
  assert.match(await newest.locator('td').nth(4).textContent(), /^\d+$/);
  assert.match(await newest.locator('td').nth(3).textContent(), /^0x[0-9a-f]{10}…/);

  // "Anchor now": nothing new, the answer is reported and the timeline stays
  await card.getByRole('button', { name: 'Anchor now' }).click();
  // (409 next to the button when the background anchoring holds the lock right then)
  await card.locator('[role=status], [role=alert]').filter({ hasText: /size 3495|Nothing to anchor|another worker is anchoring/ }).first().waitFor();

  // the chart: bars and a legend naming the types the API counts
  const activity = await bearer('GET', `/v1/logs/${log.log_id}/activity`);
  const chart = page.locator('#activity [data-log="acme/line-a"] svg.activity-chart');
  await chart.waitFor();
  assert.ok(await chart.locator('rect').count() >= activity.days.length, 'a bar per day');
  assert.equal(await chart.locator('g.day').count(), activity.days.length);
  assert.match(await chart.locator('title').first().textContent(), /acme\/line-a/);
  const legend = await page.locator('#activity [data-log="acme/line-a"] .legend li').allTextContents();
  assert.deepEqual(legend, activity.types);
  for (const t of activity.types) assert.ok(await chart.locator(`rect[data-type="${t}"]`).count() > 0, `bars of ${t}`);

  // the fixture pledge, live
  const pledge = page.locator(`table.pledges tr[data-token="${TOKEN_ID}"]`);
  await pledge.waitFor();
  assert.equal(await pledge.locator('td').nth(1).locator('.badge').textContent(), 'live');
  assert.match(await pledge.textContent(), /bank-a/, 'the holder by name');
  assert.deepEqual(unexpected(page, [409]), [], page.problems.join('; ')); // 409: anchoring busy, see above
  await page.context().close();
});

test('a consent is prepared, shown field by field, signed by the service and listed', async () => {
  const page = await openPage(browser);
  await signIn(page, 'factory');
  await page.locator('table.consents').waitFor();
  const before = await page.locator('table.consents tbody tr[data-consent]').count();
  await fillConsent(page, { from: 1000, to: 1100, samples: '6' });
  await page.getByRole('button', { name: 'Prepare' }).click();
  await page.locator('table.message').waitFor();

  const draft = await bearer('POST', '/v1/pledges/consents/draft', {
    log_id: log.log_id, from: 1000, to: 1100, lender: 'bank-a', principal: 1500000, currency: 'EUR',
    maturity: '2027-06-30', lien_end: '2027-12-31', samples: 6, loan_ref: 'LOAN-UI-FACTORY' });
  const m = draft.typed_data.message;
  assert.equal(await fieldValue(page, 'message', 'start'), '1000');
  assert.equal(await fieldValue(page, 'message', 'end'), '1100');
  assert.equal(await fieldValue(page, 'message', 'samples'), '6');
  assert.equal(await fieldValue(page, 'message', 'lender'), m.lender);
  for (const k of ['logId', 'checkpointSize', 'assetDigest', 'principal', 'currency', 'maturity', 'lienEnd', 'loanRefDigest']) {
    assert.equal(await fieldValue(page, 'message', k), String(m[k]), k);
  }
  assert.equal(await fieldValue(page, 'domain', 'verifyingContract'), draft.typed_data.domain.verifyingContract);
  assert.equal(await fieldValue(page, 'domain', 'chainId'), String(draft.typed_data.domain.chainId));
  assert.equal(await page.locator('table.message tbody tr').count(), draft.typed_data.types.PledgeConsent.length);
  assert.equal(await page.locator('table.message tr[data-field="samples"] td').first().textContent(), 'uint32');
  // the amount typed as an amount ("15,000.00") is signed as 1500000 minor units, and shown as an amount
  assert.equal(await fieldValue(page, 'message', 'principal'), '1500000');
  assert.match(await page.locator('table.message tr[data-field="principal"]').textContent(), /15,000\.00 EUR \(in minor units: 1500000\)/);
  assert.match(await page.locator('table.message tr[data-field="maturity"]').textContent(), /2027-06-30$/, 'a date as a date');
  const summary = await page.getByTestId('consent-summary').textContent();
  assert.match(summary, /^By signing, you pledge records \[1000, 1100\) of acme\/line-a as collateral to bank-a \(0x[0-9a-fA-F]{6}…[0-9a-fA-F]{3}\) for a loan of 15,000\.00 EUR, maturing 2027-06-30\. The lien holds until 2027-12-31\. 6 sampled records will be disclosed to the lender\.$/, summary);
  await shot(page, 'factory-prepared');

  // a change after Prepare discards what was shown
  await page.getByLabel('Samples', { exact: true }).fill('7');
  await page.getByText('the prepared consent was discarded').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Sign and submit' }).count(), 0);

  await page.getByLabel('Samples', { exact: true }).fill('6');
  await page.getByRole('button', { name: 'Prepare' }).click();
  await page.locator('table.message').waitFor();
  const shownNonce = await fieldValue(page, 'message', 'nonce');
  const shownDeadline = await fieldValue(page, 'message', 'deadline');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  const result = page.getByTestId('consent-result');
  await result.waitFor();
  const id = (await result.locator('dd').first().textContent()).trim();
  assert.match(id, /^\d+$/);
  assert.match(await result.textContent(), /Nonce\s*\d+/);
  await page.locator(`table.consents tr[data-consent="${id}"]`).waitFor();
  assert.equal(await page.locator('table.consents tbody tr[data-consent]').count(), before + 1);
  assert.match(await page.locator(`table.consents tr[data-consent="${id}"]`).textContent(), /not issued/);
  const listed = (await bearer('GET', '/v1/pledges/consents')).find((c) => String(c.consent_id) === id);
  assert.equal(listed.consent.terms.from, 1000);
  assert.equal(listed.consent.terms.samples, 6);
  // what was signed is exactly what was shown: the nonce and deadline too
  assert.equal(listed.consent.nonce, shownNonce);
  assert.equal(String(listed.consent.deadline), shownDeadline);
  assert.match(await result.textContent(), /exactly the prepared one/);
  assert.deepEqual(page.problems, [], page.problems.join('; '));
  await page.context().close();
});

test('a bad form shows the API error next to the control', async () => {
  const page = await openPage(browser);
  await signIn(page, 'factory');
  await page.locator('#c-log option').first().waitFor({ state: 'attached' });

  await fillConsent(page, { from: 1300, to: 1300 });
  await page.getByRole('button', { name: 'Prepare' }).click();
  let error = page.locator('#c-to-error');
  await error.waitFor();
  assert.match(await error.textContent(), /range \[1300, 1300\) is empty/);
  assert.equal(await page.getByLabel('To (exclusive)', { exact: true }).getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('table.message').count(), 0, 'nothing prepared');

  await page.getByLabel('To (exclusive)', { exact: true }).fill('999999');
  await page.getByRole('button', { name: 'Prepare' }).click();
  await page.locator('#c-to-error').filter({ hasText: /goes past the end of acme\/line-a, which has 3495 records/ }).waitFor();

  await fillConsent(page, { from: 1200, to: 1400, lender: 'no-such-bank' });
  await page.getByRole('button', { name: 'Prepare' }).click();
  error = page.locator('#c-lender-error');
  await error.waitFor();
  assert.match(await error.textContent(), /'no-such-bank' is not a lender party/);
  assert.equal(await page.locator('#c-to-error').count(), 0, 'the earlier error is gone');
  assert.equal(await page.getByLabel('To (exclusive)', { exact: true }).getAttribute('aria-describedby'), null);
  assert.equal(await page.getByLabel('Lender (party name or address)').getAttribute('aria-describedby'), 'c-lender-error');
  // clearing the errors leaves a field's own hint where it was
  assert.equal(await page.locator('#c-deadline-hint').count(), 1, 'the deadline hint stays');
  assert.equal(await page.locator('#c-deadline').getAttribute('aria-describedby'), 'c-deadline-hint');
  await shot(page, 'factory-refused');
  assert.deepEqual(unexpected(page, [404, 422]), [], page.problems.join('; '));
  await page.context().close();
});

test('without custody the page offers to paste a signature, which the API checks', async () => {
  const page = await openPage(browser);
  await signIn(page, 'factory');
  // acme is custodial: answer this one submission as the API answers a factory without a key
  let refused = false;
  await page.route('**/v1/pledges/consents', (route) => (route.request().method() !== 'POST' || refused
    || JSON.parse(route.request().postData()).consent ? route.continue()
    : (refused = true, route.fulfill({ status: 409, contentType: 'application/problem+json', body: JSON.stringify({
      type: 'https://data-pledge-ledger.dev/problems/not-custodial', title: 'not custodial', status: 409,
      detail: 'the service holds no key for this factory: sign the draft (POST /v1/pledges/consents/draft) and submit the consent' }) }))));
  await page.locator('table.consents').waitFor();
  await fillConsent(page, { from: 1100, to: 1200 });
  await page.getByRole('button', { name: 'Prepare' }).click();
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.locator('#prepared p.error').filter({ hasText: /holds no key for this factory/ }).waitFor();
  const signature = page.getByLabel('Signature', { exact: true });
  await signature.waitFor();
  await signature.fill('0x1234');
  await page.getByRole('button', { name: 'Submit signature' }).click();
  await page.locator('#c-signature-error').filter({ hasText: /130 hex digits/ }).waitFor();
  await signature.fill('0x' + '11'.repeat(32) + '22'.repeat(32) + '1b');  // well formed, not acme's
  await page.getByRole('button', { name: 'Submit signature' }).click();
  await page.locator('#c-signature-error').filter({ hasText: /not this factory's signature/ }).waitFor();
  await shot(page, 'factory-self-signed');
  assert.deepEqual(unexpected(page, [409, 422]), [], page.problems.join('; '));
  await page.context().close();
});

test('the factory signs an extension past a pledge\'s max lien end, shown field by field', async () => {
  const consented = await bearer('POST', '/v1/pledges/consents', { terms: {
    log_id: log.log_id, from: 1500, to: 1600, lender: 'bank-a', principal: 700000, currency: 'EUR',
    maturity: '2027-06-30', lien_end: '2027-12-31', samples: 3, loan_ref: 'LOAN-UI-EXTEND' } });
  const issued = await as(KEYS.lender_a, 'POST', '/v1/pledges', { consent_id: consented.consent_id });
  const token = issued.token_id;

  const page = await openPage(browser);
  await signIn(page, 'factory');
  const row = page.locator(`table.pledges tr[data-token="${token}"]`);
  await row.waitFor();
  assert.match(await row.locator('td[data-field="max_lien_end"]').textContent(), /^2027-12-31$/, 'no slack: max = lien end (a date, shown as a date)');
  await page.getByLabel('Pledge (live)').selectOption(String(token));
  await page.getByLabel('New lien end', { exact: true }).fill('2027-12-31');
  await page.getByRole('button', { name: 'Draft extension' }).click();
  await page.locator('#x-lien-end-error').filter({ hasText: /is not after the pledge's lien end/ }).waitFor();

  await page.getByLabel('New lien end', { exact: true }).fill('2028-06-30');
  await page.getByRole('button', { name: 'Draft extension' }).click();
  await page.locator('table.extension').waitFor();
  const value = (name) => page.locator(`table.extension tr[data-field="${name}"] td[data-value]`).getAttribute('data-value');
  assert.equal(await value('tokenId'), String(token));
  assert.equal(await page.locator('table.extension-domain tr[data-field="verifyingContract"] td[data-value]').getAttribute('data-value'), consented.consent.typed_data.domain.verifyingContract);
  assert.equal(await value('newLienEnd'), String(Date.UTC(2028, 5, 30) / 1000));
  assert.match(await page.locator('table.extension tr[data-field="newLienEnd"]').textContent(), /2028-06-30: the pledge's holder may move/);
  const nonce = await value('nonce');
  assert.match(nonce, /^\d{20,78}$/, 'a 256-bit nonce, exact as a decimal string');
  await shot(page, 'factory-extension-prepared');
  await page.getByRole('button', { name: 'Sign extension and submit' }).click();
  const result = page.getByTestId('extension-result');
  await result.waitFor();
  assert.match(await result.textContent(), /Extension #\d+ signed\..*2028-06-30.*exactly the prepared one/);
  const [listed] = (await bearer('GET', '/v1/pledges/extensions')).filter((e) => e.token_id === token);
  assert.equal(listed.extension.nonce, nonce, 'the service signed the nonce shown');
  assert.equal(listed.used, false);
  await page.locator(`table.extensions tr[data-extension="${listed.extension_id}"]`).filter({ hasText: 'not used yet' }).waitFor();
  // the holder uses it; the registry moves lien end and max lien end together
  await as(KEYS.lender_a, 'POST', `/v1/pledges/${token}/extend`, { extension_id: listed.extension_id });
  const view = await bearer('GET', `/v1/pledges/${token}`);
  assert.equal(view.terms.lien_end, Date.UTC(2028, 5, 30) / 1000);
  assert.deepEqual(unexpected(page, [409, 422]), [], page.problems.join('; '));
  await page.context().close();
});

test('the factory page fits 1280 and 390 px', async () => {
  await atBothWidths(browser, 'factory', '/factory', 'factory', async (page) => {
    await page.locator('article.log[data-log="acme/line-a"] table.checkpoints').waitFor();
    await page.locator('#activity [data-log="acme/line-a"] svg.activity-chart').waitFor();
    await page.locator('table.pledges').waitFor();
    await page.locator('table.consents').waitFor();
  });
});

test('a factory creates a log and appends a file of records, all or nothing', async () => {
  const { writeFileSync, mkdtempSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'dpl-records-'));
  const stream = `ui-upload-${Date.now()}`;
  const rec = (i, ts = `2026-11-0${i}T08:00:00Z`) => JSON.stringify({ id: `up-${i}`, ts, type: 'iot.telemetry', data: { t: 20 + i } });
  const good = join(dir, 'good.jsonl');
  writeFileSync(good, [1, 2, 3].map((i) => rec(i)).join('\n') + '\n');
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, [rec(4), rec(5, '2026-13-01T00:00:00Z'), rec(6)].join('\n') + '\n');

  const page = await openPage(browser);
  await signIn(page, 'factory');
  await page.getByLabel('New log (stream name)').fill(stream);
  await page.getByRole('button', { name: 'Create log' }).click();
  await page.locator('#a-result').filter({ hasText: `acme/${stream} created` }).waitFor();
  assert.equal(await page.locator('#a-log option:checked').textContent(), `acme/${stream} (0 records)`);

  await page.getByLabel('Records file (.jsonl, .ndjson or .json)').setInputFiles(good);
  await page.getByRole('button', { name: 'Append' }).click();
  const result = page.getByTestId('append-result');
  await result.waitFor();
  assert.match(await result.textContent(), /appended 3, already stored 0; the log now has 3 records/);
  // the logs above show the new log with its size
  await page.locator('#logs').getByText(`acme/${stream}`).waitFor();

  await page.getByLabel('Records file (.jsonl, .ndjson or .json)').setInputFiles(good);
  await page.getByRole('button', { name: 'Append' }).click();
  await page.getByTestId('append-result').filter({ hasText: 'appended 0, already stored 3' }).waitFor();

  await page.getByLabel('Records file (.jsonl, .ndjson or .json)').setInputFiles(bad);
  await page.getByRole('button', { name: 'Append' }).click();
  const error = page.locator('#a-file-error');
  await error.waitFor();
  assert.equal((await error.textContent()).match(/up-5/g).length, 1, 'the record is named once');
  assert.match(await error.textContent(), /ts/);
  assert.match(await page.locator('#a-result').textContent(), /Nothing from bad\.jsonl was stored/);
  const logs = await bearer('GET', '/v1/logs');
  assert.equal(logs.find((l) => l.stream === `acme/${stream}`).size, 3, 'the bad file stored nothing');
  await shot(page, 'factory-records');
  assert.deepEqual(unexpected(page, [422]), [], page.problems.join('; '));
  await page.context().close();
});

test('a factory without custody signs its checkpoint and its consent with its browser wallet', async () => {
  // anvil's dev9, whose key the service does not hold (conftest.py takes it out of the keyring):
  // the wallet signs RegisterLog and the checkpoint, the service anchors; then the consent.
  const account = (await devAccounts())[9];
  const name = `own-wallet-factory-${Date.now()}`;
  const admin = (method, path, body) => as(KEYS.admin, method, path, body);
  await admin('POST', '/v1/parties', { name, role: 'factory', address: account });
  const key = (await admin('POST', `/v1/parties/${name}/keys`)).key;
  KEYS.own_wallet_factory = key;
  const mine = await as(key, 'POST', '/v1/logs', { stream: 'line-w' });
  const records = Array.from({ length: 40 }, (_, i) => ({
    id: `w-${i}`, ts: `2026-11-${String(1 + (i % 20)).padStart(2, '0')}T06:00:00Z`, type: 'iot.telemetry', data: { v: i } }));
  await as(key, 'POST', `/v1/logs/${mine.log_id}/records`, records);
  const [waiting] = await anchorNow(key, mine.log_id);
  assert.equal(waiting.state, 'awaiting-signature');

  const page = await openPage(browser);
  await injectWallet(page, account);
  await signIn(page, 'own_wallet_factory');
  const card = page.locator(`article[data-log="${name}/line-w"]`);
  await card.getByTestId('sign-checkpoint').click();
  await card.getByText(/size 40: (included|final)/).waitFor();
  await card.locator('table.checkpoints tr[data-size="40"] td[data-state="included"], table.checkpoints tr[data-size="40"] td[data-state="final"]').waitFor();
  await shot(page, 'factory-wallet-checkpoint');
  await page.getByLabel('Log', { exact: true }).selectOption(mine.log_id);
  await page.getByLabel('From (first record)', { exact: true }).fill('0');
  await page.getByLabel('To (exclusive)', { exact: true }).fill('20');
  await page.getByLabel('Lender (party name or address)', { exact: true }).fill('bank-a');
  await page.getByLabel('Principal', { exact: true }).fill('900');
  await page.getByLabel('Loan reference', { exact: true }).fill('LOAN-UI-WALLET');
  await page.getByRole('button', { name: 'Prepare' }).click();
  await page.locator('table.message').waitFor();
  const shownNonce = await fieldValue(page, 'message', 'nonce');
  await page.getByRole('button', { name: 'Sign and submit' }).click();
  await page.locator('#prepared p.error').filter({ hasText: /holds no key for this factory/ }).waitFor();
  await page.getByRole('button', { name: 'Sign with your browser wallet' }).click();
  const result = page.getByTestId('consent-result');
  await result.waitFor();
  assert.match(await result.textContent(), /exactly the prepared one/);
  assert.equal(await page.locator('#prepared p.error').count(), 0, 'the refusal is answered: no error left');
  const [listed] = await as(key, 'GET', '/v1/pledges/consents');
  assert.equal(listed.consent.nonce, shownNonce);
  assert.equal(listed.consent.factory.toLowerCase(), account.toLowerCase());
  assert.match(listed.consent.signature, /^0x[0-9a-f]{130}$/);  // recovered to the factory by the API, or refused
  await shot(page, 'factory-wallet-signed');

  // bank-a issues it; the wallet signs an extension of its lien (eth_signTypedData_v4 of a
  // document whose integers, the 256-bit nonce among them, are decimal strings)
  const { token_id: token } = await as(KEYS.lender_a, 'POST', '/v1/pledges', { consent_id: listed.consent_id });
  await page.reload();
  await page.locator(`#x-token option[value="${token}"]`).waitFor({ state: 'attached' });
  await page.getByLabel('Pledge (live)').selectOption(String(token));
  await page.getByLabel('New lien end', { exact: true }).fill('2029-01-31');
  await page.getByRole('button', { name: 'Draft extension' }).click();
  await page.locator('table.extension').waitFor();
  await page.getByRole('button', { name: 'Sign extension and submit' }).click();
  await page.locator('#x-submit-error').filter({ hasText: /holds no key for this factory/ }).waitFor();
  await page.getByRole('button', { name: 'Sign extension with your browser wallet' }).click();
  await page.getByTestId('extension-result').filter({ hasText: /exactly the prepared one/ }).waitFor();
  const [ext] = await as(key, 'GET', '/v1/pledges/extensions');
  assert.equal(ext.token_id, token);
  assert.equal(ext.extension.factory.toLowerCase(), account.toLowerCase());
  await as(KEYS.lender_a, 'POST', `/v1/pledges/${token}/extend`, { extension_id: ext.extension_id });
  assert.equal((await as(key, 'GET', `/v1/pledges/${token}`)).terms.lien_end, Date.UTC(2029, 0, 31) / 1000);
  assert.deepEqual(unexpected(page, [409]), [], page.problems.join('; '));
  await page.context().close();
});

/** POST …/checkpoints/anchor, again while the background anchoring holds the lock (409 anchoring-busy, "retry in a moment"). */
async function anchorNow(key, logId) {
  for (let i = 0; ; i++) {
    const r = await fetch(`${BASE}/v1/logs/${logId}/checkpoints/anchor`, { method: 'POST', headers: { Authorization: `Bearer ${key}` } });
    const text = await r.text();
    if (r.status === 409 && /anchoring-busy/.test(text) && i < 40) { await new Promise((done) => setTimeout(done, 250)); continue; }
    assert.ok(r.ok, `anchor ${logId}: ${r.status} ${text}`);
    return JSON.parse(text);
  }
}

async function as(key, method, path, body) {
  const r = await fetch(BASE + path, {
    method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

test('the principal is typed as an amount: echoed as it will be signed; too many decimals is refused next to it', async () => {
  const page = await openPage(browser);
  await signIn(page, 'factory');
  await page.locator('table.consents').waitFor();
  await fillConsent(page, { from: 1000, to: 1100 });
  const principal = page.getByLabel('Principal', { exact: true });
  await principal.fill('50000');
  assert.equal(await page.locator('#c-principal-read').textContent(), '= 50,000.00 EUR');
  await page.getByLabel('Currency', { exact: true }).fill('JPY');
  assert.equal(await page.locator('#c-principal-read').textContent(), '= 50,000 JPY', 'the currency\'s own decimals');
  await page.getByLabel('Currency', { exact: true }).fill('EUR');
  await principal.fill('1.234');
  await page.getByRole('button', { name: 'Prepare' }).click();
  const error = page.locator('#c-principal-error');
  await error.waitFor();
  assert.equal(await error.textContent(), 'EUR has 2 decimals: "1.234" has 3');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'c-principal', 'the focus moves to the field');
  assert.equal(await page.locator('table.message').count(), 0, 'nothing prepared');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('a log card keeps itself current: new records, a new checkpoint and its anchor show without a reload', async () => {
  const stream = `ui-live-${Date.now()}`;
  const made = await bearer('POST', '/v1/logs', { stream });
  const rec = (i) => ({ id: `live-${i}`, ts: `2026-11-02T08:00:${String(i).padStart(2, '0')}Z`, type: 'iot.telemetry', data: { t: i } });
  await bearer('POST', `/v1/logs/${made.log_id}/records`, [1, 2, 3].map(rec));
  const page = await openPage(browser);
  await signIn(page, 'factory');
  const card = page.locator(`article.log[data-log="acme/${stream}"]`);
  await card.waitFor();
  assert.equal(await card.getByTestId('size').textContent(), '3');
  const loads = [];
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) loads.push(frame.url()); });

  // another client (here the API itself) appends: the card follows, with no reload
  const appended = await bearer('POST', `/v1/logs/${made.log_id}/records`, [4, 5, 6, 7].map(rec));
  assert.equal(appended.size, 7);
  await card.getByTestId('size').filter({ hasText: /^7$/ }).waitFor({ timeout: 20_000 });
  assert.equal(await card.getByTestId('root').textContent(), appended.root ?? (await bearer('GET', `/v1/logs/${made.log_id}`)).root);
  // the background anchoring (every 2 s here) anchors size 7: its row turns included or final
  await card.locator('table.checkpoints tr[data-size="7"] td[data-state="included"], table.checkpoints tr[data-size="7"] td[data-state="final"]')
    .waitFor({ timeout: 40_000 });
  assert.deepEqual(loads, [], 'no reload');
  assert.deepEqual(unexpected(page, [409]), [], page.problems.join('; '));
  await page.context().close();
});
