"""Assets, consents (custodial and self-signed), pledges and their collateral bundles over
HTTP, against the registry on a real anvil."""

from __future__ import annotations

import json
import re

import pytest
from eth_account import Account

from ledger.pledge.collateral_chain import verify_against_chain
from tests.api.conftest import CHAIN_ID, record

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
    assert typed["message"]["start"] == str(terms["from"]) and typed["message"]["end"] == str(terms["to"])
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


def test_a_node_error_answer_is_a_problem_not_a_500(world):
    """A custodial lender whose key holds 1 wei: the node answers the transfer's simulation with
    a JSON-RPC error ("insufficient funds"). The answer is a 502 chain-error problem naming the
    node's message, nothing is sent (was: 500, an unmapped Web3RPCError)."""
    token = world.pledge("bank-a")
    lender = world.addresses["bank-a"]
    balance = world.rpc("eth_getBalance", lender, "latest")
    nonce = world.rpc("eth_getTransactionCount", lender, "pending")
    world.rpc("anvil_setBalance", lender, "0x1")
    try:
        r = world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "bank-b"})
        body = _refused(r, 502, slug="chain-error")
        assert "answered with an error" in body["detail"] and "insufficient funds" in body["detail"].lower(), body
        assert world.rpc("eth_getTransactionCount", lender, "pending") == nonce  # nothing sent
    finally:
        world.rpc("anvil_setBalance", lender, balance)
    assert world.ok("GET", f"/v1/pledges/{token}", "bank-a")["holder"] == lender
    moved = world.ok("POST", f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "bank-b"})
    assert moved["token_id"] == token


def test_issue_transfer_release(world):
    token = world.pledge("bank-a")
    # to a lender the registry has not approved: the contract's refusal, decoded
    _refused(world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "bank-c"}), 409,
             error="PledgeLenderNotApproved")
    _refused(world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "nobody"}), 422)
    _refused(world.post(f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "acme"}), 422)
    moved = world.ok("POST", f"/v1/pledges/{token}/transfer", "bank-a", json={"to": "bank-b"})
    assert moved["token_id"] == token and HEX32.fullmatch(moved["tx_hash"])
    assert world.ok("GET", f"/v1/pledges/{token}", "bank-b")["holder"] == world.addresses["bank-b"]
    assert world.get(f"/v1/pledges/{token}", "bank-a").status_code == 404
    held_by_b = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "bank-b")}[token]
    assert held_by_b["held"] is True and held_by_b["ended"] is None and held_by_b["holder"] == world.addresses["bank-b"]
    # the former holder still lists it, marked as no longer held: to whom, in which block and tx
    before = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "bank-a")}[token]
    block = int(world.rpc("eth_getTransactionReceipt", moved["tx_hash"])["blockNumber"], 16)
    assert (before["held"], before["ended"], before["ended_to"], before["ended_to_party"], before["ended_tx"],
            before["ended_block"]) == (False, "transferred", world.addresses["bank-b"], "bank-b", moved["tx_hash"], block)
    assert before["stream"] == "acme/line-a" and before["status"] == "live"
    # the former holder can no longer act
    _refused(world.post(f"/v1/pledges/{token}/release", "bank-a"), 404)
    released = world.ok("POST", f"/v1/pledges/{token}/release", "bank-b")
    assert HEX32.fullmatch(released["tx_hash"])
    view = world.ok("GET", f"/v1/pledges/{token}", "aud")
    assert view["status"] == "released" and view["holder"] is None
    after = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "bank-b")}[token]
    assert (after["held"], after["ended"], after["ended_to"], after["ended_tx"], after["status"]) == (
        False, "released", None, released["tx_hash"], "released")
    # bank-a's holding ended by its transfer, whatever happened after
    assert {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "bank-a")}[token]["ended"] == "transferred"
    listed = {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "aud")}
    assert listed[token]["status"] == "released" and listed[token]["held"] is None
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
    block = int(world.rpc("eth_blockNumber"), 16)
    past = _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": str(bound + 1)}), 409,
                    slug="conflict")
    assert "past" in past["detail"] and "needs the factory's signed extension" in past["detail"]
    assert int(world.rpc("eth_blockNumber"), 16) == block, "refused before anything was sent"
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
    # those it holds, and (held: false) those it held before and transferred or released
    assert all(p["holder"] == world.addresses["bank-b"] for p in lender_view if p["held"])
    assert all(p["holder"] != world.addresses["bank-b"] and p["ended"] in ("transferred", "released")
               for p in lender_view if not p["held"])
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


# --- issue 11: what is refused before signing, what is kept, the factory-bounded lien ------------------


def _sign(world, dev: str, typed: dict) -> str:
    return "0x" + Account.sign_typed_data(world.keyring.account(dev, CHAIN_ID).key, full_message=typed).signature.hex()


def _no_transaction(world, block: int) -> None:
    assert int(world.rpc("eth_blockNumber"), 16) == block, "something was sent"


def test_lender_fields_give_one_answer_whoever_the_party_is(world):
    """Before: an unknown name was a 404 and a known non-lender a 422, so the field told a caller
    which party names exist. Now one status and one wording, on every route that takes a lender."""
    name = f"nowhere-{world.backend}"
    world.app_parties().create(name, "lender", None, None)  # a lender party without an address
    token = world.pledge("bank-a")
    answers = set()
    for who in ("nobody-at-all", "acme", "aud", "admin", name):
        for method, path, body, caller in (
                ("POST", f"/v1/pledges/{token}/transfer", {"to": who}, "bank-a"),
                ("POST", "/v1/pledges/consents/draft", world.terms(lender=who, rng=(0, 10)), "acme"),
                ("POST", "/v1/lenders", {"address": who}, "admin")):
            r = world.call(method, path, caller, json=body)
            body_ = _refused(r, 422, slug="invalid-argument")
            answers.add(body_["detail"].replace(repr(who), "NAME"))
    assert answers == {"NAME is not a lender party (nor an address): give a lender's party name or its 0x address"}


