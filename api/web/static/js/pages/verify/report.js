// The verification report a lender keeps: plain JSON (no BigInt, no bytes), with the verdict, every
// check, and what the verdict rests on (when, which node and chain, which blocks, which registry).
// Pure: no DOM, no network; the page gathers the facts and this shapes them.
import { toHex } from '../../verify/hex.js';

export const REPORT_FORMAT = 'dpl-verification-report/1';

/**
 * `value` as JSON can hold it, exactly: a BigInt becomes its decimal text (a number could lose
 * digits above 2^53), bytes become 0x-hex, a Map an object; anything else JSON.stringify takes.
 */
export function jsonSafe(value) {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), jsonSafe(v)]));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    // a parsed number kept exact by verify/json.js (JsonFloat and the like) says how it is written
    if (typeof value.toJSON === 'function') return value.toJSON();
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

/** "all 30 checks passed" or "3 of 30 checks failed". */
export function verdictLine(checks) {
  const failed = checks.filter((c) => !c.ok).length;
  return failed ? `${failed} of ${checks.length} checks failed` : `all ${checks.length} checks passed`;
}

/** A block as {number, hash} from an eth_getBlockByNumber answer (hex quantities), or null. */
export function blockRef(block) {
  if (!block || typeof block !== 'object') return null;
  let number = null;
  try { number = block.number === undefined || block.number === null ? null : BigInt(block.number).toString(); } catch { /* not a quantity */ }
  return { number, hash: typeof block.hash === 'string' ? block.hash : null };
}

/**
 * The report to download.
 * @param verdict the verifier's answer ({sound, checks[, tokenId]})
 * @param facts.bundleFormat 'dpl-collateral/1' | 'dpl-proof/1'
 * @param facts.bundleSha256 0x-hex SHA-256 of the exact bundle bytes checked
 * @param facts.source where the bundle came from ("the pasted text", a file name…)
 * @param facts.tokenId the pledge checked (collateral bundles), else null
 * @param facts.rpcUrl, facts.chainId, facts.registry, facts.registrySource, facts.factory (or null)
 * @param facts.startedAt, facts.finishedAt Date
 * @param facts.headBefore, facts.headAfter eth_getBlockByNumber('latest') answers read just before
 *   and just after the checks (every chain read is at "latest", so the facts hold between them)
 */
export function buildReport(verdict, facts) {
  const checks = verdict.checks.map((c) => ({ name: String(c.name), ok: Boolean(c.ok), detail: String(c.detail) }));
  return jsonSafe({
    format: REPORT_FORMAT,
    verdict: verdict.sound ? 'SOUND' : 'NOT SOUND',
    sound: Boolean(verdict.sound),
    summary: verdictLine(checks),
    checked_at: facts.finishedAt.toISOString(),
    duration_ms: Math.max(0, facts.finishedAt - facts.startedAt),
    bundle: { format: facts.bundleFormat, source: facts.source, sha256: facts.bundleSha256 },
    token_id: facts.tokenId ?? null,
    chain: {
      rpc_url: facts.rpcUrl,
      chain_id: facts.chainId ?? null,
      // the checks read the chain at "latest": these are the heads just before and just after them
      head_before: blockRef(facts.headBefore),
      head_after: blockRef(facts.headAfter),
    },
    trust: { registry: facts.registry, registry_source: facts.registrySource, expected_factory: facts.factory || null },
    checked_by: 'the /verify page, in the browser (api/web/static/js/verify/)',
    checks,
  });
}

/** A file name for the report: verification-<token or format>-<UTC time>.json. */
export function reportFileName(report) {
  const what = report.token_id !== null && report.token_id !== undefined ? `pledge-${report.token_id}` : 'proof';
  return `verification-${what}-${report.checked_at.replace(/\.\d+Z$/, 'Z').replace(/[^0-9TZ]/g, '')}.json`;
}
