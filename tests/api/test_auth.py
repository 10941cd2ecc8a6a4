"""Who may call what: 401 without a live key, 403/404 for every role an endpoint does not
allow, and 404 (the same answer as for an id that does not exist) for another party's
logs, records and pledges."""

from __future__ import annotations

import pytest

from ledger.service.anchoring import anchor_once
from tests.api.conftest import ROLE_PARTY, record

ROLES = ("factory", "lender", "auditor", "admin")
PUBLIC = "public"  # no key needed

#: Every operation of the OpenAPI schema and the roles that may call it. A new path (or
#: method) fails ``test_the_table_covers_every_operation`` until it is added here.
ENDPOINTS: dict[tuple[str, str], set[str]] = {
    ("GET", "/v1/logs"): {"factory", "auditor"},
    ("POST", "/v1/logs"): {"factory"},
    ("GET", "/v1/logs/{log_id}"): {"factory", "auditor"},
    ("POST", "/v1/logs/{log_id}/records"): {"factory"},
    ("GET", "/v1/logs/{log_id}/records"): {"factory"},
    ("GET", "/v1/logs/{log_id}/records/{index}"): {"factory"},
    ("GET", "/v1/logs/{log_id}/proofs/inclusion"): {"factory", "auditor"},
    ("GET", "/v1/logs/{log_id}/proofs/consistency"): {"factory", "auditor"},
    ("GET", "/v1/logs/{log_id}/leaves"): {"factory", "auditor"},
    ("GET", "/v1/logs/{log_id}/checkpoints"): {"factory", "auditor"},
    ("POST", "/v1/logs/{log_id}/checkpoints/anchor"): {"factory"},
    ("GET", "/v1/logs/{log_id}/activity"): {"factory"},
    ("GET", "/v1/logs/{log_id}/checkpoints/to-sign"): {"factory"},
    ("POST", "/v1/logs/{log_id}/checkpoints/signatures"): {"factory"},
    ("POST", "/v1/assets"): {"factory"},
    ("POST", "/v1/pledges/consents/draft"): {"factory"},
    ("POST", "/v1/pledges/consents"): {"factory"},
    ("GET", "/v1/pledges/consents"): {"factory", "lender", "auditor"},
    ("POST", "/v1/pledges"): {"lender"},
    ("GET", "/v1/pledges"): {"factory", "lender", "auditor"},
    ("GET", "/v1/pledges/{token_id}"): {"factory", "lender", "auditor"},
    ("GET", "/v1/pledges/{token_id}/bundle"): {"factory", "lender"},
    ("GET", "/v1/pledges/{token_id}/profile"): {"factory", "lender", "auditor"},
    ("POST", "/v1/pledges/{token_id}/transfer"): {"lender"},
    ("POST", "/v1/pledges/{token_id}/release"): {"lender"},
    ("POST", "/v1/pledges/{token_id}/default"): {"lender"},
    ("POST", "/v1/pledges/{token_id}/extend"): {"lender"},
    ("GET", "/v1/pledges/extensions"): {"factory", "lender", "auditor"},
    ("POST", "/v1/pledges/{token_id}/extensions/draft"): {"factory"},
    ("POST", "/v1/pledges/{token_id}/extensions"): {"factory"},
    ("GET", "/v1/parties"): {"admin"},
    ("POST", "/v1/parties"): {"admin"},
    ("POST", "/v1/parties/{name}/keys"): {"admin"},
    ("GET", "/v1/keys"): {"admin"},
    ("DELETE", "/v1/keys/{prefix}"): {"admin"},
    ("GET", "/v1/lenders"): {"admin", "auditor"},
    ("POST", "/v1/lenders"): {"admin"},
    ("DELETE", "/v1/lenders/{address}"): {"admin"},
    ("GET", "/v1/factories"): {"admin", "auditor", "lender", "factory"},
    ("GET", "/v1/factories/{address}"): {"admin", "auditor", "lender", "factory"},
    ("PUT", "/v1/factories/{address}"): {"admin"},
    ("DELETE", "/v1/factories/{address}"): {"admin"},
    ("POST", "/v1/logs/{log_id}/profile"): {"factory", "auditor"},
    ("POST", "/v1/logs/{log_id}/disclosures"): {"factory"},
    ("GET", "/v1/disclosures"): {"factory", "lender"},
    ("GET", "/v1/disclosures/{disclosure_id}"): {"factory", "lender"},
    ("GET", "/v1/disclosures/{disclosure_id}/document"): {"factory", "lender"},
    ("GET", "/v1/disclosures/{disclosure_id}/profile"): {"factory", "lender"},
    ("POST", "/v1/disclosures/{disclosure_id}/revoke"): {"factory"},
    ("POST", "/v1/audit"): {"auditor"},
    ("GET", "/v1/audit/latest"): {"auditor"},
    ("GET", "/v1/pledges/{token_id}/warnings"): {"factory", "lender", "auditor"},
    ("POST", "/v1/pledges/{token_id}/warnings/{warning_id}/ack"): {"lender"},
    ("GET", "/v1/warnings"): {"factory", "lender"},
    ("POST", "/v1/webhooks"): {"admin", "auditor", "lender", "factory"},
    ("GET", "/v1/webhooks"): {"admin", "auditor", "lender", "factory"},
    ("GET", "/v1/webhooks/deliveries"): {"admin", "auditor", "lender", "factory"},
    ("DELETE", "/v1/webhooks/{webhook_id}"): {"admin", "auditor", "lender", "factory"},
    ("POST", "/v1/grants"): {"factory"},
    ("GET", "/v1/grants"): {"factory", "lender", "auditor"},
    ("GET", "/v1/grants/{grant_id}"): {"factory", "lender", "auditor"},
    ("POST", "/v1/grants/{grant_id}/revoke"): {"factory"},
    ("GET", "/v1/grants/{grant_id}/records"): {"lender"},
    ("POST", "/v1/applications"): {"factory"},
    ("GET", "/v1/applications"): {"factory", "lender", "auditor"},
    ("GET", "/v1/applications/{application_id}"): {"factory", "lender", "auditor"},
    ("POST", "/v1/applications/{application_id}/review"): {"lender"},
    ("POST", "/v1/applications/{application_id}/decision"): {"lender"},
    ("POST", "/v1/applications/{application_id}/more-data"): {"factory"},
    ("POST", "/v1/applications/{application_id}/withdraw"): {"factory"},
    ("GET", "/v1/applications/{application_id}/draft"): {"factory"},
    ("POST", "/v1/applications/{application_id}/consent"): {"factory"},
    ("GET", "/v1/applications/{application_id}/profile"): {"factory", "lender", "auditor"},
    ("GET", "/v1/access-log"): {"factory", "auditor"},
    ("GET", "/v1/access-log/consistency"): {"factory", "auditor"},
    ("GET", "/v1/access-log/{index}/proof"): {"factory", "lender", "auditor"},
    ("GET", "/health"): {PUBLIC},
}

