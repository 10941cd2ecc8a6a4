"""Pledges of data assets: consent, issue, the holder's moves, reading, and the mirror sync.

The registry contract (``IDataPledges``) is the source of truth; this module turns its
tuples into ``Terms``/``PledgeView``, signs the factory's consent (EIP-712 ``PledgeConsent``),
sends the lender's transactions, and mirrors the pledge events into the database.

A consent file (``dpl-consent/2``) carries the terms, the nonce, deadline and signature, the
asset manifest and loan reference the digests commit to, and the exact EIP-712 typed data
that was signed (so a person or a wallet can check what the factory agreed to). Integers
that may exceed 2^53 (principal, nonce) are decimal strings in JSON, and so is every integer
of the typed data's message.

The lien end moves later only as far as the factory agreed: up to the terms' max lien end
on the holder's word alone, beyond it with the factory's signed ``PledgeExtension``
(``dpl-extension/1``: token, new lien end, nonce, deadline, signature, typed data).

What the registry would refuse is refused here first, before anything is signed or sent,
with the field named (``check_consent``, ``check_extension``, ``extend_call``); every
integer is range-checked where it enters (``parse_time``, ``read_consent``,
``read_extension``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone

from eth_utils import is_address, to_checksum_address
from web3.logs import DISCARD

from ledger.bundles import to_hex
from ledger.chain.client import PLEDGE_CONSENT_TYPES, PLEDGE_EXTENSION_TYPES, PLEDGE_TERMS_FIELDS, Chain
from ledger.limits import MAX_SAMPLES
from ledger.errors import ChainError, ConflictError, InvalidArgumentError, LedgerError, NotFoundError
from ledger.store.pledges import PledgeMirror, SyncPoint

CONSENT_FORMAT = "dpl-consent/2"
EXTENSION_FORMAT = "dpl-extension/1"
#: Consents signed before terms carried ``maxLienEnd``: no registry of this version accepts them.
OLD_CONSENT_FORMATS = ("dpl-consent/1",)
STATUS_NAMES = ("none", "live", "released", "defaulted", "lapsed")
EVENTS = ("PledgeIssued", "PledgeTransferred", "PledgeReleased", "PledgeDefaulted", "PledgeExtended")
EVENT_PAGE = 2000
_CURRENCY = re.compile(r"[A-Z]{3}")
_UINT256_MAX = 2**256 - 1
_UINT64_MAX = 2**64 - 1
#: Token ids the registry can issue (it counts them in a uint64).
TOKEN_ID_MAX = _UINT64_MAX
#: The moments the ledger takes (unix seconds): 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MOMENT_MAX = 253_402_300_799
#: How long a consent or an extension stays usable when no deadline is given.
DEFAULT_VALIDITY = 7 * 86400
_ZERO_ADDRESS = "0x" + "00" * 20


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Terms:
    """``IDataPledges.PledgeTerms``."""

    log_id: bytes
    start: int
    end: int
    checkpoint_size: int
    asset_digest: bytes
    principal: int
    currency: str
    maturity: int
    lien_end: int
    max_lien_end: int
    samples: int
    loan_ref_digest: bytes
    lender: str

    def __post_init__(self):
        if not _CURRENCY.fullmatch(self.currency):
            raise InvalidArgumentError(f"currency must be an ISO 4217 code of three capital letters, not {self.currency!r}")
        if not 0 < self.principal <= _UINT256_MAX:
            raise InvalidArgumentError("principal must be a positive whole number of minor units")
        for name in ("start", "end", "checkpoint_size", "maturity", "lien_end", "max_lien_end"):
            if not 0 <= getattr(self, name) <= _UINT64_MAX:
                raise InvalidArgumentError(f"{name} is out of range")
        if self.max_lien_end < self.lien_end:
            raise InvalidArgumentError("max_lien_end must not be before lien_end (it bounds the lender's extensions)")
        if not 1 <= self.samples < 2**32:
            raise InvalidArgumentError(f"samples must be from 1 to {2**32 - 1} (a uint32), not {self.samples}")
        if not is_address(self.lender):
            raise InvalidArgumentError(f"lender {self.lender!r} is not an address")

    def message(self) -> dict:
        """The EIP-712 ``PledgeConsent`` fields of these terms (without nonce and deadline)."""
        return {"logId": self.log_id, "start": self.start, "end": self.end, "checkpointSize": self.checkpoint_size,
                "assetDigest": self.asset_digest, "principal": self.principal, "currency": self.currency.encode(),
                "maturity": self.maturity, "lienEnd": self.lien_end, "maxLienEnd": self.max_lien_end,
                "samples": self.samples,
                "loanRefDigest": self.loan_ref_digest, "lender": to_checksum_address(self.lender)}

    def as_tuple(self) -> tuple:
        return tuple(self.message().values())

    @classmethod
    def from_chain(cls, value) -> Terms:
        """From a decoded ``PledgeTerms`` (a tuple in field order, or a name -> value mapping)."""
        fields = [f["name"] for f in PLEDGE_TERMS_FIELDS]
        v = dict(value) if hasattr(value, "keys") else dict(zip(fields, value))
        return cls(bytes(v["logId"]), v["start"], v["end"], v["checkpointSize"], bytes(v["assetDigest"]),
                   v["principal"], bytes(v["currency"]).decode("ascii", "replace"), v["maturity"], v["lienEnd"],
                   v["maxLienEnd"], v["samples"], bytes(v["loanRefDigest"]), to_checksum_address(v["lender"]))

    def as_json(self) -> dict:
        return {"log_id": to_hex(self.log_id), "from": self.start, "to": self.end,
                "checkpoint_size": self.checkpoint_size, "asset_digest": to_hex(self.asset_digest),
                "principal": str(self.principal), "currency": self.currency, "maturity": self.maturity,
                "maturity_utc": utc_text(self.maturity), "lien_end": self.lien_end, "lien_end_utc": utc_text(self.lien_end),
                "max_lien_end": self.max_lien_end, "max_lien_end_utc": utc_text(self.max_lien_end),
                "samples": self.samples, "loan_ref_digest": to_hex(self.loan_ref_digest), "lender": self.lender}

    @classmethod
    def from_json(cls, d: dict) -> Terms:
        try:
            return cls(_bytes32(d["log_id"], "log_id"), _uint(d["from"], "from", _UINT64_MAX),
                       _uint(d["to"], "to", _UINT64_MAX), _uint(d["checkpoint_size"], "checkpoint_size", _UINT64_MAX),
                       _bytes32(d["asset_digest"], "asset_digest"), _uint(d["principal"], "principal", _UINT256_MAX),
                       str(d["currency"]), _moment(d["maturity"], "maturity"), _moment(d["lien_end"], "lien_end"),
                       _moment(d["max_lien_end"], "max_lien_end"), _uint(d["samples"], "samples", 2**32 - 1),
                       _bytes32(d["loan_ref_digest"], "loan_ref_digest"), _address_of(d["lender"], "lender"))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InvalidArgumentError):
                raise
            raise InvalidArgumentError(f"the terms are malformed ({type(e).__name__}: {e})") from None


def _uint(value: object, name: str, limit: int) -> int:
    """A whole number in ``0..limit`` from JSON: an integer or a decimal string (big integers
    travel as strings), nothing else (no floats, booleans, signs or spaces)."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]+", value):
        if len(value) > 80:  # never int() of a huge text; 80 digits hold every uint256
            raise InvalidArgumentError(f"{name} is out of range: a number of {len(value)} digits is not in 0..{limit}")
        value = int(value)
    if type(value) is not int:
        raise InvalidArgumentError(f"{name} must be a whole number (or a decimal string), not {value!r:.40}")
    if not 0 <= value <= limit:
        raise InvalidArgumentError(f"{name} is out of range: {value} is not in 0..{limit}")
    return value


