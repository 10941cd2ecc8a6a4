"""The admin's use cases: the service's parties and their API keys, the registry's approved
lenders and its factory directory, and deploying the registry.

``dpl keys api|api-revoke``, ``dpl lenders``, ``dpl factories``, ``dpl deploy``, the API's admin
and directory routes and the demo (``api/demo.py``) call these; none of them writes the rule.

- **Parties**: a role is one of ``ROLES``; a party the service signs for (custody) names a
  keyring key, and its address is that key's (a different address given with it is refused);
  an address given alone must be one (EIP-55 if mixed case) and is kept checksummed. An API
  key is returned once, when made; only its hash is stored (``ledger.store.parties``).
- **Addresses of parties**: where a lender or a factory is named, ``address_of`` takes an 0x
  address or the name of a party of that role with an address; an unknown name and a party of
  another role get one answer, so the field tells nobody which party names exist. The command
  line also takes the name of a keyring key (its operator holds the keyring), first.
- **Registry changes** (lenders, directory) send nothing when the registry already says so, so
  a retry is safe, and only then ask ``signer(chain)`` for the admin's account: the command
  line's ``--key``, the API's custodial key of the admin party (else its 409). Bad input is
  refused before the chain is asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger.errors import ConflictError, InvalidArgumentError, LedgerError, NotFoundError
from ledger.service.context import Context

if TYPE_CHECKING:
    from ledger.store.parties import KeyInfo, PartyInfo

#: The admin's account for a registry change, asked only when something is sent.
Signer = Callable[[object], object]


def check_role(role: str) -> str:
    """``role`` when it is one of the parties' roles; the same words from every edge otherwise."""
    from ledger.store.parties import ROLES

    if role not in ROLES:
        raise InvalidArgumentError(f"role must be one of {', '.join(ROLES)}")
    return role


def chain_address(value: str) -> str:
    """An 0x address, checksummed; a mixed-case one must carry a valid EIP-55 checksum."""
    from eth_utils import to_checksum_address

    from ledger.pledge.collateral import is_valid_address

    if not value.startswith(("0x", "0X")) or not is_valid_address(value):
        raise InvalidArgumentError(f"{value[:80]!r} is not an Ethereum address (0x and 40 hex digits, "
                                   "EIP-55 if mixed case)")
    return to_checksum_address(value)


def address_of(ctx: Context, value: str, role: str, *, keys: bool = False) -> str:
    """An 0x address, or the address of the party of ``role`` named ``value`` (with ``keys``:
    of the keyring key named ``value``, when there is one). See the module docstring."""
    if value.startswith(("0x", "0X")):
        return chain_address(value)
    if keys:
        try:
            return ctx.keyring.info(value).address
        except (NotFoundError, InvalidArgumentError):  # no such key (or not a key's name): a party's?
            pass
    try:
        party = ctx.parties.get(value)
    except NotFoundError:
        party = None
    if party is None or party.role != role or not party.address:
        raise InvalidArgumentError(f"{value[:80]!r} is not a {role} party (nor an address): give a {role}'s "
                                   "party name or its 0x address")
    return party.address


def key_signer(ctx: Context, key_name: str) -> Signer:
    """The signer of a keyring key (the command line's ``--key``)."""
    return lambda chain: ctx.keyring.account(key_name, chain.chain_id)


# --- parties and API keys ------------------------------------------------------------------


@dataclass(frozen=True)
class NewKey:
    """An API key just made: the only time it exists in clear."""

    party: str
    role: str
    key: str

    @property
    def prefix(self) -> str:
        return self.key.split("_")[1]


