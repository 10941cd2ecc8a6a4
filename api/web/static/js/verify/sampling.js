// Sample indices a factory could not choose (ledger/sampling.py, a protocol: bit for bit).
// seed = keccak256(block_hash || u256(token_id)); then x_j = uint256(keccak256(seed || u256(j))) mod n,
// start + x_j taken unless taken already, until k distinct; ascending. k >= n: the whole range.
import { keccak256 } from './keccak.js';
import { concatBytes, u256, toBigInt } from './hex.js';

export class InvalidArgumentError extends Error {}

const isIntLike = (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));

/** keccak256(blockHash || u256(tokenId)). `blockHash` 32 bytes; 0 <= tokenId < 2**256. */
export function sampleSeed(blockHash, tokenId) {
  if (!(blockHash instanceof Uint8Array) || blockHash.length !== 32) throw new InvalidArgumentError('block hash must be 32 bytes');
  if (!isIntLike(tokenId) || BigInt(tokenId) < 0n || BigInt(tokenId) >= 1n << 256n) {
    throw new InvalidArgumentError(`token id ${tokenId} is not a uint256`);
  }
  return keccak256(concatBytes(blockHash, u256(tokenId)));
}

/** The k indices of [start, end) that `seed` selects, ascending, as BigInts. */
export function sampleIndices(seed, start, end, k) {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new InvalidArgumentError('seed must be 32 bytes');
  if (!(isIntLike(start) && isIntLike(end) && 0n <= BigInt(start) && BigInt(start) < BigInt(end))) {
    throw new InvalidArgumentError(`need 0 <= start < end, got [${start}, ${end})`);
  }
  if (!isIntLike(k) || BigInt(k) < 1n) throw new InvalidArgumentError(`need k >= 1 samples, got ${k}`);
  const s = BigInt(start), n = BigInt(end) - s, want = BigInt(k);
  const out = [];
  if (want >= n) {
    for (let i = s; i < s + n; i++) out.push(i);
    return out;
  }
  const taken = new Set();
  for (let j = 0n; BigInt(taken.size) < want; j++) {
    taken.add(s + (toBigInt(keccak256(concatBytes(seed, u256(j)))) % n));
  }
  return [...taken].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
