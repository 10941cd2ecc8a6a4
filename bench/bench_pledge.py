"""Benchmark: pledges. Gas of the pledge functions as the lien list grows, and the wall time
of checking a collateral bundle against anvil.

    .venv/bin/python bench/bench_pledge.py [--json FILE]        # both phases, ~5 min
    .venv/bin/python bench/bench_pledge.py --phases gas         # gas only, ~2 min
    .venv/bin/python bench/bench_pledge.py --phases anvil       # wall time only, ~3 min
    .venv/bin/python bench/bench_pledge.py --quick              # smoke test (small sizes), ~2 min

**Phase gas** runs on the in-process EVM (eth-tester 0.14 / py-evm, its default Prague rules)
with the committed artifact ``ledger/chain/artifacts/DataPledgeRegistry.json``, like
``bench_chain.py``; figures are ``gasUsed`` of the transaction (21,000 and calldata
included, refunds deducted). One chain: the factory registers each log itself and anchors a
checkpoint of 1,000,000 records (a random root), the admin approves two lenders with
``grantRole(LENDER_ROLE)``, the factory signs each consent with ``eth_account`` from
``PLEDGE_CONSENT_TYPES`` (so every issue also checks that the Python EIP-712 type matches
the contract's). Before anything is measured, both lenders receive a pledge on a separate
log, so that ``_lastTokenId`` and the lenders' ERC-721 balances are non-zero: no figure
pays a zero-to-non-zero write that only the very first pledge would pay.

For N = 0, 10, 100 live pledges already on one log (ranges ``[1000(i+1), 1000(i+1)+500)``,
issued in order with the hint from ``issueHint``), each figure is taken from the same chain
snapshot (eth-tester ``take_snapshot`` / ``revert_to_snapshot``):

- ``issue`` of a 100-record range placed at the end of the list, at the start, and in the
  middle (after pledge N/2), with the correct hint (the one ``issueHint`` returns, asserted
  to be the expected neighbour) and with hint 0 (the contract walks the list from its head);
- with a *target* pledge issued in the middle of the list: ``safeTransferFrom`` and
  ``transferFrom`` to the other lender, ``release``, ``extend`` (lien end + 1 day) and,
  after time travel past maturity, ``declareDefault``;
- the views ``issueHint`` (at the end of the list) and ``liensOf`` through ``eth_estimateGas``
  (what a node spends answering them; a view costs no gas off chain).

Lapsed pledges in the way: on logs with 5 live pledges before and 5 after a region, k
pledges of 10 records with a 1-day lien, time travel 2 days, then ``issue`` of the whole
region ``[10000, 12000)`` with the correct hint, which unlinks the k lapsed pledges.

**Phase anvil** starts its own anvil on a free port (``ledger.chain.node.up``, as ``dpl
chain up``; reaped and stopped on the way out, also on an error, Ctrl-C or SIGTERM) and
drives the ``dpl`` command line in a fresh DPL home: ``keys import-dev``, ``deploy``, ``log
create``, ``ingest`` of R synthetic telemetry records (``ledger.synthetic.telemetry``),
``anchor`` (then 3 blocks mined and ``anchor`` again, so the checkpoint is final), ``lenders
add dev2``, ``asset create`` (timed), ``pledge consent --samples K`` of the range
``[0, R)``, ``pledge issue``, ``pledge bundle`` (timed), then ``pledge verify TOKEN
--bundle FILE --rpc URL`` (timed, with an empty DPL home: the lender has nothing but the
bundle and an RPC URL, so the registry is the one the bundle names). In process it times
``verify_against_chain`` on the parsed bundle and the pure ``verify_collateral`` alone (the
chain facts read once beforehand), ``build_manifest`` and ``build_bundle``, and, in fresh
interpreters, the imports ``dpl pledge verify`` needs and its first and second call (the
command's time split). Each command's CPU time is recorded next to its wall time (other work
on a 2-core VM skews wall time), and so are the CPU used by other processes while verify is
timed and a CPU calibration. JSON-RPC calls are counted by sending one extra run of each
command through a counting HTTP proxy in front of anvil (those runs are not timed).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.server
import json
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from eth_account import Account  # noqa: E402
from web3 import EthereumTesterProvider, Web3  # noqa: E402
from web3.logs import DISCARD  # noqa: E402

import bench_anchor as ba  # noqa: E402  (anvil start/stop/reap, machine facts, CPU accounting)
from ledger.chain.build import load_artifact  # noqa: E402
from ledger.chain.client import DOMAIN_NAME, DOMAIN_VERSION, PLEDGE_CONSENT_TYPES, log_id_of  # noqa: E402
from ledger.pledge.terms import Terms  # noqa: E402

SEED = 2026
DAY = 86400
CHECKPOINT = 10**6
EIP712_DOMAIN = [
    {"name": "name", "type": "string"}, {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"},
]
CHECKPOINT_TYPES = [
    {"name": "logId", "type": "bytes32"}, {"name": "size", "type": "uint64"}, {"name": "root", "type": "bytes32"},
]


# =========================================================================== phase gas


class GasChain:
    """The registry on one in-process chain, with a factory, an admin and two lenders."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.w3 = Web3(EthereumTesterProvider())
        self.tester = self.w3.provider.ethereum_tester
        keys = self.tester.backend.account_keys
        accounts = [Account.from_key(k.to_bytes()) for k in keys]
        self.admin, self.factory, self.lender, self.lender2 = accounts[:4]
        artifact = load_artifact("DataPledgeRegistry")
        self.sources_sha256 = artifact["sources_sha256"]
        deployer = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self._send(deployer.constructor(), self.admin)
        self.registry = self.w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])
        self.fns = self.registry.functions
        role = self.fns.LENDER_ROLE().call()
        self.grant_gas = [self._send(self.fns.grantRole(role, a.address), self.admin).gasUsed
                          for a in (self.lender, self.lender2)]
        self.t0 = self.now()
        self.deadline = self.t0 + 3650 * DAY
        self.streams = 0
        self.nonce = 0

    def _send(self, fn, sender):
        # An explicit gas limit skips eth-tester's gas estimate (a binary search of ~15 runs
        # of the transaction); gasUsed does not depend on the limit.
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender.address, "gas": 5_000_000}))
        assert receipt.status == 1
        return receipt

    def now(self) -> int:
        return self.w3.eth.get_block("latest")["timestamp"]

    def travel(self, timestamp: int) -> None:
        """eth-tester mines a block at ``timestamp - 1``; the next transaction sees ``timestamp``."""
        self.tester.time_travel(timestamp)

    def _domain(self) -> dict:
        return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.w3.eth.chain_id,
                "verifyingContract": self.registry.address}

    def new_log(self) -> bytes:
        """A log registered by its factory, with one anchored checkpoint of CHECKPOINT records."""
        self.streams += 1
        stream = f"bench/pledge-{self.streams}"
        self._send(self.fns.registerLog(self.factory.address, stream, b""), self.factory)
        log_id = log_id_of(self.factory.address, stream)
        root = self.rng.randbytes(32)
        message = {"types": {"EIP712Domain": EIP712_DOMAIN, "Checkpoint": CHECKPOINT_TYPES},
                   "primaryType": "Checkpoint", "domain": self._domain(),
                   "message": {"logId": log_id, "size": CHECKPOINT, "root": root}}
        signature = bytes(Account.sign_typed_data(self.factory.key, full_message=message).signature)
        self._send(self.fns.anchor(log_id, CHECKPOINT, root, [], signature), self.factory)
        return log_id

    def issue_fn(self, log_id: bytes, start: int, end: int, *, lien_end: int, maturity: int,
                 hint: int | None = None, lender=None, covenants_digest: bytes = bytes(32)):
        """The ``issue`` call for a fresh consent over ``[start, end)``; ``hint=None`` asks
        ``issueHint``. Returns (fn, lender, hint)."""
        lender = lender or self.lender
        terms = Terms(log_id, start, end, CHECKPOINT, self.rng.randbytes(32), 50_000_000, "CNY", maturity,
                      lien_end, lien_end + 30 * DAY, 100, self.rng.randbytes(32), lender.address, covenants_digest)
        self.nonce += 1
        message = {**terms.message(), "nonce": self.nonce, "deadline": self.deadline}
        signature = bytes(self.factory.sign_typed_data(self._domain(), PLEDGE_CONSENT_TYPES, message).signature)
        if hint is None:
            hint = self.fns.issueHint(log_id, start).call()
        return self.fns.issue(terms.as_tuple(), self.nonce, self.deadline, signature, hint), lender, hint

    def issue(self, log_id: bytes, start: int, end: int, **kw) -> tuple[int, int]:
        """Issue a pledge; returns (token id, gasUsed)."""
        fn, lender, _ = self.issue_fn(log_id, start, end, **kw)
        receipt = self._send(fn, lender)
        events = self.registry.events.PledgeIssued().process_receipt(receipt, errors=DISCARD)
        return events[0]["args"]["tokenId"], receipt.gasUsed

    def gas(self, fn, sender) -> int:
        return self._send(fn, sender).gasUsed

    @contextlib.contextmanager
    def scratch(self):
        """Run a measurement, then put the chain back as it was."""
        snapshot = self.tester.take_snapshot()
        try:
            yield
        finally:
            self.tester.revert_to_snapshot(snapshot)