def test_terms_the_registry_would_refuse_are_refused_before_signing(world):
    """Before: the service signed (and kept) consents no lender could ever issue: a passed
    deadline, maturity or lien end, a lender that is not approved or is the zero address, a log
    whose factory on chain is not the signer. Each is now a 422 naming the field, on the draft,
    the custodial signing and a self-signed consent alike, and nothing is kept."""
    now = world.chain_time()
    before = len(world.ok("GET", "/v1/pledges/consents", "acme"))
    cases = [
        ({"deadline": str(now - 1)}, "deadline: .* has passed"),
        ({"maturity": str(now - 10)}, "maturity: .* has passed"),
        ({"maturity": str(now - 20), "lien_end": str(now - 10), "max_lien_end": str(now - 10)}, "maturity: .* has passed"),
        ({"lender": "0x" + "00" * 20}, "lender: the zero address"),
        ({"lender": "bank-c"}, f"lender {world.addresses['bank-c']} is not an approved lender"),
    ]
    import re as re_
    for change, words in cases:
        terms = {**world.terms(rng=(0, 10)), **change}
        for path, body in (("/v1/pledges/consents/draft", terms), ("/v1/pledges/consents", {"terms": terms})):
            detail = _refused(world.post(path, "acme", json=body), 422, slug="invalid-argument")["detail"]
            assert re_.search(words, detail), (change, detail)
    # a self-signed consent with a deadline that passed while it travelled
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme",
                     json={**world.terms(rng=(0, 10)), "deadline": str(now + 5)})
    world.travel(10)
    late = {**draft["consent"], "signature": _sign(world, "dev1", draft["typed_data"])}
    detail = _refused(world.post("/v1/pledges/consents", "acme", json={"consent": late}), 422)["detail"]
    assert "deadline" in detail and "has passed" in detail
    assert len(world.ok("GET", "/v1/pledges/consents", "acme")) == before, "nothing was kept"


def test_a_self_signed_consent_the_registry_would_refuse_at_issue_is_not_kept(world):
    """Before: a consent signed by the factory's wallet with a maturity at or after its lien end,
    or with 20,000 samples, was accepted and stored (the registry then refused it at issue,
    `PledgeInvalidTerms`); the custodial path capped samples at 10,000 and the CLI at 2^32 − 1.
    Now `check_consent` refuses for every path what `_checkTerms` refuses, and samples above
    `MAX_SAMPLES` (10,000: each is disclosed), naming the field; nothing is kept."""
    from ledger.limits import MAX_SAMPLES

    before = len(world.ok("GET", "/v1/pledges/consents", "acme"))
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(rng=(0, 10)))
    consent, typed = draft["consent"], draft["typed_data"]
    lien_end = consent["terms"]["lien_end"]
    cases = [({"maturity": lien_end}, "maturity: .* must be before the lien end"),
             ({"maturity": lien_end + 86400}, "maturity: .* must be before the lien end"),
             ({"samples": MAX_SAMPLES + 1}, "samples: must be from 1 to 10,000"),
             ({"samples": 2**32 - 1}, "samples: must be from 1 to 10,000")]
    import re as re_

    for change, words in cases:
        message = {**typed["message"], **{k: str(v) for k, v in change.items()}}
        changed_typed = {**typed, "message": message}
        signed = {**consent, "terms": {**consent["terms"], **change},
                  "signature": _sign(world, "dev1", changed_typed)}
        detail = _refused(world.post("/v1/pledges/consents", "acme", json={"consent": signed}), 422,
                          slug="invalid-argument")["detail"]
        assert re_.search(words, detail), (change, detail)
    # the custodial path and the draft: the same bound, from the same constant
    for path, body in (("/v1/pledges/consents/draft", {**world.terms(rng=(0, 10)), "samples": MAX_SAMPLES + 1}),
                       ("/v1/pledges/consents", {"terms": {**world.terms(rng=(0, 10)), "samples": MAX_SAMPLES + 1}})):
        assert world.post(path, "acme", json=body).status_code == 422
    assert world.ok("POST", "/v1/pledges/consents/draft", "acme",
                    json={**world.terms(rng=(0, 10)), "samples": MAX_SAMPLES})["consent"]["terms"]["samples"] == MAX_SAMPLES
    assert len(world.ok("GET", "/v1/pledges/consents", "acme")) == before, "nothing was kept"


def test_a_log_whose_factory_on_chain_is_not_the_signer_is_refused(world):
    """The API checked only its own table of log owners; the registry's factoryOf is what issue
    checks the signature against. A log bound on chain to acme's address but owned (here, by a
    changed database row) by globex: globex's consent is refused before signing."""
    log_id = world.new_log("acme", records=[record(f"fo-{i}") for i in range(5)], anchor=True)
    svc = world.client.app.state.services
    info = next(i for i in svc.store.list_logs() if i.log_id and "0x" + i.log_id.hex() == log_id)
    globex = svc.parties.get("globex")
    from sqlalchemy import text

    with svc.store.engine.begin() as conn:
        conn.execute(text("UPDATE log_owners SET party_id = :p WHERE log_pk = :l"), {"p": globex.id, "l": info.pk})
    terms = world.terms(rng=(0, 5), log_id=log_id)
    for path, body in (("/v1/pledges/consents/draft", terms), ("/v1/pledges/consents", {"terms": terms})):
        detail = _refused(world.post(path, "globex", json=body), 422)["detail"]
        assert f"belongs to factory {world.addresses['acme']} on chain, not to the signer {world.addresses['globex']}" \
            in detail


