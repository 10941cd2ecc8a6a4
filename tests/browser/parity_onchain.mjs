// Reads cases {kind, text, tokenId?} from argv[2] and prints the JS verifier's reports against
// the chain at DPL_UI_RPC (for tests/browser/test_onchain_parity.py).
import { readFileSync } from 'node:fs';
import { verifyCollateralOnChain, verifyProofBundleOnChain } from '../../api/web/static/js/verify/index.js';

const { cases, registry, registryCode } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const rpcUrl = process.env.DPL_UI_RPC;
const out = [];
for (const c of cases) {
  const r = c.kind === 'collateral'
    ? await verifyCollateralOnChain(c.text, BigInt(c.tokenId), { rpcUrl, registry, registryCode })
    : await verifyProofBundleOnChain(c.text, { rpcUrl });
  out.push({ sound: r.sound, checks: r.checks.map((x) => [x.name, x.ok, x.detail]) });
}
console.log(JSON.stringify(out));
