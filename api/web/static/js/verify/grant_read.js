// The lender's check of a dpl-grant-read/1 answer (ledger/grant_read.py), in the same words: on a
// dpl-record/2 log every record is a dpl-partial-record/1 whose leaf is rebuilt from the disclosed
// fields and hidden commitments and, when "proven", included under the answer's checkpoint root;
// on a dpl-record/1 log a proven record carries its salt and its whole-record leaf is rebuilt.
// The caller compares the root with the one anchored on chain for (log_id, size).
import { toModel, pyType, get, has } from './json.js';
import { equalBytes } from './hex.js';
import { pyRepr } from './pyfmt.js';
import { canonicalize, CanonicalError } from './jcs.js';
import { prepareRecord, RecordError } from './records.js';
import { verifyInclusion, ProofError } from './merkle.js';
import { BundleError } from './errors.js';
import { verifyPartial } from './record2.js';
import { bundleRecordFormat, leafHashOf, RECORD_V1, RECORD_V2 } from './leaves.js';
import { hash, size as nonNegative, obj, logIdOf, anchorOf } from './proof_bundle.js';

export const READ_FORMAT = 'dpl-grant-read/1';

function sameJson(a, b) {
  try {
    return equalBytes(canonicalize(a), canonicalize(b));
  } catch (e) {
    if (e instanceof CanonicalError) return false;
    throw e;
  }
}

async function partialOf(e, index, where) {
  if (!has(e, 'partial')) throw new BundleError(`${where}: a dpl-record/2 answer gives every record as a partial record ('partial')`);
  let v;
  try {
    v = await verifyPartial(get(e, 'partial'));
  } catch (err) {
    if (!(err instanceof BundleError)) throw err;
    throw new BundleError(`${where}.partial: ${err.message}`);
  }
  if (v.index !== index) throw new BundleError(`${where}: its partial record is of index ${v.index}`);
  if (!sameJson(get(e, 'record') ?? null, v.record)) throw new BundleError(`${where}: record is not what its partial record discloses`);
  return [v.record, v.leafHash];
}

async function wholeOf(e, where, proven) {
  const record = get(e, 'record');
  if (!proven) {
    if (pyType(record) !== 'dict') throw new BundleError(`${where}.record must be a JSON object`);
    return [record, null];
  }
  const salt = hash(get(e, 'salt'), `${where}.salt`);
  let canonical;
  try {
    canonical = prepareRecord(record);
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    throw new BundleError(`${where}: record is not a valid record: ${err.reason}`);
  }
  return [record, await leafHashOf(RECORD_V1, salt, canonical, record)];
}

/**
 * Verify a dpl-grant-read/1 answer (JSON text, bytes or a parsed object). Resolves to
 * {logId, stream, recordFormat, size, root, anchor, records: [[index, record, proven]]};
 * rejects with BundleError (Python's words) at the first problem.
 */
export async function verifyGrantRead(input) {
  const model = toModel(input, 'the answer');
  if (model.error) throw new BundleError(model.error);
  const d = obj(model.value, 'the answer');
  if (get(d, 'format') !== READ_FORMAT) {
    throw new BundleError(`unknown answer format ${pyRepr(get(d, 'format') ?? null)} (expected ${pyRepr(READ_FORMAT)})`);
  }
  const recordFormat = bundleRecordFormat(d);
  const stream = get(d, 'stream');
  if (typeof stream !== 'string') throw new BundleError('stream must be a string');
  const logId = logIdOf(d), anchor = anchorOf(d);
  let size = null, root = null;
  const cpRaw = get(d, 'checkpoint');
  if (cpRaw !== null && cpRaw !== undefined) {
    const cp = obj(cpRaw, 'checkpoint');
    size = nonNegative(get(cp, 'size'), 'checkpoint.size');
    root = hash(get(cp, 'root'), 'checkpoint.root');
  }
  const raw = get(d, 'records');
  if (pyType(raw) !== 'list') throw new BundleError('records must be a list');
  const out = [];
  for (let n = 0; n < raw.length; n++) {
    const e = obj(raw[n], `records[${n}]`);
    const index = nonNegative(get(e, 'index'), `records[${n}].index`);
    const where = `records[${n}] (index ${index})`;
    const proven = get(e, 'proven');
    if (typeof proven !== 'boolean') throw new BundleError(`${where}.proven must be true or false`);
    const [record, leaf] = recordFormat === RECORD_V2 ? await partialOf(e, index, where) : await wholeOf(e, where, proven);
    if (proven) {
      if (size === null) throw new BundleError(`${where} is said to be proven, but the answer has no checkpoint`);
      if (!equalBytes(hash(get(e, 'leaf_hash'), `${where}.leaf_hash`), leaf)) {
        throw new BundleError(`${where}: the record does not hash to leaf_hash (a value, salt or commitment was altered)`);
      }
      const proof = get(e, 'proof');
      if (pyType(proof) !== 'list') throw new BundleError(`${where}.proof must be a list`);
      try {
        await verifyInclusion(leaf, index, size, proof.map((h, i) => hash(h, `${where}.proof[${i}]`)), root);
      } catch (err) {
        if (!(err instanceof ProofError)) throw err;
        throw new BundleError(`${where}: inclusion proof does not lead to the checkpoint root: ${err.message}`);
      }
    }
    out.push([index, record, proven]);
  }
  return { logId, stream, recordFormat, size, root, anchor, records: out };
}
