"""Full disclosure ``dpl-disclosure/1`` (docs/PROFILE.md section 7): every record of a range.

A disclosure carries every record of ``[from, to)`` with its salt, and a range proof: the
hashes of the perfect subtrees covering ``[0, from)`` (``proof.left``) and ``[to, size)``
(``proof.right``). With the range's leaves they rebuild the checkpoint root
(``merkle.root_from_range``). Pure code: the writer streams bytes, the verifier checks a
parsed object with math only. Neither checks the chain: the caller compares the root with
the one anchored for ``(log_id, size)`` in the pinned registry, which is also what binds
the size (a range proof alone does not always fix it, as with inclusion proofs).

A disclosure of a ``dpl-record/2`` log names it (``"record_format": "dpl-record/2"``, after
``format``); its leaves are rebuilt by that format from each record and its record salt
(``ledger.leaves``). Absent: ``dpl-record/1``.

The writer puts every other field first and the records last, one per line, in index
order, so a disclosure of 100,000 records is written with one record in memory at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import orjson

from ledger import jsonio, merkle
from ledger.bundles import _anchor, _hash, _log_id, _obj, _size, to_hex
from ledger.errors import BundleError, InvalidArgumentError, ProofError, RecordError
from ledger.leaves import RECORD_V1, bundle_field, bundle_record_format, leaf_hash_of
from ledger.records import prepare_record, record_from_canonical

DISCLOSURE_FORMAT = "dpl-disclosure/1"


def disclosure_chunks(
    *,
    log_id: bytes | None,
    stream: str,
    start: int,
    end: int,
    size: int,
    root: bytes,
    anchor: dict | None,
    left: list[bytes],
    right: list[bytes],
    entries: Iterable[tuple[int, bytes, bytes]],
    record_format: str = RECORD_V1,
) -> Iterator[bytes]:
    """The disclosure's UTF-8 text, in pieces: the header, then one line per record.

    ``entries`` yields ``(index, salt, canonical bytes)`` for ``start .. end - 1`` in order;
    the canonical bytes are spliced in as the record. Raises ``InvalidArgumentError`` when an
    entry is out of place (the caller writes to a temporary file and keeps it only whole).
    """
    if not 0 <= start < end <= size:
        raise InvalidArgumentError(f"a disclosure needs 0 <= from < to <= size (got [{start}, {end}) of {size})")
    header = {
        "format": DISCLOSURE_FORMAT,
        **bundle_field(record_format),
        "log_id": to_hex(log_id) if log_id else None,
        "stream": stream,
        "range": {"from": start, "to": end},
        "checkpoint": {"size": size, "root": to_hex(root)},
        "anchor": anchor,
        "proof": {"left": [to_hex(h) for h in left], "right": [to_hex(h) for h in right]},
    }
    yield orjson.dumps(header)[:-1] + b',"records":[\n'
    expected = start
    for index, salt, canonical in entries:
        if index != expected or index >= end:
            raise InvalidArgumentError(f"disclosure entry {index} is out of place (expected {expected}, range [{start}, {end}))")
        sep = b"" if index == start else b",\n"
        yield b'%s{"index":%d,"salt":"0x%s","record":%s}' % (sep, index, salt.hex().encode(), canonical)
        expected += 1
    if expected != end:
        raise InvalidArgumentError(f"disclosure entries stop at {expected}, before the range's end {end}")
    yield b"\n]}\n"


@dataclass(frozen=True)
class VerifiedDisclosure:
    """What a valid disclosure proved: these records are ``[start, end)`` of the log at
    (size, root). The records are read back from their canonical bytes."""

    log_id: bytes | None
    stream: str
    start: int
    end: int
    size: int
    root: bytes
    anchor: dict | None
    records: list[tuple[int, dict]]
    record_format: str = RECORD_V1


def _hashes(value: object, where: str) -> list[bytes]:
    if not isinstance(value, list):
        raise BundleError(f"{where} must be a list")
    return [_hash(h, f"{where}[{i}]") for i, h in enumerate(value)]


def _index_problem(indices: list[int], start: int, end: int) -> str | None:
    """Why the records' indices are not exactly ``start .. end - 1`` in order, or None."""
    first_at: dict[int, int] = {}
    for n, index in enumerate(indices):
        expected = start + n
        if index != expected or index >= end:
            where = f"records[{n}] (index {index})"
            if index in first_at:
                return f"{where} repeats the index of records[{first_at[index]}] (a record was repeated)"
            if not start <= index < end:
                return f"{where} is outside the range [{start}, {end}) (a record was added)"
            if expected not in indices[n:]:
                return f"{where}: record {expected} is missing (a record was dropped)"
            return f"{where} is out of order: expected index {expected} (records were reordered)"
        first_at[index] = n
    if not indices:
        return f"records is empty: record {start} is missing (a record was dropped)"
    if len(indices) < end - start:
        return (f"records end at index {start + len(indices) - 1}, before the range's end {end}: "
                f"record {start + len(indices)} is missing (a record was dropped)")
    return None


