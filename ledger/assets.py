"""Data-asset manifests: the summary figures a factory pledges for a range of its log.

A manifest (``dpl-asset/1``) describes records ``[from, to)`` of one log, committed by the
checkpoint ``(size, root)`` with ``to <= size``. Hashes are 0x-prefixed lowercase hex::

    {"format": "dpl-asset/1", "log_id": "0x…", "stream": "line-a/telemetry",
     "range": {"from": 100, "to": 2100}, "checkpoint": {"size": 2400, "root": "0x…"},
     "records": 2000,
     "period": {"first_ts": "2026-10-01T08:00:00+08:00", "last_ts": "…"},
     "types": {"iot.telemetry": {"count": 1990,
                                 "fields": {"temp_c": {"count": 1990, "sum": 135000.25,
                                                       "min": 55.1, "max": 80.2}}}}}

- ``period``: the ``ts`` strings, as written, of the earliest and the latest record by
  instant (offsets taken into account); on a tie the lowest index wins.
- ``fields``: the top-level keys of ``data`` holding a JSON number (int or float, never a
  boolean) in some record of that type; ``count`` is how many records of the type had a
  number there. ``sum`` is exact: an int when every value was an int, else the correctly
  rounded sum of all values (what ``math.fsum`` returns, so independent of order; exact
  even where fsum gives up on an intermediate overflow).

Number rule: a figure is written as a JSON number when ``ledger.canonical`` accepts it
(an int within +-(2**53 - 1); a finite float not in [2**53, 1e21) in magnitude), so that
the manifest has RFC 8785 bytes and reads back exactly. Otherwise it is a decimal string:
``str(n)`` for an int, the integer digits for an integral float in [2**53, 1e21), and for a
float sum beyond the double range the exact sum rounded to 17 significant digits
(``"3.0000000000000000E+308"``). Readers compare such strings by exact value (``int`` /
``Decimal``), never through a float.

The digest a pledge commits to is ``SHA-256(RFC 8785 bytes of the manifest)``.

``dpl-asset/2`` is ``dpl-asset/1`` (the same fields, the same rules) with format
``"dpl-asset/2"`` and one more field, ``"profile"``: the full ``dpl-profile/1``
(``docs/PROFILE.md``) of the same log, stream, range and checkpoint, so that the digest covers
every figure of the profile. ``check_manifest`` reads both versions.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from decimal import Context, Decimal, InvalidOperation
from typing import Protocol

from ledger.canonical import MAX_SAFE_INTEGER, CanonicalError, canonicalize, check
from ledger.errors import BundleError, InvalidArgumentError, InvariantError
from ledger.records import parse_timestamp

ASSET_FORMAT = "dpl-asset/1"
ASSET_FORMAT_V2 = "dpl-asset/2"
ASSET_FORMATS = (ASSET_FORMAT, ASSET_FORMAT_V2)
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# Every finite double is a whole multiple of 2**-1074: scaled by 2**1074 a sum of doubles
# is an exact int, kept in constant memory and rounded once at the end (as fsum does).
_SCALE_BITS = 1074
_SCALE = 1 << _SCALE_BITS
_UNSAFE_FLOAT_MIN = float(2**53)
_UNSAFE_FLOAT_END = 1e21


class RecordSource(Protocol):
    """What ``build_manifest`` needs of a log store (``ledger.store.LogStore`` has it)."""

    def get_log(self, stream: str): ...
    def root_at(self, stream: str, size: int | None = None) -> bytes: ...
    def iter_records(self, stream: str, start: int = 0, end: int | None = None) -> Iterator: ...


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


def _is_number(v: object) -> bool:
    t = type(v)
    return t is int or t is float  # bool is a subclass of int: excluded by `type(...) is`


def encode_figure(v: int | float) -> int | float | str:
    """A figure as the manifest writes it (see the number rule in the module docstring)."""
    if type(v) is int:
        return v if -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER else str(v)
    if math.isfinite(v) and not _UNSAFE_FLOAT_MIN <= abs(v) < _UNSAFE_FLOAT_END:
        return v
    if math.isfinite(v):
        return str(int(v))  # integral: every double from 2**53 up is
    raise InvariantError(f"cannot write {v!r} as a figure")


class _Figure:
    """Running count, exact sum, min and max of one field of one record type."""

    __slots__ = ("count", "int_sum", "float_sum", "floats", "lo", "hi")

    def __init__(self, v):
        self.count = 0
        self.int_sum = 0
        self.float_sum = 0  # sum of the floats, scaled by 2**1074
        self.floats = False
        self.lo = self.hi = v

    def add(self, v) -> None:
        self.count += 1
        if type(v) is int:
            self.int_sum += v
        else:
            n, d = v.as_integer_ratio()  # d is a power of two <= 2**1074
            self.float_sum += n << (_SCALE_BITS - d.bit_length() + 1)
            self.floats = True
        if v < self.lo:
            self.lo = v
        elif v > self.hi:
            self.hi = v

    def as_json(self) -> dict:
        if self.floats:
            total = self.int_sum * _SCALE + self.float_sum
            try:
                s = encode_figure(total / _SCALE)  # int / int rounds correctly
            except OverflowError:  # beyond the double range: 17 digits of the exact sum
                s = str(Context(prec=17).divide(Decimal(total), Decimal(_SCALE)))
        else:
            s = encode_figure(self.int_sum)
        return {"count": self.count, "sum": s, "min": encode_figure(self.lo),
                "max": encode_figure(self.hi)}


def build_manifest(
    store: RecordSource, stream: str, start: int, end: int,
    checkpoint_size: int, checkpoint_root: bytes, profile: dict | None = None,
) -> dict:
    """The ``dpl-asset/1`` manifest of records ``[start, end)`` of ``stream``; with
    ``profile`` (a ``dpl-profile/1`` of exactly that log, stream, range and checkpoint, else
    ``InvalidArgumentError`` naming what differs) the ``dpl-asset/2`` manifest carrying it.

    Requires ``0 <= start < end <= checkpoint_size <= log size``, a log bound to its
    on-chain id, and ``checkpoint_root`` the log's root at ``checkpoint_size``; raises
    ``InvalidArgumentError`` naming the problem otherwise. Streams the records (memory
    grows with the number of record types and fields, not with the range).
    """
    for name, v in (("start", start), ("end", end), ("checkpoint size", checkpoint_size)):
        if type(v) is not int:
            raise InvalidArgumentError(f"{name} must be an integer, not {v!r}")
    if start < 0:
        raise InvalidArgumentError(f"start {start} is negative")
    if start >= end:
        raise InvalidArgumentError(f"empty range: start {start} is not below end {end}")
    if end > checkpoint_size:
        raise InvalidArgumentError(
            f"end {end} is beyond the checkpoint size {checkpoint_size}: the checkpoint "
            "must commit to every record of the range"
        )
    if type(checkpoint_root) is not bytes or len(checkpoint_root) != 32:
        raise InvalidArgumentError("checkpoint root must be 32 bytes")
    log = store.get_log(stream)
    if log.log_id is None:
        raise InvalidArgumentError(
            f"log {stream!r} has no on-chain log id yet: bind the log first"
        )
    if checkpoint_size > log.size:
        raise InvalidArgumentError(
            f"checkpoint size {checkpoint_size} is beyond the log (its size is {log.size})"
        )
    # A manifest naming a root the log never had could never verify: refuse it now.
    if store.root_at(stream, checkpoint_size) != checkpoint_root:
        raise InvalidArgumentError(
            f"checkpoint root {_hex(checkpoint_root)} is not the root of {stream!r} "
            f"at size {checkpoint_size}"
        )

    types: dict[str, tuple[list[int], dict[str, _Figure]]] = {}
    first = last = None  # (instant, ts string)
    seen = 0
    for stored in store.iter_records(stream, start, end):
        rec = stored.record
        seen += 1
        ts = rec["ts"]
        at = parse_timestamp(ts)
        if first is None or at < first[0]:
            first = (at, ts)
        if last is None or at > last[0]:
            last = (at, ts)
        entry = types.get(rec["type"])
        if entry is None:
            entry = types[rec["type"]] = ([0], {})
        entry[0][0] += 1
        figures = entry[1]
        for key, v in rec["data"].items():
            if _is_number(v):
                fig = figures.get(key)
                if fig is None:
                    fig = figures[key] = _Figure(v)
                fig.add(v)
    if seen != end - start:
        raise InvariantError(f"log {stream!r} gave {seen} records for [{start}, {end})")

    if profile is not None:
        _same_asset(profile, _hex(log.log_id), stream, start, end, checkpoint_size, _hex(checkpoint_root),
                    InvalidArgumentError)
    manifest = {
        "format": ASSET_FORMAT if profile is None else ASSET_FORMAT_V2,
        "log_id": _hex(log.log_id),
        "stream": stream,
        "range": {"from": start, "to": end},
        "checkpoint": {"size": checkpoint_size, "root": _hex(checkpoint_root)},
        "records": end - start,
        "period": {"first_ts": first[1], "last_ts": last[1]},
        "types": {
            t: {"count": count[0],
                "fields": {k: figures[k].as_json() for k in sorted(figures)}}
            for t, (count, figures) in sorted(types.items())
        },
    }
    if profile is not None:
        manifest["profile"] = profile
    return manifest


def _same_asset(profile: object, log_id: str, stream: str, start: int, end: int, size: int, root: str,
                error: type[Exception]) -> None:
    """Raise ``error`` naming each of log_id, stream, range, checkpoint in which ``profile``
    (a ``dpl-profile/1``) differs from the manifest's."""
    if type(profile) is not dict:
        raise error("profile must be a JSON object")
    problems = []
    if profile.get("log_id") != log_id:
        problems.append(f"log_id {profile.get('log_id')} is not the manifest's {log_id}")
    if profile.get("stream") != stream:
        problems.append(f"stream {profile.get('stream')!r} is not the manifest's {stream!r}")
    rng = profile.get("range")
    if type(rng) is not dict or (rng.get("from"), rng.get("to")) != (start, end):
        shown = f"[{rng.get('from')}, {rng.get('to')})" if type(rng) is dict else repr(rng)
        problems.append(f"range {shown} is not the manifest's [{start}, {end})")
    cp = profile.get("checkpoint")
    if type(cp) is not dict or (cp.get("size"), cp.get("root")) != (size, root):
        shown = f"size {cp.get('size')} root {cp.get('root')}" if type(cp) is dict else repr(cp)
        problems.append(f"checkpoint ({shown}) is not the manifest's (size {size} root {root})")
    if problems:
        raise error("the profile does not describe this asset: " + "; ".join(problems))


