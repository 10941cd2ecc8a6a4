// Reads cases {profile, disclosure, registry?, factory?} from argv[2] and prints the browser's
// verdicts (verify/profile_chain.js verifyProfileOnChain: the profile checks, then the chain
// checks of the disclosure's checkpoint) against the chain at DPL_UI_RPC, for
// tests/browser/test_profile_onchain_parity.py. Each case trusts the registry it names, else the
// file's (the service's pinned one): never one a file names.
import { readFileSync } from 'node:fs';
import { verifyProfileOnChain } from '../../api/web/static/js/verify/profile_chain.js';

const { cases, registry, registryCode } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rpcUrl = process.env.DPL_UI_RPC;
const out = [];
for (const c of cases) {
  const v = await verifyProfileOnChain(c.profile, c.disclosure, { rpcUrl, registry: c.registry || registry, registryCode,
    factory: c.factory });
  out.push({ sound: v.sound, checks: v.checks.map((x) => [x.name, x.ok, x.detail]) });
}
console.log(JSON.stringify(out));
