"""Data-access grants ``dpl-grant/1``: which records of which logs a factory lets one lender read,
and which ``data`` fields of each record type (pure: no store, no chain).

A grant::

    {"format": "dpl-grant/1",
     "lender": "0x…",                                  # the lender's address (checksummed here)
     "logs": ["0x…"],                                  # 1-16 log ids (32 bytes, lowercase hex)
     "records": {"from": 0, "to": 5000}                # record indices [from, to) of each log,
              | {"since": "2026-10-01T00:00:00+08:00", "until": "2026-11-01T00:00:00+08:00"},
                                                       # or record instants [since, until)
     "types": {"mes.work_order": ["product", "qty_good"], "iot.telemetry": ["*"]},
     "expires": "2027-01-31T00:00:00Z"}

- ``types`` names the record types the lender may read; for each, the top-level ``data`` fields
  it sees (``["*"]``: all of them). A record's ``id``, ``ts`` and ``type`` are always shown: the
  grant is decided on them.
- ``expires`` is an instant; a grant is no use at or after it (the service also lets the factory
  revoke it at once).

- ``check_grant(obj)``: the checked grant (a copy in the form above), else ``InvalidArgumentError``
  naming the field;
- ``grant_digest(obj)``: SHA-256 of the checked grant's RFC 8785 bytes;
- ``expired(grant, now_ms)``; ``covers(grant, log_id, index, record)``: whether a record is granted;
- ``visible_fields(grant, record_type)``: the granted ``data`` field names, ``ALL``, or ``None``;
- ``shown(grant, record)``: the record with only its granted ``data`` fields.
"""

from __future__ import annotations

import hashlib
import re

from eth_utils import is_address, to_checksum_address

from ledger import exact
from ledger.canonical import canonicalize
from ledger.errors import InvalidArgumentError
from ledger.limits import MAX_INDEX

__all__ = ["GRANT_FORMAT", "ALL", "check_grant", "grant_digest", "expired", "covers", "visible_fields", "shown"]

GRANT_FORMAT = "dpl-grant/1"
#: ``visible_fields`` of a type granted with ``["*"]``.
ALL = "*"
MAX_LOGS = 16
MAX_TYPES = 64
MAX_FIELDS = 256
MAX_FIELD_LENGTH = 128
_LOG_ID = re.compile(r"0x[0-9a-f]{64}")
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)*")
_KEYS = ("format", "lender", "logs", "records", "types", "expires")


def _instant(where: str, value) -> int:
    try:
        return exact.instant_ms(value)
    except ValueError:
        raise InvalidArgumentError(f"grant {where}: must be an RFC 3339 timestamp with an offset, "
                                   f"not {value!r}") from None


def _index(where: str, value) -> int:
    if type(value) is not int or not 0 <= value <= MAX_INDEX:
        raise InvalidArgumentError(f"grant {where}: must be a record index (an integer >= 0), not {value!r}")
    return value


def _records(value) -> dict:
    if type(value) is not dict or set(value) not in ({"from", "to"}, {"since", "until"}):
        raise InvalidArgumentError("grant records: must be {from, to} (record indices) or {since, until} "
                                   "(RFC 3339 instants)")
    if "from" in value:
        start, end = _index("records.from", value["from"]), _index("records.to", value["to"])
        if end <= start:
            raise InvalidArgumentError(f"grant records: the range [{start}, {end}) is empty")
        return {"from": start, "to": end}
    since, until = _instant("records.since", value["since"]), _instant("records.until", value["until"])
    if until <= since:
        raise InvalidArgumentError("grant records: until must be later than since")
    return {"since": value["since"], "until": value["until"]}


