"""The chain node goes away: the service keeps taking records, says so in /health, and
answers 503 "chain-unavailable" for what needs the chain. Its own anvil (stopped here)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from ledger.settings import Settings
from tests.api.conftest import chain_home, passphrase_env, record, stop_node


def _problem(r, status, slug):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + slug)


def test_records_keep_coming_while_the_node_is_down(tmp_path):
    home = tmp_path / "home"
    with passphrase_env(), chain_home(home) as (rpc_url, keyring, _):
        settings = Settings(home=home, rpc_url=rpc_url, anchor_interval=0)
        app = create_app(settings)
        with TestClient(app) as c:
            parties = app.state.services.parties
            parties.create("acme", "factory", keyring.info("dev1").address, "dev1")
            parties.create("aud", "auditor")
            auth = {"Authorization": f"Bearer {parties.new_key('acme')}"}
            aud = {"Authorization": f"Bearer {parties.new_key('aud')}"}
            log_id = c.post("/v1/logs", json={"stream": "line-a"}, headers=auth).json()["log_id"]
            assert c.post(f"/v1/logs/{log_id}/records", json=[record("r-0")], headers=auth).status_code == 200
            assert c.post(f"/v1/logs/{log_id}/checkpoints/anchor", headers=auth).json()[0]["state"] == "included"
            assert c.get("/health").json()["status"] == "ok"

            stop_node(home)

            r = c.post(f"/v1/logs/{log_id}/records", json=[record("r-1"), record("r-2")], headers=auth)
            assert r.status_code == 200 and r.json()["size"] == 3
            ndjson = b'{"id":"r-3","ts":"2026-11-01T08:00:00+08:00","type":"t","data":{}}\n'
            r = c.post(f"/v1/logs/{log_id}/records", content=ndjson, headers={**auth, "Content-Type": "application/x-ndjson"})
            assert r.status_code == 200 and r.json()["size"] == 4
            # reads that need no chain keep working
            assert c.get(f"/v1/logs/{log_id}", headers=aud).json()["size"] == 4
            assert c.get(f"/v1/logs/{log_id}/proofs/inclusion", params={"index": 3}, headers=aud).status_code == 200
            bundle = c.get(f"/v1/logs/{log_id}/records/0", headers=auth)
            assert bundle.status_code == 200 and bundle.json()["anchor"]["chain_id"] == 31337

            health = c.get("/health")
            assert health.status_code == 200
            h = health.json()
            assert h["status"] == "degraded" and h["chain"]["ok"] is False and h["chain"]["error"]
            assert h["database"]["ok"] is True and h["anchoring"]["logs_behind"] == 1

            _problem(c.post(f"/v1/logs/{log_id}/checkpoints/anchor", headers=auth), 503, "chain-unavailable")
            _problem(c.get("/v1/pledges", headers=aud), 503, "chain-unavailable")
            _problem(c.post("/v1/audit", headers=aud), 503, "chain-unavailable")
            landing = c.get("/")
            assert landing.status_code == 200 and "chain not reachable" in landing.text

        # a service started while the node is down (it never saw the chain) also serves
        with TestClient(create_app(settings)) as c2:
            r = c2.post(f"/v1/logs/{log_id}/records", json=[record("r-4")], headers=auth)
            assert r.status_code == 200 and r.json()["size"] == 5
            h = c2.get("/health").json()
            assert h["status"] == "degraded" and h["chain"]["ok"] is False
            _problem(c2.post(f"/v1/logs/{log_id}/checkpoints/anchor", headers=auth), 503, "chain-unavailable")
            assert c2.get("/").status_code == 200