def slope(points: dict[int, int]) -> float:
    """Gas per extra pledge between the two largest sizes (N = 0 is special: an empty list
    writes its head slot from zero, a non-empty one a neighbour's pointer)."""
    (n1, g1), (n2, g2) = sorted(points.items())[-2:]
    return (g2 - g1) / (n2 - n1)


def lsq_slope(points: dict[int, int]) -> float:
    """Least-squares slope of gas against the number of pledges."""
    xs, ys = list(points), list(points.values())
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def phase_gas(sizes: list[int], lapsed_counts: list[int]) -> dict:
    rng = random.Random(SEED)
    c = GasChain(rng)
    t0 = c.t0
    live = {"maturity": t0 + 30 * DAY, "lien_end": t0 + 5 * 365 * DAY}
    short = {"maturity": t0 + DAY // 2, "lien_end": t0 + DAY}
    out: dict = {"grant_role_gas": c.grant_gas, "sources_sha256": c.sources_sha256}

    # Warm-up: both lenders hold a pledge and _lastTokenId is non-zero before anything is measured.
    warm = c.new_log()
    _, out["first_issue_on_chain_gas"] = c.issue(warm, 0, 10, **live)
    c.issue(warm, 10, 20, **live, lender=c.lender2)
    # the same place (the end of the warm-up log's list, correct hint) without and with covenants
    with c.scratch():
        _, out["issue_without_covenants_gas"] = c.issue(warm, 20, 30, **live)
    with c.scratch():
        _, out["issue_with_covenants_gas"] = c.issue(warm, 20, 30, **live, covenants_digest=rng.randbytes(32))

    t_build = time.perf_counter()
    logs: dict[int, dict] = {}
    for n in sizes:
        log_id = c.new_log()
        tokens = [c.issue(log_id, 1000 * (i + 1), 1000 * (i + 1) + 500, **live)[0] for i in range(n)]
        logs[n] = {"log_id": log_id, "tokens": tokens}
    region = (10_000, 12_000)
    lapsed_logs: dict[int, dict] = {}
    for k in lapsed_counts:
        assert k <= (region[1] - region[0]) // 20
        log_id = c.new_log()
        before = [c.issue(log_id, 1000 * i, 1000 * i + 500, **live)[0] for i in range(5)]
        lapsed = [c.issue(log_id, region[0] + 20 * j, region[0] + 20 * j + 10, **short)[0] for j in range(k)]
        after = [c.issue(log_id, 20_000 + 1000 * i, 20_000 + 1000 * i + 500, **live)[0] for i in range(5)]
        lapsed_logs[k] = {"log_id": log_id, "before": before, "lapsed": lapsed, "after": after}
    out["build_seconds"] = time.perf_counter() - t_build
    print(f"  gas: lists built ({out['build_seconds']:.1f} s)", file=sys.stderr)

    # --- issue, at the end / start / middle, correct hint vs hint 0 --------------------------
    issue: dict[str, dict[int, int]] = collections.defaultdict(dict)
    views: dict[str, dict[int, int]] = collections.defaultdict(dict)
    for n, log in logs.items():
        toks = log["tokens"]
        m = n // 2
        placements = {
            "end": (1000 * (n + 1), 1000 * (n + 1) + 100, toks[-1] if toks else 0),
            "start": (0, 100, 0),
            "middle": (1000 * m + 600, 1000 * m + 700, toks[m - 1] if m else 0),
        }
        for where, (start, end, expected_hint) in placements.items():
            fn, lender, hint = c.issue_fn(log["log_id"], start, end, **live)
            assert hint == expected_hint, (n, where, hint, expected_hint)
            with c.scratch():
                issue[f"{where}, correct hint"][n] = c.gas(fn, lender)
            if where != "start":  # at the start the correct hint is 0 already
                fn0, lender, _ = c.issue_fn(log["log_id"], start, end, **live, hint=0)
                with c.scratch():
                    issue[f"{where}, hint 0"][n] = c.gas(fn0, lender)
        views["issueHint (end of list)"][n] = c.fns.issueHint(log["log_id"], 1000 * (n + 1)).estimate_gas()
        views["liensOf"][n] = c.fns.liensOf(log["log_id"]).estimate_gas()
        assert len(c.fns.liensOf(log["log_id"]).call()) == n

    # --- the holder's moves on a target pledge in the middle of the list ---------------------
    targets = {}
    for n, log in logs.items():
        m = n // 2
        targets[n], _ = c.issue(log["log_id"], 1000 * m + 600, 1000 * m + 700, **live)
    holder: dict[str, dict[int, int]] = collections.defaultdict(dict)
    a, b = c.lender, c.lender2
    for n, token in targets.items():
        moves = {
            "safeTransferFrom": c.fns.safeTransferFrom(a.address, b.address, token),
            "transferFrom": c.fns.transferFrom(a.address, b.address, token),
            "release": c.fns.release(token),
            "extend (+1 day)": c.fns.extend(token, live["lien_end"] + DAY),
        }
        for name, fn in moves.items():
            with c.scratch():
                holder[name][n] = c.gas(fn, a)

    # --- lapsed pledges in the way: time travel past their lien end --------------------------
    c.travel(t0 + 2 * DAY)
    lapsed_gas: dict[int, int] = {}
    for k, log in lapsed_logs.items():
        fn, lender, hint = c.issue_fn(log["log_id"], *region, **live)
        assert hint == log["before"][-1], (k, hint)
        with c.scratch():
            receipt = c._send(fn, lender)
            lapsed_gas[k] = receipt.gasUsed
            statuses = [c.fns.pledgeStatus(t).call() for t in log["lapsed"]]
            assert statuses == [4] * k, statuses  # still read as lapsed, now out of the list
            assert len(c.fns.liensOf(log["log_id"]).call()) == 11

    # --- declareDefault, past maturity ------------------------------------------------------
    c.travel(live["maturity"] + 60)
    for n, token in targets.items():
        with c.scratch():
            holder["declareDefault"][n] = c.gas(c.fns.declareDefault(token), a)

    out.update(sizes=sizes, lapsed_counts=lapsed_counts, issue=dict(issue), holder=dict(holder),
               views=dict(views), lapsed_issue=lapsed_gas)
    out["slopes"] = {name: slope(v) for group in (issue, holder, views) for name, v in group.items()}
    out["lapsed_slope"] = lsq_slope(lapsed_gas)
    return out


def gas_summary(g: dict) -> str:
    sizes = g["sizes"]
    lines = [f"gasUsed (Prague, eth-tester) with N live pledges already on the log; gas/pledge = slope between "
             f"N={sizes[-2]} and N={sizes[-1]}",
             f"{'function':<34} | " + " | ".join(f"{'N=' + str(n):>9}" for n in sizes) + f" | {'gas/pledge':>10}"]
    for group in ("issue", "holder", "views"):
        if group == "views":
            lines.append("views, eth_estimateGas (21,000 included; free off chain, node CPU only)")
        for name, v in g[group].items():
            label = f"issue, {name}" if group == "issue" else name
            lines.append(f"{label:<34} | " + " | ".join(f"{v[n]:>9,}" for n in sizes) +
                         f" | {g['slopes'][name]:>10,.1f}")
    ks = g["lapsed_counts"]
    lines.append("")
    lines.append("issue over k lapsed pledges (unlinked), correct hint, 5 live pledges each side")
    lines.append(f"{'k':>5} | " + " | ".join(f"{k:>9}" for k in ks))
    lines.append(f"{'gas':>5} | " + " | ".join(f"{g['lapsed_issue'][k]:>9,}" for k in ks))
    lines.append(f"per unlinked pledge (least-squares slope): {g['lapsed_slope']:,.0f} gas")
    lines.append(f"first pledge ever on the chain (zero-to-non-zero token counter and balance): "
                 f"{g['first_issue_on_chain_gas']:,} gas; grantRole(LENDER_ROLE): {g['grant_role_gas'][0]:,} gas")
    lines.append(f"issue at the end of a list, correct hint: {g['issue_without_covenants_gas']:,} gas without covenants "
                 f"(covenantsDigest zero), {g['issue_with_covenants_gas']:,} with (a non-zero covenantsDigest)")
    return "\n".join(lines)


# ========================================================================= phase anvil


DPL = str(Path(sys.executable).parent / "dpl")
STREAM = "bench/pledge"


class CountingProxy:
    """An HTTP proxy in front of anvil that counts JSON-RPC requests per method."""

    def __init__(self, target: str):
        counts = self.counts = collections.Counter()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                msg = json.loads(body)
                for m in msg if isinstance(msg, list) else [msg]:
                    counts[m.get("method", "?")] += 1
                req = urllib.request.Request(target, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=120) as resp:
                    data = resp.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self) -> dict:
        out = dict(sorted(self.counts.items(), key=lambda kv: -kv[1]))
        self.counts.clear()
        return out

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def cpu_times() -> tuple[float, float]:
    """(CPU seconds of every process on the machine, of this process and its waited-for children)."""
    busy, _ = ba.busy_seconds()
    t = os.times()
    return busy, t.user + t.system + t.children_user + t.children_system