def test_a_self_signed_consent_keeps_only_what_the_signature_covers(world):
    """Before: the service stored the document it was sent, display fields and all, so a lender
    was shown a factory, stream, manifest and loan reference nobody signed. Now the kept
    document is rebuilt from the verified terms, nonce, deadline and signature, the caller's
    address, the log found by its id and the manifest rebuilt from the store."""
    terms = world.terms(lender="bank-a")
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=terms)
    honest = {**draft["consent"], "signature": _sign(world, "dev1", draft["typed_data"])}
    forged = {**honest, "factory": world.addresses["globex"], "stream": "globex/secret-line",
              "manifest": {"records": 10**9, "note": "forged"}, "deadline_utc": "never",
              "typed_data": {"primaryType": "Nothing"}, "extra": "field",
              "terms": {**honest["terms"], "maturity_utc": "3000-01-01T00:00:00Z", "lender": terms["lender"]}}
    forged["terms"]["lender"] = world.addresses["bank-a"].lower()
    # a loan reference the factory did not sign is refused, naming the field
    detail = _refused(world.post("/v1/pledges/consents", "acme", json={"consent": {**forged, "loan_ref": "LOAN-OTHER"}}),
                      422)["detail"]
    assert detail.startswith("loan_ref: its SHA-256 is not the loan_ref_digest the factory signed")
    kept = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"consent": forged})["consent"]
    assert kept["factory"] == world.addresses["acme"] and kept["stream"] == "acme/line-a"
    assert kept["manifest"] == world.ok("POST", "/v1/assets", "acme", json={
        "log_id": world.log_id, "from": terms["from"], "to": terms["to"]})["manifest"]
    assert kept["typed_data"] == draft["typed_data"] and kept["loan_ref"] == terms["loan_ref"]
    assert kept["terms"]["maturity_utc"] != "3000-01-01T00:00:00Z" and kept["deadline_utc"] != "never"
    assert "extra" not in kept and kept["terms"]["lender"] == world.addresses["bank-a"]
    listed = {c["consent_id"]: c["consent"] for c in world.ok("GET", "/v1/pledges/consents", "bank-a")}
    assert kept in listed.values()
    # without a loan reference: none is kept (none is invented)
    draft2 = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(lender="bank-b"))
    bare = {**draft2["consent"], "signature": _sign(world, "dev1", draft2["typed_data"])}
    del bare["loan_ref"]
    assert world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"consent": bare})["consent"]["loan_ref"] is None


def test_a_consent_whose_asset_digest_is_not_the_records_is_refused(world):
    """The manifest kept is rebuilt from the store; terms signed over another digest are refused."""
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(lender="bank-a"))
    typed = json.loads(json.dumps(draft["typed_data"]))
    typed["message"]["assetDigest"] = "0x" + "ee" * 32
    consent = {**draft["consent"], "signature": _sign(world, "dev1", typed),
               "terms": {**draft["consent"]["terms"], "asset_digest": "0x" + "ee" * 32}}
    detail = _refused(world.post("/v1/pledges/consents", "acme", json={"consent": consent}), 422)["detail"]
    assert detail.startswith("asset_digest: the consent signs 0x" + "ee" * 32)


@pytest.mark.parametrize("changes", [{"nonce": str(2**256)}, {"nonce": str(10**100)}, {"nonce": -1}])
def test_a_self_signed_consent_with_a_nonce_out_of_uint256_is_422(world, changes):
    """Before: a 500 (the typed data was encoded outside the signature check's try)."""
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(rng=(0, 10)))
    consent = {**draft["consent"], "signature": "0x" + "00" * 65, **changes}
    detail = _refused(world.post("/v1/pledges/consents", "acme", json={"consent": consent}), 422)["detail"]
    assert detail.startswith("nonce is out of range")


@pytest.mark.parametrize("deadline, words", [(2**70, "deadline: 1180591620717411303424 is not a moment from 1970"),
                                             (-1, "deadline is out of range")])
def test_a_self_signed_consent_with_a_deadline_out_of_range_is_refused(world, deadline, words):
    """Before: signed over a deadline of 2^70 (the registry takes any uint256) it was kept and
    shown; a deadline of -1 was a 500. Deadlines, like every date, are 1970..9999-12-31 where
    they enter."""
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(rng=(0, 10)))
    typed = json.loads(json.dumps(draft["typed_data"]))
    typed["message"]["deadline"] = str(max(deadline, 0))
    consent = {**draft["consent"], "deadline": deadline, "signature": _sign(world, "dev1", typed)}
    detail = _refused(world.post("/v1/pledges/consents", "acme", json={"consent": consent}), 422)["detail"]
    assert detail.startswith(words), detail


@pytest.mark.parametrize("changes", [{"chain_id": 2**300}, {"terms": "x"}, {"signature": "0x" + "11" * 3000},
                                     {"terms": {"log_id": 5}}])