def asset_digest(manifest: dict) -> bytes:
    """SHA-256 of the manifest's RFC 8785 canonical bytes: what a pledge commits to."""
    return hashlib.sha256(canonicalize(manifest)).digest()


# --- reading a manifest back ----------------------------------------------------------


def _field(obj: dict, key: str, where: str) -> object:
    if key not in obj:
        raise BundleError(f"{where}{key} is missing")
    return obj[key]


def _obj(value: object, where: str) -> dict:
    if type(value) is not dict:
        raise BundleError(f"{where} must be a JSON object")
    return value


def _int(value: object, where: str, minimum: int = 0) -> int:
    if type(value) is not int or value < minimum:
        raise BundleError(f"{where} must be an integer >= {minimum}")
    return value


def _figure(value: object, where: str) -> object:
    if type(value) is int or (type(value) is float and math.isfinite(value)):
        return value
    if type(value) is str and _DECIMAL.fullmatch(value):
        try:
            Decimal(value)  # refuses exponents beyond what Decimal can hold
            return value
        except InvalidOperation:
            pass
    raise BundleError(f"{where} must be a finite JSON number or a decimal string")


def exact(value: int | float | str) -> int | float | Decimal:
    """A figure (or record number) as a value that compares exactly with any other."""
    if type(value) is str:
        return Decimal(value)
    return value