def check_moment(value: int, name: str) -> int:
    """``value`` if it is a moment the ledger takes (1970-01-01 to 9999-12-31, in unix
    seconds), else ``InvalidArgumentError`` naming ``name``."""
    if not 0 <= value <= MOMENT_MAX:
        raise InvalidArgumentError(f"{name}: {value} is not a moment from 1970-01-01 to 9999-12-31 (unix seconds)")
    return value


def _moment(value: object, name: str) -> int:
    return check_moment(_uint(value, name, _UINT256_MAX), name)


def _address_of(value: object, name: str) -> str:
    if not isinstance(value, str) or not is_address(value):
        raise InvalidArgumentError(f"{name} {value!r:.50} is not an address")
    return to_checksum_address(value)


def check_token_id(token_id: int) -> int:
    """``token_id`` if the registry could have issued it (1..2^64-1)."""
    if type(token_id) is not int or not 1 <= token_id <= TOKEN_ID_MAX:
        raise InvalidArgumentError(f"token id {token_id!r:.40} is not in 1..{TOKEN_ID_MAX}")
    return token_id


def _bytes32(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raise InvalidArgumentError(f"{name} must be 0x and 64 hex digits")
    return bytes.fromhex(value[2:])


def utc_text(seconds: int) -> str:
    """Unix seconds as an ISO 8601 UTC date-time (``2027-06-30T00:00:00Z``), or ``(out of range)``."""
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return "(out of range)"


def loan_ref_digest(text: str) -> bytes:
    """SHA-256 of the loan reference (UTF-8): the reference itself stays off chain."""
    if not text.strip():
        raise InvalidArgumentError("the loan reference must not be empty")
    return hashlib.sha256(text.encode()).digest()


def parse_time(text: str, what: str) -> int:
    """Unix seconds from ``YYYY-MM-DD`` (00:00 UTC), an ISO 8601 date-time with offset, or an
    integer number of seconds; refuses, naming ``what``, anything else and any moment outside
    1970-01-01T00:00:00Z..9999-12-31T23:59:59Z (so the result fits the registry's uint64)."""
    text = text.strip()
    shown = f"{text[:40]!r}" + ("…" if len(text) > 40 else "")
    if re.fullmatch(r"[0-9]+", text):
        if len(text) > 12:  # more than MOMENT_MAX's 12 digits (and never int() of a huge string)
            raise InvalidArgumentError(f"{what}: {shown} is after 9999-12-31 (dates from 1970-01-01 to 9999-12-31)")
        return _in_range(int(text), what, shown)
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(f"{what}: {shown} is not a date (YYYY-MM-DD), an ISO 8601 date-time "
                                   "or unix seconds") from None
    if moment.tzinfo is None:
        raise InvalidArgumentError(f"{what}: {shown} has no UTC offset (add Z or +08:00)")
    try:
        seconds = int(moment.timestamp())
    except (OverflowError, ValueError):  # 9999-12-31T23:00-05:00 is in year 10000 in UTC (0001-01-01+01:00 in year 0)
        seconds = -1 if moment.year < 1970 else MOMENT_MAX + 1
    return _in_range(seconds, what, shown)


def _in_range(seconds: int, what: str, shown: str) -> int:
    if seconds < 0:
        raise InvalidArgumentError(f"{what}: {shown} is before 1970-01-01 (dates from 1970-01-01 to 9999-12-31)")
    if seconds > MOMENT_MAX:
        raise InvalidArgumentError(f"{what}: {shown} is after 9999-12-31 (dates from 1970-01-01 to 9999-12-31)")
    return seconds


@dataclass(frozen=True)
class ConsentDates:
    """The dates of a consent's terms, parsed and in order; ``deadline`` None: the default."""

    maturity: int
    lien_end: int
    max_lien_end: int
    deadline: int | None


def consent_dates(maturity: str, lien_end: str, max_lien_end: str | None = None, deadline: str | None = None,
                  name=lambda field: field) -> ConsentDates:
    """Parse the dates a factory types for a consent and check their order (pure: before the
    chain or the store is asked). ``name`` maps a field (``lien_end``) to how the caller
    calls it (``--lien-end``); the max lien end defaults to the lien end (no extension
    without asking the factory)."""
    maturity_at, lien_end_at = parse_time(maturity, name("maturity")), parse_time(lien_end, name("lien_end"))
    if maturity_at >= lien_end_at:
        raise InvalidArgumentError(f"{name('lien_end')} must be after {name('maturity')} (the lien must outlive the loan)")
    max_at = parse_time(max_lien_end, name("max_lien_end")) if max_lien_end else lien_end_at
    if max_at < lien_end_at:
        raise InvalidArgumentError(f"{name('max_lien_end')} must not be before {name('lien_end')}")
    return ConsentDates(maturity_at, lien_end_at, max_at, parse_time(deadline, name("deadline")) if deadline else None)


def parse_nonce(text: str | None) -> int:
    """A decimal nonce below 2^256 (a draft's), or a fresh random one when ``text`` is None."""
    if text is None:
        return secrets.randbits(256)
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,78}", text) or int(text) > _UINT256_MAX:
        raise InvalidArgumentError("nonce must be a decimal number below 2^256")
    return int(text)