FORBIDDEN = [(m, p, r) for (m, p), allowed in ENDPOINTS.items() if PUBLIC not in allowed
             for r in ROLES if r not in allowed]
READS_ALLOWED = [(m, p, r) for (m, p), allowed in ENDPOINTS.items() if m == "GET" and PUBLIC not in allowed
                 for r in sorted(allowed)]


@pytest.fixture(scope="session")
def matrix(world):
    """Real ids for the path parameters, and valid bodies: a missing role check must show up
    as a success, not hide behind a 422."""
    # held by bank-a, live, carrying its profile (default parameters); nobody in these tests moves it
    pledged = {"terms": {**world.terms(lender="bank-a"), "profile": {}}}
    pledged_id = world.ok("POST", "/v1/pledges/consents", "acme", 201, json=pledged)["consent_id"]
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": pledged_id})["token_id"]
    consent_id = world.consent("acme", lender="bank-a")  # names bank-a, not issued
    spare_key = world.app_parties().new_key("aud")
    sample_id = world.records[7]["id"]
    disclosure = world.ok("POST", f"/v1/logs/{world.log_id}/disclosures", "acme", 201,
                          json={"lender": "bank-a", "from": 0, "to": 10})  # names bank-a, live
    grant = {"format": "dpl-grant/1", "lender": world.addresses["bank-a"], "logs": [world.log_id],
             "records": {"from": 0, "to": 10}, "types": {"iot.telemetry": ["*"]}, "expires": "2099-01-01T00:00:00Z"}
    grant_id = world.ok("POST", "/v1/grants", "acme", 201, json=grant)["id"]  # names bank-a, live
    # bank-a reads through it until acme's access log holds entry 7 (``index`` below), then it is anchored
    while (receipt := world.ok("GET", f"/v1/grants/{grant_id}/records", "bank-a",
                               params={"log": world.log_id, "from": 0, "to": 1})["receipt"])["index"] < 7:
        pass
    anchor_once(world.client.app.state.services)  # the service's own run: no party owns an access log
    # acme's application to bank-a, approved (so its draft exists); nobody in these tests moves it
    t = world.terms(lender="bank-a")
    application = {"format": "dpl-application/1", "lender": world.addresses["bank-a"], "amount": "1250000",
                   "currency": "CNY", "purpose": "matrix", "collateral": [{"log_id": world.log_id, "from": t["from"],
                                                                          "to": t["to"]}],
                   "grant": {**grant, "records": {"from": t["from"], "to": t["to"]}}, "profile": {}}
    application_id = world.ok("POST", "/v1/applications", "acme", 201, json=application)["id"]
    decision = {"format": "dpl-decision/1", "decision": "approve",
                "terms": {k: t[k] for k in ("log_id", "from", "to", "principal", "currency", "maturity", "lien_end",
                                            "samples", "loan_ref")}}
    world.ok("POST", f"/v1/applications/{application_id}/decision", "bank-a", json=decision)
    params = {"disclosure_id": str(disclosure["id"]), "log_id": world.log_id, "index": "7", "token_id": str(token), "name": "acme",
              "prefix": spare_key.split("_")[1], "address": world.addresses["bank-a"], "warning_id": "1", "webhook_id": "1",
              "grant_id": str(grant_id), "application_id": str(application_id)}
    query = {"/v1/logs/{log_id}/records": {"id": sample_id},
             "/v1/logs/{log_id}/proofs/inclusion": {"index": 7},
             "/v1/logs/{log_id}/proofs/consistency": {"from": 10, "to": 100},
             "/v1/grants/{grant_id}/records": {"log": world.log_id, "from": 0, "to": 10},
             "/v1/access-log": {"access_log": receipt["access_log"]},
             "/v1/access-log/consistency": {"access_log": receipt["access_log"], "from": 1, "to": 8},
             "/v1/access-log/{index}/proof": {"access_log": receipt["access_log"]}}
    bodies = {
        ("POST", "/v1/logs"): {"stream": "forbidden"},
        ("POST", "/v1/logs/{log_id}/records"): [record("forbidden-1")],
        ("POST", "/v1/logs/{log_id}/checkpoints/signatures"): {"size": 1, "signature": "0x" + "11" * 65},
        ("POST", "/v1/assets"): {"log_id": world.log_id, "from": 0, "to": 10},
        ("POST", "/v1/logs/{log_id}/profile"): {"from": 0, "to": 10},
        ("POST", "/v1/logs/{log_id}/disclosures"): {"lender": "bank-a", "from": 0, "to": 10},
        ("POST", "/v1/pledges/consents/draft"): world.terms(rng=(3000, 3010)),
        ("POST", "/v1/pledges/consents"): {"terms": world.terms(rng=(3000, 3010))},
        ("POST", "/v1/pledges"): {"consent_id": consent_id},
        ("POST", "/v1/pledges/{token_id}/transfer"): {"to": "bank-b"},
        ("POST", "/v1/pledges/{token_id}/extend"): {"lien_end": str(world.chain_time() + 900 * 86400)},
        ("POST", "/v1/pledges/{token_id}/extensions/draft"): {"lien_end": str(world.chain_time() + 2000 * 86400)},
        ("POST", "/v1/pledges/{token_id}/extensions"): {"terms": {"lien_end": str(world.chain_time() + 2000 * 86400)}},
        ("POST", "/v1/parties"): {"name": "intruder", "role": "admin"},
        ("POST", "/v1/lenders"): {"address": "bank-c"},
        ("PUT", "/v1/factories/{address}"): {"name": "Intruder Ltd.", "registration": "INTRUDER-1"},
        ("POST", "/v1/webhooks"): {"url": "https://93.184.216.34/hooks"},
        ("POST", "/v1/grants"): grant,
        ("POST", "/v1/applications"): application,
        ("POST", "/v1/applications/{application_id}/decision"): {"format": "dpl-decision/1", "decision": "decline",
                                                                 "reason": "other", "text": "no"},
        ("POST", "/v1/applications/{application_id}/more-data"): grant,
        ("POST", "/v1/applications/{application_id}/consent"): {"consent_id": consent_id},
    }
    return {"params": params, "query": query, "bodies": bodies, "token": token}


