"""Benchmark: the production profile (`ledger.profile`) of 1,000,000 records, time and memory.

    .venv/bin/python bench/bench_profile.py [--records N] [--disorder PERMILLE] [--late] [--out FILE]
    .venv/bin/python bench/bench_profile.py --flat [--records N]

Records: ``ledger.synthetic.telemetry`` (6 machines, one reading a second) with a work order
every 200 records and a sales order every 500 (5 customers, 2 currencies), written once as
canonical bytes to a JSONL file next to ``--out`` (not timed). ``--disorder`` moves that many
records per thousand 30 s back in time (time order then differs from index order); ``--late``
moves only the last one (the worst case of a second read: the first went to the end).

Each mode reads, parses (``orjson.loads``: records as read back from canonical bytes) and
profiles the records with ``build_profile``; a loop of read + parse alone is timed separately
and subtracted (wall and CPU seconds: CPU time is the steadier one on a shared machine):
- ``callable``: ``build_profile(lambda: read(file))``, as ``Profiles.build`` does: streamed
  while in time order, read a second time in array mode at the first record back in time;
- ``iterable``: ``build_profile(read(file))``: array mode from the start.
Each mode runs twice: timed (VmRSS every quarter of the records read), then under
``tracemalloc`` (peak of Python allocations during the build, the records' reading included:
one record at a time). The two modes' profiles must be byte-identical (same digest).

``--flat``: in time order only, the ``callable`` mode's traced peak at N/10 and N records; exits
1 unless the peak at N is within 10% (+ 256 KiB) of the peak at N/10.
Writes the figures as JSON to ``--out`` (default bench/out/profile.json).
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


def write_records(path: Path, n: int, disorder: int, late: bool = False) -> None:
    """``n`` records as canonical bytes, one a line (telemetry, work orders, sales orders);
    with ``late``, the last record only is moved 30 s back."""
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
        if (disorder and rnd.randrange(1000) < disorder) or (late and i == n - 1):
            t = datetime.fromisoformat(rec["ts"]) - timedelta(seconds=30)
            rec["ts"] = t.isoformat(timespec="milliseconds")
        out.write(canonicalize(rec) + b"\n")
    out.close()


class Reader:
    """A callable returning a fresh ``(index, record)`` iterator over the file, counting calls
    and sampling VmRSS every quarter of the records."""

    def __init__(self, path: Path, n: int, sample: bool):
        self.path, self.n, self.sample = path, n, sample
        self.calls = 0
        self.read = 0  # records read, over every call
        self.quarters: list[dict] = []
        self.t0 = time.perf_counter()

    def __call__(self):
        self.calls += 1
        return self._read(self.calls)

    def _read(self, call: int):
        import orjson

        step = max(1, self.n // 4)
        with open(self.path, "rb") as f:
            for i, raw in enumerate(f):
                self.read += 1
                yield i, orjson.loads(raw)
                if self.sample and (i + 1) % step == 0:
                    self.quarters.append({"read": call, "records": i + 1,
                                          "seconds": round(time.perf_counter() - self.t0, 3),
                                          "vmrss_mib": round(rss_mib(), 1)})


def profile_of(records, n: int) -> dict:
    from ledger.profile import build_profile

    return build_profile(records, log_id=bytes(32), stream="bench", start=0, end=n, checkpoint_size=n,
                         checkpoint_root=bytes(32), tz="+08:00")


def timed(mode: str, path: Path, n: int) -> tuple[dict, dict]:
    reader = Reader(path, n, sample=True)
    c0 = time.process_time()
    t0 = reader.t0 = time.perf_counter()
    profile = profile_of(reader if mode == "callable" else reader(), n)
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return profile, {"seconds_with_parse": round(seconds, 3), "cpu_s_with_parse": round(cpu, 3),
                     "reads": reader.calls, "records_read": reader.read, "quarters": reader.quarters}


def traced_peak(mode: str, path: Path, n: int) -> tuple[float, int]:
    """(peak MiB of Python allocations during the build, reads)."""
    import gc
    import tracemalloc

    gc.collect()
    reader = Reader(path, n, sample=False)
    tracemalloc.start()
    try:
        profile_of(reader if mode == "callable" else reader(), n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return round(peak / 2**20, 2), reader.calls


def parse_seconds(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of reading and parsing the file alone."""
    import orjson

    c0 = time.process_time()
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        for raw in f:
            orjson.loads(raw)
    return time.perf_counter() - t0, time.process_time() - c0


def run(n: int, disorder: int, path: Path, late: bool = False) -> dict:
    from ledger.profile import profile_digest

    t0 = time.perf_counter()
    write_records(path, n, disorder, late)
    made = time.perf_counter() - t0
    parse_s, parse_cpu = parse_seconds(path)
    out = {"records": n, "disorder_per_mille": disorder, "last_record_late": late,
           "making_records_s": round(made, 2), "parse_only_s": round(parse_s, 3),
           "parse_only_cpu_s": round(parse_cpu, 3), "vmrss_before_mib": round(rss_mib(), 1)}
    digests = {}
    for mode in ("callable", "iterable"):
        profile, figures = timed(mode, path, n)
        figures["seconds_without_parse"] = round(
            figures["seconds_with_parse"] - figures["records_read"] / n * parse_s, 3)
        figures["cpu_s_without_parse"] = round(
            figures["cpu_s_with_parse"] - figures["records_read"] / n * parse_cpu, 3)
        figures["records_per_s"] = round(n / figures["seconds_with_parse"])
        figures["traced_peak_mib"], _ = traced_peak(mode, path, n)
        digests[mode] = profile_digest(profile).hex()
        assert profile["coverage"]["records"] == n
        assert sum(d["mes_good"] for d in profile["daily"]) == profile["mes"]["qty_good"]
        out[mode] = figures
        del profile
    assert digests["callable"] == digests["iterable"], digests
    out["digest"] = digests["callable"]
    out["peak_rss_mib"] = round(peak_rss_mib(), 1)
    return out


def flat(n: int, path: Path) -> dict:
    """Traced peaks of the streamed build in time order at n // 10 and n records."""
    import orjson  # noqa: F401 (imported before tracing: not part of a peak)

    import ledger.profile  # noqa: F401

    out = {}
    for size in (n // 10, n):
        write_records(path, size, 0)
        peak, reads = traced_peak("callable", path, size)
        assert reads == 1
        out[f"traced_peak_mib_{size}"] = peak
    small, big = out[f"traced_peak_mib_{n // 10}"], out[f"traced_peak_mib_{n}"]
    out["ratio"] = round(big / small, 3)
    out["flat"] = big <= small * 1.10 + 0.25
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--disorder", type=int, default=0, help="records per thousand moved 30 s back")
    ap.add_argument("--late", action="store_true", help="move the last record 30 s back (read twice, in full)")
    ap.add_argument("--flat", action="store_true", help="traced peak at N/10 and N records in time order")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "profile.json")
    args = ap.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.flat:
        figures = flat(args.records, args.out.with_suffix(".jsonl"))
    else:
        figures = run(args.records, args.disorder, args.out.with_suffix(".jsonl"), args.late)
    figures["machine"] = {"python": sys.version.split()[0], "platform": platform.platform(),
                          "cpu": _cpu()}
    args.out.write_text(json.dumps(figures, indent=2))
    for k, v in figures.items():
        print(f"{k:28} {v}")
    return 0 if figures.get("flat", True) else 1


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
