"""Logs, records, proofs, leaves and checkpoints over HTTP, on SQLite and on PostgreSQL
(the ``world`` fixture is parametrized over both backends)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from ledger import bundles, merkle
from ledger.chain.client import log_id_of
from ledger.errors import BundleError, ProofError
from tests.api.conftest import record

HEX32 = re.compile(r"0x[0-9a-f]{64}")
EMPTY_ROOT = "0x" + hashlib.sha256(b"").hexdigest()


def _hb(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _size(world, log_id, who="acme") -> int:
    return world.ok("GET", f"/v1/logs/{log_id}", who)["size"]


# --- logs ---------------------------------------------------------------------------------------


def test_create_list_show_a_log(world):
    out = world.ok("POST", "/v1/logs", "acme", 201, json={"stream": "line-b/telemetry"})
    assert HEX32.fullmatch(out["log_id"])
    assert out["stream"] == "acme/line-b/telemetry"  # namespaced by the factory
    assert out["size"] == 0 and out["root"] == EMPTY_ROOT
    assert out["factory"] == world.addresses["acme"]
    assert _hb(out["log_id"]) == log_id_of(world.addresses["acme"], "acme/line-b/telemetry")

    listed = world.ok("GET", "/v1/logs", "acme")
    assert isinstance(listed, list) and all(isinstance(item, dict) for item in listed)
    for item in listed:  # the client contract
        assert HEX32.fullmatch(item["log_id"]) and isinstance(item["stream"], str)
        assert isinstance(item["size"], int) and HEX32.fullmatch(item["root"])
    by_id = {item["log_id"]: item for item in listed}
    assert by_id[out["log_id"]]["stream"] == "acme/line-b/telemetry"
    assert by_id[world.log_id]["size"] == world.size and by_id[world.log_id]["stream"] == "acme/line-a"
    assert all(item["stream"].startswith("acme/") for item in listed)

    for who in ("acme", "aud"):
        shown = world.ok("GET", f"/v1/logs/{out['log_id']}", who)
        assert shown == by_id[out["log_id"]]
    assert out["log_id"] in {item["log_id"] for item in world.ok("GET", "/v1/logs", "aud")}


def test_a_log_is_looked_up_by_its_id_not_by_scanning_every_log(world, monkeypatch):
    """Each request finds its log with one indexed query (``LogStore.find_by_log_id``); the
    answers, a 404 for another factory's log included, are those of the scan it replaced."""
    store = world.client.app.state.services.store

    def scan():
        raise AssertionError("a request scanned every log")

    monkeypatch.setattr(store, "list_logs", scan)
    assert world.ok("GET", f"/v1/logs/{world.log_id}", "acme")["size"] == world.size
    assert world.ok("GET", f"/v1/logs/{world.log_id}", "aud")["size"] == world.size
    assert world.get(f"/v1/logs/{world.log_id}", "globex").status_code == 404  # not its log
    assert world.get("/v1/logs/0x" + "ab" * 32, "aud").status_code == 404
    world.ok("GET", f"/v1/logs/{world.log_id}/proofs/inclusion", "aud", params={"index": 0})


