// Which leaf a record makes in a log of a given record format (ledger/leaves.py): dpl-record/1
// hashes salt || canonical bytes, dpl-record/2 per-field salted commitments (record2.js). A
// bundle or disclosure of a dpl-record/2 log names it ("record_format"); absent, dpl-record/1.
// Naming it in the bundle is safe: byte 32 of a v1 leaf's data is '{' (0x7b), of a v2 leaf's
// 0x02, so no leaf hash opens in both formats; naming the other format gives another leaf.
import { get, has } from './json.js';
import { concatBytes } from './hex.js';
import { pyRepr } from './pyfmt.js';
import { leafHash } from './merkle.js';
import { leafDataV2, FORMAT as RECORD_V2 } from './record2.js';
import { BundleError } from './errors.js';

export const RECORD_V1 = 'dpl-record/1';
export { RECORD_V2 };
export const BUNDLE_KEY = 'record_format';

/** The record format a bundle or disclosure (parsed) names; BundleError for an unknown one. */
export function bundleRecordFormat(doc) {
  const v = has(doc, BUNDLE_KEY) ? get(doc, BUNDLE_KEY) : RECORD_V1;
  if (v !== RECORD_V1 && v !== RECORD_V2) {
    throw new BundleError(`${BUNDLE_KEY} must be ${pyRepr(RECORD_V1)} or ${pyRepr(RECORD_V2)}, not ${pyRepr(v)}`);
  }
  return v;
}

/**
 * The leaf hash of a valid record in a log of `format`, from its record salt and its canonical
 * bytes (v1) or the record itself (v2: its fields are committed one by one).
 */
export async function leafHashOf(format, salt, canonical, record) {
  if (format === RECORD_V2) return leafHash(await leafDataV2(record, salt));
  return leafHash(concatBytes(salt, canonical));
}
