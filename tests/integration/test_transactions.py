"""The nonce manager on a real anvil, through the dpl command line: every transaction a key
sends is recorded before it is sent; concurrent issues of overlapping pledges send one
transaction, not one per loser; a pledge that reverts in its block says which contract error.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time

from ledger.chain import node
from tests.integration.test_anchoring import (DPL, STREAM, _dev_account, _Lines, _more_records, _setup, dpl,  # noqa: F401
                                              env)
from tests.integration.test_pledges import DAY, _consent, _now


def _nonce(env, i: int, tag: str = "pending") -> int:
    return int(node.rpc_call(env["rpc"], "eth_getTransactionCount", [_dev_account(i).address, tag]), 16)


def _pool_hashes(env) -> set[str]:
    content = node.rpc_call(env["rpc"], "txpool_content")
    return {tx["hash"] for part in ("pending", "queued") for by_nonce in content[part].values()
            for tx in by_nonce.values()}


def _recorded(env) -> list[tuple]:
    db = sqlite3.connect(env["home"] / "ledger.db")
    rows = db.execute("SELECT sender, nonce, purpose, state FROM chain_transactions ORDER BY sender, nonce").fetchall()
    db.close()
    return rows


def _start(env, *args, extra=None) -> subprocess.Popen:
    return subprocess.Popen([DPL, *args], env={**env["env"], **(extra or {})}, cwd=env["tmp"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _automine(env, on: bool) -> None:
    node.rpc_call(env["rpc"], "evm_setAutomine", [on])


def test_every_transaction_of_every_key_is_recorded_before_it_is_sent(env):
    """deploy, registerLog, anchor, lenders add/remove, pledge issue/transfer/release, factories
    set: for each key, the node's nonce equals the transactions we recorded for it, all mined."""
    _setup(env)
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    dpl(env, "lenders", "add", "dev3")
    now = _now(env)
    consent = _consent(env, "one", 0, 100, maturity=now + 30 * DAY, lien_end=now + 60 * DAY)
    token = json.loads(dpl(env, "pledge", "issue", str(consent), "--key", "dev2", "--json")[1])["token_id"]
    dpl(env, "pledge", "transfer", str(token), "--to", "dev3", "--key", "dev2")
    dpl(env, "pledge", "release", str(token), "--key", "dev3")
    dpl(env, "lenders", "remove", "dev3")
    dpl(env, "factories", "set", "dev1", "--name", "ACME Precision Co.", "--registration", "91310000MA1FL0000X")
    _more_records(env)
    dpl(env, "anchor")
    dpl(env, "anchor")  # settles the records of the last anchor

    rows = _recorded(env)
    for i in range(4):
        mine = [(nonce, purpose) for sender, nonce, purpose, state in rows if sender == _dev_account(i).address]
        assert [n for n, _ in mine] == list(range(_nonce(env, i, "latest"))), (i, mine)
    assert {(p, s) for _, _, p, s in rows} == {
        ("deploy", "mined"), ("registerLog", "mined"), ("anchor", "mined"), ("grantRole", "mined"),
        ("revokeRole", "mined"), ("issue", "mined"), ("safeTransferFrom", "mined"), ("release", "mined"),
        ("listFactory", "mined")}