def test_create_log_refusals(world):
    world.ok("POST", "/v1/logs", "acme", 201, json={"stream": "dup"})
    r = world.post("/v1/logs", "acme", json={"stream": "dup"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    # the same name in another factory's namespace is another log
    assert world.ok("POST", "/v1/logs", "globex", 201, json={"stream": "dup"})["stream"] == "globex/dup"
    for bad in ({"stream": ""}, {"stream": "../etc"}, {"stream": "a b"}, {"stream": "x" * 101}, {}, {"stream": 5},
                [], "line-a"):
        r = world.post("/v1/logs", "acme", json=bad)
        assert r.status_code == 422, (bad, r.text)


# --- records --------------------------------------------------------------------------------------


def test_append_json_array_then_ndjson(world):
    log_id = world.new_log()
    first = [record(f"a-{i}", n=i) for i in range(5)]
    out = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=first)
    assert out["appended"] == 5 and out["duplicates"] == 0 and out["size"] == 5 and HEX32.fullmatch(out["root"])
    ndjson = "".join(json.dumps(record(f"b-{i}", n=i)) + "\n" for i in range(3)).encode()
    out2 = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", content=ndjson,
                    headers={"Content-Type": "application/x-ndjson"})
    assert out2["appended"] == 3 and out2["size"] == 8 and out2["root"] != out["root"]
    # the root is the Merkle root of the leaf hashes the service hands out
    leaves = world.ok("GET", f"/v1/logs/{log_id}/leaves", "acme")
    assert leaves["size"] == 8 and len(leaves["leaf_hashes"]) == 8
    assert "0x" + merkle.root([_hb(h) for h in leaves["leaf_hashes"]]).hex() == out2["root"]
    shown = world.ok("GET", f"/v1/logs/{log_id}", "acme")
    assert shown["size"] == 8 and shown["root"] == out2["root"]
    # the NDJSON records are where they should be
    bundle = world.ok("GET", f"/v1/logs/{log_id}/records/6", "acme")
    assert bundle["entries"][0]["record"]["id"] == "b-1"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_one_bad_record_refuses_the_whole_batch(world, content_type):
    log_id = world.new_log(records=[record("keep-0")])
    batch = [record("x-1"), {**record("x-2"), "ts": "yesterday"}, record("x-3")]
    if content_type == "application/json":
        r = world.post(f"/v1/logs/{log_id}/records", "acme", json=batch)
    else:
        body = "".join(json.dumps(x) + "\n" for x in batch).encode()
        r = world.post(f"/v1/logs/{log_id}/records", "acme", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["position"] == 2 and problem["field"] == "ts" and problem["record_id"] == "x-2"
    assert _size(world, log_id) == 1
    r = world.get(f"/v1/logs/{log_id}/records", "acme", params={"id": "x-1"})
    assert r.status_code == 404


def test_idempotent_by_record_id(world):
    log_id = world.new_log()
    batch = [record(f"i-{i}", n=i) for i in range(4)]
    first = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=batch)
    again = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=batch + [record("i-4")])
    assert again["appended"] == 1 and again["duplicates"] == 4 and again["size"] == 5
    same = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=batch[:2])
    assert same["appended"] == 0 and same["duplicates"] == 2 and same["size"] == 5
    assert first["size"] == 4
    # the same id with other content is a conflict, and nothing of that batch is kept
    r = world.post(f"/v1/logs/{log_id}/records", "acme", json=[record("i-9"), record("i-0", n=999)])
    assert r.status_code == 409, r.text
    assert _size(world, log_id) == 5


def test_idempotency_key_replays_the_first_answer(world):
    log_id = world.new_log()
    batch = [record(f"k-{i}") for i in range(3)]
    key = {"Idempotency-Key": f"retry-{log_id[:10]}"}
    r1 = world.post(f"/v1/logs/{log_id}/records", "acme", json=batch, headers=key)
    assert r1.status_code == 200 and "idempotent-replayed" not in r1.headers
    # meanwhile the log grows: a replay still answers what the first request answered
    world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=[record("k-other")])
    r2 = world.post(f"/v1/logs/{log_id}/records", "acme", json=batch, headers=key)
    assert r2.status_code == 200 and r2.headers["idempotent-replayed"] == "true"
    assert r2.json() == r1.json() and r2.json()["appended"] == 3 and r2.json()["size"] == 3
    assert _size(world, log_id) == 4
    # the same key with another body is refused
    r3 = world.post(f"/v1/logs/{log_id}/records", "acme", json=[record("k-new")], headers=key)
    assert r3.status_code == 422 and r3.json()["type"].endswith("/idempotency-key-reused")
    assert _size(world, log_id) == 4
    # keys belong to a party: globex's same key is its own
    other = world.new_log("globex")
    r4 = world.post(f"/v1/logs/{other}/records", "globex", json=batch, headers=key)
    assert r4.status_code == 200 and "idempotent-replayed" not in r4.headers and r4.json()["appended"] == 3


def test_an_idempotency_key_is_not_replayed_for_another_log(world):
    """A retry key names one request: the same body sent to another log is not that request."""
    a, b = world.new_log(), world.new_log()
    batch = [record("same-body")]
    key = {"Idempotency-Key": f"cross-{a[:12]}"}
    world.ok("POST", f"/v1/logs/{a}/records", "acme", json=batch, headers=key)
    r = world.post(f"/v1/logs/{b}/records", "acme", json=batch, headers=key)
    assert r.status_code in (200, 409, 422), r.text
    assert r.headers.get("idempotent-replayed") != "true"
    if r.status_code == 200:
        assert _size(world, b) == 1


