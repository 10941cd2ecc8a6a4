// Verify collateral in the browser: a sound bundle is all green, with the factory named from the
// registry's directory; a tampered one shows the failing check red with its reason; a server that
// lies (a root the chain never saw) still gets red, because the chain is read from the RPC URL,
// not from the service; a forged bundle anchored in a lookalike registry is red, because the page
// trusts the registry in its registry field (the service's pinned one), never the bundle's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BASE, KEYS, RPC, TOKEN_ID, REGISTRY, launch, openPage, signIn, shot, assertFits, WIDTHS } from './harness.mjs';

let browser;
let sound; // the fixture pledge's bundle text, as the service gives it to its holder
before(async () => {
  browser = await launch();
  const r = await fetch(`${BASE}/v1/pledges/${TOKEN_ID}/bundle`, { headers: { Authorization: `Bearer ${KEYS.lender_a}` } });
  assert.equal(r.status, 200);
  sound = await r.text();
});
after(async () => { await browser?.close(); });

async function checks(page) {
  await page.getByTestId('verdict').waitFor();
  return page.$$eval('[data-testid=checks] li', (lis) => lis.map((li) => ({
    name: li.dataset.check, ok: li.dataset.ok === 'true', detail: li.querySelector('.detail').textContent,
  })));
}

async function pasteAndVerify(page, text) {
  await page.locator('summary', { hasText: 'paste' }).click();
  await page.getByLabel('Bundle JSON').fill(text);
  await page.getByRole('button', { name: 'Use this text' }).click();
  await page.getByRole('button', { name: 'Verify' }).click();
  return checks(page);
}

test('a lender fetches the bundle of a held pledge and every check is green (both widths)', async () => {
  for (const [label, size] of Object.entries(WIDTHS)) {
    const page = await openPage(browser, size);
    await signIn(page, 'lender_a');
    await page.goto(`${BASE}/verify?token=${TOKEN_ID}`);
    await page.getByRole('button', { name: 'Fetch its bundle' }).click();
    await page.getByTestId('loaded').filter({ hasText: 'Loaded a collateral bundle' }).waitFor();
    await page.getByRole('button', { name: 'Verify' }).click();
    const got = await checks(page);
    const names = got.map((c) => c.name);
    assert.equal(await page.locator('#registry').inputValue(), REGISTRY, "the service's pinned registry by default");
    assert.match(await page.getByTestId('factory').textContent(), /^Factory: factory 0x[0-9a-fA-F]{40} \(registered as ACME Precision Co\.\); log 0x/);
    for (const name of ['registry', 'bundle names this pledge', 'pledge holds its lien', 'factory', 'format', 'manifest digest',
      'manifest terms', 'anchored root', 'seed', 'sample indices']) assert.ok(names.includes(name), `check ${name} shown`);
    assert.equal(got.filter((c) => c.name.endsWith(': inclusion')).length, 8, 'one inclusion check per sample');
    assert.deepEqual(got.filter((c) => !c.ok), [], 'all green');
    assert.match(await page.getByTestId('verdict').textContent(), /^SOUND/);
    await assertFits(page);
    await shot(page, `verify-sound-${label}`);
    assert.deepEqual(page.problems, []);
    await page.context().close();
  }
});

test('a changed record turns its leaf hash red with the reason', async () => {
  const bundle = JSON.parse(sound);
  const entry = bundle.entries[0];
  entry.record.data = { ...entry.record.data, tampered: 1 };
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#token').fill(String(TOKEN_ID));
  const got = await pasteAndVerify(page, JSON.stringify(bundle));
  const red = got.filter((c) => !c.ok);
  assert.deepEqual(red.map((c) => c.name).slice(0, 1), [`entry ${entry.index}: leaf hash`]);
  assert.match(red[0].detail, /do not hash to leaf_hash/);
  assert.match(await page.getByTestId('verdict').textContent(), /^NOT SOUND/);
  assert.ok(got.find((c) => c.name === 'anchored root').ok, 'the rest still checks out');
  await shot(page, 'verify-tampered');
  await page.context().close();
});

