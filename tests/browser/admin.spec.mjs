// Admin page: the demo parties and approved lenders; a new party and API key (shown once,
// working as a Bearer key from node, then revoked: 401); a lender approved and withdrawn;
// a duplicate party name refused next to the field. Names carry Date.now(): the server world
// is shared by all specs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BASE, KEYS, launch, openPage, signIn, shot, atBothWidths } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });
const stamp = Date.now();

/** page.problems without Chromium's own line for each refused request the test provoked on purpose. */
const unexpected = (page) => page.problems.filter((p) =>
  !/^console: Failed to load resource: the server responded with a status of (409|422) /.test(p));

async function openAdmin() {
  const page = await openPage(browser);
  await signIn(page, 'admin');
  assert.equal(new URL(page.url()).pathname, '/admin');
  await page.locator('table.parties').waitFor();
  await page.locator('table.keys').waitFor();
  await page.locator('table.lenders').waitFor();
  return page;
}

test('the admin sees the demo parties and the approved lenders', async () => {
  const page = await openAdmin();
  for (const name of ['admin', 'acme', 'bank-a', 'bank-b', 'audit-office']) {
    assert.equal(await page.locator(`table.parties tr[data-party="${name}"]`).count(), 1, name);
  }
  assert.match(await page.locator('table.parties tr[data-party="acme"]').textContent(), /factory/);
  for (const name of ['bank-a', 'bank-b']) {
    assert.equal(await page.locator(`table.lenders tr[data-party="${name}"]`).count(), 1, `${name} approved`);
  }
  assert.ok(await page.locator('table.keys tbody tr').count() >= 5);
  // the API's times carry their offset: shown as UTC date-times, not as raw text
  for (const created of await page.locator('table.keys tbody tr td:nth-child(3)').allTextContents()) {
    assert.match(created, /^\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC$/);
  }
  assert.deepEqual(page.problems, [], page.problems.join('; '));
  await page.context().close();
});

test('a new party gets a key that is shown once, works, and stops working when revoked', async () => {
  const page = await openAdmin();
  const name = `auditor-${stamp}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Role', { exact: true }).selectOption('auditor');
  await page.getByRole('button', { name: 'Create party' }).click();
  await page.locator(`table.parties tr[data-party="${name}"]`).waitFor();
  assert.match(await page.locator('#party-done').textContent(), new RegExp(`Party ${name} \\(auditor\\) created`));

  assert.equal(await page.getByLabel('Party', { exact: true }).inputValue(), name, 'the new party is chosen');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = (await page.getByTestId('new-key').textContent()).trim();
  assert.match(key, /^dpl_[0-9a-f]{8}_/);
  assert.match(await page.locator('.key-once').textContent(), /shown this once/);
  const prefix = key.split('_')[1];
  const row = page.locator(`table.keys tr[data-prefix="${prefix}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`${name}.*active`));
  await shot(page, 'admin-new-key');

  const asNew = () => fetch(BASE + '/v1/logs', { headers: { Authorization: `Bearer ${key}` } });
  assert.equal((await asNew()).status, 200, 'the new key works');

  await page.getByRole('button', { name: 'I have stored it: hide' }).click();
  assert.equal(await page.getByTestId('new-key').count(), 0, 'the key is gone from the page');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await asNew()).status, 200, 'cancelled: still works');
  await row.getByRole('button', { name: 'Revoke' }).click();
  await row.getByRole('button', { name: 'Yes, revoke' }).click();
  await row.locator('.badge.revoked').waitFor();
  assert.equal((await asNew()).status, 401, 'the revoked key is refused');
  assert.deepEqual(page.problems, [], page.problems.join('; '));
  await page.context().close();
});

test('a lender is approved by name and withdrawn', async () => {
  const page = await openAdmin();
  const name = `lender-${stamp}`;
  const address = '0x' + randomBytes(20).toString('hex');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Role', { exact: true }).selectOption('lender');
  await page.getByLabel('Chain address (optional)').fill(address);
  await page.getByRole('button', { name: 'Create party' }).click();
  await page.locator(`table.parties tr[data-party="${name}"]`).waitFor();

  await page.getByLabel('Lender (party name or address)').fill(name);
  await page.getByRole('button', { name: 'Approve' }).click();
  const row = page.locator(`table.lenders tr[data-party="${name}"]`);
  await row.waitFor();
  assert.equal((await row.locator('code').textContent()).toLowerCase(), address);
  assert.match(await page.locator('#lender-done').textContent(), /approved; transaction 0x/);

  await row.getByRole('button', { name: 'Withdraw' }).click();
  await row.getByRole('button', { name: 'Yes, withdraw' }).click();
  await row.waitFor({ state: 'detached' });
  assert.match(await page.locator('#lender-done').textContent(), /withdrawn/);
  assert.equal(await page.locator('table.lenders tr[data-party="bank-a"]').count(), 1, 'the others stay');
  assert.deepEqual(page.problems, [], page.problems.join('; '));
  await page.context().close();
});