def _less(a, b) -> bool:
    # Decimal and float compare exactly in Python, but only with the float made a Decimal
    # do we stay clear of the FloatOperation signal.
    if type(a) is Decimal and type(b) is float:
        b = Decimal(b)
    elif type(b) is Decimal and type(a) is float:
        a = Decimal(a)
    return a < b


def _timestamp(value: object, where: str):
    if type(value) is not str:
        raise BundleError(f"{where} must be a string")
    try:
        return parse_timestamp(value)
    except (ValueError, OverflowError):
        raise BundleError(f"{where} must be an RFC 3339 timestamp with an offset") from None


def check_manifest(manifest: object) -> dict:
    """Check the structure of a manifest read from a file; return it unchanged.

    Raises ``BundleError`` naming the first field that is wrong. Fields beyond those of
    ``dpl-asset/1`` are allowed (the digest covers them), but must be canonical JSON.
    A ``dpl-asset/2`` manifest must also hold a ``profile`` that ``ledger.profile.check_profile``
    accepts, of the manifest's own log_id, stream, range and checkpoint.
    """
    m = _obj(manifest, "the manifest")
    fmt = _field(m, "format", "")
    if fmt not in ASSET_FORMATS:
        raise BundleError(f"format is {fmt!r}, expected {ASSET_FORMAT!r} or {ASSET_FORMAT_V2!r}")
    log_id = _field(m, "log_id", "")
    if type(log_id) is not str or not _HEX32.fullmatch(log_id):
        raise BundleError("log_id must be 0x followed by 64 lowercase hex digits")
    stream = _field(m, "stream", "")
    if type(stream) is not str or not stream:
        raise BundleError("stream must be a non-empty string")
    rng = _obj(_field(m, "range", ""), "range")
    lo = _int(_field(rng, "from", "range."), "range.from")
    hi = _int(_field(rng, "to", "range."), "range.to")
    if lo >= hi:
        raise BundleError(f"range.from ({lo}) must be below range.to ({hi})")
    cp = _obj(_field(m, "checkpoint", ""), "checkpoint")
    size = _int(_field(cp, "size", "checkpoint."), "checkpoint.size")
    if hi > size:
        raise BundleError(f"range.to ({hi}) is beyond checkpoint.size ({size})")
    root = _field(cp, "root", "checkpoint.")
    if type(root) is not str or not _HEX32.fullmatch(root):
        raise BundleError("checkpoint.root must be 0x followed by 64 lowercase hex digits")
    records = _int(_field(m, "records", ""), "records")
    if records != hi - lo:
        raise BundleError(f"records is {records}, but the range holds {hi - lo}")
    period = _obj(_field(m, "period", ""), "period")
    first = _timestamp(_field(period, "first_ts", "period."), "period.first_ts")
    last = _timestamp(_field(period, "last_ts", "period."), "period.last_ts")
    if first > last:
        raise BundleError("period.first_ts is later than period.last_ts")
    types = _obj(_field(m, "types", ""), "types")
    total = 0
    for t, body in types.items():
        where = f"types[{t!r}]"
        body = _obj(body, where)
        count = _int(_field(body, "count", f"{where}."), f"{where}.count", 1)
        total += count
        fields = _obj(_field(body, "fields", f"{where}."), f"{where}.fields")
        for key, fig in fields.items():
            fw = f"{where}.fields[{key!r}]"
            fig = _obj(fig, fw)
            c = _int(_field(fig, "count", f"{fw}."), f"{fw}.count", 1)
            if c > count:
                raise BundleError(f"{fw}.count ({c}) is more than the type's count ({count})")
            for name in ("sum", "min", "max"):
                _figure(_field(fig, name, f"{fw}."), f"{fw}.{name}")
            if _less(exact(fig["max"]), exact(fig["min"])):
                raise BundleError(f"{fw}.min is greater than its max")
    if total != records:
        raise BundleError(f"the type counts add up to {total}, not records ({records})")
    if fmt == ASSET_FORMAT_V2:
        from ledger.profile import check_profile

        check_profile(_field(m, "profile", ""))  # its BundleError names the field ("profile mes: …")
        _same_asset(m["profile"], log_id, stream, lo, hi, size, root, BundleError)
    try:
        check(m)  # the digest needs RFC 8785 bytes of every part, extra fields included
    except CanonicalError as e:
        raise BundleError(f"the manifest is not canonical JSON: {e}") from None
    return m


