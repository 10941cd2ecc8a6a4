"""Covenant warnings (docs/COVENANTS.md, DESIGN.md §9): what the monitor raised about a pledge's
production after the loan.

The pledge's holder and the factory of its log see the same warnings (no surprises between the
parties); an auditor sees how many there are in each state. Only the holder acknowledges one
(``open`` → ``acknowledged``); resolution is automatic. Another party's pledge or warning is 404,
as for one that does not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam

from api.deps import Lender, PledgeHolderOrFactory, PledgeParty, Svc
from api.errors import PROBLEM_RESPONSES
from api.schemas import PledgeWarningsOut, WarningOut
from ledger.errors import NotFoundError
from ledger.service.monitor import Monitor

router = APIRouter(prefix="/v1", tags=["warnings"], responses=PROBLEM_RESPONSES)
TokenId = Annotated[int, PathParam(ge=1, le=2**64 - 1, description="The pledge's token id")]
WarningId = Annotated[int, PathParam(ge=1, le=2**63 - 1, description="The warning's id")]


@router.get("/pledges/{token_id}/warnings", response_model=PledgeWarningsOut,
            summary="A pledge's covenant warnings (holder, the log's factory); counts for an auditor")
def pledge_warnings(token_id: TokenId, party: PledgeParty, svc: Svc) -> dict:
    monitor = Monitor(svc)
    counts = monitor.counts(token_id, party)  # 404 unless the party may see the pledge
    found = None if party.role == "auditor" else monitor.warnings(party, token_id)
    return {"token_id": token_id, "counts": counts, "warnings": found}


@router.post("/pledges/{token_id}/warnings/{warning_id}/ack", response_model=WarningOut,
             summary="Acknowledge an open warning of a pledge you hold")
def acknowledge_warning(token_id: TokenId, warning_id: WarningId, party: Lender, svc: Svc) -> dict:
    monitor = Monitor(svc)
    if not any(w["id"] == warning_id for w in monitor.warnings(party, token_id)):
        raise NotFoundError("no such warning")
    return monitor.acknowledge(warning_id, party.address or "", party)


@router.get("/warnings", response_model=list[WarningOut],
            summary="The warnings of the pledges you hold (lender) or over your logs (factory)")
def my_warnings(party: PledgeHolderOrFactory, svc: Svc) -> list[dict]:
    return Monitor(svc).warnings(party)
