"""contracts/DataPledgeRegistry.sol, the factory directory (IFactoryDirectory): listings kept by
the registry admin. Every revert asserts the exact custom error and its arguments."""

from __future__ import annotations

import pytest

from ledger.directory import describe_factory, registration_digest, shown_name, Listing
from tests.contracts.evm import emitted, reverts_with

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
USCC = "91310000MA1FL0000X"  # the shape of a unified social credit code (18 characters)

pytestmark = pytest.mark.usefixtures("fresh_state")


@pytest.fixture(scope="module")
def registry(chain):
    return chain.deploy("DataPledgeRegistry", sender=chain.accounts[0])


def _send(chain, fn, sender):
    receipt = chain.transact(fn, sender)
    assert receipt.status == 1
    return receipt


def test_the_admin_lists_changes_and_delists_a_factory(chain, registry):
    admin, factory = chain.accounts[0], chain.accounts[1].address
    fns = registry.functions
    assert fns.factoryListing(factory).call() == ["", ZERO32]
    digest = registration_digest(USCC)
    receipt = _send(chain, fns.listFactory(factory, "ACME Precision Co.", digest), admin)
    assert emitted(registry, receipt) == [("FactoryListed", {"factory": factory, "name": "ACME Precision Co.",
                                                             "registrationDigest": digest})]
    assert fns.factoryListing(factory).call() == ["ACME Precision Co.", digest]
    renamed = "艾克米精密制造有限公司"  # UTF-8 names: 30 bytes here
    _send(chain, fns.listFactory(factory, renamed, digest), admin)
    assert fns.factoryListing(factory).call() == [renamed, digest]
    receipt = _send(chain, fns.delistFactory(factory), admin)
    assert emitted(registry, receipt) == [("FactoryDelisted", {"factory": factory})]
    assert fns.factoryListing(factory).call() == ["", ZERO32]
    with reverts_with(registry, "DirectoryNotListed", factory):
        fns.delistFactory(factory).transact({"from": admin.address})


@pytest.mark.parametrize("who", [1, 2, 3])  # the factory itself, a lender-to-be, anyone
def test_only_the_admin_keeps_the_directory(chain, registry, who):
    admin, caller, factory = chain.accounts[0], chain.accounts[who], chain.accounts[1].address
    admin_role = registry.functions.DEFAULT_ADMIN_ROLE().call()
    for fn in (registry.functions.listFactory(factory, "Rival Co.", registration_digest(USCC)),
               registry.functions.delistFactory(factory)):
        with reverts_with(registry, "AccessControlUnauthorizedAccount", caller.address, admin_role):
            fn.transact({"from": caller.address})
    assert registry.functions.factoryListing(factory).call() == ["", ZERO32]


@pytest.mark.parametrize("address,name,digest", [
    (ZERO_ADDRESS, "ACME", b"\x01" * 32),
    (None, "", b"\x01" * 32),
    (None, "x" * 129, b"\x01" * 32),
    (None, "ACME", ZERO32),
])
def test_a_listing_needs_an_address_a_name_and_a_digest(chain, registry, address, name, digest):
    address = address or chain.accounts[1].address
    with reverts_with(registry, "DirectoryInvalidListing", address, len(name.encode()), digest):
        registry.functions.listFactory(address, name, digest).transact({"from": chain.accounts[0].address})


def test_a_name_of_128_bytes_is_the_longest(chain, registry):
    factory = chain.accounts[1].address
    _send(chain, registry.functions.listFactory(factory, "é" * 64, b"\x01" * 32), chain.accounts[0])
    assert registry.functions.factoryListing(factory).call()[0] == "é" * 64


def test_the_registration_digest_ignores_spacing_and_case():
    assert registration_digest("91310000-ma1fl0000x") == registration_digest(" 9131 0000 MA1F L0000X ")
    assert registration_digest(USCC) != registration_digest("91310000MA1FL0000Y")
    assert registration_digest(USCC).hex() == __import__("hashlib").sha256(USCC.encode()).hexdigest()


def test_a_listed_name_is_printed_escaped():
    """A name is text from the chain: a terminal escape or a newline in it must not reach a screen."""
    listing = Listing("0x" + "11" * 20, "ACME\x1b[2J\nCo.", b"\x01" * 32)
    assert describe_factory(listing.address, listing) == (
        "factory 0x1111111111111111111111111111111111111111 (registered as ACME\\x1b[2J\\nCo.)")
    assert describe_factory(listing.address, None).endswith("(not in the directory)")
    assert shown_name("艾克米") == "艾克米"
