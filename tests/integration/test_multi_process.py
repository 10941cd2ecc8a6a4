"""Several `dpl serve` processes (not workers of one) against one PostgreSQL and one anvil:
the same logs ingested through both at once (the same records sent to both), both running
anchoring loops every half second. Every record is in its log once, every checkpoint is
anchored once, no nonce clash; one process leads the anchoring (a session advisory lock), and
when it is killed (SIGKILL) the other takes over.

Slow end to end: it runs once, on PostgreSQL (the backend several machines share)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from ledger.chain import node
from ledger.chain.client import Chain
from ledger.chain.deploy import load_deployment
from ledger.chain.events import read_events
from ledger.service.context import Context
from ledger.settings import Settings
from ledger.store.anchors import AnchorStore
from ledger.transactions import Transactions
from tests.integration.test_anchoring import _free_port
from tests.integration.test_service import DPL, _dpl, _env, _wait_http

STREAMS = ("line-a", "line-b")
RECORDS = 600  # per log
LENDERS = (2, 3, 4, 5)  # dev keys of the lenders approved meanwhile, half through each process
BATCH = 30


def _record(stream: str, i: int) -> dict:
    return {"id": f"{stream}-{i:06d}", "ts": f"2026-10-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000+08:00",
            "type": "iot.telemetry", "data": {"machine": stream, "seq": i}}


def _ndjson(records: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


@pytest.mark.postgres
@pytest.mark.anvil
def test_two_serve_processes_ingest_the_same_logs_and_one_leader_anchors(tmp_path, pg_url):
    two_serve_processes(tmp_path, pg_url)


def two_serve_processes(tmp_path: Path, pg_url: str) -> None:
    """The story of the test on the database at ``pg_url`` (also run by hand on one SQLite file
    shared by two processes of one machine, as the README describes)."""
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    chain_node = node.up(home_a, port=_free_port())
    servers: dict[str, subprocess.Popen] = {}
    outputs: dict[str, Path] = {}
    try:
        env_a = _env(home_a, chain_node.rpc_url, DATABASE_URL=pg_url, DPL_ANCHOR_INTERVAL="0.5",
                     DPL_CONFIRMATIONS="0")
        _dpl(env_a, "keys", "import-dev")
        _dpl(env_a, "deploy")
        key = json.loads(_dpl(env_a, "keys", "api", "--role", "factory", "--party", "acme", "--key", "dev1",
                              "--json"))["key"]
        # The admin signs with dev0, the relayer's key: its approvals and the leader's anchors
        # share one sender, from both processes at once.
        admin = json.loads(_dpl(env_a, "keys", "api", "--role", "admin", "--party", "admin", "--key", "dev0",
                                "--json"))["key"]
        for n in LENDERS:
            _dpl(env_a, "keys", "api", "--role", "lender", "--party", f"bank-{n}", "--key", f"dev{n}", "--json")
        # The second machine: its own DPL_HOME, a copy of the keys and the deployment record.
        shutil.copytree(home_a, home_b, ignore=shutil.ignore_patterns("chain"))
        env_b = {**env_a, "DPL_HOME": str(home_b)}
        bases = {}
        for name, env in (("a", env_a), ("b", env_b)):
            port = _free_port()
            outputs[name] = tmp_path / f"serve-{name}.log"
            servers[name] = subprocess.Popen([DPL, "serve", "--port", str(port)], env=env,
                                             stdout=outputs[name].open("wb"), stderr=subprocess.STDOUT,
                                             start_new_session=True)
            bases[name] = f"http://127.0.0.1:{port}"
        for name in servers:
            _wait_http(bases[name] + "/health", servers[name])
        clients = {n: httpx.Client(base_url=b, timeout=60, headers={"Authorization": f"Bearer {key}"})
                   for n, b in bases.items()}

        def post(name, path, expect=(200, 201), **kw):
            r = clients[name].post(path, **kw)
            assert r.status_code in expect, (name, path, r.status_code, r.text)
            return r.json()

        log_ids = {s: post("a", "/v1/logs", json={"stream": s})["log_id"] for s in STREAMS}

        # Through both processes at once: a gets records [0, 400), b gets [200, 600), in batches:
        # [200, 400) goes to both, concurrently (idempotent by record id across processes).
        errors: list[BaseException] = []
        appended = {s: 0 for s in STREAMS}
        lock = threading.Lock()

        def ingest(name: str, stream: str, lo: int, hi: int) -> None:
            try:
                for start in range(lo, hi, BATCH):
                    batch = [_record(stream, i) for i in range(start, min(start + BATCH, hi))]
                    out = post(name, f"/v1/logs/{log_ids[stream]}/records", content=_ndjson(batch),
                               headers={"Content-Type": "application/x-ndjson"})
                    assert out["appended"] + out["duplicates"] == len(batch)
                    with lock:
                        appended[stream] += out["appended"]
            except BaseException as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        def approve(name: str, lenders) -> None:
            try:
                for n in lenders:
                    post(name, "/v1/lenders", json={"address": f"bank-{n}"},
                         headers={"Authorization": f"Bearer {admin}"})
            except BaseException as e:  # noqa: BLE001 (reported below)
                errors.append(e)

        threads = [threading.Thread(target=ingest, args=(n, s, lo, hi))
                   for s in STREAMS for n, lo, hi in (("a", 0, 400), ("b", 200, RECORDS))]
        threads += [threading.Thread(target=approve, args=("a", LENDERS[:2])),
                    threading.Thread(target=approve, args=("b", LENDERS[2:]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        assert appended == {s: RECORDS for s in STREAMS}  # each record appended by exactly one request

        def health(name):
            return httpx.get(bases[name] + "/health", timeout=30).json()

        def wait_anchored(names, size):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                cps = {s: clients[names[0]].get(f"/v1/logs/{log_ids[s]}/checkpoints").json() for s in STREAMS}
                if all(c and c[-1]["size"] == size and c[-1]["anchor"]
                       and c[-1]["anchor"]["state"] in ("included", "final") for c in cps.values()):
                    return
                time.sleep(0.5)
            raise AssertionError(f"not anchored at size {size}: {cps}")

        wait_anchored(["a"], RECORDS)
        leaders = {n: health(n)["anchoring"]["leader"] for n in servers}
        assert sorted(leaders.values()) == [False, True], leaders  # exactly one leader
        leader = next(n for n, lead in leaders.items() if lead)
        survivor = "b" if leader == "a" else "a"

        # The leader dies without a word; the other takes over and anchors what comes next.
        os.killpg(servers[leader].pid, signal.SIGKILL)
        servers[leader].wait(30)
        for s in STREAMS:
            more = [_record(s, i) for i in range(RECORDS, RECORDS + 50)]
            assert post(survivor, f"/v1/logs/{log_ids[s]}/records", content=_ndjson(more),
                        headers={"Content-Type": "application/x-ndjson"})["appended"] == 50
        wait_anchored([survivor], RECORDS + 50)
        assert health(survivor)["anchoring"]["leader"] is True

        # Every record once: the size, and each id at its own index.
        ctx = Context(Settings(home=home_a, database_url=pg_url, rpc_url=chain_node.rpc_url))
        try:
            store = ctx.store
            named = {s: next(i.stream for i in store.list_logs() if i.stream.endswith(s)) for s in STREAMS}
            for s in STREAMS:
                info = store.get_log(named[s])
                assert info.size == RECORDS + 50
                indices = {store.index_of(info, f"{s}-{i:06d}") for i in range(RECORDS + 50)}
                assert indices == set(range(RECORDS + 50))
            # Every checkpoint anchored once: one CheckpointAnchored per (log, size), sizes rising;
            # each matches our root at that size, and our rows hold no failed or conflicting anchor.
            registry = load_deployment(home_a, 31337)["address"]
            chain = Chain(chain_node.rpc_url, registry)
            events = read_events(chain, chain.registry.events.CheckpointAnchored, 0)
            rows = {}
            for s in STREAMS:
                info = store.get_log(named[s])
                mine = [e for e in events if bytes(e["args"]["logId"]) == info.log_id]
                sizes = [e["args"]["size"] for e in mine]
                assert sizes == sorted(set(sizes)) and sizes[-1] == RECORDS + 50, sizes
                for e in mine:
                    assert bytes(e["args"]["root"]) == store.root_at(info.stream, e["args"]["size"])
                rows[s] = AnchorStore(store.engine).all_for_log(info.pk)
                assert {r.state for r in rows[s]} <= {"included", "final"}, [(r.size, r.state, r.error) for r in rows[s]]
                assert sorted(r.size for r in rows[s]) == sizes  # our rows are exactly the chain's anchors
            # No nonce clash: every anchor transaction mined, none reverted, nonces distinct; the
            # relayer's (= the admin's) transactions from both processes hold nonces 0..n-1, all
            # mined and successful, none refused or replaced.
            receipts = [chain.receipt(r.tx_hash) for s in STREAMS for r in rows[s]]
            assert all(rc is not None and rc["status"] == 1 for rc in receipts)
            nonces = [r.nonce for s in STREAMS for r in rows[s]]
            assert len(nonces) == len(set(nonces))
            relayer = ctx.keyring.info("dev0").address
            sent = Transactions(store.engine).store.for_sender(chain.chain_id, chain.genesis_hash, relayer)
            assert sorted(r.nonce for r in sent) == list(range(len(sent)))
            assert sum(r.purpose == "grantRole" for r in sent) == len(LENDERS), [r.purpose for r in sent]
            assert all(chain.receipt(r.tx_hash)["status"] == 1 for r in sent)
            assert chain.call(chain.w3.eth.get_transaction_count, relayer, "latest") == len(sent)
            assert sorted(r.address.lower() for r in [ctx.keyring.info(f"dev{n}") for n in LENDERS]) == sorted(
                a.lower() for a in clients[survivor].get("/v1/lenders", headers={"Authorization": f"Bearer {admin}"}).json())
        finally:
            ctx.close()
        audit = json.loads(_dpl(env_a, "audit", "--json"))  # roots recomputed from the records
        assert audit["clean"] and audit["records"] == 2 * (RECORDS + 50), audit
        for name, path in outputs.items():
            text = path.read_text(errors="replace").lower()
            assert "nonce" not in text and "anchoring failed" not in text and "traceback" not in text, (name, text[-3000:])
    finally:
        for proc in servers.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
        node.down(home_a)
