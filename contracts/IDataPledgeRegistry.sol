// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDataPledgeRegistry
 * @notice The registry of factory logs and their anchored checkpoints.
 *
 * A *log* is one stream of production records of one factory, identified by
 * `logId = keccak256(abi.encode(factory, stream))`. Its records are the leaves of an RFC 9162
 * Merkle tree; a *checkpoint* `(size, root)` is that tree's root after `size` records, signed
 * by the factory (EIP-712, domain "DataPledgeLedger" version "1"). Anchoring a checkpoint
 * stores its root (one storage slot per checkpoint), after checking on chain that it extends the
 * log's previous checkpoint (an RFC 9162 consistency proof), so a log's history can only grow.
 * Only the latest checkpoint keeps the timestamp of the block that anchored it; an earlier
 * checkpoint's time is that of the block holding its {CheckpointAnchored} event.
 */
interface IDataPledgeRegistry {
    // ------------------------------------------------------------------ events

    /// @notice The log `logId` of `factory` for `stream` was registered.
    event LogRegistered(bytes32 indexed logId, address indexed factory, string stream);

    /// @notice The checkpoint (`size`, `root`) of log `logId` was anchored; it extends the
    /// checkpoint of size `previousSize` (0 for the log's first checkpoint).
    event CheckpointAnchored(bytes32 indexed logId, uint64 size, bytes32 root, uint64 previousSize);

    // ------------------------------------------------------------------ errors

    /// @dev No log `logId` is registered.
    error RegistryUnknownLog(bytes32 logId);

    /// @dev The log `logId` is registered already.
    error RegistryLogAlreadyRegistered(bytes32 logId);

    /// @dev `factory` cannot own a log (the zero address).
    error RegistryInvalidFactory(address factory);

    /// @dev The signature is not `factory`'s (EOA or ERC-1271 wallet) for this message of log `logId`.
    error RegistryInvalidSignature(bytes32 logId, address factory);

    /// @dev A checkpoint of `size` is not newer than the latest anchored one (`latestSize`):
    /// a replay or a stale checkpoint.
    error RegistryStaleCheckpoint(bytes32 logId, uint64 size, uint64 latestSize);

    /// @dev The consistency proof does not show that the checkpoint of `size` extends the one of
    /// `previousSize`; `previousSize` is 0 when the log has no checkpoint and a proof was given.
    error RegistryInconsistentCheckpoint(bytes32 logId, uint64 previousSize, uint64 size);

    /// @dev A checkpoint of size 0 (the empty log) cannot be anchored.
    error RegistryEmptyCheckpoint(bytes32 logId);

    /// @dev A checkpoint whose root is zero cannot be anchored: zero marks "not anchored" in
    /// {rootAt}. (An RFC 9162 root is a SHA-256 output; no tree has the root zero.)
    error RegistryZeroRoot(bytes32 logId);

    // --------------------------------------------------------------- functions

    /**
     * @notice The id of the log of `factory` for `stream`: `keccak256(abi.encode(factory, stream))`.
     */
    function logIdOf(address factory, string calldata stream) external pure returns (bytes32);

    /**
     * @notice Registers the log of `factory` for `stream` and returns its id.
     * @dev Called by the factory itself, `factorySignature` is not checked (it may be empty).
     * Called by anyone else (a relayer paying the gas), it must be the factory's EIP-712
     * signature of `RegisterLog(address factory,string stream)`; an ERC-1271 wallet may sign.
     *
     * Reverts with {RegistryInvalidFactory} for the zero address, {RegistryLogAlreadyRegistered}
     * if the log exists, {RegistryInvalidSignature} for a bad relayed signature.
     * Emits {LogRegistered}.
     */
    function registerLog(
        address factory,
        string calldata stream,
        bytes calldata factorySignature
    ) external returns (bytes32 logId);

    /**
     * @notice Anchors the checkpoint (`size`, `root`) of log `logId`. Anyone may call it; the
     * checkpoint must carry the factory's signature.
     * @dev `factorySignature` is the factory's EIP-712 signature of
     * `Checkpoint(bytes32 logId,uint64 size,bytes32 root)`. `consistencyProof` is the RFC 9162
     * consistency proof from the latest anchored checkpoint to this one; it must be empty for
     * the log's first checkpoint.
     *
     * Reverts with {RegistryUnknownLog}, {RegistryEmptyCheckpoint} (size 0), {RegistryZeroRoot},
     * {RegistryStaleCheckpoint} (size not larger than the latest), {RegistryInvalidSignature},
     * {RegistryInconsistentCheckpoint}. Emits {CheckpointAnchored}.
     */
    function anchor(
        bytes32 logId,
        uint64 size,
        bytes32 root,
        bytes32[] calldata consistencyProof,
        bytes calldata factorySignature
    ) external;

    /// @notice The factory that owns log `logId`, or the zero address if no such log exists.
    function factoryOf(bytes32 logId) external view returns (address);

    /**
     * @notice The latest anchored checkpoint of log `logId` and the block timestamp it was
     * anchored at; all zero if the log has none (or does not exist).
     */
    function latestCheckpoint(bytes32 logId) external view returns (uint64 size, bytes32 root, uint64 anchoredAt);

    /**
     * @notice The root anchored for log `logId` at `size`; zero if no checkpoint of that size
     * was anchored. When it was anchored is the timestamp of the block holding its
     * {CheckpointAnchored} event (the registry keeps it only for the latest checkpoint).
     */
    function rootAt(bytes32 logId, uint64 size) external view returns (bytes32);

    /**
     * @notice Whether `leafHash` is the leaf at `index` of log `logId`, by the RFC 9162 inclusion
     * proof `proof` against the root anchored at `size`. False if no checkpoint of that size was
     * anchored, or if the proof is malformed or wrong.
     */
    function verifyInclusion(
        bytes32 logId,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /**
     * @notice The EIP-712 digest the factory signs to approve the checkpoint (`size`, `root`)
     * of log `logId`: the hash of `Checkpoint(bytes32 logId,uint64 size,bytes32 root)` in this
     * registry's domain.
     */
    function checkpointDigest(bytes32 logId, uint64 size, bytes32 root) external view returns (bytes32);

    /**
     * @notice The EIP-712 digest `factory` signs to let a relayer register its log for `stream`:
     * the hash of `RegisterLog(address factory,string stream)` in this registry's domain.
     */
    function registerLogDigest(address factory, string calldata stream) external view returns (bytes32);
}
