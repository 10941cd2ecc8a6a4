"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and verification.

Pure functions: bytes in, bytes out; no storage, no network. Hashes are SHA-256 with
domain separation: a leaf is ``SHA-256(0x00 || data)``, an interior node is
``SHA-256(0x01 || left || right)``; the left subtree of n > 1 leaves holds the largest
power of two smaller than n. Proofs are positional: an inclusion proof for index i
proves the leaf *at* i.

The verifiers follow transparency-dev/merkle (``proof/verify.go``) step for step and
give its verdict on every one of its test vectors (``tests/vectors/``).

Besides the API fixed in DESIGN.md, this module exposes the *range* form of the proofs
(``inclusion_ranges``, ``consistency_ranges``, ``perfect_subtrees``): which leaf ranges
a proof is made of. The log store uses them to build proofs for huge logs from stored
subtree hashes in O(log n) reads.

A *range proof* (``range_proof_ranges``, ``root_from_range``, ``verify_range``) proves a
run of leaves ``[start, end)`` at once: the hashes of the perfect subtrees covering
``[0, start)`` and ``[end, size)``, merged with the run's leaves as a compact range
(transparency-dev/merkle ``compact``); ``tests/vectors/compact-ranges/`` was made with
that Go code.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from ledger.errors import InvalidArgumentError, ProofError, RootMismatchError

__all__ = [
    "HASH_SIZE",
    "EMPTY_ROOT",
    "ProofError",
    "RootMismatchError",
    "leaf_hash",
    "node_hash",
    "root",
    "inclusion_proof",
    "consistency_proof",
    "verify_inclusion",
    "verify_consistency",
    "root_from_inclusion_proof",
    "inclusion_ranges",
    "consistency_ranges",
    "perfect_subtrees",
    "range_hash",
    "range_proof_ranges",
    "range_proof",
    "root_from_range",
    "verify_range",
]

HASH_SIZE = 32
_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"

#: RFC 9162 §2.1.1: the hash of an empty list is the hash of the empty string.
EMPTY_ROOT = _sha256(b"").digest()
_NODE_HASHER = _sha256(_NODE)


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)``. For a record, ``data`` is ``salt || canonical_bytes``."""
    return _sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``."""
    return _sha256(_NODE + left + right).digest()


