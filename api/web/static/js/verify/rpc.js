// Ethereum JSON-RPC over fetch, and the little ABI coding the verifier needs (hand-written:
// selectors are keccak256 of the signature; static return types, and bounded dynamic bytes/string).
import { keccak256 } from './keccak.js';
import { toHex, fromHex, u256, toBigInt, utf8 } from './hex.js';
import { parseJson, JsonInputError } from './json.js';
import { shown } from './pyfmt.js';

/** The node is down, answered something that is not JSON-RPC, or answered an error. */
export class RpcError extends Error {
  constructor(message, { url, code, data } = {}) {
    super(message);
    this.url = url;
    this.code = code;
    this.data = data;
  }
}

/** The 4-byte selector of a function signature such as "rootAt(bytes32,uint64)". */
export const selector = (signature) => keccak256(utf8(signature)).slice(0, 4);

/** ABI-encode a call to `signature` with static arguments (BigInt/Number for uints, bytes for bytes32). */
export function encodeCall(signature, args) {
  const words = args.map((a) => (a instanceof Uint8Array ? padRight32(a) : u256(a)));
  const out = new Uint8Array(4 + 32 * words.length);
  out.set(selector(signature));
  words.forEach((w, i) => out.set(w, 4 + 32 * i));
  return out;
}

function padRight32(b) {
  if (b.length > 32) throw new Error('a static argument is at most 32 bytes');
  const w = new Uint8Array(32);
  w.set(b);
  return w;
}

/** The i-th 32-byte word of return data; throws if the data is too short. */
export function word(data, i) {
  if (data.length < 32 * (i + 1)) throw new RpcError(`the call returned ${data.length} bytes, too few for its return type`);
  return data.slice(32 * i, 32 * (i + 1));
}
export const uintAt = (data, i) => toBigInt(word(data, i));
export const addressAt = (data, i) => toHex(word(data, i).slice(12));

/**
 * The dynamic `bytes`/`string` whose head is word `i` of return data: the head is an offset to a
 * length word followed by that many bytes. Offset and length are bounded by the data (and the
 * length by `max`), so a node's answer cannot make this read outside it or allocate much.
 */
export function bytesAt(data, i, max = 4096) {
  const offset = uintAt(data, i);
  const bad = (why) => new RpcError(`the call returned a malformed dynamic value (${why})`);
  if (offset > BigInt(data.length - 32)) throw bad('offset beyond the data');
  const start = Number(offset);
  const length = toBigInt(data.slice(start, start + 32));
  if (length > BigInt(max)) throw bad(`length ${length} above ${max}`);
  if (BigInt(start + 32) + length > BigInt(data.length)) throw bad('length beyond the data');
  return data.slice(start + 32, start + 32 + Number(length));
}

let nextId = 1;

/** A JSON-RPC client for one node URL. */
export class RpcClient {
  constructor(url, { fetch: fetchFn } = {}) {
    this.url = url;
    this.fetch = fetchFn || globalThis.fetch.bind(globalThis);
  }

  /** Call `method`; resolves to the result, rejects with RpcError naming the URL and the node's message. */
  async request(method, params = []) {
    let response;
    try {
      response = await this.fetch(this.url, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
      });
    } catch (e) {
      throw new RpcError(`the Ethereum node at ${this.url} is not answering (${e.cause?.message || e.message})`, { url: this.url });
    }
    const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
    let body;
    try { // the node is input too: read by ledger.jsonio's rules, as ledger.chain.client reads it
      body = parseJson(bytes);
    } catch (e) {
      if (!(e instanceof JsonInputError)) throw e;
      throw new RpcError(`the Ethereum node at ${this.url} answered HTTP ${response.status} with an answer that is not `
        + `usable JSON-RPC: ${shown(e.message)}`, { url: this.url });
    }
    if (body && body.error) {
      const { code, message, data } = body.error;
      throw new RpcError(`the Ethereum node at ${this.url} answered ${method} with an error: ${message} (code ${code})`,
        { url: this.url, code, data });
    }
    if (!response.ok || !body || !('result' in body)) {
      throw new RpcError(`the Ethereum node at ${this.url} answered HTTP ${response.status} without a result`, { url: this.url });
    }
    return body.result;
  }

  async chainId() { return BigInt(await this.request('eth_chainId')); }

  async getCode(address) { return fromHex(await this.request('eth_getCode', [address, 'latest'])); }

  /** eth_call of `signature` on `to` with static `args`: the return data as bytes. */
  async call(to, signature, args = []) {
    return fromHex(await this.request('eth_call', [{ to, data: toHex(encodeCall(signature, args)) }, 'latest']));
  }

  /** eth_getTransactionReceipt: the node's receipt object, or null while the transaction is in no block. */
  async receipt(txHash) { return this.request('eth_getTransactionReceipt', [txHash]); }

  /** The block's timestamp (unix seconds, a BigInt), or null if the node has no such block. */
  async blockTime(number) {
    const block = await this.request('eth_getBlockByNumber', ['0x' + BigInt(number).toString(16), false]);
    return block && block.timestamp !== undefined && block.timestamp !== null ? BigInt(block.timestamp) : null;
  }

  /** The block's hash (32 bytes), or null if the node has no such block. */
  async blockHash(number) {
    const block = await this.request('eth_getBlockByNumber', ['0x' + BigInt(number).toString(16), false]);
    return block && block.hash ? fromHex(block.hash) : null;
  }
}