# -------------------------------------------------------------------------- consent


def typed_data(chain: Chain, terms: Terms, nonce: int, deadline: int) -> dict:
    """The EIP-712 ``PledgeConsent`` document a wallet signs (eth_signTypedData_v4 shape),
    JSON-ready: its integers are decimal strings (``Chain.typed_data``)."""
    return chain.typed_data(PLEDGE_CONSENT_TYPES, {**terms.message(), "nonce": nonce, "deadline": deadline})


def check_terms(terms: Terms) -> None:
    """Refuse terms the registry's ``_checkTerms`` refuses whatever the chain's state, naming the
    field: an empty range or one past the checkpoint, a maturity not before the lien end, a zero
    asset digest, and samples outside 1..``MAX_SAMPLES`` (our rule: k records are disclosed).
    (``Terms`` itself refuses a principal of 0, a currency that is not three capital letters and
    a max lien end before the lien end.)"""
    if not terms.start < terms.end <= terms.checkpoint_size:
        raise InvalidArgumentError(f"from/to: the range [{terms.start}, {terms.end}) must be non-empty and inside "
                                   f"the checkpoint of size {terms.checkpoint_size}")
    if terms.maturity >= terms.lien_end:
        raise InvalidArgumentError(f"maturity: {utc_text(terms.maturity)} must be before the lien end "
                                   f"{utc_text(terms.lien_end)} (the lien must outlast the loan)")
    if terms.asset_digest == bytes(32):
        raise InvalidArgumentError("asset_digest: zero is no asset")
    if not 1 <= terms.samples <= MAX_SAMPLES:
        raise InvalidArgumentError(f"samples: must be from 1 to {MAX_SAMPLES:,} (each sampled record is disclosed "
                                   f"to the lender), not {terms.samples}")


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
    if terms.lien_end <= now:
        raise InvalidArgumentError(f"lien_end: {utc_text(terms.lien_end)} has passed ({clock})")
    if terms.lender.lower() == _ZERO_ADDRESS:
        raise InvalidArgumentError("lender: the zero address cannot hold a pledge")
    if not is_lender(chain, terms.lender):
        raise InvalidArgumentError(f"lender {terms.lender} is not an approved lender on registry "
                                   f"{chain.registry.address} (an admin approves it first: dpl lenders add)")
    owner = chain.call(chain.registry.functions.factoryOf(terms.log_id).call)
    if int(owner, 16) == 0:
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


