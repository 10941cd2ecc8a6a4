// C2SP tlog-tiles and tlog-checkpoint, as ledger/tlog.py reads them (docs/TILES.md): tile paths,
// checkpoint notes (Ed25519 signed-note, WebCrypto), and inclusion / consistency proofs built from
// tiles fetched from a static server, with no call to the service. The same paths, proofs and
// words as Python (tests/web/test_js_tiles.py). Indices and sizes are BigInts inside.
import { sha256 } from './sha256.js';
import { concatBytes, equalBytes, toHex, utf8 } from './hex.js';
import { BundleError } from './errors.js';
import { pyRepr as pyStr } from './pyfmt.js';

export const TILE_WIDTH = 256;
export const HASH_SIZE = 32;
export const ORIGIN_PREFIX = 'data-pledge-ledger';
export const MAX_NOTE_BYTES = 16 * 1024;
const HEIGHT = 8n;
const EM_DASH = '\u2014';

// --- paths --------------------------------------------------------------------------------

/** `N` as C2SP writes it: 3-digit elements, all but the last prefixed with `x` (1234067 -> x001/x234/067). */
export function indexPath(index) {
  let digits = BigInt(index).toString();
  digits = '0'.repeat((3 - (digits.length % 3)) % 3) + digits;
  const parts = digits.match(/.{3}/g);
  return [...parts.slice(0, -1).map((p) => `x${p}`), parts[parts.length - 1]].join('/');
}

/** `tile/<L>/<N>` for a full tile, `tile/<L>/<N>.p/<W>` for a partial one. */
export function tilePath(level, index, width = TILE_WIDTH) {
  const path = `tile/${level}/${indexPath(index)}`;
  return Number(width) === TILE_WIDTH ? path : `${path}.p/${width}`;
}

/** How many hashes tile (level, index) holds in a tree of `size` leaves (0: none). */
export function tileWidthAt(level, index, size) {
  const count = BigInt(size) >> (HEIGHT * BigInt(level));
  const w = count - BigInt(index) * 256n;
  return Number(w < 0n ? 0n : w > 256n ? 256n : w);
}

// --- checkpoints and signed notes ---------------------------------------------------------

const ORIGIN = new RegExp(`^${ORIGIN_PREFIX}/(0|[1-9][0-9]{0,19})/([0-9a-f]{64})$`);

/** {chainId, logId (0x-hex)} named by one of our origins; BundleError for any other. */
export function parseOrigin(origin) {
  const m = ORIGIN.exec(origin);
  if (!m) {
    throw new BundleError(`checkpoint origin ${pyStr(origin)} is not a data-pledge-ledger log `
      + `(${ORIGIN_PREFIX}/<chain id>/<64 hex digits of the log id>)`);
  }
  return { chainId: BigInt(m[1]), logId: `0x${m[2]}` };
}

const b64 = {
  decode(s) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4) return null;
    const bin = atob(s);
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  },
  encode(bytes) { return btoa(String.fromCharCode(...bytes)); },
};

/** A checkpoint {origin, size (BigInt), root, extensions} from its verified note text (bytes). */
export function parseCheckpoint(text) {
  let s;
  try { s = new TextDecoder('utf-8', { fatal: true }).decode(text); } catch { throw new BundleError('the checkpoint is not UTF-8'); }
  const lines = s.split('\n');
  if (lines.length < 4 || lines[lines.length - 1] !== '' || lines.slice(0, -1).some((l) => l === '')) {
    throw new BundleError('the checkpoint is not origin, size and root on non-empty lines');
  }
  const [origin, size, root, ...extensions] = lines.slice(0, -1);
  if (!/^(0|[1-9][0-9]{0,19})$/.test(size)) throw new BundleError(`the checkpoint's size ${pyStr(size)} is not a decimal number`);
  const raw = b64.decode(root);
  if (!raw || raw.length !== HASH_SIZE || b64.encode(raw) !== root) {
    throw new BundleError(`the checkpoint's root ${pyStr(root)} is not the base64 of 32 bytes`);
  }
  return { origin, size: BigInt(size), root: raw, extensions };
}

