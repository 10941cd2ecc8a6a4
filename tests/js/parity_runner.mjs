// Reads the parity cases written by tests/web/test_js_verifier.py and prints the JS verdicts
// as JSON (one result per case, in order). Usage: node tests/js/parity_runner.mjs cases.json
import { readFileSync } from 'node:fs';
import { verifyBundle, verifyCollateral, prepareRecord, RecordError, canonicalize, CanonicalError, parseJson, JsonInputError,
  keccak256, sha256, toHex, fromHex, pyRepr, sampleSeed, sampleIndices, factoryCheck, expectedFactoryCheck, toChecksumAddress, shown } from '../../api/web/static/js/verify/index.js';

const cases = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const out = [];
for (const c of cases) {
  switch (c.kind) {
    case 'proof': {
      const r = await verifyBundle(c.hex ? fromHex(c.hex) : c.text); // bytes as a file holds them, or text
      out.push({ sound: r.sound, error: r.error, summary: r.sound ? r.summary : null, checks: r.checks.map((k) => [k.name, k.ok]) });
      break;
    }
    case 'collateral': {
      const r = await verifyCollateral(c.text, { terms: c.terms, anchoredRoot: c.anchored_root, issueBlockHash: c.issue_block_hash });
      out.push({ sound: r.sound, token_id: String(r.tokenId), checks: r.checks.map((k) => [k.name, k.ok, k.detail]) });
      break;
    }
    case 'json':
      try { out.push({ value: pyRepr(parseJson(c.hex ? fromHex(c.hex) : c.text)) }); } catch (e) {
        if (!(e instanceof JsonInputError)) throw e;
        out.push({ error: e.message });
      }
      break;
    case 'record': // a record line keeps NaN/Infinity, so that its validation names the field
      try { out.push({ canonical: toHex(prepareRecord(parseJson(c.text, { keepConstants: true }))) }); } catch (e) {
        if (!(e instanceof RecordError)) throw e;
        out.push({ error: e.reason });
      }
      break;
    case 'canonical':
      try { out.push({ canonical: toHex(canonicalize(parseJson(c.text, { keepConstants: true }))) }); } catch (e) {
        if (!(e instanceof CanonicalError)) throw e;
        out.push({ error: e.message });
      }
      break;
    case 'expected factory': {
      const k = expectedFactoryCheck(c.factory, c.name === null ? null : { name: c.name }, toChecksumAddress(c.expected));
      out.push({ check: [k.name, k.ok, k.detail] });
      break;
    }
    case 'shown':
      out.push({ shown: shown(c.text) });
      break;
    case 'keccak':
      out.push({ hex: toHex(keccak256(fromHex(c.hex))) });
      break;
    case 'sha256':
      out.push({ hex: toHex(await sha256(fromHex(c.hex))) });
      break;
    case 'sample': {
      const seed = sampleSeed(fromHex(c.block_hash), BigInt(c.token_id));
      out.push({ seed: toHex(seed), indices: sampleIndices(seed, BigInt(c.start), BigInt(c.end), c.k).map(String) });
      break;
    }
    case 'factory': {
      const k = factoryCheck(fromHex(c.log_id), c.stream ?? undefined, c.factory, c.name === null ? null : { name: c.name });
      out.push({ check: [k.name, k.ok, k.detail] });
      break;
    }
    default:
      throw new Error(`unknown case kind ${c.kind}`);
  }
}
process.stdout.write(JSON.stringify(out));
