// Calls to /v1 as the signed-in party (session cookie and CSRF token), RFC 9457 problem details
// as ApiError, and which form control an error is about. No DOM access: importable by `node --test`.
import { readConfig } from './config.js';
import { refusalText } from './format.js';

/** An API answer that is not 2xx: RFC 9457 problem details when the API sent them. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
  /** One readable line: what went wrong; a contract refusal in words, else the error's name and arguments. */
  get readable() {
    const p = this.problem;
    // a registry refusal in words ("pledge #1 is not matured until 2027-06-30"), not PledgeNotMatured(1, 1814313600)
    const words = p.error ? refusalText(p.error, p.arguments || []) : null;
    if (words) return words;
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
  const config = readConfig();
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
    globalThis.location?.assign('/');
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
