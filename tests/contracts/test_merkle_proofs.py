"""contracts/MerkleProofs.sol (through MerkleProofsHarness) against ledger.merkle, its twin.

The transparency-dev vectors are loaded exactly as in tests/ledger/test_merkle.py. The
contract takes hashes as bytes32, so a vector holding a value of another length cannot be
submitted at all: the ABI encoder refuses it. 52 such vectors must be rejected anyway; one
(`sizes are equal (one) and proof is empty`, with equal 12-byte "roots") is accepted by
transparency-dev and ledger.merkle, which compare the roots as opaque bytes. Its 32-byte
analogue is checked on chain below.
"""

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3.exceptions import MismatchedABI

from ledger import merkle
from ledger.errors import ProofError
from tests.contracts.evm import reverts_with

from tests.conformance import VECTOR_FILES, VECTORS, python_accepts
NOT_EXPRESSIBLE_BUT_ACCEPTED = {"consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}
U64 = 2**64 - 1


def _b(s: str) -> bytes:
    return base64.b64decode(s)


@pytest.fixture(scope="module")
def harness(chain):
    return chain.deploy("MerkleProofsHarness")


def _contract_call(harness, case: dict):
    proof = [_b(h) for h in case["proof"] or []]
    if "leafIdx" in case:
        return harness.functions.verifyInclusion(case["leafIdx"], case["treeSize"],
                                                 _b(case["leafHash"]), proof, _b(case["root"]))
    return harness.functions.verifyConsistency(case["size1"], case["size2"], proof,
                                               _b(case["root1"]), _b(case["root2"]))


def _hashes(case: dict) -> list[bytes]:
    keys = ("leafHash", "root", "root1", "root2")
    return [_b(case[k]) for k in keys if k in case] + [_b(h) for h in case["proof"] or []]


def test_all_vectors_are_present():
    assert len(VECTOR_FILES) == 196
    expressible = [f for f in VECTOR_FILES
                   if all(len(h) == 32 for h in _hashes(json.loads(f.read_text())))]
    assert len(expressible) == 143


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: str(p.relative_to(VECTORS)))
def test_contract_agrees_with_transparency_dev_vectors(harness, path):
    case = json.loads(path.read_text())
    python = python_accepts(case)
    assert python == (not case["wantErr"]), case["desc"]
    if all(len(h) == 32 for h in _hashes(case)):
        assert _contract_call(harness, case).call() is python, case["desc"]
        return
    # A value that is not a 32-byte hash cannot reach the contract.
    with pytest.raises(MismatchedABI):
        _contract_call(harness, case).call()
    relative = path.relative_to(VECTORS).as_posix()
    assert python is (relative in NOT_EXPRESSIBLE_BUT_ACCEPTED), case["desc"]


def _leaves(n: int, seed: int = 0) -> list[bytes]:
    return [merkle.leaf_hash(f"{seed}/{i}".encode()) for i in range(n)]


def _py_inclusion(leaf, index, size, proof, root) -> bool:
    try:
        merkle.verify_inclusion(leaf, index, size, proof, root)
    except ProofError:
        return False
    return True


def _py_consistency(size1, size2, proof, root1, root2) -> bool:
    try:
        merkle.verify_consistency(size1, size2, proof, root1, root2)
    except ProofError:
        return False
    return True


def test_hashing_matches_python(harness):
    assert harness.functions.hashLeaf(b"").call() == merkle.leaf_hash(b"")
    assert harness.functions.hashLeaf(b"x" * 100).call() == merkle.leaf_hash(b"x" * 100)
    assert harness.functions.hashChildren(b"a" * 32, b"b" * 32).call() == merkle.node_hash(b"a" * 32, b"b" * 32)


def test_equal_sizes_with_equal_roots_and_no_proof_are_consistent(harness):
    # The 32-byte analogue of the one vector the ABI cannot express.
    r = merkle.leaf_hash(b"r")
    assert harness.functions.verifyConsistency(1, 1, [], r, r).call() is True
    assert harness.functions.verifyConsistency(7, 7, [], r, merkle.leaf_hash(b"s")).call() is False
    assert harness.functions.rootFromConsistencyProof(7, 7, [], r).call() == r


