// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title MerkleProofs
 * @notice Verification of RFC 9162 (Certificate Transparency v2) Merkle tree proofs:
 * inclusion proofs (audit paths) and consistency proofs between two sizes of a log.
 *
 * @dev A port of transparency-dev/merkle `proof/verify.go`, step for step, and the twin of
 * the Python verifiers in `ledger/merkle.py`: both give the same verdict on every
 * transparency-dev test vector that can be expressed with 32-byte hashes.
 *
 * Hashing is SHA-256 (the 0x02 precompile) with domain separation: a leaf is
 * `sha256(0x00 || data)`, an interior node `sha256(0x01 || left || right)`, and the left
 * subtree of a tree of n > 1 leaves holds the largest power of two smaller than n. Proofs are
 * positional: an inclusion proof for `index` proves the leaf *at* `index`.
 *
 * Each proof has three forms, like OpenZeppelin's `ECDSA.tryRecover` / `recover`:
 * - `tryRootFrom...` returns the calculated root and a {ProofError} code (never reverts);
 * - `rootFrom...` returns the calculated root or reverts with a named error;
 * - `verify...` returns true if the proof is well formed and leads to the given root(s),
 *   false otherwise (never reverts).
 *
 * Proofs are taken from calldata: every caller on chain receives them in a transaction.
 *
 * The functions are `view`, not `pure`, only because {hashChildren} and the proof chains call
 * the SHA-256 precompile from assembly (Solidity's `sha256(abi.encodePacked(...))` costs about 330 gas
 * more per node, some 10,000 gas for a proof in a log of 10^9 records). They read no state.
 */
