"""ledger.sampling: the seed is Solidity's, the indices follow the written rule exactly."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from eth_utils import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from web3 import Web3

from ledger.errors import InvalidArgumentError
from ledger.sampling import sample_indices, sample_seed

SEED = bytes.fromhex("5e" * 32)


def _reference(seed, start, end, k):
    """The module docstring's rule, written out again the slow, obvious way."""
    n = end - start
    if k >= n:
        return list(range(start, end))
    taken, j = [], 0
    while len(taken) < k:
        digest = keccak(seed + j.to_bytes(32, "big"))
        index = start + int(digest.hex(), 16) % n
        if index not in taken:
            taken.append(index)
        j += 1
    return sorted(taken)


def test_seed_is_keccak_of_abi_encode_packed():
    block_hash = bytes.fromhex("ab" * 32)
    for token_id in (0, 1, 7, 2**255 + 3):
        expected = Web3.solidity_keccak(["bytes32", "uint256"], [block_hash, token_id])
        assert sample_seed(block_hash, token_id) == bytes(expected)
    # keccak256 of 64 zero bytes (a well-known constant)
    assert sample_seed(b"\0" * 32, 0).hex() == "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5"
    assert sample_seed(block_hash, 1) != sample_seed(block_hash, 2)


@pytest.mark.parametrize("args", [(b"\0" * 31, 1), ("0x" + "00" * 32, 1), (b"\0" * 32, -1),
                                  (b"\0" * 32, 2**256), (b"\0" * 32, "1")])
def test_seed_refuses_bad_arguments(args):
    with pytest.raises(InvalidArgumentError):
        sample_seed(*args)


def test_known_answer():
    # Pinned so a change of the rule (which a JS verifier reimplements) cannot go unnoticed.
    assert sample_indices(SEED, 1000, 2000, 8) == [1135, 1160, 1330, 1415, 1496, 1683, 1716, 1808]
    assert sample_seed(bytes.fromhex("ab" * 32), 7).hex() == (
        "bd5c30b3c65f48fc42da750ecf4357eec4872c47a1b4ad75bdda2ed139747b19")
    first = int.from_bytes(keccak(SEED + bytes(32)), "big") % 1000
    assert 1000 + first in sample_indices(SEED, 1000, 2000, 8)
    assert sample_indices(SEED, 1000, 2000, 1) == [1000 + first]


@settings(max_examples=200, deadline=None)
@given(seed=st.binary(min_size=32, max_size=32), start=st.integers(0, 10**12),
       n=st.integers(1, 400), k=st.integers(1, 60))
def test_indices_follow_the_rule_and_are_distinct_sorted_and_in_range(seed, start, n, k):
    end = start + n
    got = sample_indices(seed, start, end, k)
    assert got == _reference(seed, start, end, k)
    assert len(got) == min(k, n) == len(set(got))
    assert got == sorted(got)
    assert all(start <= i < end for i in got)
    assert sample_indices(seed, start, end, k) == got  # deterministic


def test_k_at_least_n_takes_the_whole_range():
    assert sample_indices(SEED, 5, 9, 4) == [5, 6, 7, 8]
    assert sample_indices(SEED, 5, 9, 100) == [5, 6, 7, 8]
    assert sample_indices(SEED, 5, 6, 1) == [5]
    assert len(sample_indices(SEED, 0, 10, 9)) == 9


def test_huge_ranges_work_with_big_integers():
    got = sample_indices(SEED, 2**62, 2**63, 5)
    assert len(got) == 5 and all(2**62 <= i < 2**63 for i in got)


def test_other_seeds_pick_other_indices_and_every_index_gets_picked():
    a = sample_indices(SEED, 0, 10**6, 20)
    b = sample_indices(os.urandom(32), 0, 10**6, 20)
    assert a != b
    counts = Counter(sample_indices(keccak(i.to_bytes(4, "big")), 0, 10, 1)[0] for i in range(2000))
    assert set(counts) == set(range(10))
    assert all(120 < c < 280 for c in counts.values()), counts  # ~200 each


@pytest.mark.parametrize("args, reason", [
    ((SEED, 5, 5, 1), "start < end"),
    ((SEED, 6, 5, 1), "start < end"),
    ((SEED, -1, 5, 1), "start < end"),
    ((SEED, 0, 5, 0), "k >= 1"),
    ((SEED, 0, 5, -3), "k >= 1"),
    ((b"short", 0, 5, 1), "seed must be 32 bytes"),
])
def test_bad_arguments_are_refused(args, reason):
    with pytest.raises(InvalidArgumentError, match=reason):
        sample_indices(*args)
