// The pages' shared modules (api/web/static/js/): importable without a DOM, and what they compute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmtAmount, parseAmount, currencyDigits, fmtTime, fmtDate, refusalText, explorerUrl } from '../../api/web/static/js/format.js';
import { ApiError, errorText, controlFor } from '../../api/web/static/js/api.js';
import { readConfig, resetConfig } from '../../api/web/static/js/config.js';
import { browserWallet, walletAccount } from '../../api/web/static/js/wallet.js';
import { niceScale } from '../../api/web/static/js/pages/factory/activity.js';

test('amounts from minor units with the currency\'s ISO 4217 decimals, exact', () => {
  assert.equal(fmtAmount(5_000_000, 'EUR'), '50,000.00 EUR');
  assert.equal(fmtAmount('2500000', 'EUR'), '25,000.00 EUR');
  assert.equal(fmtAmount(5, 'EUR'), '0.05 EUR');
  assert.equal(fmtAmount(0, 'USD'), '0.00 USD');
  assert.equal(fmtAmount(1234567, 'JPY'), '1,234,567 JPY', 'no decimals');
  assert.equal(fmtAmount(1234567, 'BHD'), '1,234.567 BHD', 'three decimals');
  assert.equal(fmtAmount((2n ** 70n).toString(), 'EUR'), '11,805,916,207,174,113,034.24 EUR', 'above 2^53, no rounding');
  assert.equal(fmtAmount('x', 'EUR'), 'x EUR (minor units)');
  assert.equal(currencyDigits('ZZZ'), 2, 'a code the runtime does not know: cents');
});

test('an amount as typed becomes minor units; more decimals than the currency has is refused in words', () => {
  assert.equal(parseAmount('50,000.00', 'EUR'), '5000000');
  assert.equal(parseAmount('50000', 'EUR'), '5000000');
  assert.equal(parseAmount(' 50 000.5 ', 'EUR'), '5000050');
  assert.equal(parseAmount('1234567', 'JPY'), '1234567');
  assert.equal(parseAmount('99999999999999999999.99', 'EUR'), '9999999999999999999999');
  assert.throws(() => parseAmount('1.234', 'EUR'), /^Error: EUR has 2 decimals: "1.234" has 3$/);
  assert.throws(() => parseAmount('1.5', 'JPY'), /JPY has 0 decimals/);
  for (const bad of ['', '-5', '5e3', 'abc', '1.2.3']) assert.throws(() => parseAmount(bad, 'EUR'), /is not an amount/, bad);
  for (const minor of ['0', '5', '5000000', '123456789012345678901']) assert.equal(parseAmount(fmtAmount(minor, 'EUR').split(' ')[0], 'EUR'), minor);
});

test('moments in UTC; a date kept as its midnight is shown as a date', () => {
  assert.equal(fmtTime(1814313600), '2027-06-30 00:00 UTC');
  assert.equal(fmtTime('2026-12-06T20:51:07'), '2026-12-06 20:51:07 UTC', 'no offset: read as UTC');
  assert.equal(fmtTime(null), '—');
  assert.equal(fmtDate(1814313600), '2027-06-30');
  assert.equal(fmtDate('1814313600'), '2027-06-30', 'the decimal text the API gives for contract arguments');
  assert.equal(fmtDate(1814313601), '2027-06-30 00:00:01 UTC', 'not midnight: nothing rounded away');
  assert.equal(fmtDate('not a date'), 'not a date');
});