def test_other_malformed_self_signed_consents_stay_422(world, changes):
    """Guards (these were 4xx before too): no shape of the document reaches a 500."""
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme", json=world.terms(rng=(0, 10)))
    consent = {**draft["consent"], "signature": "0x" + "00" * 65, **changes}
    _refused(world.post("/v1/pledges/consents", "acme", json={"consent": consent}), 422)


@pytest.mark.parametrize("lien_end", [str(2**64), str(2**256), "9" * 5000, "1969-12-31", "10000-01-01", "-5"])
def test_out_of_range_lien_ends_are_422(world, lien_end):
    token = world.pledge("bank-a")
    r = world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": lien_end})
    _refused(r, 422, slug="invalid-argument")
    for field in ("lien_end", "deadline", "maturity", "max_lien_end"):
        r = world.post("/v1/pledges/consents/draft", "acme", json={**world.terms(rng=(0, 10)), field: lien_end})
        _refused(r, 422)
    r = world.post(f"/v1/pledges/{token}/extensions/draft", "acme", json={"lien_end": lien_end})
    _refused(r, 422)


def test_typed_data_integers_above_2_53_sign_the_same_in_python_and_in_anvil(world):
    """Every integer of the typed data is a decimal string (a JSON number above 2^53 reads as
    another value in a browser, ethers or a wallet; anvil refuses one). eth-account and anvil's
    eth_signTypedData_v4 (what the browser wallet in the UI tests forwards to) sign the same
    document identically, and the registry accepts the consent so signed."""
    nonce = 2**53 + 1
    draft = world.ok("POST", "/v1/pledges/consents/draft", "acme",
                     json={**world.terms(lender="bank-a"), "nonce": str(nonce)})
    typed = draft["typed_data"]
    ints = [f["name"] for f in typed["types"]["PledgeConsent"] if f["type"].startswith("uint")]
    assert all(isinstance(typed["message"][n], str) for n in ints), typed["message"]
    assert typed["message"]["nonce"] == "9007199254740993"
    by_anvil = world.rpc("eth_signTypedData_v4", world.addresses["acme"], json.dumps(typed))
    assert by_anvil == _sign(world, "dev1", typed)
    as_numbers = {**typed, "message": {k: int(v) if k in ints else v for k, v in typed["message"].items()}}
    assert _sign(world, "dev1", as_numbers) == by_anvil  # the same integers to eth-account
    out = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"consent": {**draft["consent"], "signature": by_anvil}})
    assert out["consent"]["nonce"] == str(nonce)
    assert world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": out["consent_id"]})["token_id"] > 0
    # the checkpoint documents too
    name, log_id = f"td-{world.backend}", None
    world.app_parties().create(name, "factory", world.keyring.info("dev8").address, None)
    world.keys[name] = world.app_parties().new_key(name)
    log_id = world.ok("POST", "/v1/logs", name, 201, json={"stream": "line"})["log_id"]
    world.ok("POST", f"/v1/logs/{log_id}/records", name, json=[record("td-1")])
    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", name)
    todo = world.ok("GET", f"/v1/logs/{log_id}/checkpoints/to-sign", name)
    assert todo["checkpoint"]["message"]["size"] == "1"
    assert world.rpc("eth_signTypedData_v4", todo["factory"], json.dumps(todo["checkpoint"])) == \
        _sign(world, "dev8", todo["checkpoint"])


def test_the_lien_moves_past_the_max_lien_end_only_with_the_factorys_extension(world):
    now = world.chain_time()
    lien_end = now + 400 * 86400
    token = world.pledge("bank-a", lien_end=lien_end, max_lien_end=lien_end)
    target = lien_end + 90 * 86400
    block = int(world.rpc("eth_blockNumber"), 16)
    past = _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"lien_end": str(target)}), 409)
    assert "needs the factory's signed extension" in past["detail"]
    _no_transaction(world, block)

    # the factory's draft: exactly what will be signed
    draft = world.ok("POST", f"/v1/pledges/{token}/extensions/draft", "acme", json={"lien_end": str(target)})
    typed, doc = draft["typed_data"], draft["extension"]
    assert typed["primaryType"] == "PledgeExtension" and typed["domain"]["verifyingContract"] == world.registry
    assert typed["message"]["tokenId"] == str(token) and typed["message"]["newLienEnd"] == str(target)
    assert doc["format"] == "dpl-extension/1" and doc["signature"] is None and doc["factory"] == world.addresses["acme"]
    assert doc["deadline"] == int(typed["message"]["deadline"]) > now
    # only the pledge's factory; nothing that the registry would refuse
    _refused(world.post(f"/v1/pledges/{token}/extensions/draft", "globex", json={"lien_end": str(target)}), 404)
    assert world.post(f"/v1/pledges/{token}/extensions/draft", "bank-a", json={"lien_end": str(target)}).status_code == 403
    detail = _refused(world.post(f"/v1/pledges/{token}/extensions", "acme", json={"terms": {"lien_end": str(lien_end)}}),
                      422)["detail"]
    assert detail.startswith("lien_end: ") and "is not after the pledge's lien end" in detail
    detail = _refused(world.post(f"/v1/pledges/{token}/extensions", "acme", json={
        "terms": {"lien_end": str(target), "deadline": str(now - 1)}}), 422)["detail"]
    assert detail.startswith("deadline: ") and "has passed" in detail

    # custodial: the service signs the draft's nonce and deadline
    signed = world.ok("POST", f"/v1/pledges/{token}/extensions", "acme", 201, json={"terms": {
        "lien_end": str(target), "deadline": str(doc["deadline"]), "nonce": doc["nonce"]}})
    ext = signed["extension"]
    assert ext["typed_data"] == typed and ext["nonce"] == doc["nonce"]
    from eth_account.messages import encode_typed_data

    assert Account.recover_message(encode_typed_data(full_message=typed), signature=ext["signature"]) == \
        world.addresses["acme"]
    again = world.ok("POST", f"/v1/pledges/{token}/extensions", "acme", 201, json={"terms": {
        "lien_end": str(target), "deadline": str(doc["deadline"]), "nonce": doc["nonce"]}})
    assert again["extension_id"] == signed["extension_id"], "a retry keeps one extension"

    # listed for the factory and for the holder, not for another lender
    def listed(who):
        return {e["extension_id"]: e for e in world.ok("GET", "/v1/pledges/extensions", who)}
    assert signed["extension_id"] in listed("acme") and signed["extension_id"] in listed("bank-a")
    assert signed["extension_id"] not in listed("bank-b") and signed["extension_id"] not in listed("globex")
    assert listed("bank-a")[signed["extension_id"]]["used"] is False

    # the holder uses it by id; another pledge's extension id is not this pledge's
    other = world.pledge("bank-a")
    _refused(world.post(f"/v1/pledges/{other}/extend", "bank-a", json={"extension_id": signed["extension_id"]}), 404)
    detail = _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={
        "extension_id": signed["extension_id"], "lien_end": str(target - 1)}), 422)["detail"]
    assert "the factory's extension moves the lien end to" in detail
    moved = world.ok("POST", f"/v1/pledges/{token}/extend", "bank-a", json={"extension_id": signed["extension_id"]})
    assert HEX32.fullmatch(moved["tx_hash"])
    view = world.ok("GET", f"/v1/pledges/{token}", "bank-a")["terms"]
    assert view["lien_end"] == target and view["max_lien_end"] == target
    assert {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "bank-a")}[token]["max_lien_end"] == target
    assert listed("bank-a")[signed["extension_id"]]["used"] is True
    block = int(world.rpc("eth_blockNumber"), 16)
    detail = _refused(world.post(f"/v1/pledges/{token}/extend", "bank-a", json={"extension": ext}), 409)["detail"]
    assert "used already" in detail
    _no_transaction(world, block)


