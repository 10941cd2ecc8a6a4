"""Record format ``dpl-record/2``: a leaf that commits to each field separately (docs/RECORDS.md).

Pure functions: bytes and parsed JSON in, bytes out; no storage, no network. A record is still
``{id, ts, type, data}`` (``ledger.records``), and the log is still one RFC 9162 leaf per record
(``ledger.merkle``); only the leaf's data differs from ``dpl-record/1``'s ``salt || canonical``:

- **fields**: ``id``, ``ts``, ``type`` and ``data.<key>`` for each top-level key of ``data``
  (its value committed whole, as RFC 8785 canonical bytes);
- **field salt**: ``HMAC-SHA256(record_salt, "dpl-record/2 field salt" || 0x00 || name)``, from
  the one 32-byte salt the store keeps per record;
- **field commitment**: ``SHA-256(0x02 || field_salt || u32be(len(name)) || name || value)``
  (name as UTF-8, value as canonical bytes); 0x02 keeps it apart from RFC 9162 leaves (0x00)
  and nodes (0x01);
- **leaf data**: ``"dpl-record/2"`` zero-padded to 32 bytes, the byte 0x02, ``u32be(n)``, then the
  ``n`` commitments in ascending byte order. Byte 32 of a ``dpl-record/1`` leaf's data is the
  ``{`` (0x7B) that opens the canonical record, here it is 0x02: no data of one format is ever
  data of the other.

A *partial record* ``dpl-partial-record/1`` discloses some fields (name, value, field salt) and
gives the others as commitments only; ``verify_partial`` rebuilds the leaf hash from it, which
the caller then proves with ``merkle.verify_inclusion`` (or ``verify_partial_inclusion``).
``api/web/static/js/verify/record2.js`` does the same, in the same words
(``tests/vectors/record2/``, ``tests/web/test_record2_parity.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import orjson

from ledger import merkle
from ledger.canonical import CanonicalError, canonicalize
from ledger.errors import BundleError, InvalidArgumentError, RecordError
from ledger.records import MAX_CANONICAL_BYTES, MAX_DEPTH, prepare_record, record_from_canonical

__all__ = [
    "FORMAT",
    "PARTIAL_FORMAT",
    "SALT_SIZE",
    "LEAF_PREFIX",
    "ALWAYS_DISCLOSED",
    "PartialRecordError",
    "VerifiedPartial",
    "field_names",
    "field_salt",
    "field_commitment",
    "record_fields",
    "leaf_data_from_commitments",
    "leaf_data_v2",
    "leaf_data_v2_from_canonical",
    "leaf_hash_v2",
    "disclose",
    "verify_partial",
    "verify_partial_inclusion",
]

FORMAT = "dpl-record/2"
PARTIAL_FORMAT = "dpl-partial-record/1"
SALT_SIZE = 32
#: The first 33 bytes of every v2 leaf's data: the format's name zero-padded to 32 bytes, then 0x02.
LEAF_PREFIX = FORMAT.encode().ljust(32, b"\x00") + b"\x02"
_SALT_LABEL = FORMAT.encode() + b" field salt\x00"
_COMMITMENT = b"\x02"
#: Fields every partial record discloses: grants and the service select records by type and
#: period, and a lender must be able to check both (docs/RECORDS.md section 3).
ALWAYS_DISCLOSED = ("ts", "type")
_TOP = ("id", "ts", "type")
_DATA = "data."
_VALUE_DEPTH = MAX_DEPTH - 2  # the record is level 1, data level 2: a value nests 30 more
_DOC_KEYS = ("format", "index", "fields", "hidden")
_FIELD_KEYS = ("name", "value", "salt")
_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_sha256 = hashlib.sha256


class PartialRecordError(BundleError):
    """A partial record is malformed or refused; ``field`` names the field when one is at fault."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        super().__init__(message)


class VerifiedPartial(NamedTuple):
    """What a valid partial record proves, once its leaf hash is included at ``index``:
    ``record`` holds the disclosed fields (``data`` the disclosed keys; ``id`` absent when
    hidden); ``hidden`` is how many fields were given as commitments only."""

    index: int
    leaf_hash: bytes
    record: dict
    hidden: int


# --- commitments ---------------------------------------------------------------------------