def test_record_by_index_and_by_id_is_a_verifiable_bundle(world):
    index = 42
    wanted = world.records[index]
    by_index = world.ok("GET", f"/v1/logs/{world.log_id}/records/{index}", "acme")
    assert by_index["format"] == "dpl-proof/1" and by_index["log_id"] == world.log_id
    [entry] = by_index["entries"]
    assert entry["index"] == index and entry["record"] == wanted and HEX32.fullmatch(entry["salt"])
    verified = bundles.verify(by_index)
    assert verified.size == world.size and verified.log_id == _hb(world.log_id)
    # proved against the anchored checkpoint, which the bundle names
    assert by_index["anchor"]["chain_id"] == 31337 and by_index["anchor"]["registry"] == world.registry
    by_id = world.ok("GET", f"/v1/logs/{world.log_id}/records", "acme", params={"id": wanted["id"]})
    assert by_id == by_index
    # a tampered record no longer verifies (the check above could fail)
    entry["record"]["data"] = {**entry["record"]["data"], "tampered": True}
    with pytest.raises(BundleError):
        bundles.verify(by_index)
    # at an older size
    at10 = world.ok("GET", f"/v1/logs/{world.log_id}/records/3", "acme", params={"size": 10})
    assert at10["checkpoint"]["size"] == 10 and bundles.verify(at10).size == 10


def test_missing_records_are_404(world):
    for path, params in ((f"/v1/logs/{world.log_id}/records/{world.size}", {}),
                         (f"/v1/logs/{world.log_id}/records", {"id": "no-such-record"})):
        r = world.get(path, "acme", params=params)
        assert r.status_code == 404, (path, r.text)
    for index in ("-1", str(2**63), str(10**30), "x"):  # not an index at all: 422 (or simply absent: 404)
        r = world.get(f"/v1/logs/{world.log_id}/records/{index}", "acme")
        assert r.status_code in (404, 422), (index, r.text)
        assert r.headers["content-type"] == "application/problem+json"


# --- proofs, leaves, checkpoints ---------------------------------------------------------------


def test_inclusion_proof_verifies(world):
    leaves = world.ok("GET", f"/v1/logs/{world.log_id}/leaves", "aud", params={"start": 100, "limit": 10})
    assert leaves["start"] == 100 and leaves["size"] == world.size and len(leaves["leaf_hashes"]) == 10
    for who in ("acme", "aud"):
        p = world.ok("GET", f"/v1/logs/{world.log_id}/proofs/inclusion", who, params={"index": 105})
        assert p["index"] == 105 and p["size"] == world.size and p["leaf_hash"] == leaves["leaf_hashes"][5]
        assert "record" not in p and "salt" not in p  # no payload
        merkle.verify_inclusion(_hb(p["leaf_hash"]), 105, p["size"], [_hb(h) for h in p["proof"]], _hb(p["root"]))
        with pytest.raises(ProofError):
            merkle.verify_inclusion(_hb(p["leaf_hash"]), 106, p["size"], [_hb(h) for h in p["proof"]],
                                    _hb(p["root"]))
    old = world.ok("GET", f"/v1/logs/{world.log_id}/proofs/inclusion", "aud", params={"index": 5, "size": 64})
    assert old["size"] == 64
    merkle.verify_inclusion(_hb(old["leaf_hash"]), 5, 64, [_hb(h) for h in old["proof"]], _hb(old["root"]))


def test_consistency_proof_verifies(world):
    c = world.ok("GET", f"/v1/logs/{world.log_id}/proofs/consistency", "aud", params={"from": 1000, "to": 3000})
    assert c["format"] == "dpl-consistency/1" and c["old"]["size"] == 1000 and c["new"]["size"] == 3000
    merkle.verify_consistency(1000, 3000, [_hb(h) for h in c["proof"]], _hb(c["old"]["root"]), _hb(c["new"]["root"]))
    assert bundles.verify(c).size == 3000
    latest = world.ok("GET", f"/v1/logs/{world.log_id}/proofs/consistency", "acme", params={"from": 7})
    assert latest["new"]["size"] == world.size
    assert latest["new"]["root"] == world.ok("GET", f"/v1/logs/{world.log_id}", "acme")["root"]
    c["old"]["root"] = c["new"]["root"]
    with pytest.raises(BundleError):
        bundles.verify(c)


