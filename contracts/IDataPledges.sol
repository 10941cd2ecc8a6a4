// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IDataPledges
 * @notice Pledges of data assets as loan collateral: ERC-721 tokens held by lenders.
 *
 * A *data asset* is a range `[start, end)` of one registered log, committed by an anchored
 * checkpoint of size `checkpointSize >= end` and described by a manifest whose SHA-256 is
 * `assetDigest`. The log's factory consents to pledging it to one lender on given terms
 * (EIP-712 `PledgeConsent`); that lender issues the pledge and holds the token.
 *
 * While a pledge holds a *lien* on its range, no overlapping range of the same log can be
 * pledged. A pledge holds a lien while it is live and its lien end date has not passed, and
 * after it is defaulted (until the holder releases it). A live pledge whose lien end date
 * has passed has *lapsed*: it no longer blocks the range, so no lender can lock a factory's
 * data forever. The holder may move the lien end later on its own only up to `maxLienEnd`,
 * which the factory signed with the terms; beyond it, only with the factory's signature of a
 * `PledgeExtension`.
 *
 * Pledges move only between approved lenders, by their holders: ERC-721 approvals (`approve`,
 * `setApprovalForAll`) are disabled, so no operator can move a pledge.
 */
interface IDataPledges {
    /// @notice The terms of a pledge, as the factory signs them.
    /// @param logId the log the range belongs to
    /// @param start first record index of the range (inclusive)
    /// @param end end of the range (exclusive)
    /// @param checkpointSize the size of the anchored checkpoint that commits the range
    /// @param assetDigest SHA-256 of the asset manifest (RFC 8785 canonical JSON)
    /// @param principal the loan principal in minor units of `currency`
    /// @param currency ISO 4217 alphabetic code, ASCII (e.g. "CNY")
    /// @param maturity loan maturity, unix seconds: default may be declared from then on
    /// @param lienEnd the lien ends (the pledge lapses) at this time, unix seconds
    /// @param maxLienEnd the latest lien end the holder may extend to without asking the factory
    /// @param samples how many records a collateral check samples (k)
    /// @param loanRefDigest SHA-256 of the lender's loan reference text
    /// @param lender the approved lender who may issue the pledge and will hold it
    /// @param covenantsDigest SHA-256 of the `dpl-covenants/1` set agreed with the loan (RFC 8785
    /// canonical JSON); zero: no covenants
    struct PledgeTerms {
        bytes32 logId;
        uint64 start;
        uint64 end;
        uint64 checkpointSize;
        bytes32 assetDigest;
        uint256 principal;
        bytes3 currency;
        uint64 maturity;
        uint64 lienEnd;
        uint64 maxLienEnd;
        uint32 samples;
        bytes32 loanRefDigest;
        address lender;
        bytes32 covenantsDigest;
    }

    /// @notice A pledge's state. `Lapsed` is never stored: a `Live` pledge past its lien end reads as `Lapsed`.
    enum PledgeStatus {
        None,
        Live,
        Released,
        Defaulted,
        Lapsed
    }

    // ------------------------------------------------------------------ events

    /// @notice Pledge `tokenId` over `[start, end)` of log `logId` was issued to `lender`
    /// with the consent of `factory`, at `issueBlock` (its hash seeds the collateral sample).
    event PledgeIssued(
        uint256 indexed tokenId,
        bytes32 indexed logId,
        address indexed lender,
        address factory,
        PledgeTerms terms,
        uint256 nonce
    );

    /// @notice Pledge `tokenId` moved from lender `from` to lender `to`.
    event PledgeTransferred(uint256 indexed tokenId, address indexed from, address indexed to);

    /// @notice Pledge `tokenId` was released by its holder: the lien is lifted and the token burned.
    event PledgeReleased(uint256 indexed tokenId, address indexed holder);

