"""The web UI's server side: sign-in, the session cookie standing for the API key, CSRF on
writes, role pages, and the two endpoints the pages added (activity, audit progress)."""

from __future__ import annotations

import json
import re
from datetime import timezone

import orjson
import pytest
from fastapi.testclient import TestClient

from api.auth import CSRF_HEADER, SESSION_COOKIE
from ledger.chain.build import load_artifact
from ledger.records import parse_timestamp

HOMES = {"acme": "/factory", "bank-a": "/lender", "aud": "/auditor", "admin": "/admin"}


def browser(world) -> TestClient:
    """A client with its own cookie jar (the shared one must stay cookie-free)."""
    return TestClient(world.client.app, base_url="http://testserver", follow_redirects=False)


def sign_in(world, who: str) -> tuple[TestClient, dict]:
    b = browser(world)
    r = b.post("/signin", data={"api_key": world.keys[who]})
    assert r.status_code == 303 and r.headers["location"] == HOMES[who], r.text
    page = b.get(HOMES[who])
    assert page.status_code == 200
    return b, page_config(page.text)


def page_config(html: str) -> dict:
    m = re.search(r'<script id="dpl-config" type="application/json">(.*?)</script>', html, re.S)
    assert m, "the page carries its config"
    return json.loads(m.group(1))


@pytest.mark.parametrize("who", sorted(HOMES))
def test_each_role_signs_in_to_its_page_and_the_key_is_kept_out_of_the_browser(world, who):
    b = browser(world)
    r = b.post("/signin", data={"api_key": world.keys[who]})
    assert r.status_code == 303 and r.headers["location"] == HOMES[who]
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert world.keys[who] not in cookie and world.keys[who] not in r.headers["location"]
    page = b.get(HOMES[who])
    config = page_config(page.text)
    assert (config["party"], config["role"]) == (who, {"acme": "factory", "bank-a": "lender", "aud": "auditor",
                                                       "admin": "admin"}[who])
    assert config["registry"] == world.registry and config["chainId"] == 31337 and config["rpcUrl"] == world.rpc_url
    assert len(config["csrf"]) >= 24 and world.keys[who] not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert b.get("/").headers["location"] == HOMES[who]  # signed in: / goes home
    for other, path in HOMES.items():
        if other != who:
            denied = b.get(path)
            assert denied.status_code == 403 and "Not for a" in denied.text


@pytest.mark.parametrize("key", ["", "dpl_00000000_" + "A" * 43, "not a key", "x" * 4000])
def test_a_bad_key_is_refused_on_the_form_without_a_session(world, key):
    b = browser(world)
    r = b.post("/signin", data={"api_key": key})
    assert r.status_code == 401 and "set-cookie" not in r.headers
    assert 'role="alert"' in r.text and ("not valid" in r.text or "Enter an API key" in r.text)
    assert b.get("/factory").headers["location"] == "/"


def test_a_sign_in_form_beyond_4_kib_is_413_and_signs_nobody_in(world):
    b = browser(world)
    r = b.post("/signin", data={"api_key": world.keys["acme"], "pad": "x" * 5000})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert "set-cookie" not in r.headers and r.json()["limit"] == 4096
    assert b.get("/factory").headers["location"] == "/"


def test_pages_need_a_session_except_verify(world):
    b = browser(world)
    for path in HOMES.values():
        r = b.get(path)
        assert r.status_code == 303 and r.headers["location"] == "/"
    verify = b.get("/verify")
    assert verify.status_code == 200 and page_config(verify.text)["party"] is None


def test_the_cookie_reads_like_the_key_and_writes_only_with_the_csrf_token(world):
    b, config = sign_in(world, "acme")
    by_cookie = b.get("/v1/logs")
    assert by_cookie.status_code == 200
    assert by_cookie.json() == world.ok("GET", "/v1/logs", "acme")
    refused = b.post("/v1/logs", json={"stream": "web-csrf"})
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
    wrong = b.post("/v1/logs", json={"stream": "web-csrf"}, headers={CSRF_HEADER: "x" * 32})
    assert wrong.status_code == 403
    assert all(log["stream"] != "acme/web-csrf" for log in world.ok("GET", "/v1/logs", "acme"))
    made = b.post("/v1/logs", json={"stream": "web-csrf"}, headers={CSRF_HEADER: config["csrf"]})
    assert made.status_code == 201 and made.json()["stream"] == "acme/web-csrf"
    # the role rules are the key's: a factory's session may not approve lenders
    assert b.post("/v1/lenders", json={"address": "bank-c"}, headers={CSRF_HEADER: config["csrf"]}).status_code == 403


