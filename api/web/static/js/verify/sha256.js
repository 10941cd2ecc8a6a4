// SHA-256 through WebCrypto (browsers and Node 20 share globalThis.crypto.subtle).

const subtle = globalThis.crypto?.subtle;

/** SHA-256 digest of `bytes` (a Uint8Array): a Promise of a 32-byte Uint8Array. */
export async function sha256(bytes) {
  if (!subtle) throw new Error('WebCrypto (crypto.subtle) is not available: use a secure context (https or localhost) or Node 20+');
  return new Uint8Array(await subtle.digest('SHA-256', bytes));
}
