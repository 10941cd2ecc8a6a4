"""The browser verifier against the Python one on one collateral bundle of k samples.

Builds a pure dpl-collateral/1 bundle (no chain: the chain facts are passed in, as the
pages get them from the RPC node) over N synthetic records with k samples, checks that
both verifiers call it sound and that a tampered copy is unsound in both, then times the
pure checks: Python `verify_collateral` in process, and the JS `verifyCollateral` in node
(V8 + WebCrypto, the engine Chromium runs). Median of R runs each.

    .venv/bin/python bench/bench_verify_js.py [--records 20000] [--samples 100] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import assets, bundles, merkle  # noqa: E402
from ledger.pledge.collateral import make_collateral_bundle, verify_collateral  # noqa: E402
from ledger.pledge.terms import Terms  # noqa: E402
from ledger.sampling import sample_indices, sample_seed  # noqa: E402
from tests.web.test_js_verifier import BLOCK_HASH, FACTORY, ISSUE_BLOCK, LOG_ID, REGISTRY, STREAM, TOKEN_ID, _Log, _mixed_records  # noqa: E402

NODE_TIMER = r"""
import { readFileSync } from 'node:fs';
import { verifyCollateral } from './api/web/static/js/verify/index.js';
const c = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const opts = { terms: c.terms, anchoredRoot: c.anchoredRoot, issueBlockHash: c.issueBlockHash };
const first = await verifyCollateral(c.text, opts);
const tampered = await verifyCollateral(c.tampered, opts);
const times = [];
for (let i = 0; i < c.runs; i++) {
  const t0 = performance.now();
  await verifyCollateral(c.text, opts);
  times.push(performance.now() - t0);
}
console.log(JSON.stringify({ sound: first.sound, checks: first.checks.length, tamperedSound: tampered.sound, times }));
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()

    t0 = time.perf_counter()
    log = _Log(_mixed_records(a.records, seed=7), seed=7)
    size, start, end = a.records, 0, a.records
    root = merkle.root(log.leaves)
    manifest = assets.build_manifest(log, STREAM, start, end, size, root)
    terms = Terms(LOG_ID, start, end, size, assets.asset_digest(manifest), principal=5_000_000, currency="EUR",
                  maturity=1_800_000_000, lien_end=1_900_000_000, max_lien_end=1_900_000_000, samples=a.samples,
                  loan_ref_digest=b"\x11" * 32, lender=FACTORY)
    facts = {"token_id": TOKEN_ID, "terms": terms, "issue_block": ISSUE_BLOCK}
    indices = sample_indices(sample_seed(BLOCK_HASH, TOKEN_ID), start, end, a.samples)
    entries = [bundles.make_entry(i, log.records[i], log.salts[i], log.leaves[i], merkle.inclusion_proof(log.leaves, i))
               for i in indices]
    bundle = make_collateral_bundle(token_id=TOKEN_ID, chain_id=31337, registry=REGISTRY,
                                    issue_block_number=ISSUE_BLOCK, issue_block_hash=BLOCK_HASH,
                                    manifest=manifest, entries=entries)
    text = json.dumps(bundle)
    tampered = json.loads(text)
    tampered["entries"][-1]["record"]["data"]["tampered"] = 1
    print(f"bundle: {a.records:,} records, k={a.samples}, {len(text):,} bytes (built in {time.perf_counter() - t0:.1f} s)")

    py = verify_collateral(json.loads(text), **facts, anchored_root=root, issue_block_hash=BLOCK_HASH)
    bad = verify_collateral(tampered, **facts, anchored_root=root, issue_block_hash=BLOCK_HASH)
    assert py.sound and not bad.sound, "the Python verifier must call the bundle sound and the tampered copy unsound"
    py_times = []
    for _ in range(a.runs):
        t = time.perf_counter()
        verify_collateral(json.loads(text), **facts, anchored_root=root, issue_block_hash=BLOCK_HASH)
        py_times.append((time.perf_counter() - t) * 1000)

    case = {"text": text, "tampered": json.dumps(tampered), "runs": a.runs, "anchoredRoot": "0x" + root.hex(),
            "issueBlockHash": "0x" + BLOCK_HASH.hex(),
            "terms": {"tokenId": TOKEN_ID, "logId": "0x" + LOG_ID.hex(), "start": start, "end": end,
                      "checkpointSize": size, "assetDigest": "0x" + terms.asset_digest.hex(),
                      "samples": a.samples, "issueBlock": ISSUE_BLOCK}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.json"
        path.write_text(json.dumps(case))
        out = subprocess.run(["node", "--input-type=module", "-e", NODE_TIMER, str(path)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
    js = json.loads(out.stdout)
    assert js["sound"] and not js["tamperedSound"] and js["checks"] == len(py.checks), js
    print(f"checks: {len(py.checks)} (both sound; the tampered copy unsound in both)")
    print(f"Python verify_collateral: median {statistics.median(py_times):.1f} ms over {a.runs} runs")
    print(f"JS verifyCollateral (node {subprocess.run(['node', '--version'], capture_output=True, text=True).stdout.strip()}): "
          f"median {statistics.median(js['times']):.1f} ms over {a.runs} runs (after one warm-up)")


if __name__ == "__main__":
    main()
