"""Parties, API keys and lenders (admin); audits (auditor); /health and the landing page."""

from __future__ import annotations

from datetime import datetime, timedelta

import re

import pytest
from eth_account import Account

from tests.api.conftest import CHAIN_ID


def test_parties_list_and_create(world):
    listed = {p["name"]: p for p in world.ok("GET", "/v1/parties", "admin")}
    assert listed["acme"] == {"name": "acme", "role": "factory", "address": world.addresses["acme"], "custodial": True}
    assert listed["selfco"]["custodial"] is False and listed["aud"]["address"] is None
    assert all("key" not in p for p in listed.values())

    address = world.keyring.info("dev7").address
    made = world.ok("POST", "/v1/parties", "admin", 201,
                    json={"name": "newco", "role": "factory", "address": address.lower()})
    assert made == {"name": "newco", "role": "factory", "address": address, "custodial": False}
    custodial = world.ok("POST", "/v1/parties", "admin", 201, json={"name": "newbank", "role": "lender",
                                                                    "key_name": "dev8"})
    assert custodial["address"] == world.keyring.info("dev8").address and custodial["custodial"] is True
    assert {"newco", "newbank"} <= {p["name"] for p in world.ok("GET", "/v1/parties", "admin")}

    r = world.post("/v1/parties", "admin", json={"name": "newco", "role": "factory"})
    assert r.status_code == 409 and r.headers["content-type"] == "application/problem+json"
    for body in ({"name": "x", "role": "king"}, {"name": "", "role": "factory"}, {"name": "a b", "role": "factory"},
                 {"name": "y", "role": "lender", "address": "0x123"},
                 {"name": "z", "role": "lender", "key_name": "dev8", "address": world.addresses["acme"]},
                 {"role": "factory"}, {"name": "w", "role": "factory", "key_name": "no-such-key"},
                 {"name": "v", "role": "factory", "key_name": "../../etc/passwd"}):
        r = world.post("/v1/parties", "admin", json=body)
        assert 400 <= r.status_code < 500 and r.status_code != 409, (body, r.text)


def test_a_party_is_refused_in_the_words_of_dpl_keys_api(world):
    """One rule for both edges (``ledger.service.admin.Parties``). Before: an unknown role and an
    empty name got pydantic's pattern and length errors here, and other words from the CLI
    (tests/cli/test_admin_cli.py pins the same sentences there)."""
    for body, words in (
            ({"name": "x", "role": "king"}, "role must be one of factory, lender, auditor, admin"),
            ({"name": "", "role": "factory"},
             "a party name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit"),
            ({"name": "y", "role": "lender", "address": "0x1234"},
             "'0x1234' is not an Ethereum address (0x and 40 hex digits, EIP-55 if mixed case)")):
        r = world.post("/v1/parties", "admin", json=body)
        assert r.status_code == 422 and r.json()["detail"] == words, r.text
    schema = world.client.get("/openapi.json").json()["components"]["schemas"]["PartyIn"]
    assert schema["properties"]["role"]["enum"] == ["factory", "lender", "auditor", "admin"]  # still documented


