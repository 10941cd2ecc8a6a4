"""Benchmark: the service over HTTP (`dpl serve --workers 2`): bulk ingest, proof latency, memory.

    .venv/bin/python bench/bench_http.py                  # SQLite and PostgreSQL, 1M records each, ~25 min
    .venv/bin/python bench/bench_http.py --quick          # 50k records, small sweep: a smoke test
    .venv/bin/python bench/bench_http.py --backends sqlite --no-sweep --batch 50000 --clients 4
    .venv/bin/python bench/bench_http.py --profile PY-SPY # + py-spy of the workers: one more ingest and proof phase
    .venv/bin/python bench/bench_http.py --nodelay        # + the proof phases again with the TCP_NODELAY fix
    .venv/bin/python bench/bench_http.py --compare-code /work/main,$PWD --records 300000 --batch 50000 --clients 4
        # only the bulk ingest, on a server running each checkout in turn, --repeats 3 rounds (issue 16 goal 2)

Each measurement runs a real ``dpl serve --host 127.0.0.1 --port P --workers 2`` process (uvicorn
master + 2 workers, started with ``start_new_session`` and stopped with SIGINT to its group, also
on an error, Ctrl-C or SIGTERM) on a fresh database: a SQLite file, or a PostgreSQL database made
with ``CREATE DATABASE`` on the server ``DPL_TEST_DATABASE_URL`` names (else the one
``scripts/test-postgres.sh`` starts). The party and its API key are made with ``dpl keys
import-dev`` and ``dpl keys api --role factory --party bench --key dev1 --json``; logs with
``POST /v1/logs``. The anchoring loop is off (``DPL_ANCHOR_INTERVAL=0``) and no chain runs: this
measures the HTTP path (anchoring is bench_anchor.py's).

Per backend:

1. **sweep** (unless ``--no-sweep``): the same number of records (``--sweep-records``) sent as
   NDJSON batches of each ``--sweep-batches`` size from each ``--sweep-clients`` number of
   concurrent client tasks, into one log or one log per client; a fresh database and server per
   configuration.
2. **main**: ``--records`` (1M) into one log with the best one-log configuration of the sweep (or
   ``--batch``/``--clients``). records/s end to end = records / (first request sent .. last
   response received); every response must say ``appended`` = batch size, ``duplicates`` = 0,
   and the log's final size must be the total.
3. **proofs** on that log: ``GET /v1/logs/{id}/records/{index}`` (a dpl-proof/1 bundle, record
   unsealed) and ``GET /v1/logs/{id}/proofs/inclusion?index=N``, at uniformly random indices,
   from 1 client and then from ``--proof-clients`` (50) concurrent clients over keep-alive
   connections (a minimal asyncio HTTP/1.1 client: httpx's pool costs the client several ms of CPU per
   request at 50 connections; ``--proof-client httpx`` to compare); 200 warm-up requests first (not
   counted). Every answer is verified afterwards
   (``bundles.verify`` / ``merkle.verify_inclusion``) against the log's size and root.
4. **memory**: VmRSS of the uvicorn master and its workers from /proc, sampled every 0.1 s (the
   peak of the sum), and each process's VmHWM (its own peak since it started).

The client is one asyncio process (``httpx.AsyncClient`` for the ingest) on the same 2-core VM, so it
competes with the server for CPU: its CPU time is reported, and so are the server's, the
PostgreSQL backends' of the bench database, and everything else's (``/proc/stat``).
``--profile PY-SPY`` runs one more ingest with ``py-spy record --subprocesses --nonblocking`` on
the server and prints where the workers' time goes. Output: a summary on stdout and
``bench/out/http-results.json`` (``--json FILE``), with the machine and a digest of
``ledger/**/*.py`` and ``api/**/*.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
DPL = str(BIN / "dpl")
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
SEED = 2026
NDJSON = {"Content-Type": "application/x-ndjson"}


# --- /proc ---------------------------------------------------------------------------------


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of ``pid`` in MiB (empty if it is gone)."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def rss_mib(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 2**20
    except (OSError, IndexError):
        return 0.0


def proc_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's master and workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def pg_backends(dbname: str) -> list[int]:
    """PostgreSQL backend processes connected to ``dbname`` (their title names the database)."""
    want = f"postgres: dpl {dbname} "
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if (d / "comm").read_text().startswith("postgres") and cmdline(int(d.name)).startswith(want):
                    out.append(int(d.name))
            except OSError:
                pass
    return out


def busy_seconds() -> float:
    """CPU seconds all processes have used (busy time in /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


def own_cpu() -> float:
    t = os.times()
    return t.user + t.system


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def cpu_calibration() -> float:
    """Seconds for 300,000 SHA-256 of 65 bytes, as bench_anchor.py: how fast the VM is right now."""
    data = b"\x01" + bytes(64)
    t0 = time.perf_counter()
    for _ in range(300_000):
        hashlib.sha256(data).digest()
    return time.perf_counter() - t0


class Sampler:
    """A thread that samples the server's processes every 0.1 s: RSS of each and of all
    together, CPU of each, and the CPU of the PostgreSQL backends of the bench database."""

    def __init__(self, master: int, dbname: str | None):
        self.master, self.dbname = master, dbname
        self.samples: list[tuple[float, float, dict[int, float]]] = []  # (t, total RSS, {pid: RSS})
        self.server_cpu: dict[int, float] = {}
        self.pg_cpu: dict[int, float] = {}
        self._pg_seen = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Sampler:
        self.tick()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.tick()

    def tick(self) -> None:
        pids = proc_tree(self.master)
        rss = {p: rss_mib(p) for p in pids}
        self.samples.append((time.perf_counter(), sum(rss.values()), rss))
        for p in pids:
            self.server_cpu[p] = max(self.server_cpu.get(p, 0.0), proc_cpu(p))
        now = time.perf_counter()
        if self.dbname and now - self._pg_seen > 0.5:  # scanning /proc costs more: every 0.5 s
            self._pg_seen = now
            for p in pg_backends(self.dbname):
                self.pg_cpu[p] = max(self.pg_cpu.get(p, 0.0), proc_cpu(p))

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.tick()

    def cpu(self) -> tuple[float, float]:
        """(server CPU seconds, PostgreSQL backends' CPU seconds) so far."""
        self.tick()
        return sum(self.server_cpu.values()), sum(self.pg_cpu.values())

    def peak(self, t0: float, t1: float) -> dict:
        window = [s for s in self.samples if t0 <= s[0] <= t1] or self.samples[-1:]
        best = max(window, key=lambda s: s[1])
        return {"total_mib": best[1], "per_process_mib": {str(p): v for p, v in best[2].items()}}

    def now(self) -> dict:
        pids = proc_tree(self.master)
        procs = {}
        for p in pids:
            st = proc_status(p)
            role = "master" if p == self.master else \
                "resource tracker" if "resource_tracker" in cmdline(p) else "worker"
            procs[str(p)] = {"role": role,
                             "rss_mib": st.get("VmRSS", 0.0), "hwm_mib": st.get("VmHWM", 0.0)}
        return {"total_rss_mib": sum(x["rss_mib"] for x in procs.values()), "processes": procs}


@contextlib.contextmanager
def accounted(sampler: Sampler, into: dict):
    """CPU in cores used during the block by this process (the client), the server, the
    PostgreSQL backends and everything else; the load average; calibration before and after."""
    cal0 = cpu_calibration()
    busy0, own0, (srv0, pg0), t0, wall0 = busy_seconds(), own_cpu(), sampler.cpu(), time.perf_counter(), time.time()
    try:
        yield
    finally:
        busy1, own1, (srv1, pg1), t1 = busy_seconds(), own_cpu(), sampler.cpu(), time.perf_counter()
        span = t1 - t0
        client, server, pg = (own1 - own0) / span, (srv1 - srv0) / span, (pg1 - pg0) / span
        into["cpu"] = {"seconds": span, "client_cores": client, "server_cores": server, "postgres_cores": pg,
                       "other_cores": max(0.0, (busy1 - busy0) / span - client - server - pg),
                       "loadavg_after": loadavg(), "started_unix": wall0,
                       "calibration_seconds": [cal0, cpu_calibration()]}
        into["rss_peak_sampled"] = sampler.peak(t0, t1)


def other_cores(seconds: float = 3.0) -> float:
    """CPU used by other processes, in cores, over ``seconds`` (this process is idle meanwhile)."""
    b0, o0 = busy_seconds(), own_cpu()
    time.sleep(seconds)
    return max(0.0, (busy_seconds() - b0 - (own_cpu() - o0)) / seconds)


def wait_idle(limit: float, max_wait: float) -> dict:
    """Wait until other processes use less than ``limit`` cores (for at most ``max_wait`` s)."""
    t0 = time.monotonic()
    seen = other_cores()
    while limit and seen > limit and time.monotonic() - t0 < max_wait:
        print(f"  waiting: other processes use {seen:.2f} cores (load {loadavg()[0]:.2f})", file=sys.stderr)
        time.sleep(10)
        seen = other_cores()
    return {"other_cores_before": seen, "waited_seconds": time.monotonic() - t0, "loadavg_before": loadavg()}


# --- the database, the server, the party -------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend:
    """Fresh databases of one kind: SQLite files under ``tmp``, or PostgreSQL databases."""

    def __init__(self, kind: str, tmp: Path, pg_server: str | None):
        self.kind, self.tmp, self.pg_server, self.made = kind, tmp, pg_server, []

    def fresh(self, label: str) -> tuple[str, str | None]:
        """(DATABASE_URL, PostgreSQL database name or None)."""
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp / f'{label}.db'}", None
        import psycopg

        name = f"dpl_bench_http_{os.getpid()}_{label}".lower().replace("-", "_")
        with psycopg.connect(self.pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.made.append(name)
        return self.pg_server.rsplit("/", 1)[0] + "/" + name, name

    def facts(self) -> dict:
        if self.kind == "sqlite":
            import sqlite3

            return {"sqlite": sqlite3.sqlite_version}
        import psycopg

        with psycopg.connect(self.pg_server) as conn:
            get = lambda q: conn.execute(q).fetchone()[0]  # noqa: E731
            return {"server_version": get("SHOW server_version"), "fsync": get("SHOW fsync"),
                    "synchronous_commit": get("SHOW synchronous_commit"),
                    "shared_buffers": get("SHOW shared_buffers")}

    def drop_all(self) -> None:
        if self.kind != "postgresql" or not self.made:
            return
        import psycopg

        with psycopg.connect(self.pg_server, autocommit=True) as conn:
            for name in self.made:
                with contextlib.suppress(Exception):
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.clear()


def postgres_server() -> str:
    url = os.environ.get("DPL_TEST_DATABASE_URL")
    if url:
        return url
    out = subprocess.run(["bash", str(ROOT / "scripts" / "test-postgres.sh")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def server_env(home: Path, db_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env.update(DPL_HOME=str(home), DATABASE_URL=db_url, DPL_ANCHOR_INTERVAL="0",
               DPL_RPC_URL="http://127.0.0.1:9", PATH=f"{BIN}:{env['PATH']}")
    return env


def dpl(env: dict, *args: str) -> str:
    proc = subprocess.run([DPL, *args], env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"dpl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


# ``dpl serve`` with one change, for comparison only (--nodelay): uvicorn's Config.bind_socket
# (the --workers N path) makes the listening socket with proto 0, accepted sockets inherit it, and
# asyncio sets TCP_NODELAY only when proto is IPPROTO_TCP; so every keep-alive response of a
# multi-worker server waits ~40 ms for the client's delayed ACK (uvicorn issue #3149).
PATCHED_SERVE = """
import socket, sys
import uvicorn, uvicorn.config
from ledger.settings import Settings
from ledger.store.logstore import LogStore
_bind = uvicorn.config.Config.bind_socket
def bind_socket(self):
    s = _bind(self)
    return socket.socket(s.family, s.type, socket.IPPROTO_TCP, fileno=s.detach())
uvicorn.config.Config.bind_socket = bind_socket
LogStore.open(Settings()).close()
uvicorn.run("api.app:app_from_env", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
            workers=int(sys.argv[2]), log_level="info", access_log=False)
"""


class Server:
    """``dpl serve --workers N`` on a free port; stopped with SIGINT to its process group.
    ``patched``: the same with the TCP_NODELAY fix above (bench-side, for comparison)."""

    def __init__(self, env: dict, workers: int, home: Path, patched: bool = False):
        self.env, self.workers, self.home, self.patched = env, workers, home, patched
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log = open(self.home / f"serve-{self.port}.log", "ab")
        cmd = [sys.executable, "-c", PATCHED_SERVE, str(self.port), str(self.workers)] if self.patched else \
            [DPL, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dpl serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                if httpx.get(self.base + "/health", timeout=5).status_code == 200 and \
                        (self.workers == 1 or len(proc_tree(self.proc.pid)) > self.workers):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.base} did not answer in 120 s")
            time.sleep(0.2)
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def make_party(env: dict) -> str:
    """The factory party ``bench`` (custodial key dev1) and an API key for it, as an operator would."""
    return json.loads(dpl(env, "keys", "api", "--role", "factory", "--party", "bench", "--key", "dev1",
                          "--json"))["key"]


def create_logs(base: str, key: str, n: int, label: str) -> list[str]:
    out = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
        for k in range(n):
            r = http.post("/v1/logs", json={"stream": f"{label}-{k}"})
            if r.status_code != 201:
                raise RuntimeError(f"POST /v1/logs: {r.status_code} {r.text}")
            out.append(r.json()["log_id"])
    return out


def log_sizes(base: str, key: str) -> dict[str, tuple[int, str]]:
    r = httpx.get(base + "/v1/logs", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    r.raise_for_status()
    return {x["log_id"]: (x["size"], x["root"]) for x in r.json()}


# --- the records ---------------------------------------------------------------------------------


class Lines:
    """Synthetic telemetry (``ledger.synthetic.telemetry``: unique ids within one call) as NDJSON
    lines, made once (not timed), and batches of them joined into request bodies."""

    def __init__(self):
        self.lines: list[bytes] = []

    def take(self, n: int) -> list[bytes]:
        if len(self.lines) < n:
            from ledger.synthetic import telemetry

            t0 = time.perf_counter()
            self.lines = [orjson.dumps(rec) for rec in telemetry(n, seed=SEED)]
            print(f"  made {n:,} records ({sum(map(len, self.lines)) / 2**20:.0f} MiB of NDJSON) in "
                  f"{time.perf_counter() - t0:.0f} s (not timed)", file=sys.stderr)
        return self.lines[:n]

    def bodies(self, n: int, batch: int) -> list[tuple[bytes, int]]:
        lines = self.take(n)
        return [(b"\n".join(lines[i:i + batch]) + b"\n", len(lines[i:i + batch])) for i in range(0, n, batch)]


# --- the load -----------------------------------------------------------------------------------


async def ingest(base: str, key: str, log_ids: list[str], bodies: list[tuple[bytes, int]], clients: int) -> dict:
    """Send the batches from ``clients`` concurrent tasks; batch i goes to log i % len(log_ids)
    and task k serves log k % len(log_ids). Times from the first send to the last answer."""
    queues = [collections.deque() for _ in log_ids]
    for i, item in enumerate(bodies):
        queues[i % len(log_ids)].append(item)
    done: list[tuple[float, float, int]] = []  # (finished at, seconds, records)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"},
                                 timeout=httpx.Timeout(900), limits=limits) as http:

        async def task(k: int) -> None:
            log_id, queue = log_ids[k % len(log_ids)], queues[k % len(log_ids)]
            while queue:
                body, n = queue.popleft()
                t = time.perf_counter()
                r = await http.post(f"/v1/logs/{log_id}/records", content=body, headers=NDJSON)
                if r.status_code != 200:
                    raise RuntimeError(f"append: {r.status_code} {r.text[:500]}")
                out = r.json()
                if out["appended"] != n or out["duplicates"] != 0:
                    raise RuntimeError(f"append: sent {n}, answer {out}")
                done.append((time.perf_counter(), time.perf_counter() - t, n))

        t0 = time.perf_counter()
        await asyncio.gather(*(task(k) for k in range(clients)))
        seconds = time.perf_counter() - t0
    records = sum(n for _, _, n in done)
    # records/s over each quarter of the records, by the time their batch was answered
    quarters, acc, last_t, last_n = [], 0, t0, 0
    marks = [records * q // 4 for q in (1, 2, 3, 4)]
    for t, _, n in sorted(done):
        acc += n
        while marks and acc >= marks[0]:
            marks.pop(0)
            quarters.append((acc - last_n) / (t - last_t) if acc > last_n else None)  # one batch, two marks
            last_t, last_n = t, acc
    req = [s for _, s, _ in done]
    return {"records": records, "seconds": seconds, "records_per_s": records / seconds,
            "requests": len(done), "request_seconds": {"median": statistics.median(req), "max": max(req)},
            "records_per_s_by_quarter": quarters}


def pct(seconds: list[float]) -> dict:
    q = statistics.quantiles(seconds, n=100)
    return {"p50_ms": statistics.median(seconds) * 1e3, "p90_ms": q[89] * 1e3, "p99_ms": q[98] * 1e3,
            "max_ms": max(seconds) * 1e3}


async def get_many(base: str, key: str, paths: list[str], clients: int, warmup: list[str]) -> tuple[dict, list]:
    """GET every path from ``clients`` concurrent tasks over keep-alive connections."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120,
                                 limits=limits) as http:

        errors: list[str] = []

        async def run(todo: list[str], keep: bool):
            it, lat, bodies = iter(todo), [], []

            async def task():
                for path in it:  # shared: each path is taken by one task
                    t = time.perf_counter()
                    try:
                        r = await http.get(path)
                    except httpx.TransportError as e:  # counted and reported, not retried
                        errors.append(f"{type(e).__name__}: {e}")
                        continue
                    lat.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        raise RuntimeError(f"GET {path}: {r.status_code} {r.text[:300]}")
                    if keep:
                        bodies.append(r.content)

            t0 = time.perf_counter()
            await asyncio.gather(*(task() for _ in range(clients)))
            return time.perf_counter() - t0, lat, bodies

        await run(warmup, False)
        seconds, lat, bodies = await run(paths, True)
    if len(errors) > len(paths) // 100:
        raise RuntimeError(f"{len(errors)} of {len(paths)} requests failed: {errors[:3]}")
    return {"clients": clients, "requests": len(lat), "transport_errors": errors, "seconds": seconds,
            "requests_per_s": len(lat) / seconds, **pct(lat),
            "response_bytes_median": statistics.median(map(len, bodies))}, bodies


async def raw_get_many(base: str, key: str, paths: list[str], clients: int, warmup: list[str]) -> tuple[dict, list]:
    """The same as ``get_many`` with a minimal HTTP/1.1 keep-alive client on asyncio streams (one
    connection per task, opened before the warm-up). httpx's pool costs the client several ms of CPU
    per request at 50 connections, on the same 2 cores as the server; this costs ~0.1 ms."""
    host, port = base.rsplit("/", 1)[1].split(":")
    head = f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    conns = []
    for _ in range(clients):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns.append((reader, writer))

    async def run(todo: list[str], keep: bool):
        it, lat, bodies = iter(todo), [], []

        async def task(reader, writer):
            for path in it:  # shared: each path is taken by one task
                t = time.perf_counter()
                writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\n" + head)
                header = await reader.readuntil(b"\r\n\r\n")
                length = next(int(line.split(b":", 1)[1]) for line in header.split(b"\r\n")
                              if line[:15].lower() == b"content-length:")
                body = await reader.readexactly(length)
                lat.append(time.perf_counter() - t)
                if header[9:12] != b"200":
                    raise RuntimeError(f"GET {path}: {header[:12]!r} {body[:300]!r}")
                if keep:
                    bodies.append(body)

        t0 = time.perf_counter()
        await asyncio.gather(*(task(r, w) for r, w in conns))
        return time.perf_counter() - t0, lat, bodies

    try:
        await run(warmup, False)
        seconds, lat, bodies = await run(paths, True)
    finally:
        for _, writer in conns:
            writer.close()
    return {"clients": clients, "requests": len(lat), "transport_errors": [], "seconds": seconds,
            "requests_per_s": len(lat) / seconds, **pct(lat),
            "response_bytes_median": statistics.median(map(len, bodies))}, bodies


def verify_answers(kind: str, bodies: list[bytes], size: int, root_hex: str) -> int:
    """Every proof checks out against the log's size and root; returns how many were checked."""
    from ledger import bundles, merkle

    root = bytes.fromhex(root_hex[2:])
    for raw in bodies:
        doc = orjson.loads(raw)
        if kind == "record":
            v = bundles.verify(doc)
            ok = v.size == size and v.root == root
        else:
            merkle.verify_inclusion(bytes.fromhex(doc["leaf_hash"][2:]), doc["index"], doc["size"],
                                    [bytes.fromhex(h[2:]) for h in doc["proof"]], bytes.fromhex(doc["root"][2:]))
            ok = doc["size"] == size and doc["root"] == root_hex
        if not ok:
            raise AssertionError(f"a {kind} proof is not against size {size} / root {root_hex}")
    return len(bodies)


# --- phases -------------------------------------------------------------------------------------


def run_ingest(args, backend: Backend, home: Path, env_home: dict, lines: Lines, label: str, records: int,
               batch: int, clients: int, nlogs: int, proofs: bool = False, profile: str | None = None) -> dict:
    db_url, dbname = backend.fresh(label)
    env = server_env(home, db_url)
    key = make_party(env)
    bodies = lines.bodies(records, batch)
    out = {"records": records, "batch": batch, "clients": clients, "logs": nlogs, "label": label}
    out["idle"] = wait_idle(args.idle_cores, args.idle_wait)
    with Server(env, args.workers, home) as srv:
        sampler = Sampler(srv.proc.pid, dbname).start()
        spy = None
        try:
            out["rss_idle"] = sampler.now()
            log_ids = create_logs(srv.base, key, nlogs, label)
            if profile:
                out["profile_file"] = str(home / f"py-spy-{label}.txt")
                spy = subprocess.Popen([profile, "record", "--pid", str(srv.proc.pid), "--subprocesses",
                                        "--nonblocking", "--rate", "100", "--format", "raw",
                                        "--output", out["profile_file"]],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.5)  # py-spy attaches
            with accounted(sampler, out):
                out["ingest"] = asyncio.run(ingest(srv.base, key, log_ids, bodies, clients))
            if spy:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            sizes = log_sizes(srv.base, key)
            if [sizes[i][0] for i in log_ids] != [sum(n for _, n in bodies[k::nlogs]) for k in range(nlogs)]:
                raise AssertionError(f"log sizes {sizes} do not add up to the records sent")
            out["rss_after_ingest"] = sampler.now()
            print(f"  {label}: {out['ingest']['records_per_s']:,.0f} records/s "
                  f"({records:,} in batches of {batch:,}, {clients} clients, {nlogs} log(s)); "
                  f"server {out['cpu']['server_cores']:.2f} cores, client {out['cpu']['client_cores']:.2f}, "
                  f"postgres {out['cpu']['postgres_cores']:.2f}, other {out['cpu']['other_cores']:.2f}",
                  file=sys.stderr)
            size, root = sizes[log_ids[0]]
            if proofs:
                out["proofs"] = proof_phases(args, srv.base, key, log_ids[0], size, root, sampler)
                out["rss_after_proofs"] = sampler.now()
            if profile:  # the proofs' hot path: GET .../records/{index} from 50 clients
                out["profile_proofs_file"] = str(home / f"py-spy-{label}-proofs.txt")
                spy = subprocess.Popen([profile, "record", "--pid", str(srv.proc.pid), "--subprocesses",
                                        "--nonblocking", "--rate", "100", "--format", "raw",
                                        "--output", out["profile_proofs_file"]],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1.5)
                rng = random.Random(SEED)
                paths = [f"/v1/logs/{log_ids[0]}/records/{rng.randrange(size)}" for _ in range(args.proof_requests)]
                getter = raw_get_many if args.proof_client == "raw" else get_many
                out["profile_proofs"], _ = asyncio.run(getter(srv.base, key, paths, args.proof_clients, paths[:200]))
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=60)
            if dbname is None:
                out["db_bytes"] = sum(p.stat().st_size for p in home.parent.glob(f"{label}.db*"))
        finally:
            if spy and spy.poll() is None:
                spy.kill()
            sampler.stop()
    if proofs and args.nodelay:  # the same database, served with the TCP_NODELAY fix
        with Server(env, args.workers, home, patched=True) as srv:
            sampler = Sampler(srv.proc.pid, dbname).start()
            try:
                out["proofs_nodelay"] = proof_phases(args, srv.base, key, log_ids[0], size, root, sampler)
            finally:
                sampler.stop()
    if profile:
        out["profile"] = summarize_profile(Path(out["profile_file"]))
        out["profile_proofs"]["profile"] = summarize_profile(Path(out["profile_proofs_file"]))
    return out


def proof_phases(args, base: str, key: str, log_id: str, size: int, root: str, sampler: Sampler) -> dict:
    rng = random.Random(SEED)
    out = {"log_size": size}
    for kind, path in (("record", lambda i: f"/v1/logs/{log_id}/records/{i}"),
                       ("inclusion", lambda i: f"/v1/logs/{log_id}/proofs/inclusion?index={i}")):
        for clients, n in ((1, args.proof_requests_single), (args.proof_clients, args.proof_requests)):
            paths = [path(rng.randrange(size)) for _ in range(n)]
            warm = [path(rng.randrange(size)) for _ in range(200)]
            phase = {"idle": wait_idle(args.idle_cores, args.idle_wait)}
            getter = raw_get_many if args.proof_client == "raw" else get_many
            with accounted(sampler, phase):
                stats, bodies = asyncio.run(getter(base, key, paths, clients, warm))
            stats["client"] = args.proof_client
            phase.update(stats)
            phase["verified"] = verify_answers(kind, bodies, size, root)
            out[f"{kind}_c{clients}"] = phase
            print(f"  GET {kind} x{n:,}, {clients} clients: p50 {stats['p50_ms']:.1f} ms, "
                  f"p99 {stats['p99_ms']:.1f} ms, {stats['requests_per_s']:,.0f} requests/s; server "
                  f"{phase['cpu']['server_cores']:.2f} cores, client {phase['cpu']['client_cores']:.2f}, "
                  f"other {phase['cpu']['other_cores']:.2f}", file=sys.stderr)
    return out


# Leaf frames of a thread that waits (py-spy's --nonblocking sampling does not tell idle threads apart)
WAITING = ("EpollSelector.select ", "Condition.wait ", "Connection._recv ", "Event.wait ", "Connection.poll ")


def summarize_profile(path: Path, top: int = 30) -> dict:
    """Self and inclusive sample counts per function from py-spy's raw (collapsed) output, over
    the worker processes only, leaving out samples of waiting threads (``WAITING``)."""
    selfc, incl, total, per_proc = collections.Counter(), collections.Counter(), 0, collections.Counter()
    waiting = 0
    if not path.exists():
        return {"error": f"{path} missing (py-spy failed?)"}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n, frames = int(count), stack.split(";")
        procs = [f for f in frames if f.startswith("process ")]
        if len(procs) < 2 or "spawn_main" not in procs[-1]:
            per_proc["master or tracker"] += n
            continue  # the master only supervises
        per_proc["worker " + procs[-1].split(":")[0].split()[-1]] += n
        # "fn (file.py:LINE)" -> "fn (file.py)": one entry per function, not per line
        frames = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") and ":" in f else f
                  for f in frames if not f.startswith(("process ", "thread "))]
        if frames and frames[-1].startswith(WAITING):
            waiting += n
            continue
        total += n
        if frames:
            selfc[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    share = lambda c: [(f, n, n / total) for f, n in c.most_common(top)] if total else []  # noqa: E731
    return {"worker_samples": total, "waiting_samples": waiting, "processes": dict(per_proc),
            "self": share(selfc), "inclusive": share(incl)}


# --- the run ------------------------------------------------------------------------------------


def code_files() -> dict[str, bytes]:
    return {str(p.relative_to(ROOT)): p.read_bytes()
            for d in ("ledger", "api") for p in sorted((ROOT / d).rglob("*.py"))}


def code_digest(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name, data in files.items():
        h.update(name.encode() + b"\0" + data)
    return h.hexdigest()[:16]


def machine() -> dict:
    import importlib.util

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    versions = {p: importlib.metadata.version(p) for p in ("uvicorn", "fastapi", "starlette", "httpx", "h11",
                                                          "sqlalchemy", "psycopg", "orjson")}
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "mem_total_mib": os.sysconf("SC_PHYS_PAGES") * PAGE / 2**20,
            "versions": versions,
            # uvicorn picks uvloop / httptools when installed, else asyncio / h11
            "uvloop": importlib.util.find_spec("uvloop") is not None,
            "httptools": importlib.util.find_spec("httptools") is not None}


def run(a) -> dict:
    files = code_files()
    r = {"machine": machine(), "code": code_digest(files), "started": time.strftime("%FT%T%z"),
         "params": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()},
         "calibration_seconds": [cpu_calibration()], "loadavg_start": loadavg(), "backends": {}}
    tmp = Path(tempfile.mkdtemp(prefix="dpl-bench-http-"))
    lines = Lines()
    try:
        for kind in a.backends:
            print(f"{kind}:", file=sys.stderr)
            res = r["backends"][kind] = {}
            backend = Backend(kind, tmp / kind, postgres_server() if kind == "postgresql" else None)
            home = tmp / kind / "home"
            home.mkdir(parents=True)
            res["facts"] = backend.facts()
            env0 = server_env(home, "sqlite:///" + str(tmp / kind / "keys.db"))
            dpl(env0, "keys", "import-dev")
            try:
                if a.compare_code:  # issue 16 goal 2: the same ingest on each code, side by side, repeated
                    res["compare"] = compare_code(a, backend, home, env0, lines, kind)
                    continue
                if a.sweep:
                    res["sweep"] = []
                    for batch in a.sweep_batches:
                        for clients in a.sweep_clients:
                            for nlogs in sorted({1, clients}):
                                label = f"sweep-b{batch}-c{clients}-l{nlogs}"
                                res["sweep"].append(run_ingest(a, backend, home, env0, lines, label, a.sweep_records,
                                                               batch, clients, nlogs))
                                backend.drop_all()
                batch, clients = a.batch, a.clients
                if (batch is None or clients is None) and res.get("sweep"):
                    best = max((s for s in res["sweep"] if s["logs"] == 1),
                               key=lambda s: s["ingest"]["records_per_s"])
                    batch, clients = batch or best["batch"], clients or best["clients"]
                batch, clients = batch or 50_000, clients or 4
                res["main"] = run_ingest(a, backend, home, env0, lines, "main", a.records, batch, clients, 1,
                                         proofs=True)
                backend.drop_all()
                if a.profile:
                    res["profile_run"] = run_ingest(a, backend, home, env0, lines, "profile", a.profile_records,
                                                    batch, clients, 1, profile=a.profile)
                    backend.drop_all()
            finally:
                backend.drop_all()
    finally:
        if a.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    r["calibration_seconds"].append(cpu_calibration())
    r["loadavg_end"] = loadavg()
    now = code_files()
    changed = sorted(f for f in files.keys() | now.keys() if files.get(f) != now.get(f))
    if changed:
        r["warning"] = (f"ledger/ or api/ changed during the run ({', '.join(changed)}): servers started "
                        "after the change ran the new code")
        r["code_at_end"] = code_digest(now)
        print("WARNING: " + r["warning"], file=sys.stderr)
    return r


def compare_code(a, backend: Backend, home: Path, env0: dict, lines: Lines, kind: str) -> list[dict]:
    """``--records`` into one log (``--batch``, ``--clients``) on a server running each of
    ``--compare-code`` (a directory put first on the server's PYTHONPATH: e.g. the main branch's
    checkout and this one), in turn, ``--repeats`` rounds (the order rotated each round)."""
    codes = a.compare_code
    runs = []
    saved = os.environ.get("PYTHONPATH")
    try:
        for r in range(a.repeats):
            for code in codes[r % len(codes):] + codes[:r % len(codes)]:
                os.environ["PYTHONPATH"] = code
                name = Path(code).name
                out = run_ingest(a, backend, home, env0, lines, f"cmp-{name}-r{r}", a.records,
                                 a.batch or 50_000, a.clients or 4, 1)
                out["code"], out["round"] = code, r
                runs.append(out)
                backend.drop_all()
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    for code in codes:
        rates = [x["ingest"]["records_per_s"] for x in runs if x["code"] == code]
        print(f"  {kind} {code}: median {statistics.median(rates):,.0f} records/s of "
              + ", ".join(f"{x:,.0f}" for x in rates), file=sys.stderr)
    return runs


def summary(r: dict) -> str:
    rows = []
    for kind, res in r["backends"].items():
        by_code: dict[str, list] = {}
        for x in res.get("compare", []):
            by_code.setdefault(x["code"], []).append(x)
        for code, xs in by_code.items():
            rates = [x["ingest"]["records_per_s"] for x in xs]
            cores = [x["cpu"]["server_cores"] for x in xs]
            others = [x["cpu"]["other_cores"] for x in xs]
            rows.append((f"{kind} ingest, code {code}: {xs[0]['records']:,} records, batch {xs[0]['batch']:,}, "
                         f"{xs[0]['clients']} clients, 1 log, {len(xs)} rounds",
                         f"median {statistics.median(rates):,.0f} records/s (" + ", ".join(f"{x:,.0f}" for x in rates)
                         + f"); server {statistics.median(cores):.2f} cores, other {statistics.median(others):.2f}"))
        for s in res.get("sweep", []):
            rows.append((f"{kind} sweep: {s['records']:,} records, batch {s['batch']:,}, {s['clients']} clients, "
                         f"{s['logs']} log(s)",
                         f"{s['ingest']['records_per_s']:,.0f} records/s (server {s['cpu']['server_cores']:.2f}, "
                         f"client {s['cpu']['client_cores']:.2f}, postgres {s['cpu']['postgres_cores']:.2f}, "
                         f"other {s['cpu']['other_cores']:.2f} cores)"))
        m = res.get("main")
        if m:
            ing = m["ingest"]
            rows.append((f"{kind} ingest {m['records']:,} records, batch {m['batch']:,}, {m['clients']} clients, 1 log",
                         f"{ing['records_per_s']:,.0f} records/s ({ing['seconds']:.1f} s; by quarter "
                         + " / ".join("-" if q is None else f"{q:,.0f}" for q in ing["records_per_s_by_quarter"]) + ")"))
            c = m["cpu"]
            rows.append(("  CPU during the ingest (cores)", f"server {c['server_cores']:.2f}, client {c['client_cores']:.2f}, "
                         f"postgres {c['postgres_cores']:.2f}, other {c['other_cores']:.2f}; load after "
                         f"{c['loadavg_after'][0]:.2f}; calibration {c['calibration_seconds'][0]:.2f} / "
                         f"{c['calibration_seconds'][1]:.2f} s"))
            procs = m["rss_after_ingest"]["processes"]
            rows.append(("  RSS idle / peak (sampled sum) / after ingest / after proofs",
                         f"{m['rss_idle']['total_rss_mib']:.0f} / {m['rss_peak_sampled']['total_mib']:.0f} / "
                         f"{m['rss_after_ingest']['total_rss_mib']:.0f} / {m['rss_after_proofs']['total_rss_mib']:.0f} MiB"))
            rows.append(("  per process after ingest: RSS (VmHWM)",
                         ", ".join(f"{p['role']} {p['rss_mib']:.0f} ({p['hwm_mib']:.0f})" for p in procs.values()) + " MiB"))
            for which, tag in (("proofs", ""), ("proofs_nodelay", " (TCP_NODELAY fix)")):
                for name, ph in m.get(which, {}).items():
                    if not isinstance(ph, dict):
                        continue
                    rows.append((f"  GET {name.split('_')[0]}{tag}, {ph['clients']} clients, {ph['requests']:,} requests",
                                 f"p50 {ph['p50_ms']:.1f} ms, p99 {ph['p99_ms']:.1f} ms, "
                                 f"{ph['requests_per_s']:,.0f} requests/s (server {ph['cpu']['server_cores']:.2f}, "
                                 f"client {ph['cpu']['client_cores']:.2f}, postgres {ph['cpu']['postgres_cores']:.2f}, "
                                 f"other {ph['cpu']['other_cores']:.2f} cores)"))
        p = res.get("profile_run")
        if p and "profile" in p and "self" in p["profile"]:
            rows.append((f"{kind} py-spy run", f"{p['ingest']['records_per_s']:,.0f} records/s under py-spy; "
                         f"{p['profile']['worker_samples']:,} worker samples"))
    width = max(len(k) for k, _ in rows)
    text = "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
    for kind, res in r["backends"].items():
        run_ = res.get("profile_run", {})
        for what, prof in (("ingest", run_.get("profile")), ("GET records/{index}, 50 clients",
                                                             run_.get("profile_proofs", {}).get("profile"))):
            if prof and "self" in prof:
                text += (f"\n\n{kind}, {what}: workers' time by function (py-spy, share of "
                         f"{prof['worker_samples']:,} busy worker samples at 100 Hz; "
                         f"{prof['waiting_samples']:,} waiting left out)\n  self:\n")
                text += "\n".join(f"    {share:6.1%}  {f}" for f, _, share in prof["self"][:20])
                text += "\n  inclusive:\n" + "\n".join(f"    {share:6.1%}  {f}" for f, _, share in prof["inclusive"][:30])
    return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    ap.add_argument("--records", type=int, default=1_000_000, help="main run: records into one log")
    ap.add_argument("--batch", type=int, help="main run: records per request (default: the sweep's best)")
    ap.add_argument("--clients", type=int, help="main run: concurrent client tasks (default: the sweep's best)")
    ap.add_argument("--workers", type=int, default=2, help="dpl serve --workers")
    ap.add_argument("--no-sweep", dest="sweep", action="store_false")
    ap.add_argument("--sweep-records", type=int, default=200_000)
    ap.add_argument("--sweep-batches", default="10000,50000,100000")
    ap.add_argument("--sweep-clients", default="2,4")
    ap.add_argument("--proof-clients", type=int, default=50)
    ap.add_argument("--proof-client", choices=["raw", "httpx"], default="raw",
                    help="proof phases: a minimal asyncio HTTP/1.1 client (default) or httpx.AsyncClient")
    ap.add_argument("--proof-requests", type=int, default=5000, help="per endpoint, with --proof-clients")
    ap.add_argument("--proof-requests-single", type=int, default=500, help="per endpoint, with 1 client")
    ap.add_argument("--idle-cores", type=float, default=0.0,
                    help="before each measurement wait until other processes use less than this many cores")
    ap.add_argument("--idle-wait", type=float, default=600, help="... but at most this many seconds")
    ap.add_argument("--profile", metavar="PY_SPY", help="py-spy binary: profile the workers during one more ingest")
    ap.add_argument("--profile-records", type=int, default=300_000)
    ap.add_argument("--nodelay", action="store_true",
                    help="main run: repeat the proof phases on a server with the TCP_NODELAY fix (see PATCHED_SERVE)")
    ap.add_argument("--quick", action="store_true", help="50k records, small sweep: a smoke test, not a measurement")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite files, logs)")
    ap.add_argument("--json", type=Path, help="results file (default bench/out/http-results[-quick].json)")
    ap.add_argument("--compare-code", help="comma-separated checkouts (server PYTHONPATH): only the ingest of "
                                           "--records into one log on each, side by side (issue 16 goal 2)")
    ap.add_argument("--repeats", type=int, default=3, help="--compare-code: rounds")
    a = ap.parse_args()
    a.compare_code = a.compare_code.split(",") if a.compare_code else None
    a.backends = a.backends.split(",")
    if not set(a.backends) <= {"sqlite", "postgresql"}:
        ap.error(f"unknown backend in {a.backends}")
    a.sweep_batches = [int(x) for x in a.sweep_batches.split(",")]
    a.sweep_clients = [int(x) for x in a.sweep_clients.split(",")]
    if a.quick:
        a.records, a.sweep_records, a.sweep_batches, a.sweep_clients = 50_000, 20_000, [10_000], [2]
        a.proof_requests, a.proof_requests_single, a.profile_records = 500, 100, 50_000
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results = run(a)
    out = a.json or HERE / "out" / ("http-results-quick.json" if a.quick else "http-results.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    print(summary(results))
    print(f"machine: {m['cpu']}, nproc {m['nproc']}; uvicorn {m['versions']['uvicorn']} (uvloop {m['uvloop']}, "
          f"httptools {m['httptools']}); code {results['code']}"
          + (f"  WARNING: {results['warning']}" if "warning" in results else ""))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
