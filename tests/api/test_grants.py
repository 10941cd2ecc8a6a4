"""Data-access grants over HTTP (SQLite and PostgreSQL): a factory grants a lender some fields of
some record types of its own logs; the lender reads through the grant and gets only those
fields (the hidden values are nowhere in the response bytes); whole-type reads on a dpl-record/1
log verify against the anchored root; another lender gets a 404; a revoked or expired grant is
refused (403); bad grants are named."""

from __future__ import annotations

import orjson
import pytest

from ledger import merkle
from ledger.canonical import canonicalize

#: A distinctive value that is never granted: it must not appear in any lender's response bytes.
SECRET = "CUSTOMER-SECRET-9f41c2e7"
FUTURE = "2099-01-01T00:00:00Z"


def _records() -> list[dict]:
    out = []
    for i in range(30):
        ts = f"2026-11-01T{8 + i // 10:02d}:{(i % 10) * 5:02d}:00+08:00"
        kind = i % 3
        if kind == 0:
            out.append({"id": f"wo-{i}", "ts": ts, "type": "mes.work_order",
                        "data": {"product": "BRK-220", "qty_good": 100 + i, "customer": f"{SECRET}-{i}"}})
        elif kind == 1:
            out.append({"id": f"t-{i}", "ts": ts, "type": "iot.telemetry",
                        "data": {"machine": "cnc-01", "parts_total": 1000 + i, "state": "running"}})
        else:
            out.append({"id": f"so-{i}", "ts": ts, "type": "erp.sales_order",
                        "data": {"customer": f"{SECRET}-so-{i}", "amount_minor": 5000 + i, "currency": "CNY"}})
    return out


@pytest.fixture(scope="module")
def granted_log(world) -> str:
    return world.new_log("acme", _records(), anchor=True)


def _grant(world, log_id, **over) -> dict:
    return {"format": "dpl-grant/1", "lender": world.addresses["bank-a"], "logs": [log_id],
            "records": {"from": 0, "to": 24},
            "types": {"mes.work_order": ["product", "qty_good"], "iot.telemetry": ["*"]},
            "expires": FUTURE, **over}


def _make(world, log_id, who="acme", status=201, **over):
    return world.ok("POST", "/v1/grants", who, status, json=_grant(world, log_id, **over))


def _read(world, gid, log_id, who="bank-a", start=0, end=30):
    return world.get(f"/v1/grants/{gid}/records", who, params={"log": log_id, "from": start, "to": end})


def _access_entries(world, factory="acme") -> list[dict]:
    from ledger.service.access_log import AccessLog

    return AccessLog(world.client.app.state.services).entries(world.app_parties().get(factory))


def _entry_of(world, receipt: dict) -> dict:
    """The access log entry a receipt names (its leaf hash checked)."""
    entry = next(e for e in _access_entries(world) if e["index"] == receipt["index"])
    assert entry["leaf_hash"] == receipt["leaf_hash"]
    return entry


def test_create_list_get_revoke(world, granted_log):
    made = _make(world, granted_log)
    gid = made["id"]
    assert made["state"] == "live" and made["lender"] == world.addresses["bank-a"] and made["factory"] == "acme"
    assert made["grant"]["types"] == {"iot.telemetry": ["*"], "mes.work_order": ["product", "qty_good"]}
    assert made["digest"].startswith("0x") and len(made["digest"]) == 66 and made["revoked_at"] is None
    assert gid in [g["id"] for g in world.ok("GET", "/v1/grants", "acme")]
    assert gid in [g["id"] for g in world.ok("GET", "/v1/grants", "bank-a")]
    assert gid in [g["id"] for g in world.ok("GET", "/v1/grants", "aud")]  # an auditor sees every grant
    assert gid not in [g["id"] for g in world.ok("GET", "/v1/grants", "bank-b")]
    assert gid not in [g["id"] for g in world.ok("GET", "/v1/grants", "globex")]
    assert world.ok("GET", f"/v1/grants/{gid}", "bank-a") == made
    world.ok("GET", f"/v1/grants/{gid}", "bank-b", 404)
    world.ok("GET", f"/v1/grants/{gid}", "globex", 404)
    world.ok("GET", "/v1/grants/999999", "acme", 404)

    world.ok("POST", f"/v1/grants/{gid}/revoke", "bank-a", 403)  # only a factory revokes
    world.ok("POST", f"/v1/grants/{gid}/revoke", "globex", 404)  # another factory's: as if absent
    revoked = world.ok("POST", f"/v1/grants/{gid}/revoke", "acme")
    assert revoked["state"] == "revoked" and revoked["revoked_at"] is not None
    again = world.ok("POST", f"/v1/grants/{gid}/revoke", "acme")  # idempotent: the first time stays
    assert again == revoked


