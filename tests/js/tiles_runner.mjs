// Parity runner for verify/tiles.js (tests/web/test_js_tiles.py): reads a JSON file of cases made
// by Python and prints what JS makes of them: tile paths, roots and proofs built from the tiles,
// notes opened, bundles checked, and the words of every error.
import { readFileSync } from 'node:fs';
import { indexPath, tilePath, tileWidthAt, parseCheckpoint, parseVkey, openNote, TileReader, checkBundle, openPublished } from '../../api/web/static/js/verify/tiles.js';
import { parseJson, toHex } from '../../api/web/static/js/verify/index.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const fetcher = (tiles) => async (path) => {
  if (!(path in tiles)) throw new Error(`no ${path}`);
  return b64(tiles[path]);
};
const attempt = async (f) => {
  try { return await f(); } catch (e) { return { error: e.message, kind: e.constructor.name }; }
};

const out = {
  indexPaths: cases.indexPaths.map((i) => indexPath(BigInt(i))),
  tilePaths: cases.tilePaths.map(([l, i, w]) => tilePath(l, BigInt(i), w)),
  widths: cases.widths.map(([l, i, n]) => tileWidthAt(l, BigInt(i), BigInt(n))),
  logs: [],
  notes: [],
  bundles: [],
  published: [],
};
for (const log of cases.logs) {
  const reader = new TileReader(BigInt(log.size), fetcher(log.tiles));
  const r = { root: await attempt(async () => toHex(await reader.root())), inclusion: [], consistency: [] };
  for (const [i, n] of log.inclusion) {
    r.inclusion.push(await attempt(async () => {
      const p = await reader.inclusion(BigInt(i), BigInt(n));
      return [toHex(p.leafHash), toHex(p.root), p.proof.map(toHex)];
    }));
  }
  for (const [m, n] of log.consistency) {
    r.consistency.push(await attempt(async () => {
      const p = await reader.consistency(BigInt(m), BigInt(n));
      return [toHex(p.oldRoot), toHex(p.newRoot), p.proof.map(toHex)];
    }));
  }
  out.logs.push(r);
}
for (const n of cases.notes) {
  out.notes.push(await attempt(async () => {
    const cp = parseCheckpoint(await openNote(b64(n.note), await parseVkey(n.vkey)));
    return [cp.origin, String(cp.size), toHex(cp.root), cp.extensions];
  }));
}
for (const b of cases.bundles) {
  const log = cases.logs[b.log];
  out.bundles.push(await attempt(() => checkBundle(parseJson(b.bundle), { logId: b.logId, reader: new TileReader(BigInt(log.size), fetcher(log.tiles)) })));
}
for (const p of cases.published) {
  out.published.push(await attempt(async () => {
    const got = await openPublished(p.url, { vkey: p.vkey, fetchTile: fetcher(p.files) });
    return [got.logId, String(got.chainId), String(got.checkpoint.size), got.signedBy];
  }));
}
process.stdout.write(JSON.stringify(out));
