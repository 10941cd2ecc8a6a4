"""Loan applications ``dpl-application/1`` and lenders' decisions ``dpl-decision/1``, and the
states an application moves through (pure: no store, no chain; docs/APPLICATIONS.md).

An application (a factory asks one lender for a loan)::

    {"format": "dpl-application/1",
     "lender": "0x…",                                   # the lender's address (checksummed here)
     "amount": "1250000",                               # minor units: a decimal string (or an integer),
                                                        # as a consent's principal, 1 to 2^256 - 1
     "currency": "CNY",                                 # ISO 4217
     "purpose": "Working capital for the Q1 BRK-220 order",   # 1-500 printable characters
     "collateral": [{"log_id": "0x…", "from": 0, "to": 2000}],  # 1-16 ranges offered as collateral
     "grant": {"format": "dpl-grant/1", …},             # what the lender may read to decide
     "profile": {"tz": "+08:00"}}                       # optional: show the lender the collateral's
                                                        # production profile, with these parameters

The grant (``ledger.grants.check_grant``) must name the same lender and every log offered as
collateral. ``profile`` (``{tz, mapping, thresholds}``, each optional) is the factory's choice to
let the lender read the production profile of each collateral range: figures of every record of
the range, including aggregates of fields the grant may hide (a sales order's customer appears
in ``sales.by_currency.*.by_customer``); without it the lender sees no profile before a consent.

A decision (the lender's answer), one of::

    {"format": "dpl-decision/1", "decision": "approve", "text": "…" (optional),
     "terms": {"log_id", "from", "to",                # the range pledged: inside an offered one
               "principal", "currency", "maturity", "lien_end", "max_lien_end" (optional),
               "samples", "loan_ref", "profile" (optional {tz, mapping, thresholds}),
               "covenants" (optional dpl-covenants/1, needs profile)}}
    {"format": "dpl-decision/1", "decision": "request-more", "grant": {dpl-grant/1}, "text": "…"}
    {"format": "dpl-decision/1", "decision": "decline", "reason": "<REASONS>", "text": "…"}

The approved terms are what a consent draft needs (``POST /v1/pledges/consents/draft``'s body):
the factory reviews them and signs with the existing consent flow.

States and moves (``move(state, action, role)``; ``MOVES`` is the table)::

    submitted ──review──▶ under-review
    submitted | under-review ──approve──▶ approved ──consent──▶ consented ──pledge──▶ pledged
    submitted | under-review ──request-more──▶ more-data-requested ──more-data──▶ submitted
    submitted | under-review ──decline──▶ declined
    submitted | under-review | approved | more-data-requested ──withdraw──▶ withdrawn

- ``check_application(obj)`` / ``check_decision(obj, application)``: the checked document (a
  copy), else ``InvalidArgumentError`` naming the field;
- ``move(state, action, role)``: the next state, else ``ForbiddenError`` (a party of that role
  never makes that move) or ``ConflictError`` (not from this state), each naming both.
"""

from __future__ import annotations

import re

from eth_utils import is_address, to_checksum_address

from ledger.errors import ConflictError, ForbiddenError, InvalidArgumentError
from ledger.grants import check_grant
from ledger.limits import MAX_INDEX, MAX_SAMPLES

__all__ = ["APPLICATION_FORMAT", "DECISION_FORMAT", "REASONS", "STATES", "MOVES", "LIVE", "check_application",
           "check_decision", "check_text", "move", "amount_of"]

APPLICATION_FORMAT = "dpl-application/1"
DECISION_FORMAT = "dpl-decision/1"
MAX_COLLATERAL = 16
MAX_PURPOSE = 500
MAX_TEXT = 2000
MAX_LOAN_REF = 200
_UINT256_MAX = 2**256 - 1
_LOG_ID = re.compile(r"0x[0-9a-f]{64}")
_CURRENCY = re.compile(r"[A-Z]{3}")
_DECIMAL = re.compile(r"[1-9][0-9]{0,77}")

#: Why a lender declines (``decision: "decline"``, ``reason``); the text says the rest.
REASONS = {
    "insufficient-collateral": "the collateral offered does not cover the amount",
    "insufficient-data": "the granted data is not enough to decide",
    "data-quality": "the granted records or the profile show problems (gaps, flags, scrap)",
    "credit-policy": "outside the lender's credit policy",
    "amount": "the amount (or currency) is not one the lender lends",
    "purpose": "the purpose is not one the lender finances",
    "other": "another reason, given in the text",
}

STATES = ("submitted", "under-review", "approved", "more-data-requested", "declined", "consented", "pledged",
          "withdrawn")
#: States in which the lender still has to answer, or the factory to act.
LIVE = frozenset({"submitted", "under-review", "approved", "more-data-requested", "consented"})
#: action -> (the role that makes it, the states it leaves from, the state it reaches). ``pledge``
#: is recorded by the service when the pledge issued from the linked consent exists.
MOVES: dict[str, tuple[str, frozenset[str], str]] = {
    "review": ("lender", frozenset({"submitted"}), "under-review"),
    "approve": ("lender", frozenset({"submitted", "under-review"}), "approved"),
    "request-more": ("lender", frozenset({"submitted", "under-review"}), "more-data-requested"),
    "decline": ("lender", frozenset({"submitted", "under-review"}), "declined"),
    "more-data": ("factory", frozenset({"more-data-requested"}), "submitted"),
    "withdraw": ("factory", frozenset({"submitted", "under-review", "approved", "more-data-requested"}), "withdrawn"),
    "consent": ("factory", frozenset({"approved"}), "consented"),
    "pledge": ("lender", frozenset({"consented"}), "pledged"),
}


def move(state: str, action: str, role: str) -> str:
    """The state ``action`` by a party of ``role`` leads to from ``state``. ``ForbiddenError``
    if that role never makes it; ``ConflictError`` if it is not allowed from ``state``."""
    if action not in MOVES:
        raise InvalidArgumentError(f"action: {action!r} is not one of {', '.join(MOVES)}")
    who, sources, target = MOVES[action]
    if role != who:
        raise ForbiddenError(f"only the {who} may {action} an application, not a {role}")
    if state not in sources:
        raise ConflictError(f"the application is {state}: {action} is allowed only when it is "
                            f"{' or '.join(sorted(sources))}")
    return target


def check_text(where: str, value, limit: int = MAX_TEXT, required: bool = True) -> str | None:
    """A bounded free text (1-``limit`` characters, printable, newlines allowed)."""
    if value is None and not required:
        return None
    if type(value) is not str or not value.strip() or len(value) > limit \
            or not all(c.isprintable() or c in "\n\t" for c in value):
        raise InvalidArgumentError(f"{where}: must be 1-{limit} printable characters")
    return value


def amount_of(where: str, value) -> int:
    """Minor units, 1 to 2^256 - 1, from an integer or a decimal string (as a consent's principal)."""
    if type(value) is int and 0 < value <= _UINT256_MAX:
        return value
    if type(value) is str and _DECIMAL.fullmatch(value) and int(value) <= _UINT256_MAX:
        return int(value)
    raise InvalidArgumentError(f"{where}: must be a positive whole number of minor units (an integer or a "
                               f"decimal string, at most 2^256 - 1), not {str(value)[:80]!r}")


def _currency(where: str, value) -> str:
    if type(value) is not str or not _CURRENCY.fullmatch(value):
        raise InvalidArgumentError(f"{where}: must be an ISO 4217 code of three capital letters, not {str(value)[:16]!r}")
    return value


def _address(where: str, value) -> str:
    if type(value) is not str or not value.startswith("0x") or not is_address(value):
        raise InvalidArgumentError(f"{where}: must be an address (0x and 40 hex digits), not {str(value)[:64]!r}")
    return to_checksum_address(value)


def _index(where: str, value) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INDEX:
        raise InvalidArgumentError(f"{where}: must be a record index (an integer >= 0), not {str(value)[:32]!r}")
    return value


