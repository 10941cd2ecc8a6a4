"""Anchoring on a real anvil, through the dpl command line, faults included.

Each test gets its own anvil (``make test`` needs `npm ci` to have installed it; without it
these tests fail, they never skip).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger.chain import node

DPL = str(Path(sys.executable).parent / "dpl")
SAMPLE = Path(__file__).resolve().parents[2] / "ledger" / "samples" / "factory-month.jsonl"
STREAM = "line-a/mes"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    port = _free_port()
    info = node.up(home, port=port)
    e = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    e.update(DPL_HOME=str(home), DPL_RPC_URL=info.rpc_url)
    yield {"env": e, "home": home, "rpc": info.rpc_url, "tmp": tmp_path}
    node.down(home)


def dpl(env, *args, ok=True, input=None, extra=None):
    proc = subprocess.run([DPL, *args], env={**env["env"], **(extra or {})}, capture_output=True,
                          input=input, timeout=180, cwd=env["tmp"])
    out, err = proc.stdout.decode(), proc.stderr.decode()
    if ok:
        assert proc.returncode == 0, err
    else:
        assert proc.returncode != 0, out
        assert "Traceback" not in err, err
    return proc.returncode, out, err


def _setup(env, records=SAMPLE):
    dpl(env, "keys", "import-dev")
    dpl(env, "deploy")
    dpl(env, "log", "create", STREAM)
    dpl(env, "ingest", "--log", STREAM, str(records))


def _mine(env, n=3):
    for _ in range(n):
        node.rpc_call(env["rpc"], "evm_mine")


def _anchor_events(env) -> list[dict]:
    """Every CheckpointAnchored event on the canonical chain (read with web3 directly)."""
    from ledger.chain.client import Chain
    from ledger.chain.deploy import load_deployment

    record = load_deployment(env["home"], 31337)
    chain = Chain(env["rpc"], record["address"])
    return [dict(e["args"]) for e in chain.registry.events.CheckpointAnchored.get_logs(from_block=0)]


def test_ingest_anchor_prove_verify_against_the_chain(env):
    _setup(env)
    _, out, _ = dpl(env, "anchor", "--json")
    [report] = json.loads(out)
    assert report["stream"] == STREAM and report["state"] in ("included", "final")
    _mine(env)
    _, out, _ = dpl(env, "anchor", "--json")
    assert json.loads(out)[0]["state"] == "final"
    _, out, _ = dpl(env, "log", "checkpoints", STREAM, "--json")  # the anchor's state, as the API shows it
    [checkpoint] = json.loads(out)
    assert checkpoint["size"] == report["size"] and checkpoint["anchor"]["state"] == "final"
    assert checkpoint["anchor"]["tx_hash"] == report["tx_hash"] and checkpoint["anchor"]["chain_id"] == 31337
    assert f"final in block {report['block_number']} on chain 31337" in dpl(env, "log", "checkpoints", STREAM)[1]

    bundle = env["tmp"] / "wo.json"
    dpl(env, "prove", "--log", STREAM, "--id", "WO-2026-00042", "--out", str(bundle))
    doc = json.loads(bundle.read_text())
    assert doc["anchor"]["chain_id"] == 31337 and doc["log_id"].startswith("0x")
    _, out, _ = dpl(env, "verify", str(bundle), "--rpc", env["rpc"])
    assert out.startswith("valid:") and "anchored on chain 31337" in out

    # A bundle whose root the chain never saw: sound maths, refused against the chain.
    _, out, _ = dpl(env, "prove", "--log", STREAM, "--index", "5", "--size", "100")
    unanchored = json.loads(out)
    assert unanchored["anchor"] is None
    unanchored["anchor"] = doc["anchor"]
    unanchored["log_id"] = doc["log_id"]
    (env["tmp"] / "lie.json").write_text(json.dumps(unanchored))
    assert dpl(env, "verify", "lie.json")[1].startswith("valid:")  # offline it is consistent
    _, _, err = dpl(env, "verify", "lie.json", "--rpc", env["rpc"], ok=False)
    assert "never anchored" in err

    # Records appended later: the next anchor extends the first (consistency proof on chain).
    extra = env["tmp"] / "more.jsonl"
    extra.write_text("".join(json.dumps({"id": f"x-{i}", "ts": "2026-11-01T08:00:00+08:00",
                                         "type": "iot.telemetry", "data": {"v": i}}) + "\n" for i in range(50)))
    dpl(env, "ingest", "--log", STREAM, str(extra))
    dpl(env, "anchor")
    sizes = [e["size"] for e in _anchor_events(env)]
    assert sizes == [3495, 3545]
    assert [e["previousSize"] for e in _anchor_events(env)] == [0, 3495]


def test_verify_says_so_when_the_node_is_down(env):
    _setup(env)
    dpl(env, "anchor")
    _, out, _ = dpl(env, "prove", "--log", STREAM, "--index", "0")
    (env["tmp"] / "b.json").write_text(out)
    node.down(env["home"])
    code, _, err = dpl(env, "verify", "b.json", "--rpc", env["rpc"], ok=False)
    assert code == 1 and "not answering" in err


def test_audit_is_clean_then_names_a_tampered_row(env):
    _setup(env)
    dpl(env, "anchor")
    _, out, _ = dpl(env, "audit", "--json")
    report = json.loads(out)
    assert report["clean"] and report["records"] == 3495 and report["anchor_events"] == 1

    db = sqlite3.connect(env["home"] / "ledger.db")
    sealed = db.execute("SELECT sealed FROM records WHERE idx = 17").fetchone()[0]
    db.execute("UPDATE records SET sealed = ? WHERE idx = 17", (sealed[:-1] + bytes([sealed[-1] ^ 1]),))
    db.execute("UPDATE records SET leaf_hash = ? WHERE idx = 1000", (b"\x11" * 32,))
    db.commit()
    db.close()
    code, out, _ = dpl(env, "audit", ok=False)
    assert code == 1
    assert "record 17 was altered" in out
    assert "record 1000 was altered" in out or "size 3495" in out
    assert "the stored leaf hashes give" in out  # the tampered leaf no longer yields the anchored root
    # One audit use case for the command line and the API: both keep their report (sealed), so
    # the auditor's page shows the latest whoever ran it (before: only the API's were kept).
    db = sqlite3.connect(env["home"] / "ledger.db")
    assert db.execute("SELECT clean FROM audit_runs ORDER BY id").fetchall() == [(1,), (0,)]
    db.close()


@pytest.mark.parametrize("point", ["after-intent", "after-send"])
def test_a_killed_anchorer_never_anchors_twice_and_loses_nothing(env, point):
    _setup(env)
    proc = subprocess.Popen([DPL, "anchor"], env={**env["env"], "DPL_FAULT_PAUSE_AT": point},
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, cwd=env["tmp"])
    deadline = time.monotonic() + 120
    line = b""
    while time.monotonic() < deadline and b"fault-pause" not in line:
        line = proc.stderr.readline()
    assert f"fault-pause:{point}".encode() in line
    proc.send_signal(signal.SIGKILL)  # really killed: no cleanup, no except blocks
    proc.wait()

    _, out, _ = dpl(env, "anchor", "--json")
    assert json.loads(out)[0]["state"] in ("included", "final")
    dpl(env, "anchor")
    events = _anchor_events(env)
    assert [e["size"] for e in events] == [3495]  # exactly one anchor of the checkpoint


def test_an_anchor_dropped_by_a_reorg_is_sent_again(env):
    _setup(env)
    _, out, _ = dpl(env, "anchor", "--json")
    [report] = json.loads(out)
    block = report["block_number"]
    head = int(node.rpc_call(env["rpc"], "eth_blockNumber"), 16)
    # Replace the blocks from the anchor's block up: its transaction is dropped.
    node.rpc_call(env["rpc"], "anvil_reorg", [head - block + 1, []])
    assert _anchor_events(env) == []

    _, out, _ = dpl(env, "anchor", "--json")
    [again] = json.loads(out)
    assert again["state"] in ("included", "final") and again["tx_hash"] == report["tx_hash"]
    assert [e["size"] for e in _anchor_events(env)] == [3495]


def test_a_block_the_node_does_not_have_has_no_hash(env):
    from ledger.chain.client import Chain

    chain = Chain(env["rpc"])
    assert chain.block_hash(0) is not None and len(chain.block_hash(0)) == 32
    assert chain.block_hash(10**9) is None  # web3 raises BlockNotFound: a missing block, not an error


# --- nonce gaps: nothing may stall silently ------------------------------------------------


def _dev_account(i: int):
    from eth_account import Account

    from ledger.keys import ANVIL_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")


def _send_behind_our_back(env, account) -> str:
    """A 0-value transfer from ``account`` that the ledger does not know about (another
    tool using the relayer key); returns its hash."""
    from eth_account import Account

    nonce = int(node.rpc_call(env["rpc"], "eth_getTransactionCount", [account.address, "pending"]), 16)
    tx = {"to": account.address, "value": 0, "gas": 21000, "maxFeePerGas": 10**10,
          "maxPriorityFeePerGas": 10**9, "nonce": nonce, "chainId": 31337}
    raw = Account.sign_transaction(tx, account.key).raw_transaction
    return node.rpc_call(env["rpc"], "eth_sendRawTransaction", ["0x" + raw.hex()])


def _tx_block(env, tx_hash: str) -> int:
    return int(node.rpc_call(env["rpc"], "eth_getTransactionReceipt", [tx_hash])["blockNumber"], 16)


def _drop_blocks_from(env, block: int) -> None:
    """Reorg away every block from ``block`` up: their transactions are dropped (anvil does not
    re-queue them), so the sender's nonce on the node goes back."""
    head = int(node.rpc_call(env["rpc"], "eth_blockNumber"), 16)
    node.rpc_call(env["rpc"], "anvil_reorg", [head - block + 1, []])


