"""Benchmark: evaluating 1,000 pledges' covenants (`ledger.covenants`) after a checkpoint of
100,000 new records.

    .venv/bin/python bench/bench_covenants.py [--pledges N] [--records N] [--groups G] [--out FILE]

Records: ``ledger.synthetic.factory_month`` over enough days that the records after a 30-day
pledged range number ``--records`` (a reading every 15 minutes, a work order per machine and
shift, sales orders: about 117 records a day, so 100,000 records are about 122 ISO weeks, the
worst case for the per-pledge work, which grows with the weeks). Made in memory, not timed.

Pledges: ``--pledges`` covenant sets (all six codes, thresholds varied per pledge) on one log,
in ``--groups`` groups of distinct pledged range ends (day 30, 31, ...). The caller's work is
timed in its two parts:
1. ``WeeklyFigures.build`` once per group (the records after that range end are read once and
   profiled per week);
2. ``evaluate`` per pledge with its group's figures (baseline from the group's pledged profile).
For comparison, a few pledges are evaluated without sharing (``records_after`` as records: each
builds its own figures) and the cost is extrapolated to all pledges; their results are checked
equal to the shared ones.

Prints seconds and writes the figures as JSON to ``--out`` (default bench/out/covenants.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = "0x" + "ab" * 32


def covenant_set(i: int) -> dict:
    return {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
        {"code": "anchoring_cadence", "max_hours": 24 + i % 48},
        {"code": "output_floor", "min_percent": 50 + i % 50},
        {"code": "stoppage", "max_hours": 2 + i % 10},
        {"code": "cross_source_mismatch", "max_ratio": f"0.{10_000 + 100 * (i % 100):06d}"},
        {"code": "scrap_ceiling", "max_ratio": f"0.{10_000 + 200 * (i % 100):06d}"},
        {"code": "customer_concentration", "max_top1_share": f"0.{400_000 + 3_000 * (i % 100):06d}"}]}


def run(pledges: int, new_records: int, groups: int) -> dict:
    from ledger.covenants import WeeklyFigures, evaluate
    from ledger.profile import build_profile
    from ledger.synthetic import factory_month

    t0 = time.perf_counter()
    days = 30 + groups + new_records // 110 + 2
    records = list(factory_month(days=days))
    ends = []
    for g in range(groups):  # the range of group g ends with day 30 + g (+08:00)
        day = f"2026-{10 + (30 + g) // 31:02d}-{(30 + g) % 31 + 1:02d}"
        ends.append(next(i for i, r in enumerate(records) if r["ts"][:10] >= day))
    size = ends[0] + new_records
    assert size <= len(records), (size, len(records))
    records = records[:size]
    profiles = [build_profile(((i, records[i]) for i in range(end)), log_id=bytes(32), stream="bench", start=0,
                              end=end, checkpoint_size=size, checkpoint_root=bytes.fromhex(ROOT[2:]), tz="+08:00")
                for end in ends]
    made = time.perf_counter() - t0
    checkpoint = {"size": size, "root": ROOT, "anchored_at": 1_000_000}
    chain_now = 1_000_000 + 30 * 3600

    t0 = time.perf_counter()
    figures = [WeeklyFigures.build(((i, records[i]) for i in range(end, size)), start=end, tz="+08:00")
               for end in ends]
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    results = []
    for i in range(pledges):
        g = i % groups
        results.append(evaluate(covenant_set(i), pledged_profile=profiles[g], records_after=figures[g],
                                checkpoint=checkpoint, chain_now=chain_now))
    eval_s = time.perf_counter() - t0

    sample = min(3, pledges)
    t0 = time.perf_counter()
    for i in range(sample):
        g = i % groups
        alone = evaluate(covenant_set(i), pledged_profile=profiles[g],
                         records_after=((k, records[k]) for k in range(ends[g], size)),
                         checkpoint=checkpoint, chain_now=chain_now)
        assert alone == results[i]
    unshared_each = (time.perf_counter() - t0) / sample

    warnings = sum(len(r.warnings) for r in results)
    by_code: dict[str, int] = {}
    for r in results:
        for w in r.warnings:
            by_code[w.code] = by_code.get(w.code, 0) + 1
    return {
        "pledges": pledges, "new_records": new_records, "groups": groups,
        "weeks": len(figures[0].weeks), "machines": len(figures[0].machines),
        "making_records_and_baselines_s": round(made, 2),
        "figures_build_s": round(build_s, 3), "figures_build_per_group_s": round(build_s / groups, 3),
        "evaluate_all_s": round(eval_s, 3), "evaluate_per_pledge_ms": round(eval_s / pledges * 1000, 3),
        "total_shared_s": round(build_s + eval_s, 3),
        "unshared_per_pledge_s": round(unshared_each, 3),
        "unshared_all_extrapolated_s": round(unshared_each * pledges, 1),
        "warnings": warnings, "warnings_by_code": by_code,
        "met": sum(len(r.met) for r in results),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pledges", type=int, default=1_000)
    ap.add_argument("--records", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=1)
    ap.add_argument("--out", type=Path, default=HERE / "out" / "covenants.json")
    args = ap.parse_args(argv)
    figures = run(args.pledges, args.records, args.groups)
    figures["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(),
                          "cpu": _cpu()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