def test_keys_made_listed_revoked(world):
    world.ok("POST", "/v1/parties", "admin", 201, json={"name": "keyco", "role": "factory",
                                                       "address": world.keyring.info("dev9").address})
    made = world.ok("POST", "/v1/parties/keyco/keys", "admin", 201)
    key = made["key"]
    assert made["party"] == "keyco" and re.fullmatch(r"dpl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key)
    assert made["prefix"] == key.split("_")[1]
    auth = {"Authorization": f"Bearer {key}"}
    assert world.client.get("/v1/logs", headers=auth).json() == []  # a new factory: no logs yet
    created = world.client.post("/v1/logs", json={"stream": "first"}, headers=auth)
    assert created.status_code == 201 and created.json()["stream"] == "keyco/first"

    listing = world.call("GET", "/v1/keys", "admin")
    assert listing.status_code == 200
    secret = key.split("_", 2)[2]
    assert secret not in listing.text  # never the key itself
    rows = {k["prefix"]: k for k in listing.json()}
    assert rows[made["prefix"]]["party"] == "keyco" and rows[made["prefix"]]["revoked_at"] is None

    world.ok("DELETE", f"/v1/keys/{made['prefix']}", "admin", 204)
    assert world.client.get("/v1/logs", headers=auth).status_code == 401
    rows = {k["prefix"]: k for k in world.ok("GET", "/v1/keys", "admin")}
    assert rows[made["prefix"]]["revoked_at"] is not None
    for when in (rows[made["prefix"]]["created_at"], rows[made["prefix"]]["revoked_at"]):
        assert datetime.fromisoformat(when).utcoffset() == timedelta(0)  # UTC, said so (SQLite too)
    assert world.call("DELETE", f"/v1/keys/{made['prefix']}", "admin").status_code == 404
    assert world.call("DELETE", "/v1/keys/00000000", "admin").status_code == 404
    assert world.post("/v1/parties/no-such-party/keys", "admin").status_code == 404


def test_lenders_approve_list_withdraw(world):
    listed = world.ok("GET", "/v1/lenders", "admin")
    assert world.addresses["bank-a"] in listed and world.addresses["bank-b"] in listed
    assert world.addresses["bank-c"] not in listed
    assert world.ok("GET", "/v1/lenders", "aud") == listed

    # an address no other test approves (dev7 is approved by a pledge test of the same world)
    world.ok("POST", "/v1/parties", "admin", 201, json={"name": "bank-z", "role": "lender",
                                                       "address": Account.create().address})
    added = world.ok("POST", "/v1/lenders", "admin", 201, json={"address": "bank-z"})
    assert added["approved"] is True and re.fullmatch(r"0x[0-9a-f]{64}", added["tx_hash"])
    again = world.ok("POST", "/v1/lenders", "admin", 201, json={"address": added["address"].lower()})
    assert again == {"address": added["address"], "approved": True, "tx_hash": None}
    assert added["address"] in world.ok("GET", "/v1/lenders", "admin")

    removed = world.ok("DELETE", f"/v1/lenders/{added['address']}", "admin")
    assert removed["approved"] is False and removed["tx_hash"]
    assert added["address"] not in world.ok("GET", "/v1/lenders", "aud")
    assert world.ok("DELETE", "/v1/lenders/bank-z", "admin")["tx_hash"] is None

    for bad in ("acme", "nobody", "0x1234"):
        r = world.post("/v1/lenders", "admin", json={"address": bad})
        assert 400 <= r.status_code < 500, (bad, r.text)
    # the words of `dpl lenders add` (tests/cli/test_admin_cli.py); before: "not a lender party"
    assert r.json()["detail"] == "'0x1234' is not an Ethereum address (0x and 40 hex digits, EIP-55 if mixed case)"


def test_audit_run_and_latest(world):
    report = world.ok("POST", "/v1/audit", "aud")
    assert report["clean"] is True
    latest = world.ok("GET", "/v1/audit/latest", "aud")
    assert latest["clean"] is True and datetime.fromisoformat(latest["ran_at"]).utcoffset() == timedelta(0)
    assert {k: v for k, v in latest.items() if k != "ran_at"} == report


def test_a_report_kept_by_an_older_version_is_answered_as_kept(world):
    """Reports are kept as JSON: one from before a field existed (here: no pledge count) is
    answered with the fields it has, neither refused by the response model nor padded."""
    import orjson

    from ledger.store.audit_runs import AuditRunStore

    svc = world.client.app.state.services
    old = {"chain_id": 31337, "registry": world.registry, "logs": 1, "records": 3, "anchor_events": 1,
           "clean": True, "findings": []}
    AuditRunStore(svc.store.engine, svc.store.key).add(True, orjson.dumps(old))
    latest = world.ok("GET", "/v1/audit/latest", "aud")
    assert {k: v for k, v in latest.items() if k != "ran_at"} == old


def test_health(world):
    h = world.ok("GET", "/health")
    assert h["status"] == "ok"
    assert h["database"] == {"ok": True, "backend": "sqlite" if world.backend == "sqlite" else "postgresql"}
    chain = h["chain"]
    assert chain["ok"] is True and chain["chain_id"] == CHAIN_ID and chain["registry"] == world.registry
    assert chain["latest_block"] == int(world.rpc("eth_blockNumber"), 16)
    assert isinstance(h["anchoring"]["logs_behind"], int)


def test_health_counts_logs_behind_their_anchor(world):
    before = world.ok("GET", "/health")["anchoring"]["logs_behind"]
    log_id = world.new_log(records=[{"id": "h-1", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}}])
    assert world.ok("GET", "/health")["anchoring"]["logs_behind"] == before + 1
    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", "acme")
    assert world.ok("GET", "/health")["anchoring"]["logs_behind"] == before


def test_api_answers_are_not_cached(world):
    assert world.get("/v1/logs", "acme").headers["cache-control"] == "no-store"
    assert world.get("/v1/logs").headers["cache-control"] == "no-store"  # problems too
    assert "no-store" not in world.client.get("/static/css/app.css").headers.get("cache-control", "")


def test_landing_page_is_the_sign_in_with_status_and_no_log_names(world):
    r = world.client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'href="/docs"' in r.text and 'action="/signin"' in r.text
    assert f"chain {CHAIN_ID}" in r.text and world.registry in r.text
    assert "line-a" not in r.text  # stream names are the factories' business


def test_openapi_and_docs(world):
    docs = world.client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "https://" not in docs.text  # nothing from a CDN: the machines may have no internet
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"):
        assert world.client.get(f"/static/vendor/swagger-ui/{asset}").status_code == 200
    assert world.client.get("/redoc").status_code == 404
    schema = world.client.get("/openapi.json").json()
    assert "/v1/logs/{log_id}/records" in schema["paths"]


@pytest.mark.parametrize("path", ["/v1/nothing", "/v2/logs", "/v1/logs/0x/extra/deep"])
def test_unknown_paths_are_problem_404(world, path):
    r = world.get(path, "acme")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_wrong_method_is_problem_405(world):
    r = world.call("PUT", "/v1/logs", "acme", json={})
    assert r.status_code == 405 and r.headers["content-type"] == "application/problem+json"
