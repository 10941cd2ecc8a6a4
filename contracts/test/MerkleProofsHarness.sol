// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MerkleProofs} from "../MerkleProofs.sol";

/**
 * @title MerkleProofsHarness
 * @notice Test-only: exposes the internal {MerkleProofs} library as external functions.
 * Not deployed by the service.
 */
contract MerkleProofsHarness {
    /// @notice See {MerkleProofs-verifyInclusion}.
    function verifyInclusion(
        uint64 index,
        uint64 size,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) external view returns (bool) {
        return MerkleProofs.verifyInclusion(index, size, leafHash, proof, root);
    }

    /// @notice See {MerkleProofs-rootFromInclusionProof}.
    function rootFromInclusionProof(
        uint64 index,
        uint64 size,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bytes32) {
        return MerkleProofs.rootFromInclusionProof(index, size, leafHash, proof);
    }

    /// @notice See {MerkleProofs-verifyConsistency}.
    function verifyConsistency(
        uint64 size1,
        uint64 size2,
        bytes32[] calldata proof,
        bytes32 root1,
        bytes32 root2
    ) external view returns (bool) {
        return MerkleProofs.verifyConsistency(size1, size2, proof, root1, root2);
    }

    /// @notice See {MerkleProofs-rootFromConsistencyProof}.
    function rootFromConsistencyProof(
        uint64 size1,
        uint64 size2,
        bytes32[] calldata proof,
        bytes32 root1
    ) external view returns (bytes32) {
        return MerkleProofs.rootFromConsistencyProof(size1, size2, proof, root1);
    }

    /// @notice See {MerkleProofs-hashLeaf}.
    function hashLeaf(bytes calldata data) external pure returns (bytes32) {
        return MerkleProofs.hashLeaf(data);
    }

    /// @notice See {MerkleProofs-hashChildren}.
    function hashChildren(bytes32 left, bytes32 right) external view returns (bytes32) {
        return MerkleProofs.hashChildren(left, right);
    }
}
