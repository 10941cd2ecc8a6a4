"""Data assets, pledge consents, pledges and their collateral bundles.

A factory describes assets of its own logs, consents to pledges and agrees to extensions of
their liens past the max lien end; the service signs for it only when it chose custody (its
party has a key in the keyring), else it returns the EIP-712 typed data to sign and accepts
the signature (recovered with ``Chain.recover_typed_data``; the document kept is rebuilt
from what the signature covers and what the service derives, never the display fields it
was sent). A lender sees the consents naming it, the extensions of the pledges it holds and
those pledges (terms, manifest, collateral bundle) and nothing else of the factory's
records; it issues and moves pledges with its custodial key, or gets the transaction to
send itself. An auditor reads every pledge.
"""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import orjson
from eth_utils import to_checksum_address
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api.deps import (Caller, Factory, Lender, PledgeHolderOrFactory, PledgeParty, Svc, find_log, lender_address,
                      not_found)
from api.errors import PROBLEM_RESPONSES, ApiProblem
from api.schemas import (AssetOut, CollateralBundle, ConsentDraft, ConsentKept, ConsentListed, ExtensionDraft,
                         ExtensionKept, ExtensionListed, Issued, Moved, PledgeListed, PledgeOut)
from ledger.bundles import to_hex
from ledger.errors import InvalidArgumentError
from ledger.limits import MAX_SAMPLES
from ledger.store.consents import ConsentStore
from ledger.store.parties import PartyInfo

router = APIRouter(prefix="/v1", tags=["pledges"], responses=PROBLEM_RESPONSES)
TokenId = Annotated[int, Path(ge=1, le=2**64 - 1, description="The pledge's token id")]


class AssetIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    log_id: str = Field(pattern=r"^0x[0-9a-fA-F]{64}$")
    start: int = Field(alias="from", ge=0)
    end: int = Field(alias="to", ge=1)
    checkpoint: int | None = Field(default=None, ge=1)


class ConsentTerms(AssetIn):
    lender: str = Field(description="The lender's address (or its party name)")
    principal: int = Field(ge=1, description="Minor units")
    currency: str = Field(min_length=3, max_length=3)
    maturity: str = Field(description="YYYY-MM-DD, ISO 8601 date-time or unix seconds")
    lien_end: str
    max_lien_end: str | None = Field(default=None, description="The latest lien end the lender may extend to "
                                     "without asking the factory (default: lien_end)")
    samples: int = Field(ge=1, le=MAX_SAMPLES, description="Records a collateral check samples (k), each disclosed "
                                                            "to the lender")
    loan_ref: str = Field(min_length=1, max_length=200)
    deadline: str | None = None
    nonce: str | None = Field(default=None, pattern=r"^[0-9]{1,78}$",
                              description="Decimal; the draft's nonce, so the service signs exactly what the draft "
                                          "showed (default: a fresh random one)")


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


def _asset(svc, party, body: AssetIn):
    from ledger.pledge.asset import describe_asset

    info = find_log(svc, party, body.log_id, ("factory",))
    return describe_asset(svc.store, svc.chain(), info.stream, body.start, body.end, body.checkpoint)


@router.post("/assets", response_model=AssetOut, summary="Describe a range of an anchored log: manifest and asset digest (factory)")
def create_asset(body: AssetIn, party: Factory, svc: Svc) -> dict:
    _, manifest, digest = _asset(svc, party, body)
    return {"asset_digest": to_hex(digest), "manifest": manifest}


def _draft(svc, party: PartyInfo, t: ConsentTerms):
    from ledger.pledge.chain import chain_time
    from ledger.pledge.consent import check_consent
    from ledger.pledge.terms import DEFAULT_VALIDITY, Terms, consent_dates, loan_ref_digest

    dates = consent_dates(t.maturity, t.lien_end, t.max_lien_end, t.deadline)
    info, manifest, digest = _asset(svc, party, t)
    terms = Terms(info.log_id, t.start, t.end, manifest["checkpoint"]["size"], digest, t.principal,
                  t.currency.upper(), dates.maturity, dates.lien_end, dates.max_lien_end, t.samples,
                  loan_ref_digest(t.loan_ref), lender_address(svc, t.lender))
    chain = svc.chain()
    now = chain_time(chain)
    deadline = dates.deadline if dates.deadline is not None else now + DEFAULT_VALIDITY
    check_consent(chain, terms, party.address or "", deadline, now)  # what the registry would refuse, refused first
    return info, terms, manifest, deadline