def verify_disclosure(obj: object) -> VerifiedDisclosure:
    """Verify a parsed ``dpl-disclosure/1``; raise ``BundleError`` saying what failed.

    Structure first (header, then every entry's index and salt), then each record (valid,
    canonical), then the range proof: the records' leaves with ``proof`` must rebuild
    ``checkpoint.root``. The same order and words as ``verify/disclosure.js``.
    """
    d = _obj(obj, "the disclosure")
    fmt = d.get("format")
    if fmt != DISCLOSURE_FORMAT:
        raise BundleError(f"unknown disclosure format {fmt!r} (expected {DISCLOSURE_FORMAT!r})")
    stream = d.get("stream")
    if not isinstance(stream, str):
        raise BundleError("stream must be a string")
    record_format = bundle_record_format(d)
    rng = _obj(d.get("range"), "range")
    start, end = _size(rng.get("from"), "range.from"), _size(rng.get("to"), "range.to")
    if start >= end:
        raise BundleError(f"range [{start}, {end}) is empty: a disclosure holds at least one record")
    cp = _obj(d.get("checkpoint"), "checkpoint")
    size = _size(cp.get("size"), "checkpoint.size")
    root = _hash(cp.get("root"), "checkpoint.root")
    if end > size:
        raise BundleError(f"range [{start}, {end}) is beyond checkpoint.size {size}")
    proof = _obj(d.get("proof"), "proof")
    left, right = _hashes(proof.get("left"), "proof.left"), _hashes(proof.get("right"), "proof.right")
    log_id, anchor = _log_id(d), _anchor(d)
    raw = d.get("records")
    if not isinstance(raw, list):
        raise BundleError("records must be a list")
    indices, salts = [], []
    for n, entry in enumerate(raw):
        e = _obj(entry, f"records[{n}]")
        index = _size(e.get("index"), f"records[{n}].index")
        salts.append(_hash(e.get("salt"), f"records[{n}] (index {index}).salt"))
        indices.append(index)
    problem = _index_problem(indices, start, end)
    if problem:
        raise BundleError(problem)
    leaves, records = [], []
    for n, (entry, salt) in enumerate(zip(raw, salts)):
        try:
            canonical = prepare_record(entry.get("record"), n).canonical
        except RecordError as err:
            raise BundleError(
                f"records[{n}] (index {start + n}): record is not a valid record: {err.reason}"
            ) from None
        leaves.append(leaf_hash_of(record_format, salt, canonical))
        records.append((start + n, record_from_canonical(canonical)))
    try:
        merkle.verify_range(left, leaves, right, start, size, root)
    except ProofError as err:
        raise BundleError(
            "range proof does not lead to the checkpoint root "
            f"(a record, salt, proof hash, range, size or root was altered): {err}"
        ) from None
    return VerifiedDisclosure(log_id, stream, start, end, size, root, anchor, records, record_format)


def read_disclosure(path: str) -> object:
    """A disclosure file (``-``: standard input) parsed by ``ledger.jsonio`` (size-capped at
    ``jsonio.MAX_FILE_BYTES``, depth-bounded, duplicate keys refused)."""
    return jsonio.load_file(path, what="the disclosure", max_bytes=jsonio.MAX_FILE_BYTES)
