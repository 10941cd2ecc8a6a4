// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IDataPledgeRegistry} from "./IDataPledgeRegistry.sol";
import {MerkleProofs} from "./MerkleProofs.sol";

/**
 * @title DataPledgeRegistry
 * @notice Registers factory logs and anchors their signed checkpoints, verifying on chain that
 * each checkpoint extends the previous one (RFC 9162 consistency proof). See
 * {IDataPledgeRegistry}.
 *
 * @dev Signatures are EIP-712 in the domain {name: "DataPledgeLedger", version: "1", chainId,
 * verifyingContract: this}, checked with OpenZeppelin's {SignatureChecker}, so a factory may be
 * an EOA or an ERC-1271 smart-contract wallet. The deployer holds `DEFAULT_ADMIN_ROLE`; the
 * anchoring functions need no role. Not upgradeable.
 */
contract DataPledgeRegistry is IDataPledgeRegistry, EIP712, AccessControl {
    /// @dev EIP-712 type hash of `RegisterLog(address factory,string stream)`.
    bytes32 private constant REGISTER_LOG_TYPEHASH = keccak256("RegisterLog(address factory,string stream)");

    /// @dev EIP-712 type hash of `Checkpoint(bytes32 logId,uint64 size,bytes32 root)`.
    bytes32 private constant CHECKPOINT_TYPEHASH = keccak256("Checkpoint(bytes32 logId,uint64 size,bytes32 root)");

    /// @dev A registered log: its owner and the size of its latest anchored checkpoint (one slot).
    struct Log {
        address factory;
        uint64 latestSize;
    }

    /// @dev An anchored checkpoint's root and the timestamp of the block that anchored it.
    struct Checkpoint {
        bytes32 root;
        uint64 anchoredAt;
    }

    mapping(bytes32 logId => Log) private _logs;
    mapping(bytes32 logId => mapping(uint64 size => Checkpoint)) private _checkpoints;

    /// @dev Grants `DEFAULT_ADMIN_ROLE` to the deployer.
    constructor() EIP712("DataPledgeLedger", "1") {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
    }

    // ----------------------------------------------------------------- actions

    /// @inheritdoc IDataPledgeRegistry
    function registerLog(
        address factory,
        string calldata stream,
        bytes calldata factorySignature
    ) external returns (bytes32 logId) {
        if (factory == address(0)) revert RegistryInvalidFactory(factory);
        logId = _logIdOf(factory, stream);
        if (_logs[logId].factory != address(0)) revert RegistryLogAlreadyRegistered(logId);
        if (
            msg.sender != factory &&
            !SignatureChecker.isValidSignatureNowCalldata(factory, _registerLogDigest(factory, stream), factorySignature)
        ) {
            revert RegistryInvalidSignature(logId, factory);
        }
        _logs[logId].factory = factory;
        emit LogRegistered(logId, factory, stream);
    }

    /// @inheritdoc IDataPledgeRegistry
    function anchor(
        bytes32 logId,
        uint64 size,
        bytes32 root,
        bytes32[] calldata consistencyProof,
        bytes calldata factorySignature
    ) external {
        Log storage log = _logs[logId];
        address factory = log.factory;
        if (factory == address(0)) revert RegistryUnknownLog(logId);
        if (size == 0) revert RegistryEmptyCheckpoint(logId);
        uint64 previousSize = log.latestSize;
        if (size <= previousSize) revert RegistryStaleCheckpoint(logId, size, previousSize);
        if (!SignatureChecker.isValidSignatureNowCalldata(factory, _checkpointDigest(logId, size, root), factorySignature)) {
            revert RegistryInvalidSignature(logId, factory);
        }
        if (previousSize == 0) {
            // A proof from the empty tree proves nothing; refuse one rather than ignore it.
            if (consistencyProof.length != 0) revert RegistryInconsistentCheckpoint(logId, 0, size);
        } else {
            bytes32 previousRoot = _checkpoints[logId][previousSize].root;
            if (!MerkleProofs.verifyConsistency(previousSize, size, consistencyProof, previousRoot, root)) {
                revert RegistryInconsistentCheckpoint(logId, previousSize, size);
            }
        }
        log.latestSize = size;
        _checkpoints[logId][size] = Checkpoint({root: root, anchoredAt: uint64(block.timestamp)});
        emit CheckpointAnchored(logId, size, root, previousSize);
    }

    // ------------------------------------------------------------------- views

    /// @inheritdoc IDataPledgeRegistry
    function logIdOf(address factory, string calldata stream) external pure returns (bytes32) {
        return _logIdOf(factory, stream);
    }

    /// @inheritdoc IDataPledgeRegistry
    function factoryOf(bytes32 logId) external view returns (address) {
        return _logs[logId].factory;
    }

    /// @inheritdoc IDataPledgeRegistry
    function latestCheckpoint(bytes32 logId) external view returns (uint64 size, bytes32 root, uint64 anchoredAt) {
        size = _logs[logId].latestSize;
        Checkpoint storage checkpoint = _checkpoints[logId][size];
        return (size, checkpoint.root, checkpoint.anchoredAt);
    }

    /// @inheritdoc IDataPledgeRegistry
    function rootAt(bytes32 logId, uint64 size) external view returns (bytes32 root, uint64 anchoredAt) {
        Checkpoint storage checkpoint = _checkpoints[logId][size];
        return (checkpoint.root, checkpoint.anchoredAt);
    }

    /// @inheritdoc IDataPledgeRegistry
    function verifyInclusion(
        bytes32 logId,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        Checkpoint storage checkpoint = _checkpoints[logId][size];
        // anchoredAt, not root, says whether a checkpoint exists: a root may be any value.
        if (checkpoint.anchoredAt == 0) return false;
        return MerkleProofs.verifyInclusion(index, size, leafHash, proof, checkpoint.root);
    }

    /// @inheritdoc IDataPledgeRegistry
    function checkpointDigest(bytes32 logId, uint64 size, bytes32 root) external view returns (bytes32) {
        return _checkpointDigest(logId, size, root);
    }

    /// @inheritdoc IDataPledgeRegistry
    function registerLogDigest(address factory, string calldata stream) external view returns (bytes32) {
        return _registerLogDigest(factory, stream);
    }

    /// @inheritdoc AccessControl
    function supportsInterface(bytes4 interfaceId) public view virtual override returns (bool) {
        return interfaceId == type(IDataPledgeRegistry).interfaceId || super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------- internals

    function _logIdOf(address factory, string calldata stream) private pure returns (bytes32) {
        return keccak256(abi.encode(factory, stream));
    }

    function _checkpointDigest(bytes32 logId, uint64 size, bytes32 root) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CHECKPOINT_TYPEHASH, logId, size, root)));
    }

    function _registerLogDigest(address factory, string calldata stream) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(REGISTER_LOG_TYPEHASH, factory, keccak256(bytes(stream)))));
    }
}