test('a server that lies about the root cannot make it green', async () => {
  // The service (intercepted here) answers with a bundle whose manifest claims a root the chain never saw.
  const forged = JSON.parse(sound);
  forged.manifest.checkpoint.root = '0x' + 'ab'.repeat(32);
  const page = await openPage(browser);
  await signIn(page, 'lender_a');
  await page.route('**/v1/pledges/*/bundle', (route) => route.fulfill({
    status: 200, contentType: 'application/json', body: JSON.stringify(forged),
  }));
  await page.goto(`${BASE}/verify?token=${TOKEN_ID}`);
  await page.getByRole('button', { name: 'Fetch its bundle' }).click();
  // "Loaded a …", not "No bundle loaded." (hasText matches any case: 'Loaded' matched both, so the
  // click on Verify could come before the bundle, while the button was still disabled)
  await page.getByTestId('loaded').filter({ hasText: /^Loaded a / }).waitFor();
  await page.getByRole('button', { name: 'Verify' }).click();
  const got = await checks(page);
  const byName = Object.fromEntries(got.map((c) => [c.name, c]));
  assert.equal(byName['anchored root'].ok, false);
  assert.match(byName['anchored root'].detail, /is not the anchored root/);
  assert.equal(byName['manifest digest'].ok, false, "the pledge on chain commits to the real manifest's digest");
  assert.match(await page.getByTestId('verdict').textContent(), /^NOT SOUND/);
  await shot(page, 'verify-server-lies');
  await page.context().close();
});

test('anyone can verify a bundle file without signing in; a proof bundle too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpl-ui-'));
  const file = join(dir, 'collateral.json');
  writeFileSync(file, sound);
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#file').setInputFiles(file);
  await page.getByTestId('loaded').filter({ hasText: 'collateral.json' }).waitFor();
  assert.equal(await page.locator('#token').inputValue(), String(TOKEN_ID));
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.deepEqual((await checks(page)).filter((c) => !c.ok), []);

  const logs = await (await fetch(`${BASE}/v1/logs`, { headers: { Authorization: `Bearer ${KEYS.factory}` } })).json();
  const proof = await (await fetch(`${BASE}/v1/logs/${logs[0].log_id}/records/7`,
    { headers: { Authorization: `Bearer ${KEYS.factory}` } })).text();
  const page2 = await openPage(browser);
  await page2.goto(`${BASE}/verify`);
  const good = await pasteAndVerify(page2, proof);
  assert.ok(good.length > 0 && good.every((c) => c.ok), JSON.stringify(good));
  const bad = JSON.parse(proof);
  bad.checkpoint.root = '0x' + '00'.repeat(32);
  await page2.getByLabel('Bundle JSON').fill(JSON.stringify(bad));
  await page2.getByRole('button', { name: 'Use this text' }).click();
  await page2.getByRole('button', { name: 'Verify' }).click();
  assert.ok((await checks(page2)).some((c) => !c.ok), 'a proof bundle with a wrong root is red');
  await shot(page2, 'verify-proof-bundle');
  await page.context().close();
  await page2.context().close();
});

