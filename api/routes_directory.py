"""The registry's factory directory over HTTP (``ledger.directory``): who a factory address is,
as the registry admin recorded it on chain. Every party may read it (a verifier prints the name
it gives); only an admin whose chain key the service holds may change it."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, AnyRole, Svc, admin_account
from api.errors import PROBLEM_RESPONSES
from api.schemas import ListingOut
from api.services import Services
from ledger.bundles import to_hex
from ledger.errors import InvalidArgumentError

router = APIRouter(tags=["admin"], responses=PROBLEM_RESPONSES)


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="Display name, 1 to 128 bytes of printable UTF-8")
    registration: str = Field(min_length=1, max_length=100,
                              description="Business registration number: only its SHA-256 goes on chain")


def _out(address: str, listing, tx_hash: str | None = None) -> ListingOut:
    return ListingOut(address=address, listed=listing is not None, name=listing.name if listing else None,
                      registration_digest=to_hex(listing.registration_digest) if listing else None, tx_hash=tx_hash)


def _factory_address(svc: Services, value: str) -> str:
    """An 0x address (EIP-55 if mixed case), or the name of a factory party with an address."""
    from eth_utils import to_checksum_address

    from ledger.pledge.collateral import is_valid_address

    if value.startswith(("0x", "0X")):
        if not is_valid_address(value):
            raise InvalidArgumentError(f"{value!r} is not an Ethereum address (EIP-55 if mixed case)")
        return to_checksum_address(value)
    party = svc.parties.get(value)
    if party.role != "factory" or not party.address:
        raise InvalidArgumentError(f"{value!r} is not a factory party with an address")
    return party.address


@router.get("/v1/factories", response_model=list[ListingOut], summary="Factories listed in the registry's directory (admin, auditor, lender, factory)")
def list_factories(_: AnyRole,
                   svc: Svc) -> list[ListingOut]:
    from ledger.directory import listed_factories

    listings = listed_factories(svc.chain(), svc.deployment_block)
    return [_out(item.address, item) for item in listings]


@router.put("/v1/factories/{address}", response_model=ListingOut, summary="List a factory in the directory, or change its listing (admin)")
def set_factory(address: str, body: ListingIn, party: Admin,
                svc: Svc) -> ListingOut:
    from ledger.directory import check_name, list_factory, listing_of, registration_digest

    chain = svc.chain()
    who = _factory_address(svc, address)
    name, digest = check_name(body.name), registration_digest(body.registration)  # refused before any chain call
    listing = listing_of(chain, who)
    if listing is not None and (listing.name, listing.registration_digest) == (name, digest):
        return _out(who, listing)  # nothing to send: no custody needed
    tx = list_factory(chain, admin_account(svc, party, chain), who, name, body.registration)
    return _out(who, listing_of(chain, who), tx)


@router.delete("/v1/factories/{address}", response_model=ListingOut, summary="Remove a factory's listing (admin)")
def remove_factory(address: str, party: Admin, svc: Svc) -> ListingOut:
    from ledger.directory import delist_factory, listing_of

    chain = svc.chain()
    who = _factory_address(svc, address)
    if listing_of(chain, who) is None:
        return _out(who, None)
    return _out(who, None, delist_factory(chain, admin_account(svc, party, chain), who))
