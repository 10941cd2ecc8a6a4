// Verification against a chain the lender chooses (an RPC URL), trusting only the registry the
// caller gives (the page's registry field: the service's pinned registry by default, editable);
// never the address a bundle names (ledger/chain/deploy.py trusted_registry). The checks are
// ledger/chain/check.py's and ledger/pledge_collateral.py verify_against_chain's: the registry's
// code, whose log it is (the factory read from the chain, the log id recomputed, the factory's
// directory listing), the anchored root and the anchor transaction a proof bundle cites. The
// registry's expected runtime code comes from the caller too. A node that is down or answers an
// error rejects the promise with an RpcError (as Python raises ChainUnavailableError); every
// problem with the bundle or the chain's answers is a failed check.
import { RpcClient, uintAt, addressAt, word, bytesAt } from './rpc.js';
import { toModel, pyType, get, pyEq } from './json.js';
import { fromHex, toHex, equalBytes, u256, utf8, concatBytes } from './hex.js';
import { keccak256 } from './keccak.js';
import { pyRepr, shownName } from './pyfmt.js';
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
  // (PledgeTerms: 14 static words, then status, factory, issueBlock)
  const status = Number(uintAt(d, 14));
  if (status === 0) return null;
  const terms = {
    logId: word(d, 0), start: uintAt(d, 1), end: uintAt(d, 2), checkpointSize: uintAt(d, 3), assetDigest: word(d, 4),
    principal: uintAt(d, 5), currency: new TextDecoder().decode(word(d, 6).slice(0, 3)), maturity: uintAt(d, 7),
    lienEnd: uintAt(d, 8), maxLienEnd: uintAt(d, 9), samples: uintAt(d, 10), loanRefDigest: word(d, 11),
    lender: toChecksumAddress(addressAt(d, 12)), covenantsDigest: word(d, 13),
  };
  const statusName = STATUS_NAMES[status] ?? `unknown (${status})`;
  const holder = statusName === 'released'
    ? null : toChecksumAddress(addressAt(await rpc.call(registry, 'ownerOf(uint256)', [BigInt(tokenId)]), 0));
  return { tokenId: BigInt(tokenId), terms, status: statusName, factory: toChecksumAddress(addressAt(d, 15)),
    issueBlock: uintAt(d, 16), holder };
}

/** The registry counts sizes and token ids in uint64 (ledger.chain.check.UINT64_MAX). */
export const UINT64_MAX = 2n ** 64n - 1n;

/**
 * The root (bytes) the registry holds for (logId, size); 32 zero bytes when none (the registry
 * refuses to anchor a zero root). null when `size` is beyond uint64: no registry holds a
 * checkpoint of that size, and it is never sent (the node would answer "execution reverted", or
 * the ABI refuse to encode it). When it was anchored is the block time of its CheckpointAnchored.
 */
export async function rootAt(rpc, registry, logId, size) {
  if (BigInt(size) > UINT64_MAX) return null;
  return word(await rpc.call(registry, 'rootAt(bytes32,uint64)', [logId, BigInt(size)]), 0);
}

