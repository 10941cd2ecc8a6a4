// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

import {IDataPledgeRegistry} from "./IDataPledgeRegistry.sol";
import {IDataPledges} from "./IDataPledges.sol";
import {IFactoryDirectory} from "./IFactoryDirectory.sol";
import {MerkleProofs} from "./MerkleProofs.sol";

/**
 * @title DataPledgeRegistry
 * @notice Registers factory logs and anchors their signed checkpoints, verifying on chain that
 * each checkpoint extends the previous one (RFC 9162 consistency proof), and issues pledges of
 * anchored log ranges to approved lenders as ERC-721 tokens, and keeps a directory of who the
 * factories are. See {IDataPledgeRegistry}, {IDataPledges} and {IFactoryDirectory}.
 *
 * @dev Signatures are EIP-712 in the domain {name: "DataPledgeLedger", version: "1", chainId,
 * verifyingContract: this}, checked with OpenZeppelin's {SignatureChecker}, so a factory may be
 * an EOA or an ERC-1271 smart-contract wallet. The deployer holds `DEFAULT_ADMIN_ROLE`, which
 * grants and revokes `LENDER_ROLE` (the lender allowlist) and keeps the factory directory; the
 * anchoring functions need no role. Not upgradeable.
 *
 * Liens: the pledges of a log that may hold a lien are kept in a doubly linked list sorted by
 * range start, whose ranges never overlap. Issuing checks only the neighbours of the new
 * range (found off chain with {issueHint}), so its gas does not grow with the number of
 * pledges on the log; lapsed pledges met on the way are unlinked.
 */