def test_a_wallet_factory_signs_an_extension_and_a_wallet_lender_gets_the_transaction(world):
    """selfco signs with its own key (here: anvil's eth_signTypedData_v4, as the UI's wallet
    does); the document kept is rebuilt from the signed fields; a lender without custody gets
    the extendWithConsent transaction to send."""
    log_id = world.new_log("selfco", records=[record(f"x-{i}") for i in range(10)], anchor=True)
    terms = world.terms(lender="bank-a", rng=(0, 10), log_id=log_id)
    terms["max_lien_end"] = terms["lien_end"]
    draft = world.ok("POST", "/v1/pledges/consents/draft", "selfco", json=terms)
    consent = world.ok("POST", "/v1/pledges/consents", "selfco", 201,
                       json={"consent": {**draft["consent"], "signature": _sign(world, "dev5", draft["typed_data"])}})
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": consent["consent_id"]})["token_id"]
    target = int(terms["lien_end"]) + 30 * 86400

    _refused(world.post(f"/v1/pledges/{token}/extensions", "selfco", json={"terms": {"lien_end": str(target)}}), 409,
             slug="not-custodial")
    draft = world.ok("POST", f"/v1/pledges/{token}/extensions/draft", "selfco", json={"lien_end": str(target)})
    by_wallet = world.rpc("eth_signTypedData_v4", world.addresses["selfco"], json.dumps(draft["typed_data"]))
    assert by_wallet == _sign(world, "dev5", draft["typed_data"])
    wrong = {**draft["extension"], "signature": _sign(world, "dev2", draft["typed_data"])}
    _refused(world.post(f"/v1/pledges/{token}/extensions", "selfco", json={"extension": wrong}), 422,
             slug="invalid-signature")
    forged = {**draft["extension"], "signature": by_wallet, "factory": world.addresses["acme"],
              "lien_end_utc": "forever", "typed_data": {}, "note": "forged"}
    _refused(world.post(f"/v1/pledges/{token + 1000}/extensions", "selfco", json={"extension": forged}), 422)
    kept = world.ok("POST", f"/v1/pledges/{token}/extensions", "selfco", 201, json={"extension": forged})["extension"]
    assert kept["factory"] == world.addresses["selfco"] and kept["typed_data"] == draft["typed_data"]
    assert kept["lien_end_utc"] != "forever" and "note" not in kept and kept["signature"] == by_wallet.lower()

    # the pledge moves to a lender whose key the service does not hold: it gets the transaction
    name = f"wallet-ext-{world.backend}"
    dev9 = world.keyring.account("dev9", CHAIN_ID)
    world.app_parties().create(name, "lender", dev9.address, None)
    world.keys[name] = world.app_parties().new_key(name)
    world.ok("POST", "/v1/lenders", "admin", 201, json={"address": dev9.address})
    world.ok("POST", f"/v1/pledges/{token}/transfer", "bank-a", json={"to": name})
    [listed] = [e for e in world.ok("GET", "/v1/pledges/extensions", name) if e["token_id"] == token]
    refused = _refused(world.post(f"/v1/pledges/{token}/extend", name, json={"extension_id": listed["extension_id"]}),
                       409, slug="not-custodial")
    tx = refused["transaction"]
    from web3 import Web3

    from ledger.chain.client import Chain

    assert tx["to"] == world.registry and tx["from"] == dev9.address
    fn, args = Chain(world.rpc_url, world.registry).registry.decode_function_input(tx["data"])
    assert fn.fn_name == "extendWithConsent" and args["tokenId"] == token and args["newLienEnd"] == target
    w3 = Web3(Web3.HTTPProvider(world.rpc_url))
    signed = dev9.sign_transaction({"to": tx["to"], "data": tx["data"], "chainId": tx["chainId"], "gas": 500_000,
                                    "nonce": w3.eth.get_transaction_count(dev9.address),
                                    "maxFeePerGas": 10**10, "maxPriorityFeePerGas": 10**9})
    assert w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction)).status == 1
    assert world.ok("GET", f"/v1/pledges/{token}", name)["terms"]["lien_end"] == target
    [mirrored] = [p for p in world.ok("GET", "/v1/pledges", name) if p["token_id"] == token]  # the mirror follows
    assert (mirrored["lien_end"], mirrored["max_lien_end"]) == (target, target)