/** The 4-byte key ID of an Ed25519 note key. */
export async function keyId(name, publicKey) {
  return (await sha256(concatBytes(utf8(name), new Uint8Array([0x0a, 0x01]), publicKey))).slice(0, 4);
}

/** A verifier key `<name>+<hex key ID>+<base64(0x01 || public key)>`: {name, keyId, publicKey}. */
export async function parseVkey(vkey) {
  const text = vkey.trim();
  const a = text.indexOf('+'), b = a < 0 ? -1 : text.indexOf('+', a + 1);
  if (a < 0 || b < 0) throw new BundleError('a note verifier key is <name>+<key id>+<key>');
  const [name, hexId, key] = [text.slice(0, a), text.slice(a + 1, b), text.slice(b + 1)];
  const raw = b64.decode(key);
  if (!name || /[\s+]/u.test(name) || !/^[0-9a-f]{8}$/.test(hexId) || raw === null) {
    throw new BundleError('the note verifier key is not <name>+<8 hex digits>+<base64>');
  }
  if (raw.length !== 33 || raw[0] !== 0x01) {
    throw new BundleError('the note verifier key is not an Ed25519 key (<name>+<8 hex digits>+<base64 of 33 bytes>)');
  }
  const kid = Uint8Array.from(hexId.match(/../g), (h) => parseInt(h, 16));
  if (!equalBytes(await keyId(name, raw.slice(1)), kid)) throw new BundleError("the note verifier key's id does not match its name and key");
  return { name, keyId: kid, publicKey: raw.slice(1) };
}

/** A signed note's text (bytes) and signatures [{name, raw}], unverified. */
export function splitNote(note) {
  if (note.length > MAX_NOTE_BYTES) throw new BundleError(`the signed note is larger than ${MAX_NOTE_BYTES} bytes`);
  let s;
  try { s = new TextDecoder('utf-8', { fatal: true }).decode(note); } catch { throw new BundleError('the signed note is not UTF-8'); }
  if (/[\x00-\x09\x0b-\x1f]/.test(s)) throw new BundleError('the signed note holds control characters');
  const cut = s.lastIndexOf('\n\n');
  if (cut < 0 || !s.endsWith('\n')) throw new BundleError('the signed note has no signature block (a blank line, then signature lines)');
  const signatures = s.slice(cut + 2, -1).split('\n').map((line) => {
    const m = new RegExp(`^${EM_DASH} (\\S+) ([A-Za-z0-9+/=]+)$`, 'u').exec(line);
    const raw = m ? b64.decode(m[2]) : null;
    if (!raw || raw.length < 5) throw new BundleError(`malformed signature line ${pyStr([...line].slice(0, 80).join(''))} in the signed note`);
    return { name: m[1], raw };
  });
  return { text: utf8(s.slice(0, cut + 1)), signatures };
}

/** The note's text once a signature by `verifier` ({name, keyId, publicKey}) verifies (WebCrypto Ed25519). */
export async function openNote(note, verifier) {
  const { text, signatures } = splitNote(note);
  let found = false;
  for (const { name, raw } of signatures) {
    if (name !== verifier.name || !equalBytes(raw.slice(0, 4), verifier.keyId)) continue; // another key: ignored
    const key = await crypto.subtle.importKey('raw', verifier.publicKey, { name: 'Ed25519' }, false, ['verify']);
    if (!(await crypto.subtle.verify({ name: 'Ed25519' }, key, raw.slice(4), text))) {
      throw new BundleError(`the signature by ${verifier.name} does not verify: the note was altered or signed by another key`);
    }
    found = true;
  }
  if (!found) {
    throw new BundleError(`the signed note carries no signature by the key ${verifier.name}+${[...verifier.keyId].map((b) => b.toString(16).padStart(2, '0')).join('')}`);
  }
  return text;
}

// --- proofs from tiles (ledger.merkle's ranges, ledger.tiles' subtrees) ------------------------

const bitLength = (n) => (n === 0n ? 0 : n.toString(2).length);
const below = (n) => 1n << BigInt(bitLength(n - 1n) - 1); // largest power of two < n (n > 1)

/** Aligned perfect subtrees [level, index] of [start, end), left to right (merkle.perfect_subtrees). */
export function perfectSubtrees(start, end) {
  const out = [];
  let pos = BigInt(start);
  const e = BigInt(end);
  while (pos < e) {
    let level = bitLength(e - pos) - 1;
    if (pos) level = Math.min(level, bitLength(pos & -pos) - 1);
    out.push([level, pos >> BigInt(level)]);
    pos += 1n << BigInt(level);
  }
  return out;
}

/** Leaf ranges of the inclusion proof of `index` in a tree of `size` (merkle.inclusion_ranges). */
export function inclusionRanges(index, size) {
  const i = BigInt(index);
  const ranges = [];
  let lo = 0n, hi = BigInt(size);
  while (hi - lo > 1n) {
    const k = below(hi - lo);
    if (i < lo + k) { ranges.push([lo + k, hi]); hi = lo + k; } else { ranges.push([lo, lo + k]); lo += k; }
  }
  return ranges.reverse();
}

/** Leaf ranges of the consistency proof oldSize -> newSize (merkle.consistency_ranges). */
export function consistencyRanges(oldSize, newSize) {
  const ranges = [];
  let lo = 0n, hi = BigInt(newSize), m = BigInt(oldSize), whole = true;
  while (m !== hi - lo) {
    const k = below(hi - lo);
    if (m <= k) { ranges.push([lo + k, hi]); hi = lo + k; } else { ranges.push([lo, lo + k]); lo += k; m -= k; whole = false; }
  }
  if (!whole) ranges.push([lo, hi]);
  return ranges.reverse();
}

async function perfectRoot(hashes) { // MTH of a power-of-two count of hashes
  let level = hashes;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256(concatBytes(new Uint8Array([1]), level[i], level[i + 1])));
    level = await Promise.all(next);
  }
  return level[0];
}

const nodeHash = (l, r) => sha256(concatBytes(new Uint8Array([1]), l, r));
const EMPTY_ROOT = () => sha256(new Uint8Array(0));

/** Hashes, roots and proofs of a log from its tiles published at `size` (ledger.tlog.TileReader):
 * each tile fetched once (`fetchTile(path)` -> Promise<Uint8Array>), its length checked, and a
 * full tile checked against its entry in its parent tile. Check `root()` against the checkpoint first. */
export class TileReader {
  constructor(size, fetchTile) {
    this.size = BigInt(size);
    this.fetchTile = fetchTile;
    this.tiles = new Map(); // "level/index" -> [hash, ...]
    this.fetched = [];
  }

  async load(keys) {
    const full = [];
    let todo = keys.filter(([l, i]) => !this.tiles.has(`${l}/${i}`));
    while (todo.length) {
      todo.sort(([l1, i1], [l2, i2]) => (l1 - l2) || (i1 < i2 ? -1 : i1 > i2 ? 1 : 0));
      const paths = todo.map(([l, i]) => tilePath(l, i, tileWidthAt(l, i, this.size)));
      const bodies = await Promise.allSettled(paths.map((p) => this.fetchTile(p)));
      const parents = new Map();
      todo.forEach(([level, index], n) => {
        const width = tileWidthAt(level, index, this.size);
        this.fetched.push(paths[n]);
        if (bodies[n].status === 'rejected') throw bodies[n].reason;
        const data = bodies[n].value;
        if (data.length !== width * HASH_SIZE) {
          throw new BundleError(`tile ${paths[n]} is ${data.length} bytes, not ${width} hashes (${width * HASH_SIZE} bytes)`);
        }
        const hashes = [];
        for (let o = 0; o < data.length; o += HASH_SIZE) hashes.push(data.slice(o, o + HASH_SIZE));
        this.tiles.set(`${level}/${index}`, hashes);
        if (width === TILE_WIDTH) {
          full.push([level, index]);
          const parent = [level + 1, index >> HEIGHT];
          if (!this.tiles.has(`${parent[0]}/${parent[1]}`)) parents.set(`${parent[0]}/${parent[1]}`, parent);
        }
      });
      todo = [...parents.values()];
    }
    for (const [level, index] of full) {
      const parent = this.tiles.get(`${level + 1}/${index >> HEIGHT}`);
      if (!equalBytes(await perfectRoot(this.tiles.get(`${level}/${index}`)), parent[Number(index & 255n)])) {
        const p = [level + 1, index >> HEIGHT];
        throw new BundleError(`tile ${tilePath(level, index)} does not hash to its entry in tile `
          + `${tilePath(p[0], p[1], tileWidthAt(p[0], p[1], this.size))}: a tile was altered`);
      }
    }
  }

