"""Assets, consents (custodial and self-signed), pledges and their collateral bundles over
HTTP, against the registry on a real anvil."""

from __future__ import annotations

import re

import pytest
from eth_account import Account

from ledger.pledge_collateral import verify_against_chain
from tests.api.conftest import CHAIN_ID

HEX32 = re.compile(r"0x[0-9a-f]{64}")


def _refused(r, status: int, error: str | None = None, slug: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    if error:
        assert body["error"] == error, body
    if slug:
        assert body["type"].endswith("/" + slug), body
    return body


# --- assets ---------------------------------------------------------------------------------------


def test_asset_manifest_of_an_anchored_range(world):
    out = world.ok("POST", "/v1/assets", "acme", json={"log_id": world.log_id, "from": 10, "to": 60})
    assert HEX32.fullmatch(out["asset_digest"])
    manifest = out["manifest"]
    assert manifest["checkpoint"]["size"] == world.size
    assert manifest["checkpoint"]["root"] == world.ok("GET", f"/v1/logs/{world.log_id}", "acme")["root"]
    from ledger.assets import asset_digest

    assert "0x" + asset_digest(manifest).hex() == out["asset_digest"]
    again = world.ok("POST", "/v1/assets", "acme", json={"log_id": world.log_id, "from": 10, "to": 60})
    assert again == out  # deterministic
    other = world.ok("POST", "/v1/assets", "acme", json={"log_id": world.log_id, "from": 10, "to": 61})
    assert other["asset_digest"] != out["asset_digest"]


def test_asset_refusals(world):
    unanchored = world.new_log(records=[{"id": "u-1", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}}])
    _refused(world.post("/v1/assets", "acme", json={"log_id": unanchored, "from": 0, "to": 1}), 404)
    past = world.post("/v1/assets", "acme", json={"log_id": world.log_id, "from": 0, "to": world.size + 1})
    _refused(past, 422)
    assert f"goes past the end of acme/line-a, which has {world.size} records" in past.json()["detail"]
    _refused(world.post("/v1/assets", "acme", json={"log_id": world.log_id, "from": 5, "to": 5}), 422)
    for body in ({"log_id": world.log_id, "from": -1, "to": 5}, {"log_id": world.log_id, "from": 0},
                 {"log_id": "nope", "from": 0, "to": 1}, {"log_id": world.log_id, "from": 0, "to": 1, "checkpoint": 0},
                 {"log_id": world.log_id, "from": 0, "to": 1, "checkpoint": 7}):
        r = world.post("/v1/assets", "acme", json=body)
        assert 400 <= r.status_code < 500, (body, r.text)


# --- consents ------------------------------------------------------------------------------------


def test_the_service_signs_exactly_the_draft_it_showed(world):
    terms = world.terms(lender="bank-b")
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=terms)
    shown = draft["consent"]
    again = {**terms, "nonce": shown["nonce"], "deadline": str(shown["deadline"])}
    assert world.ok("POST", "/v1/pledges/consents/draft", "acme", json=again)["typed_data"] == draft["typed_data"]
    signed = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": again})["consent"]
    assert signed["typed_data"] == draft["typed_data"] and signed["nonce"] == shown["nonce"]
    # without a nonce each signing picks a fresh one
    fresh = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": terms})["consent"]
    assert fresh["nonce"] != shown["nonce"]
    _refused(world.post("/v1/pledges/consents", "acme", json={"terms": {**terms, "nonce": str(2**256)}}), 422)
    _refused(world.post("/v1/pledges/consents/draft", "acme", json={**terms, "nonce": "-1"}), 422)


