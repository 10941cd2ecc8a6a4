"""Production profiles and full disclosures (docs/PROFILE.md).

A factory builds the profile of a range of its own log (a preview before it consents) and
discloses a range in full to a named lender; the lender lists the disclosures naming it, fetches
each (streamed: every record with its salt and the range proof) and the factory's profile of it,
and recomputes the profile itself (``dpl profile verify``, or the lender page in the browser).
An auditor may build the profile of any log (figures, never records). A revoked disclosure is
refused to the lender (403).
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Factory, LogId, LogReader, PledgeHolderOrFactory, Svc, find_log, lender_address
from api.errors import PROBLEM_RESPONSES
from api.schemas import DisclosureDoc, DisclosureOut, ProfileDoc
from ledger.limits import MAX_INDEX
from ledger.service.profiles import DisclosureView, ProfileParams, Profiles

router = APIRouter(prefix="/v1", tags=["profiles"], responses=PROBLEM_RESPONSES)
DisclosureId = Annotated[int, PathParam(ge=1, le=2**53 - 1, description="The disclosure's id")]


class ProfileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: int = Field(alias="from", ge=0, le=MAX_INDEX, description="First record index (inclusive)")
    end: int = Field(alias="to", ge=1, le=MAX_INDEX, description="End of the range (exclusive)")
    tz: str | None = Field(default=None, max_length=6, description="±HH:MM, the offset naming days (default +00:00)")
    mapping: dict | None = Field(default=None, description="A dpl-mapping/1 object")
    thresholds: dict | None = Field(default=None, description="Flag thresholds overriding the defaults")
    checkpoint: int | None = Field(default=None, ge=1, le=MAX_INDEX,
                                   description="Size of the anchored checkpoint (default: the newest covering the range)")

    def params(self) -> ProfileParams:
        return ProfileParams.checked(self.tz, self.mapping, self.thresholds)


class DisclosureRequest(ProfileRequest):
    lender: str = Field(min_length=1, max_length=100, description="The lender's address (or its party name)")


def _json(document: dict) -> Response:
    return Response(orjson.dumps(document), media_type="application/json")


def _out(view: DisclosureView) -> DisclosureOut:
    return DisclosureOut.model_validate(view.as_json())


@router.post("/logs/{log_id}/profile", response_model=ProfileDoc,
             summary="The production profile of a range of a log (its factory, an auditor)")
def build_profile(log_id: LogId, body: ProfileRequest, party: LogReader, svc: Svc) -> Response:
    info = find_log(svc, party, log_id)
    return _json(Profiles(svc).build(info.stream, body.start, body.end, body.params(), body.checkpoint))


@router.post("/logs/{log_id}/disclosures", response_model=DisclosureOut, status_code=201,
             summary="Disclose a range of the caller's log in full to a lender (factory)")
def disclose(log_id: LogId, body: DisclosureRequest, party: Factory, svc: Svc) -> DisclosureOut:
    info = find_log(svc, party, log_id)
    lender = lender_address(svc, body.lender)
    return _out(Profiles(svc).disclose(party, info.stream, lender, body.start, body.end, body.params(),
                                       body.checkpoint))


@router.get("/disclosures", response_model=list[DisclosureOut],
            summary="Disclosures the caller made (factory) or that name it (lender)")
def list_disclosures(party: PledgeHolderOrFactory, svc: Svc) -> list[DisclosureOut]:
    return [_out(v) for v in Profiles(svc).disclosures(party)]


@router.get("/disclosures/{disclosure_id}", response_model=DisclosureOut, summary="One disclosure")
def get_disclosure(disclosure_id: DisclosureId, party: PledgeHolderOrFactory, svc: Svc) -> DisclosureOut:
    return _out(Profiles(svc).disclosure(party, disclosure_id))


@router.get("/disclosures/{disclosure_id}/document", response_model=DisclosureDoc,
            summary="The dpl-disclosure/1 document: every record of the range, streamed")
def disclosure_document(disclosure_id: DisclosureId, party: PledgeHolderOrFactory, svc: Svc) -> StreamingResponse:
    view, chunks = Profiles(svc).disclosure_document(party, disclosure_id)
    name = f"disclosure-{view.id}-{view.start}-{view.end}.json"
    return StreamingResponse(chunks, media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


@router.get("/disclosures/{disclosure_id}/profile", response_model=ProfileDoc,
            summary="The factory's profile of a disclosed range (to recompute and compare)")
def disclosure_profile(disclosure_id: DisclosureId, party: PledgeHolderOrFactory, svc: Svc) -> Response:
    return _json(Profiles(svc).disclosure_profile(party, disclosure_id))


@router.post("/disclosures/{disclosure_id}/revoke", response_model=DisclosureOut,
             summary="Revoke a disclosure: the lender can no longer fetch it (factory)")
def revoke_disclosure(disclosure_id: DisclosureId, party: Factory, svc: Svc) -> DisclosureOut:
    return _out(Profiles(svc).revoke(party, disclosure_id))
