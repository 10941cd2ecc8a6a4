"""Production records: parsing, validation and canonical bytes (pure functions).

A record is one JSON object with exactly these keys::

    {"id": str, "ts": str, "type": str, "data": object}

- ``id``: 1-128 printable characters, unique within its log;
- ``ts``: an RFC 3339 timestamp with an offset (``Z`` or ``+08:00``) whose instant in UTC is
  within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z (``0001-01-01T00:00:00+01:00``
  is not: no calendar of ours can name its UTC day);
- ``type``: a dotted name such as ``iot.telemetry``, ``mes.work_order``, ``erp.sales_order``;
- ``data``: any JSON object (I-JSON: no NaN/Infinity, integers within +-(2^53 - 1)).

The whole record nests at most ``MAX_DEPTH`` levels and is at most ``MAX_CANONICAL_BYTES``
once canonical. Every rejection is a ``RecordError`` naming the record's position, its
id when it can be read, and the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import orjson

from ledger import jsonio
from ledger.canonical import CanonicalError, canonicalize, fast_prepare
from ledger.errors import RecordError

MAX_ID_LENGTH = 128
MAX_DEPTH = 32
MAX_CANONICAL_BYTES = 64 * 1024
RECORD_KEYS = ("id", "ts", "type", "data")
_KEYS = frozenset(RECORD_KEYS)

# RFC 3339 section 5.6 date-time; the offset is mandatory.
# ASCII digits only: Python's \d would also match other scripts' digits.
_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
# The same shape without groups: fixed-width fields are then read by position (faster).
_TS_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z][A-Za-z0-9_-]*)*")
_MAX_TYPE_LENGTH = 128
_VALID_TYPES: set[str] = set()
# Finds an id in a line we could not parse, so the error can still name the record.
_ID_HINT = re.compile(rb'"id"\s*:\s*"((?:[^"\\]|\\.){1,128})"')


@dataclass(frozen=True, slots=True)
class PreparedRecord:
    """A validated record: its id and its RFC 8785 canonical bytes."""

    position: int
    record_id: str
    canonical: bytes


def parse_json_line(raw: bytes, position: int) -> object:
    """Parse one JSON text (a JSONL line) strictly.

    Rejects invalid UTF-8, duplicate keys, lone surrogates, trailing garbage and nesting
    deeper than ``ledger.jsonio.MAX_DEPTH`` (before any recursive parser runs). Fast path:
    orjson, whose output for compact input is the input itself; when re-serialising does
    not give the input back, the line is re-read by ``ledger.jsonio`` (which sees duplicate
    keys). NaN/Infinity are read as floats here so that validation names their field.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _parse_slow(raw, position)
    try:
        if orjson.dumps(value) == raw:
            return value  # compact and round-trips: no key can have been given twice
    except TypeError:  # nested beyond what orjson writes (255 levels): the slow path names it
        pass
    return _parse_slow(raw, position)


def _id_hint(raw: bytes) -> str | None:
    m = _ID_HINT.search(raw)
    return m.group(1).decode("utf-8", "replace") if m else None


def _parse_slow(raw: bytes, position: int) -> object:
    try:
        return jsonio.parse_checked(raw, "record", jsonio.MAX_DEPTH, keep_constants=True)
    except jsonio.JsonInputError as e:
        value = e.parsed  # set for a duplicate key: the rest was read, so the id can be named
        rid = value.get("id") if isinstance(value, dict) and isinstance(value.get("id"), str) else _id_hint(raw)
        raise RecordError(position, rid, e.path, e.reason) from None


