"""Benchmark: the production profile (`ledger.profile`) of 1,000,000 records.

    .venv/bin/python bench/bench_profile.py [--records N] [--disorder PERMILLE] [--out FILE]

Records: ``ledger.synthetic.telemetry`` (6 machines, one reading a second) with a work order
every 200 records and a sales order every 500 (5 customers, 2 currencies), written once as
canonical bytes to a JSONL file next to ``--out`` (not timed). The timed loop reads, parses
(``orjson.loads``: records as read back from canonical bytes) and profiles them; a loop of read +
parse alone is timed separately and subtracted. ``--disorder`` moves that many records per
thousand 30 s back in time (time order then differs from index order: the sorted path).

Prints seconds, records/s, VmRSS every quarter of the records and the peak RSS, and the
builder's own arrays; writes the figures as JSON to ``--out`` (default bench/out/profile.json).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_records(path: Path, n: int, disorder: int) -> None:
    """``n`` records as canonical bytes, one a line (telemetry, work orders, sales orders)."""
    import random

    from ledger.canonical import canonicalize
    from ledger.synthetic import CUSTOMERS, MACHINES, PRODUCTS, telemetry

    rnd = random.Random(13)
    out = open(path, "wb")
    start = datetime(2026, 10, 1, tzinfo=timezone(timedelta(hours=8)))
    tel = telemetry(n, seed=2026, start=start)
    wo = so = 0
    for i in range(n):
        if i % 200 == 199:
            wo += 1
            code, _ = PRODUCTS[wo % len(PRODUCTS)]
            planned = rnd.choice([200, 400, 800])
            scrap = rnd.randint(0, planned // 40)
            ts = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds")
            rec = {"id": f"WO-{wo:07d}", "ts": ts, "type": "mes.work_order",
                   "data": {"product": code, "qty_planned": planned, "qty_good": planned - scrap,
                            "qty_scrap": scrap, "machine": rnd.choice(MACHINES)}}
            next(tel)
        elif i % 500 == 499:
            so += 1
            ts = (start + timedelta(seconds=i)).isoformat(timespec="milliseconds")
            lines = [{"sku": c, "qty": rnd.choice([100, 500])} for c, _ in rnd.sample(PRODUCTS, 2)]
            rec = {"id": f"SO-{so:07d}", "ts": ts, "type": "erp.sales_order",
                   "data": {"customer": rnd.choice(CUSTOMERS), "currency": "CNY" if so % 3 else "EUR",
                            "amount_minor": rnd.randint(10_000, 900_000), "lines": lines}}
            next(tel)
        else:
            rec = next(tel)
        if disorder and rnd.randrange(1000) < disorder:
            t = datetime.fromisoformat(rec["ts"]) - timedelta(seconds=30)
            rec["ts"] = t.isoformat(timespec="milliseconds")
        out.write(canonicalize(rec) + b"\n")
    out.close()


def run(n: int, disorder: int, path: Path) -> dict:
    import orjson

    from ledger.profile import ProfileBuilder, profile_digest

    t0 = time.perf_counter()
    write_records(path, n, disorder)
    made = time.perf_counter() - t0
    base_rss = rss_mib()

    t0 = time.perf_counter()
    with open(path, "rb") as f:
        for raw in f:
            orjson.loads(raw)
    parse_s = time.perf_counter() - t0
    records = open(path, "rb")

    builder = ProfileBuilder(tz="+08:00")
    quarters = []
    t0 = time.perf_counter()
    step = max(1, n // 4)
    for i, raw in enumerate(records):
        builder.add(i, orjson.loads(raw))
        if (i + 1) % step == 0:
            quarters.append({"records": i + 1, "seconds": round(time.perf_counter() - t0, 3),
                             "vmrss_mib": round(rss_mib(), 1)})
    added = time.perf_counter() - t0
    records.close()
    t1 = time.perf_counter()
    profile = builder.result(log_id=bytes(32), stream="bench", start=0, end=n, checkpoint_size=n,
                             checkpoint_root=bytes(32))
    result_s = time.perf_counter() - t1
    total = added + result_s
    arrays = builder._instants.buffer_info()[1] * 8 + sum(
        len(m.inst) * 8 + len(m.parts) * 8 + len(m.run) + len(m.power) * 4 for m in builder._machines.values())
    mes = profile["mes"]
    assert profile["coverage"]["records"] == n
    assert sum(d["mes_good"] for d in profile["daily"]) == mes["qty_good"]
    return {
        "records": n, "disorder_per_mille": disorder, "making_records_s": round(made, 2),
        "parse_only_s": round(parse_s, 3), "add_s": round(added, 3), "result_s": round(result_s, 3),
        "profile_s_with_parse": round(total, 3), "profile_s_without_parse": round(total - parse_s, 3),
        "records_per_s": round(n / total), "quarters": quarters,
        "vmrss_before_mib": round(base_rss, 1), "peak_rss_mib": round(peak_rss_mib(), 1),
        "builder_arrays_mib": round(arrays / 2**20, 1), "digest": profile_digest(profile).hex(),
        "days": profile["coverage"]["days"], "flags": [f["code"] for f in profile["flags"]],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--disorder", type=int, default=0, help="records per thousand moved 30 s back")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "profile.json")
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figures = run(args.records, args.disorder, args.out.with_suffix(".jsonl"))
    figures["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(),
                          "cpu": _cpu()}
    args.out.write_text(json.dumps(figures, indent=2))
    for k, v in figures.items():
        print(f"{k:28} {v}")
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
