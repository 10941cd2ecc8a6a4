// verify/tiles.js on its own: the C2SP spec's path and signed-note examples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexPath, tilePath, tileWidthAt, parseVkey, openNote } from '../../api/web/static/js/verify/tiles.js';
import { BundleError } from '../../api/web/static/js/verify/errors.js';

test('tile paths are the spec\'s', () => {
  assert.equal(indexPath(1234067n), 'x001/x234/067');
  assert.equal(indexPath(0n), '000');
  assert.equal(tilePath(0, 1234067n), 'tile/0/x001/x234/067');
  assert.equal(tilePath(2, 0n, 1), 'tile/2/000.p/1');
  // a tree of 70,000 leaves: 273 full level-0 tiles and one of 112, level 1: 256 then 17, level 2: 1
  assert.deepEqual([tileWidthAt(0, 272n, 70000n), tileWidthAt(0, 273n, 70000n), tileWidthAt(0, 274n, 70000n)], [256, 112, 0]);
  assert.deepEqual([tileWidthAt(1, 0n, 70000n), tileWidthAt(1, 1n, 70000n), tileWidthAt(2, 0n, 70000n)], [256, 17, 1]);
});

test('the signed-note spec example verifies, and an altered one does not', async () => {
  const v = await parseVkey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  const note = 'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
  assert.equal(new TextDecoder().decode(await openNote(new TextEncoder().encode(note), v)), 'This is an example message.\n');
  await assert.rejects(openNote(new TextEncoder().encode(note.replace('example message', 'example massage')), v), BundleError);
});
