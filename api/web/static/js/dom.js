// Building the page safely (strings are text, never HTML), errors shown next to the control that
// caused them, busy buttons that give focus back, tables, downloads and copy buttons. Touches the
// DOM only when called: importable by `node --test`.
import { readConfig } from './config.js';
import { errorText } from './api.js';
import { explorerUrl } from './format.js';
import { shownName } from './verify/pyfmt.js';

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

/** 0x1234…abcd, the whole value in the title. */
export function short(hex, keep = 10) {
  if (!hex || hex.length <= keep * 2 + 2) return h('code', {}, hex ?? '—');
  return h('code', { title: hex }, `${hex.slice(0, keep + 2)}…${hex.slice(-keep / 2)}`);
}

/** A transaction hash, linked to the configured explorer when there is one. */
export function txLink(hash) {
  if (!hash) return h('span', { class: 'muted' }, '—');
  const url = explorerUrl(readConfig().explorer, 'tx', hash);
  if (!url) return short(hash);
  return h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, short(hash));
}

/**
 * An address: the name of the party it is known as (`name`; a directory name from the chain is
 * shown escaped), shortened with a Copy button, linked to the configured explorer when there is one.
 */
export function addressOf(address, { name = null, what = 'address', keep = 6 } = {}) {
  if (!address) return h('span', { class: 'muted' }, '—');
  const url = explorerUrl(readConfig().explorer, 'address', address);
  return h('span', { class: 'address' }, name ? [h('b', {}, shownName(name)), ' '] : [], copyable(address, what, keep),
    url ? [' ', h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, 'explorer')] : []);
}

export function badge(text, kind = text) {
  return h('span', { class: `badge ${kind}` }, text);
}

/** A table inside a horizontally scrolling wrapper (narrow screens). */
export function table(headers, rows, attrs = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', attrs,
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'none yet')))));
}

/**
 * Disables `button` while `work` runs; shows its error next to `errorAt` (default the button)
 * and moves the keyboard focus there. When it succeeds, the focus comes back to the button if
 * it had it (a disabled button loses it) and nothing else took it meanwhile.
 */
export async function busy(button, work, errorAt = button) {
  clearError(errorAt);
  const hadFocus = document.activeElement === button;
  button.disabled = true;
  let failed = false;
  try {
    return await work();
  } catch (e) {
    showError(errorAt, e);
    failed = true;
    return undefined;
  } finally {
    button.disabled = false;
    if (failed) focusOn(errorAt);
    else if (hadFocus && [null, document.body, button].includes(document.activeElement)) focusOn(button);
  }
}

/** Puts the keyboard focus on `el` (a field or button); a disabled one passes it to nothing. */
export function focusOn(el) {
  if (el && typeof el.focus === 'function' && el.isConnected) el.focus();
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

/** A hash or address, shortened (whole in the title), with a button that copies it whole. */
export function copyable(hex, what, keep = 10) {
  if (!hex) return short(hex, keep);
  const button = copyButton(hex, 'Copy');
  button.classList.add('copy');
  button.setAttribute('aria-label', `Copy ${what}`);
  return h('span', { class: 'copyable' }, short(hex, keep), ' ', button);
}