  /** Tree hashes of leaf ranges [a, b) (BigInts) within the published size. */
  async hashes(ranges) {
    if (ranges.some(([a, b]) => !(0n <= a && a < b && b <= this.size))) {
      throw new BundleError(`a range is outside the published tree of size ${this.size}`);
    }
    const subtrees = ranges.map(([a, b]) => perfectSubtrees(a, b).map(([level, index]) => {
      const t = Math.floor(level / 8), rest = BigInt(level % 8), first = index << rest;
      return { t, k: first >> HEIGHT, offset: Number(first & 255n), count: 1 << Number(rest) };
    }));
    const keys = new Map();
    for (const s of subtrees.flat()) keys.set(`${s.t}/${s.k}`, [s.t, s.k]);
    await this.load([...keys.values()]);
    const out = [];
    for (const parts of subtrees) {
      const hs = await Promise.all(parts.map((s) => perfectRoot(this.tiles.get(`${s.t}/${s.k}`).slice(s.offset, s.offset + s.count))));
      let acc = hs[hs.length - 1];
      for (let i = hs.length - 2; i >= 0; i--) acc = await nodeHash(hs[i], acc);
      out.push(acc);
    }
    return out;
  }

  async root(size = this.size) {
    const n = BigInt(size);
    return n === 0n ? EMPTY_ROOT() : (await this.hashes([[0n, n]]))[0];
  }

  /** {leafHash, root, proof} of the leaf at `index` in the first `size` leaves. */
  async inclusion(index, size = this.size) {
    const i = BigInt(index), n = BigInt(size);
    if (!(0n <= i && i < n && n <= this.size)) throw new BundleError(`index ${i} is outside a tree of size ${n} (published: ${this.size})`);
    const h = await this.hashes([[i, i + 1n], [0n, n], ...inclusionRanges(i, n)]);
    return { leafHash: h[0], root: h[1], proof: h.slice(2) };
  }

  /** {oldRoot, newRoot, proof} that the tree at `oldSize` is a prefix of it at `newSize`. */
  async consistency(oldSize, newSize = this.size) {
    const m = BigInt(oldSize), n = BigInt(newSize);
    if (!(0n < m && m <= n && n <= this.size)) throw new BundleError(`need 0 < old size <= new size <= ${this.size} (got ${m} -> ${n})`);
    const h = await this.hashes([[0n, m], [0n, n], ...consistencyRanges(m, n)]);
    return { oldRoot: h[0], newRoot: h[1], proof: h.slice(2) };
  }
}

// --- fetching a published log -----------------------------------------------------------------