@router.post("/pledges/consents/draft", response_model=ConsentDraft, summary="The EIP-712 typed data a factory signs for these terms")
def consent_draft(body: ConsentTerms, party: Factory, svc: Svc) -> dict:
    from ledger.pledge.chain import typed_data
    from ledger.pledge.terms import CONSENT_FORMAT

    from ledger.pledge.terms import parse_nonce

    nonce = parse_nonce(body.nonce)
    info, terms, manifest, deadline = _draft(svc, party, body)
    chain = svc.chain()
    return {"typed_data": typed_data(chain, terms, nonce, deadline),
            "consent": {"format": CONSENT_FORMAT, "chain_id": chain.chain_id, "registry": chain.registry.address,
                        "factory": party.address, "stream": info.stream, "terms": terms.as_json(),
                        "nonce": str(nonce), "deadline": deadline, "signature": None, "loan_ref": body.loan_ref,
                        "manifest": manifest}}


def _store_consent(svc, party: PartyInfo, doc: dict) -> dict:
    pk = ConsentStore(svc.store.engine, svc.store.key).add(
        party.id, to_checksum_address(doc["terms"]["lender"]), orjson.dumps(doc))
    return {"consent_id": pk, "consent": doc}


@router.post("/pledges/consents", response_model=ConsentKept, status_code=201, summary="Submit a signed consent, or have the service sign (custodial)")
def submit_consent(body: ConsentIn, party: Factory, svc: Svc) -> dict:
    from ledger.pledge.consent import accept_consent, make_consent
    from ledger.pledge.terms import parse_nonce, read_consent

    chain = svc.chain()
    if (body.terms is None) == (body.consent is None):
        raise InvalidArgumentError("give either terms (the service signs: custodial) or a signed consent")
    if body.terms is not None:
        if not party.key_name:
            raise ApiProblem(409, "not-custodial", "the service holds no key for this factory: sign the draft "
                                                   "(POST /v1/pledges/consents/draft) and submit the consent")
        nonce = parse_nonce(body.terms.nonce)
        info, terms, manifest, deadline = _draft(svc, party, body.terms)
        doc = make_consent(chain, svc.keyring.account(party.key_name, chain.chain_id), stream=info.stream,
                           terms=terms, manifest=manifest, loan_ref=body.terms.loan_ref, deadline=deadline,
                           nonce=nonce)
        return _store_consent(svc, party, doc)
    consent = read_consent(body.consent)
    info = find_log(svc, party, to_hex(consent.terms.log_id), ("factory",))
    with _signature_problem():
        doc = accept_consent(svc.store, chain, consent, party.address or "", info.stream, body.consent.get("loan_ref"))
    return _store_consent(svc, party, doc)


@contextmanager
def _signature_problem():
    """A signature that does not recover to the caller: 422 ``invalid-signature``."""
    from ledger.pledge.terms import SignatureMismatch

    try:
        yield
    except SignatureMismatch as e:
        raise ApiProblem(422, "invalid-signature", str(e), field="signature") from None


def _consent_rows(svc, party: PartyInfo):
    consents = ConsentStore(svc.store.engine, svc.store.key)
    if party.role == "factory":
        return consents.list(factory_party=party.id)
    elif party.role == "lender":
        return consents.list(lender=party.address or "")
    return consents.list()


@router.get("/pledges/consents", response_model=list[ConsentListed], summary="Consents given (factory) or naming the caller (lender)")
def list_consents(party: PledgeParty, svc: Svc) -> list[dict]:
    names = _party_names(svc)
    return [{"consent_id": r.id, "token_id": r.token_id, "lender_party": names.get(r.lender),
             "consent": orjson.loads(r.document)} for r in _consent_rows(svc, party)]