library MerkleProofs {
    /// @dev Why a proof was refused. `NoError` means the calculation went through.
    enum ProofError {
        NoError,
        IndexBeyondSize,
        WrongProofSize,
        SizeDecreased,
        EmptyOldTree,
        UnexpectedProof,
        EmptyProof,
        RootMismatch
    }

    /// @dev An inclusion proof was requested for `index` in a tree of `size` (requires index < size).
    error MerkleProofsIndexBeyondSize(uint64 index, uint64 size);

    /// @dev The proof has `length` hashes where the tree shape needs `expected`.
    error MerkleProofsWrongProofSize(uint256 length, uint256 expected);

    /// @dev A consistency proof from `size1` to the smaller `size2`.
    error MerkleProofsSizeDecreased(uint64 size1, uint64 size2);

    /// @dev A consistency proof from the empty tree: it would prove nothing.
    error MerkleProofsEmptyOldTree();

    /// @dev The sizes are equal, so the proof must be empty, but it has `length` hashes.
    error MerkleProofsUnexpectedProof(uint256 length);

    /// @dev The sizes differ but the consistency proof is empty.
    error MerkleProofsEmptyProof();

    /// @dev The proof leads to `calculated` where `expected` was given.
    error MerkleProofsRootMismatch(bytes32 expected, bytes32 calculated);

    // ---------------------------------------------------------------- inclusion

    /**
     * @dev Whether `leafHash` is the leaf at `index` of the tree of `size` leaves whose root is
     * `root`, according to the audit path `proof` (ordered from the leaf's sibling upwards).
     * Returns false for a malformed proof as well as for a wrong one.
     */
    function verifyInclusion(
        uint64 index,
        uint64 size,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) internal view returns (bool) {
        (bytes32 calculated, ProofError err, ) = tryRootFromInclusionProof(index, size, leafHash, proof);
        return err == ProofError.NoError && calculated == root;
    }

    /**
     * @dev The root that `proof` leads to for `leafHash` at `index` in a tree of `size` leaves.
     * Reverts with {MerkleProofsIndexBeyondSize} or {MerkleProofsWrongProofSize} on a malformed
     * proof. Requires `index < size`.
     */
    function rootFromInclusionProof(
        uint64 index,
        uint64 size,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) internal view returns (bytes32) {
        (bytes32 calculated, ProofError err, uint256 expectedLength) = tryRootFromInclusionProof(
            index,
            size,
            leafHash,
            proof
        );
        if (err == ProofError.IndexBeyondSize) revert MerkleProofsIndexBeyondSize(index, size);
        if (err == ProofError.WrongProofSize) revert MerkleProofsWrongProofSize(proof.length, expectedLength);
        return calculated;
    }

    /**
     * @dev Like {rootFromInclusionProof}, but returns an error code instead of reverting.
     * `expectedLength` is the proof length the tree shape needs (0 when `index >= size`).
     */
    function tryRootFromInclusionProof(
        uint64 index,
        uint64 size,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) internal view returns (bytes32 calculated, ProofError err, uint256 expectedLength) {
        if (index >= size) return (bytes32(0), ProofError.IndexBeyondSize, 0);
        (uint256 inner, uint256 border) = _decomposeInclusionProof(index, size);
        expectedLength = inner + border;
        if (proof.length != expectedLength) return (bytes32(0), ProofError.WrongProofSize, expectedLength);
        calculated = _chainInner(leafHash, proof[:inner], index);
        calculated = _chainBorderRight(calculated, proof[inner:]);
        return (calculated, ProofError.NoError, expectedLength);
    }

    // -------------------------------------------------------------- consistency

    /**
     * @dev Whether the tree of `size2` leaves with root `root2` extends the tree of `size1`
     * leaves with root `root1`, according to `proof`. As in transparency-dev/merkle: a proof
     * from size 0 is refused; equal sizes need an empty proof and equal roots.
     * Returns false for a malformed proof as well as for a wrong one.
     */
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32[] calldata proof,
        bytes32 root1,
        bytes32 root2
    ) internal view returns (bool) {
        (bytes32 calculated, ProofError err, ) = tryRootFromConsistencyProof(size1, size2, proof, root1);
        return err == ProofError.NoError && calculated == root2;
    }

    /**
     * @dev The root of the tree of `size2` leaves that `proof` leads to, after checking that it
     * also leads to `root1` for the first `size1` leaves. Reverts with a `MerkleProofs...` error
     * on a malformed proof or when the proof does not lead to `root1`. Requires
     * `0 < size1 <= size2`.
     */
    function rootFromConsistencyProof(
        uint64 size1,
        uint64 size2,
        bytes32[] calldata proof,
        bytes32 root1
    ) internal view returns (bytes32) {
        (bytes32 calculated, ProofError err, uint256 detail) = tryRootFromConsistencyProof(
            size1,
            size2,
            proof,
            root1
        );
        if (err == ProofError.NoError) return calculated;
        if (err == ProofError.SizeDecreased) revert MerkleProofsSizeDecreased(size1, size2);
        if (err == ProofError.EmptyOldTree) revert MerkleProofsEmptyOldTree();
        if (err == ProofError.UnexpectedProof) revert MerkleProofsUnexpectedProof(proof.length);
        if (err == ProofError.EmptyProof) revert MerkleProofsEmptyProof();
        if (err == ProofError.WrongProofSize) revert MerkleProofsWrongProofSize(proof.length, detail);
        // RootMismatch: `calculated` is the old root the proof leads to.
        revert MerkleProofsRootMismatch(root1, calculated);
    }

    /**
     * @dev Like {rootFromConsistencyProof}, but returns an error code instead of reverting.
     * On `WrongProofSize`, `detail` is the expected proof length; on `RootMismatch`,
     * `calculated` is the old root the proof leads to. Otherwise `detail` is 0.
     */
    function tryRootFromConsistencyProof(
        uint64 size1,
        uint64 size2,
        bytes32[] calldata proof,
        bytes32 root1
    ) internal view returns (bytes32 calculated, ProofError err, uint256 detail) {
        if (size2 < size1) return (bytes32(0), ProofError.SizeDecreased, 0);
        if (size1 == 0) return (bytes32(0), ProofError.EmptyOldTree, 0);
        if (size1 == size2) {
            if (proof.length != 0) return (bytes32(0), ProofError.UnexpectedProof, 0);
            return (root1, ProofError.NoError, 0);
        }
        if (proof.length == 0) return (bytes32(0), ProofError.EmptyProof, 0);

        (uint256 inner, uint256 border) = _decomposeInclusionProof(size1 - 1, size2);
        uint256 shift = _trailingZeros(size1);
        inner -= shift; // shift < inner when size1 < size2

        // The proof starts with the hash of the 2**shift subtree, unless size1 is exactly that.
        bytes32 seed;
        uint256 start;
        if (uint256(size1) == uint256(1) << shift) {
            (seed, start) = (root1, 0);
        } else {
            (seed, start) = (proof[0], 1);
        }
        detail = start + inner + border;
        if (proof.length != detail) return (bytes32(0), ProofError.WrongProofSize, detail);

        // What is left is the suffix of the inclusion proof of leaf size1 - 1 in the tree of
        // size2, starting from level `shift`.
        uint64 mask = (size1 - 1) >> shift;
        (bytes32 hash1, bytes32 hash2) = _rootsFromPath(seed, proof[start:], inner, mask);
        if (hash1 != root1) return (hash1, ProofError.RootMismatch, 0);
        return (hash2, ProofError.NoError, 0);
    }

    // ------------------------------------------------------------------ hashing

    /// @dev RFC 9162 leaf hash: `sha256(0x00 || data)`.
    function hashLeaf(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @dev RFC 9162 interior node hash: `sha256(0x01 || left || right)`, the 65 bytes built in
    /// free memory (not allocated: nothing else uses it before the call returns).
    function hashChildren(bytes32 left, bytes32 right) internal view returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            mstore(add(ptr, 0x01), left)
            mstore(add(ptr, 0x21), right)
            if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
            result := mload(0x00)
        }
    }

    // ---------------------------------------------------------------- internals

    /**
     * @dev Splits the inclusion proof of `index` in a tree of `size` into the part below the
     * point where the paths to `index` and `size - 1` diverge (`inner`) and the part along the
     * right border above it (`border`). Requires index < size.
     */
    function _decomposeInclusionProof(uint64 index, uint64 size) private pure returns (uint256 inner, uint256 border) {
        inner = _bitLength(index ^ (size - 1));
        border = _popCount(index >> inner); // a uint64 shifted by 64 is 0
    }

    /**
     * @dev The old tree's root (`hash1`) and the new tree's root (`hash2`) from a consistency
     * proof's path (without its seed), in one pass over the path, as transparency-dev's
     * `verify.go` does: below level `inner`, a hash on the left of the path (its bit of `mask`
     * set) goes into both roots, one on the right only into the new one; above it, every hash
     * is a left sibling of both. Requires `inner <= path.length`. Hashed in assembly like the
     * chains below.
     */
    function _rootsFromPath(
        bytes32 seed,
        bytes32[] calldata path,
        uint256 inner,
        uint64 mask
    ) private view returns (bytes32 hash1, bytes32 hash2) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            let left := add(ptr, 0x01)
            let right := add(ptr, 0x21)
            hash1 := seed
            hash2 := seed
            let p := path.offset
            for { let end := add(p, shl(5, inner)) } lt(p, end) { p := add(p, 0x20) } {
                switch and(mask, 1)
                case 0 {
                    mstore(left, hash2)
                    mstore(right, calldataload(p))
                    if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
                    hash2 := mload(0x00)
                }
                default {
                    mstore(left, calldataload(p))
                    mstore(right, hash1)
                    if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
                    hash1 := mload(0x00)
                    mstore(right, hash2)
                    if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
                    hash2 := mload(0x00)
                }
                mask := shr(1, mask)
            }
            for { let end := add(path.offset, shl(5, path.length)) } lt(p, end) { p := add(p, 0x20) } {
                mstore(left, calldataload(p))
                mstore(right, hash1)
                if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
                hash1 := mload(0x00)
                mstore(right, hash2)
                if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
                hash2 := mload(0x00)
            }
        }
    }

    // The chains below hash in assembly, straight from calldata: the 65 bytes
    // `0x01 || left || right` are laid out past the free memory pointer (not allocated: nothing
    // else uses that memory before the function returns) with the 0x01 written once, and each
    // node costs one call to the SHA-256 precompile (0x02) and no Solidity bounds checks or
    // internal calls. With {_rootsFromPath} and the loop-free bit counts, checking the costliest
    // consistency proof at 10^6 records went from 24,870 to 14,879 gas (bench/bench_chain.py).
    // `proof` is a calldata slice of a checked calldata array, so `proof.offset + 32 *
    // proof.length` is inside calldata.

    /// @dev Hashes `seed` up through `proof`, the side at each level given by the bits of `index`.
    function _chainInner(bytes32 seed, bytes32[] calldata proof, uint64 index) private view returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            let left := add(ptr, 0x01)
            let right := add(ptr, 0x21)
            result := seed
            let p := proof.offset
            for { let end := add(p, shl(5, proof.length)) } lt(p, end) { p := add(p, 0x20) } {
                switch and(index, 1)
                case 0 {
                    mstore(left, result)
                    mstore(right, calldataload(p))
                }
                default {
                    mstore(left, calldataload(p))
                    mstore(right, result)
                }
                index := shr(1, index)
                if iszero(staticcall(gas(), 0x02, ptr, 0x41, 0x00, 0x20)) { revert(0, 0) }
                result := mload(0x00)
            }
        }
    }

    /// @dev Hashes `seed` up the right border of the tree: every proof hash is a left sibling.
    /// Each node's hash is written by the precompile where the next node's right child goes.
    function _chainBorderRight(bytes32 seed, bytes32[] calldata proof) private view returns (bytes32 result) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, 0x01)
            let left := add(ptr, 0x01)
            let right := add(ptr, 0x21)
            mstore(right, seed)
            let p := proof.offset
            for { let end := add(p, shl(5, proof.length)) } lt(p, end) { p := add(p, 0x20) } {
                mstore(left, calldataload(p))
                if iszero(staticcall(gas(), 0x02, ptr, 0x41, right, 0x20)) { revert(0, 0) }
            }
            result := mload(right)
        }
    }

    /// @dev Number of bits needed to write `x` (0 for 0), like Go's `bits.Len64` (a binary
    /// search, without loops).
    function _bitLength(uint64 x) private pure returns (uint256 n) {
        assembly {
            let v := x
            if gt(v, 0xffffffff) {
                v := shr(32, v)
                n := 32
            }
            if gt(v, 0xffff) {
                v := shr(16, v)
                n := add(n, 16)
            }
            if gt(v, 0xff) {
                v := shr(8, v)
                n := add(n, 8)
            }
            if gt(v, 0xf) {
                v := shr(4, v)
                n := add(n, 4)
            }
            if gt(v, 0x3) {
                v := shr(2, v)
                n := add(n, 2)
            }
            if gt(v, 0x1) {
                v := shr(1, v)
                n := add(n, 1)
            }
            n := add(n, v) // v is 0 or 1 here
        }
    }

    /// @dev Number of set bits of `x`, like Go's `bits.OnesCount64` (SWAR: bit pairs, nibbles,
    /// bytes, then the bytes summed into the top byte by one multiplication).
    function _popCount(uint64 x) private pure returns (uint256 n) {
        assembly {
            let v := sub(x, and(shr(1, x), 0x5555555555555555))
            v := add(and(v, 0x3333333333333333), and(shr(2, v), 0x3333333333333333))
            v := and(add(v, shr(4, v)), 0x0f0f0f0f0f0f0f0f)
            n := and(shr(56, mul(v, 0x0101010101010101)), 0xff)
        }
    }

    /// @dev Number of trailing zero bits of `x` (64 for 0), like Go's `bits.TrailingZeros64`:
    /// the bit length of the lowest set bit, less one.
    function _trailingZeros(uint64 x) private pure returns (uint256) {
        if (x == 0) return 64;
        uint64 lowest;
        assembly {
            lowest := and(x, sub(0, x))
        }
        return _bitLength(lowest) - 1;
    }
}