/** fetchTile(path) over HTTP(S) under `baseUrl`, bounded: the bytes a path can hold, a timeout. */
export function httpFetcher(baseUrl, { timeoutMs = 30000, fetchImpl = globalThis.fetch } = {}) {
  let url;
  try { url = new URL(baseUrl); } catch { url = null; }
  if (!url || !['http:', 'https:'].includes(url.protocol)) throw new BundleError(`--tiles ${pyStr(String(baseUrl))} is not an http(s) URL`);
  const base = String(baseUrl).replace(/\/+$/, '');
  return async (path) => {
    const m = /\.p\/([0-9]+)$/.exec(path);
    const limit = path === 'checkpoint' ? MAX_NOTE_BYTES : (m ? Number(m[1]) : TILE_WIDTH) * HASH_SIZE;
    const target = `${base}/${path}`;
    const signal = AbortSignal.timeout(timeoutMs);
    let r;
    try { r = await fetchImpl(target, { signal }); } catch (e) { throw new BundleError(`cannot fetch ${target}: ${e.name}`); }
    if (r.status !== 200) throw new BundleError(`${target}: HTTP ${r.status}${r.status === 404 ? ' (not published?)' : ''}`);
    const chunks = [];
    let n = 0;
    const reader = r.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        n += value.length;
        if (n > limit) { reader.cancel(); throw new BundleError(`${target} is larger than the ${limit} bytes it can hold`); }
        chunks.push(value);
      }
    } catch (e) {
      if (e instanceof BundleError) throw e;
      throw new BundleError(`cannot fetch ${target}: ${e.name}`);
    }
    return concatBytes(...chunks);
  };
}

/** Fetch `baseUrl/checkpoint`, check its signature with `vkey` (text; null: not checked), read
 * its origin and check that the tiles hash to its root: {url, checkpoint, chainId, logId, signedBy, reader}. */
export async function openPublished(baseUrl, { vkey = null, fetchTile = null } = {}) {
  const fetch = fetchTile || httpFetcher(baseUrl);
  const note = await fetch('checkpoint');
  let text, signedBy = null;
  if (vkey !== null) {
    const v = await parseVkey(vkey);
    text = await openNote(note, v);
    signedBy = `${v.name}+${[...v.keyId].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  } else {
    text = splitNote(note).text;
  }
  const checkpoint = parseCheckpoint(text);
  if (vkey !== null && checkpoint.origin !== signedBy.slice(0, signedBy.lastIndexOf('+'))) { // the signature does not cover the key's name
    throw new BundleError(`the checkpoint at ${baseUrl} is for ${checkpoint.origin}, but the note key is for `
      + `${signedBy.slice(0, signedBy.lastIndexOf('+'))}: a checkpoint of another log`);
  }
  const { chainId, logId } = parseOrigin(checkpoint.origin);
  const reader = new TileReader(checkpoint.size, fetch);
  const root = await reader.root();
  if (!equalBytes(root, checkpoint.root)) {
    throw new BundleError(`the tiles at ${baseUrl} hash to root ${toHex(root)} at size ${checkpoint.size}, not to the `
      + `checkpoint's root ${toHex(checkpoint.root)}`);
  }
  return { url: baseUrl, checkpoint, chainId, logId, signedBy, reader };
}

// --- a bundle checked against published tiles (ledger.tlog.check_bundle) ------------------------