class Parties:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def list(self) -> list[PartyInfo]:
        return self.ctx.parties.list()

    def create(self, name: str, role: str, address: str | None = None, key_name: str | None = None) -> PartyInfo:
        """A new party (``ConflictError`` when the name is taken); see the module docstring."""
        check_role(role)
        if address is not None:
            address = chain_address(address)
        if key_name:
            key_address = self.ctx.keyring.info(key_name).address
            if address and address != key_address:
                raise InvalidArgumentError(f"key {key_name} is {key_address}, not {address}")
            address = key_address
        return self.ctx.parties.create(name, role, address, key_name or None)

    def new_key(self, name: str) -> NewKey:
        """A new API key for the party named ``name`` (``NotFoundError`` if there is none)."""
        party = self.ctx.parties.get(name)
        return NewKey(party.name, party.role, self.ctx.parties.new_key(party.name))

    def key_for(self, name: str, role: str, address: str | None = None, key_name: str | None = None) -> NewKey:
        """An API key for the party ``name`` of ``role``, created first when new (``dpl keys
        api``); an existing party must have that role, and the address and custody key given (if
        any) must be its own: they are never changed here, so a contradiction is refused rather
        than dropped."""
        check_role(role)
        try:
            party = self.ctx.parties.get(name)
        except NotFoundError:
            party = self.create(name, role, address, key_name)
        if party.role != role:
            raise LedgerError(f"party {name} exists with role {party.role}, not {role}")
        if key_name and key_name != party.key_name:
            raise ConflictError(f"party {name} exists with key {party.key_name or '(none)'}, not {key_name}")
        if address is not None and chain_address(address) != party.address:
            raise ConflictError(f"party {name} exists with address {party.address or '(none)'}, not {address}")
        return self.new_key(party.name)

    def keys(self) -> list[KeyInfo]:
        return self.ctx.parties.keys()

    def revoke(self, prefix: str) -> None:
        """Revoke a live key (``NotFoundError`` when none has this prefix)."""
        self.ctx.parties.revoke(prefix)


# --- approved lenders ----------------------------------------------------------------------


@dataclass(frozen=True)
class LenderChange:
    address: str
    approved: bool
    tx_hash: str | None  # None: the registry already had it so, nothing was sent


class Lenders:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def list(self) -> list[str]:
        """The lenders approved now (role events read from the deployment block, checked)."""
        from ledger.pledge.chain import approved_lenders

        return approved_lenders(self.ctx.chain(), self.ctx.deployment_block)

    def set(self, address: str, approved: bool, signer: Signer) -> LenderChange:
        """Approve (or withdraw) the lender at ``address``; nothing is sent when it already is so."""
        from ledger.pledge.chain import is_lender, set_lender

        chain = self.ctx.chain()
        if is_lender(chain, address) == approved:
            return LenderChange(address, approved, None)
        return LenderChange(address, approved, set_lender(chain, signer(chain), address, approved))


# --- the factory directory -----------------------------------------------------------------


@dataclass(frozen=True)
class ListingChange:
    address: str
    listing: object  # ledger.directory.Listing | None: the listing after the change
    tx_hash: str | None  # None: the directory already said so, nothing was sent


class Directory:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def list(self):
        """Every factory listed now."""
        from ledger.directory import listed_factories

        return listed_factories(self.ctx.chain(), self.ctx.deployment_block)

    def show(self, address: str):
        """The listing of ``address``, or None."""
        from ledger.directory import listing_of

        return listing_of(self.ctx.chain(), address)

    def set(self, address: str, name: str, registration: str, signer: Signer) -> ListingChange:
        """List ``address`` as ``name`` with the digest of ``registration`` (or change its
        listing); both are checked before the chain is asked, nothing is sent when unchanged."""
        from ledger.directory import check_name, list_factory, listing_of, registration_digest

        name, digest = check_name(name), registration_digest(registration)
        chain = self.ctx.chain()
        listing = listing_of(chain, address)
        if listing is not None and (listing.name, listing.registration_digest) == (name, digest):
            return ListingChange(address, listing, None)
        tx = list_factory(chain, signer(chain), address, name, registration)
        return ListingChange(address, listing_of(chain, address), tx)

    def remove(self, address: str, signer: Signer) -> ListingChange:
        """Remove the listing of ``address``; nothing is sent when it is not listed."""
        from ledger.directory import delist_factory, listing_of

        chain = self.ctx.chain()
        if listing_of(chain, address) is None:
            return ListingChange(address, None, None)
        return ListingChange(address, None, delist_factory(chain, signer(chain), address))


# --- deploying the registry ------------------------------------------------------------------


@dataclass(frozen=True)
class Deployed:
    record: dict
    new: bool  # False: the recorded address already holds our registry
    path: Path  # the deployment record


def deploy(ctx: Context, key_name: str) -> Deployed:
    """Deploy our registry on the configured node with the keyring key ``key_name`` (a no-op
    when the deployment record's address already holds it)."""
    from ledger.chain.deploy import deploy_registry, deployment_path

    node = ctx.node()
    record, new = deploy_registry(node, ctx.settings.home, ctx.keyring.account(key_name, node.chain_id))
    return Deployed(record, new, deployment_path(ctx.settings.home, node.chain_id))