@dataclass(frozen=True)
class Consent:
    chain_id: int
    registry: str
    factory: str
    terms: Terms
    nonce: int
    deadline: int
    signature: bytes


def _signature(value: object) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x([0-9a-fA-F]{2}){1,1024}", value):
        raise InvalidArgumentError("signature must be 0x-prefixed hex")
    return bytes.fromhex(value[2:])


def read_consent(doc: object) -> Consent:
    """Validate a ``dpl-consent/2`` document's shape and the range of every integer (the
    contract checks the signature)."""
    if isinstance(doc, dict) and doc.get("format") in OLD_CONSENT_FORMATS:
        raise InvalidArgumentError(f"this is a {doc['format']} document, signed for a registry before lien ends were "
                                   f"bounded (max lien end): ask the factory for a new consent ({CONSENT_FORMAT})")
    if not isinstance(doc, dict) or doc.get("format") != CONSENT_FORMAT:
        raise InvalidArgumentError(f"not a {CONSENT_FORMAT} document")
    try:
        signature = _signature(doc["signature"])
        if not isinstance(doc["terms"], dict):
            raise InvalidArgumentError("terms must be an object")
        return Consent(_uint(doc["chain_id"], "chain_id", _UINT256_MAX), _address_of(doc["registry"], "registry"),
                       _address_of(doc["factory"], "factory"), Terms.from_json(doc["terms"]),
                       _uint(doc["nonce"], "nonce", _UINT256_MAX), _moment(doc["deadline"], "deadline"), signature)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"the consent is malformed ({type(e).__name__}: {e})") from None


