"""Data-access grants (docs/GRANTS.md).

A factory grants a lender party reads of its own logs (``dpl-grant/1``: logs, a range or period,
record types and the ``data`` fields of each, an expiry) and may revoke the grant at once. The
lender reads records through a live grant, a bounded page at a time, and gets only the granted
fields; a revoked or expired grant is refused (403). A grant that does not name the caller is a
404, as if absent. An auditor lists every grant (never records).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import Field

from api.deps import Factory, Lender, PledgeParty, Svc, caller_key_prefix
from api.errors import PROBLEM_RESPONSES
from api.schemas import Document, Out
from ledger.limits import MAX_INDEX
from ledger.service.grants import GrantView, Grants

router = APIRouter(prefix="/v1", tags=["grants"], responses=PROBLEM_RESPONSES)
GrantId = Annotated[int, PathParam(ge=1, le=2**53 - 1, description="The grant's id")]


class GrantOut(Out):
    id: int
    factory: str = Field(description="The factory party's name")
    lender: str = Field(description="The lender's address")
    digest: str = Field(description="SHA-256 of the grant's RFC 8785 bytes")
    state: str = Field(description="live, revoked or expired")
    grant: Document = Field(description="The checked dpl-grant/1")
    created_at: str
    revoked_at: str | None


class GrantReadOut(Out):
    """A ``dpl-grant-read/1`` (docs/GRANTS.md)."""

    format: str = Field(description="dpl-grant-read/1")
    grant: Document
    log_id: str
    stream: str
    range: Document
    checkpoint: Document | None
    anchor: Document | None
    notice: str | None
    records: list[Document]
    receipt: Document | None = Field(description="The access log's receipt of this read")


def _out(view: GrantView) -> GrantOut:
    return GrantOut.model_validate(view.as_json())


@router.post("/grants", response_model=GrantOut, status_code=201,
             summary="Grant a lender reads of the caller's logs (factory; body: a dpl-grant/1)")
def create_grant(party: Factory, svc: Svc, body: Annotated[dict[str, Any], Body()]) -> GrantOut:
    return _out(Grants(svc).create(party, body))


@router.get("/grants", response_model=list[GrantOut],
            summary="Grants the caller made (factory), that name it (lender), or all (auditor)")
def list_grants(party: PledgeParty, svc: Svc) -> list[GrantOut]:
    return [_out(v) for v in Grants(svc).list(party)]


@router.get("/grants/{grant_id}", response_model=GrantOut, summary="One grant")
def get_grant(grant_id: GrantId, party: PledgeParty, svc: Svc) -> GrantOut:
    return _out(Grants(svc).get(party, grant_id))


@router.post("/grants/{grant_id}/revoke", response_model=GrantOut,
             summary="Revoke a grant at once: the lender's next read is refused (factory)")
def revoke_grant(grant_id: GrantId, party: Factory, svc: Svc) -> GrantOut:
    return _out(Grants(svc).revoke(party, grant_id))


@router.get("/grants/{grant_id}/records", response_model=GrantReadOut,
            summary="Records [from, to) of a granted log, with only the granted fields (lender; at most 1,000 indices)")
def read_records(grant_id: GrantId, request: Request, party: Lender, svc: Svc,
                 log: str = Query(pattern=r"^0x[0-9a-fA-F]{64}$", description="The log id, 0x-hex"),
                 start: int = Query(alias="from", ge=0, le=MAX_INDEX, description="First record index"),
                 end: int = Query(alias="to", ge=1, le=MAX_INDEX, description="End of the range (exclusive)"),
                 ) -> Response:
    document = Grants(svc).read(party, grant_id, log, start, end, key_prefix=caller_key_prefix(request))
    return Response(orjson.dumps(document), media_type="application/json", headers={"Cache-Control": "no-store"})