def prepare_record(value: object, position: int) -> PreparedRecord:
    """Validate a parsed record and compute its canonical bytes.

    Raises ``RecordError`` naming ``position``, the id (when readable) and the field.
    """
    if type(value) is not dict:
        raise RecordError(position, None, None, "a record must be a JSON object")
    rid = value.get("id")
    rid_name = rid if type(rid) is str else None
    if value.keys() != _KEYS:
        missing = [k for k in RECORD_KEYS if k not in value]
        if missing:
            raise RecordError(position, rid_name, missing[0], "missing field")
        extra = sorted(k for k in value if k not in _KEYS)
        raise RecordError(
            position, rid_name, extra[0], "unexpected field (a record has only id, ts, type, data)"
        )
    if rid_name is None:
        raise RecordError(position, None, "id", f"must be a string, not {_json_type(rid)}")
    if not 0 < len(rid) <= MAX_ID_LENGTH:
        raise RecordError(position, None if not rid else rid[:MAX_ID_LENGTH], "id",
                          f"must be 1-{MAX_ID_LENGTH} characters, got {len(rid)}")
    if not rid.isprintable():
        raise RecordError(position, rid, "id", "must contain only printable characters")
    ts = value["ts"]
    if type(ts) is not str:
        raise RecordError(position, rid, "ts", f"must be a string, not {_json_type(ts)}")
    reason = _rfc3339_problem(ts)
    if reason:
        raise RecordError(position, rid, "ts", reason)
    rtype = value["type"]
    if type(rtype) is not str:
        raise RecordError(position, rid, "type", f"must be a string, not {_json_type(rtype)}")
    if rtype not in _VALID_TYPES:
        if len(rtype) > _MAX_TYPE_LENGTH or not _TYPE.fullmatch(rtype):
            raise RecordError(
                position, rid, "type", "must be a dotted name such as 'iot.telemetry'"
            )
        if len(_VALID_TYPES) < 4096:  # a stream has a handful of types: remember them
            _VALID_TYPES.add(rtype)
    data = value["data"]
    if type(data) is not dict:
        raise RecordError(position, rid, "data", f"must be a JSON object, not {_json_type(data)}")
    # Fast path: id, ts and type are checked strings (printable, ASCII), so only data can
    # hold what orjson would print differently from RFC 8785.
    canonical = None
    prepared = fast_prepare(data, MAX_DEPTH - 1)
    if prepared is not None:
        obj = value if prepared is data else {"data": prepared, "id": rid, "ts": ts, "type": rtype}
        try:
            canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # e.g. a lone surrogate in a data string: the full path names it
    if canonical is None:
        try:
            canonical = canonicalize(value, MAX_DEPTH)
        except CanonicalError as e:
            reason = e.reason
            if reason == "nested too deep":
                reason = f"nested deeper than {MAX_DEPTH} levels"
            raise RecordError(position, rid, ".".join(e.path) or None, reason) from None
    if len(canonical) > MAX_CANONICAL_BYTES:
        raise RecordError(
            position, rid, None,
            f"canonical form is {len(canonical)} bytes, more than {MAX_CANONICAL_BYTES} (64 KiB)",
        )
    return PreparedRecord(position, rid, canonical)


def _rfc3339_problem(ts: str) -> str | None:
    if not _TS_SHAPE.fullmatch(ts):
        return "must be an RFC 3339 timestamp with an offset, e.g. 2026-01-31T08:00:00+08:00"
    try:
        datetime.fromisoformat(ts)  # checks the calendar, the clock and offset hours, in C
    except ValueError:
        # fromisoformat knows neither lowercase t/z nor leap seconds; RFC 3339 allows both.
        alt = ts.upper()
        if alt[17:19] == "60":
            alt = alt[:17] + "59" + alt[19:]
        try:
            datetime.fromisoformat(alt)
        except ValueError as e:
            return f"not a real date or time ({e})"
    if ts[-1] not in "Zz" and ts[-2:] > "59":
        return "offset minutes must be 00-59"
    if ts[:4] in ("0001", "9999") and ts[-1] not in "Zz" and ts[-6:] not in ("+00:00", "-00:00"):
        try:
            parse_timestamp(ts).astimezone(timezone.utc)
        except OverflowError:
            return TS_OUT_OF_RANGE
    return None


TS_OUT_OF_RANGE = "must name an instant within 0001-01-01T00:00:00Z..9999-12-31T23:59:59.999999Z (in UTC)"


def parse_timestamp(ts: str) -> datetime:
    """An RFC 3339 timestamp (already validated) as an aware datetime."""
    m = _TS.fullmatch(ts)
    if not m:
        raise ValueError(f"not an RFC 3339 timestamp: {ts!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    frac = m.group(7) or ""
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    if m.group(8):
        sign = 1 if m.group(8) == "+" else -1
        tz = timezone(sign * timedelta(hours=int(m.group(9)), minutes=int(m.group(10))))
    else:
        tz = timezone.utc
    return datetime(year, month, day, hour, minute, min(second, 59), micro, tzinfo=tz)


def utc_day(ts: str) -> str:
    """The UTC day (``YYYY-MM-DD``) of a valid timestamp. A record stored before
    out-of-range instants were refused still gets its day: the one before 0001-01-01 or
    after 9999-12-31 (``0000-12-31``, ``10000-01-01``), never an error."""
    at = parse_timestamp(ts)
    try:
        return at.astimezone(timezone.utc).date().isoformat()
    except OverflowError:
        return "0000-12-31" if at.year == 1 else "10000-01-01"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def record_from_canonical(canonical: bytes) -> dict:
    """The record object back from its canonical bytes."""
    return orjson.loads(canonical)
