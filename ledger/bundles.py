"""Proof bundles: self-contained JSON a lender or auditor verifies with no service.

``dpl-proof/1`` (DESIGN.md section 2) carries records, their salts and inclusion proofs
against one checkpoint (size, root). ``dpl-consistency/1`` carries a consistency proof
between two checkpoints of one log. Both are verified here with math only: canonical
bytes (RFC 8785), leaf hashes and RFC 9162 proofs. ``anchor`` stays ``null`` until
checkpoints are anchored on chain.

Hashes and salts are 0x-prefixed lowercase hex. Unknown extra fields are allowed (a
newer writer may add some); the named fields keep their meaning.

A bundle of a ``dpl-record/2`` log says so (``"record_format": "dpl-record/2"``): its entries'
leaves are rebuilt with that format's rule from the record and its record salt. Absent, the
format is ``dpl-record/1``, as in every bundle written before formats existed (``ledger.leaves``
says why the bundle may name it: no leaf opens in both formats).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger import merkle
from ledger.errors import BundleError, ProofError, RecordError
from ledger.leaves import RECORD_V1, bundle_field, bundle_record_format, leaf_hash_of
from ledger.records import prepare_record

PROOF_FORMAT = "dpl-proof/1"
CONSISTENCY_FORMAT = "dpl-consistency/1"
_HEX32 = re.compile(r"0x[0-9a-f]{64}")


def to_hex(data: bytes) -> str:
    return "0x" + data.hex()


def _hash(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise BundleError(f"{where} must be 0x followed by 64 lowercase hex digits")
    return bytes.fromhex(value[2:])


def _size(value: object, where: str) -> int:
    if type(value) is not int or value < 0:
        raise BundleError(f"{where} must be a non-negative integer")
    return value


def _obj(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise BundleError(f"{where} must be a JSON object")
    return value


def make_entry(index: int, record: dict, salt: bytes, leaf: bytes, proof: list[bytes]) -> dict:
    return {
        "index": index,
        "record": record,
        "salt": to_hex(salt),
        "leaf_hash": to_hex(leaf),
        "proof": [to_hex(h) for h in proof],
    }


def make_anchor(chain_id: int, registry: str, tx_hash: bytes, block_number: int | None) -> dict:
    return {"chain_id": chain_id, "registry": registry, "tx_hash": to_hex(tx_hash),
            "block_number": block_number}


def make_proof_bundle(
    stream: str, log_id: bytes | None, size: int, root: bytes, entries: list[dict],
    anchor: dict | None = None, record_format: str = RECORD_V1,
) -> dict:
    return {
        "format": PROOF_FORMAT,
        **bundle_field(record_format),
        "log_id": to_hex(log_id) if log_id else None,
        "stream": stream,
        "checkpoint": {"size": size, "root": to_hex(root)},
        "anchor": anchor,
        "entries": entries,
    }


def make_consistency_bundle(
    stream: str, log_id: bytes | None, old_size: int, old_root: bytes,
    new_size: int, new_root: bytes, proof: list[bytes],
) -> dict:
    return {
        "format": CONSISTENCY_FORMAT,
        "log_id": to_hex(log_id) if log_id else None,
        "stream": stream,
        "old": {"size": old_size, "root": to_hex(old_root)},
        "new": {"size": new_size, "root": to_hex(new_root)},
        "proof": [to_hex(h) for h in proof],
    }


@dataclass(frozen=True)
class Verified:
    """What a valid bundle proved, for a one-line report."""

    format: str
    stream: str
    summary: str
    log_id: bytes | None = None
    size: int | None = None
    root: bytes | None = None
    anchor: dict | None = None
    record_format: str = RECORD_V1


def _log_id(b: dict) -> bytes | None:
    value = b.get("log_id")
    return None if value is None else _hash(value, "log_id")


def _anchor(b: dict) -> dict | None:
    a = b.get("anchor")
    if a is None:
        return None
    a = _obj(a, "anchor")
    _size(a.get("chain_id"), "anchor.chain_id")
    if not isinstance(a.get("registry"), str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", a["registry"]):
        raise BundleError("anchor.registry must be a 0x-prefixed 20-byte address")
    # Optional, but checked against the chain when given (ledger.chain.check), never just shown.
    if a.get("tx_hash") is not None:
        _hash(a["tx_hash"], "anchor.tx_hash")
    if a.get("block_number") is not None:
        _size(a["block_number"], "anchor.block_number")
    return a


def verify(bundle: object) -> Verified:
    """Verify a bundle of any known format; raise ``BundleError`` saying what failed."""
    b = _obj(bundle, "the bundle")
    fmt = b.get("format")
    if fmt == PROOF_FORMAT:
        return verify_proof_bundle(b)
    if fmt == CONSISTENCY_FORMAT:
        return verify_consistency_bundle(b)
    raise BundleError(
        f"unknown bundle format {fmt!r} (expected {PROOF_FORMAT!r} or {CONSISTENCY_FORMAT!r})"
    )


def verify_proof_bundle(b: dict) -> Verified:
    """The bundle's structure first (every entry, then log_id and anchor), then each entry's
    leaf and inclusion proof: the order the browser verifier reports them in."""
    stream = b.get("stream")
    if not isinstance(stream, str):
        raise BundleError("stream must be a string")
    record_format = bundle_record_format(b)
    cp = _obj(b.get("checkpoint"), "checkpoint")
    size = _size(cp.get("size"), "checkpoint.size")
    root = _hash(cp.get("root"), "checkpoint.root")
    raw_entries = b.get("entries")
    if not isinstance(raw_entries, list) or not raw_entries:
        raise BundleError("entries must be a non-empty list")
    entries, first_at = [], {}
    for n, entry in enumerate(raw_entries):
        e = _obj(entry, f"entries[{n}]")
        index = _size(e.get("index"), f"entries[{n}].index")
        where = f"entries[{n}] (index {index})"
        salt = _hash(e.get("salt"), f"{where}.salt")
        leaf = _hash(e.get("leaf_hash"), f"{where}.leaf_hash")
        proof_hex = e.get("proof")
        if not isinstance(proof_hex, list):
            raise BundleError(f"{where}.proof must be a list")
        proof = [_hash(h, f"{where}.proof[{i}]") for i, h in enumerate(proof_hex)]
        if index in first_at:
            raise BundleError(f"{where} repeats the index of entries[{first_at[index]}]: each index is proven once")
        first_at[index] = n
        entries.append((n, index, where, salt, leaf, proof, e.get("record")))
    log_id, anchor = _log_id(b), _anchor(b)
    for n, index, where, salt, leaf, proof, record in entries:
        try:
            canonical = prepare_record(record, n).canonical
        except RecordError as err:
            raise BundleError(f"{where}: record is not a valid record: {err.reason}") from None
        if leaf_hash_of(record_format, salt, canonical) != leaf:
            raise BundleError(
                f"{where}: record and salt do not hash to leaf_hash (record or salt was altered)"
            )
        try:
            merkle.verify_inclusion(leaf, index, size, proof, root)
        except ProofError as err:
            raise BundleError(
                f"{where}: inclusion proof does not lead to the checkpoint root "
                f"(index, proof or root was altered): {err}"
            ) from None
    indices = ", ".join(str(e[1]) for e in entries[:5]) + (" ..." if len(entries) > 5 else "")
    return Verified(
        PROOF_FORMAT, stream,
        f"{len(entries)} record(s) at index {indices} are in {stream!r} "
        f"at size {size}, root 0x{root.hex()}",
        log_id, size, root, anchor, record_format,
    )


def verify_consistency_bundle(b: dict) -> Verified:
    stream = b.get("stream")
    if not isinstance(stream, str):
        raise BundleError("stream must be a string")
    old, new = _obj(b.get("old"), "old"), _obj(b.get("new"), "new")
    old_size, new_size = _size(old.get("size"), "old.size"), _size(new.get("size"), "new.size")
    old_root, new_root = _hash(old.get("root"), "old.root"), _hash(new.get("root"), "new.root")
    proof_hex = b.get("proof")
    if not isinstance(proof_hex, list):
        raise BundleError("proof must be a list")
    proof = [_hash(h, f"proof[{i}]") for i, h in enumerate(proof_hex)]
    log_id, anchor = _log_id(b), _anchor(b)
    try:
        merkle.verify_consistency(old_size, new_size, proof, old_root, new_root)
    except ProofError as err:
        raise BundleError(f"consistency proof does not hold: {err}") from None
    return Verified(
        CONSISTENCY_FORMAT, stream,
        f"{stream!r} at size {new_size} (root 0x{new_root.hex()}) extends size {old_size} "
        f"(root 0x{old_root.hex()})",
        log_id, new_size, new_root, anchor,
    )