def test_overlapping_issues_by_one_lender_at_once_send_one_transaction(env):
    """Lender A's first issue is recorded and about to be sent when its second, overlapping issue
    starts: the second re-broadcasts the first (our record), simulates against the pending state,
    and is refused with the contract's error, sending nothing. The first then completes."""
    _setup(env)
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    now = _now(env)
    first = _consent(env, "first", 0, 1000, maturity=now + 30 * DAY, lien_end=now + 60 * DAY)
    second = _consent(env, "second", 500, 1500, maturity=now + 30 * DAY, lien_end=now + 60 * DAY)
    _automine(env, False)
    a = _start(env, "pledge", "issue", str(first), "--key", "dev2", "--json", extra={"DPL_FAULT_PAUSE_AT": "before-send"})
    try:
        a_err = _Lines(a.stderr)
        assert a_err.wait_for(lambda s: "fault-pause:before-send" in s, 120), a_err.lines  # recorded, not sent
        assert _nonce(env, 2) == 0 and _pool_hashes(env) == set()

        code, _, err = dpl(env, "pledge", "issue", str(second), "--key", "dev2", ok=False)
        assert code == 1 and "PledgeRangeOverlaps(1)" in err and "overlaps a pledge that holds a lien" in err
        assert _nonce(env, 2) == 1 and len(_pool_hashes(env)) == 1  # only the first issue: the loser sent nothing

        node.rpc_call(env["rpc"], "evm_mine")  # the first issue is mined before its process sends it:
        a.send_signal(signal.SIGCONT)           # sending it then is no error (it is ours, on chain)
        out, _ = a.communicate(timeout=120)
        a_err.wait_for(lambda s: False, 2)  # the rest of its stderr
        assert a.returncode == 0, a_err.lines
        assert json.loads(out)["token_id"] == 1
    finally:
        if a.poll() is None:
            a.kill()
            a.wait()
        _automine(env, True)
    issues = [r for r in _recorded(env) if r[2] == "issue"]
    assert [(nonce, state) for _, nonce, _, state in issues] == [(0, "mined")]


def test_an_issue_that_reverts_in_its_block_names_the_contract_error(env):
    """Two lenders issue overlapping pledges at once and both transactions are mined in one
    block: the loser's command names the contract's error (the call replayed at that block),
    not only "transaction 0x… reverted"."""
    _setup(env)
    dpl(env, "anchor")
    dpl(env, "lenders", "add", "dev2")
    dpl(env, "lenders", "add", "dev3")
    now = _now(env)
    mine = _consent(env, "a", 0, 1000, lender="dev2", maturity=now + 30 * DAY, lien_end=now + 60 * DAY)
    theirs = _consent(env, "b", 500, 1500, lender="dev3", maturity=now + 30 * DAY, lien_end=now + 60 * DAY)
    _automine(env, False)
    a = _start(env, "pledge", "issue", str(mine), "--key", "dev2")
    b = None
    try:
        deadline = time.monotonic() + 120
        while not _pool_hashes(env) and time.monotonic() < deadline:
            time.sleep(0.1)
        [a_hash] = _pool_hashes(env)  # sent; A now waits for its receipt
        raw = node.rpc_call(env["rpc"], "eth_getRawTransactionByHash", [a_hash])
        node.rpc_call(env["rpc"], "anvil_dropTransaction", [a_hash])  # B cannot see it: both pass their checks
        b = _start(env, "pledge", "issue", str(theirs), "--key", "dev3")
        while len(_pool_hashes(env)) < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        node.rpc_call(env["rpc"], "eth_sendRawTransaction", [raw])  # A's, back: mined after B's
        node.rpc_call(env["rpc"], "evm_mine")
        b_out, b_err = b.communicate(timeout=120)
        a_out, a_err = a.communicate(timeout=120)
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        _automine(env, True)
    assert b.returncode == 0 and b_out.decode().startswith("issued pledge 1"), b_err.decode()
    err = a_err.decode()
    assert a.returncode == 1 and "Traceback" not in err
    assert f"transaction {a_hash} reverted in block" in err, err
    assert "the registry refused: PledgeRangeOverlaps(1): the range overlaps a pledge that holds a lien" in err, err

    # the same explanation from the hash alone (what the anchorer does for an anchor that reverted)
    from ledger.chain.client import Chain
    from ledger.chain.deploy import load_deployment
    from ledger.errors import ContractRevertError

    chain = Chain(env["rpc"], load_deployment(env["home"], 31337)["address"])
    receipt = chain.receipt(bytes.fromhex(a_hash[2:]))
    why = chain.explain_reverted(bytes.fromhex(a_hash[2:]), receipt)
    assert isinstance(why, ContractRevertError) and why.name == "PledgeRangeOverlaps" and why.args_ == (1,)