test('the registry\'s refusals in words, not PledgeNotMatured(1, 1814313600)', () => {
  assert.equal(refusalText('PledgeNotMatured', ['1', '1814313600']),
    'pledge #1 is not matured until 2027-06-30: default can be declared from then on');
  assert.equal(refusalText('PledgeWrongStatus', ['3', '2']), 'pledge #3 is released, which does not allow this');
  assert.equal(refusalText('PledgeExtensionNotConsented', ['2', '1830211200', '1861920000']),
    'pledge #2 may be extended up to 2027-12-31 without the factory; 2029-01-01 needs an extension the factory signed');
  assert.equal(refusalText('SomethingElse', ['1']), null);
  assert.equal(refusalText('toString', []), null, 'only the registry\'s own names');
  const refused = new ApiError(409, { title: 'contract-revert', detail: 'default can only be declared from the loan\'s maturity on',
    error: 'PledgeNotMatured', arguments: ['1', '1814313600'] });
  assert.equal(errorText(refused), 'pledge #1 is not matured until 2027-06-30: default can be declared from then on');
  const other = new ApiError(409, { detail: 'reverted', error: 'ERC721InvalidReceiver', arguments: ['0x00'] });
  assert.equal(errorText(other), 'reverted (ERC721InvalidReceiver: 0x00)', 'an error without words: its name and arguments');
});

test('API problems: readable text and the control an error is about', () => {
  assert.equal(errorText(new ApiError(500, null)), 'HTTP 500');
  assert.equal(errorText(new ApiError(422, { detail: 'bad', position: 3, field: 'ts' })), 'bad record #3, field ts');
  assert.equal(errorText(new Error('plain')), 'plain');
  const controls = { from: 'FROM', to: 'TO', lender: 'LENDER' };
  assert.equal(controlFor(new ApiError(422, { errors: [{ loc: ['body', 'terms', 'to'] }] }), controls, 'X'), 'TO');
  assert.equal(controlFor(new ApiError(400, { detail: 'lender unknown' }), controls, 'X', [[/lender/, 'lender']]), 'LENDER');
  assert.equal(controlFor(new Error('x'), controls, 'X'), 'X');
});

test('the page config is read when asked for, not at import', () => {
  resetConfig();
  const doc = { getElementById: (id) => (id === 'dpl-config' ? { textContent: '{"registry": "0xabc", "chainId": 31337}' } : null) };
  assert.deepEqual(readConfig(doc), { registry: '0xabc', chainId: 31337 });
  assert.equal(readConfig(), readConfig(doc), 'kept once read');
  resetConfig();
  assert.deepEqual(readConfig({ getElementById: () => null }), {});
  resetConfig();
});

test('the wallet: none, the wrong account, the wrong chain are each said in words', async () => {
  assert.equal(browserWallet(), null);
  await assert.rejects(walletAccount('0xAb'), /no browser wallet/);
  const answers = { eth_requestAccounts: ['0xab'], eth_chainId: '0x1' };
  globalThis.window = { ethereum: { request: async ({ method }) => answers[method] } };
  try {
    assert.equal(await walletAccount('0xAB'), '0xab', 'addresses compare in any case');
    await assert.rejects(walletAccount('0xcd'), /the wallet's account is 0xab, this party's address is 0xcd/);
    await assert.rejects(walletAccount('0xab', 31337), /the wallet is on chain 1, the registry on chain 31337/);
    globalThis.window.ethereum.request = async () => { throw Object.assign(new Error('no'), { code: 4001 }); };
    await assert.rejects(walletAccount('0xab'), /^Error: the wallet: you declined in the wallet$/);
  } finally {
    delete globalThis.window;
  }
});

test('the activity chart\'s y axis: a round top and step', () => {
  assert.deepEqual(niceScale(0), { top: 1, step: 1 });
  assert.deepEqual(niceScale(7), { top: 8, step: 2 });
  assert.deepEqual(niceScale(130), { top: 150, step: 50 });
});

test('explorer links only when an explorer is configured, only for hex values', () => {
  assert.equal(explorerUrl('https://sepolia.etherscan.io/', 'address', '0xAbC1'), 'https://sepolia.etherscan.io/address/0xAbC1');
  assert.equal(explorerUrl('https://e.example', 'tx', '0x12'), 'https://e.example/tx/0x12');
  assert.equal(explorerUrl(null, 'tx', '0x12'), null);
  assert.equal(explorerUrl('https://e.example', 'tx', 'javascript:alert(1)'), null);
  assert.equal(explorerUrl('https://e.example', 'block', '0x12'), null);
});