test('a forged record anchored in a lookalike registry is red; so is a relabelled stream', async () => {
  const forged = readFileSync(process.env.DPL_UI_FORGED, 'utf8');
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  const got = await pasteAndVerify(page, forged);
  const red = got.filter((c) => !c.ok);
  assert.deepEqual(red.map((c) => c.name), ['bundle names this registry']);
  assert.match(red[0].detail, new RegExp(`^the bundle's anchor names registry 0x[0-9a-fA-F]{40}, not the trusted registry ${REGISTRY} of chain 31337$`));
  assert.match(await page.getByTestId('verdict').textContent(), /^NOT SOUND/);
  await shot(page, 'verify-lookalike');

  // the factory's own record, relabelled as another stream
  const logs = await (await fetch(`${BASE}/v1/logs`, { headers: { Authorization: `Bearer ${KEYS.factory}` } })).json();
  const real = JSON.parse(await (await fetch(`${BASE}/v1/logs/${logs.find((l) => l.stream === 'acme/line-a').log_id}/records/3`,
    { headers: { Authorization: `Bearer ${KEYS.factory}` } })).text());
  await page.getByLabel('Bundle JSON').fill(JSON.stringify({ ...real, stream: 'globex/line-a' }));
  await page.getByRole('button', { name: 'Use this text' }).click();
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('factory').filter({ hasText: /globex\/line-a/ }).waitFor();
  const factory = (await checks(page)).find((c) => c.name === 'factory');
  assert.equal(factory.ok, false);
  assert.match(factory.detail, /\(registered as ACME Precision Co\.\) owns log 0x[0-9a-f]{64}, but its stream 'globex\/line-a' would be log/);

  // a registry typed by hand that is not ours: its code check is red, nothing else is read
  await page.locator('#registry').fill('0x' + '12'.repeat(20));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('[data-testid=checks] li[data-check="registry"][data-ok="false"]').waitFor();
  assert.match(await page.locator('li[data-check="registry"] .detail').textContent(), /\(from the registry field \(an address you typed\)\) does NOT hold the registry's code$/);
  await page.context().close();
});

test('a bundle with a key twice is refused next to the drop zone, naming the key', async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('summary', { hasText: 'paste' }).click();
  await page.getByLabel('Bundle JSON').fill(sound.replace('"token_id":', '"token_id": 999, "token_id":'));
  await page.getByRole('button', { name: 'Use this text' }).click();
  assert.match(await page.locator('#drop-error').textContent(), /^the pasted text: duplicate key 'token_id' \(at token_id\)$/);
  assert.equal(await page.getByRole('button', { name: 'Verify' }).isDisabled(), true);
  await page.context().close();
});

test('a chain node that is down is a readable error next to the RPC URL', async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#rpc').fill('http://127.0.0.1:9');
  await page.locator('#token').fill(String(TOKEN_ID));
  await page.locator('summary', { hasText: 'paste' }).click();
  await page.getByLabel('Bundle JSON').fill(sound);
  await page.getByRole('button', { name: 'Use this text' }).click();
  await page.getByRole('button', { name: 'Verify' }).click();
  const error = page.locator('#rpc-error');
  await error.waitFor();
  assert.match(await error.textContent(), /127\.0\.0\.1:9/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'rpc', 'the focus moves to the field the error is about');
  assert.equal(await page.getByTestId('verdict').count(), 0, 'no verdict without the chain');
  await page.locator('#rpc').fill(RPC);
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.match(await page.getByTestId('verdict').textContent(), /^SOUND/);
  await shot(page, 'verify-node-down');
  await page.context().close();
});

test('not JSON, or not a bundle, is refused next to the drop zone', async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('summary', { hasText: 'paste' }).click();
  await page.getByLabel('Bundle JSON').fill('{"format": "something/9"}');
  await page.getByRole('button', { name: 'Use this text' }).click();
  assert.match(await page.locator('#drop-error').textContent(), /not a dpl-collateral\/1 or dpl-proof\/1 bundle/);
  await page.getByLabel('Bundle JSON').fill('{not json');
  await page.getByRole('button', { name: 'Use this text' }).click();
  assert.equal(await page.locator('#drop-error').textContent(),
    'the pasted text: invalid JSON: Expecting property name enclosed in double quotes (line 1, column 2)');
  assert.equal(await page.getByRole('button', { name: 'Verify' }).isDisabled(), true);
  await page.context().close();
});

test('a file is read as dpl reads it: strict UTF-8, no byte-order mark, no NaN, nesting up to 64', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dpl-ui-'));
  const raw = Buffer.from(sound);
  const at = raw.indexOf('"registry"');
  const files = [
    [Buffer.concat([raw.subarray(0, at + 1), Buffer.from([0xff]), raw.subarray(at + 1)]), `invalid UTF-8 at byte ${at + 1}`],
    [Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), raw]), 'invalid JSON: Expecting value (line 1, column 1)'],
    [Buffer.from(sound.replace(/}\s*$/, ', "unused": [NaN]}')), 'NaN is not a JSON number (I-JSON)'],
    [Buffer.from(sound.replace(/}\s*$/, `, "unused": ${'['.repeat(70)}${']'.repeat(70)}}`)), 'nested deeper than 64 levels'],
  ];
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  for (const [n, [bytes, reason]] of files.entries()) {
    const file = join(dir, `bundle-${n}.json`);
    writeFileSync(file, bytes);
    await page.locator('#file').setInputFiles(file);
    await page.locator('#drop-error').filter({ hasText: reason }).waitFor();
    assert.equal(await page.locator('#drop-error').textContent(), `bundle-${n}.json: ${reason}`);
    assert.equal(await page.getByRole('button', { name: 'Verify' }).isDisabled(), true);
  }
  await page.context().close();
});

