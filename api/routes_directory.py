"""The registry's factory directory over HTTP (``ledger.service.admin.Directory``): who a
factory address is, as the registry admin recorded it on chain. Every party may read it (a
verifier prints the name it gives); only an admin whose chain key the service holds may change
it, and nothing is sent when the directory already says so."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Admin, AnyRole, Svc, admin_signer
from api.errors import PROBLEM_RESPONSES
from api.schemas import ListingOut
from ledger.bundles import to_hex
from ledger.service.admin import Directory, address_of

router = APIRouter(tags=["admin"], responses=PROBLEM_RESPONSES)


class ListingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, description="Display name, 1 to 128 bytes of printable UTF-8")
    registration: str = Field(min_length=1, max_length=100,
                              description="Business registration number: only its SHA-256 goes on chain")


def _out(address: str, listing, tx_hash: str | None = None) -> ListingOut:
    return ListingOut(address=address, listed=listing is not None, name=listing.name if listing else None,
                      registration_digest=to_hex(listing.registration_digest) if listing else None, tx_hash=tx_hash)


@router.get("/v1/factories", response_model=list[ListingOut], summary="Factories listed in the registry's directory (admin, auditor, lender, factory)")
def list_factories(_: AnyRole, svc: Svc) -> list[ListingOut]:
    return [_out(item.address, item) for item in Directory(svc).list()]


@router.get("/v1/factories/{address}", response_model=ListingOut, summary="Who the directory says a factory address (or factory party) is (admin, auditor, lender, factory)")
def show_factory(address: str, _: AnyRole, svc: Svc) -> ListingOut:
    who = address_of(svc, address, "factory")
    return _out(who, Directory(svc).show(who))


@router.put("/v1/factories/{address}", response_model=ListingOut, summary="List a factory in the directory, or change its listing (admin)")
def set_factory(address: str, body: ListingIn, party: Admin, svc: Svc) -> ListingOut:
    change = Directory(svc).set(address_of(svc, address, "factory"), body.name, body.registration,
                                admin_signer(svc, party))
    return _out(change.address, change.listing, change.tx_hash)


@router.delete("/v1/factories/{address}", response_model=ListingOut, summary="Remove a factory's listing (admin)")
def remove_factory(address: str, party: Admin, svc: Svc) -> ListingOut:
    change = Directory(svc).remove(address_of(svc, address, "factory"), admin_signer(svc, party))
    return _out(change.address, change.listing, change.tx_hash)
