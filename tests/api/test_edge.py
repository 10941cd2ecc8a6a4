"""The service's edge (``api.edge``): authentication and body limits before a body is read,
JSON bodies read by ``ledger.jsonio`` only, problems that can always be written, no 500 in
text/plain, no redirect built from the Host header.

Where it matters whether the app asked for the body, the app is called as a server calls it
(``_asgi``: ASGI messages, counting each ``receive``)."""

from __future__ import annotations

import asyncio
import json

import pytest
from fastapi.testclient import TestClient

from api.edge import BODY_LIMITS, JSON_BODY_LIMIT, OTHER_BODY_LIMIT
from tests.api.conftest import record
from tests.api.test_auth import ENDPOINTS, PUBLIC

DEEP = b"[" * 100_000


def _asgi(app, method: str, path: str, headers: dict | None = None, chunks: list[bytes] | None = None,
          query: bytes = b""):
    """Call ``app`` as uvicorn would. Returns (status, headers, body, receive calls)."""
    chunks = list(chunks if chunks is not None else [b""])
    asked = 0

    async def receive():
        nonlocal asked
        asked += 1
        if chunks:
            body = chunks.pop(0)
            return {"type": "http.request", "body": body, "more_body": bool(chunks)}
        return {"type": "http.disconnect"}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
             "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body, asked


def _path(world, template: str) -> str:
    values = {"log_id": world.log_id, "index": "7", "token_id": "1", "name": "acme", "prefix": "0badc0de",
              "address": world.addresses["bank-a"]}
    for name, value in values.items():
        template = template.replace("{" + name + "}", value)
    return template


def _problem(status_headers_body, status: int) -> dict:
    got, headers, body, _ = status_headers_body
    assert got == status, body[:300]
    assert headers["content-type"] == "application/problem+json"
    return json.loads(body)


# --- authentication first --------------------------------------------------------------------------


@pytest.mark.parametrize("method, template", [k for k, roles in ENDPOINTS.items() if PUBLIC not in roles])
def test_no_key_is_401_before_a_byte_of_the_body_is_read(world, method, template):
    out = _asgi(world.client.app, method, _path(world, template),
                {"content-type": "application/json", "content-length": str(len(DEEP))}, [DEEP[:50_000], DEEP[50_000:]])
    _problem(out, 401)
    assert out[3] == 0, "the app asked for the body before authenticating"
    assert out[1]["connection"] == "close"  # the unread body is neither buffered nor drained


def test_a_write_with_the_cookie_and_no_csrf_token_is_403_before_the_body_is_read(world):
    from api.auth import SESSION_COOKIE

    b = TestClient(world.client.app, follow_redirects=False)
    assert b.post("/signin", data={"api_key": world.keys["acme"]}).status_code == 303
    cookie = f"{SESSION_COOKIE}={b.cookies[SESSION_COOKIE]}"
    out = _asgi(world.client.app, "POST", "/v1/logs", {"cookie": cookie, "content-length": "100000"}, [DEEP[:100_000]])
    assert _problem(out, 403) and out[3] == 0
    # a token that is not ASCII is a 403 too (compared as bytes; it was a TypeError, a 500)
    r = b.post("/v1/logs", json={"stream": "csrf"}, headers={"X-CSRF-Token": "\xe9".encode("latin-1") * 8})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


def test_a_database_busy_while_the_edge_authenticates_is_the_routes_503(world, monkeypatch):
    from ledger.errors import StoreBusyError

    def busy(key):
        raise StoreBusyError("the database is busy with another writer")

    monkeypatch.setattr(world.app_parties(), "authenticate", busy)
    r = world.get("/v1/logs", "acme")
    assert r.status_code == 503 and r.headers["retry-after"] == "5"
    assert r.headers["content-type"] == "application/problem+json" and r.json()["type"].endswith("/store-unavailable")


def test_a_normal_answer_keeps_the_connection(world):
    status, headers, _, _ = _asgi(world.client.app, "GET", "/v1/logs", {"authorization": f"Bearer {world.keys['acme']}"})
    assert status == 200 and "connection" not in headers


# --- body limits ---------------------------------------------------------------------------------------


