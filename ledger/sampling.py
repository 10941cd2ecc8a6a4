"""Sample indices a factory could not choose: derived from a block hash after the pledge.

This is a protocol: every verifier (this module, the JavaScript verifier) must compute
the same indices bit for bit. With ``||`` concatenation, ``u256(x)`` the 32-byte
big-endian encoding of ``0 <= x < 2**256`` and ``keccak256`` Ethereum's Keccak-256:

1. ``seed = keccak256(block_hash || u256(token_id))`` (64 bytes hashed), where
   ``block_hash`` is the 32-byte hash of the pledge's issue block. In Solidity:
   ``keccak256(abi.encodePacked(blockhash(issueBlock), tokenId))``.
2. For the range ``[start, end)`` with ``n = end - start`` and ``k`` samples:
   - if ``k >= n``: the indices are every index of the range, ``start .. end - 1``;
   - else, for ``j = 0, 1, 2, ...``: ``x = uint256(keccak256(seed || u256(j))) mod n``
     (the digest read as a big-endian unsigned integer); ``start + x`` is taken unless it
     was taken already; stop as soon as ``k`` distinct indices are taken.
3. The result is the ``k`` indices in ascending order.

The plain ``mod n`` has a bias below ``n / 2**256``: negligible, and part of the rule.
The factory signs its consent before the issue block exists, so it cannot steer the seed.
"""

from __future__ import annotations

from eth_utils import keccak

from ledger.errors import InvalidArgumentError

_U256 = 2**256


def _u256(x: int) -> bytes:
    return x.to_bytes(32, "big")


def _is_int(v: object) -> bool:
    return type(v) is int


def sample_seed(block_hash: bytes, token_id: int) -> bytes:
    """``keccak256(block_hash || u256(token_id))``. Requires a 32-byte ``block_hash`` and
    ``0 <= token_id < 2**256``."""
    if type(block_hash) is not bytes or len(block_hash) != 32:
        raise InvalidArgumentError("block hash must be 32 bytes")
    if not _is_int(token_id) or not 0 <= token_id < _U256:
        raise InvalidArgumentError(f"token id {token_id!r} is not a uint256")
    return keccak(block_hash + _u256(token_id))


def sample_indices(seed: bytes, start: int, end: int, k: int) -> list[int]:
    """The ``k`` indices of ``[start, end)`` that ``seed`` selects, ascending (module rule).

    Requires a 32-byte ``seed``, ``0 <= start < end`` and ``k >= 1``.
    """
    if type(seed) is not bytes or len(seed) != 32:
        raise InvalidArgumentError("seed must be 32 bytes")
    if not (_is_int(start) and _is_int(end) and 0 <= start < end):
        raise InvalidArgumentError(f"need 0 <= start < end, got [{start!r}, {end!r})")
    if not _is_int(k) or k < 1:
        raise InvalidArgumentError(f"need k >= 1 samples, got {k!r}")
    n = end - start
    if k >= n:
        return list(range(start, end))
    taken: set[int] = set()
    j = 0
    while len(taken) < k:
        taken.add(start + int.from_bytes(keccak(seed + _u256(j)), "big") % n)
        j += 1
    return sorted(taken)
