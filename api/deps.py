"""What the routers share: the dependencies an endpoint names, and the lookups several routers
make for a caller (a log it may read, a lender by name or address, an admin's chain key).

Routers import this module, ``api.schemas`` (what they answer), ``api.errors``, the services
and the ledger, never another router (``tests/test_layers.py``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.security.utils import get_authorization_scheme_param

from api.auth import caller, not_found, role, services, session_of
from api.errors import ApiProblem
from api.services import Services
from ledger.store.parties import PartyInfo

__all__ = ["not_found", "Admin", "AdminOrAuditor", "Auditor", "Caller", "Factory", "LogId", "LogReader", "Lender",
           "PledgeParty", "PledgeHolderOrFactory", "AnyRole", "Svc", "admin_account", "admin_signer", "find_log", "find_log_anchored", "lender_address",
           "caller_key_prefix"]

#: The worker's services (``app.state.services``).
Svc = Annotated[Services, Depends(services)]
#: The authenticated caller, any role (the route decides what it may see).
Caller = Annotated[PartyInfo, Depends(caller)]
#: The caller, who must have one of the roles named (403 otherwise).
Admin = Annotated[PartyInfo, Depends(role("admin"))]
Auditor = Annotated[PartyInfo, Depends(role("auditor"))]
Factory = Annotated[PartyInfo, Depends(role("factory"))]
Lender = Annotated[PartyInfo, Depends(role("lender"))]
AdminOrAuditor = Annotated[PartyInfo, Depends(role("admin", "auditor"))]
LogReader = Annotated[PartyInfo, Depends(role("factory", "auditor"))]
PledgeParty = Annotated[PartyInfo, Depends(role("factory", "lender", "auditor"))]
PledgeHolderOrFactory = Annotated[PartyInfo, Depends(role("lender", "factory"))]
AnyRole = Annotated[PartyInfo, Depends(role("admin", "auditor", "lender", "factory"))]

LogId = Annotated[str, PathParam(pattern=r"^0x[0-9a-fA-F]{64}$", description="The on-chain log id, 0x-hex")]


def find_log(svc: Services, party: PartyInfo, log_id: str, roles=("factory", "auditor")):
    """The log with this id that ``party`` may read, else 404 (whether absent or not theirs)."""
    return find_log_anchored(svc, party, log_id, roles).info


def find_log_anchored(svc: Services, party: PartyInfo, log_id: str, roles=("factory", "auditor"),
                      anchored: tuple[int, int | None] | None = None):
    """``find_log`` as a ``FoundLog``: with ``anchored=(above, size)`` it carries the newest
    anchored checkpoint ``AnchorStore.newest_anchored`` finds, read in the same round trip."""
    if party.role not in roles:
        raise ApiProblem(403, "forbidden", f"a {party.role} may not read logs")
    try:
        wanted = bytes.fromhex(log_id[2:]) if log_id.startswith("0x") and len(log_id) == 66 else None
    except ValueError:
        wanted = None
    if wanted is None:
        raise ApiProblem(422, "invalid-argument", "log_id must be 0x and 64 hex digits")
    from ledger.service.logs import Logs

    return Logs(svc).find_by_log_id(wanted, party, anchored)  # absent or not theirs: the same 404 "no such log"


def lender_address(svc: Services, value: str) -> str:
    """An address, or the address of a lender party by name (``ledger.service.admin.address_of``:
    an unknown name and a party that is not a lender get one answer)."""
    from ledger.service.admin import address_of

    return address_of(svc, value, "lender")


def admin_account(svc: Services, party: PartyInfo, chain):
    """The admin's custodial chain key; 409 ``not-custodial`` when the service holds none."""
    if not party.key_name:
        raise ApiProblem(409, "not-custodial", "the service holds no chain key for this admin")
    return svc.keyring.account(party.key_name, chain.chain_id)


def admin_signer(svc: Services, party: PartyInfo):
    """The admin's signer for a registry change (``ledger.service.admin``): its custodial key,
    asked for only when there is something to send."""
    return lambda chain: admin_account(svc, party, chain)


def caller_key_prefix(request: Request) -> str | None:
    """The prefix of the API key the caller authenticated with (a Bearer key, or the key its web
    session stands for): who read what, in the access log."""
    from ledger.store.parties import key_prefix

    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() == "bearer" and token:
        return key_prefix(token)
    session = session_of(request)
    return session.key_prefix if session is not None else None
