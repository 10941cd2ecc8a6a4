// dpl-disclosure/1 (docs/PROFILE.md section 7, ledger/disclosure.py): every record of [from, to)
// with its salt and a range proof, verified with math only, in the order and words of
// ledger.disclosure.verify_disclosure. It does not check the chain: the caller compares the root
// with the one anchored for (log_id, size). Records are checked in batches; between batches the
// event loop runs and `onProgress` is told how far it got, so a page can show a progress bar.
import { toModel, pyType, get } from './json.js';
import { bundleRecordFormat, leafHashOf } from './leaves.js';
import { pyRepr } from './pyfmt.js';
import { prepareRecord, RecordError } from './records.js';
import { verifyRange, ProofError } from './merkle.js';
import { BundleError } from './errors.js';
import { hash, size, obj, logIdOf, anchorOf } from './proof_bundle.js';

export const DISCLOSURE_FORMAT = 'dpl-disclosure/1';
const BATCH = 4096;

function hashes(value, where) {
  if (pyType(value) !== 'list') throw new BundleError(`${where} must be a list`);
  return value.map((h, i) => hash(h, `${where}[${i}]`));
}

/** Why the indices are not exactly start .. end - 1 in order, or null (ledger.disclosure._index_problem). */
function indexProblem(indices, start, end) {
  for (let n = 0; n < indices.length; n++) {
    const index = indices[n], expected = start + BigInt(n);
    if (index === expected && index < end) continue;
    const where = `records[${n}] (index ${index})`;
    if (index >= start && index < expected) {
      return `${where} repeats the index of records[${index - start}] (a record was repeated)`;
    }
    if (index < start || index >= end) return `${where} is outside the range [${start}, ${end}) (a record was added)`;
    let later = false;
    for (let k = n; k < indices.length && !later; k++) later = indices[k] === expected;
    if (!later) return `${where}: record ${expected} is missing (a record was dropped)`;
    return `${where} is out of order: expected index ${expected} (records were reordered)`;
  }
  if (!indices.length) return `records is empty: record ${start} is missing (a record was dropped)`;
  const count = BigInt(indices.length);
  if (count < end - start) {
    return `records end at index ${start + count - 1n}, before the range's end ${end}: `
      + `record ${start + count} is missing (a record was dropped)`;
  }
  return null;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Verify a dpl-disclosure/1 (JSON text or bytes, read exactly, or a parsed object).
 * Resolves to {logId, stream, start, end, size, root, anchor, records: [[index, record], ...]}
 * (indices and sizes as BigInts, records as parsed); rejects with BundleError saying what failed.
 * `onProgress({done, total})` is called after each batch of records.
 */
export async function verifyDisclosure(input, { onProgress } = {}) {
  const model = toModel(input, 'the disclosure');
  if (model.error) throw new BundleError(model.error);
  const d = obj(model.value, 'the disclosure');
  const fmt = get(d, 'format');
  if (fmt !== DISCLOSURE_FORMAT) throw new BundleError(`unknown disclosure format ${pyRepr(fmt ?? null)} (expected ${pyRepr(DISCLOSURE_FORMAT)})`);
  const stream = get(d, 'stream');
  if (typeof stream !== 'string') throw new BundleError('stream must be a string');
  const recordFormat = bundleRecordFormat(d);
  const rng = obj(get(d, 'range'), 'range');
  const start = size(get(rng, 'from'), 'range.from'), end = size(get(rng, 'to'), 'range.to');
  if (start >= end) throw new BundleError(`range [${start}, ${end}) is empty: a disclosure holds at least one record`);
  const cp = obj(get(d, 'checkpoint'), 'checkpoint');
  const n = size(get(cp, 'size'), 'checkpoint.size');
  const root = hash(get(cp, 'root'), 'checkpoint.root');
  if (end > n) throw new BundleError(`range [${start}, ${end}) is beyond checkpoint.size ${n}`);
  const proof = obj(get(d, 'proof'), 'proof');
  const left = hashes(get(proof, 'left'), 'proof.left'), right = hashes(get(proof, 'right'), 'proof.right');
  const logId = logIdOf(d), anchor = anchorOf(d);
  const raw = get(d, 'records');
  if (pyType(raw) !== 'list') throw new BundleError('records must be a list');
  const indices = [], salts = [];
  raw.forEach((entry, k) => {
    const e = obj(entry, `records[${k}]`);
    const index = size(get(e, 'index'), `records[${k}].index`);
    salts.push(hash(get(e, 'salt'), `records[${k}] (index ${index}).salt`));
    indices.push(index);
  });
  const problem = indexProblem(indices, start, end);
  if (problem) throw new BundleError(problem);
  const total = raw.length, leaves = new Array(total), records = new Array(total);
  for (let from = 0; from < total; from += BATCH) {
    const to = Math.min(total, from + BATCH), pending = [];
    for (let k = from; k < to; k++) {
      const record = get(raw[k], 'record');
      let canonical;
      try {
        canonical = prepareRecord(record);
      } catch (err) {
        if (!(err instanceof RecordError)) throw err;
        throw new BundleError(`records[${k}] (index ${start + BigInt(k)}): record is not a valid record: ${err.reason}`);
      }
      records[k] = [start + BigInt(k), record];
      pending.push(leafHashOf(recordFormat, salts[k], canonical, record));
    }
    (await Promise.all(pending)).forEach((h, i) => { leaves[from + i] = h; });
    if (onProgress) onProgress({ done: to, total });
    await pause();
  }
  try {
    await verifyRange(left, leaves, right, start, n, root);
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    throw new BundleError('range proof does not lead to the checkpoint root '
      + `(a record, salt, proof hash, range, size or root was altered): ${err.message}`);
  }
  return { logId, stream, start, end, size: n, root, anchor, records, recordFormat };
}
