"""Checking a verified bundle's checkpoint against the chain: is that root anchored?"""

from __future__ import annotations

from datetime import datetime, timezone

from ledger.bundles import Verified
from ledger.chain.client import Chain
from ledger.errors import BundleError


def check_anchor(verified: Verified, rpc_url: str) -> str:
    """Raise ``BundleError`` unless the registry named by the bundle holds its (size, root)
    for its log on the chain at ``rpc_url``. Returns a one-line summary."""
    anchor = verified.anchor
    if verified.log_id is None or anchor is None:
        raise BundleError("the bundle names no anchored checkpoint (log_id or anchor is null): "
                          "nothing to check on chain")
    chain = Chain(rpc_url, anchor["registry"])
    if chain.chain_id != anchor["chain_id"]:
        raise BundleError(f"{rpc_url} is chain {chain.chain_id}, but the bundle's anchor is on "
                          f"chain {anchor['chain_id']}")
    if not chain.code_at(anchor["registry"]):
        raise BundleError(f"there is no contract at {anchor['registry']} on chain {chain.chain_id}")
    root, anchored_at = chain.call(chain.registry.functions.rootAt(verified.log_id, verified.size).call)
    root = bytes(root)
    if root == bytes(32):
        raise BundleError(f"the registry holds no checkpoint of size {verified.size} for log "
                          f"0x{verified.log_id.hex()}: the bundle's root was never anchored")
    if root != verified.root:
        raise BundleError(f"the registry holds root 0x{root.hex()} for size {verified.size}, but the "
                          f"bundle claims 0x{verified.root.hex()}")
    when = datetime.fromtimestamp(anchored_at, timezone.utc).isoformat(timespec="seconds")
    return f"anchored on chain {chain.chain_id} in registry {chain.registry.address} at {when}"
