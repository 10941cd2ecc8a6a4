"""Pages of the web UI, sign-in and sign-out.

A party signs in with its API key (POSTed once, never in a URL); the browser then holds an
HttpOnly, SameSite=Strict session cookie. Pages are shells: their modules read and change
data through /v1 (``api.auth`` accepts the cookie there, with the CSRF token for writes).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import SESSION_COOKIE, session_of
from api.deps import Svc
from ledger.service.health import check_health
from ledger.settings import browser_rpc_url
from ledger.store.web_sessions import SESSION_HOURS

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

#: page path -> (template, roles that may open it; None: anyone, signed in or not)
PAGES = {
    "/factory": ("factory.html", {"factory"}),
    "/lender": ("lender.html", {"lender"}),
    "/verify": ("verify.html", None),
    "/auditor": ("auditor.html", {"auditor"}),
    "/admin": ("admin.html", {"admin"}),
}
HOME = {"factory": "/factory", "lender": "/lender", "auditor": "/auditor", "admin": "/admin"}
#: Scripts and styles from this origin only; chain reads may go to any JSON-RPC URL the user types.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src *; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
#: Sec-Fetch-Site values of a form posted from another site (login CSRF, forced sign-out).
FOREIGN_SITES = frozenset({"cross-site", "same-site"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _script_json(value) -> str:
    """JSON for a <script type="application/json"> block: no "</script>" or "<!--" can end it early."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _web_url(url: str | None) -> str | None:
    """An http(s) URL for a link, else None (a javascript: or data: URL never becomes an href)."""
    url = (url or "").strip().rstrip("/")
    return url if url.lower().startswith(("https://", "http://")) else None


def _from_elsewhere(request: Request) -> bool:
    """A form posted by a page of another origin (login CSRF, forced sign-out).

    Browsers say where a form comes from in ``Origin`` and ``Referer`` (either may be
    missing, or ``Origin: null`` when the page's referrer policy hides it, as ours does)
    and in ``Sec-Fetch-Site``. Any of them naming another origin refuses the form; a request
    with none of them (curl, a test client) is not a browser's cross-site form."""
    if request.headers.get("sec-fetch-site", "").lower() in FOREIGN_SITES:
        return True
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value and value != "null" and not _same_origin(value, request.headers.get("host")):
            return True
    return False


def _same_origin(url: str, host: str | None) -> bool:
    """Does ``url`` (an Origin or a Referer) name this service, as the ``Host`` the browser
    sent it to? Host and port are compared (the scheme may be https at a proxy in front of
    us); behind a proxy, it must pass the Host header on."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        ours = urlsplit(f"{parts.scheme}://{host}")
        our_port = ours.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # not a URL, or a port that is no number
        return False
    return bool(host and parts.hostname and parts.scheme in _DEFAULT_PORTS and ours.hostname
                and parts.hostname == ours.hostname and port == our_port)


def _chain_facts(svc) -> dict:
    try:
        chain = svc.chain()
        return {"chainId": chain.chain_id, "registry": chain.registry.address, "chainError": None}
    except Exception as e:  # the pages still work for what needs no chain
        return {"chainId": None, "registry": None, "chainError": str(e).splitlines()[0] if str(e) else type(e).__name__}


def _health(svc) -> dict:
    """The sign-in page shows the service's health (the same report as ``/health``)."""
    return check_health(svc, getattr(svc, "loop", None))


def _render(request: Request, template: str, session, status: int = 200, **context) -> HTMLResponse:
    svc = request.app.state.services
    settings = svc.settings
    config = {
        "party": session.party.name if session else None,
        "role": session.party.role if session else None,
        "address": session.party.address if session else None,
        "custodial": bool(session and session.party.key_name),  # the service holds the party's chain key
        "csrf": session.csrf if session else None,
        "rpcUrl": browser_rpc_url(settings),
        "explorer": _web_url(settings.explorer_url),
        **_chain_facts(svc),
    }
    response = templates.TemplateResponse(request, template, {
        "session": session, "config_json": _script_json(config), "config": config, "home": HOME, **context,
    }, status_code=status)
    _harden(response)
    return response


def _harden(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"  # browsers that predate CSP frame-ancestors


@router.get("/", response_class=HTMLResponse)
def home(request: Request, svc: Svc):
    session = session_of(request)
    if session is not None:
        return RedirectResponse(HOME[session.party.role], status_code=303)
    return _render(request, "signin.html", None, health=_health(svc), error=None)


@router.post("/signin", response_class=HTMLResponse)
async def sign_in(request: Request, svc: Svc):
    if _from_elsewhere(request):
        return _render(request, "signin.html", None, status=403, health=_health(svc),
                       error="Sign in from this service's own page: a form on another site may not sign you in.")
    body = await request.body()  # at most api.edge's limit for /signin (4 KiB)
    key = (parse_qs(body.decode("utf-8", "replace")).get("api_key") or [""])[0].strip()
    opened = svc.sessions.open(key) if key else None
    if opened is None:
        error = ("Enter an API key." if not key else
                 "That API key is not valid (unknown, mistyped or revoked).")
        return _render(request, "signin.html", None, status=401, health=_health(svc), error=error)
    token, session = opened
    svc.sessions.close(request.cookies.get(SESSION_COOKIE))  # a session signed in over ends here
    response = RedirectResponse(HOME[session.party.role], status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


@router.post("/signout")
def sign_out(request: Request, svc: Svc):
    if _from_elsewhere(request):
        return RedirectResponse("/", status_code=303)  # another site may not sign you out
    svc.sessions.close(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _page(path: str, template: str, roles: set[str] | None):
    def page(request: Request):
        session = session_of(request)
        if roles is not None and session is None:
            return RedirectResponse("/", status_code=303)
        if roles is not None and session.party.role not in roles:
            return _render(request, "forbidden.html", session, status=403, wanted=", ".join(sorted(roles)))
        return _render(request, template, session)

    page.__name__ = "page_" + path.strip("/")
    return page


for _path, (_template, _roles) in PAGES.items():
    router.add_api_route(_path, _page(_path, _template, _roles), methods=["GET"], response_class=HTMLResponse)


@router.get("/web/registry-code.json")
def registry_code(request: Request) -> JSONResponse:
    """The registry's runtime code and immutable positions, for the browser's code check."""
    from ledger.chain.build import load_artifact

    artifact = load_artifact("DataPledgeRegistry")
    return JSONResponse({"deployedBytecode": artifact["deployedBytecode"],
                         "immutableReferences": artifact.get("immutableReferences", {})},
                        headers={"Cache-Control": "public, max-age=300"})