def _range(where: str, value) -> dict:
    if type(value) is not dict or set(value) != {"log_id", "from", "to"}:
        raise InvalidArgumentError(f"{where}: must be {{log_id, from, to}}")
    log_id = value["log_id"]
    if type(log_id) is not str or not _LOG_ID.fullmatch(log_id):
        raise InvalidArgumentError(f"{where}.log_id: must be a log id (0x and 64 lowercase hex digits)")
    start, end = _index(f"{where}.from", value["from"]), _index(f"{where}.to", value["to"])
    if end <= start:
        raise InvalidArgumentError(f"{where}: the range [{start}, {end}) is empty")
    return {"log_id": log_id, "from": start, "to": end}


def _fields(where: str, obj, required: tuple, optional: tuple = ()) -> None:
    if type(obj) is not dict:
        raise InvalidArgumentError(f"{where}: must be a JSON object")
    extra = sorted(set(obj) - set(required) - set(optional))
    if extra:
        raise InvalidArgumentError(f"{where}.{extra[0]}: unknown field")
    missing = [k for k in required if k not in obj]
    if missing:
        raise InvalidArgumentError(f"{where}.{missing[0]}: missing")


def check_application(obj) -> dict:
    """The checked ``dpl-application/1`` (module docstring), else ``InvalidArgumentError`` naming
    the field. The amount comes out as a decimal string."""
    _fields("application", obj, ("format", "lender", "amount", "currency", "purpose", "collateral", "grant"),
            ("profile",))
    if obj["format"] != APPLICATION_FORMAT:
        raise InvalidArgumentError(f"application.format: must be {APPLICATION_FORMAT!r}")
    lender = _address("application.lender", obj["lender"])
    amount = amount_of("application.amount", obj["amount"])
    currency = _currency("application.currency", obj["currency"])
    purpose = check_text("application.purpose", obj["purpose"], MAX_PURPOSE)
    collateral = obj["collateral"]
    if type(collateral) is not list or not 0 < len(collateral) <= MAX_COLLATERAL:
        raise InvalidArgumentError(f"application.collateral: must be a list of 1-{MAX_COLLATERAL} ranges "
                                   "{log_id, from, to}")
    ranges = [_range(f"application.collateral[{i}]", c) for i, c in enumerate(collateral)]
    for i, a in enumerate(ranges):
        for b in ranges[:i]:
            if a["log_id"] == b["log_id"] and a["from"] < b["to"] and b["from"] < a["to"]:
                raise InvalidArgumentError(f"application.collateral[{i}]: overlaps another range of the same log")
    try:
        grant = check_grant(obj["grant"])
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"application.{e}") from None
    if grant["lender"] != lender:
        raise InvalidArgumentError("application.grant.lender: the grant must name the lender applied to")
    for i, r in enumerate(ranges):
        if r["log_id"] not in grant["logs"]:
            raise InvalidArgumentError(f"application.collateral[{i}].log_id: the grant must name every log "
                                       "offered as collateral")
    out = {"format": APPLICATION_FORMAT, "lender": lender, "amount": str(amount), "currency": currency,
           "purpose": purpose, "collateral": ranges, "grant": grant}
    if obj.get("profile") is not None:
        out["profile"] = _profile_params("application.profile", obj["profile"])
    return out


def _profile_params(where: str, p) -> dict:
    """Profile parameters ``{tz, mapping, thresholds}`` (each optional), checked; as given."""
    from ledger.profile import ProfileParams

    _fields(where, p, (), ("tz", "mapping", "thresholds"))
    try:
        ProfileParams.checked(p.get("tz"), p.get("mapping"), p.get("thresholds"))
    except InvalidArgumentError as e:
        raise InvalidArgumentError(f"{where}: {e}") from None
    return {k: p[k] for k in ("tz", "mapping", "thresholds") if p.get(k) is not None}


_TERMS = ("log_id", "from", "to", "principal", "currency", "maturity", "lien_end", "samples", "loan_ref")
_TERMS_OPTIONAL = ("max_lien_end", "profile", "covenants")