LIMITS = [("POST", "/v1/logs", JSON_BODY_LIMIT, "acme"),
          ("POST", "/v1/pledges/consents", BODY_LIMITS[("POST", "/v1/pledges/consents")], "acme"),
          ("POST", "/v1/logs/{log_id}/records", BODY_LIMITS[("POST", "/v1/logs/{log_id}/records")], "acme"),
          ("POST", "/v1/pledges/1/release", OTHER_BODY_LIMIT, "bank-a"),
          ("POST", "/signin", BODY_LIMITS[("POST", "/signin")], None)]


def test_the_limits_are_the_documented_ones():
    assert JSON_BODY_LIMIT == 64 * 1024 and OTHER_BODY_LIMIT == 1024
    assert BODY_LIMITS == {("POST", "/v1/logs/{log_id}/records"): 64 * 1024 * 1024,
                           ("POST", "/v1/pledges/consents"): 1024 * 1024, ("POST", "/signin"): 4096}


@pytest.mark.parametrize("method, template, limit, who", LIMITS)
def test_a_declared_length_beyond_the_limit_is_413_at_once(world, method, template, limit, who):
    headers = {"content-length": str(limit + 1), "content-type": "application/json"}
    if who:
        headers["authorization"] = f"Bearer {world.keys[who]}"
    out = _asgi(world.client.app, method, _path(world, template), headers, [b" " * 10])
    problem = _problem(out, 413)
    assert problem["limit"] == limit and out[3] == 0 and out[1]["connection"] == "close"


