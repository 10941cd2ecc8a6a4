// Shared helpers of the web UI's pages: the page config, calls to /v1 with the session
// cookie and CSRF token, errors shown next to the control that caused them, safe DOM building.

export const config = JSON.parse(document.getElementById('dpl-config').textContent);

/** An API answer that is not 2xx: RFC 9457 problem details when the API sent them. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  /** One readable line: what went wrong and, for contract errors, the error's name. */
  get readable() {
    const p = this.problem;
    const parts = [p.detail || p.title || `HTTP ${this.status}`];
    if (p.error) parts.push(`(${p.error}${p.arguments?.length ? ': ' + p.arguments.join(', ') : ''})`);
    // a record problem's detail names the record already ("record 2 (id 'x'), field 'ts': …")
    const named = /^record \d+/.test(p.detail || '');
    if (!named && p.position !== undefined && p.position !== null) parts.push(`record #${p.position}${p.field ? ', field ' + p.field : ''}`);
    return parts.join(' ');
  }
}

/**
 * Calls the API as the signed-in party. `body` is sent as JSON, or as it is (a File, Blob or
 * string) when `contentType` is given. Returns the parsed JSON (or null for 204); throws
 * ApiError with the problem details otherwise.
 */
export async function api(method, path, body, { headers = {}, raw = false, contentType = null } = {}) {
  const init = { method, headers: { Accept: 'application/json', ...headers }, credentials: 'same-origin' };
  if (method !== 'GET' && method !== 'HEAD') init.headers['X-CSRF-Token'] = config.csrf || '';
  if (body !== undefined) {
    init.headers['Content-Type'] = contentType || 'application/json';
    init.body = contentType ? body : JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { title: 'network', detail: `the service did not answer (${e.message})` });
  }
  if (response.status === 401 && config.party) {
    // The session ended (signed out elsewhere, expired, key revoked): back to sign-in.
    window.location.assign('/');
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/** The readable text of an error: an API problem's detail (and contract error), else its message. */
export function errorText(err) {
  return err instanceof ApiError ? err.readable : (err?.message || String(err));
}

/**
 * Shows `err` right after `control` (a field or a button), marks the field invalid. The
 * control's own descriptions (a hint's id in aria-describedby) stay.
 */
export function showError(control, err) {
  clearError(control);
  if (!control.id) control.id = 'c' + Math.random().toString(36).slice(2);
  const p = h('p', { class: 'error', role: 'alert', id: `${control.id}-error`, 'data-error-for': control.id },
    errorText(err));
  control.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
  control.setAttribute('aria-describedby', [p.id, ...described].join(' '));
  control.insertAdjacentElement('afterend', p);
  return p;
}

/** Removes the error `showError` put after `control` (and only that: hints stay). */
export function clearError(control) {
  control.removeAttribute('aria-invalid');
  if (!control.id) return;
  const id = `${control.id}-error`;
  document.getElementById(id)?.remove();
  const rest = (control.getAttribute('aria-describedby') || '').split(/\s+/).filter((t) => t && t !== id);
  if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
  else control.removeAttribute('aria-describedby');
}

/** Builds an element; strings become text nodes (never HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** 0x1234…abcd, the whole value in the title. */
export function short(hex, keep = 10) {
  if (!hex || hex.length <= keep * 2 + 2) return h('code', {}, hex ?? '—');
  return h('code', { title: hex }, `${hex.slice(0, keep + 2)}…${hex.slice(-keep / 2)}`);
}

/** A transaction hash, linked to the configured explorer when there is one. */
export function txLink(hash) {
  if (!hash) return h('span', { class: 'muted' }, '—');
  if (!config.explorer) return short(hash);
  return h('a', { href: `${config.explorer}/tx/${hash}`, target: '_blank', rel: 'noopener noreferrer' }, short(hash));
}

export function badge(text, kind = text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** Unix seconds (or ISO text; read as UTC when it carries no offset) as a UTC date-time. */
export function fmtTime(value) {
  if (value === null || value === undefined) return '—';
  const iso = (t) => (/T\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(t) ? t + 'Z' : t);
  const d = typeof value === 'number' ? new Date(value * 1000) : new Date(iso(String(value)));
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/:00 UTC$/, ' UTC');
}

/** A table inside a horizontally scrolling wrapper (narrow screens). */
export function table(headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'none yet')))));
}