def record_disagreements(manifest: dict, record: dict) -> list[str]:
    """Why ``record`` contradicts ``manifest`` (a checked manifest); empty if it agrees.

    A record agrees when its type is listed, its ``ts`` lies within the period (by
    instant), and every number at the top level of its ``data`` belongs to a field listed
    for its type and lies within that field's [min, max] (compared exactly).
    """
    if type(record) is not dict:
        return ["the record is not a JSON object"]
    reasons = []
    period = manifest["period"]
    ts = record.get("ts")
    try:
        at = parse_timestamp(ts) if type(ts) is str else None
    except (ValueError, OverflowError):
        at = None
    if at is None:
        reasons.append(f"ts {ts!r} is not an RFC 3339 timestamp")
    elif at < parse_timestamp(period["first_ts"]):
        reasons.append(f"ts {ts} is before the period's first_ts {period['first_ts']}")
    elif at > parse_timestamp(period["last_ts"]):
        reasons.append(f"ts {ts} is after the period's last_ts {period['last_ts']}")
    rtype = record.get("type")
    body = manifest["types"].get(rtype) if type(rtype) is str else None
    if body is None:
        reasons.append(f"type {rtype!r} is not in the manifest")
        return reasons
    data = record.get("data")
    if type(data) is not dict:
        reasons.append("data is not a JSON object")
        return reasons
    fields = body["fields"]
    for key, v in data.items():
        if not _is_number(v):
            continue
        if type(v) is float and not math.isfinite(v):
            reasons.append(f"data.{key} is {v!r}, not a JSON number")
            continue
        fig = fields.get(key)
        if fig is None:
            reasons.append(f"data.{key} is a number, but the manifest lists no {key!r} for {rtype!r}")
            continue
        lo, hi = exact(fig["min"]), exact(fig["max"])
        if _less(v, lo) or _less(hi, v):
            reasons.append(
                f"data.{key} = {v!r} is outside the manifest's range [{fig['min']}, {fig['max']}]"
            )
    return reasons
