"""A log's record format over HTTP (SQLite and PostgreSQL, real anvil): ``POST /v1/logs`` takes
``format`` (default ``dpl-record/1``), every log's JSON shows it; records ingested in bulk into a
``dpl-record/2`` log get v2 leaves, and their bundles name the format and verify."""

from __future__ import annotations

import pytest

from ledger import bundles, merkle, record2
from ledger.errors import BundleError
from tests.api.conftest import record


def test_a_log_is_created_in_the_format_asked_for_and_shows_it(world):
    v2 = world.ok("POST", "/v1/logs", "acme", 201, json={"stream": "fmt/v2", "format": "dpl-record/2"})
    v1 = world.ok("POST", "/v1/logs", "acme", 201, json={"stream": "fmt/v1"})
    assert v2["format"] == "dpl-record/2" and v1["format"] == "dpl-record/1"
    for who in ("acme", "aud"):
        assert world.ok("GET", f"/v1/logs/{v2['log_id']}", who)["format"] == "dpl-record/2"
        listed = {d["log_id"]: d["format"] for d in world.ok("GET", "/v1/logs", who)}
        assert listed[v2["log_id"]] == "dpl-record/2" and listed[v1["log_id"]] == "dpl-record/1"
    assert world.ok("GET", f"/v1/logs/{world.log_id}", "acme")["format"] == "dpl-record/1"


@pytest.mark.parametrize("bad", ["dpl-record/3", "", None, 2, ["dpl-record/2"], "DPL-RECORD/2"])
def test_an_unknown_format_is_422_and_creates_nothing(world, bad):
    before = len(world.ok("GET", "/v1/logs", "acme"))
    r = world.post("/v1/logs", "acme", json={"stream": "fmt/bad", "format": bad})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert len(world.ok("GET", "/v1/logs", "acme")) == before


def test_bulk_ingest_into_a_v2_log_makes_v2_leaves_and_provable_records(world):
    log_id = world.ok("POST", "/v1/logs", "acme", 201, json={"stream": "fmt/ingest", "format": "dpl-record/2"})["log_id"]
    records = [record(f"v2-{i}", n=i, machine=f"m-{i % 3}") for i in range(30)]
    out = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=records[:20])
    assert (out["appended"], out["size"]) == (20, 20)
    again = world.ok("POST", f"/v1/logs/{log_id}/records", "acme", json=records)  # idempotent by id
    assert (again["appended"], again["duplicates"], again["size"]) == (10, 20, 30)
    bad = world.post(f"/v1/logs/{log_id}/records", "acme", json=[record("v2-new"), {"id": "broken"}])
    assert bad.status_code == 422 and world.ok("GET", f"/v1/logs/{log_id}", "acme")["size"] == 30  # all or nothing
    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")

    doc = world.ok("GET", f"/v1/logs/{log_id}/records/7", "acme")
    assert doc["record_format"] == "dpl-record/2"
    [entry] = doc["entries"]
    assert entry["record"] == records[7]
    assert entry["leaf_hash"] == "0x" + record2.leaf_hash_v2(records[7], bytes.fromhex(entry["salt"][2:])).hex()
    leaves = world.ok("GET", f"/v1/logs/{log_id}/leaves", "aud", params={"start": 0, "limit": 30})["leaf_hashes"]
    assert leaves[7] == entry["leaf_hash"]
    assert world.ok("GET", f"/v1/logs/{log_id}", "acme")["root"] == "0x" + merkle.root(
        [bytes.fromhex(h[2:]) for h in leaves]).hex()
    verified = bundles.verify(doc)
    assert verified.record_format == "dpl-record/2" and verified.size == 30 and doc["anchor"] is not None
    doc.pop("record_format")
    with pytest.raises(BundleError, match="record and salt do not hash to leaf_hash"):
        bundles.verify(doc)