def _more_records(env, n=50, prefix="x"):
    extra = env["tmp"] / f"{prefix}.jsonl"
    extra.write_text("".join(json.dumps({"id": f"{prefix}-{i}", "ts": "2026-11-01T08:00:00+08:00",
                                         "type": "iot.telemetry", "data": {"v": i}}) + "\n" for i in range(n)))
    dpl(env, "ingest", "--log", STREAM, str(extra))


def _relayer_nonces(env) -> tuple[int, int]:
    address = _dev_account(0).address
    return tuple(int(node.rpc_call(env["rpc"], "eth_getTransactionCount", [address, tag]), 16)
                 for tag in ("latest", "pending"))


def test_a_nonce_gap_left_by_an_unrecorded_transaction_is_filled(env):
    """The relayer key sends a transaction behind the ledger's back; a reorg drops it together
    with the next anchor. The re-broadcast anchor waits behind the missing nonce: the next run
    fills the gap with a recorded 0-value self-transfer, and the anchor lands."""
    _setup(env)
    dpl(env, "anchor")
    behind = _send_behind_our_back(env, _dev_account(0))
    _more_records(env)
    [report] = json.loads(dpl(env, "anchor", "--json")[1])
    assert report["state"] in ("included", "final")
    _drop_blocks_from(env, _tx_block(env, behind))
    assert [e["size"] for e in _anchor_events(env)] == [3495]
    gap = _relayer_nonces(env)[0]  # the dropped transaction's nonce: nobody holds it now

    [again] = json.loads(dpl(env, "anchor", "--json")[1])
    assert again["state"] in ("included", "final"), again  # was: "pending", for ever
    assert again["tx_hash"] == report["tx_hash"]  # the same signed anchor, not a second one
    assert [e["size"] for e in _anchor_events(env)] == [3495, 3545]
    latest, pending = _relayer_nonces(env)
    assert latest == pending == gap + 2  # the filler and the anchor are mined

    dpl(env, "anchor")  # the next run settles our records against the chain; no second filler
    db = sqlite3.connect(env["home"] / "ledger.db")
    fillers = db.execute("SELECT nonce, purpose, state FROM chain_transactions WHERE purpose = 'gap-filler'").fetchall()
    db.close()
    assert fillers == [(gap, "gap-filler", "mined")]
    _, out, _ = dpl(env, "audit", "--json")
    assert json.loads(out)["clean"]


