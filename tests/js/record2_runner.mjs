// Reads the dpl-record/2 parity cases written by tests/web/test_record2_parity.py (a JSON list) and
// prints the JS results as JSON, one per case, in order:
// - {kind: "leaf", record: text, salt}: {leaf} (hex of leafHashV2) or {error} (RecordError's reason);
// - {kind: "disclose", record: text, salt, fields, index}: {doc} (hex of the document's RFC 8785 bytes) or {error};
// - {kind: "partial", text}: {index, leaf, record (hex of its RFC 8785 bytes), hidden} or {error} (the message).
import { readFileSync } from 'node:fs';
import { parseJson } from '../../api/web/static/js/verify/json.js';
import { canonicalize } from '../../api/web/static/js/verify/jcs.js';
import { fromHex, toHex } from '../../api/web/static/js/verify/hex.js';
import { RecordError } from '../../api/web/static/js/verify/records.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';
import { leafHashV2, disclose, verifyPartial, InvalidArgumentError } from '../../api/web/static/js/verify/record2.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  try {
    if (c.kind === 'leaf') {
      out.push({ leaf: toHex(await leafHashV2(parseJson(c.record, { keepConstants: true }), fromHex(c.salt))) });
    } else if (c.kind === 'disclose') {
      const doc = await disclose(parseJson(c.record, { keepConstants: true }), fromHex(c.salt), c.fields, { index: c.index });
      out.push({ doc: toHex(canonicalize(doc)) });
    } else {
      const v = await verifyPartial(c.text);
      out.push({ index: String(v.index), leaf: toHex(v.leafHash), record: toHex(canonicalize(v.record)), hidden: v.hidden });
    }
  } catch (e) {
    if (e instanceof RecordError) out.push({ error: e.reason });
    else if (e instanceof BundleError || e instanceof InvalidArgumentError) out.push({ error: e.message });
    else throw e;
  }
}
process.stdout.write(JSON.stringify(out));