def test_leaves_page(world):
    all_ = world.ok("GET", f"/v1/logs/{world.log_id}/leaves", "aud", params={"start": 3190})
    assert len(all_["leaf_hashes"]) == world.size - 3190
    first = world.ok("GET", f"/v1/logs/{world.log_id}/leaves", "aud", params={"limit": 2})
    bundle = world.ok("GET", f"/v1/logs/{world.log_id}/records/1", "acme")
    assert first["leaf_hashes"][1] == bundle["entries"][0]["leaf_hash"]
    for params in ({"limit": 0}, {"limit": 10_001}, {"start": -1}):
        assert world.get(f"/v1/logs/{world.log_id}/leaves", "aud", params=params).status_code == 422


def test_checkpoints_and_anchor_states(world):
    log_id = world.new_log(records=[record(f"c-{i}") for i in range(6)])
    cps = world.ok("GET", f"/v1/logs/{log_id}/checkpoints", "aud")
    assert cps and cps[-1]["size"] == 6 and all(cp["anchor"] is None for cp in cps)
    [report] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    assert report["size"] == 6 and report["state"] == "included" and HEX32.fullmatch(report["tx_hash"])
    cps = {cp["size"]: cp for cp in world.ok("GET", f"/v1/logs/{log_id}/checkpoints", "aud")}
    anchor = cps[6]["anchor"]
    assert anchor["state"] == "included" and anchor["tx_hash"] == report["tx_hash"]
    assert anchor["chain_id"] == 31337 and anchor["registry"] == world.registry
    assert cps[6]["root"] == world.ok("GET", f"/v1/logs/{log_id}", "acme")["root"]
    # the registry has that root
    from ledger.chain.client import Chain

    chain = Chain(world.rpc_url, world.registry)
    root = chain.registry.functions.rootAt(_hb(log_id), 6).call()
    assert "0x" + bytes(root).hex() == cps[6]["root"]
    # confirmations later the anchor is final
    world.mine(3)
    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    cps = {cp["size"]: cp for cp in world.ok("GET", f"/v1/logs/{log_id}/checkpoints", "acme")}
    assert cps[6]["anchor"]["state"] == "final"
    # more records, anchor again: a second anchored checkpoint
    world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=[record("c-6")])
    [report] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    assert report["size"] == 7
    cps = {cp["size"]: cp for cp in world.ok("GET", f"/v1/logs/{log_id}/checkpoints", "aud")}
    assert cps[7]["anchor"]["state"] == "included" and cps[6]["anchor"]["state"] == "final"


def test_anchoring_an_empty_log_says_so(world):
    log_id = world.new_log()
    [report] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    assert report["state"] == "empty" and report["size"] == 0


# --- limits and malformed input -------------------------------------------------------------------