def _extensions(svc):
    from ledger.store.extensions import PledgeExtensions

    chain = svc.chain()
    return PledgeExtensions(svc.store.engine, chain.chain_id, chain.registry.address)


@router.get("/pledges/extensions", response_model=list[ExtensionListed], summary="Extensions a factory signed (factory), of the pledges the caller holds "
                                           "(lender), or all (auditor)")
def list_extensions(party: PledgeParty, svc: Svc) -> list[dict]:
    from ledger.pledge.chain import chain_time, extension_used
    from ledger.pledge.terms import read_extension
    from ledger.store.pledges import PledgeMirror

    chain, store = svc.chain(), _extensions(svc)
    if party.role == "factory":
        kept = store.list(factory_party=party.id)
    elif party.role == "lender":
        _sync(svc)
        held = {r["token_id"] for r in PledgeMirror(svc.store.engine, chain.chain_id, chain.registry.address).list()
                if r["holder"] == party.address}
        kept = store.list(token_ids=held)
    else:
        kept = store.list()
    now = chain_time(chain)
    out = []
    for k in kept:
        ext = read_extension(k.document)
        out.append({"extension_id": k.id, "token_id": k.token_id, "used": extension_used(chain, ext),
                    "expired": ext.deadline < now, "extension": k.document})
    return out


def _party_names(svc) -> dict[str, str]:
    """Address -> party name, for lists that show counterparties (who a factory pledged to, who
    holds a pledge): the caller has dealt with them, their names are no secret to it."""
    return {p.address: p.name for p in svc.parties.list() if p.address}


def _lender_account(svc, party: PartyInfo, chain, fn=None):
    """The lender's custodial key; without one, a 409 that carries the transaction to send
    from the lender's own wallet (``to``, ``data``, ``chainId``, ``from``)."""
    if not party.key_name:
        transaction = None
        if fn is not None:
            transaction = {"to": chain.registry.address, "data": fn._encode_transaction_data(),
                           "chainId": chain.chain_id, "from": party.address}
        raise ApiProblem(409, "not-custodial", "the service holds no key for this lender: send the transaction "
                                               "from your own wallet", transaction=transaction)
    return svc.keyring.account(party.key_name, chain.chain_id)


def _sync(svc):
    from ledger.pledge.mirror import sync

    return sync(svc.chain(), svc.store.engine, svc.deployment_block)


@router.post("/pledges", response_model=Issued, status_code=201, summary="Issue the pledge a consent allows (the lender it names)")
def issue_pledge(body: IssueIn, party: Lender, svc: Svc) -> dict:
    from ledger.pledge.chain import issue, issue_call
    from ledger.pledge.terms import read_consent

    rows = [r for r in _consent_rows(svc, party) if r.id == body.consent_id]
    if not rows:
        raise not_found("consent")
    chain = svc.chain()
    consent = read_consent(orjson.loads(rows[0].document))
    unsigned = issue_call(chain, consent)
    issued = issue(chain, _lender_account(svc, party, chain, unsigned), consent)
    ConsentStore(svc.store.engine, svc.store.key).set_token(body.consent_id, issued.token_id)
    _sync(svc)
    return {"token_id": issued.token_id, "tx_hash": issued.tx_hash, "block_number": issued.block_number}


def _visible(svc, party: PartyInfo, token_id: int):
    """The pledge on chain if ``party`` may see it (holder, the log's factory, an auditor), else 404."""
    from ledger.errors import NotFoundError
    from ledger.pledge.chain import read_pledge

    try:
        view = read_pledge(svc.chain(), token_id)
    except NotFoundError:
        raise not_found("pledge") from None
    if party.role == "auditor":
        return view
    if party.role == "lender" and party.address and view.holder == party.address:
        return view
    if party.role == "factory" and view.factory == party.address:
        return view
    raise not_found("pledge")


