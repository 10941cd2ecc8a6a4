// verify/profile_verify.js without a disclosure to hand (the full corpus, with disclosures, runs
// through Python and JS in tests/web/test_profile_verify_parity.py): values are shown as orjson
// writes them, and a text that is not a profile fails the first check, naming why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dumps, verifyProfile, verdictJson } from '../../api/web/static/js/verify/profile_verify.js';
import { parseJson } from '../../api/web/static/js/verify/json.js';
import { MISSING } from '../../api/web/static/js/verify/profile.js';

test('values as orjson writes them: compact, exact integers, Python floats, "(absent)"', () => {
  assert.equal(dumps(parseJson('{"a": [1, 2.0, "x"], "b": null, "c": true, "d": 12345678901234567890}')),
    '{"a":[1,2.0,"x"],"b":null,"c":true,"d":12345678901234567890}');
  assert.equal(dumps(MISSING), '(absent)');
  assert.equal(dumps('é\n'), '"é\\n"');
});

test('not a profile: the first check fails and says why; nothing else is checked', async () => {
  const v = await verifyProfile('{"format": "dpl-profile/0"}', '{}');
  assert.equal(v.sound, false);
  assert.deepEqual(verdictJson(v).checks.map((c) => [c.name, c.ok]), [['profile', false]]);
  assert.match(v.checks[0].detail, /^not a production profile: profile /);
  const unreadable = await verifyProfile('{"format": 1, "format": 2}', '{}');
  assert.match(unreadable.checks[0].detail, /^not a production profile: the profile: duplicate key 'format'/);
});

test('a good profile with a broken disclosure: the disclosure check names the failure', async () => {
  const profile = readFileSync(new URL('./fixtures/profile-report.json', import.meta.url), 'utf8');
  const v = await verifyProfile(profile, '{"format": "dpl-disclosure/0"}');
  assert.deepEqual(v.checks.map((c) => [c.name, c.ok]), [['profile', true], ['disclosure', false]]);
  assert.equal(v.checks[0].detail, "dpl-profile/1 of 'line-a/all' records [0, 261) at size 261");
  assert.match(v.checks[1].detail, /unknown disclosure format 'dpl-disclosure\/0'/);
  // a download cut short: the words name the disclosure, not "the bundle"
  const cut = await verifyProfile(profile, '{"format": "dpl-disclosure/1", "records": [');
  assert.match(cut.checks[1].detail, /^the disclosure: invalid JSON/);
});
