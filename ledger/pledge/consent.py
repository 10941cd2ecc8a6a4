"""The factory's consent to a pledge and its extensions of a lien: checked against the chain,
drafted, signed with a keyring key, or accepted when signed elsewhere (a wallet).

What the registry would refuse is refused here first, before anything is signed or kept,
with the field named (``check_consent``, ``check_extension``); the documents are built only
from what the signature covers or what this service derived itself.
"""

from __future__ import annotations

import hashlib
import secrets

from eth_utils import to_checksum_address

from ledger.bundles import to_hex
from ledger.chain.client import Chain
from ledger.errors import ConflictError, InvalidArgumentError
from ledger.pledge.asset import describe_asset
from ledger.pledge.chain import (PledgeView, chain_time, check_extension_signature, check_same_registry,
                                 extension_typed_data, factory_of, is_lender, read_pledge, typed_data)
from ledger.pledge.terms import (CONSENT_FORMAT, DEFAULT_VALIDITY, EXTENSION_FORMAT, Consent, Extension,
                                 SignatureMismatch, Terms, check_moment, check_terms, check_token_id, has_lapsed,
                                 utc_text)

_ZERO_ADDRESS = "0x" + "00" * 20


def check_consent(chain: Chain, terms: Terms, signer: str, deadline: int, now: int | None = None) -> None:
    """Refuse, before anything is signed (or a consent signed elsewhere is kept), terms the
    registry would refuse at issue anyway (or that could never be issued), naming the field:
    everything ``check_terms`` refuses, a deadline, maturity or lien end that is not after the
    chain's clock (``now``, default: the latest block's time), a lender that is the zero
    address or not approved (``LENDER_ROLE``), a log whose factory on chain is not ``signer``.
    One check for the command line, custodial and self-signed consents."""
    check_terms(terms)
    check_moment(deadline, "deadline")
    now = chain_time(chain) if now is None else now
    clock = f"the chain's clock reads {utc_text(now)}"
    if deadline <= now:
        raise InvalidArgumentError(f"deadline: {utc_text(deadline)} has passed ({clock}): no lender could issue it")
    if terms.maturity <= now:
        raise InvalidArgumentError(f"maturity: {utc_text(terms.maturity)} has passed ({clock})")
    if has_lapsed(terms.lien_end, now):
        raise InvalidArgumentError(f"lien_end: {utc_text(terms.lien_end)} has passed ({clock})")
    if terms.lender.lower() == _ZERO_ADDRESS:
        raise InvalidArgumentError("lender: the zero address cannot hold a pledge")
    if not is_lender(chain, terms.lender):
        raise InvalidArgumentError(f"lender {terms.lender} is not an approved lender on registry "
                                   f"{chain.registry.address} (an admin approves it first: dpl lenders add)")
    owner = factory_of(chain, terms.log_id)
    if owner is None:
        raise InvalidArgumentError(f"log {to_hex(terms.log_id)} is not registered on chain (anchor it first)")
    if owner.lower() != signer.lower():
        raise InvalidArgumentError(f"log {to_hex(terms.log_id)} belongs to factory {owner} on chain, "
                                   f"not to the signer {to_checksum_address(signer)}")


def consent_document(chain: Chain, *, factory: str, stream: str, terms: Terms, nonce: int, deadline: int,
                     signature: bytes, manifest: dict, loan_ref: str | None) -> dict:
    """A ``dpl-consent/2`` document, every field from what the signature covers or what the
    caller derived itself (never from a document it was sent)."""
    return {
        "format": CONSENT_FORMAT, "chain_id": chain.chain_id, "registry": chain.registry.address,
        "factory": to_checksum_address(factory), "stream": stream, "terms": terms.as_json(),
        "nonce": str(nonce), "deadline": deadline, "deadline_utc": utc_text(deadline),
        "signature": to_hex(signature), "loan_ref": loan_ref, "manifest": manifest,
        "typed_data": typed_data(chain, terms, nonce, deadline),
    }


def make_consent(chain: Chain, factory, *, stream: str, terms: Terms, manifest: dict, loan_ref: str,
                 deadline: int, nonce: int | None = None) -> dict:
    """The factory's signed consent to pledge ``terms`` (a ``dpl-consent/2`` document); terms the
    registry would refuse are refused first (``check_consent``), nothing is signed then."""
    check_consent(chain, terms, factory.address, deadline)
    nonce = secrets.randbits(256) if nonce is None else nonce
    signature = chain.sign_pledge_consent(factory, {**terms.message(), "nonce": nonce, "deadline": deadline})
    return consent_document(chain, factory=factory.address, stream=stream, terms=terms, nonce=nonce,
                            deadline=deadline, signature=signature, manifest=manifest, loan_ref=loan_ref)


