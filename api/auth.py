"""API keys: ``Authorization: Bearer KEY``. No key or a bad one is 401; a role that may not
call an endpoint is 403; another party's resource is 404 (no existence leaks).

The web UI's pages call the same endpoints with the session cookie instead (``api.web``): a
session stands for the API key it signed in with, so a page can do exactly what its key
can. A state-changing call with the cookie must also carry the session's CSRF token in
``X-CSRF-Token`` (a page from another site cannot read it)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from api.errors import ApiProblem
from ledger.store.parties import PartyInfo

_bearer = HTTPBearer(auto_error=False, description="An API key: `dpl keys api --role ROLE --party NAME`.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dpl"'}


def services(request: Request):
    return request.app.state.services


SESSION_COOKIE = "dpl_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_of(request: Request):
    """The web session of the request's cookie, or None."""
    return request.app.state.services.sessions.get(request.cookies.get(SESSION_COOKIE))


#: Where the edge (``api.edge``) keeps the caller it authenticated, in the request's scope.
PARTY_SCOPE_KEY = "dpl.party"


def authenticate(request: Request) -> PartyInfo:
    """The party calling: a Bearer key, else the session cookie (with the CSRF token for a
    write). ``ApiProblem`` 401 (or 403 for a missing CSRF token) otherwise. Reads headers
    only, never the body: the edge calls it before a byte of the body is read."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    bearer = token if scheme.lower() == "bearer" and token else None
    if bearer is None and SESSION_COOKIE in request.cookies:
        session = session_of(request)
        if session is None:
            raise ApiProblem(401, "unauthenticated", "the session has ended (signed out, expired or its key revoked): "
                             "sign in again", _CHALLENGE)
        if request.method not in _SAFE_METHODS and not hmac.compare_digest(
                request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
            raise ApiProblem(403, "forbidden", f"a call with the session cookie must carry its {CSRF_HEADER} header")
        return session.party
    if bearer is None:
        raise ApiProblem(401, "unauthenticated", "an API key is required: Authorization: Bearer KEY", _CHALLENGE)
    party = request.app.state.services.parties.authenticate(bearer)
    if party is None:
        raise ApiProblem(401, "unauthenticated", "the API key is not valid (unknown or revoked)", _CHALLENGE)
    return party


def caller(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> PartyInfo:
    """The dependency: the party the edge authenticated (``credentials`` only declares the
    scheme in OpenAPI). Without the edge (an app built otherwise) it authenticates itself."""
    party = request.scope.get(PARTY_SCOPE_KEY)
    return party if party is not None else authenticate(request)


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
