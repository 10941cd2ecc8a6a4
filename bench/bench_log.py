"""Benchmark: ingest, roots, proofs and verification of a 1M-record log, with peers.

    .venv/bin/python bench/bench_log.py [--records N] [--out-dir DIR]

Writes synthetic telemetry to DIR/records.jsonl (not timed), ingests it through
``LogStore.append`` into a fresh SQLite store in a child process (so its peak RSS is the
ingest's own), then times roots, proofs and verifications on the stored log, and the same
leaves through pymerkle, merkletools (own venv: bench/.venv-peers) and a bare hashlib loop.
Prints a table and writes DIR/results.json. ``profile`` sub-command: cProfile an ingest
and time its stages unprofiled.

Top-level imports are stdlib only: the merkletools child runs this file in the peers venv,
which has no ``ledger``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS_PYTHON = HERE / ".venv-peers" / "bin" / "python"
STREAM = "bench/telemetry"
SEED = 2026
REPEATS = 3  # in-memory tree builds: best of 3, so a stray GC or page fault does not count
N_PROOFS = 1000


# --- measuring ------------------------------------------------------------------------


def rss_mib() -> float:
    """Current resident set size (VmRSS) of this process, MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def best_of(fn, repeats=REPEATS):
    """(best seconds, last result) of ``repeats`` calls of ``fn``."""
    best, result = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def ms_stats(seconds: list[float]) -> dict:
    q = statistics.quantiles(seconds, n=100)
    return {"median_ms": statistics.median(seconds) * 1e3, "p99_ms": q[98] * 1e3,
            "max_ms": max(seconds) * 1e3}


# --- inputs -----------------------------------------------------------------------------


def write_jsonl(path: Path, n: int) -> None:
    """Synthetic telemetry, one compact JSON object per line (as an exporter would write)."""
    import orjson

    from ledger.synthetic import telemetry

    with open(path, "wb") as f:
        for rec in telemetry(n, seed=SEED):
            f.write(orjson.dumps(rec) + b"\n")


def open_store(home: Path):
    from ledger.settings import Settings
    from ledger.store.logstore import LogStore

    # An explicit SQLite URL, so a DATABASE_URL in the environment is never written to.
    return LogStore.open(Settings(home=home, database_url=f"sqlite:///{home / 'ledger.db'}"))


def read_leaf_hashes(store, stream: str) -> list[bytes]:
    log = store.get_log(stream)
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT leaf_hash FROM records WHERE log_pk = ? ORDER BY idx", (log.pk,)
        )
        return [bytes(r[0]) for r in rows]


def write_leaf_data(store, stream: str, path: Path) -> None:
    """Each record's leaf data (salt || canonical bytes), length-prefixed: pymerkle's input."""
    with open(path, "wb") as f:
        for rec in store.iter_records(stream):
            data = rec.salt + rec.canonical
            f.write(struct.pack("<I", len(data)) + data)


def read_leaf_data(path: Path) -> list[bytes]:
    buf, out, pos = Path(path).read_bytes(), [], 0
    while pos < len(buf):
        (size,) = struct.unpack_from("<I", buf, pos)
        out.append(buf[pos + 4:pos + 4 + size])
        pos += 4 + size
    return out


# --- child processes: each prints one JSON object on stdout ---------------------------


