"""RFC 9457 problem details from one table: each ``LedgerError`` class maps to a status and
a problem type. Malformed input is always 4xx with the record position and field.

A problem can always be written, whatever it echoes (a lone surrogate from a record id
becomes U+FFFD); anything that still escapes a route is a bare 500 problem, never a
traceback (the server's log has it)."""

from __future__ import annotations

import json
import re

from fastapi import Request
from pydantic import BaseModel, ConfigDict
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import (
    AnchoringBusyError, BundleError, ChainError, ChainUnavailableError, ConflictError, ContractRevertError,
    DataKeyError, ForbiddenError, InvalidArgumentError, LedgerError, NotFoundError, ProofError, RecordError,
)
from ledger.errors import StoreError
from ledger.keys import KeyUseError

PROBLEM = "application/problem+json"

#: (error class, HTTP status, problem type slug), most specific first.
ERROR_TABLE: list[tuple[type[Exception], int, str]] = [
    (RecordError, 422, "invalid-record"),
    (BundleError, 422, "invalid-bundle"),
    (ProofError, 422, "invalid-proof"),
    (InvalidArgumentError, 422, "invalid-argument"),
    (AnchoringBusyError, 409, "anchoring-busy"),
    (ConflictError, 409, "conflict"),
    (NotFoundError, 404, "not-found"),
    (ForbiddenError, 403, "forbidden"),
    (ContractRevertError, 409, "contract-refused"),
    (ChainUnavailableError, 503, "chain-unavailable"),
    (ChainError, 502, "chain-error"),
    (KeyUseError, 409, "key-unusable"),
    (DataKeyError, 503, "data-key"),
    (StoreError, 503, "store-unavailable"),
    (LedgerError, 400, "refused"),
]


class Problem(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def _described(status: int, what: str) -> dict:
    return {"description": what, "model": Problem,
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


#: Every route may answer with these problems; declared so clients (and schemathesis) know.
PROBLEM_RESPONSES = {
    400: _described(400, "Refused"),
    401: _described(401, "No API key, or not a valid one"),
    403: _described(403, "The caller's role may not do this"),
    404: _described(404, "No such resource (or not the caller's)"),
    409: _described(409, "Conflicts with the stored or on-chain state (contract errors by name)"),
    413: _described(413, "Too large (records or bytes)"),
    415: _described(415, "Unsupported content type"),
    422: _described(422, "Malformed input (record position and field when it is a record)"),
    502: _described(502, "The chain refused or failed"),
    503: _described(503, "The chain node or a dependency is unavailable"),
}


class ApiProblem(Exception):
    """A problem raised by the API layer itself (auth, limits, idempotency)."""

    def __init__(self, status: int, slug: str, detail: str, headers: dict | None = None, **extra):
        self.status, self.slug, self.detail, self.headers, self.extra = status, slug, detail, headers, extra


_SURROGATE = re.compile("[\ud800-\udfff]")


class ProblemResponse(JSONResponse):
    """``application/problem+json`` that can always be encoded: a problem may echo what a
    caller sent (a record id, a field path), and a lone surrogate there cannot be UTF-8."""

    media_type = PROBLEM

    def render(self, content) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str)
        return _SURROGATE.sub("\ufffd", text).encode("utf-8")


def problem(status: int, slug: str, detail: str, instance: str | None = None, headers=None, **extra) -> JSONResponse:
    body = {"type": f"https://data-pledge-ledger.dev/problems/{slug}", "title": slug.replace("-", " "),
            "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    return ProblemResponse(body, status_code=status, headers=headers)


def _path(request: Request) -> str:
    """The request's path from the scope (``request.url`` parses the Host header, which a
    caller may have forged into something that is no URL)."""
    return request.scope.get("path", "")


def _ledger_error(request: Request, e: LedgerError) -> JSONResponse:
    return ledger_problem(e, _path(request))


def ledger_problem(e: LedgerError, instance: str) -> JSONResponse:
    """The problem for a ``LedgerError``, from ``ERROR_TABLE`` (also for ``api.edge``, which
    runs outside the app's exception handlers)."""
    for cls, status, slug in ERROR_TABLE:
        if isinstance(e, cls):
            extra = {}
            if isinstance(e, RecordError):
                extra = {"position": e.position, "record_id": e.record_id, "field": e.field}
            if isinstance(e, ContractRevertError):
                extra = {"error": e.name, "arguments": [str(a) for a in e.args_]}
            retry = {"Retry-After": str(e.retry_after)} if isinstance(e, StoreError) and e.retry_after else None
            return problem(status, slug, str(e), instance, headers=retry, **extra)
    raise e  # not reached: LedgerError is the last row


def install(app) -> None:
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(ApiProblem, lambda r, e: problem(e.status, e.slug, e.detail, _path(r),
                                                              headers=e.headers, **e.extra))

    async def validation(request: Request, e: RequestValidationError):
        errors = [{"loc": list(err.get("loc", ())), "msg": err.get("msg", "")} for err in e.errors()]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        return problem(422, "invalid-request", f"{'.'.join(map(str, first['loc']))}: {first['msg']}",
                       _path(request), errors=errors)

    async def http(request: Request, e: StarletteHTTPException):
        return problem(e.status_code, "http-" + str(e.status_code), str(e.detail), _path(request),
                       headers=getattr(e, "headers", None))

    async def internal(request: Request, e: Exception):
        # The last line of defence (Starlette's ServerErrorMiddleware calls it, then re-raises
        # so that the server logs the traceback): a problem, never text/plain or a traceback.
        return problem(500, "internal-error", "the service failed on this request (the error is in its log)",
                       _path(request))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, internal)