    /// @notice The holder of pledge `tokenId` declared the loan in default; the lien stays.
    event PledgeDefaulted(uint256 indexed tokenId, address indexed holder);

    /// @notice The holder of pledge `tokenId` moved its lien end from `oldLienEnd` to `newLienEnd`.
    event PledgeExtended(uint256 indexed tokenId, uint64 oldLienEnd, uint64 newLienEnd);

    // ------------------------------------------------------------------ errors

    /// @dev The consent's deadline (`deadline`) has passed.
    error PledgeConsentExpired(uint256 deadline);

    /// @dev `factory` has already used consent nonce `nonce` (a replay).
    error PledgeConsentReplayed(address factory, uint256 nonce);

    /// @dev The signature is not the consent of `factory`, the owner of the log.
    error PledgeInvalidSignature(address factory);

    /// @dev `account` is not an approved lender.
    error PledgeLenderNotApproved(address account);

    /// @dev The caller is not the lender the consent names (`lender`).
    error PledgeWrongLender(address caller, address lender);

    /// @dev No checkpoint of `size` is anchored for log `logId`.
    error PledgeCheckpointNotAnchored(bytes32 logId, uint64 size);

    /// @dev The range `[start, end)` is empty or not inside the checkpoint of `size`.
    error PledgeInvalidRange(uint64 start, uint64 end, uint64 size);

    /// @dev The terms are not acceptable: `reason` names the field.
    error PledgeInvalidTerms(string reason);

    /// @dev The range overlaps pledge `tokenId`, which holds a lien on that log.
    error PledgeRangeOverlaps(uint256 tokenId);

    /// @dev `hint` is not a pledge of this log that ends at or before the new range's start.
    error PledgeInvalidHint(uint256 hint);

    /// @dev No pledge `tokenId` exists.
    error PledgeUnknown(uint256 tokenId);

    /// @dev `caller` does not hold pledge `tokenId`.
    error PledgeNotHolder(uint256 tokenId, address caller);

    /// @dev Pledge `tokenId` is `status`, which does not allow this action.
    error PledgeWrongStatus(uint256 tokenId, PledgeStatus status);

    /// @dev Default cannot be declared before maturity (`maturity`).
    error PledgeNotMatured(uint256 tokenId, uint64 maturity);

    /// @dev The new lien end `newLienEnd` is not after the current one (`lienEnd`).
    error PledgeInvalidLienEnd(uint64 lienEnd, uint64 newLienEnd);

    /// @dev `newLienEnd` is past `maxLienEnd`, the latest the factory agreed to for pledge
    /// `tokenId`: extending further needs the factory's signature ({extendWithConsent}).
    error PledgeExtensionNotConsented(uint256 tokenId, uint64 maxLienEnd, uint64 newLienEnd);

    /// @dev ERC-721 approvals are disabled: a pledge moves only by its holder, to an approved lender.
    error PledgeApprovalsDisabled();

    // --------------------------------------------------------------- functions

    /**
     * @notice Issues a pledge on `terms`, consented to by the log's factory; the caller (the
     * approved lender the terms name) receives the token. Returns the new token id.
     * @dev `factorySignature` is the factory's EIP-712 signature of `PledgeConsent` (the terms'
     * fields, then `nonce` and `deadline`) in the registry's domain; an ERC-1271 wallet may
     * sign. `nonce` is any number the factory has not used before. `hint` is the id of the
     * pledge of this log that precedes the range (the one {issueHint} returns), 0 for none:
     * with a correct hint the lien check reads a constant number of pledges, whatever the
     * number of pledges on the log (lapsed pledges in the way are unlinked on the go).
     *
     * Reverts with {PledgeConsentExpired}, {PledgeWrongLender}, {PledgeLenderNotApproved},
     * {RegistryUnknownLog}, {PledgeConsentReplayed}, {PledgeInvalidSignature},
     * {PledgeInvalidRange}, {PledgeCheckpointNotAnchored}, {PledgeInvalidTerms},
     * {PledgeInvalidHint}, {PledgeRangeOverlaps}. Emits {PledgeIssued} (and ERC-721 `Transfer`).
     */
    function issue(
        PledgeTerms calldata terms,
        uint256 nonce,
        uint256 deadline,
        bytes calldata factorySignature,
        uint256 hint
    ) external returns (uint256 tokenId);

