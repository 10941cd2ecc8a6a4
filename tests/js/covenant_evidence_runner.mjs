// Reads the evidence re-check parity cases written by tests/web/test_covenant_evidence_parity.py
// (a JSON list of {warning, disclosure: hex, covenants, profile}) and prints
// verify/covenant_evidence.js's verdicts (recheckJson: stands, checks), one per case, as JSON.
import { readFileSync } from 'node:fs';
import { recheckEvidence, recheckJson } from '../../api/web/static/js/verify/covenant_evidence.js';
import { fromHex } from '../../api/web/static/js/verify/hex.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  out.push(recheckJson(await recheckEvidence(c.warning, fromHex(c.disclosure), { covenants: c.covenants, pledgedProfile: c.profile })));
}
process.stdout.write(JSON.stringify(out));