def _types(value) -> dict:
    if type(value) is not dict or not value:
        raise InvalidArgumentError("grant types: must be a non-empty object of record type -> data fields")
    if len(value) > MAX_TYPES:
        raise InvalidArgumentError(f"grant types: at most {MAX_TYPES} record types")
    out = {}
    for name in sorted(value):
        fields = value[name]
        if len(name) > 128 or not _TYPE.fullmatch(name):
            raise InvalidArgumentError(f"grant types: {name[:128]!r} is not a record type (a dotted name "
                                       "such as 'mes.work_order')")
        where = f"types.{name}"
        if type(fields) is not list or not fields:
            raise InvalidArgumentError(f"grant {where}: must be a non-empty list of data field names, or [\"*\"]")
        if len(fields) > MAX_FIELDS:
            raise InvalidArgumentError(f"grant {where}: at most {MAX_FIELDS} fields")
        for f in fields:
            if type(f) is not str or not 0 < len(f) <= MAX_FIELD_LENGTH or not f.isprintable():
                raise InvalidArgumentError(f"grant {where}: {f!r} is not a field name (1-{MAX_FIELD_LENGTH} "
                                           "printable characters)")
        if len(set(fields)) != len(fields):
            raise InvalidArgumentError(f"grant {where}: a field is listed twice")
        if ALL in fields and fields != [ALL]:
            raise InvalidArgumentError(f"grant {where}: \"*\" (every field) stands alone")
        out[name] = sorted(fields)
    return out


def check_grant(obj) -> dict:
    """The checked ``dpl-grant/1`` (module docstring), else ``InvalidArgumentError`` naming the field."""
    if type(obj) is not dict:
        raise InvalidArgumentError("grant: must be a JSON object")
    extra = sorted(set(obj) - set(_KEYS))
    if extra:
        raise InvalidArgumentError(f"grant {extra[0]}: unknown field")
    missing = [k for k in _KEYS if k not in obj]
    if missing:
        raise InvalidArgumentError(f"grant {missing[0]}: missing")
    if obj["format"] != GRANT_FORMAT:
        raise InvalidArgumentError(f"grant format: must be {GRANT_FORMAT!r}, not {obj['format']!r}")
    lender = obj["lender"]
    if type(lender) is not str or not lender.startswith("0x") or not is_address(lender):
        raise InvalidArgumentError(f"grant lender: must be an address (0x and 40 hex digits), not {lender!r}")
    logs = obj["logs"]
    if type(logs) is not list or not 0 < len(logs) <= MAX_LOGS:
        raise InvalidArgumentError(f"grant logs: must be a list of 1-{MAX_LOGS} log ids")
    for log_id in logs:
        if type(log_id) is not str or not _LOG_ID.fullmatch(log_id):
            raise InvalidArgumentError(f"grant logs: {log_id!r} is not a log id (0x and 64 lowercase hex digits)")
    if len(set(logs)) != len(logs):
        raise InvalidArgumentError("grant logs: a log is listed twice")
    _instant("expires", obj["expires"])
    return {"format": GRANT_FORMAT, "lender": to_checksum_address(lender), "logs": list(logs),
            "records": _records(obj["records"]), "types": _types(obj["types"]), "expires": obj["expires"]}


def grant_digest(obj) -> bytes:
    """SHA-256 of the RFC 8785 bytes of the checked grant."""
    return hashlib.sha256(canonicalize(check_grant(obj))).digest()


def expired(grant: dict, now_ms: int) -> bool:
    """Whether the (checked) grant is of no use at ``now_ms`` (ms since the epoch): at or after ``expires``."""
    return now_ms >= exact.instant_ms(grant["expires"])


def visible_fields(grant: dict, record_type: str) -> frozenset[str] | str | None:
    """The ``data`` fields of ``record_type`` the grant shows: a set of names, ``ALL``, or ``None``
    (the type is not granted)."""
    fields = grant["types"].get(record_type)
    if fields is None:
        return None
    return ALL if fields == [ALL] else frozenset(fields)


def covers(grant: dict, log_id: str, index: int, record: dict) -> bool:
    """Whether record ``index`` of log ``log_id`` (0x hex) is granted: the log, the index or the
    record's instant, and its type."""
    if log_id not in grant["logs"] or record.get("type") not in grant["types"]:
        return False
    window = grant["records"]
    if "from" in window:
        return window["from"] <= index < window["to"]
    try:
        at = exact.instant_ms(record.get("ts"))
    except ValueError:
        return False
    return exact.instant_ms(window["since"]) <= at < exact.instant_ms(window["until"])


def shown(grant: dict, record: dict) -> dict:
    """``record`` with only the ``data`` fields its type is granted (``id``, ``ts``, ``type`` always)."""
    fields = visible_fields(grant, record["type"])
    if fields is None:
        raise InvalidArgumentError(f"record type {record['type']!r} is not granted")
    data = record["data"] if fields == ALL else {k: v for k, v in record["data"].items() if k in fields}
    return {"id": record["id"], "ts": record["ts"], "type": record["type"], "data": data}