def check_same_registry(chain: Chain, chain_id: int, registry: str, what: str) -> None:
    if chain_id != chain.chain_id or to_checksum_address(registry) != chain.registry.address:
        raise InvalidArgumentError(f"the {what} is for registry {registry} on chain {chain_id}, but this "
                                   f"ledger uses {chain.registry.address} on chain {chain.chain_id}")


def accept_consent(store, chain: Chain, consent: Consent, signer: str, stream: str, loan_ref: object) -> dict:
    """The document to keep for a consent a factory signed elsewhere (its wallet) and handed in.

    Only what the signature covers and what this service derives is kept: the terms, nonce,
    deadline and signature (checked to recover to ``signer``, the caller's verified address),
    ``stream`` (the caller found the log by the terms' log id), the manifest rebuilt from the
    store (refused unless its digest is the terms' asset digest), the loan reference only if
    its SHA-256 is the terms' loan reference digest (refused otherwise: a lender must never be
    shown a reference the factory did not sign; ``None`` keeps none), and the typed data.
    Terms the registry would refuse are refused as when the service signs (``check_consent``).
    """
    check_same_registry(chain, consent.chain_id, consent.registry, "consent")
    terms = consent.terms
    recovered = chain.recover_typed_data(typed_data(chain, terms, consent.nonce, consent.deadline), consent.signature)
    if recovered is None or recovered.lower() != signer.lower():
        raise SignatureMismatch(f"the signature is not this factory's signature ({to_checksum_address(signer)}) of "
                                "the consent's terms, nonce and deadline")
    check_consent(chain, terms, signer, consent.deadline)
    _, manifest, digest = describe_asset(store, chain, stream, terms.start, terms.end, terms.checkpoint_size)
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


class SignatureMismatch(InvalidArgumentError):
    """A signature handed in does not recover to the party that must have signed."""


# ------------------------------------------------------------------------ extensions


@dataclass(frozen=True)
class Extension:
    """A factory's signed ``PledgeExtension``: pledge ``token_id``'s lien may end at ``lien_end``."""

    chain_id: int
    registry: str
    factory: str
    token_id: int
    lien_end: int
    nonce: int
    deadline: int
    signature: bytes


def extension_typed_data(chain: Chain, token_id: int, lien_end: int, nonce: int, deadline: int) -> dict:
    """The EIP-712 ``PledgeExtension`` document a wallet signs (integers as decimal strings)."""
    return chain.typed_data(PLEDGE_EXTENSION_TYPES,
                            {"tokenId": token_id, "newLienEnd": lien_end, "nonce": nonce, "deadline": deadline})


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


def read_extension(doc: object) -> Extension:
    """Validate a ``dpl-extension/1`` document's shape and the range of every integer."""
    if not isinstance(doc, dict) or doc.get("format") != EXTENSION_FORMAT:
        raise InvalidArgumentError(f"not a {EXTENSION_FORMAT} document")
    try:
        return Extension(_uint(doc["chain_id"], "chain_id", _UINT256_MAX), _address_of(doc["registry"], "registry"),
                         _address_of(doc["factory"], "factory"),
                         check_token_id(_uint(doc["token_id"], "token_id", _UINT256_MAX)),
                         _moment(doc["lien_end"], "lien_end"), _uint(doc["nonce"], "nonce", _UINT256_MAX),
                         _moment(doc["deadline"], "deadline"), _signature(doc["signature"]))
    except KeyError as e:
        raise InvalidArgumentError(f"the extension is malformed (no {e})") from None


def _check_extension_signature(chain: Chain, ext: Extension, factory: str) -> None:
    document = extension_typed_data(chain, ext.token_id, ext.lien_end, ext.nonce, ext.deadline)
    recovered = chain.recover_typed_data(document, ext.signature)
    if recovered is None or recovered.lower() != factory.lower():
        raise SignatureMismatch(f"the extension's signature is not the pledge's factory's ({factory}) signature of "
                                "its token, lien end, nonce and deadline")


