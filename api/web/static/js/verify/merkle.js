// RFC 9162 Merkle tree verification, a port of transparency-dev/merkle proof/verify.go step for
// step (as ledger/merkle.py is). Indices and sizes may be Numbers or BigInts: they are BigInts
// inside, so trees beyond 2^32 leaves work. Functions are async (SHA-256 is WebCrypto's).
import { sha256 } from './sha256.js';
import { concatBytes, equalBytes, toHex } from './hex.js';

export const HASH_SIZE = 32;

/** A proof that failed; `message` says why (the same words as ledger.merkle.ProofError). */
export class ProofError extends Error {}

/** The root a proof leads to is not the one it was checked against. */
export class RootMismatchError extends ProofError {
  constructor(expected, calculated, what = 'root') {
    super(`${what} mismatch: calculated ${toHex(calculated)}, expected ${toHex(expected)}`);
    this.expected = expected;
    this.calculated = calculated;
  }
}

/** SHA-256(0x00 || data). For a record, data is salt || canonical bytes. */
export function leafHash(data) {
  return sha256(concatBytes(new Uint8Array([0]), data));
}

/** SHA-256(0x01 || left || right). */
export function nodeHash(left, right) {
  return sha256(concatBytes(new Uint8Array([1]), left, right));
}

const bitLength = (n) => (n === 0n ? 0 : n.toString(2).length);
const popCount = (n) => [...n.toString(2)].filter((c) => c === '1').length;

function decompose(index, size) {
  const inner = bitLength(index ^ (size - 1n));
  return [inner, popCount(index >> BigInt(inner))];
}

async function chainInner(seed, proof, index) {
  for (const h of proof) {
    seed = index & 1n ? await nodeHash(h, seed) : await nodeHash(seed, h);
    index >>= 1n;
  }
  return seed;
}

async function chainInnerRight(seed, proof, index) {
  for (const h of proof) {
    if (index & 1n) seed = await nodeHash(h, seed);
    index >>= 1n;
  }
  return seed;
}

async function chainBorderRight(seed, proof) {
  for (const h of proof) seed = await nodeHash(h, seed);
  return seed;
}

