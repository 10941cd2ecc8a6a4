// Loan applications in Chromium (docs/APPLICATIONS.md), end to end over the pages: acme applies
// to bank-a through the form (amount, purpose, collateral range, the grant); bank-a starts the
// review, reads the granted fields and the collateral's profile, approves with terms; acme reviews
// the consent draft and signs it (custody) — the application reads "consented" —; bank-a issues the
// pledge from "Consents naming you" and the application reads "pledged". Then the decline path (a
// reason code and words the factory reads) and the request-more path (acme answers with the grant
// asked for: the application is with the lender again), and a withdrawal that revokes its grants.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, KEYS, launch, openPage, signIn, shot, assertFits, atBothWidths } from './harness.mjs';

let browser;
let appId; // the application of the whole flow
let acmeLog;

before(async () => {
  browser = await launch();
  [acmeLog] = await call('GET', '/v1/logs', 'factory');
});
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

async function signedIn(slot) {
  const page = await openPage(browser);
  await signIn(page, slot);
  await page.locator('#applications article.application, #applications p.muted:not([role])').first().waitFor();
  return page;
}

/** An application made over the API (for the decline and request-more paths): records [2000, 2400) offered. */
async function applyOverApi(purpose) {
  const lender = (await call('GET', '/v1/grants', 'lender_a'))[0]?.lender;
  assert.ok(lender, "bank-a's address, from the demo's grant");
  const expires = new Date(Date.now() + 20 * 86400e3).toISOString().slice(0, 10) + 'T00:00:00Z';
  return call('POST', '/v1/applications', 'factory', {
    format: 'dpl-application/1', lender, amount: '50000000', currency: 'CNY', purpose,
    collateral: [{ log_id: acmeLog.log_id, from: 2000, to: 2400 }],
    grant: { format: 'dpl-grant/1', lender, logs: [acmeLog.log_id], records: { from: 2000, to: 2400 },
      types: { 'mes.work_order': ['product', 'qty_good'] }, expires },
  });
}