def test_concurrent_senders_of_one_key_never_share_a_nonce(env, backend):
    """Six threads (own connections, one database: SQLite's write lock, PostgreSQL's row lock)
    send 30 transfers from one key through the nonce manager at once: 30 distinct nonces from
    0, all recorded, all mined, none waiting."""
    import threading

    from ledger.chain.client import Chain
    from ledger.store.logstore import LogStore
    from ledger.transactions import Transactions

    store = LogStore.open(backend)
    journal = Transactions(store.engine)
    sender = _dev_account(5)
    errors: list[Exception] = []

    def work() -> None:
        chain = journal.attach(Chain(env["rpc"]))
        try:
            for _ in range(5):
                tx = chain.prepare_transfer(sender.address, _dev_account(6).address, 1)
                chain.broadcast(journal.sign_recorded(chain, sender, tx, "test-transfer"))
        except Exception as e:  # reported below with the others
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    chain = Chain(env["rpc"])
    deadline = time.monotonic() + 30
    while _nonce(env, 5, "latest") < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    rows = journal.store.for_sender(chain.chain_id, chain.genesis_hash, sender.address)
    assert sorted(r.nonce for r in rows) == list(range(30))
    assert _nonce(env, 5, "latest") == _nonce(env, 5, "pending") == 30
    assert all(chain.receipt(r.tx_hash)["status"] == 1 for r in rows)
    store.close()


def test_a_chain_that_was_reset_starts_afresh(env):
    """The local chain is wiped (same chain id, new genesis): our records of the old chain do not
    make the new one wait for nonces it never had; deploy and anchor work from nonce 0."""
    _setup(env)
    dpl(env, "anchor")
    port = int(env["rpc"].rsplit(":", 1)[1])
    node.down(env["home"])
    (env["home"] / "chain" / "anvil-state.json").unlink()
    node.up(env["home"], port=port)
    assert _nonce(env, 0) == 0

    _, out, _ = dpl(env, "deploy")
    assert out.startswith("registry deployed at")
    dpl(env, "log", "create", "line-b/mes")
    dpl(env, "ingest", "--log", "line-b/mes", str(_write_records(env)))
    reports = {r["stream"]: r for r in json.loads(dpl(env, "anchor", "--log", "line-b/mes", "--json")[1])}
    assert reports["line-b/mes"]["state"] in ("included", "final"), reports
    genesis = bytes.fromhex(node.rpc_call(env["rpc"], "eth_getBlockByNumber", ["0x0", False])["hash"][2:])
    db = sqlite3.connect(env["home"] / "ledger.db")
    on_new = [n for (n,) in db.execute("SELECT nonce FROM chain_transactions WHERE genesis = ? AND sender = ? "
                                       "ORDER BY nonce", (genesis, _dev_account(0).address))]
    db.close()
    assert on_new[:2] == [0, 1]  # deploy, then registerLog: from 0 on the new chain
    assert _nonce(env, 0, "latest") == _nonce(env, 0)  # nothing waits


def _write_records(env):
    path = env["tmp"] / "b.jsonl"
    path.write_text("".join(json.dumps({"id": f"b-{i}", "ts": "2026-11-01T08:00:00+08:00", "type": "iot.telemetry",
                                        "data": {"v": i}}) + "\n" for i in range(20)))
    return path


def test_an_anchorer_given_a_bare_chain_records_through_the_nonce_manager(env):
    """Code that builds its own Chain (the benchmarks, a script) still gets every anchor and
    registration recorded: the anchorer attaches the nonce manager itself."""
    from ledger.anchoring import Anchorer
    from ledger.chain.client import Chain
    from ledger.chain.deploy import load_deployment
    from ledger.keys import DEV_PASSPHRASE, Keyring
    from ledger.settings import Settings
    from ledger.store.logstore import LogStore
    from ledger.transactions import Transactions

    _setup(env)
    chain = Chain(env["rpc"], load_deployment(env["home"], 31337)["address"])
    store = LogStore.open(Settings(home=env["home"], database_url=None, data_key=None))
    anchorer = Anchorer(store, chain, Keyring(env["home"], lambda: DEV_PASSPHRASE), relayer_key="dev0",
                        factory_key="dev1", confirmations=2)
    assert isinstance(chain.journal, Transactions) and anchorer.transactions is chain.journal
    [report] = anchorer.run()
    store.close()
    purposes = [p for sender, _, p, _ in _recorded(env) if sender == _dev_account(0).address]
    assert purposes == ["deploy", "registerLog", "anchor"] and report.state in ("pending", "included", "final")