def test_a_dropped_recorded_transaction_is_sent_again_before_the_anchors_behind_it(env):
    """`dpl lenders add` (the admin key is the relayer key, dev0) and the next anchor are dropped
    by a reorg: the lender approval is re-broadcast from our records, byte for byte, and the
    anchor behind it lands."""
    _setup(env)
    dpl(env, "anchor")
    _, out, _ = dpl(env, "lenders", "add", "dev2")
    add_hash = out.split("(tx ")[1].rstrip(")\n")
    add_nonce = int(node.rpc_call(env["rpc"], "eth_getTransactionByHash", [add_hash])["nonce"], 16)
    _more_records(env)
    dpl(env, "anchor")
    _drop_blocks_from(env, _tx_block(env, add_hash))
    assert json.loads(dpl(env, "lenders", "list", "--json")[1]) == []  # the approval is gone

    [again] = json.loads(dpl(env, "anchor", "--json")[1])
    assert again["state"] in ("included", "final"), again
    assert json.loads(dpl(env, "lenders", "list", "--json")[1]) == [_dev_account(2).address]
    receipt = node.rpc_call(env["rpc"], "eth_getTransactionReceipt", [add_hash])
    assert receipt is not None and int(receipt["status"], 16) == 1  # the very transaction we recorded
    assert _relayer_nonces(env)[0] == add_nonce + 2


def _health(env) -> dict:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ledger.settings import Settings

    settings = Settings(home=env["home"], rpc_url=env["rpc"], database_url=None, anchor_interval=0)
    with TestClient(create_app(settings)) as client:
        return client.get("/health").json()


