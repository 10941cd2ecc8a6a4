// Lender: the fixture pledge with its terms; a consent made from here is issued through the
// page; Declare default is disabled before maturity (with the date) and, after it, reviewed, a
// refusal of the registry shown in words; a transfer to bank-b, after a review, moves it out of
// bank-a's list and into bank-b's, which extends and releases it (review step); a lien end past the max lien end is refused on the page until
// the factory signs an extension, which the page then offers and uses; a lender without a
// custodial key is shown the transaction to send; both widths fit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, KEYS, TOKEN_ID, REGISTRY, launch, openPage, signIn, shot, atBothWidths, devAccounts, injectWallet, assertOnlyExpected } from './harness.mjs';

// Chrome logs every non-2xx fetch as a console error; these specs cause 409s on purpose (a
// contract refusal, a lender without custody): only those, at those URLs, are let through.
const CONFLICT = /^console: Failed to load resource: the server responded with a status of 409 \(Conflict\)$/;

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function call(method, path, slotOrKey, body) {
  const key = KEYS[slotOrKey] || slotOrKey;
  const r = await fetch(BASE + path, {
    method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text);
}

/** acme (custodial) consents to pledging [from, to) of acme/line-a to `lender`. */
async function consent(from, to, lender, maxLienEnd = '2028-12-31') {
  const [log] = await call('GET', '/v1/logs', 'factory');
  const out = await call('POST', '/v1/pledges/consents', 'factory', { terms: {
    log_id: log.log_id, from, to, lender, principal: 1_000_000, currency: 'USD', maturity: '2027-06-30',
    lien_end: '2027-12-31', max_lien_end: maxLienEnd, samples: 4, loan_ref: `LOAN-UI-LENDER-${from}` } });
  return out.consent_id;
}

async function lenderPage(slot) {
  const page = await openPage(browser);
  await signIn(page, slot);
  assert.equal(new URL(page.url()).pathname, '/lender');
  await page.waitForSelector('body[data-loaded="true"]');
  return page;
}

test('lender_a sees the fixture pledge live with its terms', async () => {
  const page = await lenderPage('lender_a');
  const card = page.getByTestId(`pledge-${TOKEN_ID}`);
  assert.equal(await card.locator('h3 .badge').textContent(), 'live');
  const text = await card.textContent();
  for (const want of ['acme/line-a', '[0, 200)', '25,000.00 EUR', 'Samples8', 'Maturity2027-06-30', 'Lien end2027-12-31']) {
    assert.ok(text.includes(want), `pledge card shows ${want}: ${text}`);
  }
  assert.match(text, /Checkpoint size[1-9][\d,]*/);
  assert.match(text, /Asset digest0x[0-9a-f]{10}…/);
  assert.equal(await card.getByRole('link', { name: 'Verify collateral' }).getAttribute('href'), `/verify?token=${TOKEN_ID}`);
  // hashes and addresses: shortened, copied whole
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const copy = card.getByRole('button', { name: `Copy pledge #${TOKEN_ID}'s asset digest` });
  const digest = await copy.locator('xpath=preceding-sibling::code[1]').getAttribute('title');
  assert.equal(digest, (await call('GET', `/v1/pledges/${TOKEN_ID}`, 'lender_a')).terms.asset_digest);
  assert.match(digest, /^0x[0-9a-f]{64}$/);
  await copy.click();
  await card.getByRole('button', { name: `Copy pledge #${TOKEN_ID}'s asset digest` }).filter({ hasText: 'Copied' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), digest);
  assert.equal(await card.getByRole('button', { name: `Copy pledge #${TOKEN_ID}'s factory address` }).count(), 1);
  assert.match(await card.locator('.address').textContent(), /^ACME Precision Co\. 0x[0-9a-fA-F]{10}…/, 'the factory by its directory name');
  assert.equal(await card.locator('.address a').count(), 0, 'no explorer link: none configured');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('issue a consent; default disabled before maturity; transfer to bank-b after a review', async () => {
  const consentId = await consent(2000, 2100, 'bank-a');
  const page = await lenderPage('lender_a');
  const consentCard = page.getByTestId(`consent-${consentId}`);
  assert.match(await consentCard.textContent(), /\[2000, 2100\)/);
  assert.match(await consentCard.textContent(), /10,000\.00 USD/);
  assert.match(await consentCard.locator('.address').textContent(), /^ACME Precision Co\. 0x/, 'the factory by its directory name');
  await consentCard.getByRole('button', { name: 'Issue pledge' }).click();
  const flash = page.locator('#flash');
  await flash.getByText(/issued as pledge #\d+/).waitFor();
  const token = Number((await flash.textContent()).match(/issued as pledge #(\d+)/)[1]);
  const card = page.getByTestId(`pledge-${token}`);
  assert.equal(await card.locator('h3 .badge').textContent(), 'live');
  assert.match(await card.textContent(), /\[2000, 2100\)/);

  // Before maturity, Declare default is disabled, saying from when it is possible.
  const declare = page.locator(`#default-${token}`);
  assert.equal(await declare.isDisabled(), true, 'no default before maturity');
  assert.equal(await page.locator(`#default-${token}-when`).textContent(), 'Possible from maturity, 2027-06-30');
  assert.equal(await declare.getAttribute('aria-describedby'), `default-${token}-when`);

  // Transfer is reviewed first: the words say what will happen; Cancel sends nothing and gives the focus back.
  const transferBtn = page.locator(`#transfer-${token}`);
  await transferBtn.click();
  assert.equal(await page.locator(`#transfer-to-${token}-error`).textContent(), 'name the lender to transfer to (a party name or an address)');
  assert.equal(await page.evaluate(() => document.activeElement?.id), `transfer-to-${token}`, 'the focus moves to the field');
  await page.locator(`#transfer-to-${token}`).fill('bank-b');
  await transferBtn.click();
  const review = page.getByTestId(`transfer-confirm-${token}-review`);
  assert.equal(await review.textContent(), `Transfer pledge #${token} (10,000.00 USD, records [2000, 2100)) to bank-b: it becomes `
    + 'the holder and alone can release it, declare default or extend it; the pledge leaves your list. This cannot be undone.');
  assert.equal(await page.evaluate(() => document.activeElement?.id), `transfer-confirm-${token}`);
  await card.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.id), `transfer-${token}`, 'focus back on Transfer…');
  assert.ok((await call('GET', '/v1/pledges', 'lender_a')).some((x) => x.token_id === token), 'cancel sends nothing: bank-a still holds it');
  await transferBtn.click();
  await page.getByRole('button', { name: 'Confirm transfer' }).click();
  await flash.getByText(`Pledge #${token} transferred to bank-b.`).waitFor();
  await card.waitFor({ state: 'detached' });
  assert.equal(await page.evaluate(() => document.activeElement?.closest('#flash') !== null), true, 'the focus on what happened');
  // the pledge stays visible under "Held before", from the service (the chain's events): what happened,
  // in which block, by which transaction; also in a new browser context (nothing kept by the tab)
  const moved = page.getByTestId(`moved-${token}`);
  const movedText = new RegExp(`^Pledge #${token} \\(10,000\\.00 USD, records \\[2000, 2100\\) of acme/line-a\\) — `
    + 'transferred to bank-b in block \\d+ · tx 0x[0-9a-f]{10}…');
  assert.match(await moved.textContent(), movedText);
  assert.equal(await page.locator('#history h3').textContent(), 'Held before');
  assert.equal(await page.getByTestId(`pledge-${TOKEN_ID}`).count(), 1, 'the fixture pledge stays');
  assert.deepEqual(page.problems, []);
  await page.context().close();
  const again = await lenderPage('lender_a');
  assert.match(await again.getByTestId(`moved-${token}`).textContent(), movedText, 'kept by the service, not the tab');
  assert.equal(await again.getByTestId(`pledge-${token}`).count(), 0, 'not among the pledges held');
  assert.deepEqual(again.problems, []);
  await again.context().close();

  const pageB = await lenderPage('lender_b');
  const cardB = pageB.getByTestId(`pledge-${token}`);
  assert.equal(await cardB.locator('h3 .badge').textContent(), 'live');
  assert.equal(await pageB.getByTestId(`pledge-${TOKEN_ID}`).count(), 0, 'bank-b does not see bank-a\'s pledge');

  // bank-b moves the lien end later, then releases it through the confirm step.
  await pageB.locator(`#extend-to-${token}`).fill('2028-06-30');
  await pageB.locator(`#extend-${token}`).click();
  await pageB.locator('#flash').getByText(`Pledge #${token}: lien extended to 2028-06-30.`).waitFor();
  assert.match(await cardB.textContent(), /Lien end2028-06-30/);
  await pageB.locator(`#release-${token}`).click();
  assert.equal(await pageB.locator(`#release-${token}`).isVisible(), false);
  await cardB.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await pageB.locator(`#release-confirm-${token}`).isVisible(), false, 'cancel sends nothing');
  assert.equal(await cardB.locator('h3 .badge').textContent(), 'live');
  await pageB.locator(`#release-${token}`).click();
  assert.match(await pageB.getByTestId(`release-confirm-${token}-review`).textContent(),
    new RegExp(`^Release pledge #${token}: the loan of 10,000\\.00 USD is repaid, the lien on records \\[2000, 2100\\) is lifted .* This cannot be undone\\.$`));
  await pageB.locator(`#release-confirm-${token}`).click();
  await pageB.locator('#flash').getByText(`Pledge #${token} released.`).waitFor();
  await cardB.waitFor({ state: 'detached' });
  assert.match(await pageB.getByTestId(`moved-${token}`).textContent(),
    new RegExp(`^Pledge #${token} .* — released: lien lifted, token burned in block \\d+ · tx 0x`));
  assert.deepEqual(pageB.problems, []);
  await pageB.context().close();
});

test('a lender without a custodial key is shown the transaction to send', async () => {
  // A lender party with only an address (approved on the registry: a consent to a lender that
  // is not is refused before signing): the API answers 409 with the transaction before
  // anything is sent, so this changes nothing on chain.
  const address = '0x' + 'ab'.repeat(20);
  const name = `bank-wallet-${Date.now()}`;
  await call('POST', '/v1/parties', 'admin', { name, role: 'lender', address });
  await call('POST', '/v1/lenders', 'admin', { address });
  const { key } = await call('POST', `/v1/parties/${name}/keys`, 'admin');
  KEYS.bank_wallet = key;
  const consentId = await consent(2100, 2200, address);
  const page = await lenderPage('bank_wallet');
  assert.match(await page.getByTestId('no-pledges').textContent(), /hold no pledges/);
  await page.getByTestId(`consent-${consentId}`).getByRole('button', { name: 'Issue pledge' }).click();
  const box = page.locator(`#issue-${consentId}-tx`);
  await box.waitFor();
  const text = await box.textContent();
  assert.match(text, /Send this transaction from your wallet/);
  assert.ok(text.toLowerCase().includes(REGISTRY.toLowerCase()), `to is the registry: ${text}`);
  assert.match(text, /chainId\s*31337/);
  assert.match(await box.locator('code.calldata').textContent(), /^0x[0-9a-f]{16,}$/);
  assert.equal(await page.locator(`#issue-${consentId}-error`).count(), 0, 'not shown as an error');
  await shot(page, 'lender-transaction-to-send');
  assertOnlyExpected(page, [[CONFLICT, /\/v1\/pledges$/]]);
  await page.context().close();
});

test('a lender with a browser wallet sends the issue transaction itself', async () => {
  // A non-custodial lender (anvil's dev6, approved on the registry) with a wallet in the browser:
  // the service answers 409 with the transaction, the wallet sends it, the page shows the pledge.
  const account = (await devAccounts())[6];
  const name = `bank-own-wallet-${Date.now()}`;
  await call('POST', '/v1/parties', 'admin', { name, role: 'lender', address: account });
  KEYS.own_wallet = (await call('POST', `/v1/parties/${name}/keys`, 'admin')).key;
  await call('POST', '/v1/lenders', 'admin', { address: name });
  const consentId = await consent(2300, 2400, account);

  const page = await openPage(browser);
  await injectWallet(page, account);
  await signIn(page, 'own_wallet');
  await page.waitForSelector('body[data-loaded="true"]');
  await page.getByTestId(`consent-${consentId}`).getByRole('button', { name: 'Issue pledge' }).click();
  const box = page.locator(`#issue-${consentId}-tx`);
  await box.getByRole('button', { name: 'Send with your browser wallet' }).click();
  await page.locator('#flash').getByText('Sent from your wallet and in a block.').waitFor();
  const held = await call('GET', '/v1/pledges', KEYS.own_wallet);
  assert.equal(held.length, 1, 'the pledge is the wallet lender\'s');
  assert.deepEqual([held[0].from, held[0].to, held[0].status, held[0].holder.toLowerCase()], [2300, 2400, 'live', account.toLowerCase()]);
  const card = page.getByTestId(`pledge-${held[0].token_id}`);
  await card.waitFor();
  assert.equal(await card.locator('h3 .badge').textContent(), 'live');
  await shot(page, 'lender-wallet-sent');

  // the wallet's account must be the party's: another account is refused before anything is sent
  const other = await openPage(browser);
  await injectWallet(other, (await devAccounts())[7]);
  await signIn(other, 'own_wallet');
  await other.waitForSelector('body[data-loaded="true"]');
  await other.locator(`#release-${held[0].token_id}`).click();
  await other.locator(`#release-confirm-${held[0].token_id}`).click();
  const panel = other.locator(`#release-confirm-${held[0].token_id}-tx`);
  await panel.getByRole('button', { name: 'Send with your browser wallet' }).click();
  const error = panel.locator('p.error');
  await error.waitFor();
  assert.match(await error.textContent(), /switch accounts in the wallet/);
  assert.equal((await call('GET', '/v1/pledges', KEYS.own_wallet))[0].status, 'live', 'nothing was sent');

  // released from the right wallet: the pledge moves to "Held before", from the chain's events
  const token = held[0].token_id;
  await page.locator(`#release-${token}`).click();
  await page.locator(`#release-confirm-${token}`).click();
  await page.locator(`#release-confirm-${token}-tx`).getByRole('button', { name: 'Send with your browser wallet' }).click();
  await page.locator('#flash').getByText('Sent from your wallet and in a block.').waitFor();
  await card.waitFor({ state: 'detached' });
  const before = (await call('GET', '/v1/pledges', KEYS.own_wallet)).find((p) => p.token_id === token);
  assert.deepEqual([before.held, before.ended, before.status], [false, 'released', 'released']);
  assert.match(await page.getByTestId(`moved-${token}`).textContent(),
    new RegExp(`^Pledge #${token} .* — released: lien lifted, token burned in block ${before.ended_block} · tx 0x`));
  assertOnlyExpected(page, [[CONFLICT, /\/v1\/pledges$/], [CONFLICT, /\/v1\/pledges\/\d+\/release$/]]);
  assertOnlyExpected(other, [[CONFLICT, /\/v1\/pledges\/\d+\/release$/]]);
  await page.context().close();
  await other.context().close();
});

test('past the max lien end only with the factory\'s extension, which the page offers and uses', async () => {
  const consentId = await consent(2500, 2600, 'bank-a', '2028-03-31');
  const { token_id: token } = await call('POST', '/v1/pledges', 'lender_a', { consent_id: consentId });
  const page = await lenderPage('lender_a');
  const card = page.getByTestId(`pledge-${token}`);
  assert.match(await card.textContent(), /Max lien end2028-03-31/);
  const input = page.locator(`#extend-to-${token}`);
  assert.equal(await input.getAttribute('max'), '2028-03-31');
  assert.match(await page.locator(`#extend-to-${token}-hint`).textContent(), /Up to 2028-03-31, the max lien end/);

  // past the bound: refused next to the field, nothing sent
  await input.fill('2028-09-30');
  await page.locator(`#extend-${token}`).click();
  const error = page.locator(`#extend-to-${token}-error`);
  await error.waitFor();
  assert.match(await error.textContent(), /past 2028-03-31, the max lien end the factory agreed to: a later lien end needs the factory's signed extension/);
  assert.equal((await call('GET', `/v1/pledges/${token}`, 'lender_a')).terms.lien_end, Date.UTC(2027, 11, 31) / 1000, 'nothing moved');

  // within it: moved; the form then offers up to the same bound
  await input.fill('2028-03-31');
  await page.locator(`#extend-${token}`).click();
  await page.locator('#flash').getByText(`Pledge #${token}: lien extended to 2028-03-31.`).waitFor();
  await page.getByTestId(`extension-needed-${token}`).waitFor();
  assert.equal(await page.locator(`#extend-to-${token}`).count(), 0, 'no date past the bound is offered');

  // the factory signs an extension (factory.spec.mjs does it on its page): the page offers it
  const { extension_id: ext } = await call('POST', `/v1/pledges/${token}/extensions`, 'factory',
    { terms: { lien_end: '2028-09-30' } });
  await page.getByRole('button', { name: 'Reload' }).click();
  const offer = page.locator(`#extend-with-${ext}`);
  await offer.waitFor();
  assert.equal(await offer.textContent(), `Extend to 2028-09-30 (the factory's extension #${ext})`);
  await shot(page, 'lender-extension-offered');
  await offer.click();
  await page.locator('#flash').getByText(`Pledge #${token}: lien extended to 2028-09-30 with the factory's extension.`).waitFor();
  const moved = page.getByTestId(`pledge-${token}`);
  assert.match(await moved.textContent(), /Lien end2028-09-30/);
  assert.match(await moved.textContent(), /Max lien end2028-09-30/);
  assert.equal(await page.locator(`#extend-with-${ext}`).count(), 0, 'a used extension is not offered again');
  const view = await call('GET', `/v1/pledges/${token}`, 'lender_a');
  assert.deepEqual([view.terms.lien_end, view.terms.max_lien_end], [Date.UTC(2028, 8, 30) / 1000, Date.UTC(2028, 8, 30) / 1000]);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the lender page fits 1280 and 390 px', async () => {
  await atBothWidths(browser, 'lender_a', '/lender', 'lender', async (page) => {
    await page.waitForSelector('body[data-loaded="true"]');
    await page.getByTestId(`pledge-${TOKEN_ID}`).waitFor();
  });
});

test('after maturity Declare default is open, reviewed, and a refusal of the registry is shown in words', async () => {
  // the browser's clock after maturity (2027-06-30); the chain's is today's, so the registry refuses
  const consentId = await consent(2700, 2800, 'bank-a');
  const { token_id: token } = await call('POST', '/v1/pledges', 'lender_a', { consent_id: consentId });
  const page = await openPage(browser);
  await page.clock.setFixedTime(new Date('2027-07-01T12:00:00Z'));
  await signIn(page, 'lender_a');
  await page.waitForSelector('body[data-loaded="true"]');
  const declare = page.locator(`#default-${token}`);
  assert.equal(await declare.isDisabled(), false);
  assert.equal(await page.locator(`#default-${token}-when`).textContent(), 'Matured 2027-06-30');
  await declare.click();
  assert.match(await page.getByTestId(`default-confirm-${token}-review`).textContent(),
    new RegExp(`^Declare the loan of pledge #${token} \\(10,000\\.00 USD, matured 2027-06-30\\) in default: .* This cannot be undone\\.$`));
  await page.getByRole('button', { name: 'Confirm default' }).click();
  const error = page.locator(`#default-confirm-${token}-error`);
  await error.waitFor();
  // in words, not PledgeNotMatured(7, 1814313600)
  assert.equal(await error.textContent(), `pledge #${token} is not matured until 2027-06-30: default can be declared from then on`);
  assert.equal(await page.getByTestId(`pledge-${token}`).locator('h3 .badge').textContent(), 'live', 'still live');
  assertOnlyExpected(page, [[CONFLICT, new RegExp(`/v1/pledges/${token}/default$`)]]);
  await page.context().close();
});
