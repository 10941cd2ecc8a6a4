"""The service's edge: limits and authentication before any route reads a byte of a body.

``Edge`` wraps the routes (outside it: only ``NoStoreForApi`` and Starlette's last-resort
500 handler). For every HTTP request, in this order:

1. it finds the request's route, as the router will (``EdgeRule``: the body limit from
   ``BODY_LIMITS``, whether the route needs a caller, what it does with a body);
2. a route that needs a caller **authenticates** (``api.auth.authenticate``, the one
   function the ``caller`` dependency also uses): no key, a bad key or a write without the
   session's CSRF token is refused before a byte of the body is read. The party travels
   in the scope, where ``caller`` finds it;
3. a URL holding a NUL (``%00``) is a 422 (no name, id or address has one; PostgreSQL
   takes none);
4. a declared ``Content-Length`` above the route's limit is a 413 at once; otherwise the
   body is counted while it streams, and passing the limit is a 413 then;
5. a route with a JSON body gets it only after ``ledger.jsonio`` has read it (nesting,
   duplicate keys, NaN, integers beyond Python's digit limit, lone surrogates, and here
   also NUL in a string: a 422 problem), so FastAPI's own parser never sees a deep text;
   the checked bytes are replayed to the route. A route that takes no body gets none (a
   small one is read and dropped; a larger one is a 413). The records route and the
   sign-in form read their own bodies, counted.

A refusal that leaves part of a body unsent or unread answers with ``Connection: close``:
the server neither buffers nor drains what a client keeps sending (uvicorn would read and
drop all of it on a kept-alive connection), and the client still reads the answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import params
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.requests import Request

from api import auth, routes_logs
from api.errors import ApiProblem, ledger_problem, problem
from ledger import jsonio
from ledger.errors import LedgerError

KIB, MIB = 1024, 1024 * 1024

#: Request body limits in bytes, per route (method, path template). The one table.
BODY_LIMITS: dict[tuple[str, str], int] = {
    ("POST", "/v1/logs/{log_id}/records"): routes_logs.MAX_BYTES,  # a batch of records: 64 MiB
    ("POST", "/v1/pledges/consents"): 1 * MIB,  # a signed consent carries its manifest
    ("POST", "/signin"): 4 * KIB,  # a form with one API key
}
#: Any other route that takes a JSON body.
JSON_BODY_LIMIT = 64 * KIB
#: Everything else (no body expected: it is read and dropped when this small, else a 413).
OTHER_BODY_LIMIT = 1 * KIB

JSON, STREAM, NONE = "json", "stream", "none"


@dataclass(frozen=True)
class EdgeRule:
    """What the edge does for one route: ``body`` is JSON (read, checked, replayed), STREAM
    (the route reads it itself, counted) or NONE (read and dropped)."""

    limit: int
    authenticate: bool
    body: str


#: Unknown paths and methods (the router answers 404/405): no caller, no body.
OTHER = EdgeRule(OTHER_BODY_LIMIT, False, NONE)


def rule_for(route: APIRoute) -> EdgeRule:
    """The edge's rule for a route: its limit (``BODY_LIMITS``, else by what it takes) and
    whether any of its dependencies is ``api.auth.caller``."""
    listed = [BODY_LIMITS[(m, route.path)] for m in route.methods if (m, route.path) in BODY_LIMITS]
    if route.body_field is not None and not isinstance(route.body_field.field_info, params.Form):
        kind = JSON
    elif listed or route.body_field is not None:
        kind = STREAM  # reads its own body (records, the sign-in form)
    else:
        kind = NONE
    limit = max(listed) if listed else JSON_BODY_LIMIT if kind != NONE else OTHER_BODY_LIMIT
    return EdgeRule(limit, _needs_caller(route), kind)


def _needs_caller(route: APIRoute) -> bool:
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        if dependant.call is auth.caller:
            return True
        stack.extend(dependant.dependencies)
    return False


class _Body:
    """How much of the request body has come in, and whether all of it."""

    def __init__(self, scope):
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        self.declared = int(length) if length is not None and length.isdigit() else None
        self.complete = self.declared == 0 or (length is None and b"transfer-encoding" not in headers)
        self.received = 0


class Edge:
    """ASGI middleware (see the module docstring). ``routes``: the app's API routes, in the
    order the router tries them."""

    def __init__(self, app, routes: list[APIRoute]):
        self.app = app
        self.rules = [(route, rule_for(route)) for route in routes]

    def rule(self, scope) -> EdgeRule:
        path, method = scope["path"], scope["method"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        for route, rule in self.rules:
            if method in route.methods and route.path_regex.match(path):
                return rule
        return OTHER

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = _Body(scope)

        async def send_closing(message):
            # An answer sent before the body has all come in ends the connection: nothing is
            # buffered or drained for a client that keeps sending.
            if message["type"] == "http.response.start" and not body.complete:
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        rule = self.rule(scope)
        try:
            if rule.authenticate:
                scope[auth.PARTY_SCOPE_KEY] = await run_in_threadpool(auth.authenticate, Request(scope))
            if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
                raise ApiProblem(422, "invalid-argument", NUL_REFUSED.format(what="the URL"))
            if body.declared is not None and body.declared > rule.limit:
                raise _too_large(scope, rule.limit)
            counted = _counting(receive, body, rule.limit, scope)
            if rule.body == STREAM:
                app_receive = counted  # the route reads it; passing the limit raises a 413 there
            else:
                raw = await _read_all(counted, body)
                if raw is None:
                    return  # the client went away
                if rule.body == JSON and raw:
                    _check_json(raw)
                app_receive = _replay(raw if rule.body == JSON else b"", receive)
        except ApiProblem as e:
            return await problem(e.status, e.slug, e.detail, scope["path"], headers=e.headers,
                                 **e.extra)(scope, receive, send_closing)
        except jsonio.JsonInputError as e:
            return await problem(422, "invalid-json", str(e), scope["path"], field=e.path)(scope, receive, send_closing)
        except LedgerError as e:  # e.g. the database busy while the key is looked up: as the routes answer it
            return await ledger_problem(e, scope["path"])(scope, receive, send_closing)
        await self.app(scope, app_receive, send_closing)


NUL_REFUSED = "{what} holds a NUL character (U+0000), which no name, key, address or date has"


def _check_json(raw: bytes) -> None:
    """A JSON body as ``ledger.jsonio`` reads it (depth, duplicate keys, NaN, lone
    surrogates), whose strings hold no NUL (no database column takes one)."""
    value = jsonio.loads(raw, what="the request body", refuse_lone_surrogates=True)
    if b"\\u0000" in raw:  # JSON has no other way to write a NUL in a string
        where = jsonio.find_text(value, lambda text: "\x00" in text)
        if where is not None:
            raise ApiProblem(422, "invalid-json", NUL_REFUSED.format(what="the request body"), field=where or None)


def _too_large(scope, limit: int) -> ApiProblem:
    return ApiProblem(413, "too-large", f"the body of {scope['method']} {scope['path']} may be at most "
                                        f"{limit:,} bytes", limit=limit)


def _counting(receive, body: _Body, limit: int, scope):
    """``receive`` that counts the body and refuses (413) the message that passes ``limit``."""

    async def counted():
        message = await receive()
        if message["type"] == "http.request":
            body.received += len(message.get("body", b""))
            if not message.get("more_body", False):
                body.complete = True
            if body.received > limit:
                raise _too_large(scope, limit)
        return message

    return counted


async def _read_all(receive, body: _Body) -> bytes | None:
    """The whole (counted, so bounded) body; None when the client disconnected."""
    if body.complete and not body.declared:
        return b""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(raw: bytes, receive):
    """``receive`` that hands the app ``raw`` as the whole body, then what the server sends
    (a disconnect)."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay
