"""Loan applications over HTTP (SQLite and PostgreSQL, a real anvil): the factory applies with a
grant, the lender reviews the granted records and the collateral's profile and decides; the three
paths (approve → consent → pledge, request-more → more data, decline) and every move refused to
the wrong party (403), from the wrong state (409), or for a bad document (422, naming the field).
"""

from __future__ import annotations

import pytest

FUTURE = "2099-01-01T00:00:00Z"


def _grant(world, start, end, lender="bank-a", **over) -> dict:
    return {"format": "dpl-grant/1", "lender": world.addresses[lender], "logs": [world.log_id],
            "records": {"from": start, "to": end}, "types": {"iot.telemetry": ["machine", "state"]},
            "expires": FUTURE, **over}


def _application(world, rng=(0, 40), to="bank-a", **over) -> dict:
    """An application to ``to`` offering ``rng`` of acme's sample log (a range only pledged when
    it comes from ``world.next_range``)."""
    start, end = rng
    return {"format": "dpl-application/1", "lender": world.addresses[to], "amount": "1250000",
            "currency": "CNY", "purpose": "Working capital for the BRK-220 order",
            "collateral": [{"log_id": world.log_id, "from": start, "to": end}],
            "grant": _grant(world, start, end, to), **over}


def _apply(world, who="acme", status=201, **over):
    return world.ok("POST", "/v1/applications", who, status, json=_application(world, **over))


def _approve(world, app: dict) -> dict:
    c = app["application"]["collateral"][0]
    t = world.terms(rng=(c["from"], c["to"]))
    terms = {k: t[k] for k in ("log_id", "from", "to", "principal", "currency", "maturity", "lien_end",
                               "max_lien_end", "samples", "loan_ref")}
    return {"format": "dpl-decision/1", "decision": "approve", "terms": terms, "text": "approved as offered"}


def _decide(world, app_id, decision, who="bank-a", status=200):
    return world.ok("POST", f"/v1/applications/{app_id}/decision", who, status, json=decision)


def _problem(r, status, words):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert words in r.json()["detail"], r.json()["detail"]


def test_apply_creates_and_links_the_grant_and_both_sides_see_it(world):
    app = _apply(world)
    assert app["state"] == "submitted" and app["factory"] == "acme" and app["lender_party"] == "bank-a"
    assert app["application"]["amount"] == "1250000" and len(app["digest"]) == 66
    [grant_id] = app["grant_ids"]
    grant = world.ok("GET", f"/v1/grants/{grant_id}", "bank-a")
    assert grant["state"] == "live" and grant["grant"] == app["application"]["grant"]
    [event] = app["events"]
    assert event["action"] == "submit" and event["party"] == "acme" and event["detail"]["grant_id"] == grant_id
    assert app["id"] in [a["id"] for a in world.ok("GET", "/v1/applications", "acme")]
    assert app["id"] in [a["id"] for a in world.ok("GET", "/v1/applications", "bank-a")]  # its inbox
    assert app["id"] in [a["id"] for a in world.ok("GET", "/v1/applications", "aud")]
    assert app["id"] not in [a["id"] for a in world.ok("GET", "/v1/applications", "bank-b")]
    assert app["id"] not in [a["id"] for a in world.ok("GET", "/v1/applications", "globex")]
    assert world.ok("GET", f"/v1/applications/{app['id']}", "bank-a") == app
    for who in ("bank-b", "globex"):  # another party's application: as if absent
        _problem(world.get(f"/v1/applications/{app['id']}", who), 404, f"no application {app['id']}")
    world.ok("GET", "/v1/applications/999999", "acme", 404)


@pytest.mark.parametrize("over,status,words", [
    ({"amount": 0}, 422, "application.amount"),
    ({"currency": "yuan"}, 422, "application.currency"),
    ({"purpose": ""}, 422, "application.purpose"),
    ({"collateral": []}, 422, "application.collateral"),
    ({"lender": "0x" + "12" * 20}, 422, "application.grant.lender"),
    ({"format": "dpl-application/9"}, 422, "application.format"),
])
def test_a_bad_application_is_refused_naming_the_field_and_nothing_is_kept(world, over, status, words):
    grants = len(world.ok("GET", "/v1/grants", "acme"))
    apps = len(world.ok("GET", "/v1/applications", "acme"))
    _problem(world.post("/v1/applications", "acme", json=_application(world, **over)), status, words)
    assert len(world.ok("GET", "/v1/grants", "acme")) == grants  # no grant left behind
    assert len(world.ok("GET", "/v1/applications", "acme")) == apps