def child_ingest(home: Path, jsonl: Path, n: int, jobs: int = 1) -> dict:
    """Ingest ``jsonl`` into a fresh store as ``dpl ingest --jobs JOBS`` does (same reader, same
    GC policy, lines parsed with the records); RSS sampled at 25/50/75/100% of the records."""
    from ledger import sources
    from ledger.cli.logs import few_gc_pauses

    store = open_store(home)
    store.create_log(STREAM)
    marks = [(n * q // 4, f"{25 * q}%") for q in (1, 2, 3, 4)]
    samples = {"before": rss_mib()}
    progress = {}  # label: (records consumed, seconds), to see whether the rate holds up

    def on_progress(consumed: int) -> None:
        while marks and consumed >= marks[0][0]:
            label = marks.pop(0)[1]
            samples[label], progress[label] = rss_mib(), (consumed, time.perf_counter() - t0)

    cpu0, t0 = cpu_seconds(), time.perf_counter()
    with open(jsonl, "rb") as f, few_gc_pauses():
        if jobs == 0:  # the path before issue 16 (it runs on older code too): parsed here, sealed under the lock
            result = store.append(STREAM, sources.read_jsonl(f), on_progress=on_progress)
        else:
            result = store.append(STREAM, sources.read_jsonl_blocks(f), on_progress=on_progress, jobs=jobs,
                                  raw="blocks")
    seconds = time.perf_counter() - t0
    samples["after commit"] = rss_mib()
    return {"records": result.appended, "seconds": seconds, "jobs": jobs, "cpu_seconds": cpu_seconds() - cpu0,
            "records_per_s": result.appended / seconds, "peak_rss_mib": peak_rss_mib(),
            "rss_mib": samples, "progress": progress, "root": result.root.hex()}


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the sealing workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def child_bare(home: Path, jsonl: Path, n: int) -> dict:
    """The bare plain-Python durable pipeline `dpl ingest` is compared with: the same records
    read line by line, parsed (orjson), canonical bytes (orjson, sorted keys), a random salt,
    the leaf hash, the keyed id digest and the AES-256-GCM seal, inserted 2,000 rows at a time
    into a SQLite table of the same shape (same unique id index, WAL, synchronous=NORMAL) and
    committed once. No validation, no tiles, no duplicate handling, one core."""
    import sqlite3

    import orjson
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    home.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(home / "bare.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    db.execute("CREATE TABLE records (log_pk INTEGER NOT NULL, idx INTEGER NOT NULL, id_digest BLOB NOT NULL, "
               "leaf_hash BLOB NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (log_pk, idx))")
    db.execute("CREATE UNIQUE INDEX records_id ON records (log_pk, id_digest)")
    aead, idh = AESGCM(os.urandom(32)), hashlib.blake2b(key=os.urandom(32), digest_size=16)
    sha, dumps, loads, sort = hashlib.sha256, orjson.dumps, orjson.loads, orjson.OPT_SORT_KEYS
    insert = "INSERT INTO records VALUES (1, ?, ?, ?, ?)"
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    rows, idx = [], 0
    with open(jsonl, "rb") as f:
        for line in f:
            rec = loads(line)
            canonical = dumps(rec, option=sort)
            rnd = os.urandom(44)
            body = rnd[:32] + canonical
            leaf = sha(b"\x00" + body).digest()
            h = idh.copy()
            h.update(rec["id"].encode())
            rows.append((idx, h.digest(), leaf, rnd[32:] + aead.encrypt(rnd[32:], body, b"dpl-record/1" + leaf)))
            idx += 1
            if len(rows) == 2000:
                db.executemany(insert, rows)
                rows = []
    if rows:
        db.executemany(insert, rows)
    db.execute("COMMIT")
    seconds = time.perf_counter() - t0
    db.close()
    return {"records": idx, "seconds": seconds, "records_per_s": idx / seconds, "jobs": 1,
            "cpu_seconds": cpu_seconds() - cpu0}


def child_profile(home: Path, jsonl: Path, top: int) -> None:
    """cProfile of an ingest: the top entries by tottime."""
    import cProfile
    import pstats

    from ledger.sources import read_jsonl

    store = open_store(home)
    store.create_log(STREAM)
    with open(jsonl, "rb") as f, cProfile.Profile() as prof:
        store.append(STREAM, read_jsonl(f))
    pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(top)


def ingest_phases(home: Path, jsonl: Path) -> dict:
    """Seconds for cumulative slices of the ingest path, unprofiled (cProfile inflates calls)."""
    from ledger.records import prepare_record
    from ledger.sources import read_jsonl

    def parse():
        with open(jsonl, "rb") as f:
            return list(read_jsonl(f))

    def parse_prepare():
        with open(jsonl, "rb") as f:
            return [prepare_record(v, p) for p, v in read_jsonl(f)]

    store = open_store(home)
    prepared = parse_prepare()
    key, sha = store.key, hashlib.sha256

    def crypto():  # what _stage_chunk does per record besides SQL
        for rec in prepared:
            rnd = os.urandom(44)
            body = rnd[:32] + rec.canonical
            leaf = sha(b"\x00" + body).digest()
            key.id_digest(rec.record_id), key.seal(leaf, body, rnd[32:])

    def full():
        store.create_log(stream := f"phases/{time.monotonic_ns()}")
        with open(jsonl, "rb") as f:
            store.append(stream, read_jsonl(f))

    return {name: best_of(fn, 1)[0] for name, fn in
            [("read_jsonl", parse), ("read_jsonl + prepare_record", parse_prepare),
             ("id digest + leaf hash + seal", crypto), ("full append", full)]}


def child_pymerkle(data_file: Path) -> dict:
    """pymerkle's in-memory tree over the leaf data, and ours over the same data."""
    from pymerkle import InmemoryTree

    from ledger import merkle

    data = read_leaf_data(data_file)
    t_ours, ours = best_of(lambda: merkle.root([merkle.leaf_hash(d) for d in data]))
    rss_before = rss_mib()
    t0 = time.perf_counter()
    tree = InmemoryTree(algorithm="sha256")  # hashes each entry as SHA-256(0x00 || data)
    tree.append_entries(data)
    t_pm = time.perf_counter() - t0
    return {"records": len(data), "pymerkle_seconds": t_pm,
            "pymerkle_records_per_s": len(data) / t_pm,
            "pymerkle_root": tree.get_root().hex(), "pymerkle_tree_rss_mib": rss_mib() - rss_before,
            "ours_from_data_seconds": t_ours, "ours_from_data_root": ours.hex()}


def child_merkletools(leaves_file: Path) -> dict:
    """merkletools' tree build over the leaf hashes (it takes them as hex strings)."""
    from merkletools import MerkleTools

    raw = Path(leaves_file).read_bytes()
    hexes = [raw[i:i + 32].hex() for i in range(0, len(raw), 32)]

    def build():
        mt = MerkleTools(hash_type="sha256")
        t0 = time.perf_counter()
        mt.add_leaf(hexes, False)
        t1 = time.perf_counter()
        mt.make_tree()
        return t1 - t0, time.perf_counter() - t1, mt.get_merkle_root()

    runs = [build() for _ in range(REPEATS)]
    best = min(runs, key=lambda r: r[0] + r[1])
    return {"leaves": len(hexes), "add_leaf_seconds": best[0], "make_tree_seconds": best[1],
            "build_seconds": best[0] + best[1], "root": best[2]}


def run_child(python, *args, pythonpath: str | None = None) -> dict:
    env = None if pythonpath is None else {**os.environ, "PYTHONPATH": pythonpath}
    out = subprocess.run([str(python), __file__, *map(str, args)], check=True,
                         stdout=subprocess.PIPE, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- benchmarks on the stored log -------------------------------------------------------


def hashlib_floor(leaves: list[bytes], prefix: bytes) -> bytes:
    """The least a Python tree build can do: one sha256 per pair, level by level."""
    sha = hashlib.sha256
    level = leaves
    while len(level) > 1:
        it = iter(level)
        nxt = [sha(prefix + a + b).digest() for a, b in zip(it, it)]
        if len(level) & 1:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def bench_roots(store, leaves: list[bytes]) -> dict:
    from ledger import merkle

    n = len(leaves)
    t_root, root = best_of(lambda: merkle.root(leaves))
    t_floor, floor_root = best_of(lambda: hashlib_floor(leaves, b"\x01"))
    assert floor_root == root, "hashlib floor disagrees with merkle.root"
    root_at = {}
    for size in sorted({1, 1000, 65_536, 123_457, n // 2 + 1, n - 1, n} & set(range(1, n + 1))):
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            got = store.root_at(STREAM, size)
            times.append(time.perf_counter() - t0)
        assert got == merkle.root(leaves[:size]), f"root_at({size}) is wrong"
        root_at[size] = statistics.median(times) * 1e3
    return {"merkle_root_seconds": t_root, "root": root.hex(), "hashlib_floor_seconds": t_floor,
            "root_at_median_ms": root_at}


def bench_proofs(store, leaves: list[bytes], root: bytes) -> tuple[dict, list]:
    rng = random.Random(SEED)
    indices = [rng.randrange(len(leaves)) for _ in range(N_PROOFS)]
    times, proofs = [], []
    for i in indices:
        t0 = time.perf_counter()
        p = store.inclusion_proof(STREAM, i)
        times.append(time.perf_counter() - t0)
        assert p.leaf_hash == leaves[i] and p.root == root, f"proof {i} has the wrong leaf or root"
        proofs.append(p)
    return {"count": N_PROOFS, **ms_stats(times)}, proofs


def bench_verify(proofs) -> dict:
    from ledger import merkle

    def verify_all():
        for p in proofs:
            merkle.verify_inclusion(p.leaf_hash, p.index, p.size, p.proof, p.root)

    seconds, _ = best_of(verify_all)
    return {"count": len(proofs), "seconds": seconds, "verifications_per_s": len(proofs) / seconds}


# --- report -----------------------------------------------------------------------------


def code_digest() -> str:
    """SHA-256 over ledger/**/*.py: names the code a result belongs to (it is being edited)."""
    h = hashlib.sha256()
    for path in sorted((HERE.parent / "ledger").rglob("*.py")):
        h.update(str(path.relative_to(HERE.parent)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def machine() -> dict:
    import sqlite3

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def quarter_rates(ing: dict) -> list[float]:
    ends = [(0, 0.0), *ing["progress"].values()]
    return [(n1 - n0) / (t1 - t0) for (n0, t0), (n1, t1) in zip(ends, ends[1:]) if n1 > n0]


def summary(r: dict) -> str:
    ing, roots, proofs = r["ingest"], r["roots"], r["proofs"]
    pm, mt = r["peers"]["pymerkle"], r["peers"]["merkletools"]
    t_root = roots["merkle_root_seconds"]
    rss = " / ".join(f"{v:.0f}" for v in ing["rss_mib"].values())
    rows = [
        ("ingest, LogStore.append to SQLite", f"{ing['records_per_s']:,.0f} records/s "
         f"({ing['records']:,} in {ing['seconds']:.1f} s)"),
        ("ingest peak RSS (ru_maxrss)", f"{ing['peak_rss_mib']:.0f} MiB"),
        ("ingest RSS " + "/".join(ing["rss_mib"]), f"{rss} MiB"),
        ("ingest records/s per quarter", " / ".join(f"{q:,.0f}" for q in quarter_rates(ing))),
        ("merkle.root over leaf hashes", f"{t_root:.3f} s"),
        ("hashlib pair loop (floor)", f"{roots['hashlib_floor_seconds']:.3f} s"),
        *((f"store.root_at({int(s):,}), median", f"{ms:.2f} ms")
          for s, ms in roots["root_at_median_ms"].items()),
        ("inclusion proof from store",
         f"median {proofs['median_ms']:.2f} ms, p99 {proofs['p99_ms']:.2f} ms"),
        ("verify_inclusion", f"{r['verify']['verifications_per_s']:,.0f} verifications/s"),
        ("pymerkle InmemoryTree from raw data", f"{pm['pymerkle_seconds']:.1f} s "
         f"({pm['pymerkle_records_per_s']:,.0f} records/s)"),
        ("ours from raw data (leaf_hash + root)", f"{pm['ours_from_data_seconds']:.3f} s "
         f"({pm['pymerkle_seconds'] / pm['ours_from_data_seconds']:.1f}x pymerkle)"),
    ]
    if "error" in mt:
        rows.append(("merkletools", mt["error"]))
    else:
        rows += [("merkletools add_leaf + make_tree", f"{mt['build_seconds']:.3f} s "
                  f"(merkle.root: {mt['build_seconds'] / t_root:.2f}x as fast)"),
                 ("merkletools make_tree alone", f"{mt['make_tree_seconds']:.3f} s "
                  f"(merkle.root: {mt['make_tree_seconds'] / t_root:.2f}x as fast)")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


# --- orchestration ----------------------------------------------------------------------


def run(records: int, out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    home, jsonl = out_dir / "home", out_dir / "records.jsonl"
    shutil.rmtree(home, ignore_errors=True)  # a fresh store every run
    t0 = time.perf_counter()
    write_jsonl(jsonl, records)
    print(f"wrote {records:,} records ({jsonl.stat().st_size / 2**20:.0f} MiB) in "
          f"{time.perf_counter() - t0:.0f} s (not timed)", file=sys.stderr)

    r = {"machine": machine(), "ledger_code": code_digest(), "started": time.strftime("%FT%T%z"),
         "records": records, "jsonl_bytes": jsonl.stat().st_size}
    r["ingest"] = run_child(sys.executable, "_ingest", home, jsonl, records)
    print(f"ingest: {r['ingest']['records_per_s']:,.0f} records/s", file=sys.stderr)

    store = open_store(home)
    leaves = read_leaf_hashes(store, STREAM)
    assert len(leaves) == records
    r["roots"] = bench_roots(store, leaves)
    root = bytes.fromhex(r["roots"]["root"])
    assert root == bytes.fromhex(r["ingest"]["root"]) == store.root_at(STREAM), "roots disagree"
    r["proofs"], proofs = bench_proofs(store, leaves, root)
    r["verify"] = bench_verify(proofs)
    r["peers"] = bench_peers(store, leaves, root, out_dir)
    store.close()
    if code_digest() != r["ledger_code"]:
        r["warning"] = "ledger/ changed during the run: figures mix two versions of the code"
        print("WARNING: " + r["warning"], file=sys.stderr)
    return r


def compare(records: int, out_dir: Path, repeats: int, jobs: int, before: str | None = None) -> dict:
    """``dpl ingest`` (serial, and with ``jobs`` sealing workers) against the bare pipeline
    (``child_bare``) on the same file, side by side in each round (order rotated, so a busy
    spell of the shared machine does not always hit the same one); medians over the rounds.
    ``before``: a checkout of older code, whose ingest runs in each round too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    jsonl = out_dir / "records.jsonl"
    if not jsonl.exists() or sum(1 for _ in open(jsonl, "rb")) != records:
        write_jsonl(jsonl, records)
    kinds = [("bare", ("_bare",)), ("ingest_jobs1", ("_ingest", 1)), (f"ingest_jobs{jobs}", ("_ingest", jobs))]
    if before:
        kinds.append(("before", ("_ingest", 0)))
    rounds = []
    for r in range(repeats):
        got = {}
        for name, (cmd, *extra) in kinds[r % len(kinds):] + kinds[:r % len(kinds)]:
            home = out_dir / f"compare-{name}"
            shutil.rmtree(home, ignore_errors=True)
            got[name] = run_child(sys.executable, cmd, home, jsonl, records, *extra,
                                  pythonpath=before if name == "before" else None)
            got[name]["loadavg_after"] = os.getloadavg()[0]
            shutil.rmtree(home, ignore_errors=True)
        for name in got:
            got[name]["ratio_to_bare"] = got[name]["records_per_s"] / got["bare"]["records_per_s"]
            got[name]["records_per_cpu_s"] = got[name]["records"] / got[name]["cpu_seconds"]
        rounds.append(got)
        print(f"round {r + 1}: " + "  ".join(f"{k} {v['records_per_s']:,.0f}/s ({v['ratio_to_bare']:.2f}x, "
                                             f"{v['records_per_cpu_s']:,.0f}/cpu-s)" for k, v in got.items()),
              file=sys.stderr)
    med = {name: {m: statistics.median(rd[name][m] for rd in rounds)
                  for m in ("records_per_s", "ratio_to_bare", "records_per_cpu_s")} for name, _ in kinds}
    for name, m in med.items():
        print(f"median {name:<14} {m['records_per_s']:>9,.0f} records/s  {m['ratio_to_bare']:.2f}x bare  "
              f"{m['records_per_cpu_s']:>9,.0f} records per CPU-second")
    return {"machine": machine(), "ledger_code": code_digest(), "started": time.strftime("%FT%T%z"),
            "records": records, "jobs": jobs, "rounds": rounds, "median": med,
            "loadavg_end": os.getloadavg()}


def bench_peers(store, leaves: list[bytes], root: bytes, out_dir: Path) -> dict:
    peers = {}
    data_file, leaves_file = out_dir / "leaf_data.bin", out_dir / "leaves.bin"
    write_leaf_data(store, STREAM, data_file)
    pm = run_child(sys.executable, "_pymerkle", data_file)
    pm["same_root_as_ours"] = pm["pymerkle_root"] == pm["ours_from_data_root"] == root.hex()
    peers["pymerkle"] = pm
    leaves_file.write_bytes(b"".join(leaves))
    if not PEERS_PYTHON.exists():
        peers["merkletools"] = {"error": f"{PEERS_PYTHON} missing: see bench/README.md"}
    else:
        try:
            mt = run_child(PEERS_PYTHON, "_merkletools", leaves_file)
            # merkletools hashes pairs with no 0x01 prefix: its root is our floor without it.
            mt["matches_unprefixed_floor"] = mt["root"] == hashlib_floor(leaves, b"").hex()
            peers["merkletools"] = mt
        except subprocess.CalledProcessError as e:
            peers["merkletools"] = {"error": f"child failed with exit code {e.returncode}"}
    return peers


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):  # a child process
        cmd, args = sys.argv[1], sys.argv[2:]
        if cmd == "_ingest":
            result = child_ingest(Path(args[0]), Path(args[1]), int(args[2]), int(args[3]) if args[3:] else 1)
        elif cmd == "_bare":
            result = child_bare(Path(args[0]), Path(args[1]), int(args[2]))
        elif cmd == "_pymerkle":
            result = child_pymerkle(Path(args[0]))
        else:
            result = child_merkletools(Path(args[0]))
        print(json.dumps(result))
        return

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", nargs="?", default="run", choices=["run", "profile", "compare"])
    ap.add_argument("--repeats", type=int, default=3, help="compare: rounds (median reported)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="compare: dpl ingest --jobs")
    ap.add_argument("--before", help="compare: a checkout of older code to run in each round too (PYTHONPATH)")
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--out-dir", type=Path, default=HERE / "out")
    ap.add_argument("--top", type=int, default=30, help="profile: entries to show")
    a = ap.parse_args()
    if a.command == "profile":
        a.out_dir.mkdir(parents=True, exist_ok=True)
        home, jsonl = a.out_dir / "profile-home", a.out_dir / "profile.jsonl"
        shutil.rmtree(home, ignore_errors=True)
        write_jsonl(jsonl, a.records)
        child_profile(home, jsonl, a.top)
        shutil.rmtree(home)
        for name, seconds in ingest_phases(home, jsonl).items():
            print(f"{name:<30} {seconds:6.2f} s  {a.records / seconds:>9,.0f} records/s")
        return
    if a.command == "compare":
        results = compare(a.records, a.out_dir, a.repeats, a.jobs, a.before)
        (a.out_dir / "compare.json").write_text(json.dumps(results, indent=2) + "\n")
        return
    results = run(a.records, a.out_dir)
    (a.out_dir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(summary(results))
    print(f"ledger code {results['ledger_code']}" + (f"  WARNING: {results['warning']}"
                                                      if "warning" in results else ""))
    print(f"\nresults: {a.out_dir / 'results.json'}")


if __name__ == "__main__":
    main()