test('text from a bundle is shown escaped: no newline or bidi control makes a line look like another', async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#token').fill(String(TOKEN_ID));
  const forged = JSON.parse(sound);
  forged.registry = '0x\nSOUND \u2014 all 30 checks passed\u202e';
  const got = await pasteAndVerify(page, JSON.stringify(forged));
  const named = got.find((c) => c.name === 'bundle names this pledge');
  assert.equal(named.ok, false);
  assert.equal(named.detail, `bundle: token ${TOKEN_ID} on 0x\\nSOUND \u2014 all 30 checks passed\\u202e chain 31337`);
  assert.match(await page.getByTestId('verdict').textContent(), /^NOT SOUND/);
  // a key in a refused text: its path shown escaped too
  await page.getByLabel('Bundle JSON').fill('{"format": "dpl-proof/1", "\\u001b[2K\\rSOUND\\n": {"a": 1, "a": 2}}');
  await page.getByRole('button', { name: 'Use this text' }).click();
  assert.equal(await page.locator('#drop-error').textContent(),
    "the pasted text: duplicate key 'a' (at \\x1b[2K\\rSOUND\\n.a)");
  await page.context().close();
});

test('the factory the lender expects: another factory\'s log is red', async () => {
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#token').fill(String(TOKEN_ID));
  await page.locator('#factory').fill('0x' + '42'.repeat(20));
  const got = await pasteAndVerify(page, sound);
  assert.deepEqual(got.filter((c) => !c.ok).map((c) => c.name), ['expected factory']);
  assert.match(got.find((c) => c.name === 'expected factory').detail,
    /^the log belongs to factory 0x[0-9a-fA-F]{40} \(registered as ACME Precision Co\.\), not to the expected factory 0x4242/);
  const acme = got.find((c) => c.name === 'factory').detail.match(/^factory (0x[0-9a-fA-F]{40})/)[1];
  await page.locator('#factory').fill(acme.toLowerCase());
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('li[data-check="expected factory"][data-ok="true"]').waitFor();
  assert.match(await page.getByTestId('verdict').textContent(), /^SOUND/);
  await page.locator('#factory').fill('0x1234');
  await page.getByRole('button', { name: 'Verify' }).click();
  assert.match(await page.locator('#factory-error').textContent(), /the expected factory must be an address/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'factory', 'the focus moves to the field');
  await page.context().close();
});

