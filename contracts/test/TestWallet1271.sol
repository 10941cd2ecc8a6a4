// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title TestWallet1271
 * @notice Test-only smart-contract wallet: approves a digest by ERC-1271 when it carries its
 * owner's ECDSA signature, and lets the owner make calls from the wallet's address.
 * Not deployed by the service.
 */
contract TestWallet1271 is IERC1271 {
    /// @dev Only the owner may make the wallet call out.
    error TestWalletUnauthorized(address caller);

    /// @notice The key whose signatures this wallet accepts.
    address public immutable owner;

    /// @param owner_ The key whose signatures this wallet accepts.
    constructor(address owner_) {
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(hash, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }

    /// @notice Calls `target` with `data` from this wallet; bubbles up a revert.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert TestWalletUnauthorized(msg.sender);
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }
}