def test_collateral_must_be_the_factorys_and_the_lender_a_lender(world):
    theirs = _application(world)
    _problem(world.post("/v1/applications", "globex", json=theirs), 422, "application.collateral[0].log_id")
    past = _application(world, rng=(world.size - 5, world.size + 5))
    _problem(world.post("/v1/applications", "acme", json=past), 422, "goes past the end")
    for who in ("bank-a", "aud", "admin"):
        assert world.post("/v1/applications", who, json=_application(world)).status_code == 403


def test_who_may_move_and_from_where(world):
    app_id = _apply(world)["id"]
    decline = {"format": "dpl-decision/1", "decision": "decline", "reason": "credit-policy", "text": "no"}
    # a factory never reviews or decides; a lender never withdraws, answers or consents (403, by role)
    world.ok("POST", f"/v1/applications/{app_id}/review", "acme", 403)
    world.ok("POST", f"/v1/applications/{app_id}/decision", "acme", 403, json=decline)
    world.ok("POST", f"/v1/applications/{app_id}/withdraw", "bank-a", 403)
    world.ok("POST", f"/v1/applications/{app_id}/consent", "bank-a", 403, json={"consent_id": 1})
    world.ok("GET", f"/v1/applications/{app_id}/draft", "bank-a", 403)
    world.ok("POST", f"/v1/applications/{app_id}/review", "aud", 403)
    # another lender, another factory: 404, as if absent
    world.ok("POST", f"/v1/applications/{app_id}/review", "bank-b", 404)
    world.ok("POST", f"/v1/applications/{app_id}/withdraw", "globex", 404)
    # from the wrong state: 409, naming the state
    _problem(world.post(f"/v1/applications/{app_id}/more-data", "acme", json=_grant(world, 0, 10)), 409,
             "the application is submitted")
    _problem(world.get(f"/v1/applications/{app_id}/draft", "acme"), 409, "the application is submitted")
    _problem(world.post(f"/v1/applications/{app_id}/consent", "acme", json={"consent_id": 1}), 409,
             "the application is submitted")
    assert world.ok("POST", f"/v1/applications/{app_id}/review", "bank-a")["state"] == "under-review"
    _problem(world.post(f"/v1/applications/{app_id}/review", "bank-a"), 409, "the application is under-review")
    # a bad decision: 422 naming the field, nothing moved
    _problem(world.post(f"/v1/applications/{app_id}/decision", "bank-a", json={**decline, "reason": "bored"}), 422,
             "decision.reason")
    assert world.ok("GET", f"/v1/applications/{app_id}", "acme")["state"] == "under-review"
    assert _decide(world, app_id, decline)["state"] == "declined"
    # a final state: nothing moves it again
    _problem(world.post(f"/v1/applications/{app_id}/withdraw", "acme"), 409, "the application is declined")
    _problem(world.post(f"/v1/applications/{app_id}/decision", "bank-a", json=decline), 409,
             "the application is declined")


def test_the_lender_reads_the_collateral_profile_only_if_the_factory_offered_it(world):
    """The profile aggregates every record of the range, fields the grant hides too (a sales
    order's customer is named in sales.by_currency.*.by_customer): the factory opts in."""
    rng = (2000, 2400)  # with sales orders
    hidden = {r["data"]["customer"] for r in world.records[rng[0]:rng[1]] if r["type"] == "erp.sales_order"}
    assert hidden
    app_id = _apply(world, rng=rng)["id"]  # its grant shows two telemetry fields, no sales order
    r = world.get(f"/v1/applications/{app_id}/profile", "bank-a")
    _problem(r, 403, "does not offer the production profile")
    assert not any(name.encode() in r.content for name in hidden)
    mine = world.ok("GET", f"/v1/applications/{app_id}/profile", "acme")  # the factory: its own figures
    assert {c for v in mine["sales"]["by_currency"].values() for c in v["by_customer"]} == hidden
    offered = _apply(world, rng=rng, profile={})["id"]
    seen = world.ok("GET", f"/v1/applications/{offered}/profile", "bank-a", params={"collateral": 0})
    assert seen == world.ok("GET", f"/v1/applications/{offered}/profile", "acme") and seen["tz"] == "+00:00"
    _problem(world.get(f"/v1/applications/{offered}/profile", "bank-a", params={"collateral": 1}), 422, "collateral")
    _problem(world.post("/v1/applications", "acme", json=_application(world, profile={"tz": "mars"})), 422,
             "application.profile")