def test_a_bearer_key_wins_over_a_cookie(world):
    b, _ = sign_in(world, "acme")
    r = b.get("/v1/parties", headers=world.h("admin"))
    assert r.status_code == 200  # the admin's key, not acme's session


def test_signing_out_and_revoking_the_key_end_the_session(world):
    parties = world.app_parties()
    key = parties.new_key("acme")
    b = browser(world)
    assert b.post("/signin", data={"api_key": key}).status_code == 303
    assert b.get("/v1/logs").status_code == 200
    parties.revoke(key.split("_")[1])
    gone = b.get("/v1/logs")
    assert gone.status_code == 401 and "session has ended" in gone.json()["detail"]
    assert b.get("/factory").headers["location"] == "/"
    assert b.post("/signin", data={"api_key": key}).status_code == 401

    b2, _ = sign_in(world, "acme")
    out = b2.post("/signout")
    assert out.status_code == 303 and out.headers["location"] == "/"
    stale = TestClient(world.client.app, cookies={SESSION_COOKIE: out.request.headers["cookie"].split("=", 1)[1]})
    assert stale.get("/v1/logs").status_code == 401


def test_the_session_table_holds_no_usable_token(world):
    b, _ = sign_in(world, "aud")
    token = b.cookies[SESSION_COOKIE]
    from sqlalchemy import select

    from ledger.store.models import WebSession

    with world.client.app.state.services.store.engine.connect() as conn:
        stored = [bytes(r.token_hash) for r in conn.execute(select(WebSession.token_hash))]
    assert stored and all(token.encode() not in s for s in stored)


def test_activity_counts_each_record_by_day_and_type(world):
    out = world.ok("GET", f"/v1/logs/{world.log_id}/activity?last=200000", "acme")
    assert (out["from"], out["to"]) == (0, world.size)
    expected: dict[tuple[str, str], int] = {}
    for rec in world.records:
        day = parse_timestamp(rec["ts"]).astimezone(timezone.utc).date().isoformat()
        expected[(day, rec["type"])] = expected.get((day, rec["type"]), 0) + 1
    got = {(d["day"], t): n for d in out["days"] for t, n in d["counts"].items()}
    assert got == expected and out["types"] == sorted({t for _, t in expected})
    assert [d["day"] for d in out["days"]] == sorted(d["day"] for d in out["days"])
    newest = world.ok("GET", f"/v1/logs/{world.log_id}/activity?last=10", "acme")
    assert newest["from"] == world.size - 10 and sum(sum(d["counts"].values()) for d in newest["days"]) == 10
    assert world.get(f"/v1/logs/{world.log_id}/activity", "aud").status_code == 403