def test_the_lender_reads_only_the_granted_records_and_fields(world, granted_log):
    gid = _make(world, granted_log)["id"]
    r = _read(world, gid, granted_log)
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    assert SECRET.encode() not in r.content  # no hidden value anywhere in the bytes
    assert b"amount_minor" not in r.content and b"erp.sales_order" not in r.content  # a type not granted
    doc = orjson.loads(r.content)
    assert doc["format"] == "dpl-grant-read/1" and doc["grant"]["id"] == gid and doc["log_id"] == granted_log
    # records [0, 24) of the two granted types: never 24-29 (out of the granted range), never sales orders
    assert [e["index"] for e in doc["records"]] == [i for i in range(24) if i % 3 != 2]
    originals = _records()
    for e in doc["records"]:
        rec = e["record"]
        assert {k: rec[k] for k in ("id", "ts", "type")} == {k: originals[e["index"]][k] for k in ("id", "ts", "type")}
        if rec["type"] == "mes.work_order":
            assert rec["data"] == {"product": "BRK-220", "qty_good": 100 + e["index"]}
            assert e["proven"] is False and "salt" not in e and "proof" not in e
        else:
            assert rec == originals[e["index"]] and e["proven"] is True
    assert "cannot prove a record with hidden fields" in doc["notice"]
    # the read is in acme's access log before the answer: who, which grant, which records and fields
    receipt = doc["receipt"]
    assert set(receipt) == {"access_log", "index", "leaf_hash"}
    entry = _entry_of(world, receipt)
    assert entry["outcome"] == "read" and entry["party"] == "bank-a" and entry["grant_id"] == gid
    assert entry["key_prefix"] == world.keys["bank-a"].split("_")[1] and entry["log_id"] == granted_log
    assert entry["records"]["count"] == 16  # not every index of [0, 30): a digest of the list returned
    assert entry["fields"] == {"iot.telemetry": "*", "mes.work_order": ["product", "qty_good"]}
    # a sub-range: only its records
    doc = orjson.loads(_read(world, gid, granted_log, start=3, end=7).content)
    assert [e["index"] for e in doc["records"]] == [3, 4, 6] and doc["range"] == {"from": 3, "to": 7}
    assert doc["receipt"]["index"] > receipt["index"]


def test_whole_type_records_verify_against_the_anchored_root(world, granted_log):
    gid = _make(world, granted_log, types={"iot.telemetry": ["*"]})["id"]
    doc = orjson.loads(_read(world, gid, granted_log).content)
    checkpoint = doc["checkpoint"]
    assert checkpoint["size"] == 30 and doc["anchor"]["chain_id"] == 31337 and doc["notice"] is None
    anchored = world.ok("GET", f"/v1/logs/{granted_log}", "acme")
    root = bytes.fromhex(checkpoint["root"][2:])
    assert checkpoint["root"] == anchored["root"]
    assert len(doc["records"]) == 8
    for e in doc["records"]:
        leaf = merkle.leaf_hash(bytes.fromhex(e["salt"][2:]) + canonicalize(e["record"]))
        assert "0x" + leaf.hex() == e["leaf_hash"]
        merkle.verify_inclusion(leaf, e["index"], checkpoint["size"], [bytes.fromhex(h[2:]) for h in e["proof"]], root)
        # a changed value does not verify
        forged = {**e["record"], "data": {**e["record"]["data"], "parts_total": 1}}
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(merkle.leaf_hash(bytes.fromhex(e["salt"][2:]) + canonicalize(forged)),
                                    e["index"], checkpoint["size"], [bytes.fromhex(h[2:]) for h in e["proof"]], root)