def accept_extension(chain: Chain, ext: Extension, signer: str) -> dict:
    """The document to keep for an extension a factory signed elsewhere and handed in: rebuilt
    from the signed fields (signature checked to recover to ``signer``, the caller's verified
    address) after ``check_extension``."""
    check_same_registry(chain, ext.chain_id, ext.registry, "extension")
    view = read_pledge(chain, ext.token_id)
    _check_extension_signature(chain, ext, signer)
    check_extension(chain, view, signer, ext.lien_end, ext.deadline)
    return extension_document(chain, factory=signer, token_id=ext.token_id, lien_end=ext.lien_end, nonce=ext.nonce,
                              deadline=ext.deadline, signature=ext.signature)


def extension_used(chain: Chain, ext: Extension) -> bool:
    """Has the registry used this extension's nonce (for it, or for a consent)?"""
    return chain.call(chain.registry.functions.consentNonceUsed(ext.factory, ext.nonce).call)


def extend_call(chain: Chain, view: PledgeView, lien_end: int | None, extension: Extension | None = None):
    """The registry call that moves pledge ``view``'s lien end: ``extend`` up to the max lien
    end the factory signed, ``extendWithConsent`` with the factory's ``extension`` beyond it.
    Refuses first, with what is missing, a move past the max lien end without an extension
    (``ConflictError``), and an extension for another pledge, registry or lien end, signed by
    another key, past its deadline or used already, so a holder's wallet is never handed a
    transaction that must revert for those reasons. (Holder, status and "later than the current
    lien end" are the registry's checks, refused by name from the gas estimate.)"""
    fns, token = chain.registry.functions, view.token_id
    if extension is None:
        if lien_end is None:
            raise InvalidArgumentError("lien_end: give the new lien end (or the factory's extension)")
        check_moment(lien_end, "lien_end")
        bound = view.terms.max_lien_end
        if lien_end > bound and view.status == "live":  # else the registry's PledgeWrongStatus says why
            raise ConflictError(
                f"pledge {token}: the new lien end {utc_text(lien_end)} is past {utc_text(bound)}, the latest lien end its "
                "factory agreed to (max lien end): extending further needs the factory's signed extension "
                f"({EXTENSION_FORMAT}, e.g. dpl pledge extension --token {token} --lien-end DATE), nothing was sent")
        return fns.extend(token, lien_end)
    check_same_registry(chain, extension.chain_id, extension.registry, "extension")
    if extension.token_id != token:
        raise InvalidArgumentError(f"the extension is for pledge {extension.token_id}, not {token}")
    if lien_end is not None and lien_end != extension.lien_end:
        raise InvalidArgumentError(f"lien_end: the factory's extension moves the lien end to {utc_text(extension.lien_end)}, "
                                   f"not {utc_text(lien_end)}")
    _check_extension_signature(chain, extension, view.factory)
    now = chain_time(chain)
    if extension.deadline < now:
        raise ConflictError(f"the factory's extension expired at {utc_text(extension.deadline)} (the chain's clock "
                            f"reads {utc_text(now)}): ask the factory for a new one")
    if chain.call(fns.consentNonceUsed(view.factory, extension.nonce).call):
        raise ConflictError("the factory's extension was used already (each extension moves a lien once)")
    return fns.extendWithConsent(token, extension.lien_end, extension.nonce, extension.deadline, extension.signature)


# ---------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class Issued:
    token_id: int
    tx_hash: str
    block_number: int


def issue(chain: Chain, lender, consent: Consent) -> Issued:
    """Issue the pledge a consent allows, as the lender it names. A refusal raises
    ``ContractRevertError`` from the gas estimate, before anything is sent."""
    check_same_registry(chain, consent.chain_id, consent.registry, "consent")
    fns = chain.registry.functions
    hint = chain.call(fns.issueHint(consent.terms.log_id, consent.terms.start).call)
    receipt = chain.transact(lender, fns.issue(consent.terms.as_tuple(), consent.nonce, consent.deadline,
                                               consent.signature, hint))
    events = chain.registry.events.PledgeIssued().process_receipt(receipt, errors=DISCARD)  # skip ERC-721 Transfer
    if len(events) != 1:
        raise ChainError("the issue transaction emitted no PledgeIssued event")
    return Issued(events[0]["args"]["tokenId"], to_hex(bytes(receipt["transactionHash"])), receipt["blockNumber"])


