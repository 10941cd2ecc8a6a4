// dpl-collateral/1 bundles, verified purely (ledger/collateral.py verify_collateral): the caller
// passes the pledge's terms, the root anchored at the checkpoint size and the issue block's hash,
// as read from the chain. Same check names, order and (mostly) the same words as Python.
import { toModel, pyType, isInt, has, get } from './json.js';
import { HEX32, fromHex, toHex, bytes32, equalBytes } from './hex.js';
import { keccak256 } from './keccak.js';
import { pyRepr } from './pyfmt.js';
import { prepareRecord, RecordError } from './records.js';
import { verifyInclusion, ProofError } from './merkle.js';
import { bundleRecordFormat, leafHashOf } from './leaves.js';
import { checkManifest, assetDigest, recordDisagreements, ASSET_FORMAT_V2 } from './manifest.js';
import { recordDisagreements as dayDisagreements } from './profile.js';
import { compareCodePoints } from './exact.js';
import { canonicalText, canonicalize, CanonicalError } from './jcs.js';
import { sha256 } from './sha256.js';
import { sampleSeed, sampleIndices, InvalidArgumentError } from './sampling.js';
import { BundleError } from './errors.js';

export const COLLATERAL_FORMAT = 'dpl-collateral/1';

/** A check as a UI shows it: a name, green or red, and why. */
export const check = (name, ok, detail) => ({ name, ok, detail });

/** A report: {tokenId, sound, checks}; sound when there are checks and all pass. */
export function report(tokenId, checks) {
  return { tokenId, sound: checks.length > 0 && checks.every((c) => c.ok), checks };
}

function obj(value, where) {
  if (pyType(value) !== 'dict') throw new BundleError(`${where} must be a JSON object`);
  return value;
}

function uint(value, where) {
  if (!isInt(value) || BigInt(value) < 0n) throw new BundleError(`${where} must be a non-negative integer`);
  return BigInt(value);
}

function hash(value, where) {
  if (typeof value !== 'string' || !HEX32.test(value)) throw new BundleError(`${where} must be 0x followed by 64 lowercase hex digits`);
  return fromHex(value);
}

