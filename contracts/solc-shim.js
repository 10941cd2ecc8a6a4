#!/usr/bin/env node
// A `solc` look-alike around solcjs (npm `solc`, WebAssembly), for py-solc-x and slither.
//
//   solc-shim.js --version
//       prints "solc, the solidity compiler commandline interface\nVersion: <solc.version()>"
//   solc-shim.js --standard-json [--allow-paths DIR] [--base-path DIR] [...]
//       reads Standard JSON input on stdin, writes Standard JSON output on stdout.
//
// Why not `node_modules/.bin/solcjs`: it prints a line about SMT solvers before its JSON,
// which breaks py-solc-x's JSON parsing.
//
// Imports the input does not carry as `content` are read by the import callback:
// `@openzeppelin/...` (any package path) from the nearest node_modules, anything else
// relative to --base-path (default: the project root, the parent of this file's folder).
// Sources given only as `urls` are inlined as `content` the same way.
'use strict';

const fs = require('fs');
const path = require('path');

const PROJECT_ROOT = path.resolve(__dirname, '..');

function usage(code) {
  process.stderr.write('usage: solc-shim.js --version | --standard-json [--base-path DIR] [--allow-paths DIR,...]\n');
  process.exit(code);
}

function parseArgs(argv) {
  const opts = { version: false, standardJson: false, basePath: PROJECT_ROOT, allowPaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(2);
      return argv[++i];
    };
    if (arg === '--version') opts.version = true;
    else if (arg === '--standard-json') opts.standardJson = true;
    else if (arg === '--base-path') opts.basePath = path.resolve(value());
    else if (arg === '--allow-paths') opts.allowPaths.push(...value().split(',').filter(Boolean).map((p) => path.resolve(p)));
    else if (arg === '--help' || arg === '-h') usage(0);
    else if (arg.startsWith('--') && i + 1 < argv.length && !argv[i + 1].startsWith('--')) i++; // ignore an option and its value
    // anything else (e.g. "-" for stdin) is ignored
  }
  return opts;
}

function loadSolc() {
  try {
    return require('solc');
  } catch (err) {
    process.stderr.write(
      `solc-shim: cannot load the npm package "solc" (${err.message}).\n` +
        `Run \`npm ci\` in ${PROJECT_ROOT} first.\n`,
    );
    process.exit(1);
  }
}

// Package imports ("@openzeppelin/contracts/...", "solady/...") come from node_modules,
// searched the way Node's require() searches from this file.
function packageCandidates(importPath) {
  return (require.resolve.paths(importPath) || []).map((dir) => path.join(dir, importPath));
}

function makeImportCallback(opts) {
  return function findImport(importPath) {
    if (path.isAbsolute(importPath) || importPath.split(/[\\/]/).includes('..')) {
      return { error: `solc-shim: refusing to read ${importPath} (absolute or escaping path)` };
    }
    const candidates = [path.join(opts.basePath, importPath), ...packageCandidates(importPath)];
    for (const file of candidates) {
      try {
        return { contents: fs.readFileSync(file, 'utf8') };
      } catch (_) {
        // try the next candidate
      }
    }
    return { error: `solc-shim: ${importPath} not found (looked in ${opts.basePath} and node_modules; run \`npm ci\`?)` };
  };
}

function readStdin() {
  return fs.readFileSync(0, 'utf8');
}

function inlineUrls(input, findImport) {
  for (const [name, source] of Object.entries(input.sources || {})) {
    if (source.content === undefined && Array.isArray(source.urls)) {
      for (const url of source.urls) {
        const local = path.isAbsolute(url) ? { contents: safeRead(url) } : findImport(url);
        if (local.contents !== undefined) {
          source.content = local.contents;
          delete source.urls;
          break;
        }
      }
      if (source.content === undefined) {
        throw new Error(`solc-shim: cannot read any url of source ${name}`);
      }
    }
  }
}

function safeRead(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (_) {
    return undefined;
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!opts.version && !opts.standardJson) usage(2);
  const solc = loadSolc();
  if (opts.version) {
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  const findImport = makeImportCallback(opts);
  const input = JSON.parse(readStdin());
  inlineUrls(input, findImport);
  const output = solc.compile(JSON.stringify(input), { import: findImport });
  process.stdout.write(output);
  process.stdout.write('\n');
}

main();
