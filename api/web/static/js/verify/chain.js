// Verification against a chain the lender chooses (an RPC URL): ledger/pledge_collateral.py
// verify_against_chain for dpl-collateral/1, ledger/chain/check.py check_anchor for dpl-proof/1.
// The registry's expected runtime code comes from the caller (the page), so data from our
// server alone cannot make a check green. A node that is down or answers an error rejects
// the promise with an RpcError (as Python raises ChainUnavailableError); every problem with the
// bundle or the chain's answers is a failed check.
import { RpcClient } from './rpc.js';
import { uintAt, addressAt, word } from './rpc.js';
import { toModel, pyType, get, pyEq } from './json.js';
import { fromHex, toHex, equalBytes } from './hex.js';
import { verifyCollateral, check, report, isAddress, toChecksumAddress } from './collateral.js';
import { verifyBundle } from './proof_bundle.js';

export const STATUS_NAMES = ['none', 'live', 'released', 'defaulted', 'lapsed'];

/**
 * Does `code` (bytes) equal the registry's runtime code, with the immutables (constructor-set
 * values: chain id, own address) masked on both sides? (ledger.chain.deploy.runtime_matches)
 * @param registryCode {deployedBytecode: "0x…", immutableReferences: {id: [{start, length}]}}
 */
export function runtimeMatches(code, registryCode) {
  const expected = fromHex(registryCode.deployedBytecode);
  if (code.length !== expected.length) return false;
  const a = Uint8Array.from(code), b = Uint8Array.from(expected);
  for (const refs of Object.values(registryCode.immutableReferences || {})) {
    for (const { start, length } of refs) { a.fill(0, start, start + length); b.fill(0, start, start + length); }
  }
  return equalBytes(a, b);
}

/** The pledge as the registry has it (IDataPledges.pledge), or null if it was never issued. */
export async function readPledge(rpc, registry, tokenId) {
  const d = await rpc.call(registry, 'pledge(uint256)', [BigInt(tokenId)]);
  // (PledgeTerms: 13 static words, then status, factory, issueBlock)
  const status = Number(uintAt(d, 13));
  if (status === 0) return null;
  const terms = {
    logId: word(d, 0), start: uintAt(d, 1), end: uintAt(d, 2), checkpointSize: uintAt(d, 3), assetDigest: word(d, 4),
    principal: uintAt(d, 5), currency: new TextDecoder().decode(word(d, 6).slice(0, 3)), maturity: uintAt(d, 7),
    lienEnd: uintAt(d, 8), maxLienEnd: uintAt(d, 9), samples: uintAt(d, 10), loanRefDigest: word(d, 11),
    lender: toChecksumAddress(addressAt(d, 12)),
  };
  const statusName = STATUS_NAMES[status] ?? `unknown (${status})`;
  const holder = statusName === 'released'
    ? null : toChecksumAddress(addressAt(await rpc.call(registry, 'ownerOf(uint256)', [BigInt(tokenId)]), 0));
  return { tokenId: BigInt(tokenId), terms, status: statusName, factory: toChecksumAddress(addressAt(d, 14)),
    issueBlock: uintAt(d, 15), holder };
}

/** [root bytes, anchoredAt] the registry holds for (logId, size); anchoredAt 0n when none. */
export async function rootAt(rpc, registry, logId, size) {
  const d = await rpc.call(registry, 'rootAt(bytes32,uint64)', [logId, BigInt(size)]);
  return [word(d, 0), uintAt(d, 1)];
}

/**
 * Every check of a dpl-collateral/1 bundle for pledge `tokenId`, reading the chain at `rpcUrl`.
 * @param bundle JSON text (exact) or a parsed object
 * @param tokenId Number or BigInt
 * @param opts.rpcUrl the lender's node
 * @param opts.registry the registry address to trust (e.g. pinned by the page); if absent, the bundle's
 * @param opts.registryCode {deployedBytecode, immutableReferences} of the registry artifact
 * @returns Promise of {tokenId, sound, checks}: "registry", "bundle names this pledge",
 *   ("pledge" if not found), "pledge holds its lien", then verifyCollateral's checks.
 */
