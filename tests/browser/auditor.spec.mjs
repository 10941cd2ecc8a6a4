// Auditor: acme/line-a's anchored checkpoints match the chain when read from the browser; a
// wrong RPC URL is a readable error next to Check; "Run audit" streams progress to a clean
// report, which downloads as JSON; both widths fit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { RPC, TOKEN_ID, launch, openPage, signIn, atBothWidths, assertOnlyExpected } from './harness.mjs';

// Chrome logs every failed fetch as a console error. Let through, at their URLs only: the
// refused connection the wrong-URL check causes on purpose, and the 404 of
// GET /v1/audit/latest while no audit has run (how the API says "none yet").
const REFUSED = /^console: Failed to load resource: net::ERR_CONNECTION_REFUSED$/;
const NO_AUDIT_YET = [/^console: Failed to load resource: the server responded with a status of 404 \(Not Found\)$/, /\/v1\/audit\/latest$/];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function auditorPage() {
  const page = await openPage(browser);
  await signIn(page, 'auditor');
  assert.equal(new URL(page.url()).pathname, '/auditor');
  await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
  return page;
}

/** A local port nothing listens on (not port 9: Chromium refuses "unsafe" ports before connecting). */
async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const count = async (page, kind) => Number((await page.getByTestId(`count-${kind}`).textContent()).split(' ')[0]);

test('the anchored checkpoints of acme/line-a match the chain; a wrong RPC URL is a readable error', async () => {
  const page = await auditorPage();
  assert.equal(await page.locator('#rpc').inputValue(), RPC, 'the default RPC URL is the page config\'s');
  const log = page.getByTestId('log-acme/line-a');
  const matches = await log.locator('td[data-testid="onchain"] .badge.match').count();
  assert.ok(matches >= 1, 'at least one anchored checkpoint matches');
  assert.equal(await log.locator('td[data-testid="onchain"] .badge.mismatch, td[data-testid="onchain"] .badge.missing').count(), 0);
  assert.ok(await count(page, 'match') >= 1);
  assert.equal(await count(page, 'mismatch'), 0);
  assert.equal(await count(page, 'missing'), 0);
  // every pledge, its factory by its directory name, its holder's address copied whole
  const pledge = page.getByTestId(`pledge-${TOKEN_ID}`);
  assert.match(await pledge.locator('td').nth(8).textContent(), /^ACME Precision Co\. 0x[0-9a-fA-F]{6}…/);
  assert.equal(await pledge.getByRole('button', { name: /^Copy the holder of pledge #\d+$/ }).count(), 1);

  const wrong = `http://127.0.0.1:${await closedPort()}`;
  await page.locator('#rpc').fill(wrong);
  await page.getByRole('button', { name: 'Check' }).click();
  const error = page.locator('#check-error');
  await error.waitFor();
  // the verifier's own JSON-RPC client (verify/rpc.js) answers, in its words
  assert.ok((await error.textContent()).startsWith(`the Ethereum node at ${wrong} is not answering`), await error.textContent());
  assert.equal(await page.locator('#check').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'check', 'the focus back on Check, its error beside it');

  await page.locator('#rpc').fill(RPC);
  await page.getByRole('button', { name: 'Check' }).click();
  await page.getByTestId('count-match').waitFor();
  assert.equal(await error.count(), 0, 'the error goes when the check succeeds');
  assert.equal(await count(page, 'mismatch'), 0);
  assertOnlyExpected(page, [[REFUSED, new RegExp(`^${wrong}/?$`)], NO_AUDIT_YET]);
  await page.context().close();
});

test('Run audit streams progress to a clean report, which downloads as JSON', async () => {
  const page = await auditorPage();
  const before = await page.getByTestId('verdict').count() ? await page.locator('#report dl').textContent() : null;
  await page.getByRole('button', { name: 'Run audit' }).click();
  await page.waitForFunction(() => !document.getElementById('run').disabled
    && /records$/.test(document.getElementById('progress-text').textContent), null, { timeout: 120_000 });
  const [done, total] = (await page.locator('#progress-text').textContent()).match(/[\d,]+/g).map((n) => Number(n.replaceAll(',', '')));
  assert.equal(done, total, 'the bar ends full');
  assert.ok(total >= 3495, `every record of every log: ${total}`);
  assert.equal(await page.locator('#progress').evaluate((p) => p.value === p.max), true);
  assert.equal(await page.getByTestId('verdict').textContent(), 'Clean: no findings');
  assert.notEqual(await page.locator('#report dl').textContent(), before, 'a new report');
  assert.equal(await page.locator('#run-error').count(), 0);

  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download report (JSON)' }).click()]);
  assert.match(download.suggestedFilename(), /^dpl-audit-.*\.json$/);
  const report = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(report.clean, true);
  assert.deepEqual(report.findings, []);
  assert.ok(report.records >= 3495);
  assertOnlyExpected(page, [NO_AUDIT_YET]);
  await page.context().close();
});

test('the auditor page fits 1280 and 390 px', async () => {
  await atBothWidths(browser, 'auditor', '/auditor', 'auditor', async (page) => {
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 60_000 });
    await page.getByTestId('count-match').waitFor();
  });
});

test("the node's answers are read by the verifier's rules: a key twice is refused, not read last-wins", async () => {
  const page = await auditorPage();
  // the node (intercepted) answers eth_chainId with "result" twice; every other call goes through
  await page.route((url) => url.href.startsWith(RPC), async (route) => {
    const cors = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type', 'access-control-allow-methods': 'POST' };
    const request = route.request();
    if (request.method() === 'OPTIONS') return route.fulfill({ status: 204, headers: cors });
    const call = JSON.parse(request.postData() || '{}');
    if (call.method !== 'eth_chainId') return route.continue();
    return route.fulfill({ status: 200, headers: { ...cors, 'content-type': 'application/json' },
      body: `{"jsonrpc": "2.0", "id": ${call.id}, "result": "0x1", "result": "0x7a69"}` });
  });
  await page.getByRole('button', { name: 'Check' }).click();
  const error = page.locator('#check-error');
  await error.waitFor();
  assert.match(await error.textContent(), /^the Ethereum node at \S+ answered HTTP 200 with an answer that is not usable JSON-RPC: duplicate key 'result'/);
  await page.context().close();
});
