"""The access log over HTTP (``api/routes_access_log.py``), on SQLite and PostgreSQL against a real
anvil: a factory lists its own, an auditor any factory's, a lender nothing; a proof of an entry
against the anchored checkpoint goes to the factory, an auditor and the lender the entry names
(with its receipt's access log id), and verifies on chain; nobody appends to an access log.
Entries are made as the grants' read path makes them (``AccessLog.record``)."""

from __future__ import annotations

import pytest

from ledger import bundles
from ledger.chain.check import verify_on_chain
from ledger.service.access_log import AccessLog, check_receipt
from ledger.service.anchoring import anchor_once

LOG = "0x" + "44" * 32


@pytest.fixture(scope="module")
def reads(world):
    svc = world.client.app.state.services
    parties = {p.name: p for p in svc.parties.list()}
    access = AccessLog(svc)
    before = len(access.entries(parties["acme"])) if access.log(parties["acme"]) else 0

    def read(reader, outcome="read"):
        return access.record(factory_party=parties["acme"], reader_party=parties[reader], key_prefix="0a1b2c3d",
                             grant_id=1, log_id=LOG, indices=[1, 2, 3], fields={"mes.work_order": ["qty_good"]},
                             outcome=outcome, reason=None if outcome == "read" else "the grant was revoked")

    receipts = {"a": read("bank-a"), "b": read("bank-b"), "refused": read("bank-a", "refused")}
    return {"receipts": receipts, "before": before, "read": read, "svc": svc}


def test_a_factory_lists_its_own_access_log_an_auditor_any_a_lender_none(world, reads):
    mine = world.ok("GET", "/v1/access-log", "acme")
    receipt = reads["receipts"]["a"]
    assert mine["factory"] == world.addresses["acme"] and mine["access_log"] == receipt.log_id
    assert mine["stream"] == "dpl-access/" + world.addresses["acme"].lower()
    tail = mine["entries"][reads["before"]:]
    assert [(e["party"], e["outcome"], e["index"], e["leaf_hash"]) for e in tail] == [
        ("bank-a", "read", receipt.index, receipt.leaf_hash),
        ("bank-b", "read", reads["receipts"]["b"].index, reads["receipts"]["b"].leaf_hash),
        ("bank-a", "refused", reads["receipts"]["refused"].index, reads["receipts"]["refused"].leaf_hash)]
    assert tail[2]["reason"] == "the grant was revoked" and tail[0]["records"]["count"] == 3
    assert world.ok("GET", "/v1/access-log?factory=acme", "aud") == mine
    assert world.ok("GET", f"/v1/access-log?access_log={receipt.log_id}", "aud") == mine
    assert world.ok("GET", f"/v1/access-log?factory={world.addresses['acme']}&start={receipt.index}&limit=1",
                    "aud")["entries"] == [mine["entries"][receipt.index]]
    assert world.get("/v1/access-log", "aud").status_code == 422  # whose?
    assert world.get("/v1/access-log?factory=acme", "globex").status_code == 404  # not its own
    assert world.get("/v1/access-log?factory=acme", "bank-a").status_code == 403
    assert world.get("/v1/access-log").status_code == 401
    assert world.get("/v1/access-log?factory=nobody", "aud").status_code == 404
    globex = world.ok("GET", "/v1/access-log", "globex")
    assert globex["factory"] == world.addresses["globex"] and globex["stream"] != mine["stream"]