/** EIP-55 checksum form of a 40-hex-digit address (without 0x), as "0x…". */
export function toChecksumAddress(address) {
  const lower = address.replace(/^0[xX]/, '').toLowerCase();
  const h = toHex(keccak256(new TextEncoder().encode(lower))).slice(2);
  let out = '0x';
  for (let i = 0; i < 40; i++) out += parseInt(h[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i];
  return out;
}

/** eth_utils.is_hex_address: 40 hex digits, with or without 0x / 0X. */
export const isHexAddress = (s) => typeof s === 'string' && /^(0[xX])?[0-9a-fA-F]{40}$/.test(s);
/** eth_utils.is_checksum_address. */
export const isChecksumAddress = (s) => isHexAddress(s) && s === toChecksumAddress(s);
/** eth_utils.is_address: hex, and a valid checksum if mixed case. */
export function isAddress(s) {
  if (!isHexAddress(s)) return false;
  const d = s.replace(/^0[xX]/, '');
  return d === d.toLowerCase() || d === d.toUpperCase() || isChecksumAddress(s);
}
// collateral._is_address (note: it looks at s[2:] whether or not s starts with 0x, as Python does).
function bundleAddressOk(s) {
  const d = s.slice(2);
  return isHexAddress(s) && (d === d.toLowerCase() || d === d.toUpperCase() || isChecksumAddress(s));
}

function parse(b) {
  obj(b, 'the bundle');
  if (get(b, 'format') !== COLLATERAL_FORMAT) {
    throw new BundleError(`format is ${pyRepr(get(b, 'format'))}, expected ${pyRepr(COLLATERAL_FORMAT)}`);
  }
  const recordFormat = bundleRecordFormat(b);
  const tokenId = uint(get(b, 'token_id'), 'token_id');
  uint(get(b, 'chain_id'), 'chain_id');
  const registry = get(b, 'registry');
  if (typeof registry !== 'string' || !bundleAddressOk(registry)) {
    throw new BundleError('registry must be a 0x-prefixed 20-byte address (EIP-55 if mixed case)');
  }
  const issue = obj(get(b, 'issue'), 'issue');
  const blockNumber = uint(get(issue, 'block_number'), 'issue.block_number');
  const blockHash = hash(get(issue, 'block_hash'), 'issue.block_hash');
  const seed = hash(get(b, 'seed'), 'seed');
  let manifest;
  try {
    manifest = checkManifest(get(b, 'manifest'));
  } catch (e) {
    if (e instanceof BundleError) throw new BundleError(`manifest: ${e.message}`);
    throw e;
  }
  const raw = get(b, 'entries');
  if (pyType(raw) !== 'list' || !raw.length) throw new BundleError('entries must be a non-empty list');
  const entries = raw.map((r, n) => {
    const e = obj(r, `entries[${n}]`);
    const index = uint(get(e, 'index'), `entries[${n}].index`);
    const where = `entries[${n}] (index ${index})`;
    if (!has(e, 'record')) throw new BundleError(`${where}.record is missing`);
    const proof = get(e, 'proof');
    if (pyType(proof) !== 'list') throw new BundleError(`${where}.proof must be a list`);
    const salt = hash(get(e, 'salt'), `${where}.salt`);
    const leaf = hash(get(e, 'leaf_hash'), `${where}.leaf_hash`);
    return { index, record: e.record, salt, leaf, proof: proof.map((h, i) => hash(h, `${where}.proof[${i}]`)) };
  });
  const covenants = get(b, 'covenants');
  let covenantsBytes = null;
  if (covenants !== undefined && covenants !== null) {
    if (pyType(covenants) !== 'dict') throw new BundleError('covenants must be a JSON object (a dpl-covenants/1 set)');
    try {
      covenantsBytes = canonicalize(covenants);
    } catch (e) {
      if (e instanceof CanonicalError) throw new BundleError('covenants are not canonical JSON (RFC 8785)');
      throw e;
    }
  }
  return { tokenId, blockNumber, blockHash, seed, manifest, entries, covenantsBytes, recordFormat };
}

/** The pledge terms a caller passes, normalised: ints as BigInts, hashes as bytes. */
export function normaliseTerms(t) {
  return {
    tokenId: BigInt(t.tokenId), logId: bytes32(t.logId, 'terms.logId'), start: BigInt(t.start), end: BigInt(t.end),
    checkpointSize: BigInt(t.checkpointSize), assetDigest: bytes32(t.assetDigest, 'terms.assetDigest'),
    samples: BigInt(t.samples), issueBlock: BigInt(t.issueBlock),
    covenantsDigest: t.covenantsDigest === undefined || t.covenantsDigest === null
      ? new Uint8Array(32) : bytes32(t.covenantsDigest, 'terms.covenantsDigest'),
  };
}

const optionalHash = (v, what) => (v === null || v === undefined ? null : bytes32(v, what));

/**
 * Check a dpl-collateral/1 bundle against the pledge's on-chain facts.
 *
 * @param bundle JSON text (exact: big integers and floats keep their kind) or a parsed object
 * @param opts.terms {tokenId, logId, start, end, checkpointSize, assetDigest, samples, issueBlock,
 *   covenantsDigest} (ints as Number or BigInt, hashes as 0x-hex or Uint8Array; covenantsDigest
 *   optional: absent is zero, no covenants)
 * @param opts.anchoredRoot the root the registry holds at terms.checkpointSize, or null if none
 * @param opts.issueBlockHash the chain's hash of block terms.issueBlock, or null if it has none
 * @returns Promise of {tokenId, sound, checks: [{name, ok, detail}]}; never rejects on a bad bundle.
 */
export async function verifyCollateral(bundle, { terms, anchoredRoot, issueBlockHash }) {
  const t = normaliseTerms(terms);
  const anchored = optionalHash(anchoredRoot, 'anchoredRoot');
  const chainHash = optionalHash(issueBlockHash, 'issueBlockHash');
  const model = toModel(bundle);
  if (model.error) return report(t.tokenId, [check('format', false, model.error)]);
  let b;
  try {
    b = parse(model.value);
  } catch (e) {
    if (e instanceof BundleError) return report(t.tokenId, [check('format', false, e.message)]);
    throw e;
  }
  const m = b.manifest;
  const checks = [check('format', true, `${COLLATERAL_FORMAT}, ${b.entries.length} entries`)];
  checks.push(await checkDigest(m, t));
  checks.push(checkTerms(m, t));
  checks.push(checkCovenantsDigest(b.covenantsBytes ? await sha256(b.covenantsBytes) : null, t.covenantsDigest, 'the bundle'));
  checks.push(checkRoot(m, t, anchored));
  checks.push(checkSeed(b, t, chainHash));
  checks.push(checkIndices(b, t, chainHash));
  const root = anchored ?? fromHex(m.checkpoint.root);
  const against = anchored ? 'the anchored root' : "the manifest's root (none anchored)";
  const profile = m.format === ASSET_FORMAT_V2 ? m.profile : null;
  for (const e of b.entries) checks.push(...await checkEntry(e, m, t.checkpointSize, root, against, profile, b.recordFormat));
  if (profile) {
    const agreeing = checks.filter((c) => c.name.endsWith(DAY_CHECK) && c.ok).length;
    checks.push(...declaredFigures(profile, agreeing, b.entries.length));
    checks.push(check('sampling', true, samplingStatement(b.entries.length)));
  }
  return report(t.tokenId, checks);
}

// ------------------------------------------------ the figures of a dpl-asset/2 manifest

export const DAY_CHECK = ": agrees with its day's figures";

const isDict = (v) => pyType(v) === 'dict';

/**
 * The figures a collateral report lists, [path, value] (ledger.pledge.collateral.headline_figures):
 * coverage.records, coverage.days; mes.qty_good, qty_scrap, scrap_rate, plan_attainment; per
 * machine iot.machines.M.parts and .utilization; per currency sales.by_currency.C.amount_minor and
 * .top1_share; cross_source.mismatch.
 */
export function headlineFigures(profile) {
  const out = [];
  const add = (path, o, key) => { if (isDict(o) && has(o, key)) out.push([`${path}.${key}`, o[key]]); };
  const cov = get(profile, 'coverage');
  add('coverage', cov, 'records');
  add('coverage', cov, 'days');
  const mes = get(profile, 'mes');
  for (const key of ['qty_good', 'qty_scrap', 'scrap_rate', 'plan_attainment']) add('mes', mes, key);
  const iot = get(profile, 'iot');
  const machines = isDict(iot) ? get(iot, 'machines') : undefined;
  if (isDict(machines)) {
    for (const name of Object.keys(machines).sort(compareCodePoints)) {
      add(`iot.machines.${name}`, machines[name], 'parts');
      add(`iot.machines.${name}`, machines[name], 'utilization');
    }
  }
  const sales = get(profile, 'sales');
  const currencies = isDict(sales) ? get(sales, 'by_currency') : undefined;
  if (isDict(currencies)) {
    for (const name of Object.keys(currencies).sort(compareCodePoints)) {
      add(`sales.by_currency.${name}`, currencies[name], 'amount_minor');
      add(`sales.by_currency.${name}`, currencies[name], 'top1_share');
    }
  }
  add('cross_source', get(profile, 'cross_source'), 'mismatch');
  return out;
}

/** A figure as a report line writes it: digits, a decimal string as is, null as "none". */
export function figureText(value) {
  if (value === null || value === undefined) return 'none';
  if (typeof value === 'string') return value;
  return canonicalText(value);
}

function declaredFigures(profile, agreeing, k) {
  const said = agreeing === k
    ? `${k} sampled record${k !== 1 ? 's' : ''} agree${k === 1 ? 's' : ''} with it`
    : `only ${agreeing} of ${k} sampled records agree with their day's figures`;
  return headlineFigures(profile).map(([path, value]) => check(`figure ${path}`, agreeing === k,
    `${figureText(value)}: declared by the factory; ${said}`));
}

/**
 * 100 * (19/20)^k rounded up to two significant digits, as a decimal string ("36", "0.60"):
 * the bound on the chance that k samples miss every record when >= 5 % of them disagree
 * (ledger.pledge.collateral.ceil_percent(miss_probability(k))). Exact BigInt arithmetic.
 */
export function missPercent(k) {
  const n = BigInt(k);
  let num = 100n * 19n ** n, den = 20n ** n; // x = num / den
  let e = 0n;
  const pow = (q) => 10n ** q;
  // scale by 10^e until 10 <= x * 10^e < 100
  const scaled = () => (e >= 0n ? [num * pow(e), den] : [num, den * pow(-e)]);
  for (;;) {
    const [a, b] = scaled();
    if (a < 10n * b) e += 1n;
    else if (a >= 100n * b) e -= 1n;
    else break;
  }
  const [a, b] = scaled();
  let m = (a + b - 1n) / b; // ceil
  if (m === 100n) { m = 10n; e -= 1n; }
  if (e <= 0n) return String(m * pow(-e));
  const digits = String(m).padStart(Number(e) + 1, '0');
  const cut = digits.length - Number(e);
  return `${digits.slice(0, cut)}.${digits.slice(cut)}`;
}

/** What k sampled records can and cannot tell about the declared figures (same words as Python). */
export function samplingStatement(k) {
  const samples = `${k} sample${k !== 1 ? 's' : ''}`;
  return `if at least 5 % of the range's records disagreed with their day's figures, ${samples} `
    + `would miss every one of them with probability at most ${missPercent(k)} % (0.95^${k}, rounded up to two `
    + 'significant digits); sampling cannot detect records left out of the log, nor totals inflated '
    + "without any single record exceeding its day's figures: only a full disclosure recomputes them";
}

async function checkDigest(m, t) {
  const digest = await assetDigest(m);
  if (equalBytes(digest, t.assetDigest)) return check('manifest digest', true, `sha256 ${toHex(digest)} is the pledge's asset digest`);
  return check('manifest digest', false, `the manifest hashes to ${toHex(digest)}, the pledge commits to `
    + `${toHex(t.assetDigest)}: the manifest was edited or is another asset's`);
}

/**
 * The "covenants" check (ledger.pledge.terms.check_covenants_digest): do the covenants `holder`
 * carries, hashing to `given` (null: it carries none), hash to the digest the pledge's terms
 * commit to (`pledged`; zero: no covenants)?
 */
export function checkCovenantsDigest(given, pledged, holder) {
  const none = pledged.every((x) => x === 0);
  if (!given && none) return check('covenants', true, 'the pledge commits to no covenants');
  if (!given) {
    return check('covenants', false, `the pledge commits to covenants with digest ${toHex(pledged)}, `
      + `${holder} carries none: ask the factory for the agreed set`);
  }
  if (none) {
    return check('covenants', false, `${holder}'s covenants hash to ${toHex(given)}, the pledge commits to `
      + 'none: they were never agreed on chain');
  }
  if (!equalBytes(given, pledged)) {
    return check('covenants', false, `${holder}'s covenants hash to ${toHex(given)}, the pledge commits to `
      + `${toHex(pledged)}: they were edited or are another loan's`);
  }
  return check('covenants', true, `sha256 ${toHex(given)} is the pledge's covenants digest`);
}

function checkTerms(m, t) {
  const problems = [];
  if (m.log_id !== toHex(t.logId)) problems.push(`log_id ${m.log_id} is not the pledge's ${toHex(t.logId)}`);
  const [from, to] = [BigInt(m.range.from), BigInt(m.range.to)];
  if (from !== t.start || to !== t.end) problems.push(`range [${from}, ${to}) is not the pledge's [${t.start}, ${t.end})`);
  const size = BigInt(m.checkpoint.size);
  if (size !== t.checkpointSize) problems.push(`checkpoint size ${size} is not the pledge's ${t.checkpointSize}`);
  if (problems.length) return check('manifest terms', false, problems.join('; '));
  return check('manifest terms', true, `log, range [${t.start}, ${t.end}) and checkpoint size ${t.checkpointSize} are the pledge's`);
}

function checkRoot(m, t, anchored) {
  const claimed = m.checkpoint.root;
  if (!anchored) return check('anchored root', false, `no root is anchored for this log at size ${t.checkpointSize}`);
  if (toHex(anchored) !== claimed) {
    return check('anchored root', false, `the manifest's root ${claimed} is not the anchored root ${toHex(anchored)}`);
  }
  return check('anchored root', true, `${claimed} is anchored at size ${t.checkpointSize}`);
}

function checkSeed(b, t, chainHash) {
  const problems = [];
  if (b.tokenId !== t.tokenId) problems.push(`the bundle is for token ${b.tokenId}, the pledge is token ${t.tokenId}`);
  if (b.blockNumber !== t.issueBlock) problems.push(`issue block ${b.blockNumber} is not the pledge's ${t.issueBlock}`);
  if (!chainHash) problems.push(`the chain gave no hash for block ${t.issueBlock}`);
  else {
    if (!equalBytes(b.blockHash, chainHash)) problems.push(`issue block hash ${toHex(b.blockHash)} is not the chain's ${toHex(chainHash)}`);
    const expected = sampleSeed(chainHash, t.tokenId);
    if (!equalBytes(b.seed, expected)) problems.push(`seed ${toHex(b.seed)} is not keccak256(block hash, token id) = ${toHex(expected)}`);
  }
  if (problems.length) return check('seed', false, problems.join('; '));
  return check('seed', true, `${toHex(b.seed)} from block ${t.issueBlock} and token ${t.tokenId}`);
}

const few = (xs) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` … (${xs.length} in all)` : '');
const ascending = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function checkIndices(b, t, chainHash) {
  if (!chainHash) return check('sample indices', false, 'cannot derive them: the chain gave no issue block hash');
  let expected;
  try {
    // From the chain's facts, never the bundle's seed: the factory must not pick them.
    expected = sampleIndices(sampleSeed(chainHash, t.tokenId), t.start, t.end, t.samples);
  } catch (e) {
    if (e instanceof InvalidArgumentError) return check('sample indices', false, `cannot derive them from the terms: ${e.message}`);
    throw e;
  }
  const got = b.entries.map((e) => e.index);
  if (got.length === expected.length && got.every((x, i) => x === expected[i])) {
    return check('sample indices', true, `the ${got.length} entries are exactly the sampled indices`);
  }
  const gotSet = new Set(got), expSet = new Set(expected);
  const missing = [...expSet].filter((x) => !gotSet.has(x)).sort(ascending);
  const extra = [...gotSet].filter((x) => !expSet.has(x)).sort(ascending);
  const problems = [];
  if (missing.length) problems.push(`missing sampled indices ${few(missing)}`);
  if (extra.length) problems.push(`indices ${few(extra)} were not sampled`);
  if (!problems.length) problems.push('entries are duplicated or out of order (they must be ascending)');
  return check('sample indices', false, problems.join('; '));
}

