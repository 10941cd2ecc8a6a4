"""A factory whose key the service does not hold signs its checkpoints with its own wallet:
the API hands it the EIP-712 documents, checks the signatures it hands back, and the
anchoring (the same crash-safe anchorer) uses them."""

from __future__ import annotations

import secrets

from eth_account import Account

from tests.api.conftest import record


def _wallet_factory(world):
    account = Account.create()  # not in the service's keyring: only this test can sign for it
    name = f"walletco-{secrets.token_hex(3)}"
    parties = world.app_parties()
    parties.create(name, "factory", account.address, None)
    world.keys[name] = parties.new_key(name)
    log_id = world.ok("POST", "/v1/logs", name, 201, json={"stream": "line-w"})["log_id"]
    return name, account, log_id


def _sign(account, document: dict) -> str:
    return "0x" + Account.sign_typed_data(account.key, full_message=document).signature.hex()


def test_a_wallet_factory_signs_and_the_service_anchors(world):
    name, account, log_id = _wallet_factory(world)
    world.ok("POST", f"/v1/logs/{log_id}/records", name, json=[record(f"w-{i}") for i in range(10)])
    [waiting] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", name)
    assert waiting["state"] == "awaiting-signature" and "own wallet" in waiting["note"]

    todo = world.ok("GET", f"/v1/logs/{log_id}/checkpoints/to-sign", name)
    assert todo["size"] == 10 and todo["factory"] == account.address
    assert todo["checkpoint"]["primaryType"] == "Checkpoint" and todo["checkpoint"]["message"]["size"] == "10"  # integers as decimal strings
    assert todo["register"]["message"] == {"factory": account.address, "stream": f"{name}/line-w"}

    # another key's signature is refused, and nothing is kept
    stranger = Account.create()
    r = world.post(f"/v1/logs/{log_id}/checkpoints/signatures", name,
                   json={"size": 10, "signature": _sign(stranger, todo["checkpoint"]),
                         "register_signature": _sign(account, todo["register"])})
    assert r.status_code == 422 and r.json()["type"].endswith("/invalid-signature"), r.text
    r = world.post(f"/v1/logs/{log_id}/checkpoints/signatures", name,
                   json={"size": 10, "signature": _sign(account, todo["checkpoint"]),
                         "register_signature": _sign(stranger, todo["register"])})
    assert r.status_code == 422 and r.json()["field"] == "register_signature"
    [still] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", name)
    assert still["state"] == "awaiting-signature"

    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/signatures", name,
             json={"size": 10, "signature": _sign(account, todo["checkpoint"]),
                   "register_signature": _sign(account, todo["register"])})
    [anchored] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", name)
    assert anchored["size"] == 10 and anchored["state"] in ("included", "final"), anchored

    # more records: the next checkpoint needs the next signature (no RegisterLog any more)
    world.ok("POST", f"/v1/logs/{log_id}/records", name, json=[record(f"w-{i}") for i in range(10, 15)])
    todo = world.ok("GET", f"/v1/logs/{log_id}/checkpoints/to-sign", name)
    assert todo["size"] == 15 and todo["register"] is None
    world.ok("POST", f"/v1/logs/{log_id}/checkpoints/signatures", name,
             json={"size": 15, "signature": _sign(account, todo["checkpoint"])})
    [second] = world.ok("POST", f"/v1/logs/{log_id}/checkpoints/anchor", name)
    assert second["size"] == 15 and second["state"] in ("included", "final"), second
    on_chain = {c["size"]: c for c in world.ok("GET", f"/v1/logs/{log_id}/checkpoints", name)}
    assert on_chain[15]["anchor"]["state"] in ("included", "final") and on_chain[15]["root"] == todo["root"]


def test_signatures_are_checked_against_the_log(world):
    name, account, log_id = _wallet_factory(world)
    r = world.get(f"/v1/logs/{log_id}/checkpoints/to-sign", name)
    assert r.status_code == 409  # empty log: nothing to sign
    world.ok("POST", f"/v1/logs/{log_id}/records", name, json=[record("s-1"), record("s-2")])
    todo = world.ok("GET", f"/v1/logs/{log_id}/checkpoints/to-sign", name)
    too_far = world.post(f"/v1/logs/{log_id}/checkpoints/signatures", name,
                         json={"size": 3, "signature": _sign(account, todo["checkpoint"])})
    assert too_far.status_code == 422
    # a signature of size 2 handed in as size 1 does not recover to the factory for size 1's root
    shifted = world.post(f"/v1/logs/{log_id}/checkpoints/signatures", name,
                         json={"size": 1, "signature": _sign(account, todo["checkpoint"])})
    assert shifted.status_code == 422 and shifted.json()["type"].endswith("/invalid-signature")
    # another factory's log: 404 like a missing one
    assert world.get(f"/v1/logs/{log_id}/checkpoints/to-sign", "acme").status_code == 404
