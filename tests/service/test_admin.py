"""The admin's use cases (``ledger.service.admin``): one rule for a party, its custody key and
address, its API keys, and the name of a lender or factory, on SQLite and PostgreSQL; and the
edges that call them assemble nothing themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.errors import ConflictError, InvalidArgumentError, LedgerError, NotFoundError
from ledger.service.admin import Parties, address_of, chain_address
from ledger.service.context import Context

ROOT = Path(__file__).resolve().parents[2]
DEV1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's second account


@pytest.fixture
def ctx(backend):
    context = Context.open(backend.model_copy(update={"key_passphrase": None}))
    context.keyring.import_dev()  # dev keys open without a passphrase
    yield context
    context.close()


def test_a_party_gets_one_rule_for_role_address_and_custody(ctx):
    parties = Parties(ctx)
    with pytest.raises(InvalidArgumentError, match="^role must be one of factory, lender, auditor, admin$"):
        parties.create("x", "king")
    with pytest.raises(InvalidArgumentError, match="is not an Ethereum address"):
        parties.create("x", "factory", "0x1234")
    assert parties.create("plain", "factory", DEV1.lower()).address == DEV1  # kept checksummed
    custodial = parties.create("acme", "factory", key_name="dev1")
    assert (custodial.address, custodial.key_name) == (DEV1, "dev1")  # the key decides the address
    with pytest.raises(InvalidArgumentError, match=f"^key dev2 is 0x[0-9a-fA-F]{{40}}, not {DEV1}$"):
        parties.create("bank", "lender", DEV1, "dev2")
    with pytest.raises(NotFoundError):
        parties.create("bank", "lender", key_name="no-such-key")
    with pytest.raises(ConflictError):
        parties.create("acme", "factory")
    assert [p.name for p in parties.list()] == ["plain", "acme"]  # nothing half-made by the refusals


def test_an_api_key_is_shown_once_and_revoked_by_its_prefix(ctx):
    parties = Parties(ctx)
    made = parties.key_for("bank", "lender", key_name="dev2")  # created when new
    again = parties.key_for("bank", "lender")  # then a second key for the same party
    assert made.party == again.party == "bank" and made.role == "lender" and made.key != again.key
    assert ctx.parties.authenticate(made.key).name == "bank"
    with pytest.raises(LedgerError, match="^party bank exists with role lender, not factory$"):
        parties.key_for("bank", "factory")
    # an existing party's address and custody key are never changed here: a contradiction is refused
    with pytest.raises(ConflictError, match="^party bank exists with key dev2, not dev3$"):
        parties.key_for("bank", "lender", key_name="dev3")
    with pytest.raises(ConflictError, match=f"^party bank exists with address 0x[0-9a-fA-F]{{40}}, not {DEV1}$"):
        parties.key_for("bank", "lender", DEV1)
    assert parties.key_for("bank", "lender", ctx.keyring.info("dev2").address.lower(), "dev2").party == "bank"
    with pytest.raises(InvalidArgumentError, match="^role must be one of"):
        parties.key_for("bank", "king")  # the same words for a party that exists
    assert made.key.split("_")[1] == made.prefix and made.prefix in {k.prefix for k in parties.keys()}
    parties.revoke(made.prefix)
    assert ctx.parties.authenticate(made.key) is None and ctx.parties.authenticate(again.key) is not None
    with pytest.raises(NotFoundError):
        parties.revoke(made.prefix)


def test_a_lender_or_factory_is_an_address_or_a_party_of_that_role(ctx):
    parties = Parties(ctx)
    parties.create("acme", "factory", key_name="dev1")
    parties.create("bank", "lender", key_name="dev2")
    parties.create("nowhere", "lender")  # no address
    assert address_of(ctx, DEV1.lower(), "lender") == DEV1 == address_of(ctx, "acme", "factory")
    assert address_of(ctx, "bank", "lender") == ctx.keyring.info("dev2").address
    words = "{!r} is not a lender party (nor an address): give a lender's party name or its 0x address"
    for name in ("acme", "nobody", "nowhere"):  # one answer: the field tells nobody which names exist
        with pytest.raises(InvalidArgumentError) as refused:
            address_of(ctx, name, "lender")
        assert str(refused.value) == words.format(name)
    assert address_of(ctx, "dev3", "lender", keys=True) == ctx.keyring.info("dev3").address  # the CLI: a key first
    with pytest.raises(InvalidArgumentError, match="'acme' is not a lender party"):
        address_of(ctx, "acme", "lender", keys=True)
    for bad in ("0x1234", "0x" + "aB" * 20, "0X" + "zz" * 20):
        with pytest.raises(InvalidArgumentError, match=r"is not an Ethereum address \(0x and 40 hex digits"):
            chain_address(bad)


#: The admin's edges: commands, routes and the demo. They parse, call ``ledger.service.admin``
#: and print or answer; none builds a store, a keyring or a chain, nor reads or writes the registry.
EDGES = ["ledger/cli/keys.py", "ledger/cli/registry.py", "ledger/cli/chain.py", "api/routes_admin.py",
         "api/routes_directory.py", "api/demo.py"]
ASSEMBLY = ["PartyStore", "LogStore", "AuditRunStore", "Keyring(", "Chain(", "Transactions(", ".registry",
            ".functions.", "ledger.pledge.chain", "set_lender", "approved_lenders", "list_factory", "delist_factory",
            "listed_factories", "listing_of", "deploy_registry", "Anchorer", "load_deployment"]


def test_the_admin_edges_assemble_nothing():
    """Before: ``api/demo.py`` opened the store, keyring and chain itself and approved lenders with
    ``set_lender``; the CLI and the routes each called the registry and the party store."""
    found = {edge: [name for name in ASSEMBLY if name in (ROOT / edge).read_text()] for edge in EDGES}
    assert {edge: names for edge, names in found.items() if names} == {}
