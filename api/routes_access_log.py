"""The access log (``docs/ACCESS.md``): every read through a grant, as the factory's own anchored
log. A factory lists its own; an auditor any factory's (``?factory=``). Proofs of an entry
against the newest anchored checkpoint: the factory, an auditor, and the lender the entry names
(with the ``access_log`` id its receipt carries). Entries are written by the grants' read path
(``ledger.service.access_log.AccessLog.record``), never through this router."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import Field

from api.deps import LogReader, PledgeParty, Svc
from api.errors import PROBLEM_RESPONSES
from api.schemas import ConsistencyBundle, Out, ProofBundle
from ledger.bundles import to_hex
from ledger.limits import MAX_INDEX
from ledger.service.access_log import MAX_PAGE, AccessLog, access_stream

router = APIRouter(prefix="/v1/access-log", tags=["access log"], responses=PROBLEM_RESPONSES)

FactoryQuery = Annotated[str | None, Query(min_length=1, max_length=100,
                                           description="The factory (party name or 0x address); a factory "
                                                       "may omit it (its own)")]
AccessLogQuery = Annotated[str | None, Query(pattern=r"^0x[0-9a-fA-F]{64}$",
                                             description="The access log's on-chain id (a receipt's access_log)")]


class AccessEntryOut(Out):
    index: int
    id: str
    ts: str = Field(description="The service's clock when the read was answered or refused")
    leaf_hash: str
    party: str = Field(description="Who read (the reader party's name)")
    role: str
    address: str | None
    key_prefix: str | None = Field(description="The API key's prefix the read was made with")
    grant_id: int | None
    log_id: str = Field(description="The log read from")
    records: dict = Field(description='{"from", "to"} or {"count", "indices_sha256"}')
    fields: dict = Field(description="Record type -> the data fields shown (or '*')")
    outcome: str = Field(description="read | refused")
    reason: str | None


class AccessLogOut(Out):
    factory: str
    stream: str
    access_log: str | None = Field(description="The access log's on-chain id (null: nothing recorded yet)")
    size: int
    entries: list[AccessEntryOut]


@router.get("", response_model=AccessLogOut, summary="List an access log (factory: its own; auditor: ?factory=)")
def list_entries(party: LogReader, svc: Svc, factory: FactoryQuery = None, access_log: AccessLogQuery = None,
                 start: int = Query(default=0, ge=0, le=MAX_INDEX),
                 limit: int = Query(default=MAX_PAGE, ge=1, le=MAX_PAGE)) -> dict:
    access = AccessLog(svc)
    address = access.factory_for(party, factory, access_log)
    info = access.log(address)
    return {"factory": address, "stream": access_stream(address),
            "access_log": to_hex(info.log_id) if info and info.log_id else None, "size": info.size if info else 0,
            "entries": access.entries(address, start, start + limit)}


@router.get("/consistency", response_model=ConsistencyBundle,
            summary="Consistency of an access log between two sizes (dpl-consistency/1)")
def consistency(party: LogReader, svc: Svc, factory: FactoryQuery = None, access_log: AccessLogQuery = None,
                old: int = Query(alias="from", ge=1, le=MAX_INDEX),
                new: int | None = Query(default=None, alias="to", ge=1, le=MAX_INDEX)) -> dict:
    access = AccessLog(svc)
    return access.consistency(access.factory_for(party, factory, access_log), old, new)


@router.get("/{index}/proof", response_model=ProofBundle,
            summary="An entry with its inclusion proof against the newest anchored checkpoint (dpl-proof/1)",
            description="409 until an anchored checkpoint covers the entry. A lender gets only the entries "
                        "that name it (pass the receipt's `access_log`). Verify with `dpl access-log "
                        "check-receipt RECEIPT PROOF --rpc URL`.")
def proof(index: Annotated[int, PathParam(ge=0, le=MAX_INDEX)], party: PledgeParty, svc: Svc,
          factory: FactoryQuery = None, access_log: AccessLogQuery = None,
          size: int | None = Query(default=None, ge=1, le=MAX_INDEX)) -> JSONResponse:
    access = AccessLog(svc)
    return JSONResponse(access.proof_for(party, access.factory_for(party, factory, access_log), index, size))
