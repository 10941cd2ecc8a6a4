"""Pledge terms, consents and extensions as values: parsed, range-checked and refused here
before the chain or the store is asked (pure: no database, no node, no environment).

``Terms`` is ``IDataPledges.PledgeTerms``, the one terms type of the ledger: the chain adapter
(``ledger.pledge.chain``), the mirror, the consent documents and the collateral checks all
carry it. A consent file (``dpl-consent/2``) carries the terms, the nonce, deadline and
signature, the asset manifest and loan reference the digests commit to, and the exact
EIP-712 typed data that was signed (so a person or a wallet can check what the factory agreed
to). Integers that may exceed 2^53 (principal, nonce) are decimal strings in JSON, and so is
every integer of the typed data's message.

The lien end moves later only as far as the factory agreed: up to the terms' max lien end
on the holder's word alone, beyond it with the factory's signed ``PledgeExtension``
(``dpl-extension/1``: token, new lien end, nonce, deadline, signature, typed data).

Every integer is range-checked where it enters (``parse_time``, ``read_consent``,
``read_extension``); what the registry's ``_checkTerms`` refuses whatever the chain's state is
refused by ``check_terms``. ``has_lapsed`` is the registry's lapse rule, the only copy of it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone

from eth_utils import is_address, to_checksum_address

from ledger.bundles import to_hex
from ledger.canonical import CanonicalError, canonicalize
from ledger.checks import Check
from ledger.errors import InvalidArgumentError
from ledger.limits import MAX_SAMPLES

CONSENT_FORMAT = "dpl-consent/2"
EXTENSION_FORMAT = "dpl-extension/1"
#: Consents signed before terms carried ``maxLienEnd``: no registry of this version accepts them.
OLD_CONSENT_FORMATS = ("dpl-consent/1",)
STATUS_NAMES = ("none", "live", "released", "defaulted", "lapsed")
_CURRENCY = re.compile(r"[A-Z]{3}")
_UINT256_MAX = 2**256 - 1
_UINT64_MAX = 2**64 - 1
#: Token ids the registry can issue (it counts them in a uint64).
TOKEN_ID_MAX = _UINT64_MAX
#: The moments the ledger takes (unix seconds): 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
MOMENT_MAX = 253_402_300_799
#: How long a consent or an extension stays usable when no deadline is given.
DEFAULT_VALIDITY = 7 * 86400


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
    #: SHA-256 of the ``dpl-covenants/1`` set agreed with the loan (``ledger.covenants.covenants_digest``);
    #: zero: no covenants.
    covenants_digest: bytes = bytes(32)

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
        if not isinstance(self.covenants_digest, bytes) or len(self.covenants_digest) != 32:
            raise InvalidArgumentError("covenants_digest must be 32 bytes")

    def message(self) -> dict:
        """The EIP-712 ``PledgeConsent`` fields of these terms (without nonce and deadline)."""
        return {"logId": self.log_id, "start": self.start, "end": self.end, "checkpointSize": self.checkpoint_size,
                "assetDigest": self.asset_digest, "principal": self.principal, "currency": self.currency.encode(),
                "maturity": self.maturity, "lienEnd": self.lien_end, "maxLienEnd": self.max_lien_end,
                "samples": self.samples,
                "loanRefDigest": self.loan_ref_digest, "lender": to_checksum_address(self.lender),
                "covenantsDigest": self.covenants_digest}

    def as_tuple(self) -> tuple:
        return tuple(self.message().values())

    @classmethod
    def from_chain(cls, value) -> Terms:
        """From a decoded ``PledgeTerms`` (a tuple in field order, or a name -> value mapping)."""
        from ledger.chain.client import PLEDGE_TERMS_FIELDS  # here: decoding is a chain reader's need

        fields = [f["name"] for f in PLEDGE_TERMS_FIELDS]
        v = dict(value) if hasattr(value, "keys") else dict(zip(fields, value))
        return cls(bytes(v["logId"]), v["start"], v["end"], v["checkpointSize"], bytes(v["assetDigest"]),
                   v["principal"], bytes(v["currency"]).decode("ascii", "replace"), v["maturity"], v["lienEnd"],
                   v["maxLienEnd"], v["samples"], bytes(v["loanRefDigest"]), to_checksum_address(v["lender"]),
                   bytes(v["covenantsDigest"]))

    def as_json(self) -> dict:
        return {"log_id": to_hex(self.log_id), "from": self.start, "to": self.end,
                "checkpoint_size": self.checkpoint_size, "asset_digest": to_hex(self.asset_digest),
                "principal": str(self.principal), "currency": self.currency, "maturity": self.maturity,
                "maturity_utc": utc_text(self.maturity), "lien_end": self.lien_end, "lien_end_utc": utc_text(self.lien_end),
                "max_lien_end": self.max_lien_end, "max_lien_end_utc": utc_text(self.max_lien_end),
                "samples": self.samples, "loan_ref_digest": to_hex(self.loan_ref_digest), "lender": self.lender,
                "covenants_digest": to_hex(self.covenants_digest)}

    @classmethod
    def from_json(cls, d: dict) -> Terms:
        try:
            return cls(_bytes32(d["log_id"], "log_id"), _uint(d["from"], "from", _UINT64_MAX),
                       _uint(d["to"], "to", _UINT64_MAX), _uint(d["checkpoint_size"], "checkpoint_size", _UINT64_MAX),
                       _bytes32(d["asset_digest"], "asset_digest"), _uint(d["principal"], "principal", _UINT256_MAX),
                       str(d["currency"]), _moment(d["maturity"], "maturity"), _moment(d["lien_end"], "lien_end"),
                       _moment(d["max_lien_end"], "max_lien_end"), _uint(d["samples"], "samples", 2**32 - 1),
                       _bytes32(d["loan_ref_digest"], "loan_ref_digest"), _address_of(d["lender"], "lender"),
                       _bytes32(d.get("covenants_digest", to_hex(bytes(32))), "covenants_digest"))
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


def covenants_digest_of(covenants: object) -> bytes:
    """The ``covenantsDigest`` of terms agreeing ``covenants`` (a ``dpl-covenants/1`` set, checked:
    ``ledger.covenants.covenants_digest``); zero for None (no covenants). A bad set raises
    ``InvalidArgumentError``."""
    from ledger.covenants import covenants_digest

    return bytes(32) if covenants is None else covenants_digest(covenants)


def check_covenants_digest(given: bytes | None, pledged: bytes, holder: str) -> Check:
    """The "covenants" check: do the covenants ``holder`` (``the bundle``, ``the consent``)
    carries, hashing to ``given`` (None: it carries none), hash to the digest the pledge's terms
    commit to (``pledged``; zero: no covenants)? A set the terms do not commit to is refused,
    and so is a set missing where the terms commit to one."""
    none = bytes(32)
    if given is None and pledged == none:
        return Check("covenants", True, "the pledge commits to no covenants")
    if given is None:
        return Check("covenants", False, f"the pledge commits to covenants with digest {to_hex(pledged)}, "
                                         f"{holder} carries none: ask the factory for the agreed set")
    if pledged == none:
        return Check("covenants", False, f"{holder}'s covenants hash to {to_hex(given)}, the pledge commits to "
                                         "none: they were never agreed on chain")
    if given != pledged:
        return Check("covenants", False, f"{holder}'s covenants hash to {to_hex(given)}, the pledge commits to "
                                         f"{to_hex(pledged)}: they were edited or are another loan's")
    return Check("covenants", True, f"sha256 {to_hex(given)} is the pledge's covenants digest")


class CovenantsNotPledged(InvalidArgumentError):
    """A covenants set that is not the one the terms commit to (their ``covenantsDigest``)."""


def check_pledged_covenants(covenants: object, pledged: bytes, holder: str) -> None:
    """Refuse (``CovenantsNotPledged``, in the words of the collateral "covenants" check)
    ``covenants`` that ``holder`` carries (None: none) unless they hash to ``pledged``, the
    terms' ``covenantsDigest`` (zero: no covenants)."""
    given = None
    if covenants is not None:
        if type(covenants) is not dict:
            raise CovenantsNotPledged(f"covenants: {holder}'s covenants must be a JSON object (a dpl-covenants/1 set)")
        try:
            given = hashlib.sha256(canonicalize(covenants)).digest()
        except CanonicalError:
            raise CovenantsNotPledged(f"covenants: {holder}'s covenants are not canonical JSON (RFC 8785)") from None
    verdict = check_covenants_digest(given, pledged, holder)
    if not verdict.ok:
        raise CovenantsNotPledged(f"covenants: {verdict.detail}")


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
        consent = Consent(_uint(doc["chain_id"], "chain_id", _UINT256_MAX), _address_of(doc["registry"], "registry"),
                          _address_of(doc["factory"], "factory"), Terms.from_json(doc["terms"]),
                          _uint(doc["nonce"], "nonce", _UINT256_MAX), _moment(doc["deadline"], "deadline"), signature)
        check_pledged_covenants(doc.get("covenants"), consent.terms.covenants_digest, "the consent")
        return consent
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"the consent is malformed ({type(e).__name__}: {e})") from None


class SignatureMismatch(InvalidArgumentError):
    """A signature handed in does not recover to the party that must have signed."""


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


def has_lapsed(lien_end: int, now: int) -> bool:
    """Has a lien ending at ``lien_end`` lapsed at chain time ``now``? The registry's rule
    (``DataPledgeRegistry._status``: ``block.timestamp >= lienEnd``), so a lien end of exactly
    ``now`` has lapsed; and ``_checkTerms`` refuses such terms at issue by the same rule. The
    only copy in Python: listings, consent checks and the audit ask it."""
    return now >= lien_end


def effective_status(stored: str, lien_end: int, now: int) -> str:
    """The mirror keeps live/released/defaulted; a live pledge whose lien ``has_lapsed`` is lapsed."""
    return "lapsed" if stored == "live" and has_lapsed(lien_end, now) else stored


def recorded_status(status: str) -> str:
    """The status the mirror records for one the registry reports (``effective_status``
    undone): lapse is read at a time, never recorded."""
    return "live" if status == "lapsed" else status