def _request(world, matrix, method, template, who):
    path = template
    for name, value in matrix["params"].items():
        path = path.replace("{" + name + "}", value)
    kw = {"params": matrix["query"].get(template, {})}
    body = matrix["bodies"].get((method, template))
    if body is not None:
        kw["json"] = body
    return world.call(method, path, who, **kw)


def _problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["type"].startswith("https://") and body["detail"]
    return body


# --- the table is the app ---------------------------------------------------------------------


def test_the_table_covers_every_operation(world):
    schema = world.client.app.openapi()
    operations = {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}
    assert operations == set(ENDPOINTS), (
        f"not in ENDPOINTS: {sorted(operations - set(ENDPOINTS))}; gone from the app: {sorted(set(ENDPOINTS) - operations)}")


# --- 401 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,template", [k for k, v in ENDPOINTS.items() if PUBLIC not in v])
def test_no_key_is_401_with_a_challenge(world, matrix, method, template):
    r = _request(world, matrix, method, template, None)
    body = _problem(r, 401)
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert body["type"].endswith("/unauthenticated")


@pytest.mark.parametrize("authorization", [
    "Bearer",
    "Bearer ",
    "Basic YWNtZTpzZWNyZXQ=",
    "Bearer not-a-key",
    "Bearer dpl_zzzzzzzz_" + "a" * 43,
    "Bearer dpl_00000000_" + "a" * 43,  # well-formed, unknown
    "Bearer dpl_00000000_" + "a" * 44,
    "bearer   ",
])
def test_malformed_or_unknown_key_is_401(world, authorization):
    r = world.client.get("/v1/logs", headers={"Authorization": authorization})
    _problem(r, 401)
    assert "Bearer" in r.headers["www-authenticate"]


