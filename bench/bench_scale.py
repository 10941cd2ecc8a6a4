"""Benchmark (issue 16, goal 6): one log grown to ten million records on SQLite.

    nice -n 10 .venv/bin/python bench/bench_scale.py [--records 10000000] [--batch 1000000]
        [--proofs 1000] [--out-dir DIR] [--no-chain]

Grows one log by ``--batch`` records at a time with ``dpl ingest`` itself (a child process per
batch: the command's whole path, its start-up included), and records for each batch the
ingest rate (wall clock, and per CPU second of the child: ``ru_utime + ru_stime``, which a
busy shared machine disturbs far less), the child's peak RSS (``wait4``'s ``ru_maxrss``: that
process alone) and the machine's load. After the first batch and after the last one it times ``--proofs`` random
inclusion proofs through the store (``LogStore.inclusion_proof``, each checked), anchors the
log (``dpl anchor``, a real anvil), times a full ``dpl audit`` (every record unsealed and
its leaf recomputed, every root recomputed, every anchor against the chain), and times the
same number of proofs through the HTTP API (``dpl serve``, one worker, as the auditor). The goal compares
the last batch with the first and the audit at the end with the audit at the first batch, in
the same run (so the machine's load is shared by both).

Inputs are synthetic telemetry (``ledger.synthetic.telemetry``, one generator for the whole
run: ids never repeat), written one batch at a time to a JSONL file (not timed) and deleted
after its ingest. Free disk space is checked first. Results: DIR/results.json and a table.

SQLite: one file on one machine is where a single log's scale is set by the store itself
(B-tree depth, the id index, the tiles); PostgreSQL adds a server and a network whose cost
does not depend on the log's size. ``--no-chain`` skips anvil, ``dpl anchor`` and ``dpl audit``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STREAM = "bench/scale"
SEED = 2026
#: Store bytes per record assumed for the disk check (459 MiB per 1M measured, with margin).
STORE_BYTES_PER_RECORD = 600
JSONL_BYTES_PER_RECORD = 260


def machine() -> dict:
    import platform
    import sqlite3

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform(),
            "nice": os.nice(0)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dpl(env: dict, *args: str) -> dict:
    """A ``dpl`` command that must succeed (set-up: not measured)."""
    done = timed_child(env, *args)
    if done["exit"] != 0:
        raise SystemExit(f"dpl {' '.join(args)} failed ({done['exit']}): {done['stderr']}")
    return done


def ingest_batch(env: dict, jsonl: Path) -> dict:
    """``dpl ingest`` of one batch in a child whose rusage is its own (``wait4``)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", "ingest", str(jsonl), "--log", STREAM, "--json"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"dpl ingest failed ({proc.returncode}): {err.decode(errors='replace')[-2000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024, "result": json.loads(out),
            "load_before": load0, "load_after": os.getloadavg()[0]}


def timed_child(env: dict, *args: str) -> dict:
    """A ``dpl`` command in a child, with its own peak RSS (``wait4``)."""
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_rss_mib": usage.ru_maxrss / 1024, "exit": code,
            "stdout": out.decode(), "stderr": err.decode(errors="replace")[-2000:],
            "load_before": load0, "load_after": os.getloadavg()[0]}


def write_batch(path: Path, records, n: int) -> None:
    import orjson

    with open(path, "wb") as f:
        for _ in range(n):
            f.write(orjson.dumps(next(records)) + b"\n")


def proof_latency(home: Path, count: int, size: int) -> dict:
    """``count`` inclusion proofs of random indices through one open store (as a worker serves
    them), each verified against the root: median, p99 and max, ms."""
    from ledger import merkle
    from ledger.settings import Settings
    from ledger.store.logstore import LogStore

    store = LogStore.open(Settings(home=home, database_url=f"sqlite:///{home / 'ledger.db'}"))
    try:
        rng = random.Random(SEED + size)
        times = []
        for _ in range(count):
            i = rng.randrange(size)
            t0 = time.perf_counter()
            p = store.inclusion_proof(STREAM, i)
            times.append(time.perf_counter() - t0)
            merkle.verify_inclusion(p.leaf_hash, p.index, p.size, p.proof, p.root)
            assert p.size == size
        q = statistics.quantiles(times, n=100)
        return {"count": count, "median_ms": statistics.median(times) * 1e3, "p99_ms": q[98] * 1e3,
                "max_ms": max(times) * 1e3}
    finally:
        store.close()