def send(chain: Chain, account, fn) -> str:
    """Send one holder action (transfer, release, default, extend); returns the tx hash."""
    receipt = chain.transact(account, fn)
    return to_hex(bytes(receipt["transactionHash"]))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PledgeView:
    token_id: int
    terms: Terms
    status: str
    factory: str
    issue_block: int
    holder: str | None

    def as_json(self) -> dict:
        t = self.terms.as_json()
        return {"token_id": self.token_id, "status": self.status, "holder": self.holder, "log_id": t["log_id"],
                "from": t["from"], "to": t["to"], "asset_digest": t["asset_digest"], "factory": self.factory,
                "issue_block": self.issue_block, "terms": t}


def read_pledge(chain: Chain, token_id: int) -> PledgeView:
    """The pledge as the chain has it now; ``NotFoundError`` if it was never issued."""
    from ledger.errors import NotFoundError

    terms, status, factory, issue_block = chain.call(chain.registry.functions.pledge(token_id).call)
    if status == 0:
        raise NotFoundError(f"no pledge {token_id} in registry {chain.registry.address} on chain {chain.chain_id}")
    holder = None
    if STATUS_NAMES[status] != "released":
        holder = chain.call(chain.registry.functions.ownerOf(token_id).call)
    return PledgeView(token_id, Terms.from_chain(terms), STATUS_NAMES[status], to_checksum_address(factory),
                      issue_block, holder)


def effective_status(stored: str, lien_end: int, now: int) -> str:
    """The mirror keeps live/released/defaulted; a live pledge past its lien end has lapsed."""
    return "lapsed" if stored == "live" and now >= lien_end else stored


def chain_time(chain: Chain) -> int:
    """The latest block's timestamp: the clock the contract judges maturity and lapse by."""
    return chain.call(lambda: chain.w3.eth.get_block("latest"))["timestamp"]


# ------------------------------------------------------------------------ the mirror


def _decode(chain: Chain, from_block: int, to_block: int) -> list[dict]:
    raw = []
    for name in EVENTS:
        event = getattr(chain.registry.events, name)
        start = from_block
        while start <= to_block:
            end = min(start + EVENT_PAGE - 1, to_block)
            raw += [(name, ev) for ev in chain.call(event.get_logs, from_block=start, to_block=end)]
            start = end + 1
    raw.sort(key=lambda item: (item[1]["blockNumber"], item[1]["logIndex"]))
    out = []
    for name, ev in raw:
        args = ev["args"]
        item = {"event": name, "token_id": args["tokenId"], "block_number": ev["blockNumber"]}
        if name == "PledgeIssued":
            terms = Terms.from_chain(args["terms"])
            item["row"] = {
                "log_id": terms.log_id, "start": terms.start, "end": terms.end,
                "checkpoint_size": terms.checkpoint_size, "asset_digest": terms.asset_digest,
                "principal": str(terms.principal), "currency": terms.currency, "maturity": terms.maturity,
                "lien_end": terms.lien_end, "max_lien_end": terms.max_lien_end, "samples": terms.samples, "loan_ref_digest": terms.loan_ref_digest,
                "lender": terms.lender, "factory": to_checksum_address(args["factory"]),
                "holder": to_checksum_address(args["lender"]), "nonce": str(args["nonce"]),
                "issue_tx": bytes(ev["transactionHash"]),
            }
        elif name == "PledgeTransferred":
            item["to"] = to_checksum_address(args["to"])
        elif name == "PledgeExtended":
            item["new_lien_end"] = args["newLienEnd"]
        out.append(item)
    return out


@dataclass(frozen=True)
class SyncReport:
    events: int
    rebuilt: bool
    block_number: int


def sync(chain: Chain, engine, deployment_block: int, full: bool = False) -> SyncReport:
    """Bring the pledge mirror up to the chain head. Reads from where it stopped; reads from
    the deployment block (a rebuild) when ``full``, the first time, or when the block it
    stopped at is no longer on the chain (a reorg)."""
    mirror = PledgeMirror(engine, chain.chain_id, chain.registry.address)
    point = mirror.sync_point()
    head = chain.block_number()
    head_hash = chain.block_hash(head)
    rebuild = full or point is None or chain.block_hash(point.block_number) != point.block_hash
    start = deployment_block if rebuild else point.block_number + 1
    events = _decode(chain, start, head) if start <= head else []
    mirror.apply(events, SyncPoint(head, head_hash), rebuild)
    return SyncReport(len(events), rebuild, head)