def field_salt(record_salt: bytes, name: str) -> bytes:
    """``HMAC-SHA256(record_salt, "dpl-record/2 field salt" || 0x00 || UTF-8 name)``.

    Requires a 32-byte ``record_salt``. A PRF: one field's salt says nothing about another's
    or about the record salt.
    """
    return hmac.digest(_record_salt(record_salt), _SALT_LABEL + name.encode("utf-8"), "sha256")


def _record_salt(value: object) -> bytes:
    """The record salt as bytes (a database driver may give a memoryview); 32 bytes or refused."""
    if isinstance(value, (bytearray, memoryview)):
        value = bytes(value)
    if type(value) is not bytes or len(value) != SALT_SIZE:
        raise InvalidArgumentError(f"a record salt must be {SALT_SIZE} bytes")
    return value


def field_commitment(name: str, canonical_value: bytes, salt: bytes) -> bytes:
    """``SHA-256(0x02 || salt || u32be(len(name)) || name || canonical_value)``, name as UTF-8."""
    raw = name.encode("utf-8")
    return _sha256(_COMMITMENT + salt + len(raw).to_bytes(4, "big") + raw + canonical_value).digest()


def leaf_data_from_commitments(commitments: Iterable[bytes]) -> bytes:
    """``LEAF_PREFIX || u32be(n) || commitments ascending``: the data hashed into the leaf."""
    ordered = sorted(commitments)
    return LEAF_PREFIX + len(ordered).to_bytes(4, "big") + b"".join(ordered)


def field_names(record: dict) -> list[str]:
    """The field names of a (valid) record, in the order partial records list them: ascending
    by UTF-8 bytes (which is code point order)."""
    return sorted([*_TOP, *(_DATA + k for k in record["data"])], key=_name_order)


def _name_order(name: str) -> bytes:
    return name.encode("utf-8", "surrogatepass")


def _value_canonical(value: object) -> bytes:
    return canonicalize(value, _VALUE_DEPTH)


def record_fields(record: dict) -> list[tuple[str, bytes]]:
    """``(name, canonical value bytes)`` of every field of ``record``, which must be valid
    (``prepare_record``); raises ``RecordError`` otherwise."""
    prepare_record(record, 0)
    return _fields(record)


def _fields(record: dict) -> list[tuple[str, bytes]]:
    out = [(k, _value_canonical(record[k])) for k in _TOP]
    out += [(_DATA + k, _value_canonical(v)) for k, v in record["data"].items()]
    return out


# The hot path (ingest, rebuilds): per field name the HMAC message and the commitment's name
# block are made once; per record the HMAC key's inner and outer SHA-256 states are made once
# (RFC 2104 with a 32-byte key), so a field costs two SHA-256 copies for its salt and one hash.
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_NAME_PARTS: dict[str, tuple[bytes, bytes]] = {}


def _name_parts(name: str) -> tuple[bytes, bytes]:
    parts = _NAME_PARTS.get(name)
    if parts is None:
        raw = name.encode("utf-8")
        parts = (_SALT_LABEL + raw, len(raw).to_bytes(4, "big") + raw)
        if len(_NAME_PARTS) < 65536:  # a stream has a few dozen field names: remember them
            _NAME_PARTS[name] = parts
    return parts


def _leaf_data(fields: Sequence[tuple[str, bytes]], record_salt: bytes) -> bytes:
    key = _record_salt(record_salt) + bytes(32)
    inner, outer = _sha256(key.translate(_IPAD)), _sha256(key.translate(_OPAD))
    commitments = []
    for name, value in fields:
        label, block = _name_parts(name)
        h = inner.copy()
        h.update(label)
        o = outer.copy()
        o.update(h.digest())
        commitments.append(_sha256(_COMMITMENT + o.digest() + block + value).digest())
    commitments.sort()
    return LEAF_PREFIX + len(commitments).to_bytes(4, "big") + b"".join(commitments)


def leaf_data_v2(record: dict, record_salt: bytes) -> bytes:
    """The v2 leaf data of a record (validated first: ``RecordError`` when it is not valid).
    Its leaf hash is ``merkle.leaf_hash(leaf_data_v2(record, salt))``."""
    return _leaf_data(record_fields(record), record_salt)


def leaf_data_v2_from_canonical(canonical: bytes, record_salt: bytes) -> bytes:
    """The v2 leaf data of a stored record, from its canonical bytes (as the store keeps them;
    already validated at ingest)."""
    return _leaf_data(_fields(record_from_canonical(canonical)), record_salt)