def test_the_audit_streams_progress_then_its_report(world):
    r = world.post("/v1/audit", "aud", headers={"Accept": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [orjson.loads(line) for line in r.content.splitlines()]
    progress = [line["progress"] for line in lines if "progress" in line]
    total = sum(log["size"] for log in world.ok("GET", "/v1/logs", "aud"))
    assert progress[0] == {"records": 0, "total": total}
    counts = [p["records"] for p in progress]
    assert counts == sorted(counts) and counts[-1] == total
    assert "report" in lines[-1] and lines[-1]["report"]["clean"] is True, lines[-1]
    latest = world.ok("GET", "/v1/audit/latest", "aud")
    assert {k: v for k, v in latest.items() if k != "ran_at"} == lines[-1]["report"]


def test_static_assets_and_the_registry_code_for_the_browser(world):
    b = browser(world)
    js = b.get("/static/js/dom.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert b.get("/static/css/app.css").status_code == 200
    code = b.get("/web/registry-code.json").json()
    artifact = load_artifact("DataPledgeRegistry")
    assert code["deployedBytecode"] == artifact["deployedBytecode"] and code["immutableReferences"]


def test_the_pages_get_the_explorer_and_browser_rpc_url_when_configured(world):
    from api.app import create_app

    services = world.client.app.state.services
    settings = services.settings.model_copy(update={"explorer_url": "https://sepolia.etherscan.io/",
                                                    "browser_rpc_url": "https://rpc.example.org/v1"})
    with TestClient(create_app(settings, anchoring=False), follow_redirects=False) as client:
        page = client.get("/verify")
        config = page_config(page.text)
        assert config["explorer"] == "https://sepolia.etherscan.io"  # no trailing slash: links append /tx/HASH
        assert config["rpcUrl"] == "https://rpc.example.org/v1"
        assert 'value="https://rpc.example.org/v1"' in page.text
    assert page_config(browser(world).get("/verify").text)["explorer"] is None


def test_the_sign_in_error_page_does_not_echo_the_key_and_puts_focus_on_the_field(world):
    key = "dpl_00000000_" + "Q" * 43
    r = browser(world).post("/signin", data={"api_key": key})
    assert r.status_code == 401 and key not in r.text
    assert re.search(r'<input id="api_key"[^>]*\bautofocus\b', r.text)
    assert r.headers["cache-control"] == "no-store" and r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_a_form_on_another_site_can_neither_sign_in_nor_sign_out(world):
    b = browser(world)
    for site in ("cross-site", "same-site"):
        r = b.post("/signin", data={"api_key": world.keys["acme"]}, headers={"Sec-Fetch-Site": site})
        assert r.status_code == 403 and "set-cookie" not in r.headers and "another site" in r.text
    same = b.post("/signin", data={"api_key": world.keys["acme"]}, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 303 and same.headers["location"] == "/factory"
    out = b.post("/signout", headers={"Sec-Fetch-Site": "cross-site"})
    assert out.status_code == 303 and "set-cookie" not in out.headers
    assert b.get("/v1/logs").status_code == 200  # still signed in


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "http://testserver.evil.example"},
    {"Origin": "http://testserver:8080"},  # another port is another origin
    {"Referer": "https://evil.example/page"},
    {"Origin": "null", "Referer": "http://evil.example/"},
    {"Origin": "not a url ["},
    {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
])
def test_a_form_whose_origin_or_referer_is_another_origin_neither_signs_in_nor_out(world, headers):
    b = browser(world)
    r = b.post("/signin", data={"api_key": world.keys["acme"]}, headers=headers)
    assert r.status_code == 403 and "set-cookie" not in r.headers and "another site" in r.text
    b, _ = sign_in(world, "acme")
    out = b.post("/signout", headers=headers)
    assert out.status_code == 303 and "set-cookie" not in out.headers
    assert b.get("/v1/logs").status_code == 200  # still signed in


@pytest.mark.parametrize("headers", [
    {"Origin": "http://testserver"},
    {"Origin": "HTTP://TestServer:80"},
    {"Referer": "http://testserver/"},
    {"Origin": "null", "Sec-Fetch-Site": "same-origin"},  # our pages' no-referrer policy makes Origin null
    {},  # not a browser: nothing says where it comes from
])
def test_a_form_from_this_origin_signs_in(world, headers):
    r = browser(world).post("/signin", data={"api_key": world.keys["acme"]}, headers=headers)
    assert r.status_code == 303 and r.headers["location"] == "/factory"


def test_signing_in_again_ends_the_earlier_session(world):
    b, _ = sign_in(world, "acme")
    first = b.cookies[SESSION_COOKIE]
    assert b.post("/signin", data={"api_key": world.keys["aud"]}).status_code == 303
    assert b.cookies[SESSION_COOKIE] != first
    assert TestClient(world.client.app, cookies={SESSION_COOKIE: first}).get("/v1/logs").status_code == 401


def test_page_config_cannot_end_its_script_block_and_links_are_http_only(world):
    from api.app import create_app

    services = world.client.app.state.services
    rpc = "https://rpc.example.org/</script><script>alert(1)</script><!--&"
    settings = services.settings.model_copy(update={"explorer_url": "javascript:alert(1)//", "browser_rpc_url": rpc})
    with TestClient(create_app(settings, anchoring=False), follow_redirects=False) as client:
        page = client.get("/verify")
    assert "</script><script>" not in page.text and "<!--&" not in page.text
    config = page_config(page.text)
    assert config["rpcUrl"] == rpc and config["explorer"] is None


def test_the_nav_marks_the_current_page(world):
    b, _ = sign_in(world, "acme")
    assert '<a href="/factory" aria-current="page">' in b.get("/factory").text
    verify = b.get("/verify").text
    assert '<a href="/verify" aria-current="page">' in verify and '<a href="/factory">' in verify


def test_an_rpc_url_with_a_provider_key_is_never_shown(world):
    from api.app import create_app

    settings = world.client.app.state.services.settings.model_copy(
        update={"rpc_url": "http://127.0.0.1:9/v3/provider-secret-key", "browser_rpc_url": None})
    with TestClient(create_app(settings, anchoring=False), follow_redirects=False) as client:
        for path in ("/", "/verify", "/health"):
            r = client.get(path)
            assert "provider-secret-key" not in r.text, path
        config = page_config(client.get("/verify").text)
        assert config["rpcUrl"] is None  # the page asks the lender for one
        assert "http://127.0.0.1:9/…" in config["chainError"]
