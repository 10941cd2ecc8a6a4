"""Benchmark: ``dpl ingest`` of the same demo records into a ``dpl-record/1`` and a
``dpl-record/2`` log (docs/RECORDS.md section 14).

Records: ``ledger.synthetic.factory_month`` (telemetry, work orders, sales orders as the demo
makes them), the first ``--records``. Each pass: a fresh ``DPL_HOME`` (SQLite), ``dpl log create
--format F``, then ``dpl ingest --log`` of the file, timed from the outside (the whole command:
start-up, parsing, validation, leaves, sealing, tiles, commit). Passes alternate the formats.
Then, in process, the part that differs: every leaf of the same records by each format.

    .venv/bin/python bench/bench_ingest_formats.py [--records 100000] [--passes 2]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from ledger import merkle, record2
from ledger.records import prepare_record
from ledger.synthetic import factory_month

FORMATS = ("dpl-record/1", "dpl-record/2")


def _ingest(path: Path, fmt: str) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
        env["DPL_HOME"] = home
        cli = [sys.executable, "-m", "ledger.cli"]
        subprocess.run([*cli, "log", "create", "b/x", "--format", fmt], env=env, check=True, capture_output=True)
        start = time.perf_counter()
        subprocess.run([*cli, "ingest", "--log", "b/x", str(path)], env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        records = list(itertools.islice(factory_month(days=args.records // 100 + 30), args.records))
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        for _ in range(args.passes):
            for fmt in FORMATS:
                took = _ingest(path, fmt)
                print(f"dpl ingest {fmt}: {len(records):,} records in {took:.2f} s = {len(records) / took:,.0f} records/s "
                      f"(load {os.getloadavg()[0]:.1f})")
    prepared = [prepare_record(r, i) for i, r in enumerate(records)]
    salt = os.urandom(32)
    start = time.perf_counter()
    for p in prepared:
        merkle.leaf_hash(salt + p.canonical)
    mid = time.perf_counter()
    for p in prepared:
        merkle.leaf_hash(record2.leaf_data_v2_from_canonical(p.canonical, salt))
    end = time.perf_counter()
    print(f"leaves only: v1 {mid - start:.2f} s, v2 {end - mid:.2f} s "
          f"({(end - mid - (mid - start)) / len(prepared) * 1e6:.1f} us more per record)")


if __name__ == "__main__":
    main()