class Dpl:
    """The ``dpl`` command line in one DPL home."""

    def __init__(self, home: Path, rpc_url: str, cwd: Path):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
        self.env.update(DPL_HOME=str(home), DPL_RPC_URL=rpc_url)
        self.cwd = cwd

    def __call__(self, *args: str, check: str | None = None) -> tuple[str, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([DPL, *args], env=self.env, capture_output=True, timeout=600, cwd=self.cwd)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.last_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        out, err = proc.stdout.decode(), proc.stderr.decode()
        if proc.returncode != 0:
            raise RuntimeError(f"dpl {' '.join(args)} failed ({proc.returncode}): {err.strip()[-2000:]}")
        if check is not None and check not in out + err:
            raise RuntimeError(f"dpl {' '.join(args)}: {check!r} not in its output: {out[-1000:]}")
        return out, seconds

    def timed(self, repeats: int, *args: str, check: str | None = None) -> dict:
        """Runs the command ``repeats`` times: wall seconds, and CPU seconds of the dpl process
        (user + system; less sensitive than wall time to other work on the machine)."""
        walls, cpus = [], []
        for _ in range(repeats):
            walls.append(self(*args, check=check)[1])
            cpus.append(self.last_cpu)
        return {"seconds": walls, "median_ms": median_ms(walls), "cpu_seconds": cpus, "cpu_median_ms": median_ms(cpus)}


VERIFY_IMPORTS = "import ledger.cli, ledger.cli_pledge, ledger.pledge.collateral_chain"
# In a fresh interpreter: what `dpl pledge verify` imports, then the first and the second
# verify_against_chain, each timed (ms). Splits the command's time into imports, the first
# call's one-time costs (web3 set-up, ABI parsing, first connection) and the work itself.
FRESH_VERIFY = """
import json, sys, time
t0 = time.perf_counter()
import ledger.cli, ledger.cli_pledge
from ledger.pledge.collateral_chain import verify_against_chain
t1 = time.perf_counter()
bundle = json.loads(open(sys.argv[1], "rb").read())
args = (bundle, int(sys.argv[2]), sys.argv[3], __import__("pathlib").Path(sys.argv[4]))
assert verify_against_chain(*args).sound
t2 = time.perf_counter()
assert verify_against_chain(*args).sound
t3 = time.perf_counter()
print(json.dumps({"imports_ms": 1000 * (t1 - t0), "first_verify_ms": 1000 * (t2 - t1),
                  "second_verify_ms": 1000 * (t3 - t2)}))
"""
IMPORT_PARTS = ("ledger.cli", "typer", "sqlalchemy", "pydantic", "web3", "eth_account", "eth_keyfile.keyfile",
                "py_ecc.bls", "ledger.chain.client", "ledger.pledge.collateral_chain")


def import_times() -> dict[str, float]:
    """Cumulative import time (ms) of a few modules, from one ``python -X importtime`` run of
    what ``dpl pledge verify`` imports (a module is charged where it is first imported)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", VERIFY_IMPORTS], capture_output=True,
                          text=True, check=True, cwd=ROOT)
    out = {}
    for line in proc.stderr.splitlines():
        parts = [p.strip() for p in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] in IMPORT_PARTS and parts[1].isdigit():
            out[parts[2]] = int(parts[1]) / 1000
    return out


def median_ms(xs: list[float]) -> float:
    return 1000 * statistics.median(xs)


def phase_anvil(records: int, samples: int, cli_repeats: int, inproc_repeats: int, node_kind: str,
                keep: bool) -> dict:
    from ledger import synthetic
    from ledger.assets import build_manifest
    from ledger.chain import node
    from ledger.chain.client import Chain
    from ledger.pledge.collateral import verify_collateral
    from ledger.pledge.collateral_chain import build_bundle, verify_against_chain
    from ledger.pledge.chain import read_pledge
    from ledger.settings import Settings
    from ledger.store.logstore import LogStore

    # node.up() leaves anvil running on purpose and its Popen object is collected meanwhile;
    # some import above turns ResourceWarnings on, so the filter goes here.
    warnings.filterwarnings("ignore", message="subprocess .* is still running", category=ResourceWarning)
    tmp = Path(tempfile.mkdtemp(prefix="dpl-bench-pledge-"))
    out: dict = {"records": records, "samples": samples, "node": node_kind}
    try:
        with ba.anvil(node_kind, tmp / "node") as url:
            home, lender_home = tmp / "home", tmp / "lender-home"
            lender_home.mkdir()
            dpl = Dpl(home, url, tmp)
            lender = Dpl(lender_home, "http://127.0.0.1:9", tmp)  # only --rpc reaches the chain
            dpl("keys", "import-dev")
            dpl("deploy")
            dpl("log", "create", STREAM)
            data = tmp / "records.jsonl"
            with open(data, "w") as f:
                for rec in synthetic.telemetry(records, seed=SEED):
                    f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            _, out["ingest_seconds"] = dpl("ingest", "--log", STREAM, str(data))
            _, out["anchor_seconds"] = dpl("anchor")
            ba.mine(url, 3)
            dpl("anchor")  # reconciles: the checkpoint is final
            dpl("lenders", "add", "dev2")
            print(f"  anvil: {records:,} records ingested ({out['ingest_seconds']:.1f} s) and anchored",
                  file=sys.stderr)

            # --- the manifest (asset create) for the pledged range, and for a tenth of it
            asset = {}
            for size in sorted({records, max(1, records // 10)}):
                asset[size] = dpl.timed(3, "asset", "create", "--log", STREAM, "--from", "0", "--to", str(size),
                                        "--json")
            settings = Settings(home=home, database_url=None, data_key=None)
            store = LogStore.open(settings)
            try:
                info = store.get_log(STREAM)
                for size in asset:
                    root = store.root_at(STREAM, records)
                    runs = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        build_manifest(store, STREAM, 0, size, records, root)
                        runs.append(time.perf_counter() - t0)
                    asset[size].update(build_manifest_seconds=runs, build_manifest_median_ms=median_ms(runs))
            finally:
                store.close()
            out["asset_create"] = asset
            print(f"  anvil: asset create over {records:,} records: {asset[records]['median_ms']:.0f} ms",
                  file=sys.stderr)

            # --- consent, issue, bundle
            now = int(node.rpc_call(url, "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
            consent = tmp / "consent.json"
            _, out["consent_seconds"] = dpl(
                "pledge", "consent", "--log", STREAM, "--from", "0", "--to", str(records), "--lender", "dev2",
                "--principal", "50000000", "--currency", "CNY", "--maturity", str(now + 30 * DAY),
                "--lien-end", str(now + 60 * DAY), "--samples", str(samples), "--loan-ref", "BENCH-LOAN-1",
                "--out", str(consent))
            issued, out["issue_seconds"] = dpl("pledge", "issue", str(consent), "--key", "dev2", "--json")
            token = json.loads(issued)["token_id"]
            bundle_path = tmp / "bundle.json"
            timed = dpl.timed(3, "pledge", "bundle", str(token), "--out", str(bundle_path))
            bundle = json.loads(bundle_path.read_text())
            assert len(bundle["entries"]) == samples
            store = LogStore.open(settings)
            try:
                chain = Chain(url, bundle["registry"])
                inproc = []
                for _ in range(3):
                    t = time.perf_counter()
                    again = build_bundle(store, chain, token)
                    inproc.append(time.perf_counter() - t)
                assert json.loads(json.dumps(again)) == bundle
            finally:
                store.close()
            proof_lengths = [len(e["proof"]) for e in bundle["entries"]]
            out["bundle"] = {**timed, "build_bundle_seconds": inproc, "build_bundle_median_ms": median_ms(inproc),
                             "bytes": bundle_path.stat().st_size, "entries": len(bundle["entries"]),
                             "proof_hashes_min_max": [min(proof_lengths), max(proof_lengths)]}
            print(f"  anvil: pledge {token} issued; bundle of {samples} samples "
                  f"({out['bundle']['bytes']:,} bytes) in {out['bundle']['median_ms']:.0f} ms", file=sys.stderr)

            # --- verify: the command line, end to end, with the lender's empty home
            calibration = [ba.cpu_calibration()]
            busy0, own0 = cpu_times()
            cpu0, t0 = ba.anvil_cpu(), time.perf_counter()
            out["verify_cli"] = lender.timed(cli_repeats, "pledge", "verify", str(token), "--bundle",
                                             str(bundle_path), "--rpc", url, check="collateral SOUND")
            out["dpl_help"] = lender.timed(cli_repeats, "--help")
            for name, code in (("python_bare", "pass"), ("python_imports", VERIFY_IMPORTS)):
                runs = []
                for _ in range(cli_repeats):
                    t = time.perf_counter()
                    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
                    runs.append(time.perf_counter() - t)
                out[name] = {"seconds": runs, "median_ms": median_ms(runs)}
            out["import_ms"] = import_times()
            split = []
            for _ in range(cli_repeats):
                proc = subprocess.run([sys.executable, "-c", FRESH_VERIFY, str(bundle_path), str(token), url,
                                       str(lender_home)], check=True, cwd=ROOT, capture_output=True, text=True)
                split.append(json.loads(proc.stdout))
            out["fresh_process_split"] = {k: statistics.median(r[k] for r in split) for k in split[0]}

            # --- verify in process: verify_against_chain on the parsed bundle; the pure checks alone
            first_t = time.perf_counter()
            report = verify_against_chain(bundle, token, url, lender_home)
            first = time.perf_counter() - first_t
            assert report.sound, [c for c in report.checks if not c.ok]
            runs = []
            for _ in range(inproc_repeats):
                t = time.perf_counter()
                report = verify_against_chain(bundle, token, url, lender_home)
                runs.append(time.perf_counter() - t)
                assert report.sound
            out["verify_inprocess"] = {"first_seconds": first, "seconds": runs, "median_ms": median_ms(runs),
                                       "checks": len(report.checks)}
            chain = Chain(url, bundle["registry"])
            view = read_pledge(chain, token)
            t_ = view.terms
            root = chain.registry.functions.rootAt(t_.log_id, t_.checkpoint_size).call()
            block_hash = chain.block_hash(view.issue_block)
            runs = []
            for _ in range(inproc_repeats):
                t = time.perf_counter()
                pure = verify_collateral(bundle, token_id=token, terms=t_, issue_block=view.issue_block,
                                         anchored_root=bytes(root), issue_block_hash=block_hash)
                runs.append(time.perf_counter() - t)
                assert pure.sound
            out["verify_pure"] = {"seconds": runs, "median_ms": median_ms(runs)}
            runs = []
            for _ in range(inproc_repeats):
                t = time.perf_counter()
                json.loads(bundle_path.read_bytes())
                runs.append(time.perf_counter() - t)
            out["bundle_json_load"] = {"median_ms": median_ms(runs)}
            busy1, own1 = cpu_times()
            cpu1, t1 = ba.anvil_cpu(), time.perf_counter()
            out["load_during_verify"] = {
                "seconds": t1 - t0, "bench_cores": (own1 - own0) / (t1 - t0),
                "anvil_cores": (cpu1 - cpu0) / (t1 - t0),
                "other_cores": max(0.0, (busy1 - busy0) - (own1 - own0) - (cpu1 - cpu0)) / (t1 - t0),
                "cpu_calibration_seconds": calibration + [ba.cpu_calibration()]}

            # --- JSON-RPC calls, one untimed run of each through the counting proxy
            proxy = CountingProxy(url)
            try:
                rpc = {}
                lender("pledge", "verify", str(token), "--bundle", str(bundle_path), "--rpc", proxy.url,
                       check="collateral SOUND")
                rpc["verify_cli"] = proxy.take()
                assert verify_against_chain(bundle, token, proxy.url, lender_home).sound
                rpc["verify_inprocess"] = proxy.take()
                dpl("pledge", "bundle", str(token), "--out", str(tmp / "bundle2.json"), "--rpc", proxy.url)
                rpc["bundle_cli"] = proxy.take()
                dpl("asset", "create", "--log", STREAM, "--from", "0", "--to", str(records), "--json",
                    "--rpc", proxy.url)
                rpc["asset_create_cli"] = proxy.take()
            finally:
                proxy.close()
            out["rpc_calls"] = {k: {"total": sum(v.values()), "methods": v} for k, v in rpc.items()}
            out["anvil_blocks"] = int(node.rpc_call(url, "eth_blockNumber"), 16)
    finally:
        if keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return out


def anvil_summary(x: dict) -> str:
    r, k = x["records"], x["samples"]
    rpc = x["rpc_calls"]
    rows = []

    def runs(v):
        s = v["seconds"]
        return f"median of {len(s)}, {1000 * min(s):,.0f}–{1000 * max(s):,.0f} ms"

    def cli(v):
        return f"{v['median_ms']:,.0f} ms ({runs(v)}); dpl CPU {v['cpu_median_ms']:,.0f} ms"

    rows.append((f"dpl pledge verify, k={k}, CLI end to end", f"{cli(x['verify_cli'])}; "
                 f"{rpc['verify_cli']['total']} RPC calls"))
    rows.append(("  dpl --help (interpreter + CLI start)", cli(x["dpl_help"])))
    rows.append(("  python -c 'import ledger.cli, .cli_pledge, .pledge_collateral'",
                 f"{x['python_imports']['median_ms']:,.0f} ms ({runs(x['python_imports'])}); python -c pass "
                 f"{x['python_bare']['median_ms']:.0f} ms"))
    rows.append(("  of which (python -X importtime, cumulative, one run)",
                 ", ".join(f"{m} {v:,.0f}" for m, v in x["import_ms"].items()) + " ms"))
    f = x["fresh_process_split"]
    rows.append(("  in a fresh interpreter: imports / first verify / second verify",
                 f"{f['imports_ms']:,.0f} / {f['first_verify_ms']:,.0f} / {f['second_verify_ms']:,.0f} ms (medians)"))
    v = x["verify_inprocess"]
    rows.append((f"verify_against_chain in process, k={k}", f"{v['median_ms']:.1f} ms ({runs(v)}; first call "
                 f"{1000 * v['first_seconds']:.0f} ms); {rpc['verify_inprocess']['total']} RPC calls"))
    rows.append(("  verify_collateral alone (no chain)",
                 f"{x['verify_pure']['median_ms']:.1f} ms ({runs(x['verify_pure'])})"))
    rows.append(("  json.loads of the bundle file", f"{x['bundle_json_load']['median_ms']:.1f} ms"))
    b = x["bundle"]
    rows.append((f"dpl pledge bundle, k={k}, range of {r:,}", f"{cli(b)}; build_bundle in process "
                 f"{b['build_bundle_median_ms']:,.0f} ms"))
    rows.append(("  bundle", f"{b['bytes']:,} bytes, proofs of {b['proof_hashes_min_max'][0]}–"
                 f"{b['proof_hashes_min_max'][1]} hashes; {rpc['bundle_cli']['total']} RPC calls"))
    for size, a in sorted(x["asset_create"].items(), key=lambda kv: -int(kv[0])):
        rows.append((f"dpl asset create, {int(size):,} records", f"{cli(a)}; build_manifest in process "
                     f"{a['build_manifest_median_ms']:,.0f} ms"))
    rows.append(("  RPC calls of asset create", str(rpc["asset_create_cli"]["total"])))
    rows.append((f"setup: ingest of {r:,} records / anchor / consent / issue (CLI, one run each)",
                 f"{x['ingest_seconds']:.1f} s / {x['anchor_seconds']:.1f} s / {x['consent_seconds']:.1f} s / "
                 f"{x['issue_seconds']:.1f} s"))
    lv = x["load_during_verify"]
    rows.append(("CPU in cores while timing verify", f"bench {lv['bench_cores']:.2f}, anvil {lv['anvil_cores']:.2f}, "
                 f"other processes {lv['other_cores']:.2f} ({lv['seconds']:.0f} s); calibration before / after "
                 + " / ".join(f"{c:.2f} s" for c in lv["cpu_calibration_seconds"])))
    width = max(len(a) for a, _ in rows)
    return "\n".join(f"{a:<{width}}  {b}" for a, b in rows)


# ======================================================================== main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--phases", default="gas,anvil", help="comma-separated subset of gas,anvil")
    ap.add_argument("--records", type=int, default=100_000, help="phase anvil: records ingested and pledged")
    ap.add_argument("--samples", type=int, default=100, help="phase anvil: k, records a collateral check samples")
    ap.add_argument("--cli-repeats", type=int, default=7, help="phase anvil: runs of each timed command")
    ap.add_argument("--inproc-repeats", type=int, default=15, help="phase anvil: runs of each in-process check")
    ap.add_argument("--node", choices=["dpl", "plain"], default="dpl",
                    help="dpl: anvil as `dpl chain up` runs it; plain: without state persistence")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke test, not a measurement")
    a = ap.parse_args(argv)
    phases = a.phases.split(",")
    if not set(phases) <= {"gas", "anvil"}:
        ap.error(f"unknown phase in {phases}")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    files = ba.code_files()
    from ledger.chain import node

    results: dict = {"started": time.strftime("%FT%T%z"), "quick": a.quick, "params": vars(a) | {"json": str(a.json)},
                     "machine": ba.machine(node.anvil_binary()), "ledger_code": ba.code_digest(files),
                     "cpu_calibration_seconds": [ba.cpu_calibration()]}
    if "gas" in phases:
        sizes, ks = ([0, 3, 6], [0, 1, 4]) if a.quick else ([0, 10, 100], [0, 1, 2, 10, 50, 100])
        results["gas"] = phase_gas(sizes, ks)
        print(gas_summary(results["gas"]))
    if "anvil" in phases:
        if a.quick:
            a.records, a.samples, a.cli_repeats, a.inproc_repeats = 2000, 20, 2, 3
        results["anvil"] = phase_anvil(a.records, a.samples, a.cli_repeats, a.inproc_repeats, a.node, a.keep)
        print(anvil_summary(results["anvil"]))
    results["cpu_calibration_seconds"].append(ba.cpu_calibration())
    now = ba.code_files()
    changed = sorted(f for f in files.keys() | now.keys() if files.get(f) != now.get(f))
    if changed:
        results["warning"] = f"ledger/ changed during the run: {', '.join(changed)}"
        print("WARNING: " + results["warning"], file=sys.stderr)
    m = results["machine"]
    print(f"machine: {m['cpu']}, nproc {m['nproc']}, Python {m['python']}; {m['anvil_version']} "
          f"({m['anvil_commit'][:10]}); ledger code {results['ledger_code']}; CPU calibration (300k SHA-256) "
          + " / ".join(f"{c:.2f} s" for c in results["cpu_calibration_seconds"]))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