    /**
     * @notice Lifts the lien of pledge `tokenId` and burns the token. Holder only; the pledge
     * may be live, lapsed or defaulted. Emits {PledgeReleased}.
     */
    function release(uint256 tokenId) external;

    /**
     * @notice Declares the loan of pledge `tokenId` in default. Holder only, from maturity on,
     * while the pledge is live (not lapsed). The lien stays until the holder releases it.
     * Emits {PledgeDefaulted}.
     */
    function declareDefault(uint256 tokenId) external;

    /**
     * @notice Moves the lien end of live pledge `tokenId` to `newLienEnd` (a continuation), at
     * most to the `maxLienEnd` the factory signed. Holder only, before the current lien end.
     * @dev Reverts with {PledgeNotHolder}, {PledgeWrongStatus}, {PledgeInvalidLienEnd},
     * {PledgeExtensionNotConsented}. Emits {PledgeExtended}.
     */
    function extend(uint256 tokenId, uint64 newLienEnd) external;

    /**
     * @notice Moves the lien end of live pledge `tokenId` to `newLienEnd`, past `maxLienEnd`,
     * with the consent of the log's factory. Holder only, before the current lien end.
     * @dev `factorySignature` is the factory's EIP-712 signature of
     * `PledgeExtension(uint256 tokenId,uint64 newLienEnd,uint256 nonce,uint256 deadline)` in the
     * registry's domain (an ERC-1271 wallet may sign); `nonce` comes from the same unordered
     * set as consent nonces. `maxLienEnd` becomes `newLienEnd` when that is later.
     * Reverts with {PledgeConsentExpired}, {PledgeNotHolder}, {PledgeWrongStatus},
     * {PledgeInvalidLienEnd}, {PledgeConsentReplayed}, {PledgeInvalidSignature}.
     * Emits {PledgeExtended}.
     */
    function extendWithConsent(
        uint256 tokenId,
        uint64 newLienEnd,
        uint256 nonce,
        uint256 deadline,
        bytes calldata factorySignature
    ) external;

    /// @notice The terms, status, issue block and consent nonce of pledge `tokenId`.
    function pledge(uint256 tokenId)
        external
        view
        returns (PledgeTerms memory terms, PledgeStatus status, address factory, uint64 issueBlock);

    /// @notice The status of pledge `tokenId` (None if it does not exist).
    function pledgeStatus(uint256 tokenId) external view returns (PledgeStatus);

    /// @notice The pledges that hold a lien on log `logId` now (live and not lapsed, or defaulted), by range start.
    function liensOf(bytes32 logId) external view returns (uint256[] memory tokenIds);

    /// @notice The `hint` to pass to {issue} for a range of log `logId` starting at `start`.
    function issueHint(bytes32 logId, uint64 start) external view returns (uint256);

    /// @notice Whether `factory` has used consent nonce `nonce`.
    function consentNonceUsed(address factory, uint256 nonce) external view returns (bool);

    /// @notice The EIP-712 digest the factory signs to consent to a pledge on `terms`.
    function pledgeConsentDigest(PledgeTerms calldata terms, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32);

    /// @notice The EIP-712 digest the factory signs to let pledge `tokenId` be extended to `newLienEnd`.
    function pledgeExtensionDigest(uint256 tokenId, uint64 newLienEnd, uint256 nonce, uint256 deadline)
        external
        view
        returns (bytes32);

    /// @notice The role that approves lenders: holders of it may issue and receive pledges.
    function LENDER_ROLE() external view returns (bytes32);
}
