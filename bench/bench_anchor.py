"""Benchmark: on-chain anchoring and the audit, end to end against a real anvil.

    .venv/bin/python bench/bench_anchor.py                 # defaults below, ~5 min
    .venv/bin/python bench/bench_anchor.py --node plain    # anvil without state persistence
    .venv/bin/python bench/bench_anchor.py --quick         # small sizes, a smoke test

Each phase starts its own anvil on a free port, in a temporary directory, and stops it at
the end of the phase, also on an error, Ctrl-C or SIGTERM. ``--node dpl`` (the default) starts
it with ``ledger.chain.node.up``, as ``dpl chain up`` does: state saved every 2 s, historical
states kept. ``--node plain`` starts the same binary with no state options, to tell anvil's
persistence apart from the ledger's own cost. Each phase also has its own DPL home (SQLite
store, dev keys, registry deployed afresh), so phases do not see each other's anchor rows or
blocks. Anchoring goes through ``Anchorer.run`` exactly as ``dpl anchor``
does (relayer dev0, factory dev1, 2 confirmations); anvil mines each transaction at once
(automine), so no time is spent waiting for blocks.

Phases:

1. **first checkpoints of N logs** (default 50 logs of 5 records): one ``Anchorer.run()``
   over all logs. Per log this includes binding the log to the factory key, ``registerLog``
   (a relayed transaction, waited for) and the anchor itself: EIP-712 signature, gas
   estimate, the intent committed in SQLite, ``eth_sendRawTransaction``, and the two
   reconciles of ``run`` (receipt, block hash, row update).
2. **second checkpoints of the same N logs**: 5 more records each, one ``run()`` again. No
   registration; each anchor carries a consistency proof read from the store.
3. **successive checkpoints of one log** (default 200): append 10 records (timed apart),
   then ``run(stream)``; the anchor carries the consistency proof from the previous size.
4. **audit of 1,000 anchored checkpoints** (default 10 logs x 100 checkpoints x 10 records):
   the state is built through ``Anchorer.run()`` (one run per round, all 10 logs), a few
   blocks are mined so every anchor is final, then ``run_audit`` is timed end to end
   (bytecode check, ``CheckpointAnchored`` events paged with ``eth_getLogs``, every root
   recomputed from the stored leaf hashes, every record unsealed and rehashed). The report
   must be clean and count every record and every event.

JSON-RPC calls are counted per method by wrapping the web3 provider. anvil's CPU time is read
from /proc, and so is the CPU used by other processes during each phase (other work on a
2-core VM skews every figure). Output: a summary on stdout and
``bench/out/anchor-results.json`` (``anchor-results-plain.json`` with ``--node plain``), with
the machine, the anvil version and a digest of ``ledger/**/*.py``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import json
import os
import platform
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

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from ledger import synthetic  # noqa: E402
from ledger.anchoring import Anchorer  # noqa: E402
from ledger.audit import chain_events, run_audit  # noqa: E402
from ledger.chain import node  # noqa: E402
from ledger.chain.client import Chain  # noqa: E402
from ledger.chain.deploy import deploy_registry  # noqa: E402
from ledger.keys import DEV_PASSPHRASE, Keyring  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from ledger.store.anchors import FINAL, INCLUDED, LIVE_STATES, PENDING  # noqa: E402
from ledger.store.logstore import LogStore  # noqa: E402

CHAIN_ID = 31337
ANCHORED = (INCLUDED, FINAL)
ANVIL_PID: int | None = None  # set once our anvil runs: its CPU time is read from /proc


def anvil_cpu() -> float:
    """CPU seconds (user + system) anvil has used so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{ANVIL_PID}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- helpers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordSource:
    """Synthetic telemetry with ids unique across the whole run (``synthetic.telemetry``
    repeats its ids for every seed)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.count = 0
        self.seed = 0

    def take(self, n: int) -> list[tuple[int, dict]]:
        self.seed += 1
        out = []
        for pos, rec in enumerate(synthetic.telemetry(n, seed=self.seed)):
            rec["id"] = f"{self.prefix}-{self.count:09d}"
            self.count += 1
            out.append((pos, rec))
        return out


class RpcCounter:
    """Counts JSON-RPC requests per method on a web3 provider (wraps ``make_request``)."""

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()

    def attach(self, chain: Chain) -> Chain:
        provider = chain.w3.provider
        inner = provider.make_request
        counts = self.counts

        def make_request(method, params):
            counts[str(method)] += 1
            return inner(method, params)

        provider.make_request = make_request
        return chain

    def snapshot(self) -> collections.Counter:
        return collections.Counter(self.counts)

    def since(self, before: collections.Counter) -> dict:
        diff = self.counts - before
        return dict(sorted(diff.items(), key=lambda kv: -kv[1]))


class Home:
    """One DPL home: dev keys, a freshly deployed registry, a SQLite store, an Anchorer."""

    def __init__(self, path: Path, rpc_url: str, rpc: RpcCounter):
        self.path = path
        self.keyring = Keyring(path, lambda: DEV_PASSPHRASE)
        self.keyring.import_dev()
        bare = Chain(rpc_url)
        self.deployment, new = deploy_registry(bare, path, self.keyring.account("dev0", CHAIN_ID))
        assert new, "expected a fresh registry deployment"
        self.chain = rpc.attach(Chain(rpc_url, self.deployment["address"]))
        self.store = LogStore.open(Settings(home=path, database_url=None, data_key=None))
        self.anchorer = Anchorer(self.store, self.chain, self.keyring, relayer_key="dev0",
                                 factory_key="dev1", confirmations=2)

    def rows(self, stream: str | None = None):
        a = self.anchorer
        if stream is None:
            return a.anchors.in_states(a.chain_id, a.registry, LIVE_STATES + ("failed",))
        return a.anchors.for_log(a.chain_id, a.registry, self.store.get_log(stream).pk)

    def close(self):
        self.store.close()


def anchor_run(home: Home, expected: dict[str, int], stream: str | None = None) -> tuple[float, int, float]:
    """``Anchorer.run(stream)``, then wait until each anchor it sent is in a block.

    anvil mines a transaction shortly after ``eth_sendRawTransaction`` returns, not during
    it; so ``run``'s closing reconcile can still find a transaction pending, and ``run``
    reports it so (a later run would pick it up). The time to see it in a block, and to
    reconcile its row, is counted here. Returns (seconds, anchors still pending when run
    returned, seconds spent waiting for those)."""
    a = home.anchorer
    t0 = time.perf_counter()
    reports = a.run(stream)
    late = [r for r in reports if r.state == PENDING]
    t_late = time.perf_counter()
    if late:
        for r in late:
            a.chain.w3.eth.wait_for_transaction_receipt(r.tx_hash, timeout=60, poll_latency=0.02)
        head = a.chain.block_number()
        for r in late:
            a.reconcile_row(a.anchors.get(a.chain_id, a.registry, home.store.get_log(r.stream).pk, r.size), head)
        reports = [a._refresh(r) for r in reports]
    t1 = time.perf_counter()
    got = {r.stream: r for r in reports}
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for s, size in expected.items():
        r = got[s]
        assert r.size == size and r.state in ANCHORED and r.tx_hash, r
    return t1 - t0, len(late), t1 - t_late


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def mine(rpc_url: str, blocks: int) -> None:
    for _ in range(blocks):
        node.rpc_call(rpc_url, "evm_mine")


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * (len(s) - 1))))]


def per_anchor(rpc: dict, anchors: int) -> dict:
    return {m: round(c / anchors, 2) for m, c in rpc.items()}


# --- phases -------------------------------------------------------------------------------


def phase_many_logs(home: Home, src: RecordSource, rpc: RpcCounter, logs: int, records: int) -> dict:
    streams = [f"bench/many-{i:03d}" for i in range(logs)]
    for s in streams:
        home.store.create_log(s)
        home.store.append(s, src.take(records))
    out = {"logs": logs, "records_per_log": records}
    for label, extra in (("first", 0), ("second", records)):
        if extra:
            for s in streams:
                home.store.append(s, src.take(extra))
        before, cpu = rpc.snapshot(), anvil_cpu()
        seconds, late, late_s = anchor_run(home, {s: records + extra for s in streams})
        calls = rpc.since(before)
        out[label] = {"anchors": logs, "seconds": seconds, "anchors_per_s": logs / seconds,
                      "anvil_cpu_seconds": anvil_cpu() - cpu, "late": late, "late_wait_seconds": late_s,
                      "ms_per_anchor": 1000 * seconds / logs, "rpc_calls": sum(calls.values()),
                      "rpc_per_anchor": per_anchor(calls, logs)}
        print(f"  {label} checkpoints of {logs} logs: {logs / seconds:.1f} anchors/s "
              f"({seconds:.2f} s)", file=sys.stderr)
    events = chain_events(home.chain, home.deployment["block_number"])
    assert len(events) == 2 * logs, len(events)
    assert [e["args"]["previousSize"] for e in events].count(records) == logs
    return out


def phase_one_log(home: Home, src: RecordSource, rpc: RpcCounter, count: int, batch: int) -> dict:
    stream = "bench/one"
    home.store.create_log(stream)
    append_s, anchor_s, late, late_s = [], [], 0, 0.0
    before, cpu = rpc.snapshot(), anvil_cpu()
    for i in range(count):
        t0 = time.perf_counter()
        res = home.store.append(stream, src.take(batch))
        append_s.append(time.perf_counter() - t0)
        seconds, n, wait = anchor_run(home, {stream: res.size}, stream)
        anchor_s.append(seconds)
        late, late_s = late + n, late_s + wait
        if (i + 1) % 50 == 0:
            print(f"  one log: {i + 1}/{count} anchors, last {1000 * anchor_s[-1]:.0f} ms", file=sys.stderr)
    calls, cpu = rpc.since(before), anvil_cpu() - cpu
    rows = home.rows(stream)
    assert len(rows) == count and all(r.state in ANCHORED for r in rows)
    events = chain_events(home.chain, home.deployment["block_number"])
    assert [e["args"]["size"] for e in events] == [batch * (i + 1) for i in range(count)]
    total = sum(anchor_s)
    k = min(20, count)
    return {
        "anchors": count, "records_per_checkpoint": batch, "final_size": count * batch,
        "late": late, "late_wait_seconds": late_s, "anvil_cpu_seconds": cpu,
        "anchor_seconds": total, "anchors_per_s": count / total,
        "ms_per_anchor": {"median": 1000 * statistics.median(anchor_s), "p90": 1000 * pct(anchor_s, 0.9),
                          "max": 1000 * max(anchor_s), f"first_{k}_mean": 1000 * statistics.mean(anchor_s[:k]),
                          f"last_{k}_mean": 1000 * statistics.mean(anchor_s[-k:])},
        "append_ms_median": 1000 * statistics.median(append_s),
        "rpc_calls": sum(calls.values()), "rpc_per_anchor": per_anchor(calls, count),
        "ms_per_anchor_series": [round(1000 * s, 1) for s in anchor_s],
    }


def phase_audit(home: Home, src: RecordSource, rpc: RpcCounter, rpc_url: str, logs: int, rounds: int,
                batch: int, repeats: int) -> dict:
    streams = [f"bench/audit-{i:02d}" for i in range(logs)]
    for s in streams:
        home.store.create_log(s)
    build_append = build_anchor = late_s = 0.0
    late, cpu = 0, anvil_cpu()
    for r in range(rounds):
        t0 = time.perf_counter()
        for s in streams:
            home.store.append(s, src.take(batch))
        build_append += time.perf_counter() - t0
        seconds, n, wait = anchor_run(home, {s: batch * (r + 1) for s in streams})
        build_anchor += seconds
        late, late_s = late + n, late_s + wait
        if (r + 1) % 20 == 0:
            print(f"  audit state: {r + 1}/{rounds} rounds ({(r + 1) * logs} anchors)", file=sys.stderr)
    build_cpu = anvil_cpu() - cpu
    mine(rpc_url, home.anchorer.confirmations + 1)
    home.anchorer.reconcile()
    rows = home.rows()
    checkpoints = logs * rounds
    assert len(rows) == checkpoints and all(r.state == FINAL for r in rows), "not every anchor is final"
    records = logs * rounds * batch
    runs = []
    for _ in range(repeats):
        before, cpu = rpc.snapshot(), anvil_cpu()
        t0 = time.perf_counter()
        report = run_audit(home.store, home.chain, home.deployment)
        seconds = time.perf_counter() - t0
        calls, cpu = rpc.since(before), anvil_cpu() - cpu
        assert report.clean, report.findings[:5]
        assert report.logs == logs and report.records == records and report.events == checkpoints, report.as_json()
        runs.append({"seconds": seconds, "rpc": calls, "anvil_cpu_seconds": cpu})
    events_runs, raw_runs = [], []
    query = {"address": home.deployment["address"], "fromBlock": hex(home.deployment["block_number"]),
             "toBlock": "latest"}
    for _ in range(repeats):  # the chain part alone: one eth_getLogs page, decoded by web3
        t0 = time.perf_counter()
        events = chain_events(home.chain, home.deployment["block_number"])
        events_runs.append(time.perf_counter() - t0)
        assert len(events) == checkpoints
        t0 = time.perf_counter()  # the same logs as plain JSON (no web3, no decoding)
        raw = node.rpc_call(rpc_url, "eth_getLogs", [query], timeout=120)
        raw_runs.append(time.perf_counter() - t0)
        assert len(raw) >= checkpoints
    seconds = statistics.median(r["seconds"] for r in runs)
    head = home.chain.block_number()
    return {
        "logs": logs, "checkpoints_per_log": rounds, "records_per_checkpoint": batch,
        "checkpoints": checkpoints, "records": records,
        "blocks_scanned": head - home.deployment["block_number"] + 1,
        "build": {"append_seconds": build_append, "anchor_seconds": build_anchor,
                  "anchors_per_s": checkpoints / build_anchor, "late": late,
                  "late_wait_seconds": late_s, "anvil_cpu_seconds": build_cpu},
        "audit_runs_seconds": [r["seconds"] for r in runs],
        "audit_runs_anvil_cpu_seconds": [r["anvil_cpu_seconds"] for r in runs],
        "audit_seconds_median": seconds, "records_per_s": records / seconds,
        "checkpoints_per_s": checkpoints / seconds, "audit_rpc_calls": runs[-1]["rpc"],
        "chain_events_seconds": statistics.median(events_runs), "chain_events_runs_seconds": events_runs,
        "raw_get_logs_seconds": statistics.median(raw_runs), "raw_get_logs_runs_seconds": raw_runs,
        "db_bytes": (home.path / "ledger.db").stat().st_size,
    }


# --- the run ------------------------------------------------------------------------------


def code_files() -> dict[str, bytes]:
    return {str(p.relative_to(ROOT)): p.read_bytes() for p in sorted((ROOT / "ledger").rglob("*.py"))}


def code_digest(files: dict[str, bytes] | None = None) -> str:
    """SHA-256 over ledger/**/*.py, as bench_log.py computes it: names the code a result
    belongs to (it is being edited)."""
    h = hashlib.sha256()
    for name, data in (files or code_files()).items():
        h.update(name.encode() + b"\0" + data)
    return h.hexdigest()[:16]


def machine(anvil: str) -> dict:
    import sqlite3

    import web3

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    version = subprocess.run([anvil, "--version"], capture_output=True, text=True).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "web3": web3.__version__, "platform": platform.platform(),
            "anvil": anvil, "anvil_version": version.splitlines()[0] if version else "?",
            "anvil_commit": next((line.split(":", 1)[1].strip() for line in version.splitlines()
                                  if line.startswith("Commit")), "?")}


@contextlib.contextmanager
def anvil(kind: str, home: Path):
    """A fresh anvil for one phase; stopped on the way out, whatever happens.

    ``dpl``: ``node.up(home, port)``, as ``dpl chain up`` runs it (state saved to
    ``home/chain/anvil-state.json`` every 2 s, historical states kept). ``plain``: the same
    binary with no state options (state in memory only), to tell anvil's persistence apart
    from the ledger's own cost. Both are stopped with ``node.down(home)``."""
    global ANVIL_PID
    port = free_port()
    started = False
    try:
        if kind == "dpl":
            info = node.up(home, port=port)
            if not info.started:
                raise SystemExit(f"something already answers on {info.rpc_url}; refusing to use it")
            started, url, pid = True, info.rpc_url, info.pid
        else:
            d = home / "chain"
            d.mkdir(parents=True, exist_ok=True)
            with open(d / "anvil.log", "ab") as log:
                proc = subprocess.Popen([node.anvil_binary(), "--host", "127.0.0.1", "--port", str(port)],
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
            (d / "anvil.pid").write_text(f"{proc.pid} {port}\n")  # what node.down() reads
            started, url, pid = True, f"http://127.0.0.1:{port}", proc.pid
            deadline = time.monotonic() + 30
            while True:
                try:
                    node.rpc_call(url, "eth_chainId", timeout=1.0)
                    break
                except node.ChainNodeError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        ANVIL_PID = pid
        # anvil is our child: reap it when it exits, or node.down() sees the zombie as alive
        # and waits its full 15 s timeout (see the README).
        threading.Thread(target=reap, args=(pid,), daemon=True).start()
        print(f"  anvil ({kind}) on {url}, pid {pid}", file=sys.stderr)
        yield url
    finally:
        if started:
            node.down(home)


def busy_seconds() -> tuple[float, float]:
    """(CPU seconds all processes have used, seconds this process has used), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    t = os.times()
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), t.user + t.system


def node_facts(kind: str, url: str, home: Path) -> dict:
    """Blocks, anvil's CPU time and state file at the end of a phase, and its CPU use idle."""
    facts = {"blocks": int(node.rpc_call(url, "eth_blockNumber"), 16), "cpu_seconds": anvil_cpu()}
    state = home / "chain" / "anvil-state.json"
    cpu, largest = anvil_cpu(), 0
    for _ in range(16):  # 4 s = two --state-interval periods, nothing sent
        time.sleep(0.25)
        if state.exists():  # anvil rewrites the file in place: keep the largest size seen
            largest = max(largest, state.stat().st_size)
    facts["idle_cpu_share"] = (anvil_cpu() - cpu) / 4.0
    if kind == "dpl":
        facts["state_file_bytes"] = largest
    return facts


def cpu_calibration() -> float:
    """Seconds for 300,000 SHA-256 of 65 bytes: how fast this VM is right now (on the VM
    these figures come from, single-thread speed halves after a couple of seconds of load)."""
    data = b"\x01" + bytes(64)
    t0 = time.perf_counter()
    for _ in range(300_000):
        hashlib.sha256(data).digest()
    return time.perf_counter() - t0


def run(a) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="dpl-bench-anchor-"))
    files = code_files()
    r = {"machine": machine(node.anvil_binary()), "ledger_code": code_digest(files),
         "started": time.strftime("%FT%T%z"), "node": a.node, "params": vars(a).copy(),
         "cpu_calibration_seconds": [cpu_calibration()]}
    r["params"]["out_dir"] = str(a.out_dir)
    rpc = RpcCounter()
    src = RecordSource(f"bench-anchor-{os.getpid()}")
    try:
        for phase in a.phases:
            d = tmp / phase
            with anvil(a.node, d / "node") as url:
                calibration = cpu_calibration()
                (busy0, own0), cpu0, t0 = busy_seconds(), anvil_cpu(), time.perf_counter()
                home = Home(d / "home", url, rpc)
                try:
                    if phase == "many":
                        r["many_logs"] = phase_many_logs(home, src, rpc, a.logs, a.records)
                    elif phase == "one":
                        r["one_log"] = phase_one_log(home, src, rpc, a.successive, a.batch)
                    else:
                        r["audit"] = phase_audit(home, src, rpc, url, a.audit_logs, a.audit_rounds, a.batch,
                                                 a.audit_repeats)
                    (busy1, own1), cpu1, t1 = busy_seconds(), anvil_cpu(), time.perf_counter()
                    # CPU used by everything else on the machine meanwhile, in cores: other
                    # work on a 2-core VM skews every figure.
                    other = max(0.0, (busy1 - busy0) - (own1 - own0) - (cpu1 - cpu0)) / (t1 - t0)
                    r.setdefault("load", {})[phase] = {
                        "seconds": t1 - t0, "cpu_calibration_seconds": [calibration, cpu_calibration()],
                        "bench_cores": (own1 - own0) / (t1 - t0),
                        "anvil_cores": (cpu1 - cpu0) / (t1 - t0), "other_cores": other}
                    r.setdefault("anvil", {})[phase] = node_facts(a.node, url, d / "node")
                finally:
                    home.close()
    finally:
        if a.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    r["cpu_calibration_seconds"].append(cpu_calibration())
    now = code_files()
    changed = sorted(f for f in files.keys() | now.keys() if files.get(f) != now.get(f))
    if changed:
        # Modules imported at start keep their code; files read later (migrations) do not.
        r["warning"] = (f"ledger/ changed during the run ({', '.join(changed)}): modules imported at the "
                        "start ran their old code, anything loaded later the new")
        r["ledger_code_at_end"] = code_digest(now)
        print("WARNING: " + r["warning"], file=sys.stderr)
    return r