test('the report downloads as JSON: the verdict, every check, when, which node, chain and blocks, which registry', async () => {
  const { createHash } = await import('node:crypto');
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#token').fill(String(TOKEN_ID));
  const before = Date.now();
  const shown = await pasteAndVerify(page, sound);
  const [download] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download this report (JSON)' }).click()]);
  assert.match(download.suggestedFilename(), new RegExp(`^verification-pledge-${TOKEN_ID}-\\d{8}T\\d{6}Z\\.json$`));
  const report = JSON.parse(readFileSync(await download.path(), 'utf8'));
  assert.equal(report.format, 'dpl-verification-report/1');
  assert.equal(report.verdict, 'SOUND');
  assert.equal(report.sound, true);
  assert.equal(report.summary, `all ${shown.length} checks passed`);
  assert.deepEqual(report.checks.map((c) => [c.name, c.ok]), shown.map((c) => [c.name, c.ok]), 'every check shown, in order');
  assert.equal(report.token_id, String(TOKEN_ID));
  const at = Date.parse(report.checked_at);
  assert.ok(at >= before - 1000 && at <= Date.now() + 1000, report.checked_at);
  assert.equal(report.chain.rpc_url, RPC);
  assert.equal(report.chain.chain_id, '31337');
  for (const head of [report.chain.head_before, report.chain.head_after]) {
    assert.match(head.number, /^[0-9]+$/);
    assert.match(head.hash, /^0x[0-9a-f]{64}$/);
  }
  assert.ok(BigInt(report.chain.head_after.number) >= BigInt(report.chain.head_before.number));
  assert.equal(report.trust.registry, REGISTRY);
  assert.equal(report.trust.expected_factory, null);
  assert.equal(report.bundle.format, 'dpl-collateral/1');
  assert.equal(report.bundle.sha256, '0x' + createHash('sha256').update(sound).digest('hex'), 'names the exact bytes checked');

  // a tampered bundle's report keeps its failures too
  const bundle = JSON.parse(sound);
  bundle.entries[0].record.data = { ...bundle.entries[0].record.data, tampered: 1 };
  await page.getByLabel('Bundle JSON').fill(JSON.stringify(bundle));
  await page.getByRole('button', { name: 'Use this text' }).click();
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('verdict').filter({ hasText: /^NOT SOUND/ }).waitFor();
  const [bad] = await Promise.all([page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download this report (JSON)' }).click()]);
  const badReport = JSON.parse(readFileSync(await bad.path(), 'utf8'));
  assert.equal(badReport.verdict, 'NOT SOUND');
  assert.ok(badReport.checks.some((c) => !c.ok && /do not hash to leaf_hash/.test(c.detail)));
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the verdict leads in plain words (what was checked, what it means for the loan), then the sampled records, readable, then every check', async () => {
  const bundle = JSON.parse(sound);
  const page = await openPage(browser);
  await page.goto(`${BASE}/verify`);
  await page.locator('#token').fill(String(TOKEN_ID));
  await pasteAndVerify(page, sound);
  const checked = await page.getByTestId('checked').textContent();
  assert.equal(checked, `What was checked: Pledge #${TOKEN_ID} on chain (read from ${RPC} through registry ${REGISTRY}): its manifest `
    + `of records [0, 200) of acme/line-a, and 8 sampled records, each proven in the log's checkpoint of size `
    + `${bundle.manifest.checkpoint.size} that the registry anchored.`);
  assert.match(await page.getByTestId('meaning').textContent(),
    /^What it means for the loan: The pledge holds its lien \(status live, holder 0x[0-9a-fA-F]{40}\) on records the factory's log holds exactly as shown below/);
  // in this order: verdict, plain words, records, every check
  const order = await page.$$eval('[data-testid=verdict], [data-testid=plain-verdict], [data-testid=records], [data-testid=checks]',
    (els) => els.map((el) => el.dataset.testid));
  assert.deepEqual(order, ['verdict', 'plain-verdict', 'records', 'checks']);
  const records = page.locator('[data-testid=records] article.record');
  assert.equal(await records.count(), 8);
  const first = bundle.entries[0];
  const card = page.locator(`[data-testid=records] article.record[data-index="${first.index}"]`);
  assert.equal(await card.locator('h4 code').textContent(), first.record.id);
  assert.equal(await card.locator('p.muted').textContent(), `${first.record.type} · ${first.record.ts}`);
  const fields = await card.locator('dt').allTextContents();
  assert.deepEqual(fields, Object.keys(first.record.data), 'every field of the record, in its order');
  await assertFits(page);
  await shot(page, 'verify-plain-verdict');

  bundle.entries[0].record.data = { ...bundle.entries[0].record.data, tampered: 1 };
  await page.getByLabel('Bundle JSON').fill(JSON.stringify(bundle));
  await page.getByRole('button', { name: 'Use this text' }).click();
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.getByTestId('verdict').filter({ hasText: /^NOT SOUND/ }).waitFor();
  assert.match(await page.getByTestId('meaning').textContent(),
    /^What it means for the loan: Do not rely on this bundle: \d+ checks? failed, first "entry \d+: leaf hash" — /);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});
