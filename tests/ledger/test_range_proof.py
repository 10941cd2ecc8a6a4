"""ledger.merkle range proofs: transparency-dev/merkle compact vectors, round trips, tampering."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.errors import InvalidArgumentError, ProofError, RootMismatchError

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "compact-ranges" / "compact_ranges.json"
DOC = json.loads(VECTORS.read_text())


def _h(hexes):
    return [bytes.fromhex(h[2:]) for h in hexes]


def _vector_leaves(n):
    return [merkle.leaf_hash(f"leaf:{i}".encode()) for i in range(n)]


def test_vectors_cover_sizes_1_to_70():
    assert [v["size"] for v in DOC["sizes"]] == list(range(1, 71))
    assert sum(len(v["pairs"]) for v in DOC["sizes"]) > 1500


@pytest.mark.parametrize("vec", DOC["sizes"], ids=lambda v: f"size{v['size']}")
def test_range_proofs_match_go_compact_ranges(vec):
    n = vec["size"]
    leaves = _vector_leaves(n)
    root = bytes.fromhex(vec["root"][2:])
    assert merkle.root(leaves) == root
    for b, e in vec["pairs"]:
        left, right = _h(vec["left"][str(b)]), _h(vec["right"][str(e)])
        assert merkle.range_proof(leaves, b, e) == (left, right), (n, b, e)
        assert merkle.root_from_range(left, leaves[b:e], right, b, n) == root, (n, b, e)
        merkle.verify_range(left, leaves[b:e], right, b, n, root)


def test_ranges_are_the_perfect_subtrees():
    assert merkle.range_proof_ranges(0, 8, 8) == ([], [])
    assert merkle.range_proof_ranges(3, 5, 11) == ([(0, 2), (2, 3)], [(5, 6), (6, 8), (8, 10), (10, 11)])
    with pytest.raises(InvalidArgumentError):
        merkle.range_proof_ranges(4, 4, 8)
    with pytest.raises(InvalidArgumentError):
        merkle.range_proof_ranges(2, 9, 8)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 600), data=st.data())
def test_every_range_round_trips(n, data):
    leaves = [merkle.leaf_hash(f"r/{i}".encode()) for i in range(n)]
    b = data.draw(st.integers(0, n - 1))
    e = data.draw(st.integers(b + 1, n))
    left, right = merkle.range_proof(leaves, b, e)
    merkle.verify_range(left, leaves[b:e], right, b, n, merkle.root(leaves))


def _flip(h):
    return bytes([h[0] ^ 1]) + h[1:]


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 200), data=st.data())
def test_tampered_range_proofs_are_rejected(n, data):
    leaves = [merkle.leaf_hash(f"t/{i}".encode()) for i in range(n)]
    root = merkle.root(leaves)
    b = data.draw(st.integers(0, n - 1))
    e = data.draw(st.integers(b + 1, n))
    left, right = merkle.range_proof(leaves, b, e)
    mid = leaves[b:e]
    k = data.draw(st.integers(0, len(mid) - 1))
    bad = list(mid)
    bad[k] = _flip(bad[k])
    with pytest.raises(RootMismatchError):
        merkle.verify_range(left, bad, right, b, n, root)
    for side in (left, right):
        if side:
            j = data.draw(st.integers(0, len(side) - 1))
            orig = side[j]
            side[j] = _flip(orig)
            with pytest.raises(RootMismatchError):
                merkle.verify_range(left, mid, right, b, n, root)
            side[j] = orig
    if e - b > 1:  # two leaves swapped
        sw = list(mid)
        sw[0], sw[-1] = sw[-1], sw[0]
        with pytest.raises(RootMismatchError):
            merkle.verify_range(left, sw, right, b, n, root)


def test_errors_name_the_reason():
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(11)]
    left, right = merkle.range_proof(leaves, 3, 5)
    root = merkle.root(leaves)
    with pytest.raises(ProofError, match=r"^wrong number of left proof hashes 3, want 2$"):
        merkle.root_from_range([*left, left[0]], leaves[3:5], right, 3, 11)
    with pytest.raises(ProofError, match=r"^wrong number of right proof hashes 3, want 4$"):
        merkle.root_from_range(left, leaves[3:5], right[:-1], 3, 11)
    with pytest.raises(ProofError, match=r"^empty range: a range proof needs at least one leaf$"):
        merkle.root_from_range(left, [], right, 3, 11)
    with pytest.raises(ProofError, match=r"^range \[10, 12\) is beyond size 11$"):
        merkle.root_from_range([], leaves[:2], [], 10, 11)
    with pytest.raises(ProofError, match=r"^start and size must be non-negative integers$"):
        merkle.root_from_range(left, leaves[3:5], right, -1, 11)
    with pytest.raises(ProofError, match=r"^left\[1\] must be 32 bytes, got 31$"):
        merkle.root_from_range([left[0], left[1][:31]], leaves[3:5], right, 3, 11)
    with pytest.raises(RootMismatchError, match=r"^root mismatch: calculated 0x"):
        merkle.verify_range(left, leaves[3:5], right, 3, 11, _flip(root))


def test_size_is_bound_by_the_root_not_by_the_proof():
    # As with inclusion proofs, the proof's shape alone does not fix the size: leaf 0 of
    # a tree of 3 has the proof [l1, l2]; the same hashes read for a tree of 4 say that
    # [2, 4) hashes to l2, which gives the same root. The root is checked against the
    # size it was anchored at (the caller's chain check), which is what binds the size.
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(3)]
    left, right = merkle.range_proof(leaves, 0, 1)
    root = merkle.root(leaves)
    assert merkle.root_from_range(left, leaves[:1], right, 0, 4) == root
    # Most other sizes change the number of hashes, and are refused by name.
    with pytest.raises(ProofError, match="wrong number of right proof hashes 2, want 3"):
        merkle.verify_range(left, leaves[:1], right, 0, 5, root)
    with pytest.raises(RootMismatchError):  # leaf 0 claimed at index 1
        merkle.verify_range([leaves[1]], leaves[:1], [leaves[2]], 1, 3, root)