def leaf_hash_v2(record: dict, record_salt: bytes) -> bytes:
    """``SHA-256(0x00 || leaf_data_v2(record, record_salt))``: what a verifier given a whole
    v2 record and its record salt recomputes."""
    return merkle.leaf_hash(leaf_data_v2(record, record_salt))


# --- partial records -------------------------------------------------------------------------


def disclose(record: dict, record_salt: bytes, fields: Iterable[str], *, index: int) -> dict:
    """The ``dpl-partial-record/1`` of ``record`` at ``index`` disclosing ``fields`` (names as
    ``field_names`` gives them; ``ts`` and ``type`` are always among them) and hiding the rest.

    The result holds no hidden value, no hidden field's name or salt, and not the record salt.
    Raises ``RecordError`` for an invalid record, ``InvalidArgumentError`` for a bad name.
    """
    if type(index) is not int or index < 0:
        raise InvalidArgumentError("index must be a non-negative integer")
    wanted = set(fields)
    pairs = record_fields(record)
    known = {name for name, _ in pairs}
    unknown = sorted(wanted - known, key=_name_order)
    if unknown:
        raise InvalidArgumentError(f"the record has no field {unknown[0]!r}")
    for name in ALWAYS_DISCLOSED:
        if name not in wanted:
            raise InvalidArgumentError(f"field {name!r} must be disclosed: a partial record always discloses ts and type")
    shown, hidden = [], []
    for name, value in sorted(pairs, key=lambda p: _name_order(p[0])):
        salt = field_salt(record_salt, name)
        if name in wanted:
            shown.append({"name": name, "value": orjson.loads(value), "salt": "0x" + salt.hex()})
        else:
            hidden.append(field_commitment(name, value, salt))
    return {"format": PARTIAL_FORMAT, "index": index, "fields": shown,
            "hidden": ["0x" + h.hex() for h in sorted(hidden)]}


def _fail(message: str, field: str | None = None):
    raise PartialRecordError(message, field)


def _keys(obj: dict, allowed: tuple[str, ...], where: str, what: str) -> None:
    for k in allowed:
        if k not in obj:
            _fail(f"{where}missing key {k!r}")
    for k in obj:
        if k not in allowed:
            _fail(f"{where}unexpected key {k!r} ({what} has only {', '.join(allowed)})")


def _is_field_name(name: str) -> bool:
    return name in _TOP or name.startswith(_DATA)