def test_self_signed_consent_then_issue(world):
    terms = world.terms(lender="bank-a")
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=terms)
    typed = draft["typed_data"]
    assert typed["primaryType"] == "PledgeConsent"
    assert typed["domain"]["chainId"] == CHAIN_ID and typed["domain"]["verifyingContract"] == world.registry
    assert typed["message"]["logId"] == world.log_id and typed["message"]["lender"] == world.addresses["bank-a"]
    assert typed["message"]["start"] == terms["from"] and typed["message"]["end"] == terms["to"]
    consent = draft["consent"]
    assert consent["signature"] is None and consent["factory"] == world.addresses["acme"]

    # another key's signature is refused
    wrong = Account.sign_typed_data(world.keyring.account("dev2", CHAIN_ID).key, full_message=typed)
    r = world.post("/v1/pledges/consents", "acme", json={"consent": {**consent, "signature": "0x" + wrong.signature.hex()}})
    _refused(r, 422, slug="invalid-signature")
    # so are terms changed after signing
    signed = Account.sign_typed_data(world.keyring.account("dev1", CHAIN_ID).key, full_message=typed)
    signature = "0x" + signed.signature.hex()
    changed = {**consent, "signature": signature, "terms": {**consent["terms"], "principal": "1"}}
    _refused(world.post("/v1/pledges/consents", "acme", json={"consent": changed}), 422, slug="invalid-signature")
    # garbage signatures are 422, not 5xx
    for sig in ("0x", "0x00", "0x" + "00" * 65, "zz", None):
        r = world.post("/v1/pledges/consents", "acme", json={"consent": {**consent, "signature": sig}})
        assert r.status_code == 422, (sig, r.text)

    out = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"consent": {**consent, "signature": signature}})
    consent_id = out["consent_id"]
    assert out["consent"]["signature"] == signature and out["consent"]["stream"] == "acme/line-a"
    listed = {c["consent_id"]: c for c in world.ok("GET", "/v1/pledges/consents", "bank-a")}
    assert consent_id in listed and listed[consent_id]["token_id"] is None
    assert consent_id not in {c["consent_id"] for c in world.ok("GET", "/v1/pledges/consents", "bank-b")}

    # only the lender it names may issue it
    _refused(world.post("/v1/pledges", "bank-b", json={"consent_id": consent_id}), 404)
    issued = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": consent_id})
    token = issued["token_id"]
    assert HEX32.fullmatch(issued["tx_hash"]) and issued["block_number"] > 0
    view = world.ok("GET", f"/v1/pledges/{token}", "bank-a")
    assert view["status"] == "live" and view["holder"] == world.addresses["bank-a"]
    assert view["factory"] == world.addresses["acme"]
    assert view["terms"]["principal"] == str(terms["principal"]) and view["terms"]["currency"] == "CNY"
    assert (view["from"], view["to"]) == (terms["from"], terms["to"])
    assert {c["consent_id"]: c for c in world.ok("GET", "/v1/pledges/consents", "acme")}[consent_id]["token_id"] == token
    # a consent issues one pledge: the contract's refusal, by name
    _refused(world.post("/v1/pledges", "bank-a", json={"consent_id": consent_id}), 409, error="PledgeConsentReplayed")


def test_self_signed_consent_with_a_lowercase_lender_reaches_the_lender(world):
    """Addresses are case-insensitive: a wallet may send the lender in lower case."""
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(lender="bank-b"))
    signed = Account.sign_typed_data(world.keyring.account("dev1", CHAIN_ID).key, full_message=draft["typed_data"])
    consent = {**draft["consent"], "signature": "0x" + signed.signature.hex()}
    consent["terms"] = {**consent["terms"], "lender": consent["terms"]["lender"].lower()}
    out = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"consent": consent})
    assert out["consent_id"] in {c["consent_id"] for c in world.ok("GET", "/v1/pledges/consents", "bank-b")}
    assert world.ok("POST", "/v1/pledges", "bank-b", 201, json={"consent_id": out["consent_id"]})["token_id"] > 0