@router.get("/pledges", response_model=list[PledgeListed], summary="Pledges the caller holds (lender), over its logs (factory), or all (auditor)")
def list_pledges(party: PledgeParty, svc: Svc) -> list[dict]:
    from ledger.pledge.chain import chain_time
    from ledger.pledge.mirror import mirror_row_json
    from ledger.store.pledges import PledgeMirror

    chain = svc.chain()
    _sync(svc)
    rows = PledgeMirror(svc.store.engine, chain.chain_id, chain.registry.address).list()
    if party.role == "lender":
        rows = [r for r in rows if r["holder"] == party.address]
    elif party.role == "factory":
        rows = [r for r in rows if r["factory"] == party.address]
    now = chain_time(chain)
    streams = {info.log_id: info.stream for info in svc.store.list_logs() if info.log_id}
    # the stream's name is in the consent every party here has seen; None for a log of another service
    names = _party_names(svc)
    return [{**mirror_row_json(r, now), "stream": streams.get(bytes(r["log_id"])), "holder_party": names.get(r["holder"]),
             "factory_party": names.get(r["factory"])} for r in rows]


@router.get("/pledges/{token_id}", response_model=PledgeOut, summary="One pledge as the chain has it")
def show_pledge(token_id: TokenId, party: Caller, svc: Svc) -> dict:
    return _visible(svc, party, token_id).as_json()


@router.get("/pledges/{token_id}/bundle", response_model=CollateralBundle, summary="The collateral bundle (dpl-collateral/1) of a pledge")
def pledge_bundle(token_id: TokenId, party: PledgeHolderOrFactory, svc: Svc) -> dict:
    from ledger.pledge.collateral_chain import build_bundle

    _visible(svc, party, token_id)
    return build_bundle(svc.store, svc.chain(), token_id)


def _holder_move(svc, party: PartyInfo, token_id: TokenId, build, view=None) -> dict:
    from ledger.pledge.chain import send

    view = view or _visible(svc, party, token_id)
    if party.role != "lender" or view.holder != party.address:
        raise not_found("pledge")
    chain = svc.chain()
    if not party.key_name:  # show the transaction for the lender's wallet (from = its address)
        _lender_account(svc, party, chain, build(chain, SimpleNamespace(address=party.address)))
    account = _lender_account(svc, party, chain)
    tx = send(chain, account, build(chain, account))
    _sync(svc)
    return {"token_id": token_id, "tx_hash": tx}


@router.post("/pledges/{token_id}/transfer", response_model=Moved, summary="Transfer to another approved lender (holder)")
def transfer(token_id: TokenId, body: TransferIn, party: Lender, svc: Svc) -> dict:
    from ledger.pledge.chain import transfer_call

    to = lender_address(svc, body.to)
    return _holder_move(svc, party, token_id,
                        lambda c, a: transfer_call(c, a.address, to, token_id))


@router.post("/pledges/{token_id}/release", response_model=Moved, summary="Release (the loan is repaid; holder)")
def release(token_id: TokenId, party: Lender, svc: Svc) -> dict:
    from ledger.pledge.chain import release_call

    return _holder_move(svc, party, token_id, lambda c, a: release_call(c, token_id))


@router.post("/pledges/{token_id}/default", response_model=Moved, summary="Declare default (from maturity on; holder)")
def default(token_id: TokenId, party: Lender, svc: Svc) -> dict:
    from ledger.pledge.chain import default_call

    return _holder_move(svc, party, token_id, lambda c, a: default_call(c, token_id))


@router.post("/pledges/{token_id}/extend", response_model=Moved, summary="Move the lien end later (holder): alone up to the max lien end "
                                                   "the factory signed, beyond it with the factory's extension")
