// Keccak-256 as Ethereum uses it: the original Keccak padding (0x01 ... 0x80), not SHA3-256's 0x06.
// Keccak-f[1600] on 25 64-bit lanes, each kept as two 32-bit halves (lo, hi) in a Uint32Array.

const RC = [
  0x00000001, 0x00000000, 0x00008082, 0x00000000, 0x0000808a, 0x80000000, 0x80008000, 0x80000000,
  0x0000808b, 0x00000000, 0x80000001, 0x00000000, 0x80008081, 0x80000000, 0x00008009, 0x80000000,
  0x0000008a, 0x00000000, 0x00000088, 0x00000000, 0x80008009, 0x00000000, 0x8000000a, 0x00000000,
  0x8000808b, 0x00000000, 0x0000008b, 0x80000000, 0x00008089, 0x80000000, 0x00008003, 0x80000000,
  0x00008002, 0x80000000, 0x00000080, 0x80000000, 0x0000800a, 0x00000000, 0x8000000a, 0x80000000,
  0x80008081, 0x80000000, 0x00008080, 0x80000000, 0x80000001, 0x00000000, 0x80008008, 0x80000000,
]; // round constants as (lo, hi) pairs
// Rotation offset of lane x + 5y (rho), and where pi moves it: (x, y) -> (y, 2x + 3y).
const ROT = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14];
const PI = [];
for (let i = 0; i < 25; i++) { const x = i % 5, y = (i / 5) | 0; PI[i] = y + 5 * ((2 * x + 3 * y) % 5); }

function keccakF(s) {
  const c = new Uint32Array(10), b = new Uint32Array(50);
  for (let round = 0; round < 24; round++) {
    // theta
    for (let x = 0; x < 5; x++) {
      c[2 * x] = s[2 * x] ^ s[2 * x + 10] ^ s[2 * x + 20] ^ s[2 * x + 30] ^ s[2 * x + 40];
      c[2 * x + 1] = s[2 * x + 1] ^ s[2 * x + 11] ^ s[2 * x + 21] ^ s[2 * x + 31] ^ s[2 * x + 41];
    }
    for (let x = 0; x < 5; x++) {
      const l = (x + 4) % 5, r = (x + 1) % 5;
      const lo = c[2 * l] ^ ((c[2 * r] << 1) | (c[2 * r + 1] >>> 31));
      const hi = c[2 * l + 1] ^ ((c[2 * r + 1] << 1) | (c[2 * r] >>> 31));
      for (let y = 0; y < 25; y += 5) { s[2 * (x + y)] ^= lo; s[2 * (x + y) + 1] ^= hi; }
    }
    // rho and pi
    for (let i = 0; i < 25; i++) {
      let lo = s[2 * i], hi = s[2 * i + 1], n = ROT[i];
      if (n >= 32) { const t = lo; lo = hi; hi = t; n -= 32; }
      const j = PI[i];
      if (n === 0) { b[2 * j] = lo; b[2 * j + 1] = hi; } else {
        b[2 * j] = (lo << n) | (hi >>> (32 - n));
        b[2 * j + 1] = (hi << n) | (lo >>> (32 - n));
      }
    }
    // chi
    for (let y = 0; y < 25; y += 5) {
      for (let x = 0; x < 5; x++) {
        const i = 2 * (x + y), i1 = 2 * (((x + 1) % 5) + y), i2 = 2 * (((x + 2) % 5) + y);
        s[i] = b[i] ^ (~b[i1] & b[i2]);
        s[i + 1] = b[i + 1] ^ (~b[i1 + 1] & b[i2 + 1]);
      }
    }
    // iota
    s[0] ^= RC[2 * round];
    s[1] ^= RC[2 * round + 1];
  }
}

const RATE = 136; // bytes: 1600 - 2 * 256 bits

/** Keccak-256 of `bytes` (a Uint8Array): a 32-byte Uint8Array. Synchronous. */
export function keccak256(bytes) {
  const s = new Uint32Array(50);
  const padded = new Uint8Array((Math.floor(bytes.length / RATE) + 1) * RATE);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const view = new DataView(padded.buffer);
  for (let off = 0; off < padded.length; off += RATE) {
    for (let w = 0; w < RATE / 4; w++) s[w] ^= view.getUint32(off + 4 * w, true);
    keccakF(s);
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let w = 0; w < 8; w++) ov.setUint32(4 * w, s[w], true);
  return out;
}
