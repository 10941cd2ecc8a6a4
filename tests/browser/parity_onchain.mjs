// Reads cases {kind, text, tokenId?, registry?, factory?} from argv[2] and prints the JS verifier's reports
// against the chain at DPL_UI_RPC (for tests/browser/test_onchain_parity.py). Each case trusts the
// registry it names, else the file's (the service's pinned one): never a bundle's.
import { readFileSync } from 'node:fs';
import { verifyCollateralOnChain, verifyProofBundleOnChain } from '../../api/web/static/js/verify/index.js';

const { cases, registry, registryCode } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rpcUrl = process.env.DPL_UI_RPC;
const out = [];
for (const c of cases) {
  const trust = { rpcUrl, registry: c.registry || registry, registryCode, factory: c.factory };
  const r = c.kind === 'collateral'
    ? await verifyCollateralOnChain(c.text, BigInt(c.tokenId), trust)
    : await verifyProofBundleOnChain(c.text, trust);
  out.push({ sound: r.sound, error: r.error ?? null, checks: r.checks.map((x) => [x.name, x.ok, x.detail]) });
}
console.log(JSON.stringify(out));
