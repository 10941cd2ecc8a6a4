// Bytes <-> 0x-prefixed hex, and small byte helpers. Pure, no dependencies.

/** 0x followed by 64 lowercase hex digits: how bundles write hashes and salts. */
export const HEX32 = /^0x[0-9a-f]{64}$/;

/** "0x" + lowercase hex of `bytes` (a Uint8Array). */
export function toHex(bytes) {
  let s = '0x';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** Bytes of a hex string (with or without 0x, either case); throws on odd length or a non-hex digit. */
export function fromHex(hex) {
  const h = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (h.length % 2 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error(`not hex: ${hex}`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A 32-byte value given as a Uint8Array or a 0x-hex string (any case), as bytes. */
export function bytes32(value, what = 'value') {
  const b = value instanceof Uint8Array ? value : typeof value === 'string' ? fromHex(value) : null;
  if (!b || b.length !== 32) throw new Error(`${what} must be 32 bytes (Uint8Array or 0x-hex)`);
  return b;
}

export function concatBytes(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UTF-8 bytes of a string (lone surrogates must have been rejected before). */
export function utf8(s) {
  return new TextEncoder().encode(s);
}

/** 32-byte big-endian encoding of 0 <= x < 2**256 (x a BigInt or safe integer). */
export function u256(x) {
  let v = BigInt(x);
  if (v < 0n || v >= 1n << 256n) throw new Error(`${x} is not a uint256`);
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** Big-endian bytes as a BigInt. */
export function toBigInt(bytes) {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}