def test_anchor_now_while_another_worker_anchors_is_409_anchoring_busy(world):
    """The run is refused by the ledger (``AnchoringBusyError``), mapped by the one error
    table: 409 ``anchoring-busy``, nothing anchored, no Retry-After (as before)."""
    from ledger.store.locks import anchoring_lock

    log_id = world.new_log(records=[record("busy-1")])
    svc = world.client.app.state.services
    with anchoring_lock(svc.store.engine, svc.settings.home) as held:
        assert held  # this test stands for the other worker
        r = world.post(f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    assert r.status_code == 409, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "retry-after" not in r.headers
    body = r.json()
    assert body["type"].endswith("/anchoring-busy") and body["title"] == "anchoring busy"
    assert body["detail"] == "another worker is anchoring right now; retry in a moment"
    assert [c["anchor"] for c in world.ok("GET", f"/v1/logs/{log_id}/checkpoints", "acme")] == [None]
    [report] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")  # the lock is free again
    assert report["size"] == 1


def test_a_busy_anchoring_run_is_a_ledger_error_and_the_loop_skips_it(world):
    """The worker raises the ledger's error, not an HTTP problem; the loop's round skips it
    without reporting an error (the holder anchors every log)."""
    from api.background import AnchoringLoop
    from ledger.service.anchoring import anchor_once
    from ledger.errors import AnchoringBusyError, ConflictError
    from ledger.store.locks import anchoring_lock

    svc = world.client.app.state.services
    loop = AnchoringLoop(svc, 3600)
    with anchoring_lock(svc.store.engine, svc.settings.home) as held:
        assert held
        with pytest.raises(AnchoringBusyError) as e:
            anchor_once(svc)
        assert isinstance(e.value, ConflictError)
        loop.run_round()
    assert loop.last_error is None and loop.last_run is None
    loop.run_round()  # the lock is free: a real round
    assert loop.last_error is None and loop.last_run is not None
    loop.stop()  # gives up the leadership it took (the world is shared by the next tests)


def test_only_the_anchoring_leader_loop_anchors_and_health_says_which(world):
    """Two loops on one database (standing for two processes): the first to run a round leads
    and anchors; the other skips its rounds while the leader lives, and takes over once it
    stops; /health's ``anchoring.leader`` says which process leads."""
    from api.background import AnchoringLoop
    from ledger.service.health import check_health

    svc = world.client.app.state.services
    first, second = AnchoringLoop(svc, 3600), AnchoringLoop(svc, 3600)
    try:
        log_id = world.new_log(records=[record("lead-1")])
        first.run_round()
        assert first.leader and first.last_error is None and first.last_run is not None
        world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=[record("lead-2")])
        second.run_round()
        assert not second.leader and second.last_run is None and second.last_error is None
        assert check_health(svc, first)["anchoring"]["leader"] is True
        assert check_health(svc, second)["anchoring"]["leader"] is False
        first.stop()  # gives the leadership up
        assert not first.leader
        second.run_round()
        assert second.leader and second.last_error is None
        newest = world.ok("GET", f"/v1/logs/{log_id}/checkpoints", "acme")[-1]
        assert newest["size"] == 2 and newest["anchor"] is not None  # anchored by the new leader
    finally:
        first.stop()
        second.stop()


def test_too_many_records_is_413(world, monkeypatch):
    import api.routes_logs as routes

    monkeypatch.setattr(routes, "MAX_RECORDS", 3)
    log_id = world.new_log()
    batch = [record(f"m-{i}") for i in range(4)]
    r = world.post(f"/v1/logs/{log_id}/records", "acme", json=batch)
    assert r.status_code == 413 and r.json()["type"].endswith("/too-many-records")
    body = "".join(json.dumps(x) + "\n" for x in batch).encode()
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 413
    assert _size(world, log_id) == 0
    assert world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=batch[:3])["size"] == 3


def test_too_many_bytes_is_413_declared_or_streamed(world, monkeypatch):
    import api.routes_logs as routes

    monkeypatch.setattr(routes, "MAX_BYTES", 1000)
    log_id = world.new_log()
    batch = [record(f"big-{i}", pad="x" * 200) for i in range(5)]
    body = json.dumps(batch).encode()
    assert len(body) > 1000
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"

    def chunks():  # no Content-Length: counted while reading
        for i in range(0, len(body), 100):
            yield body[i:i + 100]

    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert _size(world, log_id) == 0
    assert world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=batch[:1])["size"] == 1


def test_unsupported_content_type_is_415(world):
    log_id = world.new_log()
    for ctype in ("text/plain", "application/xml", "multipart/form-data; boundary=x"):
        r = world.post(f"/v1/logs/{log_id}/records", "acme", content=json.dumps([record("u")]).encode(),
                       headers={"Content-Type": ctype})
        assert r.status_code == 415, (ctype, r.text)
    assert _size(world, log_id) == 0


MALFORMED_JSON_BODIES = [
    b"",
    b"{}",
    b'{"id": "a"}',
    b'"records"',
    b"42",
    b"null",
    b"[",
    b"[1, 2]",
    b"[[]]",
    b'[{"id": "x"}]',
    b'[{"id": 5, "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": []}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00", "type": "t", "data": {}}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "", "data": {}}]',
    b'[{"id": "", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"v": 1e400}}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"v": NaN}}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"v": 123456789012345678901234567890}}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}, "extra": 1}]',
    b'[{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"s": "\\ud800"}}]',
    b"\xff\xfe[]",
    b"[" + b"[" * 5000 + b"]" * 5000 + b"]",
]


@pytest.mark.parametrize("body", MALFORMED_JSON_BODIES, ids=range(len(MALFORMED_JSON_BODIES)))
def test_malformed_json_is_4xx_never_5xx(world, body):
    log_id = world.new_log(records=[record("mj-good")])
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert _size(world, log_id) == 1