const isBytes = (v) => v instanceof Uint8Array;
const isCount = (v) => (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';

function requireHash(value, what) {
  if (!isBytes(value) || value.length !== HASH_SIZE) {
    throw new ProofError(`${what} must be ${HASH_SIZE} bytes, got ${isBytes(value) ? value.length : typeof value}`);
  }
}

function requireProofHashes(proof) {
  proof.forEach((h, i) => requireHash(h, `proof[${i}]`));
}

/** The root `proof` leads to for `leaf` at `index` in a tree of `size`; throws ProofError. */
export async function rootFromInclusionProof(leaf, index, size, proof) {
  if (!isCount(index) || !isCount(size) || index < 0 || size < 0) {
    throw new ProofError('index and size must be non-negative integers');
  }
  const i = BigInt(index), n = BigInt(size);
  if (i >= n) throw new ProofError(`index is beyond size: ${i} >= ${n}`);
  requireHash(leaf, 'leaf hash');
  requireProofHashes(proof);
  const [inner, border] = decompose(i, n);
  if (proof.length !== inner + border) throw new ProofError(`wrong proof size ${proof.length}, want ${inner + border}`);
  const res = await chainInner(leaf, proof.slice(0, inner), i);
  return chainBorderRight(res, proof.slice(inner));
}

/** Resolve if `leaf` is the leaf at `index` of the tree of `size` with `root`; else throw ProofError. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  const calculated = await rootFromInclusionProof(leaf, index, size, proof);
  requireHash(root, 'root');
  if (!equalBytes(calculated, root)) throw new RootMismatchError(root, calculated);
}

/** Resolve if the tree (newSize, newRoot) extends (oldSize, oldRoot); else throw ProofError. */
export async function verifyConsistency(oldSize, newSize, proof, oldRoot, newRoot) {
  if (![oldSize, newSize].every((s) => isCount(s) && s >= 0)) throw new ProofError('sizes must be non-negative integers');
  const m = BigInt(oldSize), n = BigInt(newSize);
  if (n < m) throw new ProofError(`new size ${n} < old size ${m}`);
  if (m === 0n) throw new ProofError('a consistency proof from the empty tree is meaningless');
  if (m === n) {
    if (proof.length) throw new ProofError('sizes are equal but the proof is not empty');
    if (!equalBytes(oldRoot, newRoot)) throw new RootMismatchError(newRoot, oldRoot, 'root');
    return;
  }
  if (!proof.length) throw new ProofError('empty proof');
  requireProofHashes(proof);
  requireHash(oldRoot, 'old root');
  requireHash(newRoot, 'new root');
  let [inner, border] = decompose(m - 1n, n);
  const shift = bitLength(m & -m) - 1; // trailing zeros of oldSize
  inner -= shift;
  let seed, start;
  if (m === 1n << BigInt(shift)) { seed = oldRoot; start = 0; } else { seed = proof[0]; start = 1; }
  if (proof.length !== start + inner + border) {
    throw new ProofError(`wrong proof size ${proof.length}, want ${start + inner + border}`);
  }
  const rest = proof.slice(start);
  const mask = (m - 1n) >> BigInt(shift);
  let hash1 = await chainInnerRight(seed, rest.slice(0, inner), mask);
  hash1 = await chainBorderRight(hash1, rest.slice(inner));
  if (!equalBytes(hash1, oldRoot)) throw new RootMismatchError(oldRoot, hash1, 'old root');
  let hash2 = await chainInner(seed, rest.slice(0, inner), mask);
  hash2 = await chainBorderRight(hash2, rest.slice(inner));
  if (!equalBytes(hash2, newRoot)) throw new RootMismatchError(newRoot, hash2, 'new root');
}

// --- range proofs: compact ranges (transparency-dev/merkle compact/range.go), as ledger/merkle.py

/** Levels of the perfect subtrees covering [a, b), left to right (merkle.perfect_subtrees). */
function subtreeLevels(a, b) {
  const out = [];
  let pos = a;
  while (pos < b) {
    let level = bitLength(b - pos) - 1;
    if (pos) level = Math.min(level, bitLength(pos & -pos) - 1);
    out.push(level);
    pos += 1n << BigInt(level);
  }
  return out;
}

/** Leaf ranges [a, b) of the range proof of [start, end) in a tree of `size`: {left, right}. */
export function rangeProofRanges(start, end, size) {
  const s = BigInt(start), e = BigInt(end), n = BigInt(size);
  if (!(0n <= s && s < e && e <= n)) throw new ProofError(`a range proof needs 0 <= start < end <= size (got [${s}, ${e}) of ${n})`);
  const cover = (a, b) => {
    const out = [];
    for (const level of subtreeLevels(a, b)) { out.push([a, a + (1n << BigInt(level))]); a += 1n << BigInt(level); }
    return out;
  };
  return { left: cover(0n, s), right: cover(e, n) };
}

/**
 * The root the range proof (left, right) leads to for the leaf hashes `leaves` at
 * [start, start + leaves.length) of a tree of `size`: a compact-range merge of left, the leaves
 * and right, folded into the RFC 9162 root. Throws ProofError (ledger.merkle.root_from_range's words).
 */
export async function rootFromRange(left, leaves, right, start, size) {
  if (![start, size].every((v) => isCount(v) && v >= 0)) throw new ProofError('start and size must be non-negative integers');
  if (!leaves.length) throw new ProofError('empty range: a range proof needs at least one leaf');
  const s = BigInt(start), n = BigInt(size), e = s + BigInt(leaves.length);
  if (e > n) throw new ProofError(`range [${s}, ${e}) is beyond size ${n}`);
  const leftLevels = subtreeLevels(0n, s), rightLevels = subtreeLevels(e, n);
  if (left.length !== leftLevels.length) throw new ProofError(`wrong number of left proof hashes ${left.length}, want ${leftLevels.length}`);
  if (right.length !== rightLevels.length) throw new ProofError(`wrong number of right proof hashes ${right.length}, want ${rightLevels.length}`);
  left.forEach((h, i) => requireHash(h, `left[${i}]`));
  right.forEach((h, i) => requireHash(h, `right[${i}]`));
  leaves.forEach((h, i) => requireHash(h, `leaf[${i}]`));
  const levels = [], hashes = [];
  const push = async (level, h) => {
    while (levels.length && levels[levels.length - 1] === level) {
      levels.pop();
      h = await nodeHash(hashes.pop(), h);
      level += 1;
    }
    levels.push(level);
    hashes.push(h);
  };
  for (let i = 0; i < left.length; i++) await push(leftLevels[i], left[i]);
  for (const h of leaves) await push(0, h);
  for (let i = 0; i < right.length; i++) await push(rightLevels[i], right[i]);
  let acc = hashes[hashes.length - 1];
  for (let i = hashes.length - 2; i >= 0; i--) acc = await nodeHash(hashes[i], acc);
  return acc;
}

/** Resolve if `leaves` are [start, start + leaves.length) of the tree of `size` with `root`; else throw ProofError. */
export async function verifyRange(left, leaves, right, start, size, root) {
  const calculated = await rootFromRange(left, leaves, right, start, size);
  requireHash(root, 'root');
  if (!equalBytes(calculated, root)) throw new RootMismatchError(root, calculated);
}
