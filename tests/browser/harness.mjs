// Shared by the browser specs: Debian's Chromium through playwright-core, signing in with a
// demo key, screenshots at 1280 px and 390 px, and a check that nothing overflows sideways.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const BASE = process.env.DPL_UI_BASE;
export const RPC = process.env.DPL_UI_RPC;
export const KEYS = JSON.parse(process.env.DPL_UI_KEYS || '{}');
export const TOKEN_ID = Number(process.env.DPL_UI_TOKEN_ID || 0);
export const REGISTRY = process.env.DPL_UI_REGISTRY;
const ARTIFACTS = process.env.DPL_UI_ARTIFACTS || 'test-artifacts/browser';
export const WIDTHS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } };

assert.ok(BASE, 'DPL_UI_BASE is set by tests/browser/conftest.py (run these specs through pytest)');

export async function launch() {
  return chromium.launch({
    executablePath: process.env.DPL_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/**
 * A fresh browser context (own cookies) at `size`, with console errors and failed
 * same-origin requests collected in `page.problems` (a spec asserts it stays empty).
 */
export async function openPage(browser, size = WIDTHS.desktop) {
  const context = await browser.newContext({ viewport: size, acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.errorsAt = []; // the same console errors with the URL each came from
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    page.problems.push(`console: ${msg.text()}`);
    page.errorsAt.push({ text: `console: ${msg.text()}`, url: msg.location().url });
  });
  page.on('pageerror', (err) => page.problems.push(`page error: ${err.message}`));
  page.setDefaultTimeout(30_000);
  return page;
}

/** page.problems is empty but for console errors matching one of `allowed` ([text, url] RegExps):
 * Chromium logs each refused request a spec provokes on purpose. */
export function assertOnlyExpected(page, allowed) {
  const expected = page.errorsAt.filter((e) => allowed.some(([text, url]) => text.test(e.text) && url.test(e.url)));
  const left = [...page.problems];
  for (const e of expected) left.splice(left.indexOf(e.text), 1);
  assert.deepEqual(left, [], 'no console or page errors but the expected ones');
}

/** Signs in through the form with the demo key of `slot` (factory, lender_a, auditor, admin…). */
export async function signIn(page, slot) {
  assert.ok(KEYS[slot], `no demo key for ${slot}`);
  await page.goto(BASE + '/');
  await page.getByLabel('API key').fill(KEYS[slot]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname !== '/');
  assert.ok(!page.url().includes(KEYS[slot]), 'the key never appears in a URL');
}

/** Saves a full-page screenshot as test-artifacts/browser/<name>-<width>.png. */
export async function shot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { width } = page.viewportSize();
  const path = join(ARTIFACTS, `${name}-${width}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The page fits its width: no sideways scrolling of the whole document (tables scroll inside). */
export async function assertFits(page) {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
  }));
  assert.ok(scroll <= inner + 1, `the page is ${scroll}px wide at a ${inner}px viewport`);
}

/** At both widths: open `path` signed in as `slot`, wait for `ready`, check it fits, screenshot. */
export async function atBothWidths(browser, slot, path, name, ready) {
  for (const [label, size] of Object.entries(WIDTHS)) {
    const page = await openPage(browser, size);
    if (slot) await signIn(page, slot);
    await page.goto(BASE + path);
    await ready(page);
    await assertFits(page);
    await shot(page, `${name}-${label}`);
    assert.deepEqual(page.problems, [], `${name} at ${label}: ${page.problems.join('; ')}`);
    await page.context().close();
  }
}

/** anvil's unlocked dev accounts (dev0, dev1, …). */
export async function devAccounts() {
  const r = await fetch(RPC, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_accounts', params: [] }) });
  return (await r.json()).result;
}

/**
 * A browser wallet (EIP-1193 `window.ethereum`) for `account`, injected before the page's own
 * scripts: it forwards to anvil, whose dev accounts are unlocked, so signing and sending happen
 * in the node as a real wallet would do them. Must be called before `page.goto`.
 */
export async function injectWallet(page, account) {
  await page.addInitScript(({ rpc, account: who }) => {
    window.ethereum = {
      async request({ method, params = [] }) {
        if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [who];
        const r = await fetch(rpc, { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) });
        const body = await r.json();
        if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
        return body.result;
      },
    };
  }, { rpc: RPC, account });
}
