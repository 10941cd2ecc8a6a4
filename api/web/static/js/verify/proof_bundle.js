// dpl-proof/1 and dpl-consistency/1 bundles (ledger/bundles.py), verified with math only.
// Python raises at the first problem; here every problem is a failed check, so a UI can show
// each entry green or red. `error` is the first failure's reason (Python's BundleError text when
// there is one problem), `sound` is true exactly when Python accepts the bundle.
import { toModel, pyType, isInt, get } from './json.js';
import { HEX32, fromHex, toHex, equalBytes } from './hex.js';
import { pyRepr } from './pyfmt.js';
import { prepareRecord, RecordError } from './records.js';
import { verifyInclusion, verifyConsistency, ProofError } from './merkle.js';
import { bundleRecordFormat, leafHashOf } from './leaves.js';
import { BundleError } from './errors.js';
import { check } from './collateral.js';

export const PROOF_FORMAT = 'dpl-proof/1';
export const CONSISTENCY_FORMAT = 'dpl-consistency/1';

export function hash(value, where) {
  if (typeof value !== 'string' || !HEX32.test(value)) throw new BundleError(`${where} must be 0x followed by 64 lowercase hex digits`);
  return fromHex(value);
}

export function size(value, where) {
  if (!isInt(value) || BigInt(value) < 0n) throw new BundleError(`${where} must be a non-negative integer`);
  return BigInt(value);
}

export function obj(value, where) {
  if (pyType(value) !== 'dict') throw new BundleError(`${where} must be a JSON object`);
  return value;
}

export function logIdOf(b) {
  const v = get(b, 'log_id');
  return v === null || v === undefined ? null : hash(v, 'log_id');
}

export function anchorOf(b) {
  const a = get(b, 'anchor');
  if (a === null || a === undefined) return null;
  obj(a, 'anchor');
  size(get(a, 'chain_id'), 'anchor.chain_id');
  const r = get(a, 'registry');
  if (typeof r !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(r)) throw new BundleError('anchor.registry must be a 0x-prefixed 20-byte address');
  // Optional, but checked against the chain when given (chain.js), never just shown.
  const tx = get(a, 'tx_hash'), block = get(a, 'block_number');
  if (tx !== null && tx !== undefined) hash(tx, 'anchor.tx_hash');
  if (block !== null && block !== undefined) size(block, 'anchor.block_number');
  return a;
}

function result(format, checks, extra = {}) {
  const sound = checks.length > 0 && checks.every((c) => c.ok);
  const failed = checks.find((c) => !c.ok);
  return { format, sound, error: failed ? failed.detail : null, checks, ...extra };
}

const formatFailure = (format, reason) => result(format, [check('format', false, reason)]);

/**
 * Verify a bundle of any known format (ledger.bundles.verify).
 * @param bundle JSON text (exact) or a parsed object
 * @returns Promise of {format, sound, error, checks, summary?, logId?, size?, root?, anchor?}
 */
export async function verifyBundle(bundle) {
  const model = toModel(bundle);
  if (model.error) return formatFailure(null, model.error);
  const b = model.value;
  if (pyType(b) !== 'dict') return formatFailure(null, 'the bundle must be a JSON object');
  const fmt = get(b, 'format');
  if (fmt === PROOF_FORMAT) return verifyProofBundle(b);
  if (fmt === CONSISTENCY_FORMAT) return verifyConsistencyBundle(b);
  return formatFailure(null, `unknown bundle format ${pyRepr(fmt ?? null)} (expected ${pyRepr(PROOF_FORMAT)} or ${pyRepr(CONSISTENCY_FORMAT)})`);
}

/**
 * Verify a dpl-proof/1 bundle: checks "format", then per entry "entry <index>: leaf hash" and
 * "entry <index>: inclusion". A malformed bundle gives one failed "format" check.
 */
