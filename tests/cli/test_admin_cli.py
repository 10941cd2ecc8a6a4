"""dpl keys api / lenders / factories: the admin's use cases (``ledger.service.admin``) refuse
bad input in the API's words, before any chain call (the chain story is in
tests/integration/test_pledges.py; the API's side in tests/api/test_admin.py and
test_directory.py)."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import dpl  # noqa: F401 (fixture)

pytestmark = pytest.mark.cli
DOWN = {"DPL_RPC_URL": "http://127.0.0.1:9"}  # nothing listens on the discard port
ROLE_WORDS = "role must be one of factory, lender, auditor, admin"


def test_an_unknown_role_is_refused_in_the_apis_words_new_party_or_not(dpl):
    """Before: an existing party with an unknown role was "party acme exists with role factory,
    not king"; the API answered pydantic's pattern error. Now one sentence from both."""
    for _ in range(2):  # a new party, then an existing one
        _, _, err = dpl("keys", "api", "--role", "king", "--party", "acme", ok=False)
        assert err.strip() == f"error: {ROLE_WORDS}"
        dpl("keys", "api", "--role", "factory", "--party", "acme")
    _, _, err = dpl("keys", "api", "--role", "lender", "--party", "acme", ok=False)
    assert err.strip() == "error: party acme exists with role factory, not lender"


def test_a_party_address_is_checked_and_a_custody_key_decides_it(dpl):
    """Before: ``dpl keys api --address`` stored whatever it was given (the API refused it), and
    ``--key`` with another ``--address`` silently dropped the address (the API refused it)."""
    _, _, err = dpl("keys", "api", "--role", "factory", "--party", "typo", "--address", "0x1234", ok=False)
    assert err.strip() == ("error: '0x1234' is not an Ethereum address (0x and 40 hex digits, "
                           "EIP-55 if mixed case)")
    dpl("keys", "import-dev")
    dev8 = {k["name"]: k["address"] for k in json.loads(dpl("keys", "list", "--json")[1])}["dev8"]
    other = "0x" + "11" * 20
    _, _, err = dpl("keys", "api", "--role", "lender", "--party", "bank", "--key", "dev8", "--address", other,
                    ok=False)
    assert err.strip() == f"error: key dev8 is {dev8}, not {other}"
    made = json.loads(dpl("keys", "api", "--role", "lender", "--party", "bank", "--key", "dev8",
                          "--address", dev8.lower(), "--json")[1])
    assert made["party"] == "bank" and made["role"] == "lender" and made["key"].startswith("dpl_")
    # before: another key for an existing party silently dropped a --key or --address that was not its own
    _, _, err = dpl("keys", "api", "--role", "lender", "--party", "bank", "--key", "dev9", ok=False)
    assert err.strip() == "error: party bank exists with key dev8, not dev9"
    prefix = made["key"].split("_")[1]
    assert dpl("keys", "api-revoke", prefix)[1].strip() == f"revoked API key {prefix}"
    _, _, err = dpl("keys", "api-revoke", prefix, ok=False)
    assert err.strip() == f"error: no live API key {prefix}"


def test_a_party_that_is_not_a_lender_or_factory_gets_the_apis_words_before_the_chain(dpl):
    """A lender or factory is an address, a key's name or (as in the API) a party's name; a name
    that is neither a key nor a party of the role gets the API's one answer. Before: "no key
    named 'acme'", and a malformed address was sent to the node first."""
    dpl("keys", "api", "--role", "factory", "--party", "acme", "--address", "0x" + "22" * 20)
    for args, role in ((["lenders", "add", "acme"], "lender"), (["lenders", "remove", "nobody"], "lender"),
                       (["factories", "remove", "nobody"], "factory"), (["factories", "show", "nobody"], "factory")):
        _, _, err = dpl(*args, ok=False, extra_env=DOWN)
        who = args[-1]
        assert err.strip() == (f"error: {who!r} is not a {role} party (nor an address): give a {role}'s party name "
                               "or its 0x address"), args
    for args in (["lenders", "add", "0x1234"],
                 ["factories", "set", "0x" + "aB" * 20, "--name", "A", "--registration", "B"]):  # a bad EIP-55
        _, _, err = dpl(*args, ok=False, extra_env=DOWN)
        assert "is not an Ethereum address (0x and 40 hex digits, EIP-55 if mixed case)" in err, args
    _, _, err = dpl("factories", "set", "acme", "--name", "bell\x07", "--registration", "X1", ok=False, extra_env=DOWN)
    assert err.strip() == "error: the factory's name must be printable text (no control characters)"
