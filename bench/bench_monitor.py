"""Benchmark: the monitor's judging (``Monitor.judge``: the records read from the store, the
shared figures, ``evaluate`` and one transaction per pledge that keeps its warnings) for 1,000
pledges after a checkpoint of 100,000 new records.

    .venv/bin/python bench/bench_monitor.py [--pledges N] [--records N] [--database-url URL] [--out FILE]

Records: ``ledger.synthetic.factory_month`` (as ``bench_covenants.py``), appended to a real log
(SQLite under a temporary DPL_HOME, or ``--database-url``; not timed). Pledges: ``--pledges``
covenant sets (``bench_covenants.covenant_set``: all six codes, thresholds varied) over the
same pledged range (day 30), so they form one group and the figures are built once. Timed:
1. the first run (every pledge at a new checkpoint: read, build, evaluate, insert every warning);
2. a second run on the same checkpoint (what a timer run costs: the anchoring cadence alone,
   nothing new to insert).

Prints seconds and writes the figures as JSON to ``--out`` (default bench/out/monitor.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def run(pledges: int, new_records: int, database_url: str | None) -> dict:
    from bench.bench_covenants import covenant_set
    from ledger.profile import build_profile
    from ledger.service.context import Context
    from ledger.service.monitor import Monitor, Watched
    from ledger.settings import Settings
    from ledger.synthetic import factory_month

    days = 30 + new_records // 110 + 2
    records = list(factory_month(days=days))
    end = next(i for i, r in enumerate(records) if r["ts"][:10] >= "2026-10-31")
    size = end + new_records
    records = records[:size]
    with tempfile.TemporaryDirectory() as home:
        ctx = Context(Settings(home=Path(home), database_url=database_url))
        try:
            ctx.store.create_log("bench")
            ctx.store.append("bench", enumerate(records))
            root = ctx.store.root_at("bench", size)
            profile = build_profile(((i, records[i]) for i in range(end)), log_id=bytes(32), stream="bench", start=0,
                                    end=end, checkpoint_size=size, checkpoint_root=root, tz="+08:00")
            checkpoint = {"size": size, "root": root, "anchored_at": 1_000_000}
            watched = [Watched(i + 1, "bench", end, covenant_set(i), profile, checkpoint, b"\x01" * 32, ())
                       for i in range(pledges)]
            monitor = Monitor(ctx)
            t0 = time.perf_counter()
            first = monitor.judge(watched, 1_000_000 + 30 * 3600, 31337, "0x" + "5f" * 20)
            first_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = monitor.judge(watched, 1_000_000 + 30 * 3600, 31337, "0x" + "5f" * 20)
            again_s = time.perf_counter() - t0
        finally:
            ctx.close()
    return {"pledges": pledges, "new_records": new_records, "backend": "postgresql" if database_url else "sqlite",
            "first_run_s": round(first_s, 1), "warnings_kept": len(first.raised),
            "second_run_s": round(again_s, 2), "second_run_raised": len(again.raised),
            "machine": platform.processor() or platform.machine(), "python": platform.python_version()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pledges", type=int, default=1000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--out", default=str(HERE / "out" / "monitor.json"))
    args = parser.parse_args()
    result = run(args.pledges, args.records, args.database_url)
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
