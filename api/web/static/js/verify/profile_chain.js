// A lender's verdict on a profile and its full disclosure against the chain it chooses
// (ledger.service.profiles.verify, `dpl profile verify --rpc`): verify/profile_verify.js's
// checks, then, once the disclosure verified, the chain checks of its checkpoint through the
// registry the caller trusts (never an address the files name): none when the disclosure names
// no anchor or an anchor on another chain (said in the disclosure's words), else chain.js
// anchorChecks (ledger.chain.check.proof_checks).
import { get, pyEq } from './json.js';
import { RpcClient } from './rpc.js';
import { check } from './collateral.js';
import { anchorChecks } from './chain.js';
import { verifyProfile } from './profile_verify.js';

/**
 * @param profile, disclosure JSON text or bytes (or parsed objects), as for verifyProfile
 * @param opts.rpcUrl the lender's node; opts.registry, registryCode, registrySource, factory as
 *   for chain.js verifyProofBundleOnChain; opts.onProgress as for verifyProfile
 * @returns Promise of {sound, checks, differences, verified}; a node that does not answer rejects (RpcError)
 */
export async function verifyProfileOnChain(profile, disclosure, { onProgress, ...trust } = {}) {
  const verdict = await verifyProfile(profile, disclosure, { onProgress });
  if (!verdict.verified) return verdict;
  const checks = [...verdict.checks, ...await disclosureChainChecks(verdict.verified, trust)];
  return { ...verdict, checks, sound: checks.every((c) => c.ok) };
}

/** The chain checks of a verified disclosure's checkpoint (none possible: one failed `anchor` check saying why). */
export async function disclosureChainChecks(verified, trust) {
  const anchor = verified.anchor;
  if (anchor === null || anchor === undefined) return [check('anchor', false, 'the disclosure names no anchor: nothing to check on chain')];
  const chainId = await new RpcClient(trust.rpcUrl, { fetch: trust.fetch }).chainId();
  if (!pyEq(get(anchor, 'chain_id'), chainId)) {
    return [check('anchor', false, `${trust.rpcUrl} is chain ${chainId}, but the disclosure's anchor is on chain ${get(anchor, 'chain_id')}`)];
  }
  return anchorChecks(verified, trust);
}