contract DataPledgeRegistry is IDataPledgeRegistry, IDataPledges, IFactoryDirectory, ERC721, EIP712, AccessControl {
    /// @dev EIP-712 type hash of `RegisterLog(address factory,string stream)`.
    bytes32 private constant REGISTER_LOG_TYPEHASH = keccak256("RegisterLog(address factory,string stream)");

    /// @dev EIP-712 type hash of `Checkpoint(bytes32 logId,uint64 size,bytes32 root)`.
    bytes32 private constant CHECKPOINT_TYPEHASH = keccak256("Checkpoint(bytes32 logId,uint64 size,bytes32 root)");

    /// @dev A registered log: its owner, the size of its latest anchored checkpoint and the
    /// timestamp of the block that anchored it (one slot: 20 + 8 + 4 bytes; a uint32 of
    /// seconds lasts until 2106). Zero size and time: no checkpoint yet.
    struct Log {
        address factory;
        uint64 latestSize;
        uint32 latestAnchoredAt;
    }

    /// @inheritdoc IDataPledges
    bytes32 public constant LENDER_ROLE = keccak256("LENDER_ROLE");

    /// @dev EIP-712 type hash of `PledgeConsent`: the fields of {PledgeTerms}, then nonce and deadline.
    bytes32 private constant PLEDGE_CONSENT_TYPEHASH = keccak256(
        "PledgeConsent(bytes32 logId,uint64 start,uint64 end,uint64 checkpointSize,bytes32 assetDigest,"
        "uint256 principal,bytes3 currency,uint64 maturity,uint64 lienEnd,uint64 maxLienEnd,uint32 samples,"
        "bytes32 loanRefDigest,address lender,bytes32 covenantsDigest,uint256 nonce,uint256 deadline)"
    );

    /// @dev EIP-712 type hash of `PledgeExtension(uint256 tokenId,uint64 newLienEnd,uint256 nonce,uint256 deadline)`.
    bytes32 private constant PLEDGE_EXTENSION_TYPEHASH =
        keccak256("PledgeExtension(uint256 tokenId,uint64 newLienEnd,uint256 nonce,uint256 deadline)");

    /// @dev Longest directory name, in bytes.
    uint256 private constant MAX_NAME_LENGTH = 128;

    /// @dev A factory's directory listing.
    struct Listing {
        string name;
        bytes32 registrationDigest;
    }

    /// @dev A pledge's place in its log's lien list, its stored status and issue block (one slot).
    struct Lien {
        uint64 prev;
        uint64 next;
        uint64 issueBlock;
        PledgeStatus status;
        bool linked;
    }

    mapping(bytes32 logId => Log) private _logs;
    /// @dev The root anchored per (log, size), one slot per checkpoint. Zero means "not
    /// anchored": a root is a SHA-256 output (the empty tree's too), and {anchor} refuses zero.
    mapping(bytes32 logId => mapping(uint64 size => bytes32 root)) private _roots;

    mapping(uint256 tokenId => PledgeTerms) private _terms;
    mapping(uint256 tokenId => Lien) private _liens;
    mapping(bytes32 logId => uint64 tokenId) private _lienHead;
    mapping(address factory => mapping(uint256 nonce => bool)) private _nonceUsed;
    uint64 private _lastTokenId;

    mapping(address factory => Listing) private _listings;

    /// @dev Grants `DEFAULT_ADMIN_ROLE` to the deployer.
    constructor() EIP712("DataPledgeLedger", "1") ERC721("Data Pledge", "DPLG") {
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
            !_isSignedBy(factory, _registerLogDigest(factory, stream), factorySignature)
        ) {
            revert RegistryInvalidSignature(logId, factory);
        }
        // The whole slot in one SSTORE (no checkpoint yet: size and time zero), without reading
        // it back to mask the factory in as Solidity would.
        Log storage log = _logs[logId];
        assembly ("memory-safe") {
            sstore(log.slot, factory)
        }
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
        if (root == bytes32(0)) revert RegistryZeroRoot(logId);
        uint64 previousSize = log.latestSize;
        if (size <= previousSize) revert RegistryStaleCheckpoint(logId, size, previousSize);
        if (!_isSignedBy(factory, _checkpointDigest(logId, size, root), factorySignature)) {
            revert RegistryInvalidSignature(logId, factory);
        }
        if (previousSize == 0) {
            // A proof from the empty tree proves nothing; refuse one rather than ignore it.
            if (consistencyProof.length != 0) revert RegistryInconsistentCheckpoint(logId, 0, size);
        } else {
            bytes32 previousRoot = _roots[logId][previousSize];
            if (!MerkleProofs.verifyConsistency(previousSize, size, consistencyProof, previousRoot, root)) {
                revert RegistryInconsistentCheckpoint(logId, previousSize, size);
            }
        }
        // One SSTORE for the log's whole slot (factory unchanged; Solidity would write each
        // member of the packed struct, two extra warm SSTOREs), one new slot for the root.
        assembly ("memory-safe") {
            sstore(log.slot, or(factory, or(shl(160, size), shl(224, and(timestamp(), 0xffffffff)))))
        }
        _roots[logId][size] = root;
        emit CheckpointAnchored(logId, size, root, previousSize);
    }

    /// @inheritdoc IDataPledges
    function issue(
        PledgeTerms calldata terms,
        uint256 nonce,
        uint256 deadline,
        bytes calldata factorySignature,
        uint256 hint
    ) external returns (uint256 tokenId) {
        if (block.timestamp > deadline) revert PledgeConsentExpired(deadline);
        if (msg.sender != terms.lender) revert PledgeWrongLender(msg.sender, terms.lender);
        if (!hasRole(LENDER_ROLE, msg.sender)) revert PledgeLenderNotApproved(msg.sender);
        address factory = _logs[terms.logId].factory;
        if (factory == address(0)) revert RegistryUnknownLog(terms.logId);
        if (_nonceUsed[factory][nonce]) revert PledgeConsentReplayed(factory, nonce);
        if (
            !_isSignedBy(
                factory, _pledgeConsentDigest(terms, nonce, deadline), factorySignature
            )
        ) {
            revert PledgeInvalidSignature(factory);
        }
        _checkTerms(terms);
        _nonceUsed[factory][nonce] = true;

        tokenId = ++_lastTokenId;
        _terms[tokenId] = terms;
        _link(terms.logId, uint64(tokenId), terms.start, terms.end, hint);
        Lien storage lien = _liens[tokenId];
        lien.issueBlock = uint64(block.number);
        lien.status = PledgeStatus.Live;
        _mint(msg.sender, tokenId);
        emit PledgeIssued(tokenId, terms.logId, msg.sender, factory, terms, nonce);
    }

    /// @inheritdoc IDataPledges
    function release(uint256 tokenId) external {
        _requireHolder(tokenId);
        Lien storage lien = _liens[tokenId];
        if (lien.linked) _unlink(_terms[tokenId].logId, uint64(tokenId));
        lien.status = PledgeStatus.Released;
        _burn(tokenId);
        emit PledgeReleased(tokenId, msg.sender);
    }

    /// @inheritdoc IDataPledges
    function declareDefault(uint256 tokenId) external {
        _requireHolder(tokenId);
        PledgeStatus status = _status(tokenId);
        if (status != PledgeStatus.Live) revert PledgeWrongStatus(tokenId, status);
        uint64 maturity = _terms[tokenId].maturity;
        if (block.timestamp < maturity) revert PledgeNotMatured(tokenId, maturity);
        _liens[tokenId].status = PledgeStatus.Defaulted;
        emit PledgeDefaulted(tokenId, msg.sender);
    }

    /// @inheritdoc IDataPledges
    function extend(uint256 tokenId, uint64 newLienEnd) external {
        PledgeTerms storage terms = _extendable(tokenId, newLienEnd);
        uint64 maxLienEnd = terms.maxLienEnd;
        if (newLienEnd > maxLienEnd) revert PledgeExtensionNotConsented(tokenId, maxLienEnd, newLienEnd);
        _setLienEnd(tokenId, terms, newLienEnd);
    }

    /// @inheritdoc IDataPledges
    function extendWithConsent(
        uint256 tokenId,
        uint64 newLienEnd,
        uint256 nonce,
        uint256 deadline,
        bytes calldata factorySignature
    ) external {
        if (block.timestamp > deadline) revert PledgeConsentExpired(deadline);
        PledgeTerms storage terms = _extendable(tokenId, newLienEnd);
        address factory = _logs[terms.logId].factory;
        if (_nonceUsed[factory][nonce]) revert PledgeConsentReplayed(factory, nonce);
        if (
            !_isSignedBy(
                factory, _pledgeExtensionDigest(tokenId, newLienEnd, nonce, deadline), factorySignature
            )
        ) {
            revert PledgeInvalidSignature(factory);
        }
        _nonceUsed[factory][nonce] = true;
        if (newLienEnd > terms.maxLienEnd) terms.maxLienEnd = newLienEnd;
        _setLienEnd(tokenId, terms, newLienEnd);
    }

    /// @notice ERC-721 approvals are disabled: pledges move only by their holders ({PledgeApprovalsDisabled}).
    function approve(address, uint256) public pure override {
        revert PledgeApprovalsDisabled();
    }

    /// @notice ERC-721 approvals are disabled: pledges move only by their holders ({PledgeApprovalsDisabled}).
    function setApprovalForAll(address, bool) public pure override {
        revert PledgeApprovalsDisabled();
    }

    /// @inheritdoc IFactoryDirectory
    function listFactory(address factory, string calldata name, bytes32 registrationDigest)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        uint256 length = bytes(name).length;
        if (factory == address(0) || length == 0 || length > MAX_NAME_LENGTH || registrationDigest == bytes32(0)) {
            revert DirectoryInvalidListing(factory, length, registrationDigest);
        }
        _listings[factory] = Listing({name: name, registrationDigest: registrationDigest});
        emit FactoryListed(factory, name, registrationDigest);
    }

    /// @inheritdoc IFactoryDirectory
    function delistFactory(address factory) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (bytes(_listings[factory].name).length == 0) revert DirectoryNotListed(factory);
        delete _listings[factory];
        emit FactoryDelisted(factory);
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
        Log storage log = _logs[logId];
        size = log.latestSize;
        return (size, _roots[logId][size], log.latestAnchoredAt);
    }

    /// @inheritdoc IDataPledgeRegistry
    function rootAt(bytes32 logId, uint64 size) external view returns (bytes32) {
        return _roots[logId][size];
    }

    /// @inheritdoc IDataPledgeRegistry
    function verifyInclusion(
        bytes32 logId,
        uint64 size,
        uint64 index,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _roots[logId][size];
        if (root == bytes32(0)) return false; // not anchored ({anchor} refuses a zero root)
        return MerkleProofs.verifyInclusion(index, size, leafHash, proof, root);
    }

    /// @inheritdoc IDataPledgeRegistry
    function checkpointDigest(bytes32 logId, uint64 size, bytes32 root) external view returns (bytes32) {
        return _checkpointDigest(logId, size, root);
    }

    /// @inheritdoc IDataPledgeRegistry
    function registerLogDigest(address factory, string calldata stream) external view returns (bytes32) {
        return _registerLogDigest(factory, stream);
    }

    /// @inheritdoc IDataPledges
    function pledge(uint256 tokenId)
        external
        view
        returns (PledgeTerms memory terms, PledgeStatus status, address factory, uint64 issueBlock)
    {
        terms = _terms[tokenId];
        return (terms, _status(tokenId), _logs[terms.logId].factory, _liens[tokenId].issueBlock);
    }

    /// @inheritdoc IDataPledges
    function pledgeStatus(uint256 tokenId) external view returns (PledgeStatus) {
        return _status(tokenId);
    }

    /// @inheritdoc IDataPledges
    function liensOf(bytes32 logId) external view returns (uint256[] memory tokenIds) {
        uint256 count;
        for (uint64 id = _lienHead[logId]; id != 0; id = _liens[id].next) {
            if (_holdsLien(id)) ++count;
        }
        tokenIds = new uint256[](count);
        count = 0;
        for (uint64 id = _lienHead[logId]; id != 0; id = _liens[id].next) {
            if (_holdsLien(id)) tokenIds[count++] = id;
        }
    }

    /// @inheritdoc IDataPledges
    function issueHint(bytes32 logId, uint64 start) external view returns (uint256) {
        uint64 previous;
        for (uint64 id = _lienHead[logId]; id != 0 && _terms[id].end <= start; id = _liens[id].next) {
            previous = id;
        }
        return previous;
    }

    /// @inheritdoc IDataPledges
    function consentNonceUsed(address factory, uint256 nonce) external view returns (bool) {
        return _nonceUsed[factory][nonce];
    }

    /// @inheritdoc IDataPledges
    function pledgeConsentDigest(PledgeTerms calldata terms, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _pledgeConsentDigest(terms, nonce, deadline);
    }

    /// @inheritdoc IDataPledges
    function pledgeExtensionDigest(uint256 tokenId, uint64 newLienEnd, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32)
    {
        return _pledgeExtensionDigest(tokenId, newLienEnd, nonce, deadline);
    }

    /// @inheritdoc IFactoryDirectory
    function factoryListing(address factory) external view returns (string memory name, bytes32 registrationDigest) {
        Listing storage listing = _listings[factory];
        return (listing.name, listing.registrationDigest);
    }

    /// @notice ERC-165: the registry, pledge, directory, ERC-721 and AccessControl interfaces.
    function supportsInterface(bytes4 interfaceId) public view virtual override(ERC721, AccessControl) returns (bool) {
        return
            interfaceId == type(IDataPledgeRegistry).interfaceId ||
            interfaceId == type(IDataPledges).interfaceId ||
            interfaceId == type(IFactoryDirectory).interfaceId ||
            super.supportsInterface(interfaceId);
    }

    // --------------------------------------------------------------- internals

    /**
     * @dev Whether `signature` is `signer`'s signature of `digest`: an ECDSA signature that
     * recovers to `signer`, or else, if `signer` has code, an ERC-1271 wallet's approval. The
     * same verdicts as OpenZeppelin's `SignatureChecker.isValidSignatureNowCalldata` for EOAs
     * and contract wallets, in the other order (as OpenZeppelin 4 did): an EOA's signature then
     * costs no EXTCODESIZE of a cold account (2,600 gas). A contract's address is not derived
     * from a key, so no ECDSA signature recovers to it; an EIP-7702 account's own key is
     * accepted, as it is by the chain itself.
     */
    function _isSignedBy(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }

    function _logIdOf(address factory, string calldata stream) private pure returns (bytes32) {
        return keccak256(abi.encode(factory, stream));
    }

    function _checkpointDigest(bytes32 logId, uint64 size, bytes32 root) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(CHECKPOINT_TYPEHASH, logId, size, root)));
    }

    function _registerLogDigest(address factory, string calldata stream) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(REGISTER_LOG_TYPEHASH, factory, keccak256(bytes(stream)))));
    }

    function _pledgeConsentDigest(PledgeTerms calldata terms, uint256 nonce, uint256 deadline)
        private
        view
        returns (bytes32)
    {
        // Every member of PledgeTerms is static, so abi.encode lays the struct out inline:
        // the same words as encoding its fields one by one (EIP-712 encodeData).
        return _hashTypedDataV4(keccak256(abi.encode(PLEDGE_CONSENT_TYPEHASH, terms, nonce, deadline)));
    }

    function _pledgeExtensionDigest(uint256 tokenId, uint64 newLienEnd, uint256 nonce, uint256 deadline)
        private
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(PLEDGE_EXTENSION_TYPEHASH, tokenId, newLienEnd, nonce, deadline)));
    }

    /// @dev The terms of live pledge `tokenId`, which the caller holds and whose lien end may move to `newLienEnd`.
    function _extendable(uint256 tokenId, uint64 newLienEnd) private view returns (PledgeTerms storage terms) {
        _requireHolder(tokenId);
        PledgeStatus status = _status(tokenId);
        if (status != PledgeStatus.Live) revert PledgeWrongStatus(tokenId, status);
        terms = _terms[tokenId];
        uint64 lienEnd = terms.lienEnd;
        if (newLienEnd <= lienEnd) revert PledgeInvalidLienEnd(lienEnd, newLienEnd);
    }

    function _setLienEnd(uint256 tokenId, PledgeTerms storage terms, uint64 newLienEnd) private {
        uint64 lienEnd = terms.lienEnd;
        terms.lienEnd = newLienEnd;
        emit PledgeExtended(tokenId, lienEnd, newLienEnd);
    }

    function _checkTerms(PledgeTerms calldata terms) private view {
        if (terms.start >= terms.end || terms.end > terms.checkpointSize) {
            revert PledgeInvalidRange(terms.start, terms.end, terms.checkpointSize);
        }
        if (_roots[terms.logId][terms.checkpointSize] == bytes32(0)) {
            revert PledgeCheckpointNotAnchored(terms.logId, terms.checkpointSize);
        }
        if (terms.lienEnd <= block.timestamp) revert PledgeInvalidTerms("lienEnd has passed");
        if (terms.maturity >= terms.lienEnd) revert PledgeInvalidTerms("maturity must be before lienEnd");
        if (terms.maxLienEnd < terms.lienEnd) revert PledgeInvalidTerms("maxLienEnd must not be before lienEnd");
        if (terms.samples == 0) revert PledgeInvalidTerms("samples must be at least 1");
        if (terms.principal == 0) revert PledgeInvalidTerms("principal must be positive");
        if (terms.assetDigest == bytes32(0)) revert PledgeInvalidTerms("assetDigest is zero");
        for (uint256 i = 0; i < 3; ++i) {
            bytes1 c = terms.currency[i];
            if (c < "A" || c > "Z") revert PledgeInvalidTerms("currency must be three capital letters");
        }
    }

    /// @dev The stored status, with a live pledge past its lien end read as lapsed.
    function _status(uint256 tokenId) private view returns (PledgeStatus) {
        PledgeStatus status = _liens[tokenId].status;
        if (status == PledgeStatus.Live && block.timestamp >= _terms[tokenId].lienEnd) return PledgeStatus.Lapsed;
        return status;
    }

    function _holdsLien(uint256 tokenId) private view returns (bool) {
        PledgeStatus status = _status(tokenId);
        return status == PledgeStatus.Live || status == PledgeStatus.Defaulted;
    }

    function _requireHolder(uint256 tokenId) private view {
        address holder = _ownerOf(tokenId);
        if (holder == address(0)) {
            if (_liens[tokenId].status == PledgeStatus.None) revert PledgeUnknown(tokenId);
            revert PledgeWrongStatus(tokenId, _liens[tokenId].status);
        }
        if (holder != msg.sender) revert PledgeNotHolder(tokenId, msg.sender);
    }

    /// @dev Inserts pledge `id` over `[start, end)` into the lien list of `logId` after `hint`.
    /// Entries from the hint on that end at or before `start` are stepped over (a stale hint
    /// costs gas, not safety); entries overlapping the range must not hold a lien, and are
    /// unlinked (they lapsed).
    function _link(bytes32 logId, uint64 id, uint64 start, uint64 end, uint256 hint) private {
        uint64 previous;
        uint64 next;
        if (hint == 0) {
            next = _lienHead[logId];
        } else {
            if (hint > type(uint64).max) revert PledgeInvalidHint(hint);
            previous = uint64(hint);
            Lien storage before = _liens[previous];
            PledgeTerms storage beforeTerms = _terms[previous];
            if (!before.linked || beforeTerms.logId != logId || beforeTerms.end > start) revert PledgeInvalidHint(hint);
            next = before.next;
        }
        while (next != 0) {
            PledgeTerms storage nextTerms = _terms[next];
            if (nextTerms.start >= end) break;
            uint64 following = _liens[next].next;
            if (nextTerms.end <= start) {
                previous = next;
            } else {
                if (_holdsLien(next)) revert PledgeRangeOverlaps(next);
                _unlink(logId, next);
            }
            next = following;
        }
        Lien storage lien = _liens[id];
        lien.prev = previous;
        lien.next = next;
        lien.linked = true;
        if (previous == 0) _lienHead[logId] = id;
        else _liens[previous].next = id;
        if (next != 0) _liens[next].prev = id;
    }

    function _unlink(bytes32 logId, uint64 id) private {
        Lien storage lien = _liens[id];
        uint64 previous = lien.prev;
        uint64 next = lien.next;
        if (previous == 0) _lienHead[logId] = next;
        else _liens[previous].next = next;
        if (next != 0) _liens[next].prev = previous;
        lien.prev = 0;
        lien.next = 0;
        lien.linked = false;
    }

    /// @dev Pledges move only between approved lenders (minting and burning are not transfers).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address from) {
        from = super._update(to, tokenId, auth);
        if (from != address(0) && to != address(0)) {
            if (!hasRole(LENDER_ROLE, to)) revert PledgeLenderNotApproved(to);
            emit PledgeTransferred(tokenId, from, to);
        }
    }
}
