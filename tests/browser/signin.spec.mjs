// Sign-in: each demo key lands on its role's page; a bad key is refused next to the field;
// signing out ends the session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, KEYS, launch, openPage, signIn, shot, assertFits, WIDTHS } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const HOMES = { factory: '/factory', lender_a: '/lender', auditor: '/auditor', admin: '/admin' };

test('the sign-in page shows the service status and fits a phone', async () => {
  for (const [label, size] of Object.entries(WIDTHS)) {
    const page = await openPage(browser, size);
    await page.goto(BASE + '/');
    assert.equal(await page.getByTestId('status').textContent(), 'ok');
    await assertFits(page);
    await shot(page, `signin-${label}`);
    await page.context().close();
  }
});

for (const [slot, home] of Object.entries(HOMES)) {
  test(`the ${slot} key signs in to ${home}`, async () => {
    const page = await openPage(browser);
    await signIn(page, slot);
    assert.equal(new URL(page.url()).pathname, home);
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'dpl_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Strict');
    assert.ok(!cookies.some((c) => c.value.includes(KEYS[slot])), 'the key is not in a cookie');
    assert.equal(await page.evaluate(() => document.cookie.includes('dpl_session')), false, 'scripts cannot read the session');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(BASE + '/');
    await page.goto(BASE + home);
    assert.equal(new URL(page.url()).pathname, '/', 'signed out: back to sign-in');
    await page.context().close();
  });
}

test('a wrong key is refused next to the field', async () => {
  const page = await openPage(browser);
  await page.goto(BASE + '/');
  await page.getByLabel('API key').fill('dpl_00000000_' + 'x'.repeat(43));
  await page.getByRole('button', { name: 'Sign in' }).click();
  const error = page.locator('#api_key-error');
  assert.match(await error.textContent(), /not valid/);
  assert.equal(await page.getByLabel('API key').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'api_key', 'focus is back on the field');
  assert.equal(await page.getByLabel('API key').inputValue(), '', 'the refused key is not echoed back');
  await shot(page, 'signin-refused');
  await page.context().close();
});