def _check_hashes(hashes: Sequence[bytes], what: str) -> None:
    try:
        ok = set(map(len, hashes)) == {HASH_SIZE} and all(map(bytes.__instancecheck__, hashes))
    except TypeError:
        ok = False
    if not ok:
        raise InvalidArgumentError(f"every {what} must be {HASH_SIZE} bytes")


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Merkle tree hash (MTH) of a list of leaf hashes; ``EMPTY_ROOT`` for an empty list.

    Hashes level by level, carrying an odd last node up unchanged; that gives the same
    tree as RFC 9162's recursive split at the largest power of two.
    """
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    _check_hashes(leaf_hashes, "leaf hash")
    level = leaf_hashes
    node = _NODE_HASHER.copy  # a hasher already fed 0x01: one concatenation per node
    while len(level) > 1:
        odd = level[-1] if len(level) & 1 else None
        it = iter(level)
        nxt = []
        append = nxt.append
        for a, b in zip(it, it):
            h = node()
            h.update(a + b)
            append(h.digest())
        if odd is not None:
            append(odd)
        level = nxt
    return level[0]


def _largest_power_of_two_below(n: int) -> int:
    """Largest power of two strictly smaller than n (requires n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[start, end)`` whose tree hashes form the inclusion proof of ``index``.

    Requires ``0 <= index < size``. Ordered as the proof is: the leaf's sibling first.
    """
    if not 0 <= index < size:
        raise InvalidArgumentError(f"index {index} is outside a tree of size {size}")
    ranges = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()
    return ranges


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose tree hashes form the consistency proof ``old_size -> new_size``.

    Requires ``0 < old_size <= new_size`` (a proof from the empty tree means nothing).
    RFC 9162 §2.1.4.1 SUBPROOF, unrolled.
    """
    if not 0 < old_size <= new_size:
        raise InvalidArgumentError(
            f"a consistency proof needs 0 < old size <= new size (got {old_size} -> {new_size})"
        )
    ranges = []
    lo, hi, m, whole_old_tree = 0, new_size, old_size, True
    while m != hi - lo:
        k = _largest_power_of_two_below(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
            m -= k
            whole_old_tree = False
    if not whole_old_tree:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into aligned perfect subtrees ``(level, index)``, left to right.

    A subtree at ``level`` L and ``index`` k covers leaves ``[k * 2**L, (k + 1) * 2**L)``.
    Requires ``start`` to be aligned to a power of two at least ``end - start``, which
    holds for every range a proof or root is made of. The tree hash of the range is the
    fold ``H(s0, H(s1, ... H(s_{m-2}, s_{m-1})))`` of the subtree hashes.
    """
    if not 0 <= start < end:
        raise InvalidArgumentError(f"empty or negative range [{start}, {end})")
    out = []
    pos = start
    while pos < end:
        level = (end - pos).bit_length() - 1
        # Alignment: a block may not be larger than pos's lowest set bit allows.
        if pos:
            level = min(level, (pos & -pos).bit_length() - 1)
        out.append((level, pos >> level))
        pos += 1 << level
    return out


def range_hash(start: int, end: int, subtree_hash: Callable[[int, int], bytes]) -> bytes:
    """Tree hash of leaves ``[start, end)`` from the hashes of its perfect subtrees."""
    parts = [subtree_hash(level, index) for level, index in perfect_subtrees(start, end)]
    acc = parts[-1]
    for h in reversed(parts[:-1]):
        acc = node_hash(h, acc)
    return acc


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Audit path for the leaf at ``index``. Requires ``0 <= index < len(leaf_hashes)``."""
    return [root(leaf_hashes[a:b]) for a, b in inclusion_ranges(index, len(leaf_hashes))]


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    """Proof that the tree of the first ``old_size`` leaves is a prefix of the whole tree.

    Requires ``0 < old_size <= len(leaf_hashes)``; empty when the sizes are equal.
    """
    return [root(leaf_hashes[a:b]) for a, b in consistency_ranges(old_size, len(leaf_hashes))]


# --- verification: a port of transparency-dev/merkle proof/verify.go -------------------


def _inner_proof_size(index: int, size: int) -> int:
    return (index ^ (size - 1)).bit_length()


def _decompose_inclusion_proof(index: int, size: int) -> tuple[int, int]:
    inner = _inner_proof_size(index, size)
    border = bin(index >> inner).count("1")
    return inner, border


# The chains run once per proof element: hashing is inlined (a hasher pre-fed with 0x01).
def _chain_inner(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    node = _NODE_HASHER.copy
    for h in proof:
        c = node()
        c.update(h + seed if index & 1 else seed + h)
        seed = c.digest()
        index >>= 1
    return seed


def _chain_inner_right(seed: bytes, proof: Sequence[bytes], index: int) -> bytes:
    node = _NODE_HASHER.copy
    for h in proof:
        if index & 1:
            c = node()
            c.update(h + seed)
            seed = c.digest()
        index >>= 1
    return seed


def _chain_border_right(seed: bytes, proof: Sequence[bytes]) -> bytes:
    node = _NODE_HASHER.copy
    for h in proof:
        c = node()
        c.update(h + seed)
        seed = c.digest()
    return seed


def _require_proof_hashes(proof: Sequence[bytes]) -> None:
    if not proof:
        return
    try:
        if set(map(len, proof)) == {HASH_SIZE} and all(map(bytes.__instancecheck__, proof)):
            return
    except TypeError:
        pass
    for i, h in enumerate(proof):  # slow path, only to say which element is wrong
        _require_hash(h, f"proof[{i}]")
    raise ProofError("proof elements must be 32-byte hashes")


def _require_hash(value: bytes, what: str) -> None:
    if type(value) is not bytes or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {size}")


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """The root that ``proof`` leads to for ``leaf`` at ``index`` in a tree of ``size``."""
    if not isinstance(index, int) or not isinstance(size, int) or index < 0 or size < 0:
        raise ProofError("index and size must be non-negative integers")
    if index >= size:
        raise ProofError(f"index is beyond size: {index} >= {size}")
    _require_hash(leaf, "leaf hash")
    _require_proof_hashes(proof)
    inner, border = _decompose_inclusion_proof(index, size)
    if len(proof) != inner + border:
        raise ProofError(f"wrong proof size {len(proof)}, want {inner + border}")
    res = _chain_inner(leaf, proof[:inner], index)
    return _chain_border_right(res, proof[inner:])


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is the leaf at ``index`` of the tree of ``size`` with ``root``.

    Returns None on success; raises ``ProofError`` (a ``ValueError``) on any failure.
    """
    calculated = root_from_inclusion_proof(leaf_hash, index, size, proof)
    _require_hash(root, "root")
    if calculated != root:
        raise RootMismatchError(bytes(root), calculated)


def verify_consistency(
    old_size: int,
    new_size: int,
    proof: Sequence[bytes],
    old_root: bytes,
    new_root: bytes,
) -> None:
    """Check that the tree (``new_size``, ``new_root``) extends (``old_size``, ``old_root``).

    Returns None on success; raises ``ProofError`` on any failure. As in
    transparency-dev/merkle: a proof from size 0 is an error; equal sizes need an empty
    proof and equal roots.
    """
    if not all(isinstance(s, int) and s >= 0 for s in (old_size, new_size)):
        raise ProofError("sizes must be non-negative integers")
    if new_size < old_size:
        raise ProofError(f"new size {new_size} < old size {old_size}")
    if old_size == 0:
        raise ProofError("a consistency proof from the empty tree is meaningless")
    if old_size == new_size:
        if proof:
            raise ProofError("sizes are equal but the proof is not empty")
        if old_root != new_root:
            raise RootMismatchError(bytes(new_root), bytes(old_root), "root")
        return
    if not proof:
        raise ProofError("empty proof")
    _require_proof_hashes(proof)
    _require_hash(old_root, "old root")
    _require_hash(new_root, "new root")

    inner, border = _decompose_inclusion_proof(old_size - 1, new_size)
    shift = (old_size & -old_size).bit_length() - 1  # trailing zeros of old_size
    inner -= shift
    # The proof starts with the hash of the 2**shift subtree, unless old_size is exactly it.
    if old_size == 1 << shift:
        seed, start = old_root, 0
    else:
        seed, start = proof[0], 1
    if len(proof) != start + inner + border:
        raise ProofError(f"wrong proof size {len(proof)}, want {start + inner + border}")
    rest = proof[start:]
    mask = (old_size - 1) >> shift

    hash1 = _chain_inner_right(seed, rest[:inner], mask)
    hash1 = _chain_border_right(hash1, rest[inner:])
    if hash1 != old_root:
        raise RootMismatchError(bytes(old_root), hash1, "old root")

    hash2 = _chain_inner(seed, rest[:inner], mask)
    hash2 = _chain_border_right(hash2, rest[inner:])
    if hash2 != new_root:
        raise RootMismatchError(bytes(new_root), hash2, "new root")


# --- range proofs: compact ranges (transparency-dev/merkle compact/range.go) ------------


def range_proof_ranges(
    start: int, end: int, size: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Leaf ranges of the range proof of ``[start, end)`` in a tree of ``size``.

    ``(left, right)``: the perfect subtrees covering ``[0, start)`` and ``[end, size)``,
    left to right, as ``(a, b)`` leaf ranges. Requires ``0 <= start < end <= size``.
    """
    if not 0 <= start < end <= size:
        raise InvalidArgumentError(
            f"a range proof needs 0 <= start < end <= size (got [{start}, {end}) of {size})"
        )

    def cover(a: int, b: int) -> list[tuple[int, int]]:
        if a == b:
            return []
        return [(i << lv, (i + 1) << lv) for lv, i in perfect_subtrees(a, b)]

    return cover(0, start), cover(end, size)


def range_proof(
    leaf_hashes: Sequence[bytes], start: int, end: int
) -> tuple[list[bytes], list[bytes]]:
    """The range proof ``(left, right)`` of ``[start, end)`` in the tree of ``leaf_hashes``."""
    left, right = range_proof_ranges(start, end, len(leaf_hashes))
    return (
        [root(leaf_hashes[a:b]) for a, b in left],
        [root(leaf_hashes[a:b]) for a, b in right],
    )


def _subtree_levels(start: int, end: int) -> list[int]:
    return [lv for lv, _ in perfect_subtrees(start, end)] if start < end else []


def root_from_range(
    left: Sequence[bytes],
    leaves: Sequence[bytes],
    right: Sequence[bytes],
    start: int,
    size: int,
) -> bytes:
    """The root that the range proof ``(left, right)`` leads to for the leaf hashes
    ``leaves`` at ``[start, start + len(leaves))`` of a tree of ``size``.

    Merges left, the leaves one by one, and right into one compact range of
    ``[0, size)`` (each hash pushed, then equal-level neighbours merged, as
    ``compact.Range.Append`` does), then folds it right to left into the RFC 9162 root
    (``Range.GetRootHash``). Raises ``ProofError`` naming what is wrong.
    """
    if not all(type(v) is int and v >= 0 for v in (start, size)):
        raise ProofError("start and size must be non-negative integers")
    if not leaves:
        raise ProofError("empty range: a range proof needs at least one leaf")
    end = start + len(leaves)
    if end > size:
        raise ProofError(f"range [{start}, {end}) is beyond size {size}")
    left_levels = _subtree_levels(0, start)
    right_levels = _subtree_levels(end, size)
    if len(left) != len(left_levels):
        raise ProofError(f"wrong number of left proof hashes {len(left)}, want {len(left_levels)}")
    if len(right) != len(right_levels):
        raise ProofError(
            f"wrong number of right proof hashes {len(right)}, want {len(right_levels)}"
        )
    for what, hashes in (("left", left), ("right", right), ("leaf", leaves)):
        for i, h in enumerate(hashes):
            if type(h) is not bytes or len(h) != HASH_SIZE:
                _require_hash(h, f"{what}[{i}]")

    node = _NODE_HASHER.copy
    levels: list[int] = []
    hashes: list[bytes] = []

    def push(level: int, h: bytes) -> None:
        while levels and levels[-1] == level:
            levels.pop()
            c = node()
            c.update(hashes.pop() + h)
            h = c.digest()
            level += 1
        levels.append(level)
        hashes.append(h)

    for level, h in zip(left_levels, left):
        push(level, h)
    for h in leaves:
        push(0, h)
    for level, h in zip(right_levels, right):
        push(level, h)
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        c = node()
        c.update(h + acc)
        acc = c.digest()
    return acc


def verify_range(
    left: Sequence[bytes],
    leaves: Sequence[bytes],
    right: Sequence[bytes],
    start: int,
    size: int,
    root: bytes,
) -> None:
    """Check that ``leaves`` are the leaves at ``[start, start + len(leaves))`` of the
    tree of ``size`` with ``root``. Returns None; raises ``ProofError`` on any failure.
    """
    calculated = root_from_range(left, leaves, right, start, size)
    _require_hash(root, "root")
    if calculated != root:
        raise RootMismatchError(bytes(root), calculated)
