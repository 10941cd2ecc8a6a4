"""ledger.merkle: conformance vectors, the slow reference, and tampering."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.errors import InvalidArgumentError, ProofError
from tests import reference_merkle as ref

from tests.conformance import VECTOR_FILES, VECTORS, python_accepts


def test_all_vectors_are_present():
    # 98 inclusion + 98 consistency cases at transparency-dev/merkle 417fb0c.
    assert len(VECTOR_FILES) == 196
    assert sum("inclusion" in f.parts for f in VECTOR_FILES) == 98


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: str(p.relative_to(VECTORS)))
def test_verifiers_agree_with_transparency_dev_vectors(path):
    case = json.loads(path.read_text())
    assert python_accepts(case) == (not case["wantErr"]), case["desc"]


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(f"{seed}/{i}".encode()) for i in range(n)]


def test_known_answers():
    assert merkle.root([]) == bytes.fromhex(
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    # RFC 6962 test tree (transparency-dev/merkle testonly): leaf "" hashed with prefix 0x00.
    assert merkle.leaf_hash(b"") == bytes.fromhex(
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    assert merkle.node_hash(b"a" * 32, b"b" * 32) == ref.mth([b"a" * 32, b"b" * 32])


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 1000), data=st.data())
def test_fast_code_matches_reference_on_random_trees(n, data):
    leaves = _leaves(n, seed=n)
    assert merkle.root(leaves) == ref.mth(leaves)
    index = data.draw(st.integers(0, n - 1), label="index")
    assert merkle.inclusion_proof(leaves, index) == ref.path(index, leaves)
    old = data.draw(st.integers(1, n), label="old size")
    assert merkle.consistency_proof(leaves, old) == ref.proof(old, leaves)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_every_leaf_is_provable_and_every_prefix_consistent(n, data):
    leaves = _leaves(n, seed=7)
    root = merkle.root(leaves)
    index = data.draw(st.integers(0, n - 1))
    merkle.verify_inclusion(leaves[index], index, n, merkle.inclusion_proof(leaves, index), root)
    old = data.draw(st.integers(1, n))
    merkle.verify_consistency(old, n, merkle.consistency_proof(leaves, old),
                              merkle.root(leaves[:old]), root)


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 200), data=st.data())
def test_tampered_inclusion_is_rejected(n, data):
    leaves = _leaves(n, seed=3)
    root = merkle.root(leaves)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(leaves, index)
    other = data.draw(st.integers(0, n - 1).filter(lambda i: i != index))
    with pytest.raises(ProofError):  # the record at another index
        merkle.verify_inclusion(leaves[other], index, n, proof, root)
    with pytest.raises(ProofError):  # the right record claimed at another index
        merkle.verify_inclusion(leaves[index], other, n, proof, root)
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        bad = list(proof)
        bad[k] = bytes([bad[k][0] ^ 1]) + bad[k][1:]
        with pytest.raises(ProofError):
            merkle.verify_inclusion(leaves[index], index, n, bad, root)
    with pytest.raises(ProofError):
        merkle.verify_inclusion(leaves[index], index, n, proof, merkle.root(leaves[:-1]))


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 200), data=st.data())
def test_tampered_consistency_is_rejected(n, data):
    leaves = _leaves(n, seed=5)
    old = data.draw(st.integers(1, n - 1))
    proof = merkle.consistency_proof(leaves, old)
    old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
    k = data.draw(st.integers(0, len(proof) - 1))
    bad = list(proof)
    bad[k] = bytes([bad[k][0] ^ 0x80]) + bad[k][1:]
    with pytest.raises(ProofError):
        merkle.verify_consistency(old, n, bad, old_root, new_root)
    forked = leaves[:old - 1] + [merkle.leaf_hash(b"rewritten")] + leaves[old:]
    with pytest.raises(ProofError):  # history rewritten below the old size
        merkle.verify_consistency(old, n, merkle.consistency_proof(forked, old), old_root,
                                  merkle.root(forked))


def test_preconditions_are_caller_errors():
    leaves = _leaves(4)
    with pytest.raises(InvalidArgumentError):
        merkle.inclusion_proof(leaves, 4)
    with pytest.raises(InvalidArgumentError):
        merkle.consistency_proof(leaves, 0)
    with pytest.raises(InvalidArgumentError):
        merkle.root([b"short"])
    assert isinstance(ProofError("x"), ValueError)


@given(start_level=st.integers(0, 20), k=st.integers(0, 1000), length=st.integers(1, 2**20))
def test_perfect_subtrees_tile_the_range(start_level, k, length):
    start = k << start_level
    length = min(length, 1 << start_level) if start else length
    parts = merkle.perfect_subtrees(start, start + length)
    pos = start
    for level, index in parts:
        assert index << level == pos
        pos += 1 << level
    assert pos == start + length