def test_decline_path_is_timestamped_and_visible_to_both(world):
    app_id = _apply(world, profile={})["id"]
    out = _decide(world, app_id, {"format": "dpl-decision/1", "decision": "decline", "reason": "data-quality",
                                  "text": "too many stops in the granted telemetry"})
    assert out["state"] == "declined" and out["decision"]["reason"] == "data-quality"
    seen = world.ok("GET", f"/v1/applications/{app_id}", "acme")
    assert [(e["action"], e["state"], e["party"]) for e in seen["events"]] == [
        ("submit", "submitted", "acme"), ("decline", "declined", "bank-a")]
    assert seen["events"][0]["at"] <= seen["events"][1]["at"]
    assert seen["events"][1]["detail"]["text"] == "too many stops in the granted telemetry"
    # declined: the lender no longer reads the collateral's profile
    _problem(world.get(f"/v1/applications/{app_id}/profile", "bank-a"), 403, "declined")


def test_request_more_path_the_factory_grants_more_and_it_is_submitted_again(world):
    app = _apply(world)
    app_id, c = app["id"], app["application"]["collateral"][0]
    wider = _grant(world, c["from"], c["to"], types={"iot.telemetry": ["*"], "mes.work_order": ["*"]})
    asked = _decide(world, app_id, {"format": "dpl-decision/1", "decision": "request-more", "grant": wider,
                                    "text": "we need the work orders too"})
    assert asked["state"] == "more-data-requested" and asked["decision"]["grant"]["types"]["mes.work_order"] == ["*"]
    _problem(world.post(f"/v1/applications/{app_id}/more-data", "acme", json=_grant(world, 0, 5, lender="bank-b")),
             422, "grant lender")
    answered = world.ok("POST", f"/v1/applications/{app_id}/more-data", "acme", json=wider)
    assert answered["state"] == "submitted" and len(answered["grant_ids"]) == 2
    new_grant = world.ok("GET", f"/v1/grants/{answered['grant_ids'][1]}", "bank-a")
    assert new_grant["state"] == "live" and new_grant["grant"]["types"]["mes.work_order"] == ["*"]
    assert [e["action"] for e in answered["events"]] == ["submit", "request-more", "more-data"]
    # withdrawn: every grant of the application is revoked, the lender's reads refused
    out = world.ok("POST", f"/v1/applications/{app_id}/withdraw", "acme")
    assert out["state"] == "withdrawn"
    assert all(world.ok("GET", f"/v1/grants/{g}", "acme")["state"] == "revoked" for g in out["grant_ids"])
    r = world.get(f"/v1/grants/{out['grant_ids'][1]}/records", "bank-a",
                  params={"log": world.log_id, "from": c["from"], "to": c["to"]})
    assert r.status_code == 403


