"""Profiles and disclosures over HTTP (SQLite and PostgreSQL): who may build a profile, disclose a
range, fetch it; a disclosure fetched by the lender verifies against the chain and recomputes the
factory's profile exactly; revoked is refused; bad input is a clear 422."""

from __future__ import annotations

import orjson

from ledger.service.profiles import verify


def _profile(world, who="acme", status=200, **body):
    body = {"from": 0, "to": 600, **body}
    return world.ok("POST", f"/v1/logs/{world.log_id}/profile", who, status, json=body)


def test_the_factory_and_an_auditor_build_a_profile_a_lender_may_not(world):
    p = _profile(world, tz="+08:00")
    assert p["format"] == "dpl-profile/1" and p["log_id"] == world.log_id and p["tz"] == "+08:00"
    assert p["range"] == {"from": 0, "to": 600} and p["coverage"]["records"] == 600
    assert p["checkpoint"]["size"] >= 600
    assert _profile(world, "aud", tz="+08:00") == p  # same figures for an auditor
    problem = _profile(world, "bank-a", 403)
    assert "a lender may not do this" in problem["detail"]
    # another factory's log: as if absent
    other = world.new_log("globex", [{"id": "x", "ts": "2026-11-01T08:00:00+08:00", "type": "t.x", "data": {}}],
                          anchor=True)
    world.ok("POST", f"/v1/logs/{other}/profile", "acme", 404, json={"from": 0, "to": 1})
    world.ok("POST", f"/v1/logs/{other}/disclosures", "acme", 404, json={"lender": "bank-a", "from": 0, "to": 1})


def test_bad_profile_requests_are_named(world):
    assert "tz" in _profile(world, status=422, tz="+25:00")["detail"]
    assert "mapping" in _profile(world, status=422, mapping={"format": "dpl-mapping/9"})["detail"]
    assert "past the end" in _profile(world, status=422, to=world.size + 1)["detail"]
    assert "empty" in _profile(world, status=422, **{"from": 5, "to": 5})["detail"]
    # a threshold is read as an exact rational: a 5,000-digit one was a 500 (int() digit limit)
    assert "at most 40 characters" in _profile(world, status=422, thresholds={"temp_c_max": "1" * 5000})["detail"]
    # a checkpoint size that was never anchored: not found, naming it
    assert "no anchored checkpoint" in _profile(world, status=404, checkpoint=601)["detail"]


def test_a_disclosure_reaches_the_named_lender_only_and_verifies(world):
    made = world.ok("POST", f"/v1/logs/{world.log_id}/disclosures", "acme", 201,
                    json={"lender": "bank-a", "from": 100, "to": 400, "tz": "+08:00"})
    assert made["lender"] == world.addresses["bank-a"] and made["range"] == {"from": 100, "to": 400}
    assert made["revoked_at"] is None
    did = made["id"]
    assert did in [d["id"] for d in world.ok("GET", "/v1/disclosures", "bank-a")]
    assert did not in [d["id"] for d in world.ok("GET", "/v1/disclosures", "bank-b")]
    world.ok("GET", f"/v1/disclosures/{did}/document", "bank-b", 404)  # not theirs: as if absent

    r = world.get(f"/v1/disclosures/{did}/document", "bank-a")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert r.headers["cache-control"] == "no-store"
    document = orjson.loads(r.content)
    assert document["format"] == "dpl-disclosure/1" and len(document["records"]) == 300
    profile = world.ok("GET", f"/v1/disclosures/{did}/profile", "bank-a")
    assert profile["tz"] == "+08:00" and profile["range"] == {"from": 100, "to": 400}

    verdict = verify(profile, document, rpc_url=world.rpc_url, home=world.home)
    assert verdict.sound, verdict.as_json()
    assert [c.name for c in verdict.checks] == ["profile", "disclosure", "same range", "figures", "registry",
                                                "bundle names this registry", "factory", "anchor",
                                                "anchor transaction"]
    profile["coverage"]["records"] = 301
    assert not verify(profile, document).sound

    # revoked: the lender is refused (403), the factory still sees when it was revoked
    revoked = world.ok("POST", f"/v1/disclosures/{did}/revoke", "acme")
    assert revoked["revoked_at"] is not None
    problem = world.ok("GET", f"/v1/disclosures/{did}/document", "bank-a", 403)
    assert "revoked" in problem["detail"]
    world.ok("GET", f"/v1/disclosures/{did}/profile", "bank-a", 403)
    world.ok("POST", f"/v1/disclosures/{did}/revoke", "bank-a", 403)  # only a factory revokes


def test_disclosing_to_a_party_that_is_not_a_lender_is_refused(world):
    r = world.post(f"/v1/logs/{world.log_id}/disclosures", "acme",
                   json={"lender": "aud", "from": 0, "to": 10})
    assert r.status_code == 422 and "is not a lender party" in r.json()["detail"], r.text
    r = world.post(f"/v1/logs/{world.log_id}/disclosures", "bank-a",
                   json={"lender": "bank-a", "from": 0, "to": 10})
    assert r.status_code == 403, r.text


def test_a_range_out_of_time_order_is_read_again_and_profiled_as_a_lender_recomputes_it(world, monkeypatch):
    """The service streams the range; at the first record back in time it reads the range again
    (array mode). The profile is the one a lender recomputes from the disclosed records, and
    progress never goes back nor past the range."""
    from ledger.service.profiles import Profiles
    from ledger.synthetic import telemetry

    records = list(telemetry(6000, seed=13))
    records[5000]["ts"] = records[4000]["ts"]  # after the first progress report (4096)
    log_id = world.new_log("acme", records, anchor=True)
    stream = world.ok("GET", f"/v1/logs/{log_id}", "acme")["stream"]
    reads, real = [], Profiles._records
    monkeypatch.setattr(Profiles, "_records", lambda self, *a: reads.append(a[:3]) or real(self, *a))
    shown = []
    profile = Profiles(world.client.app.state.services).build(stream, 0, 6000, progress=shown.append)
    assert len(reads) == 2 and shown == [4096, 6000]
    made = world.ok("POST", f"/v1/logs/{log_id}/disclosures", "acme", 201,
                    json={"lender": "bank-a", "from": 0, "to": 6000})
    document = orjson.loads(world.get(f"/v1/disclosures/{made['id']}/document", "bank-a").content)
    verdict = verify(profile, document)
    assert [(c.name, c.ok) for c in verdict.checks][-1] == ("figures", True), verdict.as_json()
    monkeypatch.undo()
    assert world.ok("POST", f"/v1/logs/{log_id}/profile", "acme", json={"from": 0, "to": 6000}) == profile


def test_the_audit_recomputes_a_pledge_that_carries_a_profile(world):
    """A dpl-asset/2 pledge (the consent carries profile parameters) is audited against its
    manifest recomputed with them. Before: the audit rebuilt a dpl-asset/1 manifest and reported
    'pledge N commits to asset …, but our records … describe …' for every such pledge."""
    terms = {**world.terms(lender="bank-a"), "profile": {"tz": "+08:00"}}
    consent_id = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": terms})["consent_id"]
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": consent_id})["token_id"]
    assert world.ok("GET", f"/v1/pledges/{token}/profile", "aud")["tz"] == "+08:00"
    report = world.ok("POST", "/v1/audit", "aud")
    assert not [f for f in report["findings"] if f"pledge {token} " in f], report["findings"]
