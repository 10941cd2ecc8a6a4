"""Covenant warnings over HTTP (``api/routes_warnings.py``), on SQLite and PostgreSQL against a
real anvil: a consent carries covenants, the monitor judges the pledge at its anchored
checkpoint, and each party sees what its role allows (holder and factory the warnings, an
auditor the counts, anyone else 404 as for no pledge); only the holder acknowledges."""

from __future__ import annotations

import pytest

from ledger.covenants import covenants_digest
from ledger.service.monitor import Monitor
from tests.ledger.test_covenants import factory, split

COVENANTS = {"format": "dpl-covenants/1", "tz": "+08:00", "covenants": [
    {"code": "output_floor", "min_percent": 70},
    {"code": "cross_source_mismatch", "max_ratio": "0.100000"}]}


@pytest.fixture(scope="module")
def warned(world):
    """A pledge of acme's log of synthetic weeks (W41-W42 pledged, W43 at half the output, the
    first record of W44), held by bank-a, judged once: output_floor/2026-W43 is open."""
    records = factory(22, rate=lambda day: 5 if day >= 14 else 10)
    upto = split(records, 21) + 1
    log_id = world.new_log("acme", records[:upto], anchor=True)
    end = split(records, 14)
    terms = {**world.terms(lender="bank-a", rng=(0, end), log_id=log_id), "profile": {"tz": "+08:00"},
             "covenants": COVENANTS}
    kept = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": terms})
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": kept["consent_id"]})["token_id"]
    report = Monitor(world.client.app.state.services).run_once()
    assert (token, "output_floor/2026-W43") in report.raised
    return {"token": token, "consent": kept["consent"], "end": end, "size": upto}


def test_the_consent_keeps_the_covenants_and_their_digest(world, warned):
    doc = warned["consent"]
    assert doc["covenants"] == COVENANTS
    assert doc["covenants_digest"] == "0x" + covenants_digest(COVENANTS).hex()


def test_a_bad_covenant_set_is_refused_naming_the_field_and_nothing_is_kept(world):
    before = len(world.ok("GET", "/v1/pledges/consents", "acme"))
    bad = {**COVENANTS, "covenants": [{"code": "output_floor", "min_percent": 0}]}
    r = world.post("/v1/pledges/consents", "acme",
                   json={"terms": {**world.terms(), "profile": {}, "covenants": bad}})
    assert r.status_code in (400, 422) and "covenants[0].min_percent" in r.json()["detail"]
    r = world.post("/v1/pledges/consents", "acme", json={"terms": {**world.terms(), "covenants": COVENANTS}})
    assert r.status_code in (400, 422) and "production profile" in r.json()["detail"]
    assert len(world.ok("GET", "/v1/pledges/consents", "acme")) == before


def test_the_holder_and_the_factory_see_the_warning_an_auditor_the_counts(world, warned):
    token = warned["token"]
    for who in ("bank-a", "acme"):
        out = world.ok("GET", f"/v1/pledges/{token}/warnings", who)
        assert out["counts"] == {"open": 1, "acknowledged": 0, "resolved": 0}
        [w] = out["warnings"]
        assert (w["code"], w["week"], w["state"]) == ("output_floor", "2026-W43", "open")
        assert w["window"] == {"from": warned["end"], "to": warned["size"] - 1}
        assert w["checkpoint"]["size"] == warned["size"] and w["checkpoint"]["anchor_tx"].startswith("0x")
        assert (w["value"], w["threshold"]) == ("240.000000", "336.000000")
    aud = world.ok("GET", f"/v1/pledges/{token}/warnings", "aud")
    assert aud == {"token_id": token, "counts": {"open": 1, "acknowledged": 0, "resolved": 0}, "warnings": None}
    mine = {w["token_id"] for w in world.ok("GET", "/v1/warnings", "bank-a")}
    assert token in mine
    assert token in {w["token_id"] for w in world.ok("GET", "/v1/warnings", "acme")}


@pytest.mark.parametrize("who", ["bank-b", "globex"])
def test_other_parties_get_404_as_for_no_pledge_and_see_nothing_in_their_list(world, warned, who):
    token = warned["token"]
    theirs = world.get(f"/v1/pledges/{token}/warnings", who)
    missing = world.get(f"/v1/pledges/{token + 10_000}/warnings", who)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"] == missing.json()["detail"]
    assert token not in {w["token_id"] for w in world.ok("GET", "/v1/warnings", who)}


def test_only_the_holder_acknowledges_and_a_retry_changes_nothing(world, warned):
    token = warned["token"]
    [w] = world.ok("GET", f"/v1/pledges/{token}/warnings", "bank-a")["warnings"]
    path = f"/v1/pledges/{token}/warnings/{w['id']}/ack"
    assert world.post(path, "bank-b").status_code == 404
    assert world.post(path, "acme").status_code == 403  # a factory never acknowledges
    assert world.post(f"/v1/pledges/{token}/warnings/{w['id'] + 10_000}/ack", "bank-a").status_code == 404
    acked = world.ok("POST", path, "bank-a")
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == world.addresses["bank-a"]
    assert world.ok("POST", path, "bank-a") == acked
    out = world.ok("GET", f"/v1/pledges/{token}/warnings", "acme")
    assert out["counts"] == {"open": 0, "acknowledged": 1, "resolved": 0}
    assert Monitor(world.client.app.state.services).run_once().raised == []  # judged again: nothing new


def test_the_run_tells_the_holder_and_the_factory_by_webhook_and_nobody_else(world, warned):
    from ledger.service.monitor import webhook_hook

    token = warned["token"]
    for who in ("bank-a", "acme", "bank-b"):
        world.ok("POST", "/v1/webhooks", who, 201, json={"url": f"https://93.184.216.34/{who}"})
    svc = world.client.app.state.services
    for _ in range(2):  # told once, however often it runs
        Monitor(svc, on_event=webhook_hook(svc)).run_once()

    def told(who):
        return [d for d in world.ok("GET", "/v1/webhooks/deliveries", who)
                if d["event_type"].startswith("covenant_warning.") and f"/{token}/" in d["event_key"]]

    for who in ("bank-a", "acme"):
        [d] = told(who)
        assert d["event_type"] == "covenant_warning.raised" and d["event_key"].endswith("/output_floor/2026-W43/open")
    assert told("bank-b") == []
