// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IFactoryDirectory
 * @notice Who a factory address is: a directory kept by the registry admin, mapping a factory's
 * address to a display name and the SHA-256 of its business registration number (for example a
 * unified social credit code), so a verifier can print "factory 0x… (registered as ACME
 * Precision Co.)" instead of a bare address.
 *
 * A listing is a statement by the registry admin, not by the factory: it says whom the admin
 * checked the address belongs to. The registration number itself stays off chain; whoever knows
 * it can check it against `registrationDigest`. The digest is SHA-256 of the number's UTF-8
 * bytes after removing spaces and hyphens and upper-casing ASCII letters (the rule
 * `ledger.directory.registration_digest` implements).
 */
interface IFactoryDirectory {
    /// @notice `factory` was listed (or its listing changed) as `name` with `registrationDigest`.
    event FactoryListed(address indexed factory, string name, bytes32 registrationDigest);

    /// @notice The listing of `factory` was removed.
    event FactoryDelisted(address indexed factory);

    /// @dev A listing needs a non-zero address, a name of 1 to 128 bytes and a non-zero digest.
    error DirectoryInvalidListing(address factory, uint256 nameLength, bytes32 registrationDigest);

    /// @dev `factory` is not listed.
    error DirectoryNotListed(address factory);

    /**
     * @notice Lists `factory` as `name` (UTF-8, 1 to 128 bytes) with the SHA-256 of its business
     * registration number, or changes its listing. Registry admin (`DEFAULT_ADMIN_ROLE`) only.
     * @dev Reverts with {DirectoryInvalidListing}, or OpenZeppelin's
     * `AccessControlUnauthorizedAccount` for another caller. Emits {FactoryListed}.
     */
    function listFactory(address factory, string calldata name, bytes32 registrationDigest) external;

    /**
     * @notice Removes the listing of `factory`. Registry admin only. Its logs and pledges are
     * untouched: only the name a verifier can print goes.
     * @dev Reverts with {DirectoryNotListed}. Emits {FactoryDelisted}.
     */
    function delistFactory(address factory) external;

    /// @notice The listing of `factory`: its name and registration digest; an empty name (and a
    /// zero digest) when it is not listed.
    function factoryListing(address factory) external view returns (string memory name, bytes32 registrationDigest);
}
