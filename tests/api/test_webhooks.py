"""/v1/webhooks on SQLite and PostgreSQL: every role registers webhooks for itself, sees only
its own webhooks and deliveries, bad URLs and secrets are clear 422s, loopback and private hosts
are refused unless ``DPL_WEBHOOKS_ALLOW_PRIVATE``, a made secret is shown once."""

from __future__ import annotations

import pytest

from ledger.service.webhooks import MAX_WEBHOOKS, Webhooks

PUBLIC_URL = "https://93.184.216.34/hooks/dpl"  # an address literal: no DNS needed


@pytest.fixture
def private_allowed(world):
    svc = world.client.app.state.services
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(svc, "settings", svc.settings.model_copy(update={"webhooks_allow_private": True}))
        yield


def _clear(world, who):
    for hook in world.ok("GET", "/v1/webhooks", who):
        world.ok("DELETE", f"/v1/webhooks/{hook['id']}", who, 204)


@pytest.mark.parametrize("who", ["acme", "bank-a", "aud", "admin"])
def test_every_role_registers_lists_and_deletes_its_own_webhooks(world, who):
    _clear(world, who)
    made = world.ok("POST", "/v1/webhooks", who, 201, json={"url": PUBLIC_URL})
    assert made["url"] == PUBLIC_URL and made["secret"].startswith("whsec_") and len(made["secret"]) >= 32
    chosen = world.ok("POST", "/v1/webhooks", who, 201, json={"url": PUBLIC_URL + "/2", "secret": "k" * 32})
    assert chosen["secret"] is None  # a secret the caller chose is never echoed
    listed = world.ok("GET", "/v1/webhooks", who)
    assert [h["id"] for h in listed] == [made["id"], chosen["id"]]
    assert all(h["secret"] is None for h in listed)  # the made secret was shown once
    world.ok("DELETE", f"/v1/webhooks/{made['id']}", who, 204)
    assert [h["id"] for h in world.ok("GET", "/v1/webhooks", who)] == [chosen["id"]]
    r = world.call("DELETE", f"/v1/webhooks/{made['id']}", who)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    _clear(world, who)


def test_another_partys_webhook_is_404_like_none_and_its_log_is_not_shown(world):
    _clear(world, "acme")
    hook = world.ok("POST", "/v1/webhooks", "acme", 201, json={"url": PUBLIC_URL})
    theirs = world.call("DELETE", f"/v1/webhooks/{hook['id']}", "globex")
    missing = world.call("DELETE", "/v1/webhooks/999999", "globex")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(str(hook["id"]), "N") == missing.json()["detail"].replace("999999", "N")
    assert hook["id"] not in [h["id"] for h in world.ok("GET", "/v1/webhooks", "globex")]

    svc = world.client.app.state.services
    acme = svc.parties.get("acme")
    [delivery_id] = Webhooks(svc).enqueue(acme.id, "covenant.warning", {"code": "MIN_OUTPUT"}, f"api-{hook['id']}")
    [row] = [d for d in world.ok("GET", "/v1/webhooks/deliveries", "acme") if d["id"] == delivery_id]
    assert row["webhook_id"] == hook["id"] and row["status"] == "pending" and row["attempts"] == 0
    assert row["next_attempt_at"] and row["event_type"] == "covenant.warning" and row["last_error"] is None
    assert delivery_id not in [d["id"] for d in world.ok("GET", "/v1/webhooks/deliveries", "globex")]
    world.ok("DELETE", f"/v1/webhooks/{hook['id']}", "acme", 204)
    [row] = [d for d in world.ok("GET", "/v1/webhooks/deliveries", "acme") if d["id"] == delivery_id]
    assert row["status"] == "cancelled" and row["next_attempt_at"] is None


@pytest.mark.parametrize("body,detail", [
    ({"url": "ftp://93.184.216.34/x"}, "http:// or https://"),
    ({"url": "https://user:pw@93.184.216.34/"}, "credentials"),
    ({"url": "http://127.0.0.1:8000/hook"}, "DPL_WEBHOOKS_ALLOW_PRIVATE"),
    ({"url": "http://[::1]/hook"}, "DPL_WEBHOOKS_ALLOW_PRIVATE"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "DPL_WEBHOOKS_ALLOW_PRIVATE"),
    ({"url": "http://10.0.0.7/hook"}, "DPL_WEBHOOKS_ALLOW_PRIVATE"),
    ({"url": "http://localhost/hook"}, "DPL_WEBHOOKS_ALLOW_PRIVATE"),
    ({"url": "https://nowhere.invalid/hook"}, "does not resolve"),
    ({"url": PUBLIC_URL, "secret": "short"}, "32 to 256"),
    ({"url": PUBLIC_URL, "secret": "has spaces " * 4}, "32 to 256"),
    ({"url": PUBLIC_URL, "secret": "s" * 257}, "secret"),
    ({"url": PUBLIC_URL, "extra": 1}, "extra"),
    ({"url": 5}, "url"),
    ({}, "url"),
])
def test_bad_webhooks_are_clear_422s_and_nothing_is_stored(world, body, detail):
    _clear(world, "bank-b")
    r = world.call("POST", "/v1/webhooks", "bank-b", json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json" and detail in r.json()["detail"]
    assert world.ok("GET", "/v1/webhooks", "bank-b") == []


def test_loopback_is_allowed_when_the_setting_says_so(world, private_allowed):
    _clear(world, "bank-b")
    hook = world.ok("POST", "/v1/webhooks", "bank-b", 201, json={"url": "http://127.0.0.1:9/hook"})
    assert hook["url"] == "http://127.0.0.1:9/hook"
    _clear(world, "bank-b")


def test_a_party_has_at_most_a_few_webhooks(world):
    _clear(world, "bank-b")
    for n in range(MAX_WEBHOOKS):
        world.ok("POST", "/v1/webhooks", "bank-b", 201, json={"url": f"{PUBLIC_URL}/{n}"})
    r = world.call("POST", "/v1/webhooks", "bank-b", json={"url": PUBLIC_URL})
    assert r.status_code == 422 and f"at most {MAX_WEBHOOKS}" in r.json()["detail"]
    _clear(world, "bank-b")


@pytest.mark.parametrize("path", ["/v1/webhooks/0", "/v1/webhooks/abc", "/v1/webhooks/99999999999999999999"])
def test_bad_webhook_ids_are_422(world, path):
    assert world.call("DELETE", path, "acme").status_code == 422


def test_the_deliveries_limit_is_bounded(world):
    assert world.call("GET", "/v1/webhooks/deliveries", "acme", params={"limit": 0}).status_code == 422
    assert world.call("GET", "/v1/webhooks/deliveries", "acme", params={"limit": 1001}).status_code == 422
    assert world.call("GET", "/v1/webhooks/deliveries", "acme", params={"limit": 1}).status_code == 200