def test_a_non_custodial_factory_signs_its_own(world):
    log_id = world.new_log("selfco", records=[{"id": f"s-{i}", "ts": "2026-01-01T00:00:00Z", "type": "t", "data": {}}
                                              for i in range(10)], anchor=True)
    terms = world.terms(lender="bank-a", rng=(0, 10), log_id=log_id)
    _refused(world.post("/v1/pledges/consents", "selfco", json={"terms": terms}), 409, slug="not-custodial")
    draft = world.ok("POST", "/v1/pledges/consents/draft", "selfco", json=terms)
    signed = Account.sign_typed_data(world.keyring.account("dev5", CHAIN_ID).key, full_message=draft["typed_data"])
    out = world.ok("POST", "/v1/pledges/consents", "selfco", 201,
                   json={"consent": {**draft["consent"], "signature": "0x" + signed.signature.hex()}})
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": out["consent_id"]})["token_id"]
    assert world.ok("GET", f"/v1/pledges/{token}", "selfco")["factory"] == world.addresses["selfco"]
    assert world.get(f"/v1/pledges/{token}", "acme").status_code == 404


def test_custodial_consent(world):
    terms = world.terms(lender="bank-a")
    out = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": terms})
    doc = out["consent"]
    assert doc["format"] == "dpl-consent/2" and re.fullmatch(r"0x[0-9a-f]{130}", doc["signature"])
    assert doc["factory"] == world.addresses["acme"] and doc["terms"]["lender"] == world.addresses["bank-a"]
    assert doc["terms"]["from"] == terms["from"] and doc["loan_ref"] == terms["loan_ref"]
    # the signature is acme's over the typed data the document carries
    from eth_account.messages import encode_typed_data

    signer = Account.recover_message(encode_typed_data(full_message=doc["typed_data"]), signature=doc["signature"])
    assert signer == world.addresses["acme"]
    for body in ({}, {"terms": terms, "consent": doc}, {"terms": {**terms, "lender": "bank-x"}},
                 {"terms": {**terms, "maturity": terms["lien_end"]}}, {"terms": {**terms, "currency": "cny1"}},
                 {"terms": {**terms, "max_lien_end": str(int(terms["lien_end"]) - 1)}},
                 {"terms": {**terms, "maturity": "soon"}}, {"terms": {**terms, "samples": 0}},
                 {"consent": {"format": "dpl-consent/2"}}, {"consent": {"format": "other"}}):
        r = world.post("/v1/pledges/consents", "acme", json=body)
        assert r.status_code in (404, 422), (body, r.text)


# --- the holder's moves ------------------------------------------------------------------------------


def test_issue_transfer_release(world):
    token = world.pledge("bank-a")
    # to a lender the registry has not approved: the contract's refusal, decoded
    _refused(world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "bank-c"}), 409,
             error="PledgeLenderNotApproved")
    _refused(world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "nobody"}), 404)
    _refused(world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "acme"}), 422)
    moved = world.ok("POST", f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "bank-b"})
    assert moved["token_id"] == token and HEX32.fullmatch(moved["tx_hash"])
    assert world.ok("GET", f"/v1/pledges/{token}", "bank-b")["holder"] == world.addresses["bank-b"]
    assert world.get(f"/v1/pledges/{token}", "bank-a").status_code == 404
    assert token in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "bank-b")]
    assert token not in [p["token_id"] for p in world.ok("GET", "/v1/pledges", "bank-a")]
    # the former holder can no longer act
    _refused(world.post(f"/v1/pledges/{token}/release", "bank-a"), 404)
    released = world.ok("POST", f"/v1/pledges/{token}/release", "bank-b")
    assert HEX32.fullmatch(released["tx_hash"])
    view = world.ok("GET", f"/v1/pledges/{token}", "aud")
    assert view["status"] == "released" and view["holder"] is None
    listed = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "aud")}
    assert listed[token]["status"] == "released"
    row, chain_view = listed[token], world.ok("GET", f"/v1/pledges/{token}", "aud")
    assert row["stream"] == "acme/line-a" and row["log_id"] == world.log_id
    for key in ("checkpoint_size", "samples", "asset_digest", "loan_ref_digest"):
        assert row[key] == chain_view["terms"][key], key
    # nobody holds it now
    _refused(world.post(f"/v1/pledges/{token}/release", "bank-b"), 404)


