"""The lender's check of a ``dpl-grant-read/1`` answer (docs/GRANTS.md section 3): which of its
records are proven in the log at the answer's checkpoint. Pure: math only; the caller compares
the checkpoint root with the one anchored on chain for ``(log_id, size)``, as for a disclosure.

- On a ``dpl-record/2`` log (``"record_format": "dpl-record/2"``) every record carries
  ``partial``, a ``dpl-partial-record/1`` (``ledger.record2``): it is checked, its leaf rebuilt
  from the disclosed fields and the hidden commitments, and, when ``proven``, included at its
  index under the checkpoint root. ``record`` must be exactly what the partial record discloses.
- On a ``dpl-record/1`` log a record with ``proven: true`` carries its salt: its v1 leaf is rebuilt
  from the whole record and included; a record with hidden fields is unproven (the service's word).

A record that claims a proof it does not have fails the whole answer (``BundleError`` naming
it). ``verify/grant_read.js`` does the same in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import merkle, record2
from ledger.bundles import _anchor, _hash, _log_id, _obj, _size
from ledger.canonical import canonicalize
from ledger.errors import BundleError, ProofError, RecordError
from ledger.leaves import RECORD_V2, bundle_record_format, leaf_hash_of
from ledger.records import prepare_record

READ_FORMAT = "dpl-grant-read/1"


@dataclass(frozen=True)
class VerifiedRead:
    """What a valid answer showed: ``records`` as ``(index, record, proven)`` in order."""

    log_id: bytes | None
    stream: str
    record_format: str
    size: int | None
    root: bytes | None
    anchor: dict | None
    records: list[tuple[int, dict, bool]]


def verify_grant_read(doc: object) -> VerifiedRead:
    """Check a parsed ``dpl-grant-read/1``; ``BundleError`` at the first problem."""
    d = _obj(doc, "the answer")
    if d.get("format") != READ_FORMAT:
        raise BundleError(f"unknown answer format {d.get('format')!r} (expected {READ_FORMAT!r})")
    record_format = bundle_record_format(d)
    stream = d.get("stream")
    if not isinstance(stream, str):
        raise BundleError("stream must be a string")
    log_id, anchor = _log_id(d), _anchor(d)
    size = root = None
    if d.get("checkpoint") is not None:
        cp = _obj(d["checkpoint"], "checkpoint")
        size, root = _size(cp.get("size"), "checkpoint.size"), _hash(cp.get("root"), "checkpoint.root")
    raw = d.get("records")
    if not isinstance(raw, list):
        raise BundleError("records must be a list")
    out = []
    for n, entry in enumerate(raw):
        e = _obj(entry, f"records[{n}]")
        index = _size(e.get("index"), f"records[{n}].index")
        where = f"records[{n}] (index {index})"
        proven = e.get("proven")
        if type(proven) is not bool:
            raise BundleError(f"{where}.proven must be true or false")
        if record_format == RECORD_V2:
            record, leaf = _partial(e, index, where)
        else:
            record, leaf = _whole(e, n, where, proven)
        if proven:
            if size is None:
                raise BundleError(f"{where} is said to be proven, but the answer has no checkpoint")
            if _hash(e.get("leaf_hash"), f"{where}.leaf_hash") != leaf:
                raise BundleError(f"{where}: the record does not hash to leaf_hash (a value, salt or commitment was altered)")
            proof = e.get("proof")
            if not isinstance(proof, list):
                raise BundleError(f"{where}.proof must be a list")
            try:
                merkle.verify_inclusion(leaf, index, size, [_hash(h, f"{where}.proof[{i}]") for i, h in enumerate(proof)],
                                        root)
            except ProofError as err:
                raise BundleError(f"{where}: inclusion proof does not lead to the checkpoint root: {err}") from None
        out.append((index, record, proven))
    return VerifiedRead(log_id, stream, record_format, size, root, anchor, out)


def _partial(e: dict, index: int, where: str) -> tuple[dict, bytes]:
    if "partial" not in e:
        raise BundleError(f"{where}: a dpl-record/2 answer gives every record as a partial record ('partial')")
    try:
        v = record2.verify_partial(e["partial"])
    except BundleError as err:
        raise BundleError(f"{where}.partial: {err}") from None
    if v.index != index:
        raise BundleError(f"{where}: its partial record is of index {v.index}")
    try:
        same = canonicalize(e.get("record")) == canonicalize(v.record)
    except (ValueError, TypeError):
        same = False
    if not same:
        raise BundleError(f"{where}: record is not what its partial record discloses")
    return v.record, v.leaf_hash


def _whole(e: dict, n: int, where: str, proven: bool) -> tuple[dict, bytes | None]:
    record = e.get("record")
    if not proven:
        if not isinstance(record, dict):
            raise BundleError(f"{where}.record must be a JSON object")
        return record, None
    salt = _hash(e.get("salt"), f"{where}.salt")
    try:
        canonical = prepare_record(record, n).canonical
    except RecordError as err:
        raise BundleError(f"{where}: record is not a valid record: {err.reason}") from None
    return record, leaf_hash_of("dpl-record/1", salt, canonical)