def accept_consent(store, chain: Chain, consent: Consent, signer: str, stream: str, loan_ref: object,
                   params=None) -> dict:
    """The document to keep for a consent a factory signed elsewhere (its wallet) and handed in.

    Only what the signature covers and what this service derives is kept: the terms, nonce,
    deadline and signature (checked to recover to ``signer``, the caller's verified address),
    ``stream`` (the caller found the log by the terms' log id), the manifest rebuilt from the
    store (refused unless its digest is the terms' asset digest), the loan reference only if
    its SHA-256 is the terms' loan reference digest (refused otherwise: a lender must never be
    shown a reference the factory did not sign; ``None`` keeps none), and the typed data.
    Terms the registry would refuse are refused as when the service signs (``check_consent``).
    With ``params`` (the ``ProfileParams`` of the manifest the factory was shown) the manifest
    rebuilt is ``dpl-asset/2``, its profile recomputed from the store with them.
    """
    check_same_registry(chain, consent.chain_id, consent.registry, "consent")
    terms = consent.terms
    recovered = chain.recover_typed_data(typed_data(chain, terms, consent.nonce, consent.deadline), consent.signature)
    if recovered is None or recovered.lower() != signer.lower():
        raise SignatureMismatch(f"the signature is not this factory's signature ({to_checksum_address(signer)}) of "
                                "the consent's terms, nonce and deadline")
    check_consent(chain, terms, signer, consent.deadline)
    _, manifest, digest = describe_asset(store, chain, stream, terms.start, terms.end, terms.checkpoint_size, params)
    if digest != terms.asset_digest:
        raise InvalidArgumentError(f"asset_digest: the consent signs {to_hex(terms.asset_digest)}, but records "
                                   f"[{terms.start}, {terms.end}) of {stream} at checkpoint {terms.checkpoint_size} "
                                   f"have the manifest digest {to_hex(digest)}")
    if loan_ref is not None:
        if not isinstance(loan_ref, str) or hashlib.sha256(loan_ref.encode()).digest() != terms.loan_ref_digest:
            raise InvalidArgumentError("loan_ref: its SHA-256 is not the loan_ref_digest the factory signed (send "
                                       "the reference that was signed, or none)")
    return consent_document(chain, factory=signer, stream=stream, terms=terms, nonce=consent.nonce,
                            deadline=consent.deadline, signature=consent.signature, manifest=manifest,
                            loan_ref=loan_ref)


def check_extension(chain: Chain, view: PledgeView, signer: str, lien_end: int, deadline: int,
                    now: int | None = None) -> None:
    """Refuse, before anything is signed, an extension the registry would refuse or that is
    not ``signer``'s to give: the pledge is not live, its log's factory on chain is not
    ``signer``, the new lien end is not after the current one, the deadline has passed."""
    check_moment(lien_end, "lien_end")
    check_moment(deadline, "deadline")
    if view.factory.lower() != signer.lower():
        raise InvalidArgumentError(f"pledge {view.token_id} is over a log of factory {view.factory} on chain, "
                                   f"not of the signer {to_checksum_address(signer)}")
    if view.status != "live":
        raise ConflictError(f"pledge {view.token_id} is {view.status}: only a live pledge's lien end can move")
    if lien_end <= view.terms.lien_end:
        raise InvalidArgumentError(f"lien_end: {utc_text(lien_end)} is not after the pledge's lien end "
                                   f"({utc_text(view.terms.lien_end)})")
    now = chain_time(chain) if now is None else now
    if deadline <= now:
        raise InvalidArgumentError(f"deadline: {utc_text(deadline)} has passed (the chain's clock reads {utc_text(now)})")


def extension_document(chain: Chain, *, factory: str, token_id: int, lien_end: int, nonce: int, deadline: int,
                       signature: bytes | None) -> dict:
    """A ``dpl-extension/1`` document (``signature`` None: a draft to sign)."""
    return {
        "format": EXTENSION_FORMAT, "chain_id": chain.chain_id, "registry": chain.registry.address,
        "factory": to_checksum_address(factory), "token_id": token_id,
        "lien_end": lien_end, "lien_end_utc": utc_text(lien_end),
        "nonce": str(nonce), "deadline": deadline, "deadline_utc": utc_text(deadline),
        "signature": None if signature is None else to_hex(signature),
        "typed_data": extension_typed_data(chain, token_id, lien_end, nonce, deadline),
    }


def make_extension(chain: Chain, factory, token_id: int, lien_end: int, deadline: int | None = None,
                   nonce: int | None = None) -> dict:
    """The factory's signed extension of pledge ``token_id``'s lien to ``lien_end`` (a
    ``dpl-extension/1`` document), after ``check_extension`` against the chain. Deadline
    default: 7 days after the chain's clock; nonce default: random (the registry keeps one
    set of used nonces per factory for consents and extensions)."""
    view = read_pledge(chain, check_token_id(token_id))
    now = chain_time(chain)
    deadline = now + DEFAULT_VALIDITY if deadline is None else deadline
    check_extension(chain, view, factory.address, lien_end, deadline, now)
    nonce = secrets.randbits(256) if nonce is None else nonce
    signature = chain.sign_pledge_extension(factory, {"tokenId": token_id, "newLienEnd": lien_end, "nonce": nonce,
                                                      "deadline": deadline})
    return extension_document(chain, factory=factory.address, token_id=token_id, lien_end=lien_end, nonce=nonce,
                              deadline=deadline, signature=signature)


def accept_extension(chain: Chain, ext: Extension, signer: str) -> dict:
    """The document to keep for an extension a factory signed elsewhere and handed in: rebuilt
    from the signed fields (signature checked to recover to ``signer``, the caller's verified
    address) after ``check_extension``."""
    check_same_registry(chain, ext.chain_id, ext.registry, "extension")
    view = read_pledge(chain, ext.token_id)
    check_extension_signature(chain, ext, signer)
    check_extension(chain, view, signer, ext.lien_end, ext.deadline)
    return extension_document(chain, factory=signer, token_id=ext.token_id, lien_end=ext.lien_end, nonce=ext.nonce,
                              deadline=ext.deadline, signature=ext.signature)