def test_default_needs_maturity_and_extend_needs_a_later_end(world):
    now = world.chain_time()
    token = world.pledge("bank-a", maturity=now + 300, lien_end=now + 400 * 86400)
    view = world.ok("GET", f"/v1/pledges/{token}", "bank-a")
    lien_end = view["terms"]["lien_end"]
    _refused(world.post(f"/v1/pledges/{token}/default", "bank-a"), 409, error="PledgeNotMatured")
    _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": str(lien_end - 1)}), 409,
             error="PledgeInvalidLienEnd")
    _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": "someday"}), 422)
    extended = world.ok("POST", f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": str(lien_end + 86400)})
    assert HEX32.fullmatch(extended["tx_hash"])
    assert world.ok("GET", f"/v1/pledges/{token}", "bank-a")["terms"]["lien_end"] == lien_end + 86400
    listed = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "bank-a")}
    assert listed[token]["lien_end"] == lien_end + 86400  # the mirror followed

    bound = view["terms"]["max_lien_end"]
    assert bound == lien_end + 600 * 86400
    _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": str(bound + 1)}), 409,
             error="PledgeExtensionNotConsented")
    assert world.ok("GET", f"/v1/pledges/{token}", "bank-a")["terms"]["lien_end"] == lien_end + 86400

    world.travel(600)  # past maturity
    world.ok("POST", f"/v1/pledges/{token}/default", "bank-a")
    view = world.ok("GET", f"/v1/pledges/{token}", "acme")
    assert view["status"] == "defaulted" and view["holder"] == world.addresses["bank-a"]
    assert {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "acme")}[token]["status"] == "defaulted"
    _refused(world.post(f"/v1/pledges/{token}/default", "bank-a"), 409, error="PledgeWrongStatus")
    _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": str(lien_end + 2 * 86400)}),
             409, error="PledgeWrongStatus")


def test_overlapping_ranges_are_refused_by_the_contract(world):
    rng = world.next_range()
    world.pledge("bank-a", rng=rng)
    consent_id = world.consent("acme", lender="bank-b", rng=(rng[0] + 1, rng[1] + 1))
    _refused(world.post("/v1/pledges", "bank-b", json={"consent_id": consent_id}), 409, error="PledgeRangeOverlaps")


def test_pledge_lists_per_role(world):
    token = world.pledge("bank-b")
    for who, sees in (("bank-b", True), ("bank-a", False), ("acme", True), ("globex", False), ("aud", True)):
        listed = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", who)}
        assert (token in listed) is sees, who
        if sees:
            p = listed[token]
            assert p["status"] == "live" and p["holder"] == world.addresses["bank-b"]
            assert p["log_id"] == world.log_id and p["factory"] == world.addresses["acme"]
            assert p["currency"] == "CNY" and int(p["principal"]) == 1_250_000
    lender_view = world.ok("GET", "/v1/pledges", "bank-b")
    assert all(p["holder"] == world.addresses["bank-b"] for p in lender_view)
    assert all(p["factory"] == world.addresses["acme"] for p in world.ok("GET", "/v1/pledges", "acme"))
    assert world.get("/v1/pledges", "admin").status_code == 403


@pytest.mark.parametrize("token", ["-1", str(2**256), str(2**64), "abc", "1.5"])
def test_bad_token_ids_are_4xx(world, token):
    for method, suffix in (("GET", ""), ("GET", "/bundle"), ("POST", "/release")):
        r = world.call(method, f"/v1/pledges/{token}{suffix}", "bank-a")
        assert 400 <= r.status_code < 500, (method, suffix, r.text)