test('a duplicate party name and a bad lender are refused next to their fields', async () => {
  const page = await openAdmin();
  await page.getByLabel('Name', { exact: true }).fill('acme');
  await page.getByLabel('Role', { exact: true }).selectOption('factory');
  await page.getByRole('button', { name: 'Create party' }).click();
  const error = page.locator('#p-name-error');
  await error.waitFor();
  assert.match(await error.textContent(), /a party named 'acme' exists already/);
  assert.equal(await page.getByLabel('Name', { exact: true }).getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Name', { exact: true }).fill(`bad-address-${stamp}`);
  await page.getByLabel('Chain address (optional)').fill('0x1234');
  await page.getByRole('button', { name: 'Create party' }).click();
  await page.locator('#p-address-error').filter({ hasText: /not an Ethereum address/ }).waitFor();
  assert.equal(await page.locator('#p-name-error').count(), 0, 'the earlier error is gone');
  assert.equal(await page.locator('#p-key-hint').count(), 1, "clearing errors keeps the key field's hint");
  assert.equal(await page.locator('#p-key').getAttribute('aria-describedby'), 'p-key-hint');
  assert.equal(await page.getByLabel('Chain address (optional)').getAttribute('aria-describedby'), 'p-address-error');

  await page.getByLabel('Lender (party name or address)').fill('acme');
  await page.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#l-who-error').filter({ hasText: /not a lender party/ }).waitFor();
  await shot(page, 'admin-refused');
  assert.deepEqual(unexpected(page), [], page.problems.join('; '));
  await page.context().close();
});

test('the factory directory: the demo factory is listed; a factory is listed by party name, refused, removed', async () => {
  const page = await openAdmin();
  await page.locator('table.factories').waitFor();
  const acme = page.locator('table.factories tr[data-party="acme"]');
  assert.match(await acme.textContent(), /ACME Precision Co\./, 'make run lists the demo factory');

  const name = `factory-${stamp}`;
  const address = '0x' + randomBytes(20).toString('hex');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Role', { exact: true }).selectOption('factory');
  await page.getByLabel('Chain address (optional)').fill(address);
  await page.getByRole('button', { name: 'Create party' }).click();
  await page.locator(`table.parties tr[data-party="${name}"]`).waitFor();

  // a name with a control character is refused next to the name field, and nothing is sent
  await page.getByLabel('Factory (party name or address)').fill(name);
  await page.getByLabel('Factory name').fill('Bell\u0007 Works');
  await page.getByLabel('Business registration number').fill('91310000-ma1fl0000y');
  await page.getByRole('button', { name: 'List factory' }).click();
  await page.locator('#f-name-error').filter({ hasText: /printable/ }).waitFor();
  assert.equal(await page.locator(`table.factories tr[data-party="${name}"]`).count(), 0);

  await page.getByLabel('Factory name').fill(`Works ${stamp} Ltd.`);
  await page.getByRole('button', { name: 'List factory' }).click();
  const row = page.locator(`table.factories tr[data-party="${name}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), new RegExp(`Works ${stamp} Ltd\\.`));
  assert.equal((await row.locator('code').first().textContent()).toLowerCase(), address);
  assert.match(await page.locator('#factory-done').textContent(), /listed as .*; transaction 0x/);
  const listed = await (await fetch(`${BASE}/v1/factories`, { headers: { Authorization: `Bearer ${KEYS.lender_a}` } })).json();
  assert.ok(listed.some((f) => f.address.toLowerCase() === address && f.name === `Works ${stamp} Ltd.`), 'a lender reads it too');
  await shot(page, 'admin-factories');

  await row.getByRole('button', { name: 'Remove' }).click();
  await row.getByRole('button', { name: 'Yes, remove' }).click();
  await row.waitFor({ state: 'detached' });
  assert.match(await page.locator('#factory-done').textContent(), /removed from the directory/);
  assert.equal(await acme.count(), 1, 'the others stay');
  assert.deepEqual(unexpected(page), [], page.problems.join('; '));
  await page.context().close();
});

test('the admin page fits 1280 and 390 px', async () => {
  await atBothWidths(browser, 'admin', '/admin', 'admin', async (page) => {
    await page.locator('table.parties').waitFor();
    await page.locator('table.keys').waitFor();
    await page.locator('table.lenders').waitFor();
    await page.locator('table.factories').waitFor();
  });
});