/** Disables `button` while `work` runs; shows its error next to `errorAt` (default the button). */
export async function busy(button, work, errorAt = button) {
  clearError(errorAt);
  button.disabled = true;
  try {
    return await work();
  } catch (e) {
    showError(errorAt, e);
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** Offers `data` as a file download. */
export function download(filename, data, type = 'application/json') {
  // a BigInt (the verifier's exact integers) as its decimal text: JSON.stringify throws on one
  const text = typeof data === 'string' ? data : JSON.stringify(data, (k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
  const blob = new Blob([text], { type });
  const a = h('a', { href: URL.createObjectURL(blob), download: filename });
  document.body.append(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

/** A "Loading…" line for a section that is still being fetched (screen readers hear it). */
export function loading(what = 'Loading…') {
  return h('p', { class: 'muted', role: 'status' }, what);
}

/**
 * The form control an API error is about, so the error shows next to it: the first
 * validation error's field (`errors[].loc` of a 422), else the first of `hints`
 * ([RegExp, name] pairs tested against the problem's detail) that matches, else `fallback`.
 * `controls` maps request field names to their elements.
 */
export function controlFor(err, controls, fallback, hints = []) {
  const p = err instanceof ApiError ? err.problem : {};
  for (const e of p.errors || []) {
    for (const part of [...(e.loc || [])].reverse()) {
      if (controls[part]) return controls[part];
    }
  }
  if (p.field && controls[p.field]) return controls[p.field];
  const detail = p.detail || '';
  for (const [pattern, name] of hints) {
    if (pattern.test(detail) && controls[name]) return controls[name];
  }
  return fallback;
}

/** A button that copies `text` to the clipboard and says so (or selects `select` when it cannot). */
export function copyButton(text, label = 'Copy', select = null) {
  const button = h('button', { type: 'button', class: 'secondary' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      if (select) window.getSelection().selectAllChildren(select);
      button.textContent = 'Select and copy (Ctrl+C)';
    }
    setTimeout(() => { button.textContent = label; }, 2500);
  });
  return button;
}

/** An amount in minor units with its ISO 4217 currency's decimals: (2500000, 'EUR') -> "25,000.00 EUR". */
export function fmtAmount(minor, currency) {
  let digits = 2;
  try {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch { /* a code this browser does not know: assume cents */ }
  let v;
  try { v = BigInt(minor); } catch { return `${minor} ${currency} (minor units)`; }
  const base = 10n ** BigInt(digits);
  const frac = digits ? '.' + (v % base).toString().padStart(digits, '0') : '';
  return `${(v / base).toLocaleString('en')}${frac} ${currency}`;
}

// --- the browser wallet (EIP-1193: MetaMask and the like) ------------------------------------
// For parties whose keys the service does not hold: the wallet signs or sends, the page
// never sees a key.

/** The browser's wallet provider, or null when there is none. */
export function browserWallet() {
  return typeof window.ethereum?.request === 'function' ? window.ethereum : null;
}

function walletError(e) {
  const text = e?.code === 4001 ? 'you declined in the wallet' : (e?.message || String(e));
  return new Error(`the wallet: ${text}`);
}

async function ask(method, params = []) {
  const wallet = browserWallet();
  if (!wallet) throw new Error('no browser wallet (e.g. MetaMask) in this browser');
  try {
    return await wallet.request({ method, params });
  } catch (e) {
    throw walletError(e);
  }
}

/** The wallet's account, which must be `expected` (the party's address), on chain `chainId`. */
export async function walletAccount(expected, chainId) {
  const [account] = await ask('eth_requestAccounts');
  if (!account) throw new Error('the wallet shares no account');
  if (expected && account.toLowerCase() !== expected.toLowerCase()) {
    throw new Error(`the wallet's account is ${account}, this party's address is ${expected}: switch accounts in the wallet`);
  }
  if (chainId !== undefined && chainId !== null) {
    const on = Number(BigInt(await ask('eth_chainId')));
    if (on !== Number(chainId)) throw new Error(`the wallet is on chain ${on}, the registry on chain ${chainId}: switch networks in the wallet`);
  }
  return account;
}

/** An EIP-712 signature of `typedData` (as the API's drafts give it) by `account`. */
export function walletSignTypedData(account, typedData) {
  return ask('eth_signTypedData_v4', [account, JSON.stringify(typedData)]);
}

/** Sends `{from, to, data}` from the wallet and waits (up to 2 minutes) until it is in a block. */
export async function walletSend(tx) {
  const hash = await ask('eth_sendTransaction', [{ from: tx.from, to: tx.to, data: tx.data }]);
  for (let i = 0; i < 120; i++) {
    const receipt = await ask('eth_getTransactionReceipt', [hash]);
    if (receipt) {
      if (receipt.status !== '0x1') throw new Error(`transaction ${hash} reverted`);
      return hash;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`transaction ${hash} is not in a block after 2 minutes: check it in the wallet`);
}
