// Reads the profile-verification parity cases written by tests/web/test_profile_verify_parity.py
// (a JSON list of {profile: hex, disclosure: hex}) and prints verify/profile_verify.js's verdicts
// (verdictJson: sound, checks, differences), one per case, in order, as JSON.
import { readFileSync } from 'node:fs';
import { verifyProfile, verdictJson, dumps } from '../../api/web/static/js/verify/profile_verify.js';
import { fromHex } from '../../api/web/static/js/verify/hex.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  const v = verdictJson(await verifyProfile(fromHex(c.profile), fromHex(c.disclosure)));
  // the values of a difference as JSON (exact integers, floats as Python writes them)
  v.differences = v.differences.map((d) => ({ figure: d.figure,
    claimed: d.claimed === '(absent)' ? d.claimed : JSON.parse(dumps(d.claimed)),
    recomputed: d.recomputed === '(absent)' ? d.recomputed : JSON.parse(dumps(d.recomputed)) }));
  out.push(v);
}
process.stdout.write(JSON.stringify(out));