def test_a_key_with_a_live_prefix_but_a_wrong_secret_is_401(world):
    prefix = world.keys["acme"].split("_")[1]
    forged = f"dpl_{prefix}_" + ("b" * 43 if not world.keys["acme"].endswith("b" * 43) else "c" * 43)
    _problem(world.client.get("/v1/logs", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_a_revoked_key_is_401(world):
    key = world.app_parties().new_key("acme")
    assert world.client.get("/v1/logs", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    world.ok("DELETE", f"/v1/keys/{key.split('_')[1]}", "admin", 204)
    r = world.client.get("/v1/logs", headers={"Authorization": f"Bearer {key}"})
    _problem(r, 401)
    assert "revoked" in r.json()["detail"]
    # the party's other key still works
    assert world.get("/v1/logs", "acme").status_code == 200


# --- 403 / 404 for every role an endpoint does not allow --------------------------------------


@pytest.mark.parametrize("method,template,role", FORBIDDEN)
def test_a_role_not_allowed_gets_403_or_404(world, matrix, method, template, role):
    r = _request(world, matrix, method, template, ROLE_PARTY[role])
    assert r.status_code in (403, 404), (r.status_code, r.text)
    assert r.headers["content-type"] == "application/problem+json"


def test_nothing_moved_while_forbidden_roles_knocked(world, matrix):
    """The forbidden calls above changed nothing (runs after them on the same world)."""
    token = matrix["token"]
    view = world.ok("GET", f"/v1/pledges/{token}", "aud")
    assert view["status"] == "live" and view["holder"] == world.addresses["bank-a"]
    names = [p["name"] for p in world.ok("GET", "/v1/parties", "admin")]
    assert "intruder" not in names
    assert not any(log["stream"].endswith("/forbidden") for log in world.ok("GET", "/v1/logs", "aud"))
    application = world.ok("GET", f"/v1/applications/{matrix['params']['application_id']}", "aud")
    assert application["state"] == "approved" and len(application["events"]) == 2


@pytest.mark.parametrize("method,template,role", READS_ALLOWED)
def test_an_allowed_role_may_read(world, matrix, method, template, role):
    if template == "/v1/audit/latest":
        world.ok("POST", "/v1/audit", "aud")
    r = _request(world, matrix, method, template, ROLE_PARTY[role])
    assert r.status_code == 200, r.text


# --- no existence leaks ---------------------------------------------------------------------------

MISSING_LOG = "0x" + "ab" * 32
LOG_READS = [
    ("GET", "/v1/logs/{log_id}", {}),
    ("GET", "/v1/logs/{log_id}/records/3", {}),
    ("GET", "/v1/logs/{log_id}/records", {"id": "tel-cnc-01-000000000"}),
    ("GET", "/v1/logs/{log_id}/proofs/inclusion", {"index": 3}),
    ("GET", "/v1/logs/{log_id}/proofs/consistency", {"from": 1, "to": 5}),
    ("GET", "/v1/logs/{log_id}/leaves", {}),
    ("GET", "/v1/logs/{log_id}/checkpoints", {}),
    ("POST", "/v1/logs/{log_id}/checkpoints/anchor", {}),
    ("POST", "/v1/logs/{log_id}/records", {}),
]


def _same_answer(a, b):
    assert a.status_code == b.status_code == 404, (a.text, b.text)
    ja, jb = a.json(), b.json()
    ja.pop("instance"), jb.pop("instance")
    assert ja == jb


@pytest.mark.parametrize("method,template,query", LOG_READS)
def test_another_factory_gets_404_for_acmes_logs_as_for_no_log(world, method, template, query):
    kw = {"params": query}
    if template.endswith("/records") and method == "POST":
        kw["json"] = [record("globex-was-here")]
    theirs = world.call(method, template.replace("{log_id}", world.log_id), "globex", **kw)
    missing = world.call(method, template.replace("{log_id}", MISSING_LOG), "globex", **kw)
    _same_answer(theirs, missing)
    assert world.ok("GET", f"/v1/logs/{world.log_id}", "acme")["size"] == world.size


def test_another_factory_cannot_describe_or_pledge_acmes_log(world):
    terms = world.terms(rng=(3100, 3110))
    for path, body in (("/v1/assets", {"log_id": world.log_id, "from": 0, "to": 10}),
                       ("/v1/pledges/consents/draft", terms),
                       ("/v1/pledges/consents", {"terms": terms})):
        theirs = world.post(path, "globex", json=body)
        missing = world.post(path, "globex", json={**body, "log_id": MISSING_LOG} if "log_id" in body
                             else {"terms": {**terms, "log_id": MISSING_LOG}})
        _same_answer(theirs, missing)


def test_another_factory_cannot_submit_a_consent_over_acmes_log(world):
    consent_id = world.consent("acme", lender="bank-a")
    doc = {c["consent_id"]: c for c in world.ok("GET", "/v1/pledges/consents", "acme")}[consent_id]["consent"]
    doc = {k: v for k, v in doc.items() if k != "typed_data"}
    theirs = world.post("/v1/pledges/consents", "globex", json={"consent": doc})
    missing = world.post("/v1/pledges/consents", "globex",
                         json={"consent": {**doc, "terms": {**doc["terms"], "log_id": MISSING_LOG}}})
    _same_answer(theirs, missing)
    assert consent_id not in {c["consent_id"] for c in world.ok("GET", "/v1/pledges/consents", "globex")}


def test_another_factory_does_not_see_acmes_logs_in_lists(world):
    globex_log = world.new_log("globex")
    mine = {log["log_id"] for log in world.ok("GET", "/v1/logs", "globex")}
    assert globex_log in mine and world.log_id not in mine
    assert globex_log not in {log["log_id"] for log in world.ok("GET", "/v1/logs", "acme")}


@pytest.mark.parametrize("who", ["globex", "bank-b", "admin"])
@pytest.mark.parametrize("method,suffix,body", [
    ("GET", "", None), ("GET", "/bundle", None), ("POST", "/transfer", {"to": "bank-b"}),
    ("POST", "/release", None), ("POST", "/default", None), ("POST", "/extend", {"lien_end": "2100-01-01"}),
])
def test_pledges_of_others_are_404_as_for_no_pledge(world, matrix, who, method, suffix, body):
    token = matrix["token"]
    kw = {"json": body} if body is not None else {}
    theirs = world.call(method, f"/v1/pledges/{token}{suffix}", who, **kw)
    missing = world.call(method, f"/v1/pledges/{token + 10_000}{suffix}", who, **kw)
    if theirs.status_code == 403:  # a role that may never do this: refused before any lookup
        assert missing.status_code == 403 and theirs.json()["detail"] == missing.json()["detail"]
    else:
        _same_answer(theirs, missing)


def test_lists_show_only_the_callers_pledges_and_consents(world, matrix):
    token = matrix["token"]
    assert token in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "bank-a")]
    assert token in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "acme")]
    assert token in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "aud")]
    assert token not in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "bank-b")]
    assert token not in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "globex")]
    globex_consents = world.ok("GET", "/v1/pledges/consents", "globex")
    assert all(c["consent"]["factory"] == world.addresses["globex"] for c in globex_consents)
    bank_b = world.ok("GET", "/v1/pledges/consents", "bank-b")
    assert all(c["consent"]["terms"]["lender"].lower() == world.addresses["bank-b"].lower() for c in bank_b)
    assert world.ok("GET", "/v1/pledges/consents", "bank-a")  # bank-a is named in some
