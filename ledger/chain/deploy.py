"""Deploying the registry, and the deployment records that name it.

A record per chain id: ``deploy/deployments/<chainId>.json`` in the repository for public
chains (commit it), ``DPL_HOME/deployments/31337.json`` for the local chain (so a clone
stays clean). It holds address, tx hash, block, compiler version and source hash; never a
key or an RPC URL. Deploying again is a no-op while the recorded address holds the
expected runtime code.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes

from ledger.chain.client import Chain
from ledger.chain.node import PROJECT_ROOT
from ledger.errors import ChainError, NotFoundError

LOCAL_CHAIN_ID = 31337


def deployment_path(home: Path, chain_id: int) -> Path:
    if chain_id == LOCAL_CHAIN_ID:
        return home / "deployments" / f"{chain_id}.json"
    return PROJECT_ROOT / "deploy" / "deployments" / f"{chain_id}.json"


def load_deployment(home: Path, chain_id: int) -> dict:
    path = deployment_path(home, chain_id)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NotFoundError(
            f"no registry deployment recorded for chain {chain_id} ({path}); run: dpl deploy"
        ) from None


def runtime_matches(chain: Chain, address: str) -> bool:
    """Does ``address`` hold our registry's runtime code? Immutable values (set by the
    constructor: chain id, own address) are masked on both sides before comparing."""
    code = chain.code_at(address)
    expected = bytes(HexBytes(chain.artifact["deployedBytecode"]))
    if len(code) != len(expected):
        return False
    masked_code, masked_expected = bytearray(code), bytearray(expected)
    for refs in chain.artifact.get("immutableReferences", {}).values():
        for ref in refs:
            start, length = ref["start"], ref["length"]
            masked_code[start:start + length] = b"\0" * length
            masked_expected[start:start + length] = b"\0" * length
    return masked_code == masked_expected


def deploy_registry(chain: Chain, home: Path, deployer: LocalAccount) -> tuple[dict, bool]:
    """Deploy (or find) the registry on ``chain``. Returns (record, newly_deployed)."""
    path = deployment_path(home, chain.chain_id)
    if path.exists():
        record = json.loads(path.read_text())
        if runtime_matches(chain, record["address"]):
            return record, False
        # The chain was reset, or the record is for other code: deploy afresh.
    factory = chain.w3.eth.contract(abi=chain.artifact["abi"], bytecode=chain.artifact["bytecode"])
    receipt = chain.transact(deployer, factory.constructor())
    address = receipt["contractAddress"]
    if not address:
        raise ChainError("the deployment transaction created no contract")
    record = {
        "contract": "DataPledgeRegistry",
        "chain_id": chain.chain_id,
        "address": address,
        "tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block_number": receipt["blockNumber"],
        "deployer": deployer.address,
        "compiler": chain.artifact["compiler"]["version"],
        "source_hash": chain.artifact["sources_sha256"],
        "deployed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return record, True