# --- issue 12: one home for the pledge use cases (ledger/pledge/service.py) ---------------------------


def _dpl(world, *args: str):
    """``dpl`` in this process, on the world's home, node and database (what an operator of the
    service would run beside it)."""
    from typer.testing import CliRunner

    from ledger.cli.app import app

    settings = world.client.app.state.services.settings
    env = {"DPL_HOME": str(world.home), "DPL_RPC_URL": world.rpc_url, "DATABASE_URL": settings.database_url,
           "DPL_DATABASE_URL": None}
    return CliRunner().invoke(app, list(args), env=env)


def _consent_args(terms: dict, out: str, **flags: str) -> list[str]:
    args = ["pledge", "consent", "--log", "acme/line-a", "--from", str(terms["from"]), "--to", str(terms["to"]),
            "--lender", terms["lender"], "--principal", str(terms["principal"]), "--currency", terms["currency"],
            "--maturity", terms["maturity"], "--lien-end", terms["lien_end"], "--max-lien-end", terms["max_lien_end"],
            "--samples", str(terms["samples"]), "--loan-ref", terms["loan_ref"], "--key", "dev1", "--out", out]
    for flag, value in flags.items():
        args += ["--" + flag.replace("_", "-"), value]
    return args


def test_a_custodial_consent_is_the_same_document_from_the_cli_and_the_api(world, tmp_path):
    """Before: ``dpl pledge consent`` always signed a fresh random nonce, so it could not sign the
    terms a draft showed. Now both edges call ``Pledges.sign_consent``: the same terms, nonce and
    deadline give the same document, byte for byte."""
    from ledger.canonical import canonicalize

    terms = world.terms(lender=world.addresses["bank-a"], rng=(0, 10))
    nonce, deadline = str(2**200 + 7), str(world.chain_time() + 3 * 86400)
    api_doc = world.ok("POST", "/v1/pledges/consents", "acme", 201,
                       json={"terms": {**terms, "nonce": nonce, "deadline": deadline}})["consent"]
    out = tmp_path / "consent.json"
    result = _dpl(world, *_consent_args(terms, str(out), nonce=nonce, deadline=deadline))
    assert result.exit_code == 0, (result.output, result.exception)
    cli_doc = json.loads(out.read_bytes())
    assert canonicalize(cli_doc) == canonicalize(api_doc)
    assert cli_doc["nonce"] == nonce and cli_doc["signature"] == api_doc["signature"]


def test_the_cli_and_the_api_refuse_the_same_terms_in_the_same_words(world, tmp_path):
    """Before: the API refused samples, currency and principal with its own copies of the bounds
    (pydantic: "body.samples: Input should be less than or equal to 10000"), the CLI with the
    ledger's rule ("samples: must be from 1 to 10,000 …") or typer's. Now the ledger's rule speaks
    at both edges (a field is named as each edge names it: ``--lien-end`` / ``lien_end``), and
    nothing is signed or kept."""
    import re as re_

    from ledger.limits import MAX_SAMPLES

    now = world.chain_time()
    before = len(world.ok("GET", "/v1/pledges/consents", "acme"))
    cases = [({"samples": MAX_SAMPLES + 1}, "samples: must be from 1 to 10,000"), ({"samples": 0}, "samples must be"),
             ({"currency": "CN"}, "currency must be an ISO 4217 code"), ({"currency": "cny1"}, "not 'CNY1'"),
             ({"principal": 0}, "principal must be"), ({"principal": 2**256}, "principal must be"),
             ({"loan_ref": "  "}, "loan reference must not be empty"),
             ({"maturity": str(now + 500 * 86400)}, "lien_end must be after maturity"),
             ({"lender": world.addresses["bank-c"]}, "is not an approved lender"),
             ({"deadline": str(now - 1)}, "deadline: .* has passed")]
    for change, words in cases:
        terms = {**world.terms(lender=world.addresses["bank-a"], rng=(0, 10)), **change}
        flags = {"deadline": terms["deadline"]} if "deadline" in terms else {}
        answers = [_refused(world.post(path, "acme", json=body), 422)["detail"]
                   for path, body in (("/v1/pledges/consents/draft", terms), ("/v1/pledges/consents", {"terms": terms}))]
        result = _dpl(world, *_consent_args(terms, str(tmp_path / "no.json"), **flags))
        assert result.exit_code == 1, (change, result.output)
        said = re_.sub(r"--([a-z]+)-?([a-z]*)", lambda m: "_".join(filter(None, m.groups())), str(result.exception))
        assert answers == [said, said], change
        assert re_.search(words, said), (change, said)
    assert not (tmp_path / "no.json").exists()
    assert len(world.ok("GET", "/v1/pledges/consents", "acme")) == before, "nothing was kept"


