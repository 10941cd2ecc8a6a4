"""API keys: ``Authorization: Bearer KEY``. No key or a bad one is 401; a role that may not
call an endpoint is 403; another party's resource is 404 (no existence leaks)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import ApiProblem
from ledger.store.parties import PartyInfo

_bearer = HTTPBearer(auto_error=False, description="An API key: `dpl keys api --role ROLE --party NAME`.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dpl"'}


def services(request: Request):
    return request.app.state.services


def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> PartyInfo:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ApiProblem(401, "unauthenticated", "an API key is required: Authorization: Bearer KEY", _CHALLENGE)
    party = request.app.state.services.parties.authenticate(credentials.credentials)
    if party is None:
        raise ApiProblem(401, "unauthenticated", "the API key is not valid (unknown or revoked)", _CHALLENGE)
    return party


def role(*allowed: str) -> Callable[..., PartyInfo]:
    """A dependency: the caller, who must have one of ``allowed`` roles."""

    def check(party: PartyInfo = Depends(caller)) -> PartyInfo:
        if party.role not in allowed:
            raise ApiProblem(403, "forbidden", f"a {party.role} may not do this (allowed: {', '.join(allowed)})")
        return party

    return check


def not_found(what: str) -> ApiProblem:
    """The same answer for "does not exist" and "not yours"."""
    return ApiProblem(404, "not-found", f"no such {what}")