@pytest.mark.parametrize("method, template, limit, who", [x for x in LIMITS if x[2] <= 1024 * 1024])
def test_a_streamed_body_is_cut_off_where_it_passes_the_limit(world, method, template, limit, who):
    headers = {"transfer-encoding": "chunked", "content-type": "application/json"}
    if who:
        headers["authorization"] = f"Bearer {world.keys[who]}"
    chunk = b" " * 1000
    chunks = [chunk] * (limit // 1000 + 50)
    out = _asgi(world.client.app, method, _path(world, template), headers, chunks)
    _problem(out, 413)
    assert out[3] == limit // 1000 + 1, "read past the limit"
    # at the limit, the body is read and judged (422: spaces are no JSON)
    exact = _asgi(world.client.app, method, _path(world, template), {**headers, "content-length": str(limit)},
                  [b" " * limit])
    assert exact[0] != 413


def test_a_consent_may_be_larger_than_other_json_bodies(world):
    big = {"consent": {"format": "dpl-consent/1", "pad": "x" * 200_000}}
    assert world.post("/v1/logs", "acme", json={"stream": "x" * 200_000}).status_code == 413
    r = world.post("/v1/pledges/consents", "acme", json=big)
    assert r.status_code == 422 and "consent" in r.text  # judged, not cut off


# --- JSON bodies are read by ledger.jsonio -------------------------------------------------------------


def _json(world, path, who, raw: bytes):
    return world.post(path, who, content=raw, headers={"Content-Type": "application/json"})


def test_a_duplicate_key_is_422_not_the_last_value_wins(world):
    r = _json(world, "/v1/logs", "acme", b'{"stream": "dup-a", "stream": "dup-b"}')
    assert r.status_code == 422 and r.json()["type"].endswith("/invalid-json") and r.json()["field"] == "stream"
    assert not [x for x in world.ok("GET", "/v1/logs", "acme") if x["stream"].endswith("/dup-b")]


@pytest.mark.parametrize("path, who, raw, reason", [
    ("/v1/logs", "acme", b'{"stream": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested deeper than 64"),
    ("/v1/logs", "acme", b'{"stream": NaN}', "NaN"),
    ("/v1/pledges", "bank-a", b'{"consent_id": 1' + b"0" * 5000 + b"}", "4,300 digits"),
    ("/v1/parties", "admin", b'{"name": "a\\u0000b", "role": "lender"}', "NUL"),
    ("/v1/parties", "admin", b'{"name": "\\ud800x", "role": "lender"}', "lone surrogate"),
    ("/v1/lenders", "admin", b'{"address": "x", "\\udc00": 1}', "lone surrogate"),
])
def test_what_a_strict_reader_refuses_is_a_422_problem(world, path, who, raw, reason):
    r = _json(world, path, who, raw)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
    assert reason in r.json()["detail"]
    assert not [p for p in world.ok("GET", "/v1/parties", "admin") if p["name"] in ("a\x00b", "\ufffdx")]


def test_nul_in_the_url_is_422(world):
    for method, path, query, who in (("GET", f"/v1/logs/{world.log_id}/records", b"id=a%00b", "acme"),
                                     ("DELETE", "/v1/lenders/a%00b", b"", "admin"),
                                     ("POST", "/v1/parties/a%00b/keys", b"", "admin")):
        from urllib.parse import unquote

        out = _asgi(world.client.app, method, unquote(path), {"authorization": f"Bearer {world.keys[who]}"},
                    query=query)
        assert "NUL" in _problem(out, 422)["detail"]


# --- problems can always be written; no 500 in text/plain ---------------------------------------------------


def test_a_lone_surrogate_echoed_from_a_record_is_written_as_a_replacement_character(world):
    log_id = world.new_log()
    ts = record("x")["ts"].encode()
    r = _json(world, f"/v1/logs/{log_id}/records", "acme",
              b'[{"id": "\\ud800", "ts": "' + ts + b'", "type": "t.x", "data": {}}]')
    assert r.status_code == 422 and r.json()["record_id"] == "\ufffd" and r.json()["field"] == "id"
    r = _json(world, f"/v1/logs/{log_id}/records", "acme",
              b'[{"id": "k-1", "ts": "' + ts + b'", "type": "t.x", "data": {"\\udc00": 1}}]')
    assert r.status_code == 422 and r.json()["field"].startswith("data") and r.json()["record_id"] == "k-1", r.text


def test_an_unexpected_error_is_a_problem_without_its_traceback(world, monkeypatch):
    import api.routes_logs

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api.routes_logs, "find_log", broken)
    client = TestClient(world.client.app, raise_server_exceptions=False)
    r = client.get(f"/v1/logs/{world.log_id}", headers=world.h("acme"))
    assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/internal-error")
    assert "secret" not in r.text and "Traceback" not in r.text


def test_activity_counts_a_record_stored_before_out_of_range_instants_were_refused(world, monkeypatch):
    import ledger.records

    log_id = world.new_log()
    monkeypatch.setattr(ledger.records, "_rfc3339_problem", lambda ts: None)  # as ingest was before
    world.ok("POST", f"/v1/logs/{log_id}/records", "acme",
             json=[record("old-1", n=1) | {"ts": "0001-01-01T00:00:00+23:59"},
                   record("old-2", n=2) | {"ts": "9999-12-31T23:59:59-23:59"}, record("now")])
    monkeypatch.undo()
    out = world.ok("GET", f"/v1/logs/{log_id}/activity", "acme")
    assert [d["day"] for d in out["days"]] == ["0000-12-31", "2026-11-01", "10000-01-01"]
    r = world.post(f"/v1/logs/{log_id}/records", "acme", json=[record("new-1") | {"ts": "0001-01-01T00:00:00+23:59"}])
    assert r.status_code == 422 and r.json()["field"] == "ts" and "0001-01-01T00:00:00Z.." in r.json()["detail"]


# --- redirects --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/v1/logs/", "/factory/", "/health/", "/verify/"])
def test_no_redirect_is_built_from_the_host_a_caller_sends(world, path):
    r = world.client.get(path, headers={**world.h("acme"), "Host": "evil.example"}, follow_redirects=False)
    assert r.status_code == 404 and "location" not in r.headers
    assert r.headers["content-type"] == "application/problem+json"


def test_every_redirect_of_the_app_is_a_path(world):
    from api.auth import SESSION_COOKIE

    b = TestClient(world.client.app, follow_redirects=False)
    locations = [b.get("/factory", headers={"Host": "evil.example"}).headers["location"]]
    signed = b.post("/signin", data={"api_key": world.keys["acme"]}, headers={"Host": "evil.example"})
    locations += [signed.headers["location"], b.get("/", headers={"Host": "evil.example"}).headers["location"]]
    b.cookies.set(SESSION_COOKIE, signed.cookies[SESSION_COOKIE])
    locations.append(b.post("/signout", headers={"Host": "evil.example"}).headers["location"])
    assert locations == ["/", "/factory", "/factory", "/"]