def test_a_move_that_happened_is_answered_when_the_mirror_cannot_follow(world, monkeypatch):
    """Before: when the pledge mirror could not sync after an issue or a move, the API answered an
    error although the transaction had landed (a retry of the issue was then refused,
    ``PledgeConsentReplayed``), while ``dpl`` reported the move with a warning. The move is the
    answer at both edges now (the CLI warns, the API logs); the next read syncs the mirror."""
    import ledger.pledge.mirror as mirror
    from ledger.errors import ChainError

    consent_id = world.consent(lender="bank-a")
    real = mirror.sync

    def down(*args, **kwargs):
        raise ChainError("the node stopped answering eth_getLogs")

    monkeypatch.setattr(mirror, "sync", down)
    issued = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": consent_id})
    token = issued["token_id"]
    released = world.ok("POST", f"/v1/pledges/{token}/release", "bank-a")
    assert released["token_id"] == token and HEX32.fullmatch(released["tx_hash"])
    monkeypatch.setattr(mirror, "sync", real)
    assert {p["token_id"]: p for p in world.ok("GET", "/v1/pledges", "aud")}[token]["status"] == "released"
    assert {c["consent_id"]: c for c in world.ok("GET", "/v1/pledges/consents", "acme")}[consent_id]["token_id"] == token


def test_the_wallets_transaction_is_the_call_the_service_sends_with_custody(world):
    """``Pledges.issue`` and the holder's moves build one registry call: handed unsigned to a
    lender without custody, or signed and sent with its key. The unsigned transaction is the
    input of the transaction the custodial path then sends, byte for byte."""
    from ledger.pledge.service import Actor, Issued, Pledges, UnsignedTransaction
    from ledger.pledge.terms import read_consent

    pledges = Pledges(world.client.app.state.services)
    lender = world.addresses["bank-a"]
    consent_id = world.consent(lender="bank-a")
    [kept] = [c for c in world.ok("GET", "/v1/pledges/consents", "bank-a") if c["consent_id"] == consent_id]
    consent = read_consent(kept["consent"])
    unsigned = pledges.issue(Actor(lender, None), consent)
    assert isinstance(unsigned, UnsignedTransaction)
    assert (unsigned.to, unsigned.chain_id, unsigned.sender) == (world.registry, CHAIN_ID, lender)
    issued = pledges.issue(Actor(lender, "dev2"), consent)
    assert isinstance(issued, Issued) and issued.mirror_error is None
    assert world.rpc("eth_getTransactionByHash", issued.tx_hash)["input"] == unsigned.data
    token = issued.token_id
    for move in (lambda actor: pledges.extend(actor, token, consent.terms.lien_end + 86400),
                 lambda actor: pledges.transfer(actor, token, world.addresses["bank-b"])):
        unsigned = move(Actor(lender, None))
        moved = move(Actor(lender, "dev2"))
        assert world.rpc("eth_getTransactionByHash", moved.tx_hash)["input"] == unsigned.data
    assert pledges.show(token).holder == world.addresses["bank-b"]


def test_a_custodial_extension_is_the_same_document_from_the_cli_and_the_api(world, tmp_path):
    """As for consents: ``dpl pledge extension --nonce --deadline`` (before: always a random
    nonce) signs the document the API signs for the same pledge, lien end, deadline and nonce."""
    from ledger.canonical import canonicalize

    token = world.pledge("bank-a")
    lien_end = world.ok("GET", f"/v1/pledges/{token}", "acme")["terms"]["max_lien_end"] + 86400
    terms = {"lien_end": str(lien_end), "deadline": str(world.chain_time() + 2 * 86400), "nonce": str(2**255 + 3)}
    api_doc = world.ok("POST", f"/v1/pledges/{token}/extensions", "acme", 201, json={"terms": terms})["extension"]
    out = tmp_path / "extension.json"
    result = _dpl(world, "pledge", "extension", "--token", str(token), "--lien-end", terms["lien_end"], "--deadline",
                  terms["deadline"], "--nonce", terms["nonce"], "--key", "dev1", "--out", str(out))
    assert result.exit_code == 0, (result.output, result.exception)
    assert canonicalize(json.loads(out.read_bytes())) == canonicalize(api_doc)


# --- pledges that carry the range's production profile (dpl-asset/2) -------------------------------


def test_a_custodial_consent_pledges_the_profile_and_its_parties_read_it(world):
    terms = {**world.terms(lender="bank-a", samples=8), "profile": {"tz": "+08:00"}}
    preview = world.ok("POST", f"/v1/logs/{world.log_id}/profile", "acme",
                       json={"from": terms["from"], "to": terms["to"], "tz": "+08:00"})
    doc = world.ok("POST", "/v1/pledges/consents", "acme", 201, json={"terms": terms})["consent"]
    manifest = doc["manifest"]
    assert manifest["format"] == "dpl-asset/2" and manifest["profile"] == preview  # what the factory previewed
    from ledger.assets import asset_digest

    assert "0x" + asset_digest(manifest).hex() == doc["terms"]["asset_digest"]
    consent_id = world.ok("GET", "/v1/pledges/consents", "acme")[-1]["consent_id"]
    token = world.ok("POST", "/v1/pledges", "bank-a", 201, json={"consent_id": consent_id})["token_id"]
    for who in ("bank-a", "acme", "aud"):  # the holder, the log's factory, an auditor
        assert world.ok("GET", f"/v1/pledges/{token}/profile", who) == preview, who
    for who in ("bank-b", "globex"):  # one answer for another's pledge and a missing one
        _refused(world.get(f"/v1/pledges/{token}/profile", who), 404)
    _refused(world.get("/v1/pledges/999999/profile", "bank-a"), 404)
    # the bundle carries the v2 manifest; the lender's check lists the declared figures
    bundle = world.ok("GET", f"/v1/pledges/{token}/bundle", "bank-a")
    assert bundle["manifest"] == manifest
    report = verify_against_chain(bundle, token, world.rpc_url, world.home)
    assert report.sound, [c for c in report.checks if not c.ok]
    names = [c.name for c in report.checks]
    assert "figure mes.qty_good" in names and names[-1] == "sampling"
    assert sum(n.endswith("agrees with its day's figures") for n in names) == 8
    lie = json.loads(json.dumps(bundle))
    lie["manifest"]["profile"]["mes"]["qty_good"] += 1
    assert [c.name for c in verify_against_chain(lie, token, world.rpc_url, world.home).checks if not c.ok] == \
        ["manifest digest"]