@pytest.mark.anvil
def test_end_to_end_apply_review_approve_consent_pledge(world):
    """The whole flow over HTTP: apply → the lender reviews the granted fields and the profile →
    approve → the factory takes the draft and signs the consent → links it → the lender issues the
    pledge → the application reads pledged."""
    app = _apply(world, rng=world.next_range(), profile={"tz": "+08:00"})  # the lender may read the profile
    app_id, [grant_id] = app["id"], app["grant_ids"]
    c = app["application"]["collateral"][0]
    assert world.ok("POST", f"/v1/applications/{app_id}/review", "bank-a")["state"] == "under-review"
    # the lender reads the granted records: only the granted fields
    read = world.ok("GET", f"/v1/grants/{grant_id}/records", "bank-a",
                    params={"log": world.log_id, "from": c["from"], "to": c["to"]})
    assert read["records"] and all(set(e["record"]["data"]) <= {"machine", "state"} for e in read["records"])
    assert all(e["record"]["type"] == "iot.telemetry" for e in read["records"])
    # ... and the collateral's profile (figures of the offered range)
    profile = world.ok("GET", f"/v1/applications/{app_id}/profile", "bank-a")
    assert profile["format"] == "dpl-profile/1" and profile["log_id"] == world.log_id
    assert (profile["range"]["from"], profile["range"]["to"]) == (c["from"], c["to"]) and profile["tz"] == "+08:00"
    world.ok("GET", f"/v1/applications/{app_id}/profile", "bank-b", 404)
    approved = _decide(world, app_id, _approve(world, app))
    assert approved["state"] == "approved" and approved["decision"]["terms"]["principal"] == "1250000"
    # the factory reviews the draft and signs it with the consent flow
    draft = world.ok("GET", f"/v1/applications/{app_id}/draft", "acme")
    assert draft["consent"]["terms"]["lender"] == world.addresses["bank-a"]
    assert draft["consent"]["terms"]["from"] == c["from"] and draft["consent"]["terms"]["principal"] == "1250000"
    kept = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": draft["terms"]})
    assert kept["consent"]["nonce"] == draft["consent"]["nonce"]  # exactly what the draft showed
    assert kept["consent"]["terms"] == draft["consent"]["terms"]
    # a consent of other terms is not this application's
    other = world.consent("acme", lender="bank-a")
    _problem(world.post(f"/v1/applications/{app_id}/consent", "acme", json={"consent_id": other}), 422,
             "does not carry the approved terms")
    world.ok("POST", f"/v1/applications/{app_id}/consent", "acme", 404, json={"consent_id": 10**9})
    linked = world.ok("POST", f"/v1/applications/{app_id}/consent", "acme", json={"consent_id": kept["consent_id"]})
    assert linked["state"] == "consented" and linked["consent_id"] == kept["consent_id"]
    _problem(world.post(f"/v1/applications/{app_id}/withdraw", "acme"), 409, "the application is consented")
    # the lender issues the pledge from the consent; the application reads pledged
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": kept["consent_id"]})["token_id"]
    done = world.ok("GET", f"/v1/applications/{app_id}", "bank-a")
    assert done["state"] == "pledged" and done["token_id"] == str(token)
    assert [e["action"] for e in done["events"]] == ["submit", "review", "approve", "consent", "pledge"]
    assert [e["party"] for e in done["events"]] == ["acme", "bank-a", "bank-a", "acme", "bank-a"]
    assert world.ok("GET", f"/v1/applications/{app_id}", "acme") == done
    assert world.ok("GET", f"/v1/pledges/{token}", "bank-a")["holder"] == world.addresses["bank-a"]


def _consented(world) -> tuple[int, dict]:
    """An application approved and consented (the consent signed by the service for acme)."""
    app = _apply(world, rng=world.next_range())
    _decide(world, app["id"], _approve(world, app))
    draft = world.ok("GET", f"/v1/applications/{app['id']}/draft", "acme")
    kept = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": draft["terms"]})
    world.ok("POST", f"/v1/applications/{app['id']}/consent", "acme", json={"consent_id": kept["consent_id"]})
    return app["id"], kept


def test_pledged_when_the_lender_issued_from_its_own_wallet(world):
    """A pledge the service never recorded with the consent (the lender sent the issue
    transaction itself) is found in the pledge mirror."""
    from ledger.pledge.service import Pledges
    from ledger.pledge.terms import read_consent

    app_id, kept = _consented(world)
    assert world.ok("GET", f"/v1/applications/{app_id}", "bank-a")["state"] == "consented"
    svc = world.client.app.state.services
    # the issue transaction, sent as a lender's wallet would: the service keeps no token for the consent
    issued = Pledges(svc).issue(world.app_parties().get("bank-a"), read_consent(kept["consent"]))
    assert [c["token_id"] for c in world.ok("GET", "/v1/pledges/consents", "acme")
            if c["consent_id"] == kept["consent_id"]] == [None]
    done = world.ok("GET", f"/v1/applications/{app_id}", "acme")
    assert done["state"] == "pledged" and done["token_id"] == str(issued.token_id)
    assert done["events"][-1]["action"] == "pledge" and done["events"][-1]["party"] == "bank-a"


def test_a_consent_links_once_and_only_to_its_own_factorys_application(world):
    app_id, kept = _consented(world)
    other = _apply(world, rng=world.next_range())
    _decide(world, other["id"], _approve(world, other))
    # already linked to an application (and not of these terms either): refused
    r = world.post(f"/v1/applications/{other['id']}/consent", "acme", json={"consent_id": kept["consent_id"]})
    assert r.status_code in (409, 422), r.text
    assert world.ok("GET", f"/v1/applications/{other['id']}", "acme")["state"] == "approved"