def _terms(obj, application: dict) -> dict:
    from ledger.covenants import check_covenants
    from ledger.pledge.terms import consent_dates

    _fields("decision.terms", obj, _TERMS, _TERMS_OPTIONAL)
    pledged = _range("decision.terms", {k: obj[k] for k in ("log_id", "from", "to")})
    if not any(c["log_id"] == pledged["log_id"] and c["from"] <= pledged["from"] and pledged["to"] <= c["to"]
               for c in application["collateral"]):
        raise InvalidArgumentError("decision.terms: the range pledged must lie inside a range the factory offered "
                                   "as collateral")
    principal = amount_of("decision.terms.principal", obj["principal"])
    currency = _currency("decision.terms.currency", obj["currency"])
    for k in ("maturity", "lien_end", "max_lien_end"):
        if k in obj and (type(obj[k]) is not str or not 0 < len(obj[k]) <= 64):
            raise InvalidArgumentError(f"decision.terms.{k}: must be a date (YYYY-MM-DD), an ISO 8601 date-time "
                                       "or unix seconds, as text")
    consent_dates(obj["maturity"], obj["lien_end"], obj.get("max_lien_end"), name=lambda f: f"decision.terms.{f}")
    samples = obj["samples"]
    if type(samples) is not int or not 1 <= samples <= MAX_SAMPLES:
        raise InvalidArgumentError(f"decision.terms.samples: must be an integer from 1 to {MAX_SAMPLES:,}")
    loan_ref = check_text("decision.terms.loan_ref", obj["loan_ref"], MAX_LOAN_REF)
    out = {**pledged, "principal": str(principal), "currency": currency, "maturity": obj["maturity"],
           "lien_end": obj["lien_end"], "samples": samples, "loan_ref": loan_ref}
    if obj.get("max_lien_end") is not None:
        out["max_lien_end"] = obj["max_lien_end"]
    if obj.get("profile") is not None:
        out["profile"] = _profile_params("decision.terms.profile", obj["profile"])
    if obj.get("covenants") is not None:
        if "profile" not in out:
            raise InvalidArgumentError("decision.terms.covenants: covenants are judged against the pledged production "
                                       "profile: pledge it too (decision.terms.profile, {} for the defaults)")
        try:
            out["covenants"] = check_covenants(obj["covenants"])
        except InvalidArgumentError as e:
            raise InvalidArgumentError(f"decision.terms.covenants: {e}") from None
    return out


def check_decision(obj, application: dict) -> dict:
    """The checked ``dpl-decision/1`` on the checked ``application`` (module docstring), else
    ``InvalidArgumentError`` naming the field."""
    if type(obj) is not dict or obj.get("decision") not in ("approve", "request-more", "decline"):
        raise InvalidArgumentError("decision.decision: must be approve, request-more or decline")
    kind = obj["decision"]
    if kind == "approve":
        _fields("decision", obj, ("format", "decision", "terms"), ("text",))
    elif kind == "request-more":
        _fields("decision", obj, ("format", "decision", "grant", "text"))
    else:
        _fields("decision", obj, ("format", "decision", "reason", "text"))
    if obj["format"] != DECISION_FORMAT:
        raise InvalidArgumentError(f"decision.format: must be {DECISION_FORMAT!r}")
    out = {"format": DECISION_FORMAT, "decision": kind}
    if kind == "approve":
        out["terms"] = _terms(obj["terms"], application)
        if obj.get("text") is not None:
            out["text"] = check_text("decision.text", obj["text"])
    elif kind == "request-more":
        try:
            grant = check_grant(obj["grant"])
        except InvalidArgumentError as e:
            raise InvalidArgumentError(f"decision.{e}") from None
        if grant["lender"] != application["lender"]:
            raise InvalidArgumentError("decision.grant.lender: the grant asked for must name the lender itself")
        out["grant"] = grant
        out["text"] = check_text("decision.text", obj["text"])
    else:
        if obj["reason"] not in REASONS:
            raise InvalidArgumentError(f"decision.reason: must be one of {', '.join(REASONS)}")
        out["reason"] = obj["reason"]
        out["text"] = check_text("decision.text", obj["text"])
    return out
