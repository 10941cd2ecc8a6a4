"""The factory directory over HTTP: every party reads it; a custodial admin lists, relists and
removes factories (a transaction each, none when nothing changes); bad input is a 422 before any
chain call, an admin whose key the service does not hold a 409."""

from __future__ import annotations

import re

from ledger.directory import listing_of, registration_digest


def _chain(world):
    return world.client.app.state.services.chain()


def _listed(world, who="aud") -> dict:
    return {item["address"]: item for item in world.ok("GET", "/v1/factories", who)}


def test_list_set_and_remove_a_factory(world):
    acme = world.addresses["acme"]
    before = _listed(world)
    for who in ("admin", "acme", "bank-a"):
        assert _listed(world, who) == before

    out = world.ok("PUT", f"/v1/factories/{acme.lower()}", "admin",
                   json={"name": "  ACME Precision Co. ", "registration": "91310000-ma1fl0000x"})
    assert out["address"] == acme and out["listed"] and out["name"] == "ACME Precision Co."
    assert out["registration_digest"] == "0x" + registration_digest("91310000MA1FL0000X").hex()
    assert re.fullmatch(r"0x[0-9a-f]{64}", out["tx_hash"])
    assert _listed(world)[acme]["name"] == "ACME Precision Co."
    assert listing_of(_chain(world), acme).name == "ACME Precision Co."  # on chain, not in a table of ours
    for who in ("aud", "bank-a", "acme"):  # one listing, as `dpl factories show` reads it
        assert world.ok("GET", "/v1/factories/acme", who) == {**out, "tx_hash": None}
    assert world.ok("GET", f"/v1/factories/{world.addresses['globex']}", "aud") == {
        "address": world.addresses["globex"], "listed": False, "name": None, "registration_digest": None,
        "tx_hash": None}
    same = world.ok("PUT", "/v1/factories/acme", "admin", json={"name": "ACME Precision Co.",
                                                                "registration": "91310000MA1FL0000X"})
    assert same["tx_hash"] is None and same["listed"]  # nothing changed: nothing sent

    gone = world.ok("DELETE", "/v1/factories/acme", "admin")
    assert gone == {"address": acme, "listed": False, "name": None, "registration_digest": None,
                    "tx_hash": gone["tx_hash"]} and gone["tx_hash"]
    assert acme not in _listed(world)
    assert world.ok("DELETE", f"/v1/factories/{acme}", "admin")["tx_hash"] is None


def test_bad_listings_are_refused_before_the_chain(world):
    block = _chain(world).block_number()
    for address, body in [
        ("acme", {"name": "bell\x07", "registration": "X1"}),
        ("acme", {"name": "x" * 129, "registration": "X1"}),
        ("acme", {"name": "ACME", "registration": " - "}),
        ("acme", {"name": "ACME"}),
        ("acme", {"name": "ACME", "registration": "X1", "extra": 1}),
        ("bank-a", {"name": "ACME", "registration": "X1"}),              # not a factory party
        ("0x1234", {"name": "ACME", "registration": "X1"}),
        ("0x" + "aB" * 20, {"name": "ACME", "registration": "X1"}),       # a wrong EIP-55 checksum
    ]:
        r = world.call("PUT", f"/v1/factories/{address}", "admin", json=body)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (body, r.text)
    # an unknown name and a party of another role get one answer, as lenders do, in the words of
    # `dpl factories` (tests/cli/test_admin_cli.py); before: 404 for an unknown name
    for who in ("nobody", "bank-a"):
        r = world.call("PUT", f"/v1/factories/{who}", "admin", json={"name": "A", "registration": "B"})
        assert r.status_code == 422 and r.json()["detail"] == (
            f"'{who}' is not a factory party (nor an address): give a factory's party name or its 0x address"), r.text
    assert _chain(world).block_number() == block, "a refused listing sent a transaction"


def test_an_admin_without_custody_cannot_change_it(world):
    world.ok("POST", "/v1/parties", "admin", 201, json={"name": "admin-nokey", "role": "admin"})
    key = world.app_parties().new_key("admin-nokey")
    r = world.client.put(f"/v1/factories/{world.addresses['globex']}", json={"name": "Globex", "registration": "G-1"},
                         headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 409 and "holds no chain key" in r.json()["detail"], r.text
