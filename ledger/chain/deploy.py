"""Deploying the registry, the deployment records that name it, and the one rule every
verifier uses to decide which registry it trusts.

A record per chain id: ``deploy/deployments/<chainId>.json`` in the repository for public
chains (commit it; the package ships that folder as ``ledger/deployments``, see
pyproject.toml), ``DPL_HOME/deployments/31337.json`` for the local chain (so a clone stays
clean). It holds address, tx hash, block, compiler version and source hash; never a key or
an RPC URL. Deploying again is a no-op while the recorded address holds the expected
runtime code.

**Trust** (``trusted_registry``): a verifier checks a bundle against the registry pinned
for the chain (that record) or an address its user gives explicitly (``--registry``);
never against the registry a bundle names. No record and no address: a refusal.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from ledger import jsonio
from ledger.chain.client import Chain
from ledger.pledge.collateral import is_valid_address
from ledger.chain.node import PROJECT_ROOT
from ledger.errors import ChainError, InvalidArgumentError, NotFoundError

LOCAL_CHAIN_ID = 31337
#: Where an installed package keeps the shipped records (``deploy/deployments`` mapped as
#: package ``ledger.deployments`` in pyproject.toml); a checkout reads the folder itself.
_INSTALLED_RECORDS = Path(__file__).resolve().parents[1] / "deployments"
_CHECKOUT_RECORDS = PROJECT_ROOT / "deploy" / "deployments"


class UntrustedRegistryError(InvalidArgumentError):
    """A verifier has no registry it may trust for a chain (nothing pinned, none given)."""


def shipped_records_dir() -> Path:
    """The records shipped for public chains: the installed package's copy, else the checkout's."""
    return _INSTALLED_RECORDS if _INSTALLED_RECORDS.is_dir() else _CHECKOUT_RECORDS


def deployment_path(home: Path, chain_id: int) -> Path:
    if chain_id == LOCAL_CHAIN_ID:
        return home / "deployments" / f"{chain_id}.json"
    return shipped_records_dir() / f"{chain_id}.json"


def _read_record(path: Path, chain_id: int) -> dict:
    """A deployment record, checked: a JSON object for ``chain_id`` with a valid address."""
    record = jsonio.load_file(str(path), what="deployment record", max_bytes=64 * 1024)
    if not isinstance(record, dict):
        raise InvalidArgumentError(f"the deployment record {path} is not a JSON object")
    if record.get("chain_id") != chain_id:
        raise InvalidArgumentError(f"the deployment record {path} is for chain {record.get('chain_id')!r}, "
                                   f"not chain {chain_id}")
    address = record.get("address")
    if not is_valid_address(address):
        raise InvalidArgumentError(f"the deployment record {path} holds no valid registry address")
    return record


def load_deployment(home: Path, chain_id: int) -> dict:
    path = deployment_path(home, chain_id)
    if not path.is_file():
        raise NotFoundError(f"no registry deployment recorded for chain {chain_id} ({path}); run: dpl deploy")
    return _read_record(path, chain_id)


@dataclass(frozen=True)
class TrustedRegistry:
    """The registry a verifier checks against on ``chain_id``, and where that choice came from
    (shown with every verdict)."""

    chain_id: int
    address: str  # EIP-55
    source: str


def trusted_registry(chain_id: int, home: Path | None, explicit: str | None = None, *,
                     explicit_source: str = "--registry") -> TrustedRegistry:
    """The one rule for which registry a verifier trusts on ``chain_id``: ``explicit`` when the
    user gave one (``--registry``, the page's registry field), else the pinned deployment record
    (shipped for public chains, under ``home`` for the local chain). Never the address a bundle
    names. ``UntrustedRegistryError`` when there is neither."""
    if explicit is not None:
        if not is_valid_address(explicit):
            raise InvalidArgumentError(f"{explicit_source} {explicit!r} is not an Ethereum address "
                                       "(0x and 40 hex digits; EIP-55 if mixed case)")
        return TrustedRegistry(chain_id, to_checksum_address(explicit), f"{explicit_source}, given explicitly")
    path = None if home is None and chain_id == LOCAL_CHAIN_ID else deployment_path(home, chain_id)
    if path is None or not path.is_file():
        raise UntrustedRegistryError(
            f"no trusted registry for chain {chain_id}: pass --registry ADDRESS (the registry's address from a "
            f"source you trust); no deployment record is pinned" + (f" at {path}" if path else ""))
    record = _read_record(path, chain_id)
    return TrustedRegistry(chain_id, to_checksum_address(record["address"]), f"the pinned deployment record {path}")


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
        record = _read_record(path, chain.chain_id)
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
    if path.is_relative_to(home):
        home.mkdir(mode=0o700, parents=True, exist_ok=True)  # DPL_HOME, private when we make it
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)
    return record, True
