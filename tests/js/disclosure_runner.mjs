// Reads the disclosure parity cases written by tests/web/test_disclosure_parity.py (a JSON list of
// {text} or {hex}) and prints the JS verdicts as JSON, one per case, in order.
import { readFileSync } from 'node:fs';
import { verifyDisclosure } from '../../api/web/static/js/verify/disclosure.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';
import { fromHex, toHex } from '../../api/web/static/js/verify/hex.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  try {
    const v = await verifyDisclosure(c.hex ? fromHex(c.hex) : c.text);
    out.push({ ok: true, error: null, start: Number(v.start), end: Number(v.end), size: Number(v.size), root: toHex(v.root),
      log_id: v.logId ? toHex(v.logId) : null, stream: v.stream, ids: v.records.map(([i, r]) => [Number(i), r.id]) });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    out.push({ ok: false, error: e.message });
  }
}
process.stdout.write(JSON.stringify(out));