async function checkEntry(e, m, size, root, against, profile, recordFormat) {
  const name = `entry ${e.index}`;
  let leaf;
  let canonical = null;
  try {
    canonical = prepareRecord(e.record);
    leaf = equalBytes(await leafHashOf(recordFormat, e.salt, canonical, e.record), e.leaf)
      ? check(`${name}: leaf hash`, true, 'record and salt hash to leaf_hash')
      : check(`${name}: leaf hash`, false, 'record and salt do not hash to leaf_hash (record or salt was altered)');
  } catch (err) {
    if (!(err instanceof RecordError)) throw err;
    leaf = check(`${name}: leaf hash`, false, `not a valid record: ${err.reason}`);
  }
  let inclusion;
  try {
    await verifyInclusion(e.leaf, e.index, size, e.proof, root);
    inclusion = check(`${name}: inclusion`, true, `leaf is at index ${e.index} of size ${size} under ${against}`);
  } catch (err) {
    if (!(err instanceof ProofError)) throw err;
    inclusion = check(`${name}: inclusion`, false, `proof does not lead to ${against} at size ${size}: ${err.message}`);
  }
  const reasons = recordDisagreements(m, e.record);
  const agrees = check(`${name}: agrees with manifest`, !reasons.length,
    reasons.length ? reasons.join('; ') : 'type, time and figures within the manifest');
  if (!profile) return [leaf, inclusion, agrees];
  let day;
  if (canonical === null) day = check(name + DAY_CHECK, false, 'not a valid record (see its leaf hash)');
  else {
    // read back from its canonical bytes, as a profile reads every record (5.0 is 5)
    const why = dayDisagreements(profile, e.index, JSON.parse(new TextDecoder().decode(canonical)));
    day = check(name + DAY_CHECK, !why.length, why.length ? why.join('; ')
      : "within its day's figures and its product's, machine's and customer's totals");
  }
  return [leaf, inclusion, agrees, day];
}
