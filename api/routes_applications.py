"""Loan applications (docs/APPLICATIONS.md).

A factory applies to a lender (``dpl-application/1``: amount, currency, purpose, collateral
ranges and a ``dpl-grant/1`` the service creates and links); the lender marks it under review,
reads the granted records (``GET /v1/grants/{id}/records``) and the collateral's profile, and
decides (``dpl-decision/1``: approve with terms, request more data, decline with a reason code).
The factory answers a request for more data with a new grant, takes the consent draft of the
approved terms, signs it with the consent flow (``POST /v1/pledges/consents``) and links the
consent; the lender issues the pledge (``POST /v1/pledges``) and the application reads
``pledged``. Every step is timestamped and shown to both sides (``events``). An application that
is not the caller's is a 404, as if absent; a role that never makes a move a 403; a move not
allowed from the current state a 409.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Header, Query
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Factory, Lender, PledgeParty, Svc
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import Document, Out, ProfileDoc
from ledger.canonical import CanonicalError, canonicalize
from ledger.errors import InvalidArgumentError
from ledger.service.applications import Applications, ApplicationView

router = APIRouter(prefix="/v1", tags=["applications"], responses=PROBLEM_RESPONSES)
ApplicationId = Annotated[int, PathParam(ge=1, le=2**53 - 1, description="The application's id")]


class ApplicationOut(Out):
    id: int
    factory: str = Field(description="The factory party's name")
    lender: str = Field(description="The lender's address")
    lender_party: str | None = Field(description="The lender party's name")
    state: str = Field(description="submitted, under-review, approved, more-data-requested, declined, consented, "
                                   "pledged or withdrawn")
    application: Document = Field(description="The checked dpl-application/1")
    digest: str = Field(description="SHA-256 of the application's RFC 8785 bytes")
    grant_ids: list[int] = Field(description="The grants the application carries, first the one it was made with")
    decision: Document | None = Field(description="The lender's latest dpl-decision/1")
    consent_id: int | None
    token_id: str | None = Field(description="The pledge issued from the consent (decimal)")
    created_at: str
    updated_at: str
    events: list[Document] = Field(description="Every step: at, party, role, action, state, detail")


class ApplicationDraft(Out):
    application_id: int
    terms: Document = Field(description="The body of POST /v1/pledges/consents/draft; as {terms: …} the body of "
                                        "POST /v1/pledges/consents (custodial), with the draft's nonce and deadline")
    typed_data: Document = Field(description="The EIP-712 typed data to sign in a wallet")
    consent: Document = Field(description="The unsigned dpl-consent/2 document")


class ConsentLinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    consent_id: int = Field(ge=1, le=2**53 - 1, description="The consent the factory gave (POST /v1/pledges/consents)")


def _out(view: ApplicationView) -> ApplicationOut:
    return ApplicationOut.model_validate(view.as_json())


@router.post("/applications", response_model=ApplicationOut, status_code=201,
             summary="Apply to a lender (factory; body: a dpl-application/1; its grant is created and linked)",
             description="With an `Idempotency-Key` header a retry of the same request answers the application the "
                         "first one made (as it is now, `Idempotent-Replayed: true`) instead of making another.")
def apply(party: Factory, svc: Svc, body: Annotated[dict[str, Any], Body()],
          idempotency_key: str | None = Header(default=None, max_length=200)) -> Response:
    from ledger.service.idempotency import IdempotencyKeyReused, Replays

    applications = Applications(svc)
    try:  # RFC 8785: refuses what JSON cannot carry exactly (an integer past 2^53) before any work
        digest = hashlib.sha256(b"/v1/applications\n" + canonicalize(body)).digest()
    except CanonicalError as e:
        raise InvalidArgumentError(f"application {e}") from None
    if idempotency_key:
        try:
            answered = Replays(svc).answered(party.id, idempotency_key, digest)
        except IdempotencyKeyReused as e:
            raise ApiProblem(422, "idempotency-key-reused", str(e)) from None
        if answered is not None:  # only the id is kept (the application is sealed at rest): read it again
            view = applications.get(party, orjson.loads(answered.body)["id"])
            return _json(_out(view), 201, {"Idempotent-Replayed": "true"})
    view = applications.apply(party, body)
    if idempotency_key:
        Replays(svc).keep(party.id, idempotency_key, digest, 201, orjson.dumps({"id": view.id}))
    return _json(_out(view), 201)


def _json(out: ApplicationOut, status: int, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(out.model_dump()), status_code=status, media_type="application/json",
                    headers=headers)


@router.get("/applications", response_model=list[ApplicationOut],
            summary="Applications the caller made (factory), its inbox (lender), or all (auditor)")
def list_applications(party: PledgeParty, svc: Svc) -> list[ApplicationOut]:
    return [_out(v) for v in Applications(svc).list(party)]


@router.get("/applications/{application_id}", response_model=ApplicationOut, summary="One application and its steps")
def get_application(application_id: ApplicationId, party: PledgeParty, svc: Svc) -> ApplicationOut:
    return _out(Applications(svc).get(party, application_id))


@router.post("/applications/{application_id}/review", response_model=ApplicationOut,
             summary="Mark the application under review (lender)")
def review(application_id: ApplicationId, party: Lender, svc: Svc) -> ApplicationOut:
    return _out(Applications(svc).review(party, application_id))


@router.post("/applications/{application_id}/decision", response_model=ApplicationOut,
             summary="Approve with terms, request more data, or decline with a reason (lender; body: a dpl-decision/1)")
def decide(application_id: ApplicationId, party: Lender, svc: Svc,
           body: Annotated[dict[str, Any], Body()]) -> ApplicationOut:
    return _out(Applications(svc).decide(party, application_id, body))


@router.post("/applications/{application_id}/more-data", response_model=ApplicationOut,
             summary="Answer a request for more data with a new grant (factory; body: a dpl-grant/1)")
def more_data(application_id: ApplicationId, party: Factory, svc: Svc,
              body: Annotated[dict[str, Any], Body()]) -> ApplicationOut:
    return _out(Applications(svc).more_data(party, application_id, body))


@router.post("/applications/{application_id}/withdraw", response_model=ApplicationOut,
             summary="Withdraw the application; its grants are revoked (factory)")
def withdraw(application_id: ApplicationId, party: Factory, svc: Svc) -> ApplicationOut:
    return _out(Applications(svc).withdraw(party, application_id))


@router.get("/applications/{application_id}/draft", response_model=ApplicationDraft,
            summary="The consent draft of the approved terms, to review and sign (factory)")
def draft(application_id: ApplicationId, party: Factory, svc: Svc) -> ApplicationDraft:
    return ApplicationDraft.model_validate(Applications(svc).draft(party, application_id))


@router.post("/applications/{application_id}/consent", response_model=ApplicationOut,
             summary="Link the consent given for the approved terms (factory)")
def link_consent(application_id: ApplicationId, body: ConsentLinkIn, party: Factory, svc: Svc) -> ApplicationOut:
    return _out(Applications(svc).consent(party, application_id, body.consent_id))


@router.get("/applications/{application_id}/profile", response_model=ProfileDoc,
            summary="The production profile of a range offered as collateral (figures, never records; the lender: "
                    "only if the application offers it)")
def collateral_profile(application_id: ApplicationId, party: PledgeParty, svc: Svc,
                       collateral: int = Query(default=0, ge=0, le=15, description="Which collateral range (0-based)"),
                       ) -> Response:
    document = Applications(svc).profile(party, application_id, collateral)
    return Response(orjson.dumps(document), media_type="application/json")