def _mutations(proof: list[bytes], data) -> list[list[bytes]]:
    """A flipped bit, a dropped hash, an extra hash, and a swap of two hashes."""
    out = []
    if proof:
        k = data.draw(st.integers(0, len(proof) - 1), label="flip")
        flipped = list(proof)
        flipped[k] = bytes([flipped[k][0] ^ 1]) + flipped[k][1:]
        out += [flipped, proof[:-1]]
    out.append(proof + [merkle.leaf_hash(b"extra")])
    if len(proof) > 1:
        out.append([proof[1], proof[0], *proof[2:]])
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 300), data=st.data())
def test_contract_and_python_agree_on_random_trees(harness, n, data):
    leaves = _leaves(n, seed=n)
    root = merkle.root(leaves)
    f = harness.functions

    index = data.draw(st.integers(0, n - 1), label="index")
    proof = merkle.inclusion_proof(leaves, index)
    assert f.rootFromInclusionProof(index, n, leaves[index], proof).call() == root
    claims = [(leaves[index], index, n, proof, root)]
    other = data.draw(st.integers(0, n), label="other index")
    claims.append((leaves[index], other, n, proof, root))  # the right leaf at another index
    claims.append((leaves[other % n], index, n, proof, root))  # another leaf at this index
    claims.append((leaves[index], index, n + 1, proof, root))  # another size
    claims += [(leaves[index], index, n, bad, root) for bad in _mutations(proof, data)]
    for leaf, i, size, p, r in claims:
        assert f.verifyInclusion(i, size, leaf, p, r).call() is _py_inclusion(leaf, i, size, p, r)

    old = data.draw(st.integers(1, n), label="old size")
    proof = merkle.consistency_proof(leaves, old)
    old_root = merkle.root(leaves[:old])
    assert f.rootFromConsistencyProof(old, n, proof, old_root).call() == root
    forked = leaves[:old - 1] + [merkle.leaf_hash(b"rewritten")] + leaves[old:]
    claims = [
        (old, n, proof, old_root, root),
        (old, n, proof, old_root, merkle.root(forked)),  # history rewritten below old
        (old, n, merkle.consistency_proof(forked, old), old_root, merkle.root(forked)),
        (old - 1, n, proof, old_root, root),  # another old size
        (old, n + 1, proof, old_root, root),  # another new size
        (n, old, proof, root, old_root),  # sizes swapped
    ]
    claims += [(old, n, bad, old_root, root) for bad in _mutations(proof, data)]
    for size1, size2, p, r1, r2 in claims:
        assert f.verifyConsistency(size1, size2, p, r1, r2).call() is _py_consistency(size1, size2, p, r1, r2)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(1, U64), data=st.data())
def test_proof_shapes_agree_on_huge_trees(harness, size, data):
    """Sizes up to 2**64 - 1: only the proof shape (its length) is checked before hashing, so
    a proof of the right length with random hashes must fail on the root, of any other
    length on the size, in both implementations."""
    index = data.draw(st.integers(0, size - 1), label="index")
    length = len(merkle.inclusion_ranges(index, size))
    wrong = data.draw(st.sampled_from([length, length + 1, max(length - 1, 0)]), label="length")
    proof = [merkle.leaf_hash(b"%d" % i) for i in range(wrong)]
    leaf, root = merkle.leaf_hash(b"leaf"), merkle.leaf_hash(b"root")
    assert harness.functions.verifyInclusion(index, size, leaf, proof, root).call() is False
    if wrong == length:
        assert harness.functions.rootFromInclusionProof(index, size, leaf, proof).call() == \
            merkle.root_from_inclusion_proof(leaf, index, size, proof)
    else:
        with reverts_with(harness, "MerkleProofsWrongProofSize", wrong, length):
            harness.functions.rootFromInclusionProof(index, size, leaf, proof).call()


# --- named errors of the reverting forms ---------------------------------------------


def test_inclusion_errors(harness):
    f = harness.functions
    leaves = _leaves(5)
    proof = merkle.inclusion_proof(leaves, 2)
    with reverts_with(harness, "MerkleProofsIndexBeyondSize", 5, 5):
        f.rootFromInclusionProof(5, 5, leaves[0], proof).call()
    with reverts_with(harness, "MerkleProofsIndexBeyondSize", U64, 0):
        f.rootFromInclusionProof(U64, 0, leaves[0], []).call()
    with reverts_with(harness, "MerkleProofsWrongProofSize", len(proof) + 1, len(proof)):
        f.rootFromInclusionProof(2, 5, leaves[2], proof + [leaves[0]]).call()
    assert f.rootFromInclusionProof(2, 5, leaves[2], proof).call() == merkle.root(leaves)
    # The non-reverting form says false for the same mistakes.
    assert f.verifyInclusion(5, 5, leaves[0], proof, merkle.root(leaves)).call() is False
    assert f.verifyInclusion(2, 5, leaves[2], proof[:-1], merkle.root(leaves)).call() is False


def test_consistency_errors(harness):
    f = harness.functions
    leaves = _leaves(6)
    proof = merkle.consistency_proof(leaves, 3)
    r3, r6 = merkle.root(leaves[:3]), merkle.root(leaves)
    with reverts_with(harness, "MerkleProofsSizeDecreased", 6, 3):
        f.rootFromConsistencyProof(6, 3, proof, r6).call()
    with reverts_with(harness, "MerkleProofsEmptyOldTree"):
        f.rootFromConsistencyProof(0, 6, proof, merkle.EMPTY_ROOT).call()
    with reverts_with(harness, "MerkleProofsEmptyOldTree"):
        f.rootFromConsistencyProof(0, 0, [], merkle.EMPTY_ROOT).call()
    with reverts_with(harness, "MerkleProofsUnexpectedProof", len(proof)):
        f.rootFromConsistencyProof(3, 3, proof, r3).call()
    with reverts_with(harness, "MerkleProofsEmptyProof"):
        f.rootFromConsistencyProof(3, 6, [], r3).call()
    with reverts_with(harness, "MerkleProofsWrongProofSize", len(proof) - 1, len(proof)):
        f.rootFromConsistencyProof(3, 6, proof[:-1], r3).call()
    bad_old = merkle.leaf_hash(b"not the old root")
    # 3 is no power of two: the proof itself leads to the old root, which is then compared.
    with reverts_with(harness, "MerkleProofsRootMismatch", bad_old, r3):
        f.rootFromConsistencyProof(3, 6, proof, bad_old).call()
    assert f.rootFromConsistencyProof(3, 6, proof, r3).call() == r6
    # 4 is a power of two: the old root is the seed, not part of the proof.
    proof4 = merkle.consistency_proof(leaves, 4)
    assert len(proof4) == 1
    assert f.rootFromConsistencyProof(4, 6, proof4, merkle.root(leaves[:4])).call() == r6