def extend(token_id: TokenId, body: ExtendIn, party: Lender, svc: Svc) -> dict:
    from ledger.pledge.chain import extend_call
    from ledger.pledge.terms import parse_time, read_extension

    if body.extension_id is not None and body.extension is not None:
        raise InvalidArgumentError("give the factory's extension once: extension_id or extension, not both")
    new_end = parse_time(body.lien_end, "lien_end") if body.lien_end is not None else None
    extension = read_extension(body.extension) if body.extension is not None else None
    view = _visible(svc, party, token_id)
    if party.role != "lender" or view.holder != party.address:
        raise not_found("pledge")
    if body.extension_id is not None:
        kept = _extensions(svc).get(body.extension_id)
        if kept is None or kept.token_id != token_id:
            raise not_found("extension")
        extension = read_extension(kept.document)
    with _signature_problem():  # refused here, before any transaction is built or sent
        fn = extend_call(svc.chain(), view, new_end, extension)
    return _holder_move(svc, party, token_id, lambda c, a: fn, view)


# --- extensions: the factory agrees to a lien end past the max lien end ------------------------------


def _extension_dates(chain, body: ExtensionTerms) -> tuple[int, int, int]:
    """(new lien end, deadline, chain time now) of an extension request."""
    from ledger.pledge.chain import chain_time
    from ledger.pledge.terms import DEFAULT_VALIDITY, parse_time

    new_end = parse_time(body.lien_end, "lien_end")
    deadline = parse_time(body.deadline, "deadline") if body.deadline else None
    now = chain_time(chain)
    return new_end, (now + DEFAULT_VALIDITY if deadline is None else deadline), now


def _factory_view(svc, party: PartyInfo, token_id: int):
    """The pledge if it is over one of this factory's logs (on chain), else 404."""
    view = _visible(svc, party, token_id)
    if party.role != "factory":
        raise not_found("pledge")
    return view


@router.post("/pledges/{token_id}/extensions/draft", response_model=ExtensionDraft,
             summary="The EIP-712 PledgeExtension a factory signs to let this pledge's lien end later (factory)")
def extension_draft(token_id: TokenId, body: ExtensionTerms, party: Factory,
                    svc: Svc) -> dict:
    from ledger.pledge.consent import check_extension, extension_document
    from ledger.pledge.terms import parse_nonce

    nonce = parse_nonce(body.nonce)
    chain = svc.chain()
    new_end, deadline, now = _extension_dates(chain, body)
    view = _factory_view(svc, party, token_id)
    check_extension(chain, view, party.address or "", new_end, deadline, now)
    doc = extension_document(chain, factory=party.address, token_id=token_id, lien_end=new_end, nonce=nonce,
                             deadline=deadline, signature=None)
    return {"typed_data": doc["typed_data"], "extension": doc}


@router.post("/pledges/{token_id}/extensions", response_model=ExtensionKept, status_code=201,
             summary="Submit a signed extension, or have the service sign it (custodial; factory)")
def submit_extension(token_id: TokenId, body: ExtensionIn, party: Factory,
                     svc: Svc) -> dict:
    from ledger.pledge.consent import accept_extension, make_extension
    from ledger.pledge.terms import parse_nonce, read_extension

    if (body.terms is None) == (body.extension is None):
        raise InvalidArgumentError("give either terms (the service signs: custodial) or a signed extension")
    chain = svc.chain()
    if body.terms is not None:
        nonce = parse_nonce(body.terms.nonce)
        new_end, deadline, _ = _extension_dates(chain, body.terms)
        _factory_view(svc, party, token_id)
        if not party.key_name:
            raise ApiProblem(409, "not-custodial", "the service holds no key for this factory: sign the draft "
                                                   f"(POST /v1/pledges/{token_id}/extensions/draft) and submit it")
        doc = make_extension(chain, svc.keyring.account(party.key_name, chain.chain_id), token_id, new_end, deadline,
                             nonce)
    else:
        ext = read_extension(body.extension)
        if ext.token_id != token_id:
            raise InvalidArgumentError(f"token_id: the extension is for pledge {ext.token_id}, not {token_id}")
        _factory_view(svc, party, token_id)
        with _signature_problem():
            doc = accept_extension(chain, ext, party.address or "")
    kept = _extensions(svc).put(party.id, doc)
    return {"extension_id": kept.id, "extension": kept.document}