def _has_surrogate(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def verify_partial(doc: object) -> VerifiedPartial:
    """Check a parsed ``dpl-partial-record/1`` and rebuild its leaf hash.

    Refuses (``PartialRecordError``, a ``BundleError``, naming the field): unknown or missing
    keys, a field name that is not ``id``, ``ts``, ``type`` or ``data.<key>``, fields not in
    ascending name order or given twice, ``ts`` or ``type`` not disclosed, a value outside the
    record rules (``ledger.records``), a salt or commitment that is not 32 bytes of lowercase
    hex, commitments not ascending or repeated, a commitment of a disclosed field among the
    hidden ones. It does not say that the leaf is in any log: check the returned leaf hash at
    the returned index with ``merkle.verify_inclusion``.
    """
    if not isinstance(doc, dict):
        _fail("the partial record must be a JSON object")
    fmt = doc.get("format")
    if fmt != PARTIAL_FORMAT:
        _fail(f"unknown partial record format {fmt!r} (expected {PARTIAL_FORMAT!r})")
    _keys(doc, _DOC_KEYS, "", "a partial record")
    index = doc["index"]
    if type(index) is not int or index < 0:
        _fail("index must be a non-negative integer")
    raw_fields, raw_hidden = doc["fields"], doc["hidden"]
    if not isinstance(raw_fields, list):
        _fail("fields must be a list")
    if not isinstance(raw_hidden, list):
        _fail("hidden must be a list")

    names, values, salts = [], [], []
    for n, entry in enumerate(raw_fields):
        if not isinstance(entry, dict):
            _fail(f"fields[{n}] must be a JSON object")
        _keys(entry, _FIELD_KEYS, f"fields[{n}]: ", "a disclosed field")
        name = entry["name"]
        if not isinstance(name, str):
            _fail(f"fields[{n}].name must be a string")
        if _has_surrogate(name):
            _fail(f"fields[{n}].name holds a lone surrogate (not valid Unicode)")
        if not _is_field_name(name):
            _fail(f"fields[{n}]: {name!r} is not a field name (id, ts, type or data.<key>)")
        if names:
            prev = names[-1]
            if name == prev:
                _fail(f"field {name!r} is disclosed twice (fields[{n - 1}] and fields[{n}])", name)
            if _name_order(name) < _name_order(prev):
                _fail(f"fields[{n}] ({name!r}) is out of order: fields are sorted by name, "
                      f"and it comes before {prev!r}", name)
        salt = entry["salt"]
        if not isinstance(salt, str) or not _HEX32.fullmatch(salt):
            _fail(f"field {name!r}: salt must be 0x followed by 64 lowercase hex digits", name)
        names.append(name)
        values.append(entry["value"])
        salts.append(bytes.fromhex(salt[2:]))
    shown = set(names)
    for name in ALWAYS_DISCLOSED:
        if name not in shown:
            _fail(f"field {name!r} is not disclosed: a partial record always discloses ts and type", name)

    # Names sort data.* before id, ts and type: the data values are checked first, then the
    # record rules for id, ts and type (on a stand-in record: a hidden id stands in as "-").
    record = {"ts": None, "type": None, "data": {}}
    for name, value in zip(names, values):
        if name.startswith(_DATA):
            record["data"][name[len(_DATA):]] = value
        else:
            record[name] = value
    canonical = [_checked_value(name, value) for name, value in zip(names, values) if name.startswith(_DATA)]
    standin = {"id": record.get("id", "-"), "ts": record["ts"], "type": record["type"], "data": {}}
    try:
        prepare_record(standin, 0)
    except RecordError as e:
        _fail(f"field {e.field!r}: {e.reason}", e.field)
    canonical += [_value_canonical(value) for name, value in zip(names, values) if not name.startswith(_DATA)]

    hidden = []
    for n, h in enumerate(raw_hidden):
        if not isinstance(h, str) or not _HEX32.fullmatch(h):
            _fail(f"hidden[{n}] must be 0x followed by 64 lowercase hex digits")
        c = bytes.fromhex(h[2:])
        if hidden and c <= hidden[-1]:
            if c == hidden[-1]:
                _fail(f"hidden[{n}] repeats hidden[{n - 1}]")
            _fail(f"hidden[{n}] is out of order: hidden commitments are sorted ascending")
        hidden.append(c)
    disclosed = [field_commitment(name, value, salt) for name, value, salt in zip(names, canonical, salts)]
    both = set(hidden).intersection(disclosed)
    if both:
        k = next(i for i, c in enumerate(disclosed) if c in both)
        n = hidden.index(disclosed[k])
        _fail(f"hidden[{n}] is the commitment of disclosed field {names[k]!r} "
              "(a field is both disclosed and hidden)", names[k])
    leaf = merkle.leaf_hash(leaf_data_from_commitments(disclosed + hidden))
    out = {k: record[k] for k in ("id", "ts", "type") if k in record}
    out["data"] = record["data"]
    return VerifiedPartial(index, leaf, out, len(hidden))


def _checked_value(name: str, value: object) -> bytes:
    """The canonical bytes of a disclosed ``data.<key>`` value, by the record rules."""
    try:
        canonical = _value_canonical(value)
    except CanonicalError as e:
        reason = f"nested deeper than {MAX_DEPTH} levels" if e.reason == "nested too deep" else e.reason
        at = f" (at {'.'.join(e.path)})" if e.path else ""
        _fail(f"field {name!r}{at}: {reason}", name)
    if len(canonical) > MAX_CANONICAL_BYTES:
        _fail(f"field {name!r}: canonical form is {len(canonical)} bytes, "
              f"more than {MAX_CANONICAL_BYTES} (64 KiB)", name)
    return canonical


def verify_partial_inclusion(doc: object, size: int, proof: Sequence[bytes], root: bytes) -> VerifiedPartial:
    """``verify_partial``, then the leaf's inclusion at its index in the tree (``size``,
    ``root``); a failed proof is a ``ProofError`` (``merkle.verify_inclusion``'s words)."""
    verified = verify_partial(doc)
    merkle.verify_inclusion(verified.leaf_hash, verified.index, size, proof, root)
    return verified