def test_a_period_grant_covers_records_by_instant(world, granted_log):
    gid = _make(world, granted_log, records={"since": "2026-11-01T09:00:00+08:00",
                                             "until": "2026-11-01T09:30:00+08:00"})["id"]
    doc = orjson.loads(_read(world, gid, granted_log).content)
    assert [e["index"] for e in doc["records"]] == [10, 12, 13, 15]


def test_another_lender_gets_404_and_other_roles_are_refused(world, granted_log):
    gid = _make(world, granted_log)["id"]
    before = len(_access_entries(world))
    r = _read(world, gid, granted_log, who="bank-b")
    assert r.status_code == 404 and SECRET.encode() not in r.content
    assert len(_access_entries(world)) == before  # a grant that does not name the caller: nothing to log
    assert _read(world, gid, granted_log, who="acme").status_code == 403
    assert _read(world, gid, granted_log, who="aud").status_code == 403
    assert _read(world, gid, granted_log, who=None).status_code == 401


def test_a_revoked_grant_is_refused_on_the_next_read(world, granted_log):
    gid = _make(world, granted_log)["id"]
    assert _read(world, gid, granted_log).status_code == 200
    world.ok("POST", f"/v1/grants/{gid}/revoke", "acme")
    before = len(_access_entries(world))
    r = _read(world, gid, granted_log)
    assert r.status_code == 403 and "revoked" in r.json()["detail"], r.text
    assert b"BRK-220" not in r.content
    refused = [e for e in _access_entries(world)[before:] if e["grant_id"] == gid]
    assert [(e["outcome"], e["party"], e["records"]) for e in refused] == [("refused", "bank-a", {"from": 0, "to": 30})]
    assert "revoked" in refused[0]["reason"]


def test_an_expired_grant_is_refused(world, granted_log, monkeypatch):
    from ledger.service import grants

    gid = _make(world, granted_log, expires="2030-01-01T00:00:00Z")["id"]
    assert _read(world, gid, granted_log).status_code == 200
    listed = world.ok("GET", f"/v1/grants/{gid}", "bank-a")
    assert listed["state"] == "live"
    monkeypatch.setattr(grants, "_now_ms", lambda: 1893456000000)  # 2030-01-01T00:00:00Z: at expiry
    r = _read(world, gid, granted_log)
    assert r.status_code == 403 and "expired" in r.json()["detail"], r.text
    assert [(e["outcome"], e["grant_id"]) for e in _access_entries(world)[-1:]] == [("refused", gid)]
    assert world.ok("GET", f"/v1/grants/{gid}", "bank-a")["state"] == "expired"


def test_a_log_the_grant_does_not_name_is_refused(world, granted_log):
    other = world.new_log("acme", [{"id": "x", "ts": "2026-11-01T08:00:00+08:00", "type": "iot.telemetry",
                                    "data": {"machine": "m"}}])
    gid = _make(world, granted_log)["id"]
    r = _read(world, gid, other)
    assert r.status_code == 403 and "does not name log" in r.json()["detail"], r.text


def test_the_factory_grants_only_its_own_logs(world, granted_log):
    other = world.new_log("globex", [{"id": "x", "ts": "2026-11-01T08:00:00+08:00", "type": "t.x", "data": {}}])
    problem = _make(world, other, status=422)
    assert "grant logs" in problem["detail"] and "not a log of yours" in problem["detail"]
    absent = "0x" + "ab" * 32
    assert _make(world, absent, status=422)["detail"] == problem["detail"].replace(other, absent)
    _make(world, granted_log, who="bank-a", status=403)  # a lender grants nothing
    _make(world, granted_log, who="aud", status=403)