def http_proof_latency(env: dict, key: str, count: int, size: int) -> dict:
    """``count`` inclusion proofs of random indices through ``GET /v1/logs/{id}/proofs/inclusion``
    of a ``dpl serve`` (one worker, no loops) on the same store, one keep-alive client, as the
    auditor: median, p99 and max, ms (the HTTP stack and JSON included)."""
    import httpx

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--port", str(port)],
                              env={**env, "DPL_ANCHOR_INTERVAL": "0", "DPL_WEBHOOKS_INTERVAL": "0"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60,
                            headers={"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 120
        while True:
            try:
                if http.get("/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("dpl serve did not start")
            time.sleep(0.3)
        [log] = [x for x in http.get("/v1/logs").json() if x["stream"] == STREAM]
        rng = random.Random(SEED + size + 1)
        times = []
        for _ in range(count):
            i = rng.randrange(size)
            t0 = time.perf_counter()
            r = http.get(f"/v1/logs/{log['log_id']}/proofs/inclusion", params={"index": i})
            times.append(time.perf_counter() - t0)
            assert r.status_code == 200 and r.json()["size"] == size, r.text
        q = statistics.quantiles(times, n=100)
        return {"count": count, "median_ms": statistics.median(times) * 1e3, "p99_ms": q[98] * 1e3,
                "max_ms": max(times) * 1e3}
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(30)


def anchor_and_audit(env: dict) -> dict:
    anchored = timed_child(env, "anchor", "--json")
    if anchored["exit"] != 0:
        raise SystemExit(f"dpl anchor failed: {anchored['stderr']}")
    audit = timed_child(env, "audit", "--json")
    report = json.loads(audit["stdout"]) if audit["stdout"].strip() else {}
    if audit["exit"] != 0 or not report.get("clean"):
        raise SystemExit(f"dpl audit is not clean ({audit['exit']}): {audit['stderr']} {report}")
    return {"anchor": [{k: r[k] for k in ("size", "state")} for r in json.loads(anchored["stdout"])],
            "anchor_seconds": anchored["seconds"], "audit_seconds": audit["seconds"],
            "audit_cpu_seconds": audit["cpu_seconds"],
            "audit_records": report["records"], "audit_peak_rss_mib": audit["peak_rss_mib"],
            "audit_records_per_s": report["records"] / audit["seconds"],
            "load": [audit["load_before"], audit["load_after"]]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--batch", type=int, default=1_000_000)
    ap.add_argument("--proofs", type=int, default=1000)
    ap.add_argument("--out-dir", type=Path, default=Path("/tmp/dpl-bench-scale"))
    ap.add_argument("--no-chain", action="store_true", help="no anvil, no dpl anchor, no dpl audit")
    args = ap.parse_args()
    if args.records % args.batch:
        raise SystemExit("--records must be a multiple of --batch")
    out = args.out_dir
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    need = args.records * STORE_BYTES_PER_RECORD + args.batch * JSONL_BYTES_PER_RECORD
    free = shutil.disk_usage(out).free
    print(f"disk: {free / 2**30:.1f} GiB free in {out}, about {need / 2**30:.1f} GiB needed", flush=True)
    if free < 1.5 * need:
        raise SystemExit("not enough free disk space for this run")

    from ledger.synthetic import telemetry

    home = out / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env.update(DPL_HOME=str(home), DATABASE_URL=f"sqlite:///{home / 'ledger.db'}",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    chain = None
    results: dict = {"machine": machine(), "records": args.records, "batch": args.batch,
                     "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "batches": [],
                     "proofs": {}, "http_proofs": {}, "audits": {}}
    try:
        if not args.no_chain:
            from ledger.chain import node

            chain = node.up(home, port=free_port())
            env["DPL_RPC_URL"] = chain.rpc_url
            dpl(env, "keys", "import-dev")
            dpl(env, "deploy")
            auditor = json.loads(dpl(env, "keys", "api", "--role", "auditor", "--party", "bench-audit",
                                     "--json")["stdout"])["key"]
        dpl(env, "log", "create", STREAM)
        records = iter(telemetry(args.records, seed=SEED))
        jsonl = out / "batch.jsonl"
        for k in range(args.records // args.batch):
            write_batch(jsonl, records, args.batch)
            got = ingest_batch(env, jsonl)
            jsonl.unlink()
            size = got["result"]["size"]
            assert got["result"]["appended"] == args.batch and size == (k + 1) * args.batch, got["result"]
            row = {"batch": k + 1, "size": size, "seconds": got["seconds"],
                   "records_per_s": args.batch / got["seconds"],
                   "records_per_cpu_s": args.batch / got["cpu_seconds"], "peak_rss_mib": got["peak_rss_mib"],
                   "load": [got["load_before"], got["load_after"]],
                   "store_mib": (home / "ledger.db").stat().st_size / 2**20}
            results["batches"].append(row)
            print(f"batch {row['batch']:>3}: size {size:>11,}  {row['records_per_s']:>9,.0f} records/s  "
                  f"{row['records_per_cpu_s']:>9,.0f} records/CPU-s  "
                  f"peak RSS {row['peak_rss_mib']:6.0f} MiB  store {row['store_mib']:8.0f} MiB  "
                  f"load {row['load'][0]:.1f}->{row['load'][1]:.1f}", flush=True)
            if k == 0 or size == args.records:
                results["proofs"][size] = proof_latency(home, args.proofs, size)
                print(f"  proofs at {size:,}: {results['proofs'][size]}", flush=True)
                if chain is not None:
                    results["audits"][size] = anchor_and_audit(env)
                    print(f"  anchor + audit at {size:,}: {results['audits'][size]}", flush=True)
                    results["http_proofs"][size] = http_proof_latency(env, auditor, args.proofs, size)
                    print(f"  HTTP proofs at {size:,}: {results['http_proofs'][size]}", flush=True)
            (out / "results.json").write_text(json.dumps(results, indent=2))
    finally:
        if chain is not None:
            from ledger.chain import node

            node.down(home)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    first, last = results["batches"][0], results["batches"][-1]
    results["summary"] = {
        "last_batch_rate_vs_first": last["records_per_s"] / first["records_per_s"],
        "last_batch_cpu_rate_vs_first": last["records_per_cpu_s"] / first["records_per_cpu_s"],
        "peak_rss_mib_first_last_max": [first["peak_rss_mib"], last["peak_rss_mib"],
                                        max(b["peak_rss_mib"] for b in results["batches"])],
    }
    if len(results["audits"]) == 2:
        a0, a1 = (results["audits"][s] for s in sorted(results["audits"]))
        results["summary"]["audit_seconds_per_record_last_vs_first"] = (
            (a1["audit_seconds"] / a1["audit_records"]) / (a0["audit_seconds"] / a0["audit_records"]))
        results["summary"]["audit_cpu_seconds_per_record_last_vs_first"] = (
            (a1["audit_cpu_seconds"] / a1["audit_records"]) / (a0["audit_cpu_seconds"] / a0["audit_records"]))
    (out / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results["summary"], indent=2))


if __name__ == "__main__":
    main()