def test_an_entry_s_proof_verifies_against_the_anchored_root_for_whom_may_see_it(world, reads):
    receipt = reads["receipts"]["a"]
    path = f"/v1/access-log/{receipt.index}/proof?access_log={receipt.log_id}"
    late = reads["read"]("bank-a")
    anchor_once(reads["svc"])
    unanchored = reads["read"]("bank-a")  # after the anchoring run: not covered yet
    later = world.get(f"/v1/access-log/{unanchored.index}/proof?factory=acme", "acme")
    assert later.status_code == 409 and "not covered by an anchored checkpoint" in later.json()["detail"]

    bundle = world.ok("GET", path, "bank-a")
    assert check_receipt(receipt.as_json(), bundle)["data"]["party"] == "bank-a"
    checks = verify_on_chain(bundles.verify(bundle), world.rpc_url, world.home, world.registry,
                             factory=world.addresses["admin"])  # dev0: the service's key, the log's owner
    assert checks[-1].name == "anchor transaction"
    assert world.ok("GET", path, "acme") == bundle == world.ok("GET", path, "aud")
    assert world.ok("GET", f"/v1/access-log/{late.index}/proof?factory=acme", "acme")["checkpoint"]["size"] > late.index
    # another lender's entry is no entry for bank-b; another factory's log none for globex
    assert world.get(path, "bank-b").status_code == 404
    assert world.get(path, "globex").status_code == 404
    assert world.get(f"/v1/access-log/{10**9}/proof?factory=acme", "acme").status_code == 404
    # a lender learns nothing of the log's size or of others' reads: one answer for all
    beyond = world.get(f"/v1/access-log/{10**9}/proof?access_log={receipt.log_id}", "bank-b")
    other = world.get(path, "bank-b")
    assert beyond.status_code == other.status_code == 404 and beyond.json()["detail"] == other.json()["detail"]
    none = world.get("/v1/access-log/0/proof?factory=selfco", "bank-b")  # a factory with no reads at all
    assert none.status_code == 404 and none.json()["detail"] == other.json()["detail"]
    old = reads["before"] + 1
    consistency = world.ok("GET", f"/v1/access-log/consistency?factory=acme&from={old}", "aud")
    assert bundles.verify(consistency).format == "dpl-consistency/1" and consistency["old"]["size"] == old


def test_nobody_appends_to_an_access_log_or_makes_one(world, reads):
    receipt = reads["receipts"]["a"]
    forged = [{"id": "x", "ts": "2026-12-07T00:00:00Z", "type": "dpl.access", "data": {}}]
    for who in ("acme", "globex"):  # not owned by any party: no such log for a factory
        assert world.post(f"/v1/logs/{receipt.log_id}/records", who, json=forged).status_code == 404
    svc = reads["svc"]
    from ledger.service.logs import Logs

    with pytest.raises(Exception, match="reserved"):
        Logs(svc).create("dpl-access/" + world.addresses["globex"].lower(), world.addresses["globex"])
    size = AccessLog(svc).log(world.addresses["acme"]).size
    assert world.ok("GET", "/v1/access-log", "acme")["size"] == size


def test_done_when_every_grant_read_is_proven_against_an_anchored_root_and_a_revoked_grant_is_logged(world, reads):
    """Issue 15's "done when", over HTTP: reads through a grant, then a read after its revocation
    (403), each an entry whose proof the lender (or the factory) verifies on chain."""
    records = [{"id": f"al-{i}", "ts": "2026-11-01T08:00:00+08:00", "type": "mes.work_order",
                "data": {"product": "BRK-220", "qty_good": i}} for i in range(6)]
    log_id = world.new_log("acme", records, anchor=True)
    grant = {"format": "dpl-grant/1", "lender": world.addresses["bank-a"], "logs": [log_id],
             "records": {"from": 0, "to": 6}, "types": {"mes.work_order": ["qty_good"]}, "expires": "2099-01-01T00:00:00Z"}
    gid = world.ok("POST", "/v1/grants", "acme", 201, json=grant)["id"]
    read = lambda: world.get(f"/v1/grants/{gid}/records", "bank-a", params={"log": log_id, "from": 0, "to": 6})  # noqa: E731
    first, second = read(), read()
    assert first.status_code == second.status_code == 200
    world.ok("POST", f"/v1/grants/{gid}/revoke", "acme")
    refused = read()
    assert refused.status_code == 403
    mine = world.ok("GET", "/v1/access-log", "acme")["entries"]
    ours = [e for e in mine if e["grant_id"] == gid and e["log_id"] == log_id.lower()]
    assert [e["outcome"] for e in ours] == ["read", "read", "refused"] and ours[-1]["reason"]
    assert [e["index"] for e in ours[:2]] == [first.json()["receipt"]["index"], second.json()["receipt"]["index"]]

    anchor_once(reads["svc"])
    for entry in ours:
        receipt = {"access_log": world.ok("GET", "/v1/access-log", "acme")["access_log"], "index": entry["index"],
                   "leaf_hash": entry["leaf_hash"]}
        bundle = world.ok("GET", f"/v1/access-log/{entry['index']}/proof?access_log={receipt['access_log']}",
                          "bank-a")  # the lender: its reads and its refusal name it
        assert check_receipt(receipt, bundle)["data"]["grant_id"] == gid
        verified = bundles.verify(bundle)
        checks = verify_on_chain(verified, world.rpc_url, world.home, world.registry, factory=world.addresses["admin"])
        assert all(c.ok for c in checks) and verified.size > entry["index"]