def test_non_array_json_names_the_problem(world):
    r = world.post(f"/v1/logs/{world.log_id}/records", "acme", json={"records": [record("x")]})
    assert r.status_code == 422 and "array" in r.json()["detail"]


def test_duplicate_keys_are_refused_in_both_encodings(world):
    """JSON allows a key twice; a record must not (which value would the ledger have meant?)."""
    log_id = world.new_log()
    raw = b'{"id": "d-1", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"v": 1, "v": 2}}'
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=raw + b"\n",
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 422 and r.json()["field"] == "data.v"
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=b"[" + raw + b"]",
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert _size(world, log_id) == 0


MALFORMED_NDJSON_BODIES = [
    b"not json\n",
    b'{"id": "x"}\n',
    b"[1]\n",
    b'{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}} trailing\n',
    b"\xff\xfe\n",
    b'{"id": "x", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {"v": NaN}}\n',
]


@pytest.mark.parametrize("body", MALFORMED_NDJSON_BODIES, ids=range(len(MALFORMED_NDJSON_BODIES)))
def test_malformed_ndjson_is_422_with_the_line(world, body):
    log_id = world.new_log()
    good = json.dumps(record("nd-good")).encode() + b"\n"
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=good + body,
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 422, r.text
    assert r.json()["position"] == 2
    assert _size(world, log_id) == 0


def _good(rid: str) -> bytes:
    return json.dumps(record(rid), separators=(",", ":")).encode()


#: NDJSON bodies with one bad line. The lone CR: NDJSON lines end at LF (CRLF allowed), so
#: "a\rb" is one line holding two values (the API once split it into two records).
BAD_NDJSON = {
    "truncated": _good("nd-1") + b"\n" + _good("nd-2") + b'\n{"id":"nd-3","ts":\n',
    "duplicate-key": _good("nd-1") + b'\n{"id":"nd-2","id":"nd-2b","ts":"2026-11-01T08:00:00Z","type":"t","data":{}}\n',
    "lone-cr": _good("nd-1") + b"\r" + _good("nd-2") + b"\n",
    "blank-lines-count": b"\n \n" + _good("nd-1") + b"\r\n\n" + b"{nope}\n",
}


@pytest.mark.parametrize("name", sorted(BAD_NDJSON))
def test_a_bad_ndjson_line_reads_the_same_through_the_api_and_dpl_ingest(world, tmp_path, name):
    """One reader (``ledger.sources.read_jsonl``) for both edges: the same line refused with
    the same words, and nothing stored either way."""
    import os
    import subprocess
    import sys

    body = BAD_NDJSON[name]
    log_id = world.new_log()
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=body,
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 422, r.text
    assert _size(world, log_id) == 0

    env = {k: v for k, v in os.environ.items() if not k.startswith("DPL_") and k != "DATABASE_URL"}
    env["DPL_HOME"] = str(tmp_path / "home")

    def dpl(*args, data=None):
        return subprocess.run([sys.executable, "-m", "ledger.cli", *args], input=data, capture_output=True,
                              env=env, timeout=120)

    assert dpl("log", "create", "s").returncode == 0
    done = dpl("ingest", "--log", "s", "-", data=body)
    assert done.returncode == 1 and b"Traceback" not in done.stderr
    assert done.stderr.decode().strip() == f"error: {r.json()['detail']}"


@pytest.mark.parametrize("log_id", ["abc", "0x1234", "0x" + "zz" * 32, "0x" + "a" * 63, "0x" + "a" * 65,
                                    "ab" * 33, "0x" + "é" * 64, "%00"])