def test_the_application_and_its_steps_are_sealed_in_the_database(world):
    from sqlalchemy import text

    purpose, reason = "PURPOSE-SECRET-5e0c1d", "REASON-SECRET-a77b90"
    app_id = _apply(world, purpose=purpose)["id"]
    _decide(world, app_id, {"format": "dpl-decision/1", "decision": "decline", "reason": "other", "text": reason})
    seen = world.ok("GET", f"/v1/applications/{app_id}", "acme")
    assert seen["application"]["purpose"] == purpose and seen["decision"]["text"] == reason
    engine = world.client.app.state.services.store.engine
    with engine.connect() as conn:
        stored = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                          for table in ("applications", "application_events")
                          for row in conn.execute(text(f"SELECT * FROM {table}")) for v in row if v is not None)
    if world.backend == "sqlite":
        for name in ("ledger.db", "ledger.db-wal"):
            if (world.home / name).exists():
                stored += (world.home / name).read_bytes()
    assert purpose.encode() not in stored and reason.encode() not in stored


def test_a_wallet_factory_signs_the_draft_itself(world):
    """selfco (no key at the service) signs the draft's typed data in its wallet; the consent
    kept from that signature links to the application, and the pledge follows."""
    from eth_account import Account

    from tests.api.conftest import CHAIN_ID, record

    log_id = world.new_log("selfco", records=[record(f"w-{i}") for i in range(20)], anchor=True)
    grant = {**_grant(world, 0, 20), "logs": [log_id], "types": {"test.event": ["*"]}}
    app = world.ok("POST", "/v1/applications", "selfco", 201,
                   json={**_application(world), "collateral": [{"log_id": log_id, "from": 0, "to": 20}],
                         "grant": grant})
    decision = _approve(world, app)
    decision["terms"] = {**decision["terms"], "log_id": log_id, "from": 0, "to": 20}
    _decide(world, app["id"], decision)
    draft = world.ok("GET", f"/v1/applications/{app['id']}/draft", "selfco")
    signed = Account.sign_typed_data(world.keyring.account("dev5", CHAIN_ID).key, full_message=draft["typed_data"])
    kept = world.ok("POST", "/v1/pledges/consents", "selfco", 201,
                    json={"consent": {**draft["consent"], "signature": "0x" + signed.signature.hex()}})
    linked = world.ok("POST", f"/v1/applications/{app['id']}/consent", "selfco", json={"consent_id": kept["consent_id"]})
    assert linked["state"] == "consented"
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": kept["consent_id"]})["token_id"]
    done = world.ok("GET", f"/v1/applications/{app['id']}", "bank-a")
    assert done["state"] == "pledged" and done["token_id"] == str(token)


def test_an_approval_the_factory_could_not_sign_is_refused_now(world):
    """Approved terms get every check of the factory's consent draft (the chain's too): a lender
    not approved on the registry, or a maturity already past, is refused at the decision, and the
    application stays where it was."""
    app = _apply(world, rng=world.next_range())
    past = _approve(world, app)
    past["terms"] = {**past["terms"], "maturity": str(world.chain_time() - 86400)}
    _problem(world.post(f"/v1/applications/{app['id']}/decision", "bank-a", json=past), 422, "maturity")
    to_c = _apply(world, rng=world.next_range(), to="bank-c")  # a lender party, not approved on the registry
    _problem(world.post(f"/v1/applications/{to_c['id']}/decision", "bank-c", json=_approve(world, to_c)), 422,
             "is not an approved lender")
    for a, lender in ((app, "bank-a"), (to_c, "bank-c")):
        seen = world.ok("GET", f"/v1/applications/{a['id']}", lender)
        assert seen["state"] == "submitted" and [e["action"] for e in seen["events"]] == ["submit"]


def test_a_retried_application_with_an_idempotency_key_makes_one(world):
    body = _application(world, purpose="retried after a timeout")
    key = {"Idempotency-Key": "apply-7f3a"}
    first = world.post("/v1/applications", "acme", json=body, headers=key)
    assert first.status_code == 201 and "idempotent-replayed" not in first.headers
    again = world.post("/v1/applications", "acme", json=body, headers=key)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert [a["application"]["purpose"] for a in world.ok("GET", "/v1/applications", "acme")].count(
        "retried after a timeout") == 1
    assert len([g for g in world.ok("GET", "/v1/grants", "acme") if g["id"] in first.json()["grant_ids"]]) == 1
    _problem(world.post("/v1/applications", "acme", json={**body, "amount": "7"}, headers=key), 422,
             "different request body")
