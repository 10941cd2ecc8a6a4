// The web modules import each other without a cycle (the Python side is held by
// tests/test_layers.py). Before: verify/json.js and verify/pyfmt.js imported each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../api/web/static/js');

function modules(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return modules(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

function importsOf(path) {
  const text = readFileSync(path, 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"\n;]*?(?:from\s*)?['"](\.{1,2}\/[^'"]+)['"]/g)];
  return found.map((m) => resolve(dirname(path), m[1]));
}

test('no import cycle among the web modules', () => {
  const all = modules(ROOT);
  const known = new Set(all);
  const graph = new Map(all.map((p) => [p, importsOf(p).filter((q) => known.has(q))]));
  const cycles = [];
  const state = new Map();
  const stack = [];
  const visit = (v) => {
    state.set(v, 'open');
    stack.push(v);
    for (const w of graph.get(v)) {
      if (state.get(w) === 'open') cycles.push(stack.slice(stack.indexOf(w)).map((p) => p.slice(ROOT.length + 1)));
      else if (!state.has(w)) visit(w);
    }
    stack.pop();
    state.set(v, 'done');
  };
  for (const v of all) if (!state.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});

test('the graph sees the imports it must', () => {
  const pyfmt = join(ROOT, 'verify', 'pyfmt.js');
  assert.ok(importsOf(pyfmt).includes(join(ROOT, 'verify', 'json.js')));
  assert.ok(importsOf(join(ROOT, 'verify', 'index.js')).includes(pyfmt), 'export … from is an import too');
});