def summary(r: dict) -> str:
    rows = []
    if "many_logs" in r:
        m = r["many_logs"]
        for label in ("first", "second"):
            x = m[label]
            what = "registerLog + anchor" if label == "first" else "anchor + consistency proof"
            rows.append((f"{m['logs']} logs, {label} checkpoints, one run() ({what})",
                         f"{x['anchors_per_s']:.1f} anchors/s ({x['ms_per_anchor']:.0f} ms each, "
                         f"{x['rpc_calls'] / x['anchors']:.1f} RPC calls each; anvil CPU "
                         f"{x['anvil_cpu_seconds']:.2f} s of {x['seconds']:.2f} s; late {x['late']})"))
    if "one_log" in r:
        o = r["one_log"]
        ms = o["ms_per_anchor"]
        first, last = [k for k in ms if k.startswith("first_")][0], [k for k in ms if k.startswith("last_")][0]
        rows.append((f"one log, {o['anchors']} successive checkpoints of {o['records_per_checkpoint']} records",
                     f"{o['anchors_per_s']:.2f} anchors/s (median {ms['median']:.0f} ms, p90 {ms['p90']:.0f} ms; "
                     f"{first.replace('_', ' ')} {ms[first]:.0f} ms, {last.replace('_', ' ')} {ms[last]:.0f} ms)"))
        rows.append(("  RPC calls per anchor; anvil CPU; late",
                     f"{o['rpc_calls'] / o['anchors']:.1f}; {o['anvil_cpu_seconds']:.1f} s of "
                     f"{o['anchor_seconds']:.1f} s; {o['late']}"))
    if "audit" in r:
        x = r["audit"]
        b = x["build"]
        rows.append((f"audit state: {x['checkpoints']:,} anchors through run() ({x['logs']} logs per run)",
                     f"{b['anchors_per_s']:.2f} anchors/s ({b['anchor_seconds']:.0f} s; late {b['late']})"))
        runs = x["audit_runs_seconds"]
        rows.append((f"run_audit: {x['checkpoints']:,} checkpoints, {x['records']:,} records, clean",
                     f"{x['audit_seconds_median']:.2f} s (median of {len(runs)}, {min(runs):.2f}-{max(runs):.2f} s) "
                     f"= {x['records_per_s']:,.0f} records/s = {x['checkpoints_per_s']:,.0f} checkpoints/s"))
        rows.append(("  chain_events alone (eth_getLogs + web3 decoding), median", f"{1000 * x['chain_events_seconds']:.0f} ms "
                     f"(the same eth_getLogs as raw JSON: {1000 * x['raw_get_logs_seconds']:.0f} ms)"))
    for phase, f in r.get("anvil", {}).items():
        state = f" state file {f['state_file_bytes'] / 2**20:.0f} MiB," if "state_file_bytes" in f else ""
        rows.append((f"anvil ({r['node']}) after phase {phase}", f"{f['blocks']:,} blocks,{state} "
                     f"{f['cpu_seconds']:.0f} s CPU; idle it uses {100 * f['idle_cpu_share']:.0f}% of a core"))
    for phase, x in r.get("load", {}).items():
        rows.append((f"CPU in cores during phase {phase} ({x['seconds']:.0f} s)",
                     f"bench {x['bench_cores']:.2f}, anvil {x['anvil_cores']:.2f}, other processes "
                     f"{x['other_cores']:.2f}; calibration before / after "
                     + " / ".join(f"{c:.2f} s" for c in x["cpu_calibration_seconds"])))
    rows.append(("CPU calibration (300k SHA-256), start / end",
                 " / ".join(f"{x:.3f} s" for x in r["cpu_calibration_seconds"])))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logs", type=int, default=50, help="phase many: logs anchored in one run")
    ap.add_argument("--records", type=int, default=5, help="phase many: records per log per checkpoint")
    ap.add_argument("--successive", type=int, default=200, help="phase one: checkpoints of one log")
    ap.add_argument("--batch", type=int, default=10, help="records per checkpoint (phases one and audit)")
    ap.add_argument("--audit-logs", type=int, default=10)
    ap.add_argument("--audit-rounds", type=int, default=100, help="checkpoints per log for the audit")
    ap.add_argument("--audit-repeats", type=int, default=5, help="audit runs (the median is reported)")
    ap.add_argument("--phases", default="many,one,audit", help="comma-separated subset of many,one,audit")
    ap.add_argument("--node", choices=["dpl", "plain"], default="dpl",
                    help="dpl: node.up() as `dpl chain up` runs anvil; plain: anvil without state persistence")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--out-dir", type=Path, default=HERE / "out")
    a = ap.parse_args()
    a.phases = a.phases.split(",")
    if not set(a.phases) <= {"many", "one", "audit"}:
        ap.error(f"unknown phase in {a.phases}")
    if a.quick:
        a.logs, a.successive, a.audit_logs, a.audit_rounds, a.audit_repeats = 5, 10, 3, 5, 1
    # SIGTERM runs the finally blocks too (anvil is stopped), like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    results = run(a)
    a.out_dir.mkdir(parents=True, exist_ok=True)
    name = "anchor-results" + ("-plain" if a.node == "plain" else "") + ("-quick" if a.quick else "")
    out = a.out_dir / f"{name}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    m = results["machine"]
    print(summary(results))
    print(f"machine: {m['cpu']}, nproc {m['nproc']}; {m['anvil_version']} ({m['anvil_commit'][:10]}); "
          f"ledger code {results['ledger_code']}" + (f"  WARNING: {results['warning']}" if "warning" in results else ""))
    print(f"results: {out}")


if __name__ == "__main__":
    main()