test('acme applies to bank-a through the form', async () => {
  const page = await signedIn('factory');
  const form = page.locator('#apply-form');
  await form.getByLabel('Apply to (lender name or address)').fill('bank-a');
  await form.getByLabel('Amount').fill('1,250,000.00');
  await form.getByLabel('Loan currency').fill('CNY');
  await form.getByLabel('Purpose').fill('Working capital for the Q1 BRK-220 order');
  await form.getByLabel('Collateral log').selectOption(acmeLog.log_id);
  await form.locator('#ap-types .grant-type[data-type="mes.work_order"]').waitFor();
  await form.getByLabel('Collateral from (first record)').fill('3000');
  await form.getByLabel('Collateral to (exclusive)').fill('3400');
  // no type chosen: refused beside the legend, nothing sent
  await form.getByRole('button', { name: 'Review application' }).click();
  assert.equal(await page.locator('#ap-types-legend-error').textContent(), 'choose at least one record type');
  await form.locator('#ap-types .grant-type[data-type="mes.work_order"]').getByRole('checkbox').check();
  await form.getByLabel('Fields of mes.work_order').fill('product, qty_good');
  await form.getByRole('button', { name: 'Review application' }).click();
  assert.match(await page.locator('#ap-review-text').textContent(),
    /^Apply to bank-a \(0x[0-9a-fA-F]{40}\) for 1,250,000\.00 CNY, offering records \[3000, 3400\) of acme\/line-a as collateral, and let the lender read them to decide: the records of type mes\.work_order \(product, qty_good\)/);
  assert.match(await page.locator('#ap-review-text').textContent(), /The lender may also read the production profile of the range \(days at \+08:00\)/);
  await page.getByRole('button', { name: 'Send application' }).click();
  const sent = page.getByTestId('applied');
  await sent.waitFor();
  appId = Number(/^Application #(\d+) sent to bank-a \(grant #\d+\)\.$/.exec(await sent.textContent())?.[1]);
  assert.ok(appId, await sent.textContent());
  const card = page.getByTestId(`application-${appId}`);
  await card.waitFor();
  assert.equal(await card.getAttribute('data-state'), 'submitted');
  assert.match(await card.locator('[data-field="amount"]').textContent(), /^1,250,000\.00 CNY$/);
  const kept = await call('GET', `/v1/applications/${appId}`, 'factory');
  assert.deepEqual([kept.application.amount, kept.application.collateral[0].from, kept.application.collateral[0].to, kept.application.profile],
    ['125000000', 3000, 3400, { tz: '+08:00' }]);
  await shot(page, 'applications-factory-applied');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('bank-a reviews the granted fields and the profile, then approves with terms', async () => {
  assert.ok(appId, 'applied (previous test)');
  const page = await signedIn('lender_a');
  let card = page.getByTestId(`application-${appId}`);
  await card.getByRole('button', { name: 'Start review' }).click();
  card = page.locator(`[data-testid="application-${appId}"][data-state="under-review"]`);
  await card.waitFor();

  // the granted records: only product and qty_good of the work orders in the range
  const [grantId] = (await call('GET', `/v1/applications/${appId}`, 'lender_a')).grant_ids;
  const grant = card.getByTestId(`ap-${appId}-grant-${grantId}`);
  await grant.getByLabel('To (exclusive)').fill('3100');
  await grant.getByRole('button', { name: 'Read records' }).click();
  const table = grant.locator('table.grant-records');
  await table.waitFor();
  assert.deepEqual(await table.locator('thead th').allTextContents(),
    ['Index', 'Id', 'ts', 'Type', 'product', 'qty_good', 'Other data fields', 'Proof']);
  assert.ok(await table.locator('tbody tr').count() > 0, 'work orders in [3000, 3100)');
  assert.ok(!(await page.content()).includes('product_name'), 'the hidden fields never reach the page');
  // the grant is shown twice (here and under Granted data): its controls keep distinct ids, so each label names one field
  const twice = await page.evaluate(() => {
    const seen = new Map();
    for (const el of document.querySelectorAll('[id]')) seen.set(el.id, (seen.get(el.id) || 0) + 1);
    return [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  });
  assert.deepEqual(twice, [], 'no id twice on the page');
  assert.equal(await page.getByTestId(`grant-${grantId}`).count(), 1, 'listed under Granted data too');

  // the collateral's production profile, as the report
  await card.getByRole('button', { name: "Open the collateral's profile" }).click();
  const report = card.getByTestId(`ap-${appId}-profile`);
  await report.getByText("The collateral's profile: records [3000, 3400), days at +08:00").waitFor();

  // approve with terms, reviewed in words first
  await card.getByLabel('Principal').fill('1,000,000.00');
  await card.getByLabel('Loan reference').fill(`LOAN-APP-UI-${appId}`);
  await card.getByRole('button', { name: 'Review decision' }).click();
  assert.match(await card.getByTestId(`ad-${appId}-review-text`).textContent(),
    new RegExp(`^Approve application #${appId}: lend 1,000,000\\.00 CNY against records \\[3000, 3400\\), maturity \\d{4}-06-30.*, with the range's production profile pledged\\. `));
  await card.getByRole('button', { name: 'Confirm decision' }).click();
  const approved = page.locator(`[data-testid="application-${appId}"][data-state="approved"]`);
  await approved.waitFor();
  assert.match(await approved.getByTestId('decision').textContent(), /^Approved: 1,000,000\.00 CNY against records \[3000, 3400\)/);
  await shot(page, 'applications-lender-approved');
  await assertFits(page);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('acme reviews the consent draft of the approved terms and signs it: consented', async () => {
  const page = await signedIn('factory');
  const card = page.locator(`[data-testid="application-${appId}"][data-state="approved"]`);
  await card.waitFor();
  assert.match(await card.getByTestId('decision').textContent(), /^Approved: 1,000,000\.00 CNY/);
  await card.getByRole('button', { name: 'Review and sign the consent…' }).click();
  const draft = card.getByTestId(`app-${appId}-draft`);
  await draft.getByTestId('consent-summary').waitFor();
  assert.match(await draft.getByTestId('consent-summary').textContent(),
    /^By signing, you pledge records \[3000, 3400\) of acme\/line-a as collateral to 0x3C44Cd.* for a loan of 1,000,000\.00 CNY/);
  await draft.getByRole('button', { name: 'Sign and submit' }).click();
  await page.getByTestId('app-consented').waitFor();
  const consented = page.locator(`[data-testid="application-${appId}"][data-state="consented"]`);
  await consented.waitFor();
  const kept = await call('GET', `/v1/applications/${appId}`, 'factory');
  assert.equal(kept.state, 'consented');
  assert.ok(kept.consent_id, 'the consent is linked');
  assert.deepEqual(kept.events.map((e) => e.action), ['submit', 'review', 'approve', 'consent']);
  await shot(page, 'applications-factory-consented');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('bank-a issues the pledge from the consent (the lender page\'s issue flow): pledged', async () => {
  const { consent_id: consentId } = await call('GET', `/v1/applications/${appId}`, 'lender_a');
  const page = await signedIn('lender_a');
  await page.locator('body[data-loaded="true"]').waitFor();
  await page.locator(`#issue-${consentId}`).click();
  await page.locator('#flash').getByText(new RegExp(`^Consent #${consentId} issued as pledge #\\d+\\.`)).waitFor();
  await page.getByRole('button', { name: 'Refresh applications' }).click();
  const pledged = page.locator(`[data-testid="application-${appId}"][data-state="pledged"]`);
  await pledged.waitFor();
  const kept = await call('GET', `/v1/applications/${appId}`, 'lender_a');
  assert.match(await pledged.textContent(), new RegExp(`Pledge #${kept.token_id} issued\\.`));
  assert.equal(kept.events.at(-1).action, 'pledge');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('decline: bank-a declines with a reason code and words; acme reads them', async () => {
  const app = await applyOverApi('Decline me');
  const page = await signedIn('lender_a');
  const card = page.getByTestId(`application-${app.id}`);
  await card.getByTestId(`ap-${app.id}-no-profile`).waitFor(); // offered without its profile
  await card.getByLabel('Decision', { exact: true }).selectOption('decline');
  // no words: refused beside the text
  await card.getByRole('button', { name: 'Review decision' }).click();
  assert.equal(await page.locator(`#ad-${app.id}-text-error`).textContent(), 'say why the application is declined');
  await card.getByLabel('Reason').selectOption('data-quality');
  await card.getByLabel('Why, in words (the factory reads it)').fill('Scrap above 5 % in the granted weeks.');
  await card.getByRole('button', { name: 'Review decision' }).click();
  await card.getByRole('button', { name: 'Confirm decision' }).click();
  await page.locator(`[data-testid="application-${app.id}"][data-state="declined"]`).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();

  const factory = await signedIn('factory');
  const mine = factory.locator(`[data-testid="application-${app.id}"][data-state="declined"]`);
  await mine.waitFor();
  assert.equal(await mine.getByTestId('decision').textContent(),
    'Declined (data-quality: the granted records or the profile show problems): Scrap above 5 % in the granted weeks.');
  assert.equal(await mine.getByRole('button', { name: 'Withdraw…' }).count(), 0, 'a declined application is final');
  assert.deepEqual(factory.problems, []);
  await factory.context().close();
});

test('request more: bank-a asks for a wider grant; acme grants as asked, then withdraws (its grants revoked)', async () => {
  const app = await applyOverApi('Ask me for more');
  const page = await signedIn('lender_a');
  const card = page.getByTestId(`application-${app.id}`);
  await card.getByLabel('Decision', { exact: true }).selectOption('request-more');
  await card.getByLabel(/^Record types and fields to ask for/).fill('mes.work_order: product, qty_good, qty_scrap');
  await card.getByLabel('Why more data is needed (the factory reads it)').fill('We need the scrap of each order.');
  await card.getByRole('button', { name: 'Review decision' }).click();
  assert.match(await card.getByTestId(`ad-${app.id}-review-text`).textContent(), /mes\.work_order: product, qty_good, qty_scrap/);
  await card.getByRole('button', { name: 'Confirm decision' }).click();
  await page.locator(`[data-testid="application-${app.id}"][data-state="more-data-requested"]`).waitFor();
  assert.deepEqual(page.problems, []);
  await page.context().close();

  const factory = await signedIn('factory');
  const asked = factory.locator(`[data-testid="application-${app.id}"][data-state="more-data-requested"]`);
  await asked.waitFor();
  assert.match(await asked.getByTestId('decision').textContent(), /^More data asked: We need the scrap of each order\./);
  await asked.getByRole('button', { name: 'Grant as asked' }).click();
  await factory.getByTestId('app-more-data').waitFor();
  const again = factory.locator(`[data-testid="application-${app.id}"][data-state="submitted"]`);
  await again.waitFor();
  const kept = await call('GET', `/v1/applications/${app.id}`, 'factory');
  assert.equal(kept.grant_ids.length, 2);
  const wider = await call('GET', `/v1/grants/${kept.grant_ids[1]}`, 'factory');
  assert.deepEqual(wider.grant.types, { 'mes.work_order': ['product', 'qty_good', 'qty_scrap'] });

  await again.getByRole('button', { name: 'Withdraw…' }).click();
  await again.getByRole('button', { name: 'Confirm withdraw (its grants are revoked)' }).click();
  await factory.getByTestId('app-withdrawn').waitFor();
  await factory.locator(`[data-testid="application-${app.id}"][data-state="withdrawn"]`).waitFor();
  for (const id of kept.grant_ids) assert.equal((await call('GET', `/v1/grants/${id}`, 'factory')).state, 'revoked');
  assert.deepEqual(factory.problems, []);
  await factory.context().close();
});

test('the factory and lender pages with applications fit 1280 and 390 px', async () => {
  await atBothWidths(browser, 'factory', '/factory', 'applications-factory', async (page) => {
    await page.locator(`[data-testid="application-${appId}"]`).waitFor();
  });
  await atBothWidths(browser, 'lender_a', '/lender', 'applications-lender', async (page) => {
    await page.locator(`[data-testid="application-${appId}"]`).waitFor();
  });
});
