"""Data assets, pledge consents, pledges and their collateral bundles.

A factory describes assets of its own logs, consents to pledges and agrees to extensions of
their liens past the max lien end; the service signs for it only when it chose custody (its
party has a key in the keyring), else it returns the EIP-712 typed data to sign and accepts
the signature (recovered with ``Chain.recover_typed_data``; the document kept is rebuilt
from what the signature covers and what the service derives, never the display fields it
was sent). A lender sees the consents naming it, the extensions of the pledges it holds and
those pledges (terms, manifest, collateral bundle, production profile) and nothing else of
the factory's records; it issues and moves pledges with its custodial key, or gets the
transaction to send itself. An auditor reads every pledge (and its profile: figures, never
records).

A consent may pledge the range's production profile (``dpl-asset/2``): its terms carry
``profile: {"tz", "mapping", "thresholds"}``, the parameters the service computes the profile
from the store with (the factory previews the same with ``POST /v1/logs/{log_id}/profile``);
the command line's ``dpl pledge consent --profile FILE`` instead sends a whole profile, which
is recomputed and refused unless identical.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Annotated

import orjson
from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Caller, Factory, Lender, PledgeHolderOrFactory, PledgeParty, Svc, find_log, lender_address
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import (AssetOut, CollateralBundle, ConsentDraft, ConsentKept, ConsentListed, ExtensionDraft,
                         ExtensionKept, ExtensionListed, Issued, Moved, PledgeListed, PledgeOut, ProfileDoc)
from ledger.bundles import to_hex
from ledger.errors import InvalidArgumentError
from ledger.limits import MAX_SAMPLES
from ledger.pledge.service import ConsentRequest, NotCustodial, Pledges, UnsignedTransaction
from ledger.store.parties import PartyInfo

log = logging.getLogger("dpl.pledges")
router = APIRouter(prefix="/v1", tags=["pledges"], responses=PROBLEM_RESPONSES)
TokenId = Annotated[int, Path(ge=1, le=2**64 - 1, description="The pledge's token id")]


class AssetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    log_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    start: int = Field(alias="from", ge=0)
    end: int = Field(alias="to", ge=1)
    checkpoint: int | None = Field(default=None, ge=1)


class ProfileParamsIn(BaseModel):
    """The parameters of the production profile a consent pledges (docs/PROFILE.md §1)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    tz: str | None = Field(default=None, max_length=6, description="±HH:MM, the offset naming days (default +00:00)")
    mapping: dict | None = Field(default=None, description="A dpl-mapping/1 object")
    thresholds: dict | None = Field(default=None, description="Flag thresholds overriding the defaults")


class ConsentTerms(AssetIn):
    lender: str = Field(description="The lender's address (or its party name)")
    # principal, currency and samples are checked by the ledger's rule (ledger.pledge.terms), so
    # the API and dpl pledge consent refuse them in the same words
    principal: int = Field(description="Minor units, 1 to 2^256 - 1")
    currency: str = Field(description="ISO 4217: three letters")
    maturity: str = Field(description="YYYY-MM-DD, ISO 8601 date-time or unix seconds")
    lien_end: str
    max_lien_end: str | None = Field(default=None, description="The latest lien end the lender may extend to "
                                     "without asking the factory (default: lien_end)")
    samples: int = Field(description=f"Records a collateral check samples (k, 1 to {MAX_SAMPLES:,}), each "
                                     "disclosed to the lender")
    loan_ref: str = Field(min_length=1, max_length=200)
    deadline: str | None = None
    nonce: str | None = Field(default=None, pattern=r"^[0-9]{1,78}$",
                              description="Decimal; the draft's nonce, so the service signs exactly what the draft "
                                          "showed (default: a fresh random one)")
    profile: ProfileParamsIn | None = Field(
        default=None, description="Pledge the range's production profile too (a dpl-asset/2 manifest), computed "
                                  "from the records with these parameters")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    terms: ConsentTerms | None = Field(default=None, description="Custodial: the service signs these terms")
    consent: dict | None = Field(default=None, description="Self-signed: a dpl-consent/2 document with the signature")


class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    consent_id: int


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    to: str


class ExtendIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    lien_end: str | None = Field(default=None, description="The new lien end (with an extension: the one it signs)")
    extension_id: int | None = Field(default=None, ge=1, le=2**63 - 1,
                                     description="A factory's extension kept by the service (GET /v1/pledges/extensions)")
    extension: dict | None = Field(default=None, description="A factory's signed dpl-extension/1 document")


class ExtensionTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    lien_end: str = Field(description="The new lien end: YYYY-MM-DD, ISO 8601 date-time or unix seconds")
    deadline: str | None = Field(default=None, description="The holder must use it by then (default: 7 days)")
    nonce: str | None = Field(default=None, pattern=r"^[0-9]{1,78}$",
                              description="Decimal; the draft's nonce, so the service signs exactly what the draft "
                                          "showed (default: a fresh random one)")


class ExtensionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    terms: ExtensionTerms | None = Field(default=None, description="Custodial: the service signs this extension")
    extension: dict | None = Field(default=None,
                                   description="Self-signed: a dpl-extension/1 document with the signature")


def _pledges(svc) -> Pledges:
    return Pledges(svc)


def _stream(svc, party: PartyInfo, log_id: str) -> str:
    return find_log(svc, party, log_id, ("factory",)).stream


@router.post("/assets", response_model=AssetOut, summary="Describe a range of an anchored log: manifest and asset digest (factory)")
def create_asset(body: AssetIn, party: Factory, svc: Svc) -> dict:
    return _pledges(svc).asset(_stream(svc, party, body.log_id), body.start, body.end, body.checkpoint).as_json()


def _request(svc, party: PartyInfo, t: ConsentTerms) -> ConsentRequest:
    params = None if t.profile is None else t.profile.model_dump()
    return ConsentRequest(_stream(svc, party, t.log_id), t.start, t.end, t.lender, t.principal, t.currency, t.maturity,
                          t.lien_end, t.samples, t.loan_ref, t.checkpoint, t.max_lien_end, t.deadline, t.nonce,
                          profile_params=params)


@router.post("/pledges/consents/draft", response_model=ConsentDraft, summary="The EIP-712 typed data a factory signs for these terms")
def consent_draft(body: ConsentTerms, party: Factory, svc: Svc) -> dict:
    draft = _pledges(svc).draft_consent(party.address, _request(svc, party, body), lambda v: lender_address(svc, v))
    return {"typed_data": draft.typed_data, "consent": draft.document()}


@router.post("/pledges/consents", response_model=ConsentKept, status_code=201, summary="Submit a signed consent, or have the service sign (custodial)")
def submit_consent(body: ConsentIn, party: Factory, svc: Svc) -> dict:
    pledges = _pledges(svc)
    pledges.chain  # noqa: B018 (a node that is down answers first, as before)
    if (body.terms is None) == (body.consent is None):
        raise InvalidArgumentError("give either terms (the service signs: custodial) or a signed consent")
    if body.terms is not None:
        with _not_custodial("sign the draft (POST /v1/pledges/consents/draft) and submit the consent"):
            doc = pledges.sign_consent(party, _request(svc, party, body.terms), lambda v: lender_address(svc, v))
    else:
        with _signature_problem():
            doc = pledges.accept_consent(party, body.consent, lambda log_id: _stream(svc, party, to_hex(log_id)))
    return {"consent_id": pledges.keep_consent(party, doc), "consent": doc}


@contextmanager
def _signature_problem():
    """A signature that does not recover to the caller: 422 ``invalid-signature``."""
    from ledger.pledge.terms import SignatureMismatch

    try:
        yield
    except SignatureMismatch as e:
        raise ApiProblem(422, "invalid-signature", str(e), field="signature") from None


@contextmanager
def _not_custodial(how: str):
    """The service holds no key for the caller: 409 ``not-custodial``, saying how to sign."""
    try:
        yield
    except NotCustodial as e:
        raise ApiProblem(409, "not-custodial", f"{e}: {how}") from None


def _sent(result, status: int = 200) -> dict:
    """A move's answer; a lender without custody gets a 409 carrying the transaction to send
    from its own wallet (``to``, ``data``, ``chainId``, ``from``)."""
    if isinstance(result, UnsignedTransaction):
        raise ApiProblem(409, "not-custodial", "the service holds no key for this lender: send the transaction "
                                               "from your own wallet", transaction=result.as_json())
    if result.mirror_error is not None:  # the move happened; the next read syncs the mirror again
        log.warning("pledge %s: the pledge mirror was not updated (%s)", result.token_id, result.mirror_error)
    return result.as_json()


@router.get("/pledges/consents", response_model=list[ConsentListed], summary="Consents given (factory) or naming the caller (lender)")
def list_consents(party: PledgeParty, svc: Svc) -> list[dict]:
    return _pledges(svc).consents(party)


@router.get("/pledges/extensions", response_model=list[ExtensionListed], summary="Extensions a factory signed (factory), of the pledges the caller holds "
                                           "(lender), or all (auditor)")
def list_extensions(party: PledgeParty, svc: Svc) -> list[dict]:
    return _pledges(svc).extensions(party)


