// The transparency-dev/merkle vectors (tests/vectors/): the JS verdict equals the expected one on
// every inclusion and consistency case, as tests/conformance.py requires of the Python verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verifyInclusion, verifyConsistency, ProofError } from '../../api/web/static/js/verify/index.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', 'vectors', 'transparency-dev-merkle', 'testdata');
const files = (dir) => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : f.endsWith('.json') ? [p] : [];
});
const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));

async function accepts(c) {
  const proof = (c.proof || []).map(b64);
  try {
    if ('leafIdx' in c) await verifyInclusion(b64(c.leafHash), c.leafIdx, c.treeSize, proof, b64(c.root));
    else await verifyConsistency(c.size1, c.size2, proof, b64(c.root1), b64(c.root2));
  } catch (e) {
    if (e instanceof ProofError) return false;
    throw e;
  }
  return true;
}

test('every transparency-dev/merkle vector gets its expected verdict', async () => {
  const all = files(ROOT).sort();
  assert.equal(all.length, 196);
  assert.equal(all.filter((f) => f.includes('/inclusion/')).length, 98);
  let accepted = 0;
  for (const f of all) {
    const c = JSON.parse(readFileSync(f, 'utf8'));
    const got = await accepts(c);
    assert.equal(got, !c.wantErr, `${f}: ${c.desc}`);
    accepted += got;
  }
  assert.ok(accepted > 10);
});