# --------------------------------------------------------------------- data assets


def anchored_checkpoint(store, info, chain, min_size: int, size: int | None):
    """The newest checkpoint of ``info`` anchored on this chain's registry with size >=
    ``min_size`` (exactly ``size`` if given), checked against the root the chain holds."""
    from ledger.store.anchors import FINAL, INCLUDED, AnchorStore

    if info.log_id is None:
        raise NotFoundError(f"log {info.stream} has never been anchored (run: dpl anchor)")
    rows = [r for r in AnchorStore(store.engine).for_log(chain.chain_id, chain.registry.address, info.pk)
            if r.state in (INCLUDED, FINAL) and r.size >= min_size and (size is None or r.size == size)]
    if not rows:
        want = f"of size {size}" if size is not None else f"covering index {min_size - 1}"
        raise NotFoundError(f"log {info.stream} has no anchored checkpoint {want} on chain {chain.chain_id} "
                            "(ingest, then run: dpl anchor)")
    row = max(rows, key=lambda r: r.size)
    root, anchored_at = chain.call(chain.registry.functions.rootAt(info.log_id, row.size).call)
    if anchored_at == 0 or bytes(root) != row.root:
        raise LedgerError(f"the chain does not hold the checkpoint of size {row.size} this store recorded "
                          "(reorg or reset chain?); run: dpl anchor, then dpl audit")
    return row


def describe_asset(store, chain: Chain, stream: str, start: int, end: int, checkpoint: int | None = None):
    """(log info, manifest, asset digest) of records ``[start, end)`` of ``stream``, committed by
    the newest anchored checkpoint covering them (exactly ``checkpoint`` if given)."""
    from ledger.assets import asset_digest, build_manifest

    info = store.get_log(stream)
    if not 0 <= start < end:
        raise InvalidArgumentError(f"the range [{start}, {end}) is empty or negative")
    if end > info.size:
        raise InvalidArgumentError(f"the range [{start}, {end}) goes past the end of {stream}, which has "
                                   f"{info.size} records")
    row = anchored_checkpoint(store, info, chain, end, checkpoint)
    manifest = build_manifest(store, stream, start, end, row.size, row.root)
    return info, manifest, asset_digest(manifest)


# ------------------------------------------------------------------------- lenders


def _lender_role(chain: Chain) -> bytes:
    return chain.call(chain.registry.functions.LENDER_ROLE().call)


def is_lender(chain: Chain, address: str) -> bool:
    return chain.call(chain.registry.functions.hasRole(_lender_role(chain), address).call)


def set_lender(chain: Chain, admin, address: str, approved: bool) -> str | None:
    """Grant or revoke ``LENDER_ROLE``; the tx hash, or None when it already is so."""
    if is_lender(chain, address) == approved:
        return None
    fns = chain.registry.functions
    role = _lender_role(chain)
    return send(chain, admin, fns.grantRole(role, address) if approved else fns.revokeRole(role, address))


def approved_lenders(chain: Chain, from_block: int) -> list[str]:
    """The lenders approved now: every account ever granted the role, still holding it."""
    role = _lender_role(chain)
    events = chain.call(chain.registry.events.RoleGranted.get_logs, from_block=from_block,
                        argument_filters={"role": role})
    seen = dict.fromkeys(ev["args"]["account"] for ev in events)
    return [a for a in seen if chain.call(chain.registry.functions.hasRole(role, a).call)]


def mirror_row_json(row: dict, now: int) -> dict:
    """A mirrored pledge as the CLI and the API list it, its status read at chain time ``now``."""
    return {"token_id": row["token_id"], "status": effective_status(row["status"], row["lien_end"], now),
            "holder": row["holder"], "log_id": to_hex(row["log_id"]), "from": row["start"], "to": row["end"],
            "checkpoint_size": row["checkpoint_size"], "samples": row["samples"],
            "asset_digest": to_hex(row["asset_digest"]), "principal": row["principal"], "currency": row["currency"],
            "maturity": row["maturity"], "lien_end": row["lien_end"], "max_lien_end": row["max_lien_end"],
            "factory": row["factory"],
            "loan_ref_digest": to_hex(row["loan_ref_digest"]), "issue_block": row["issue_block"]}