def test_a_gap_that_cannot_be_filled_is_reported_stuck_by_anchor_audit_and_health(env):
    """The relayer runs out of funds while a gap is open: the filler is refused, so the
    anchor behind the gap cannot land. After DPL_STUCK_AFTER_BLOCKS blocks `dpl anchor` says
    "stuck" and why, `dpl audit` exits 1 naming it, /health is degraded, and a newer checkpoint
    is not sent behind the gap; funded again, the next run fills the gap and both land."""
    _setup(env)
    dpl(env, "anchor")
    relayer = _dev_account(0)
    behind = _send_behind_our_back(env, relayer)
    _more_records(env)
    [report] = json.loads(dpl(env, "anchor", "--json")[1])
    _drop_blocks_from(env, _tx_block(env, behind))
    gap = _relayer_nonces(env)[0]
    db = sqlite3.connect(env["home"] / "ledger.db")
    [raw] = db.execute("SELECT raw_tx FROM anchors WHERE size = 3545").fetchone()
    db.close()
    node.rpc_call(env["rpc"], "eth_sendRawTransaction", ["0x" + raw.hex()])  # back in the pool, behind the gap
    balance = node.rpc_call(env["rpc"], "eth_getBalance", [relayer.address, "latest"])
    node.rpc_call(env["rpc"], "anvil_setBalance", [relayer.address, "0x0"])

    [first] = json.loads(dpl(env, "anchor", "--json")[1])
    assert first["state"] == "pending"  # not stuck yet: it has waited no block
    node.rpc_call(env["rpc"], "anvil_mine", [21])
    _, out, _ = dpl(env, "anchor")
    assert f"line-a/mes size 3545: stuck tx {report['tx_hash']}" in out, out  # was: "pending"
    assert "pending for 21 blocks" in out and f"nonce gap: the node's next nonce for {relayer.address} is {gap}" in out
    assert f"filling nonce {gap} failed" in out and "insufficient funds" in out.lower()

    code, out, _ = dpl(env, "audit", ok=False)  # was: exit 0, "clean"
    assert code == 1
    assert f"FINDING: log line-a/mes: anchor of size 3545 (tx {report['tx_hash']}, nonce {gap + 1}) is stuck" in out
    health = _health(env)  # was: "ok", logs_behind 0
    assert health["status"] == "degraded" and health["anchoring"]["logs_behind"] == 0
    [stuck] = health["anchoring"]["stuck"]
    assert stuck["stream"] == STREAM and stuck["size"] == 3545 and stuck["nonce"] == gap + 1
    assert stuck["pending_blocks"] > 20 and "nonce gap" in stuck["reason"]

    # a newer checkpoint is not queued behind the gap as well: refused, saying why, nothing sent
    _more_records(env, prefix="y")
    pool = node.rpc_call(env["rpc"], "txpool_content")
    [newer] = json.loads(dpl(env, "anchor", "--json")[1])
    assert newer["size"] == 3595 and newer["state"] == "stuck" and newer["tx_hash"] is None
    assert newer["note"].startswith(f"not sent: nonce gap: the node's next nonce for {relayer.address} is {gap}")
    assert node.rpc_call(env["rpc"], "txpool_content") == pool

    node.rpc_call(env["rpc"], "anvil_setBalance", [relayer.address, balance])
    [landed] = json.loads(dpl(env, "anchor", "--json")[1])
    assert landed["size"] == 3595 and landed["state"] in ("included", "final"), landed
    assert [e["size"] for e in _anchor_events(env)] == [3495, 3545, 3595]
    assert [a["tx_hash"] for a in json.loads(dpl(env, "anchor", "--json")[1])] == [landed["tx_hash"]]
    db = sqlite3.connect(env["home"] / "ledger.db")
    assert db.execute("SELECT state FROM anchors WHERE size = 3545").fetchone()[0] in ("included", "final")
    assert db.execute("SELECT '0x' || lower(hex(tx_hash)) FROM anchors WHERE size = 3545").fetchone()[0] == report["tx_hash"]
    db.close()
    assert json.loads(dpl(env, "audit", "--json")[1])["clean"]
    health = _health(env)
    assert health["status"] == "ok" and health["anchoring"]["stuck"] == []