def test_a_pledge_without_a_profile_has_none_to_read(world):
    token = world.pledge("bank-a")
    body = _refused(world.get(f"/v1/pledges/{token}/profile", "bank-a"), 404)
    assert "carries no production profile" in body["detail"]


def test_a_wallet_factory_signs_a_consent_with_a_profile(world):
    log_id = world.new_log("selfco", records=[
        {"id": f"w-{i}", "ts": f"2026-01-0{1 + i // 5}T0{i % 5}:00:00Z", "type": "mes.work_order",
         "data": {"product": "P", "qty_good": 10 + i, "qty_scrap": 1, "qty_planned": 12}} for i in range(10)],
        anchor=True)
    terms = {**world.terms(lender="bank-a", rng=(0, 10), log_id=log_id), "profile": {"thresholds": {"max_gap_s": 60}}}
    draft = world.ok("POST", "/v1/pledges/consents/draft", "selfco", json=terms)
    assert draft["consent"]["manifest"]["format"] == "dpl-asset/2"
    assert draft["consent"]["manifest"]["profile"]["mes"]["qty_good"] == sum(10 + i for i in range(10))
    signed = Account.sign_typed_data(world.keyring.account("dev5", CHAIN_ID).key, full_message=draft["typed_data"])
    consent = {**draft["consent"], "signature": "0x" + signed.signature.hex()}
    out = world.ok("POST", "/v1/pledges/consents", "selfco", 201, json={"consent": consent})
    assert out["consent"]["manifest"] == draft["consent"]["manifest"]  # rebuilt from the store, same digest
    # other parameters than those signed give another digest: refused, nothing kept
    changed = json.loads(json.dumps(consent))
    changed["manifest"]["profile"]["thresholds"]["max_gap_s"] = 61
    r = world.post("/v1/pledges/consents", "selfco", json={"consent": changed})
    assert "asset_digest" in _refused(r, 422)["detail"]


@pytest.mark.parametrize("profile, words", [
    ({"tz": "+25:00"}, "tz"),
    ({"thresholds": {"max_gap": 1}}, "thresholds.max_gap"),
    ({"mapping": {"format": "dpl-mapping/9"}}, "mapping"),
    ({"colour": "red"}, None),
])
def test_bad_profile_parameters_are_422(world, profile, words):
    r = world.post("/v1/pledges/consents/draft", "acme", json={**world.terms(), "profile": profile})
    body = _refused(r, 422)
    if words:
        assert words in json.dumps(body), body


def test_the_cli_pledges_a_profile_only_if_the_records_give_every_figure(world, tmp_path):
    """``dpl pledge consent --profile FILE``: the profile (as ``dpl profile build`` writes it) is
    recomputed from the store with its own tz, mapping and thresholds; a figure the records do
    not give is refused by name and nothing is signed."""
    terms = world.terms(lender=world.addresses["bank-a"])
    rng = {"from": terms["from"], "to": terms["to"]}
    profile = world.ok("POST", f"/v1/logs/{world.log_id}/profile", "acme", json={**rng, "tz": "+08:00"})
    good, out = tmp_path / "profile.json", tmp_path / "consent.json"
    good.write_text(json.dumps(profile))
    inflated = json.loads(json.dumps(profile))
    inflated["mes"]["qty_good"] += 5000
    inflated["daily"][0]["mes_good"] += 5000
    cases = [(inflated, [f"mes.qty_good: claimed {profile['mes']['qty_good'] + 5000}, recomputed "
                         f"{profile['mes']['qty_good']}", "daily[0].mes_good: claimed", "2 figure(s) differ"]),
             ({**profile, "range": {"from": rng["from"] + 1, "to": rng["to"]}}, ["the profile is of records"]),
             ({**profile, "format": "dpl-profile/0"}, ["not a production profile: profile format"])]
    for claimed, words in cases:
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps(claimed))
        result = _dpl(world, *_consent_args(terms, str(out), profile=str(bad)))
        assert result.exit_code == 1, result.output
        for w in words:
            assert w in str(result.exception), (w, str(result.exception))
        assert "--profile: " in str(result.exception)
        assert not out.exists()
    result = _dpl(world, *_consent_args(terms, str(out), profile=str(good)))
    assert result.exit_code == 0, (result.output, result.exception)
    doc = json.loads(out.read_text())
    assert doc["manifest"]["format"] == "dpl-asset/2" and doc["manifest"]["profile"] == profile
    assert "with its production profile" in result.output