export async function verifyCollateralOnChain(bundle, tokenId, { rpcUrl, registry, registryCode, fetch } = {}) {
  const id = BigInt(tokenId);
  const rpc = new RpcClient(rpcUrl, { fetch });
  const chainId = await rpc.chainId();
  const model = toModel(bundle);
  const b = model.error ? undefined : model.value;
  let address = null, source;
  if (registry) {
    if (!isAddress(registry)) throw new Error(`registry ${registry} is not an address`);
    address = toChecksumAddress(registry);
    source = 'the address given to the verifier';
  } else {
    source = 'the bundle';
    const named = pyType(b) === 'dict' ? get(b, 'registry') : undefined;
    if (typeof named === 'string' && isAddress(named)) address = toChecksumAddress(named);
  }
  if (!address) {
    return report(id, [check('registry', false, 'no registry to check against: the bundle names none and no registry '
      + `address was given for chain ${chainId}`)]);
  }
  const ours = runtimeMatches(await rpc.getCode(address), registryCode);
  const checks = [check('registry', ours, `${address} on chain ${chainId} (from ${source}) `
    + (ours ? 'holds the data-pledge registry code' : "does NOT hold the registry's code"))];
  if (!ours) return report(id, checks);
  if (pyType(b) === 'dict') {
    const named = [get(b, 'chain_id'), get(b, 'registry'), get(b, 'token_id')];
    // the same address in any valid spelling (all lower case, or EIP-55) names the same registry
    const sameRegistry = typeof named[1] === 'string' && isAddress(named[1]) && toChecksumAddress(named[1]) === address;
    const same = pyEq(named[0], chainId) && sameRegistry && pyEq(named[2], id);
    const show = (v) => (v === undefined || v === null ? 'None' : typeof v === 'object' ? JSON.stringify(v) : String(v));
    checks.push(check('bundle names this pledge', same, same ? `token ${id} on ${address}, chain ${chainId}`
      : `bundle: token ${show(named[2])} on ${show(named[1])} chain ${show(named[0])}`));
  }
  const view = await readPledge(rpc, address, id);
  if (!view) return report(id, [...checks, check('pledge', false, `no pledge ${id} in registry ${address} on chain ${chainId}`)]);
  const holds = view.status === 'live' || view.status === 'defaulted';
  checks.push(check('pledge holds its lien', holds, `status ${view.status}, holder ${view.holder || '-'}`));
  const t = view.terms;
  const [root, anchoredAt] = await rootAt(rpc, address, t.logId, t.checkpointSize);
  const blockHash = await rpc.blockHash(view.issueBlock);
  const pure = await verifyCollateral(model.error ? bundle : b, {
    terms: { tokenId: id, logId: t.logId, start: t.start, end: t.end, checkpointSize: t.checkpointSize,
      assetDigest: t.assetDigest, samples: t.samples, issueBlock: view.issueBlock },
    anchoredRoot: anchoredAt ? root : null, issueBlockHash: blockHash,
  });
  return report(id, [...checks, ...pure.checks]);
}

/**
 * A dpl-proof/1 (or dpl-consistency/1) bundle: the math checks, then "anchor": the registry named
 * by the bundle's anchor, on the chain at `rpcUrl` (its chain id must be the anchor's), holds the
 * bundle's root at its size (ledger.chain.check.check_anchor).
 * @returns Promise of verifyBundle's report with the "anchor" check added (when the math holds).
 */
export async function verifyProofBundleOnChain(bundle, { rpcUrl, fetch } = {}) {
  const r = await verifyBundle(bundle);
  if (!r.sound) return r;
  const fail = (detail) => finish(r, check('anchor', false, detail));
  const anchor = r.anchor;
  if (!r.logId || !anchor) return fail('the bundle names no anchored checkpoint (log_id or anchor is null): nothing to check on chain');
  const rpc = new RpcClient(rpcUrl, { fetch });
  const chainId = await rpc.chainId();
  if (!pyEq(anchor.chain_id, chainId)) return fail(`${rpcUrl} is chain ${chainId}, but the bundle's anchor is on chain ${anchor.chain_id}`);
  const registry = toChecksumAddress(anchor.registry);
  if (!(await rpc.getCode(registry)).length) return fail(`there is no contract at ${anchor.registry} on chain ${chainId}`);
  const [root, anchoredAt] = await rootAt(rpc, registry, r.logId, r.size);
  if (root.every((x) => x === 0)) {
    return fail(`the registry holds no checkpoint of size ${r.size} for log ${toHex(r.logId)}: the bundle's root was never anchored`);
  }
  if (!equalBytes(root, r.root)) return fail(`the registry holds root ${toHex(root)} for size ${r.size}, but the bundle claims ${toHex(r.root)}`);
  const when = new Date(Number(anchoredAt) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  return finish(r, check('anchor', true, `anchored on chain ${chainId} in registry ${registry} at ${when}`));
}

function finish(r, anchorCheck) {
  const checks = [...r.checks, anchorCheck];
  const failed = checks.find((c) => !c.ok);
  return { ...r, checks, sound: !failed, error: failed ? failed.detail : null };
}