class _Lines:
    """Lines a running process writes to one of its pipes, read by a thread (no deadlock)."""

    def __init__(self, pipe):
        import queue
        import threading

        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, args=(pipe,), daemon=True).start()

    def _read(self, pipe):
        for raw in iter(pipe.readline, b""):
            self._queue.put(raw.decode())
        self._queue.put(None)

    def wait_for(self, predicate, timeout: float) -> str | None:
        """The first line (past or coming) for which ``predicate`` holds, None at the timeout."""
        import queue

        for line in self.lines:
            if predicate(line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            self.lines.append(line)
            if predicate(line):
                return line
        return None


def test_anchor_every_waits_for_a_node_that_is_down_and_anchors_once_it_is_back(env):
    """`dpl anchor --every 1` started while the node is down says so on stderr each round
    and keeps going (was: exit 1); once the node is back it anchors; Ctrl-C stops it."""
    _setup(env)
    port = int(env["rpc"].rsplit(":", 1)[1])
    node.down(env["home"])  # SIGTERM: anvil keeps its state (the registry) for the next up
    proc = subprocess.Popen([DPL, "anchor", "--every", "1"], env=env["env"], cwd=env["tmp"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = _Lines(proc.stdout), _Lines(proc.stderr)
        rounds = lambda _: sum(s.startswith("anchoring failed:") for s in err.lines)  # noqa: E731
        assert err.wait_for(lambda s: rounds(s) >= 2, 60), err.lines  # two rounds, each said on stderr
        assert all("not answering" in s and s.endswith("; retrying in 1 s\n") for s in err.lines), err.lines
        assert proc.poll() is None, err.lines  # still waiting, not exited
        node.up(env["home"], port=port)
        line = out.wait_for(lambda s: s.startswith(f"{STREAM} size 3495: "), 60)
        assert line and ("included" in line or "final" in line), (out.lines, err.lines)
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert proc.wait(timeout=30) == 130
        assert err.wait_for(lambda s: s.strip() == "stopped (Ctrl-C)", 10), err.lines
        assert not any("Traceback" in s for s in err.lines), err.lines
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [e["size"] for e in _anchor_events(env)] == [3495]


def test_a_node_killed_before_saving_its_state_loses_nothing_of_ours(env):
    """anvil killed with SIGKILL forgets what it mined since it last saved its state: here a
    recorded `lenders add`, a transaction sent behind our back and an anchor. The next
    `dpl anchor` re-sends our two from our records, fills the nonce of the other, and
    everything of ours is on chain again."""
    _setup(env)
    dpl(env, "anchor")
    port = int(env["rpc"].rsplit(":", 1)[1])
    node.down(env["home"])  # saved: the registry, the first anchor
    state = env["home"] / "chain" / "anvil-state.json"
    log = open(env["home"] / "chain" / "anvil-unsaved.log", "wb")
    anvil = subprocess.Popen([node.anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--state", str(state),
                              "--state-interval", "3600", "--preserve-historical-states"],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                node.rpc_call(env["rpc"], "eth_blockNumber")
                break
            except node.ChainNodeError:
                time.sleep(0.1)
        saved = _relayer_nonces(env)[0]
        dpl(env, "lenders", "add", "dev2")
        _send_behind_our_back(env, _dev_account(0))
        _more_records(env)
        [report] = json.loads(dpl(env, "anchor", "--json")[1])
        assert report["state"] in ("included", "final") and _relayer_nonces(env)[0] == saved + 3
    finally:
        anvil.kill()  # SIGKILL: no state written since the start
        anvil.wait()
        log.close()
    node.up(env["home"], port=port)
    assert _relayer_nonces(env)[0] == saved and [e["size"] for e in _anchor_events(env)] == [3495]

    [again] = json.loads(dpl(env, "anchor", "--json")[1])
    assert again["state"] in ("included", "final") and again["tx_hash"] == report["tx_hash"], again
    assert [e["size"] for e in _anchor_events(env)] == [3495, 3545]
    assert json.loads(dpl(env, "lenders", "list", "--json")[1]) == [_dev_account(2).address]
    assert _relayer_nonces(env) == (saved + 3, saved + 3)


# --- a front-run anchor: the checkpoint is on chain by another sender's transaction ----------


def _front_run(env, tx_hash: str, account) -> str:
    """Copy our pending transaction's ``to``/``input`` (the factory's signature included) and
    send it from ``account`` with ten times the fee, as a mempool watcher would; its hash."""
    from eth_account import Account
    from eth_utils import to_checksum_address

    ours = node.rpc_call(env["rpc"], "eth_getTransactionByHash", [tx_hash])
    nonce = int(node.rpc_call(env["rpc"], "eth_getTransactionCount", [account.address, "pending"]), 16)
    tip = max(int(ours["maxPriorityFeePerGas"], 16), 10**9)
    tx = {"to": to_checksum_address(ours["to"]), "data": ours["input"], "value": 0, "gas": int(ours["gas"], 16),
          "maxFeePerGas": 10 * int(ours["maxFeePerGas"], 16) + 10 * tip, "maxPriorityFeePerGas": 10 * tip,
          "nonce": nonce, "chainId": 31337}
    raw = Account.sign_transaction(tx, account.key).raw_transaction
    return node.rpc_call(env["rpc"], "eth_sendRawTransaction", ["0x" + raw.hex()])


def _app_client(env, database_url):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ledger.settings import Settings

    settings = Settings(home=env["home"], rpc_url=env["rpc"], database_url=database_url, anchor_interval=0)
    return TestClient(create_app(settings))


def _front_run_world(env, database_url=None) -> dict:
    """A factory party (acme, custodial dev1) whose log acme/line-a is anchored at 3495 and has
    3545 records; our anchor of 3545 is front-run by dev5 with ten times the fee, and mined after
    the rival's in one block: ours reverts, the rival's anchors it."""
    if database_url:
        env["env"]["DATABASE_URL"] = database_url
    dpl(env, "keys", "import-dev")
    dpl(env, "deploy")
    key = json.loads(dpl(env, "keys", "api", "--role", "factory", "--party", "acme", "--key", "dev1", "--json")[1])["key"]
    dpl(env, "lenders", "add", "dev2")
    auth = {"Authorization": f"Bearer {key}"}
    with _app_client(env, database_url) as client:
        made = client.post("/v1/logs", json={"stream": "line-a"}, headers=auth)
        assert made.status_code == 201, made.text
    stream = "acme/line-a"
    dpl(env, "ingest", "--log", stream, str(SAMPLE))
    dpl(env, "anchor")  # registers the log and anchors size 3495
    extra = env["tmp"] / "more.jsonl"
    extra.write_text("".join(json.dumps({"id": f"x-{i}", "ts": "2026-11-01T08:00:00+08:00",
                                         "type": "iot.telemetry", "data": {"v": i}}) + "\n" for i in range(50)))
    dpl(env, "ingest", "--log", stream, str(extra))

    node.rpc_call(env["rpc"], "evm_setAutomine", [False])
    [sent] = json.loads(dpl(env, "anchor", "--json")[1])
    assert sent["state"] == "pending" and sent["tx_hash"]
    rival = _front_run(env, sent["tx_hash"], _dev_account(5))
    node.rpc_call(env["rpc"], "evm_mine")
    ours = node.rpc_call(env["rpc"], "eth_getTransactionReceipt", [sent["tx_hash"]])
    theirs = node.rpc_call(env["rpc"], "eth_getTransactionReceipt", [rival])
    assert int(ours["status"], 16) == 0 and int(theirs["status"], 16) == 1  # the rival anchored it
    node.rpc_call(env["rpc"], "evm_setAutomine", [True])
    return {"stream": stream, "log_id": made.json()["log_id"], "auth": auth, "ours": sent["tx_hash"], "rival": rival,
            "block": int(theirs["blockNumber"], 16), "database_url": database_url}


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_front_run_anchor_is_adopted_not_failed(env, db, request):
    """A mempool watcher copies our anchor call (it carries the factory's signature) and sends
    it first with a higher fee: our transaction reverts (RegistryStaleCheckpoint) but the
    checkpoint IS on chain. The row adopts the rival's transaction (hash, block) and goes
    included -> final like any other; `dpl prove` cites it, `dpl verify --rpc` accepts it, the
    audit is clean, /health is ok and a consent can be drafted over the range.
    (Was: the row stayed `failed` for ever, `dpl anchor` said "failed … (anchored on chain
    already)", prove wrote "anchor": null and the draft was a 404.)"""
    w = _front_run_world(env, request.getfixturevalue("pg_url") if db == "postgres" else None)
    stream, rival, block = w["stream"], w["rival"], w["block"]

    [adopted] = json.loads(dpl(env, "anchor", "--json")[1])  # was: "failed", "anchored on chain already"
    assert adopted["state"] in ("included", "final"), adopted
    assert adopted["tx_hash"] == rival and adopted["block_number"] == block
    assert adopted["note"].startswith(f"anchored by transaction {rival} from {_dev_account(5).address}")
    assert w["ours"] in adopted["note"] and "RegistryStaleCheckpoint" in adopted["note"]
    _mine(env)
    [final] = json.loads(dpl(env, "anchor", "--json")[1])
    assert final["state"] == "final" and final["tx_hash"] == rival
    assert [e["size"] for e in _anchor_events(env)] == [3495, 3545]  # nothing sent again

    bundle = env["tmp"] / "x.json"
    dpl(env, "prove", "--log", stream, "--id", "x-7", "--out", str(bundle))
    doc = json.loads(bundle.read_text())
    assert doc["anchor"] is not None and doc["anchor"]["tx_hash"] == rival and doc["anchor"]["block_number"] == block
    _, out, _ = dpl(env, "verify", str(bundle), "--rpc", env["rpc"])
    assert out.startswith("valid:")
    assert json.loads(dpl(env, "audit", "--json")[1])["clean"]

    with _app_client(env, w["database_url"]) as client:
        health = client.get("/health").json()
        assert health["status"] == "ok", health
        now = int(node.rpc_call(env["rpc"], "eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
        terms = {"log_id": w["log_id"], "from": 3100, "to": 3545, "lender": _dev_account(2).address,
                 "principal": 1000, "currency": "CNY", "maturity": str(now + 30 * 86400),
                 "lien_end": str(now + 400 * 86400), "samples": 4, "loan_ref": "LN-1"}
        draft = client.post("/v1/pledges/consents/draft", json=terms, headers=w["auth"])
        assert draft.status_code == 200, draft.text  # was: 404 "no anchored checkpoint covering index 3247"
        assert draft.json()["consent"]["terms"]["checkpoint_size"] == 3545
        checkpoints = client.get(f"/v1/logs/{w['log_id']}/checkpoints", headers=w["auth"]).json()
        [anchored] = [c["anchor"] for c in checkpoints if c["size"] == 3545]
        assert anchored["state"] == "final" and anchored["tx_hash"] == rival


def _anchor_row(env, size: int):
    from ledger.settings import Settings
    from ledger.store.anchors import AnchorStore
    from ledger.store.logstore import LogStore

    store = LogStore.open(Settings(home=env["home"], database_url=None))
    [row] = [r for r in AnchorStore(store.engine).all_for_log(store.get_log("acme/line-a").pk) if r.size == size]
    return store, row


def test_a_row_left_failed_by_a_front_run_is_adopted_and_an_adopted_anchor_a_reorg_drops_is_sent_anew(env):
    """A row an earlier version left `failed` after a front-run is adopted by the next run (it is
    the log's newest checkpoint). Then a reorg drops the block of the rival's transaction (and of
    ours): the adopted row goes back to pending/failed, and the checkpoint is anchored again by
    a transaction of ours, which the row then holds with its raw bytes."""
    w = _front_run_world(env)
    store, row = _anchor_row(env, 3545)
    try:  # what the code before the fix left: failed, our reverted transaction, no block
        from ledger.store.anchors import AnchorStore

        AnchorStore(store.engine).update(row.id, state="failed", error="RegistryStaleCheckpoint(…)")
    finally:
        store.close()
    [adopted] = json.loads(dpl(env, "anchor", "--json")[1])
    assert adopted["state"] in ("included", "final") and adopted["tx_hash"] == w["rival"], adopted
    assert adopted["block_number"] == w["block"] and w["ours"] in adopted["note"]
    store, row = _anchor_row(env, 3545)
    store.close()
    assert row.raw_tx == b"" and row.sender == _dev_account(5).address  # another sender's: not ours to re-send

    _drop_blocks_from(env, w["block"])  # both transactions gone; anvil does not re-queue them
    assert [e["size"] for e in _anchor_events(env)] == [3495]
    [again] = json.loads(dpl(env, "anchor", "--json")[1])
    assert again["state"] in ("included", "final"), again
    assert again["tx_hash"] != w["rival"] and again["note"].startswith("anchored by our transaction"), again
    assert [e["size"] for e in _anchor_events(env)] == [3495, 3545]
    store, row = _anchor_row(env, 3545)
    store.close()
    assert row.sender == _dev_account(0).address and row.raw_tx  # ours now, re-broadcastable
    assert json.loads(dpl(env, "audit", "--json")[1])["clean"]


def test_another_root_at_our_size_is_a_conflict_said_by_anchor_audit_and_health(env):
    """Someone holding the factory's key anchors another root at the size our pending anchor
    names (a tree that extends the anchored one with other records), ahead of ours: ours
    reverts. That is no front-run to adopt but a real conflict: `dpl anchor` says `conflict`
    with both roots, `dpl audit` exits 1 naming it, /health is degraded and lists it.
    (Was: the row went `failed` and `dpl anchor` reported "stale": the chain holds a newer
    checkpoint; the audit was clean and /health ok.)"""
    from ledger import merkle
    from ledger.chain.client import Chain
    from ledger.chain.deploy import load_deployment
    from ledger.settings import Settings
    from ledger.store.logstore import LogStore

    _setup(env)
    dpl(env, "anchor")
    _more_records(env)
    store = LogStore.open(Settings(home=env["home"], database_url=None))
    try:
        info = store.get_log(STREAM)
        leaves = [r.leaf_hash for r in store.iter_sealed(STREAM, 0, 3495)]
    finally:
        store.close()
    leaves += [merkle.leaf_hash(b"\x00" * 32 + b'{"other":%d}' % i) for i in range(50)]
    other_root = merkle.root(leaves)
    proof = merkle.consistency_proof(leaves, 3495)
    chain = Chain(env["rpc"], load_deployment(env["home"], 31337)["address"])
    signature = chain.sign_checkpoint(_dev_account(1), info.log_id, 3545, other_root)  # the factory's key

    node.rpc_call(env["rpc"], "evm_setAutomine", [False])
    [sent] = json.loads(dpl(env, "anchor", "--json")[1])
    assert sent["state"] == "pending" and sent["size"] == 3545
    rival = _dev_account(5)
    ours = node.rpc_call(env["rpc"], "eth_getTransactionByHash", [sent["tx_hash"]])
    tip = 10 * max(int(ours["maxPriorityFeePerGas"], 16), 10**9)
    tx = chain.registry.functions.anchor(info.log_id, 3545, other_root, proof, signature).build_transaction(
        {"from": rival.address, "gas": 1_000_000, "maxPriorityFeePerGas": tip,
         "maxFeePerGas": 10 * int(ours["maxFeePerGas"], 16) + tip,
         "nonce": int(node.rpc_call(env["rpc"], "eth_getTransactionCount", [rival.address, "pending"]), 16)})
    from eth_account import Account

    raw = Account.sign_transaction(tx, rival.key).raw_transaction
    node.rpc_call(env["rpc"], "eth_sendRawTransaction", ["0x" + raw.hex()])
    node.rpc_call(env["rpc"], "evm_mine")
    assert int(node.rpc_call(env["rpc"], "eth_getTransactionReceipt", [sent["tx_hash"]])["status"], 16) == 0
    node.rpc_call(env["rpc"], "evm_setAutomine", [True])

    expected = f"conflict: the registry holds root 0x{other_root.hex()} at size 3545, ours is {info.root and '0x' + info.root.hex()}"
    [report] = json.loads(dpl(env, "anchor", "--json")[1])
    assert report["state"] == "conflict", report  # was: "failed" / "stale"
    assert report["note"].startswith(expected), report
    assert "factory key" in report["note"]
    [again] = json.loads(dpl(env, "anchor", "--json")[1])  # still said on the next run, nothing sent
    assert again["state"] == "conflict" and again["tx_hash"] == sent["tx_hash"]

    code, out, _ = dpl(env, "audit", ok=False)  # was: exit 0, clean
    assert code == 1 and f"FINDING: log {STREAM}: {expected}" in out, out
    health = _health(env)  # was: "ok"
    assert health["status"] == "degraded"
    [conflict] = health["anchoring"]["conflicts"]
    assert conflict["stream"] == STREAM and conflict["size"] == 3545 and conflict["reason"].startswith(expected)


# --- an error the node answers is a ChainError, said in one line --------------------------------


def test_a_node_error_answer_is_one_line_and_the_services_failed_run_makes_health_degraded(env):
    """The relayer's balance is 1 wei: the node answers the pre-send simulation with a JSON-RPC
    error. `dpl anchor` exits 1 with one line naming the node's message (its URL redacted),
    no traceback (was: a Web3RPCError traceback); the service's anchoring loop records the
    failure and /health says degraded while it lasts (was: "ok" with last_error set)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from ledger.settings import Settings

    _setup(env)
    relayer = _dev_account(0).address
    balance = node.rpc_call(env["rpc"], "eth_getBalance", [relayer, "latest"])
    node.rpc_call(env["rpc"], "anvil_setBalance", [relayer, "0x1"])
    secret_url = env["rpc"].replace("http://", "http://user:s3cret@")
    code, out, err = dpl(env, "anchor", ok=False, extra={"DPL_RPC_URL": secret_url})
    assert code == 1 and out == ""
    [line] = err.splitlines()  # one line
    assert line.startswith(f"error: the Ethereum node at {env['rpc']}/… answered with an error: "), line
    assert "insufficient funds" in line.lower() and "JSON-RPC error" in line and "s3cret" not in line

    settings = Settings(home=env["home"], rpc_url=env["rpc"], database_url=None, anchor_interval=0.2)
    with TestClient(create_app(settings)) as client:
        loop = client.app.state.services.loop
        deadline = time.monotonic() + 60
        while loop.last_error is None and time.monotonic() < deadline:
            time.sleep(0.1)
        health = client.get("/health").json()
        assert health["status"] == "degraded", health
        assert "insufficient funds" in health["anchoring"]["last_error"].lower()
        assert health["anchoring"]["stuck"] == [] and health["anchoring"]["conflicts"] == []

        node.rpc_call(env["rpc"], "anvil_setBalance", [relayer, balance])
        while loop.last_error is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert loop.last_error is None
        assert client.get("/health").json()["status"] == "ok"
    assert [e["size"] for e in _anchor_events(env)] == [3495]
