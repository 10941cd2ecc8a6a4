"""A database that cannot take a write now: 503 problem+json (with Retry-After when waiting
helps), never a 500, and nothing stored. SQLite, no chain needed (ingest does not touch it)."""

from __future__ import annotations

import sqlite3

from fastapi.testclient import TestClient
from sqlalchemy import event

from api.app import create_app
from ledger.settings import Settings
from tests.api.conftest import passphrase_env, record

DEV1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _problem(r, status, slug):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/" + slug)
    return r.json()


def _app(tmp_path):
    home = tmp_path / "home"
    settings = Settings(home=home, rpc_url="http://127.0.0.1:9", anchor_interval=0, sqlite_busy_timeout=1)
    return home, create_app(settings)


def test_an_ingest_behind_another_writer_is_a_503_with_retry_after(tmp_path):
    home, app = _app(tmp_path)
    with passphrase_env(), TestClient(app, raise_server_exceptions=False) as c:
        parties = app.state.services.parties
        parties.create("acme", "factory", DEV1)
        auth = {"Authorization": f"Bearer {parties.new_key('acme')}"}
        log_id = c.post("/v1/logs", json={"stream": "line-a"}, headers=auth).json()["log_id"]
        other = sqlite3.connect(home / "ledger.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database past the busy timeout
        try:
            r = c.post(f"/v1/logs/{log_id}/records", json=[record("r-0")], headers=auth)
        finally:
            other.execute("ROLLBACK")
            other.close()
        body = _problem(r, 503, "store-unavailable")
        assert r.headers["retry-after"] == "5"
        assert body["detail"].startswith("another writer holds the log database (waited 1 s")
        assert c.get(f"/v1/logs/{log_id}", headers=auth).json()["size"] == 0
        r = c.post(f"/v1/logs/{log_id}/records", json=[record("r-0")], headers=auth)
        assert r.status_code == 200 and r.json()["size"] == 1


def test_a_full_disk_is_a_503_that_says_so_and_stores_nothing(tmp_path):
    home, app = _app(tmp_path)
    with passphrase_env(), TestClient(app, raise_server_exceptions=False) as c:
        svc = app.state.services
        svc.parties.create("acme", "factory", DEV1)
        auth = {"Authorization": f"Bearer {svc.parties.new_key('acme')}"}
        log_id = c.post("/v1/logs", json={"stream": "line-a"}, headers=auth).json()["log_id"]
        engine = svc.store.engine

        def cap(dbapi_connection, _record):  # the database may not grow: as a full disk
            dbapi_connection.execute("PRAGMA max_page_count = 60")

        event.listen(engine, "connect", cap)
        engine.dispose()
        batch = [record(f"r-{i}", pad="x" * 300, n=i) for i in range(3000)]
        r = c.post(f"/v1/logs/{log_id}/records", json=batch, headers=auth)
        body = _problem(r, 503, "store-unavailable")
        assert body["detail"].startswith("disk full") and "retry-after" not in r.headers
        event.remove(engine, "connect", cap)
        engine.dispose()
        assert c.get(f"/v1/logs/{log_id}", headers=auth).json()["size"] == 0
        r = c.post(f"/v1/logs/{log_id}/records", json=batch, headers=auth)  # space freed: the retry works
        assert r.status_code == 200 and r.json()["size"] == 3000


def test_a_worker_whose_every_connection_is_busy_answers_503_not_500(tmp_path):
    home, app = _app(tmp_path)
    with passphrase_env(), TestClient(app, raise_server_exceptions=False) as c:
        svc = app.state.services
        svc.parties.create("acme", "factory", DEV1)
        auth = {"Authorization": f"Bearer {svc.parties.new_key('acme')}"}
        assert c.get("/v1/logs", headers=auth).status_code == 200
        held = [svc.store.engine.connect() for _ in range(svc.store.engine.pool.size())]  # the whole pool
        try:
            r = c.get("/v1/logs", headers=auth)
        finally:
            for conn in held:
                conn.close()
        body = _problem(r, 503, "store-unavailable")
        assert r.headers["retry-after"] == "5" and body["detail"].startswith("every database connection")
        assert c.get("/v1/logs", headers=auth).status_code == 200