export async function verifyProofBundle(bundle) {
  const model = toModel(bundle);
  if (model.error) return formatFailure(PROOF_FORMAT, model.error);
  const b = model.value;
  let stream, n, root, entries, logId, anchor, recordFormat;
  try {
    obj(b, 'the bundle');
    stream = get(b, 'stream');
    if (typeof stream !== 'string') throw new BundleError('stream must be a string');
    recordFormat = bundleRecordFormat(b);
    const cp = obj(get(b, 'checkpoint'), 'checkpoint');
    n = size(get(cp, 'size'), 'checkpoint.size');
    root = hash(get(cp, 'root'), 'checkpoint.root');
    const raw = get(b, 'entries');
    if (pyType(raw) !== 'list' || !raw.length) throw new BundleError('entries must be a non-empty list');
    const firstAt = new Map();
    entries = raw.map((entry, k) => {
      const e = obj(entry, `entries[${k}]`);
      const index = size(get(e, 'index'), `entries[${k}].index`);
      const where = `entries[${k}] (index ${index})`;
      const salt = hash(get(e, 'salt'), `${where}.salt`);
      const leaf = hash(get(e, 'leaf_hash'), `${where}.leaf_hash`);
      const proofHex = get(e, 'proof');
      if (pyType(proofHex) !== 'list') throw new BundleError(`${where}.proof must be a list`);
      const proof = proofHex.map((h, i) => hash(h, `${where}.proof[${i}]`));
      if (firstAt.has(index)) throw new BundleError(`${where} repeats the index of entries[${firstAt.get(index)}]: each index is proven once`);
      firstAt.set(index, k);
      return { index, where, salt, leaf, proof, record: get(e, 'record') };
    });
    logId = logIdOf(b);
    anchor = anchorOf(b);
  } catch (e) {
    if (e instanceof BundleError) return formatFailure(PROOF_FORMAT, e.message);
    throw e;
  }
  const checks = [check('format', true, `${PROOF_FORMAT}, ${entries.length} entries`)];
  for (const e of entries) {
    const name = `entry ${e.index}`;
    try {
      const canonical = prepareRecord(e.record);
      checks.push(equalBytes(await leafHashOf(recordFormat, e.salt, canonical, e.record), e.leaf)
        ? check(`${name}: leaf hash`, true, 'record and salt hash to leaf_hash')
        : check(`${name}: leaf hash`, false, `${e.where}: record and salt do not hash to leaf_hash (record or salt was altered)`));
    } catch (err) {
      if (!(err instanceof RecordError)) throw err;
      checks.push(check(`${name}: leaf hash`, false, `${e.where}: record is not a valid record: ${err.reason}`));
    }
    try {
      await verifyInclusion(e.leaf, e.index, n, e.proof, root);
      checks.push(check(`${name}: inclusion`, true, `leaf is at index ${e.index} of size ${n}`));
    } catch (err) {
      if (!(err instanceof ProofError)) throw err;
      checks.push(check(`${name}: inclusion`, false, `${e.where}: inclusion proof does not lead to the checkpoint root `
        + `(index, proof or root was altered): ${err.message}`));
    }
  }
  const shown = entries.slice(0, 5).map((e) => e.index).join(', ') + (entries.length > 5 ? ' ...' : '');
  const summary = `${entries.length} record(s) at index ${shown} are in ${pyRepr(stream)} at size ${n}, root ${toHex(root)}`;
  return result(PROOF_FORMAT, checks, { summary, stream, logId, size: n, root, anchor, recordFormat });
}

/** Verify a dpl-consistency/1 bundle: checks "format" and "consistency". */
export async function verifyConsistencyBundle(bundle) {
  const model = toModel(bundle);
  if (model.error) return formatFailure(CONSISTENCY_FORMAT, model.error);
  const b = model.value;
  let stream, oldSize, newSize, oldRoot, newRoot, proof, logId, anchor;
  try {
    obj(b, 'the bundle');
    stream = get(b, 'stream');
    if (typeof stream !== 'string') throw new BundleError('stream must be a string');
    const old = obj(get(b, 'old'), 'old'), neu = obj(get(b, 'new'), 'new');
    oldSize = size(get(old, 'size'), 'old.size');
    newSize = size(get(neu, 'size'), 'new.size');
    oldRoot = hash(get(old, 'root'), 'old.root');
    newRoot = hash(get(neu, 'root'), 'new.root');
    const proofHex = get(b, 'proof');
    if (pyType(proofHex) !== 'list') throw new BundleError('proof must be a list');
    proof = proofHex.map((h, i) => hash(h, `proof[${i}]`));
    logId = logIdOf(b);
    anchor = anchorOf(b);
  } catch (e) {
    if (e instanceof BundleError) return formatFailure(CONSISTENCY_FORMAT, e.message);
    throw e;
  }
  const checks = [check('format', true, `${CONSISTENCY_FORMAT}, ${proof.length} proof hashes`)];
  try {
    await verifyConsistency(oldSize, newSize, proof, oldRoot, newRoot);
    checks.push(check('consistency', true, `size ${newSize} extends size ${oldSize}`));
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    checks.push(check('consistency', false, `consistency proof does not hold: ${err.message}`));
  }
  const summary = `${pyRepr(stream)} at size ${newSize} (root ${toHex(newRoot)}) extends size ${oldSize} (root ${toHex(oldRoot)})`;
  return result(CONSISTENCY_FORMAT, checks, { summary, stream, logId, size: newSize, root: newRoot, anchor });
}
