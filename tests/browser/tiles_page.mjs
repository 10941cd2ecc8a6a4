// The /verify page with a log's published tiles (tests/browser/test_tiles_page.py): a proof bundle
// checked against tiles served by a separate static server is SOUND with the "published checkpoint"
// and "tiles" checks green; against another log's tiles under that URL it is NOT SOUND, in words.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BASE, launch, openPage, shot, assertOnlyExpected } from './harness.mjs';

const BUNDLE = readFileSync(process.env.DPL_TILES_BUNDLE, 'utf8');
const { url, vkey, relabelled } = JSON.parse(process.env.DPL_TILES);
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function verifyWith(page, tilesUrl, key) {
  await page.goto(`${BASE}/verify`);
  await page.locator('summary', { hasText: 'paste' }).click();
  await page.getByLabel('Bundle JSON').fill(BUNDLE);
  await page.getByRole('button', { name: 'Use this text' }).click();
  await page.getByLabel('Published tiles URL').fill(tilesUrl);
  await page.getByLabel("The log's note key").fill(key);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('verdict').waitFor();
  return page.$$eval('[data-testid=checks] li', (lis) => lis.map((li) => ({
    name: li.dataset.check, ok: li.dataset.ok === 'true', detail: li.querySelector('.detail').textContent,
  })));
}

test('a proof bundle against its log\'s published tiles: sound, the tiles\' checks green', async () => {
  const page = await openPage(browser);
  const got = await verifyWith(page, url, vkey);
  const tiles = got.filter((c) => ['published checkpoint', 'tiles'].includes(c.name));
  assert.equal(tiles.length, 2);
  assert.deepEqual(got.filter((c) => !c.ok), [], 'all green');
  assert.match(tiles[0].detail, /^log 0x[0-9a-f]{64} on chain 31337 at size \d+, root 0x[0-9a-f]{64}, signed by data-pledge-ledger\/31337\//);
  assert.match(tiles[1].detail, /^record \d+: the tiles hold its leaf; their proof at size \d+ equals the bundle's \(\d+ hashes\)/);
  assert.match(await page.getByTestId('verdict').textContent(), /^SOUND/);
  await shot(page, 'verify-tiles-sound');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('another log\'s tiles under the log\'s URL: not sound, saying why', async () => {
  const page = await openPage(browser);
  const got = await verifyWith(page, relabelled, vkey);
  const failed = got.filter((c) => !c.ok);
  assert.deepEqual(failed.map((c) => c.name), ['published checkpoint']);
  assert.match(failed[0].detail, /^the signed note carries no signature by the key data-pledge-ledger\/31337\/[0-9a-f]{64}\+[0-9a-f]{8}$/);
  assert.match(await page.getByTestId('verdict').textContent(), /^NOT SOUND/);
  assertOnlyExpected(page, []);
  await page.context().close();
});