/** An ISO 8601 UTC time with seconds and "+00:00", as Python's datetime.isoformat(timespec="seconds"). */
function isoSeconds(seconds) {
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** topic0 of CheckpointAnchored(bytes32 indexed logId, uint64 size, bytes32 root, uint64 previousSize). */
export const CHECKPOINT_ANCHORED = toHex(keccak256(utf8('CheckpointAnchored(bytes32,uint64,bytes32,uint64)')));
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** keccak256(abi.encode(factory, stream)): the log id (ledger.chain.client.log_id_of). */
export function logIdOf(factory, stream) {
  const bytes = utf8(stream);
  const padded = new Uint8Array(Math.ceil(bytes.length / 32) * 32);
  padded.set(bytes);
  return keccak256(concatBytes(u256(BigInt(factory)), u256(64n), u256(BigInt(bytes.length)), padded));
}

/** The factory that owns `logId` in the registry (IDataPledgeRegistry.factoryOf), or null. */
export async function factoryOf(rpc, registry, logId) {
  const address = addressAt(await rpc.call(registry, 'factoryOf(bytes32)', [logId]), 0);
  return BigInt(address) === 0n ? null : toChecksumAddress(address);
}

/**
 * The directory's listing of `factory` (IFactoryDirectory.factoryListing returns (string, bytes32)),
 * or null when not listed. The name is bytes on chain: invalid UTF-8 reads as U+FFFD, as in Python.
 */
export async function factoryListing(rpc, registry, factory) {
  const d = await rpc.call(registry, 'factoryListing(address)', [BigInt(factory)]);
  const name = new TextDecoder('utf-8').decode(bytesAt(d, 0, 1024));
  return name ? { name, registrationDigest: word(d, 1) } : null;
}

/** "factory 0x… (registered as NAME)" or "factory 0x… (not in the directory)" (ledger.directory.describe_factory). */
export function describeFactory(address, listing) {
  return listing ? `factory ${address} (registered as ${shownName(listing.name)})` : `factory ${address} (not in the directory)`;
}

/**
 * "factory": `logId` is keccak256(abi.encode(factory, stream)) for the `factory` the registry names
 * for it (null: the log is not registered) and the `stream` the bundle names (ledger.chain.check.factory_check).
 */
export function factoryCheck(logId, stream, factory, listing) {
  const log = toHex(logId);
  if (!factory) return check('factory', false, `log ${log} is not registered in the registry: no factory owns it`);
  const who = describeFactory(factory, listing);
  if (typeof stream !== 'string') return check('factory', false, `${who} owns log ${log}, but the bundle names no stream to check it against`);
  if (LONE_SURROGATE.test(stream)) {
    return check('factory', false, `${who} owns log ${log}, but the bundle's stream is not valid Unicode (a lone surrogate)`);
  }
  const expected = logIdOf(factory, stream);
  if (!equalBytes(expected, logId)) {
    return check('factory', false, `${who} owns log ${log}, but its stream ${pyRepr(stream)} would be log ${toHex(expected)}: `
      + "the bundle's stream is not this log's");
  }
  return check('factory', true, `${who}; log ${log} is its stream ${pyRepr(stream)}`);
}

/**
 * "expected factory": the log's factory, read from the registry (null: none), is the one the verifying
 * party expects (`expected`, checksummed). Anyone may register a stream of any name under their own
 * address (ledger.chain.check.expected_factory_check).
 */
export function expectedFactoryCheck(factory, listing, expected) {
  if (!factory) return check('expected factory', false, `no factory owns the log, not the expected factory ${expected}`);
  const who = describeFactory(factory, listing);
  if (factory !== expected) return check('expected factory', false, `the log belongs to ${who}, not to the expected factory ${expected}`);
  return check('expected factory', true, `the log belongs to ${who}, the expected factory`);
}

/** The expected factory the caller gives (the page's field), checksummed; null when none. */
function expectedFactory(factory) {
  if (factory === undefined || factory === null || factory === '') return null;
  if (!isAddress(factory)) throw new Error(`the expected factory ${factory} is not an address (0x and 40 hex digits; EIP-55 if mixed case)`);
  return toChecksumAddress(factory);
}

/** [factory or null, its directory listing or null] for `logId`, read from the registry. */
async function readFactory(rpc, registry, logId) {
  const factory = await factoryOf(rpc, registry, logId);
  return [factory, factory ? await factoryListing(rpc, registry, factory) : null];
}

/** The trusted address, checked, and the "registry" check (its code is our registry's). */
async function trustedRegistry(rpc, chainId, { registry, registryCode, registrySource }) {
  if (!registry) {
    return { failed: check('registry', false, `no trusted registry for chain ${chainId}: give the verifier the registry's `
      + 'address (the page\'s registry field)') };
  }
  if (!isAddress(registry)) throw new Error(`registry ${registry} is not an address`);
  if (!registryCode) throw new Error("the registry's expected code (registryCode) is needed");
  const address = toChecksumAddress(registry);
  const ours = runtimeMatches(await rpc.getCode(address), registryCode);
  const registryCheck = check('registry', ours, `${address} on chain ${chainId} (from ${registrySource || 'the address given to the verifier'}) `
    + (ours ? 'holds the data-pledge registry code' : "does NOT hold the registry's code"));
  return ours ? { address, registryCheck } : { failed: registryCheck };
}

/**
 * Every check of a dpl-collateral/1 bundle for pledge `tokenId`, reading the chain at `rpcUrl`.
 * @param bundle JSON text (exact) or a parsed object
 * @param tokenId Number or BigInt
 * @param opts.rpcUrl the lender's node
 * @param opts.registry the registry address to trust (the page's registry field); never the bundle's
 * @param opts.registryCode {deployedBytecode, immutableReferences} of the registry artifact
 * @param opts.registrySource where the address came from, for the "registry" check's words
 * @param opts.factory the factory address the lender expects (optional; the page's expected-factory field)
 * @returns Promise of {tokenId, sound, checks}: "registry", "bundle names this pledge",
 *   ("pledge" if not found), "pledge holds its lien", "factory", ("expected factory" when
 *   opts.factory is given), then verifyCollateral's checks.
 */
export async function verifyCollateralOnChain(bundle, tokenId, { rpcUrl, registry, registryCode, registrySource, factory, fetch } = {}) {
  const id = BigInt(tokenId);
  const expected = expectedFactory(factory);
  const rpc = new RpcClient(rpcUrl, { fetch });
  const chainId = await rpc.chainId();
  const model = toModel(bundle);
  const b = model.error ? undefined : model.value;
  const trusted = await trustedRegistry(rpc, chainId, { registry, registryCode, registrySource });
  if (trusted.failed) return report(id, [trusted.failed]);
  const { address } = trusted;
  const checks = [trusted.registryCheck];
  if (pyType(b) === 'dict') {
    const named = [get(b, 'chain_id'), get(b, 'registry'), get(b, 'token_id')];
    // the same address in any valid spelling (all lower case, or EIP-55) names the same registry
    const sameRegistry = typeof named[1] === 'string' && isAddress(named[1]) && toChecksumAddress(named[1]) === address;
    const same = pyEq(named[0], chainId) && sameRegistry && pyEq(named[2], id);
    const show = (v) => (v === undefined || v === null ? 'None' : typeof v === 'object' ? JSON.stringify(v) : String(v));
    checks.push(check('bundle names this pledge', same, same ? `token ${id} on ${address}, chain ${chainId}`
      : `bundle: token ${show(named[2])} on ${show(named[1])} chain ${show(named[0])}`));
  }
  if (id < 1n || id > UINT64_MAX) {  // never sent in a call: the registry counts token ids in uint64
    return report(id, [...checks, check('pledge', false, `no pledge ${id} in registry ${address} on chain ${chainId}: `
      + 'token ids are 1 to 2^64 - 1 (the registry counts in uint64)')]);
  }
  const view = await readPledge(rpc, address, id);
  if (!view) return report(id, [...checks, check('pledge', false, `no pledge ${id} in registry ${address} on chain ${chainId}`)]);
  const holds = view.status === 'live' || view.status === 'defaulted';
  checks.push(check('pledge holds its lien', holds, `status ${view.status}, holder ${view.holder || '-'}`));
  const t = view.terms;
  const manifest = pyType(b) === 'dict' ? get(b, 'manifest') : undefined;
  const [owner, listing] = await readFactory(rpc, address, t.logId);
  checks.push(factoryCheck(t.logId, pyType(manifest) === 'dict' ? get(manifest, 'stream') : undefined, owner, listing));
  if (expected) checks.push(expectedFactoryCheck(owner, listing, expected));
  const root = await rootAt(rpc, address, t.logId, t.checkpointSize);
  const blockHash = await rpc.blockHash(view.issueBlock);
  const pure = await verifyCollateral(model.error ? bundle : b, {
    terms: { tokenId: id, logId: t.logId, start: t.start, end: t.end, checkpointSize: t.checkpointSize,
      assetDigest: t.assetDigest, samples: t.samples, issueBlock: view.issueBlock, covenantsDigest: t.covenantsDigest },
    anchoredRoot: root && !root.every((x) => x === 0) ? root : null, issueBlockHash: blockHash,
  });
  return report(id, [...checks, ...pure.checks]);
}

/**
 * A dpl-proof/1 (or dpl-consistency/1) bundle: the math checks, then against the chain at
 * `rpcUrl` through the trusted registry, up to the first that fails (ledger.chain.check.proof_checks):
 * "registry" (its code), "bundle names this registry", "factory", "expected factory" (when opts.factory
 * is given), "anchor" (the registry holds the bundle's root at its size) and, when the bundle cites its
 * anchor's transaction, "anchor transaction".
 * @param opts.registry the registry address to trust (the page's registry field); never the bundle's
 * @param opts.registryCode, opts.registrySource, opts.factory as for verifyCollateralOnChain
 * @returns Promise of verifyBundle's report with the chain checks added (when the math holds).
 */
export async function verifyProofBundleOnChain(bundle, opts = {}) {
  const expected = expectedFactory(opts.factory);
  const r = await verifyBundle(bundle);
  if (!r.sound) return r;
  return finish(r, await anchorChecks(r, { ...opts, factory: expected }));
}

/**
 * The chain checks of a checkpoint that verified offline (ledger.chain.check.proof_checks), in
 * order, up to the first that fails: "registry", "bundle names this registry", "factory",
 * "expected factory" (when opts.factory is given), "anchor", "anchor transaction" (when cited).
 * @param r {logId, stream, size, root, anchor}: bytes, string, BigInt or Number, bytes, the
 *   bundle's anchor object (or null)
 * @param opts as for verifyProofBundleOnChain
 * @returns Promise of the checks (a list)
 */
export async function anchorChecks(r, { rpcUrl, registry, registryCode, registrySource, factory, fetch } = {}) {
  const expected = expectedFactory(factory);
  const chain = [];
  const anchor = r.anchor;
  if (!r.logId || !anchor) {
    chain.push(check('anchor', false, 'the bundle names no anchored checkpoint (log_id or anchor is null): nothing to check on chain'));
    return chain;
  }
  const rpc = new RpcClient(rpcUrl, { fetch });
  const chainId = await rpc.chainId();
  if (!pyEq(get(anchor, 'chain_id'), chainId)) {
    chain.push(check('anchor', false, `${rpcUrl} is chain ${chainId}, but the bundle's anchor is on chain ${get(anchor, 'chain_id')}`));
    return chain;
  }
  const trusted = await trustedRegistry(rpc, chainId, { registry, registryCode, registrySource });
  if (trusted.failed) { chain.push(trusted.failed); return chain; }
  const { address } = trusted;
  chain.push(trusted.registryCheck);
  const named = get(anchor, 'registry');
  const same = named.toLowerCase() === address.toLowerCase();
  chain.push(check('bundle names this registry', same, same ? `the anchor names ${address}`
    : `the bundle's anchor names registry ${named}, not the trusted registry ${address} of chain ${chainId}`));
  if (!same) return chain;
  const [owner, listing] = await readFactory(rpc, address, r.logId);
  chain.push(factoryCheck(r.logId, r.stream, owner, listing));
  if (!chain.at(-1).ok) return chain;
  if (expected) {
    chain.push(expectedFactoryCheck(owner, listing, expected));
    if (!chain.at(-1).ok) return chain;
  }
  const root = await rootAt(rpc, address, r.logId, r.size);
  if (!root) {
    chain.push(check('anchor', false, `size ${r.size} is beyond uint64: no registry holds a checkpoint of that size`));
  } else if (root.every((x) => x === 0)) {
    chain.push(check('anchor', false, `the registry holds no checkpoint of size ${r.size} for log ${toHex(r.logId)}: the bundle's root was never anchored`));
  } else if (!equalBytes(root, r.root)) {
    chain.push(check('anchor', false, `the registry holds root ${toHex(root)} for size ${r.size}, but the bundle claims ${toHex(r.root)}`));
  } else {
    chain.push(check('anchor', true, `anchored on chain ${chainId} in registry ${address}`));
    const tx = get(anchor, 'tx_hash');
    if (tx !== null && tx !== undefined) chain.push(await anchorTransactionCheck(rpc, address, chainId, r, tx, get(anchor, 'block_number')));
  }
  return chain;
}

/**
 * "anchor transaction": the cited transaction anchored this checkpoint (ledger.chain.check._anchor_transaction):
 * mined, succeeded, in that block, and its logs hold the CheckpointAnchored the trusted registry itself
 * emitted. Whom it was sent to does not matter (a wallet or a batching contract may call the registry).
 * When it was anchored is that block's timestamp (the registry keeps a time only for a log's latest checkpoint).
 */
async function anchorTransactionCheck(rpc, address, chainId, r, tx, block) {
  const fail = (why) => check('anchor transaction', false, `transaction ${tx} ${why}`);
  const rc = await rpc.receipt(tx);
  if (!rc) return fail(`is not on chain ${chainId}`);
  if (BigInt(rc.status) !== 1n) return fail('failed (status 0): it anchored nothing');
  const mined = BigInt(rc.blockNumber);
  if (block !== null && block !== undefined && BigInt(block) !== mined) return fail(`is in block ${mined}, not in block ${block} as the bundle says`);
  const logId = toHex(r.logId);
  for (const log of rc.logs || []) {
    const data = fromHex(log.data);
    const topics = (log.topics || []).map((t) => t.toLowerCase());
    if (log.address.toLowerCase() === address.toLowerCase() && topics.length === 2 && data.length === 96
        && topics[0] === CHECKPOINT_ANCHORED && topics[1] === logId
        && uintAt(data, 0) === BigInt(r.size) && equalBytes(word(data, 1), r.root)) {
      const at = await rpc.blockTime(mined);
      if (at === null) return fail(`is in block ${mined}, which the node does not have`);
      return check('anchor transaction', true, `transaction ${tx} in block ${mined} at ${isoSeconds(at)} anchored this checkpoint`);
    }
  }
  return fail(`holds no CheckpointAnchored of log ${logId} at size ${r.size} with root ${toHex(r.root)} from the registry ${address}`);
}

function finish(r, chainChecks) {
  const checks = [...r.checks, ...chainChecks];
  const failed = checks.find((c) => !c.ok);
  return { ...r, checks, sound: !failed, error: failed ? failed.detail : null };
}