const hexList = (hs) => hs.map((h) => toHex(h));
const lower = (xs) => xs.map((x) => String(x).toLowerCase());
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Check a bundle that verified offline (its fields are well formed; `bundle` as parseJson read it)
 * against a published log ({logId, reader}): the same log, its root(s) and every proof equal to those
 * built from the tiles, and its checkpoint a prefix of the published one. Resolves to what was
 * proven, one line each; rejects with BundleError naming the first difference (Python's words). */
export async function checkBundle(bundle, { logId, reader }) {
  if (bundle.log_id === null || bundle.log_id === undefined) throw new BundleError('the bundle names no log id: it cannot be checked against a published log');
  if (String(bundle.log_id).toLowerCase() !== logId) {
    throw new BundleError(`the bundle is of log ${bundle.log_id}, the tiles are of log ${logId}: another log's tiles`);
  }
  const lines = [];
  const sameRoot = async (at, claimed, what) => {
    if (at > reader.size) throw new BundleError(`the bundle's ${what} (size ${at}) is beyond the published checkpoint (size ${reader.size}): publish again`);
    const got = await reader.root(at);
    if (toHex(got) !== String(claimed).toLowerCase()) {
      throw new BundleError(`the tiles give root ${toHex(got)} at size ${at}, the bundle's ${what} claims ${String(claimed).toLowerCase()}`);
    }
  };
  let oldSize, oldRoot;
  if ('entries' in bundle) {
    const size = BigInt(bundle.checkpoint.size);
    await sameRoot(size, bundle.checkpoint.root, 'checkpoint');
    for (const entry of bundle.entries) {
      const index = BigInt(entry.index);
      const { leafHash, proof } = await reader.inclusion(index, size);
      if (toHex(leafHash) !== entry.leaf_hash.toLowerCase()) {
        throw new BundleError(`the tiles hold leaf ${toHex(leafHash)} at index ${index}, the bundle's record hashes to ${entry.leaf_hash}`);
      }
      if (!sameList(hexList(proof), lower(entry.proof))) throw new BundleError(`the inclusion proof of record ${index} built from the tiles differs from the bundle's`);
      lines.push(`record ${index}: the tiles hold its leaf; their proof at size ${size} equals the bundle's (${proof.length} hashes)`);
    }
    [oldSize, oldRoot] = [size, bundle.checkpoint.root];
  } else {
    const o = BigInt(bundle.old.size), n = BigInt(bundle.new.size);
    await sameRoot(o, bundle.old.root, 'old checkpoint');
    await sameRoot(n, bundle.new.root, 'new checkpoint');
    const { proof } = await reader.consistency(o, n);
    if (!sameList(hexList(proof), lower(bundle.proof))) throw new BundleError("the consistency proof built from the tiles differs from the bundle's");
    lines.push(`consistency ${o} -> ${n}: the tiles' proof equals the bundle's (${proof.length} hashes)`);
    [oldSize, oldRoot] = [n, bundle.new.root];
  }
  if (oldSize) {
    const { proof } = await reader.consistency(oldSize);
    lines.push(`the bundle's checkpoint (size ${oldSize}) is a prefix of the published one (size ${reader.size}; consistency proof of ${proof.length} hashes)`);
  }
  return lines;
}

/** The page's checks of a bundle against the log's published tiles at `url` (`vkey`: the log's note
 * key, or null; `anchored`: async (published) => {ok, detail}, the checkpoint held to the trusted registry,
 * or null; one of the two is needed): [{name: 'published checkpoint', …}, ({name: 'published checkpoint
 * anchored', …},) {name: 'tiles', …}], failed in words, never rejects on what a server serves. */
export async function tilesChecks(bundle, url, { vkey = null, fetchTile = null, anchored = null } = {}) {
  if (vkey === null && anchored === null) {
    return [{ name: 'published checkpoint', ok: false,
      detail: 'neither the note key nor the chain checks it: nothing else vouches for what a web server serves' }];
  }
  let published;
  try {
    published = await openPublished(url, { vkey, fetchTile });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    return [{ name: 'published checkpoint', ok: false, detail: e.message }];
  }
  const cp = published.checkpoint;
  const checks = [{ name: 'published checkpoint', ok: true, detail: `log ${published.logId} on chain ${published.chainId} at size ${cp.size}, `
    + `root ${toHex(cp.root)}, ${published.signedBy ? `signed by ${published.signedBy}` : 'signature not checked (no note key)'}` }];
  if (anchored !== null) { // the page's trusted registry: {ok, detail}
    checks.push({ name: 'published checkpoint anchored', ...(await anchored(published)) });
    if (!checks[checks.length - 1].ok) return checks;
  }
  try {
    checks.push({ name: 'tiles', ok: true, detail: (await checkBundle(bundle, published)).join('; ') });
  } catch (e) {
    if (!(e instanceof BundleError)) throw e;
    checks.push({ name: 'tiles', ok: false, detail: e.message });
  }
  return checks;
}
