"""Benchmark: leaf hashing of dpl-record/2 against dpl-record/1, per demo record shape.

Records: a synthetic factory month (``ledger.synthetic.factory_month``): telemetry readings,
MES work orders and ERP sales orders, as the demo ingests them. For each shape, the median of
``--repeats`` passes over up to ``--records`` records of that shape, in records per second:

- ``v1 ingest``: ``prepare_record`` + ``merkle.leaf_hash(salt || canonical)`` (today's ingest path);
- ``v2 ingest``: ``record2.leaf_hash_v2(record, salt)`` (validation, per-field canonical bytes,
  one HMAC and one SHA-256 per field, the leaf);
- ``v1 stored`` / ``v2 stored``: the leaf from the canonical bytes the store keeps
  (``leaf_hash(salt || canonical)`` against ``leaf_data_v2_from_canonical``): what a rebuild or
  an audit pays;
- ``verify partial``: ``record2.verify_partial`` of a partial record disclosing ts, type and
  half of the data fields (parsed documents; the inclusion proof is not included).

With ``--node``, the browser verifier's ``leafHashV2`` and ``verifyPartial`` on the same records
in node (WebCrypto SHA-256, one await per hash).

    .venv/bin/python bench/bench_record2.py [--records 20000] [--repeats 5] [--node]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ledger import merkle, record2  # noqa: E402
from ledger.records import prepare_record  # noqa: E402
from ledger.synthetic import factory_month  # noqa: E402

NODE = r"""
import { readFileSync } from 'node:fs';
import { parseJson } from './api/web/static/js/verify/json.js';
import { fromHex } from './api/web/static/js/verify/hex.js';
import { leafHashV2, verifyPartial } from './api/web/static/js/verify/record2.js';
const { records, salts, docs } = JSON.parse(readFileSync(process.argv[1], 'utf8'));
const recs = records.map((t) => parseJson(t)), ss = salts.map(fromHex), ds = docs.map((t) => parseJson(t));
let t = performance.now();
for (let i = 0; i < recs.length; i++) await leafHashV2(recs[i], ss[i]);
const leaf = recs.length / ((performance.now() - t) / 1000);
t = performance.now();
for (const d of ds) await verifyPartial(d);
const partial = ds.length / ((performance.now() - t) / 1000);
process.stdout.write(JSON.stringify({ leaf, partial }));
"""


def _salt(i: int) -> bytes:
    return hashlib.sha256(i.to_bytes(8, "big")).digest()


def _rate(fn, items, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn(items)
        times.append(time.perf_counter() - t)
    return len(items) / statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=20000, help="records per shape at most")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--node", action="store_true", help="also time verify/record2.js in node")
    args = ap.parse_args(argv)

    by_type: dict[str, list[dict]] = {}
    for r in factory_month(days=30, seed=11):
        by_type.setdefault(r["type"], []).append(r)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{'shape':18} {'n':>6} {'fields':>6} | {'v1 ingest':>10} {'v2 ingest':>10} | {'v1 stored':>10} "
          f"{'v2 stored':>10} | {'verify partial':>14}   (records/s)")
    results = {}
    for rtype, records in sorted(by_type.items()):
        records = records[: args.records]
        items = [(r, _salt(i)) for i, r in enumerate(records)]
        stored = [(prepare_record(r, 0).canonical, s) for r, s in items]
        fields = len(record2.field_names(records[0]))
        docs = []
        for k, (r, s) in enumerate(items):
            names = record2.field_names(r)
            data = [n for n in names if n.startswith("data.")]
            docs.append(record2.disclose(r, s, {"ts", "type", *data[: len(data) // 2]}, index=k))
        # The two formats agree on nothing but the record: check the paths give one leaf each.
        assert record2.leaf_hash_v2(*items[0]) == merkle.leaf_hash(record2.leaf_data_v2_from_canonical(*stored[0]))
        assert record2.verify_partial(docs[0]).leaf_hash == record2.leaf_hash_v2(*items[0])

        def v1_ingest(xs):
            for r, s in xs:
                merkle.leaf_hash(s + prepare_record(r, 0).canonical)

        def v2_ingest(xs):
            for r, s in xs:
                record2.leaf_hash_v2(r, s)

        def v1_stored(xs):
            for c, s in xs:
                merkle.leaf_hash(s + c)

        def v2_stored(xs):
            for c, s in xs:
                merkle.leaf_hash(record2.leaf_data_v2_from_canonical(c, s))

        def verify(xs):
            for d in xs:
                record2.verify_partial(d)

        row = {"records": len(records), "fields": fields,
               "v1_ingest": _rate(v1_ingest, items, args.repeats), "v2_ingest": _rate(v2_ingest, items, args.repeats),
               "v1_stored": _rate(v1_stored, stored, args.repeats), "v2_stored": _rate(v2_stored, stored, args.repeats),
               "verify_partial": _rate(verify, docs, args.repeats)}
        if args.node:
            node = shutil.which("node") or sys.exit("node is not on PATH")
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump({"records": [json.dumps(r) for r, _ in items], "salts": ["0x" + s.hex() for _, s in items],
                           "docs": [json.dumps(d) for d in docs]}, f)
            try:
                proc = subprocess.run([node, "--input-type=module", "-e", NODE, f.name], cwd=ROOT,
                                      capture_output=True, text=True, timeout=600, check=True)
            finally:
                os.unlink(f.name)
            js = json.loads(proc.stdout)
            row["node_leaf_v2"], row["node_verify_partial"] = js["leaf"], js["partial"]
        results[rtype] = row
        print(f"{rtype:18} {len(records):>6} {fields:>6} | {row['v1_ingest']:>10,.0f} {row['v2_ingest']:>10,.0f} | "
              f"{row['v1_stored']:>10,.0f} {row['v2_stored']:>10,.0f} | {row['verify_partial']:>14,.0f}"
              + (f"   node: leaf {row['node_leaf_v2']:,.0f}/s, verify partial {row['node_verify_partial']:,.0f}/s"
                 if args.node else ""))
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "record2-results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