@pytest.mark.parametrize("over, field", [
    ({"lender": "0x" + "12" * 20}, "grant lender"),  # an address, but no lender party of this service
    ({"lender": "bank-a"}, "grant lender"),
    ({"expires": "2020-01-01T00:00:00Z"}, "grant expires"),
    ({"expires": "tomorrow"}, "grant expires"),
    ({"types": {}}, "grant types"),
    ({"types": {"mes.work_order": ["*", "qty_good"]}}, "grant types.mes.work_order"),
    ({"records": {"from": 5, "to": 5}}, "grant records"),
    ({"format": "dpl-grant/2"}, "grant format"),
    ({"extra": 1}, "grant extra"),
])
def test_bad_grants_are_refused_naming_the_field(world, granted_log, over, field):
    problem = _make(world, granted_log, status=422, **over)
    assert problem["detail"].startswith(field), problem


def test_a_grant_to_a_party_that_is_not_a_lender_is_refused(world, granted_log):
    # globex is a factory with an address: not a lender party
    problem = _make(world, granted_log, status=422, lender=world.addresses["globex"])
    assert "is not a lender party" in problem["detail"]


def test_read_bounds_are_checked_before_any_work(world, granted_log):
    gid = _make(world, granted_log)["id"]
    r = _read(world, gid, granted_log, start=0, end=1001)
    assert r.status_code == 422 and "at most 1,000" in r.json()["detail"], r.text
    assert _read(world, gid, granted_log, start=5, end=5).status_code == 422
    assert world.get(f"/v1/grants/{gid}/records", "bank-a", params={"log": "0x12", "from": 0, "to": 1}).status_code == 422
    # past the end of the log: clipped, nothing invented
    doc = orjson.loads(_read(world, gid, granted_log, start=20, end=900).content)
    assert doc["range"] == {"from": 20, "to": 30} and [e["index"] for e in doc["records"]] == [21, 22]


def test_a_read_that_cannot_be_recorded_fails_and_shows_nothing(world, granted_log, monkeypatch):
    from ledger.errors import StoreError
    from ledger.service.access_log import AccessLog

    gid = _make(world, granted_log)["id"]

    def broken(self, **kw):
        raise StoreError("the access log cannot be written")

    monkeypatch.setattr(AccessLog, "record", broken)
    r = _read(world, gid, granted_log)
    assert r.status_code == 503 and b"BRK-220" not in r.content and b"cnc-01" not in r.content, r.text


def test_a_grant_revoked_while_a_page_is_read_is_refused(world, granted_log, monkeypatch):
    """The grant is checked again after the page is read: a revocation that lands meanwhile
    refuses the read (and it is logged as refused). Before, the page was answered."""
    from ledger.service import grants

    gid = _make(world, granted_log)["id"]
    real = grants.render_entry
    revoked = []

    def revoking(*a):
        if not revoked:
            revoked.append(world.ok("POST", f"/v1/grants/{gid}/revoke", "acme"))
        return real(*a)

    monkeypatch.setattr(grants, "render_entry", revoking)
    r = _read(world, gid, granted_log)
    assert revoked and r.status_code == 403 and "revoked" in r.json()["detail"], r.text
    assert b"BRK-220" not in r.content
    last = _access_entries(world)[-1]
    assert (last["outcome"], last["grant_id"]) == ("refused", gid)


def test_records_past_the_anchored_checkpoint_come_without_proof(world):
    log_id = world.new_log("acme", _records()[:6])  # not anchored
    gid = _make(world, log_id)["id"]
    doc = orjson.loads(_read(world, gid, log_id).content)
    assert doc["checkpoint"] is None and doc["anchor"] is None
    whole = [e for e in doc["records"] if e["record"]["type"] == "iot.telemetry"]
    assert [e["index"] for e in whole] == [1, 4]
    assert all(e["proven"] is False and e["proof"] is None and e["salt"].startswith("0x") for e in whole)


def test_a_grant_body_that_is_not_an_object_or_too_large_is_refused(world, granted_log):
    r = world.post("/v1/grants", "acme", json=[_grant(world, granted_log)])
    assert r.status_code == 422, r.text
    big = _grant(world, granted_log, types={f"t{i}.x": [f"f{j}" * 10 for j in range(200)] for i in range(64)})
    r = world.post("/v1/grants", "acme", json=big)
    assert r.status_code == 413, r.text
    assert not any(len(g["grant"]["types"]) == 64 for g in world.ok("GET", "/v1/grants", "acme"))