def test_issue_refusals(world):
    _refused(world.post("/v1/pledges", "bank-a", json={"consent_id": 10**9}), 404)
    for body in ({}, {"consent_id": "x"}, {"consent_id": None}):
        assert world.post("/v1/pledges", "bank-a", json=body).status_code == 422
    r = world.post("/v1/pledges", "bank-a", json={"consent_id": 2**70})
    assert 400 <= r.status_code < 500, r.text


# --- collateral bundles --------------------------------------------------------------------------------


def test_collateral_bundle_verifies_against_the_chain(world):
    token = world.pledge("bank-a", samples=6)
    bundle = world.ok("GET", f"/v1/pledges/{token}/bundle", "bank-a")
    assert bundle["token_id"] == token and len(bundle["entries"]) == 6
    report = verify_against_chain(bundle, token, world.rpc_url, world.home)
    assert report.sound, [c for c in report.checks if not c.ok]
    assert world.ok("GET", f"/v1/pledges/{token}/bundle", "acme") == bundle  # the factory gets the same
    # the registry in lower case is the same registry; another address is not
    assert verify_against_chain({**bundle, "registry": bundle["registry"].lower()}, token, world.rpc_url,
                                world.home).sound
    other = verify_against_chain({**bundle, "registry": "0x" + "12" * 20}, token, world.rpc_url, world.home)
    assert [c.name for c in other.checks if not c.ok] == ["bundle names this pledge"]
    # the check can fail: a changed record is caught
    bundle["entries"][0]["record"]["data"] = {"forged": True}
    assert not verify_against_chain(bundle, token, world.rpc_url, world.home).sound
    # after release the pledge holds no lien: the same bundle is no longer sound
    fresh = world.ok("GET", f"/v1/pledges/{token}/bundle", "bank-a")
    world.ok("POST", f"/v1/pledges/{token}/release", "bank-a")
    assert not verify_against_chain(fresh, token, world.rpc_url, world.home).sound


def test_a_lender_without_custody_gets_the_transaction_to_send_itself(world):
    """No key in the service: issue (and moves) answer 409 with the exact transaction; the
    lender signs and sends it from its own wallet, and the service's mirror sees the pledge."""
    name = f"wallet-bank-{world.backend}"
    dev7 = world.keyring.account("dev7", CHAIN_ID)
    world.app_parties().create(name, "lender", dev7.address, None)  # no key in the service
    world.keys[name] = world.app_parties().new_key(name)
    world.ok("POST", "/v1/lenders", "admin", 201, json={"address": dev7.address})
    consent_id = world.consent(lender=dev7.address)
    refused = _refused(world.post("/v1/pledges", name, json={"consent_id": consent_id}), 409, slug="not-custodial")
    tx = refused["transaction"]
    assert tx["to"] == world.registry and tx["from"] == dev7.address and tx["chainId"] == CHAIN_ID
    assert tx["data"].startswith("0x") and len(tx["data"]) > 10

    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    signed = dev7.sign_transaction({"to": tx["to"], "data": tx["data"], "chainId": tx["chainId"], "gas": 1_000_000,
                                    "nonce": w3.eth.get_transaction_count(dev7.address),
                                    "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt.status == 1
    held = world.ok("GET", "/v1/pledges", name)
    assert len(held) == 1 and held[0]["holder"] == dev7.address and held[0]["status"] == "live"
    moved = _refused(world.post(f"/v1/pledges/{held[0]['token_id']}/release", name), 409, slug="not-custodial")
    assert moved["transaction"]["from"] == dev7.address and moved["transaction"]["to"] == world.registry


def test_lists_name_the_counterparties(world):
    token = world.pledge("bank-a")
    row = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "acme")}[token]
    assert (row["holder_party"], row["factory_party"]) == ("bank-a", "acme")
    consents = world.ok("GET", "/v1/pledges/consents", "acme")
    mine = [c for c in consents if c["token_id"] == token]
    assert [c["lender_party"] for c in mine] == ["bank-a"]