def test_invalid_log_id_is_422(world, log_id):
    for method, suffix in (("GET", ""), ("GET", "/checkpoints"), ("GET", "/leaves"), ("GET", "/records/0"),
                           ("POST", "/records")):
        kw = {"json": [record("x")]} if method == "POST" else {}
        r = world.call(method, f"/v1/logs/{log_id}{suffix}", "acme", **kw)
        assert r.status_code == 422, (method, suffix, r.text)
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("suffix,params", [
    ("/proofs/inclusion", {"index": 3495}),
    ("/proofs/inclusion", {"index": 10**30}),
    ("/proofs/inclusion", {"index": 5, "size": 5}),
    ("/proofs/inclusion", {"index": 5, "size": 10**6}),
    ("/proofs/inclusion", {"index": 5, "size": 2**63}),
    ("/proofs/inclusion", {"index": "x"}),
    ("/proofs/inclusion", {}),
    ("/proofs/consistency", {"from": 0}),
    ("/proofs/consistency", {"from": 10, "to": 5}),
    ("/proofs/consistency", {"from": 10, "to": 10**6}),
    ("/proofs/consistency", {"from": 2**63}),
    ("/proofs/consistency", {"from": -1}),
    ("/records/5", {"size": 3}),
    ("/records/5", {"size": 10**6}),
    ("/records/5", {"size": 2**63}),
])
def test_bad_proof_arguments_are_4xx(world, suffix, params):
    r = world.get(f"/v1/logs/{world.log_id}{suffix}", "acme", params=params)
    assert 400 <= r.status_code < 500, r.text
    assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("start", [3495, 10**6, 2**63 - 1, 2**63, 10**30])
def test_leaves_beyond_the_end_are_empty_not_an_error(world, start):
    r = world.get(f"/v1/logs/{world.log_id}/leaves", "aud", params={"start": start})
    assert r.status_code < 500, r.text
    if r.status_code == 200:
        assert r.json()["leaf_hashes"] == [] and r.json()["size"] == world.size


def _pieces(body: bytes, size: int):
    """``body`` sent chunked in ``size``-byte pieces: lines cut anywhere, no Content-Length."""
    for i in range(0, len(body), size):
        yield body[i:i + size]


def test_a_streamed_ndjson_body_is_sealed_in_chunks_and_stored_whole(world, monkeypatch):
    import api.routes_logs as routes
    from ledger.service.logs import Logs

    monkeypatch.setattr(routes, "SEAL_CHUNK", 40)
    sealed = []
    real = Logs.seal
    monkeypatch.setattr(Logs, "seal", lambda self, info, records, **kw: sealed.append(len(records))
                        or real(self, info, records, **kw))
    log_id = world.new_log()
    lines = [json.dumps(record(f"st-{i}", n=i), separators=(",", ":")).encode() for i in range(150)]
    body = b"\n".join(lines[:75]) + b"\r\n\n  \n" + b"\n".join(lines[75:])  # CRLF, blank lines, no final LF
    out = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", content=_pieces(body, 333),
                   headers={"Content-Type": "application/x-ndjson"})
    assert (out["appended"], out["size"]) == (150, 150)
    assert len(sealed) >= 3 and sum(sealed) == 150 and max(sealed) < 150  # sealed as it streamed
    for index in (0, 74, 75, 149):
        got = world.ok("GET", f"/v1/logs/{log_id}/records/{index}", "acme")
        assert got["entries"][0]["record"]["id"] == f"st-{index}"
    again = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", content=_pieces(body, 1000),
                     headers={"Content-Type": "application/x-ndjson"})
    assert (again["appended"], again["duplicates"], again["root"]) == (0, 150, out["root"])


def test_a_bad_line_late_in_a_streamed_body_is_named_and_stores_nothing(world, monkeypatch):
    import api.routes_logs as routes

    monkeypatch.setattr(routes, "SEAL_CHUNK", 40)
    log_id = world.new_log()
    lines = [json.dumps(record(f"sb-{i}", n=i)).encode() for i in range(200)]
    lines[172] = b'{"id": "sb-172", "ts": "2026-13-01T00:00:00Z", "type": "t", "data": {}}'
    body = b"\n".join(lines) + b"\n"
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=_pieces(body, 500),
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert (problem["position"], problem["field"]) == (173, "ts") and "sb-172" in problem["detail"]
    assert _size(world, log_id) == 0
    # The same key with another body: the key is named first, as for a body read whole.
    good = b"\n".join(lines[:3]) + b"\n"
    world.ok("POST", f"/v1/logs/{log_id}/records", "acme", content=good,
             headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": "k-stream"})
    r = world.post(f"/v1/logs/{log_id}/records", "acme", content=_pieces(body, 500),
                   headers={"Content-Type": "application/x-ndjson", "Idempotency-Key": "k-stream"})
    assert r.status_code == 422 and r.json()["type"].endswith("/idempotency-key-reused")
    assert _size(world, log_id) == 3