@router.post("/pledges", response_model=Issued, status_code=201, summary="Issue the pledge a consent allows (the lender it names)")
def issue_pledge(body: IssueIn, party: Lender, svc: Svc) -> dict:
    return _sent(_pledges(svc).issue_kept(party, body.consent_id))


@router.get("/pledges", response_model=list[PledgeListed], summary="Pledges the caller holds (lender), over its logs (factory), or all (auditor)")
def list_pledges(party: PledgeParty, svc: Svc) -> list[dict]:
    return _pledges(svc).list(party, named=True)


@router.get("/pledges/{token_id}", response_model=PledgeOut, summary="One pledge as the chain has it")
def show_pledge(token_id: TokenId, party: Caller, svc: Svc) -> dict:
    return _pledges(svc).show(token_id, party).as_json()


@router.get("/pledges/{token_id}/bundle", response_model=CollateralBundle, summary="The collateral bundle (dpl-collateral/1) of a pledge")
def pledge_bundle(token_id: TokenId, party: PledgeHolderOrFactory, svc: Svc) -> dict:
    return _pledges(svc).bundle(token_id, party)


@router.get("/pledges/{token_id}/profile", response_model=ProfileDoc,
            summary="The production profile a pledge committed to (its holder, the log's factory, an auditor)")
def pledge_profile(token_id: TokenId, party: PledgeParty, svc: Svc) -> Response:
    return Response(orjson.dumps(_pledges(svc).profile(token_id, party)), media_type="application/json")


@router.post("/pledges/{token_id}/transfer", response_model=Moved, summary="Transfer to another approved lender (holder)")
def transfer(token_id: TokenId, body: TransferIn, party: Lender, svc: Svc) -> dict:
    to = lender_address(svc, body.to)
    return _sent(_pledges(svc).transfer(party, token_id, to, party=party))


@router.post("/pledges/{token_id}/release", response_model=Moved, summary="Release (the loan is repaid; holder)")
def release(token_id: TokenId, party: Lender, svc: Svc) -> dict:
    return _sent(_pledges(svc).release(party, token_id, party=party))


@router.post("/pledges/{token_id}/default", response_model=Moved, summary="Declare default (from maturity on; holder)")
def default(token_id: TokenId, party: Lender, svc: Svc) -> dict:
    return _sent(_pledges(svc).declare_default(party, token_id, party=party))


@router.post("/pledges/{token_id}/extend", response_model=Moved, summary="Move the lien end later (holder): alone up to the max lien end "
                                                   "the factory signed, beyond it with the factory's extension")
def extend(token_id: TokenId, body: ExtendIn, party: Lender, svc: Svc) -> dict:
    from ledger.pledge.terms import parse_time, read_extension

    if body.extension_id is not None and body.extension is not None:
        raise InvalidArgumentError("give the factory's extension once: extension_id or extension, not both")
    new_end = parse_time(body.lien_end, "lien_end") if body.lien_end is not None else None
    extension = read_extension(body.extension) if body.extension is not None else None
    with _signature_problem():  # refused before any transaction is built or sent
        result = _pledges(svc).extend(party, token_id, new_end, extension, body.extension_id, party=party)
    return _sent(result)


# --- extensions: the factory agrees to a lien end past the max lien end ------------------------------


@router.post("/pledges/{token_id}/extensions/draft", response_model=ExtensionDraft,
             summary="The EIP-712 PledgeExtension a factory signs to let this pledge's lien end later (factory)")
def extension_draft(token_id: TokenId, body: ExtensionTerms, party: Factory,
                    svc: Svc) -> dict:
    doc = _pledges(svc).draft_extension(party, token_id, body.lien_end, body.deadline, body.nonce)
    return {"typed_data": doc["typed_data"], "extension": doc}


@router.post("/pledges/{token_id}/extensions", response_model=ExtensionKept, status_code=201,
             summary="Submit a signed extension, or have the service sign it (custodial; factory)")
def submit_extension(token_id: TokenId, body: ExtensionIn, party: Factory,
                     svc: Svc) -> dict:
    if (body.terms is None) == (body.extension is None):
        raise InvalidArgumentError("give either terms (the service signs: custodial) or a signed extension")
    pledges = _pledges(svc)
    if body.terms is not None:
        t = body.terms
        with _not_custodial(f"sign the draft (POST /v1/pledges/{token_id}/extensions/draft) and submit it"):
            doc = pledges.sign_extension(party, token_id, t.lien_end, t.deadline, t.nonce, party=party)
    else:
        with _signature_problem():
            doc = pledges.accept_extension(party, token_id, body.extension)
    kept = pledges.keep_extension(party, doc)
    return {"extension_id": kept.id, "extension": kept.document}
