"""Forged evidence, built on a real chain, for the trust tests (CLI, API and browser verifiers).

What an attacker can do without any key of ours: deploy a fresh copy of our registry (the same
code: a lookalike) and anchor invented records in it under any stream name; deploy a tiny
contract that answers ``rootAt`` with any root; relabel a real bundle's stream; cite another
transaction or block as its anchor. A verifier that trusts the registry a bundle names calls
each of these "valid"; one that trusts only its pinned registry does not.
"""

from __future__ import annotations

import random

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from ledger import bundles, merkle
from ledger.chain.client import Chain, log_id_of
from ledger.keys import ANVIL_MNEMONIC
from ledger.records import prepare_record


def dev_account(i: int) -> LocalAccount:
    """anvil's well-known account ``i`` (the keys `dpl keys import-dev` names dev0..dev9)."""
    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")


def deploy_lookalike(rpc_url: str, deployer: LocalAccount) -> str:
    """A fresh copy of our registry (identical runtime code), deployed with web3; its admin is
    ``deployer``. Returns its address."""
    chain = Chain(rpc_url)
    contract = chain.w3.eth.contract(abi=chain.artifact["abi"], bytecode=chain.artifact["bytecode"])
    return chain.transact(deployer, contract.constructor())["contractAddress"]


def rootat_liar(root: bytes) -> bytes:
    """Creation code of a 46-byte contract that answers every call, ``rootAt`` included, with
    ``(root, 1)``: 64 bytes, whose first word ``rootAt`` reads as the root (the second is left
    from when ``rootAt`` also returned a time; a verifier ignores it). Written by hand:

        PUSH32 root  PUSH1 0  MSTORE      memory[0:32]  = root
        PUSH1 1  PUSH1 32  MSTORE         memory[32:64] = 1
        PUSH1 64  PUSH1 0  RETURN         return memory[0:64]
    """
    runtime = b"\x7f" + root + bytes.fromhex("600052" "6001602052" "60406000f3")
    assert len(runtime) == 46
    return _creation(runtime)


def deploy_rootat_liar(rpc_url: str, sender: LocalAccount, root: bytes) -> str:
    return _deploy(rpc_url, sender, rootat_liar(root), 46)


def _creation(runtime: bytes) -> bytes:
    """Creation code that returns ``runtime``: PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0
    RETURN (11 bytes), then the runtime."""
    return bytes([0x60, len(runtime), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xF3]) + runtime


def _send(rpc_url: str, sender: LocalAccount, to: str | None, data: bytes, gas: int = 500_000) -> dict:
    """Sign and send one raw transaction with web3 alone (no nonce manager: an outsider's), and
    return its receipt."""
    chain = Chain(rpc_url)
    tx = {"from": sender.address, "data": data, "nonce": chain.w3.eth.get_transaction_count(sender.address),
          "chainId": chain.chain_id, "gas": gas, "gasPrice": chain.w3.eth.gas_price}
    if to is not None:
        tx["to"] = to
    signed = sender.sign_transaction(tx)
    return chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed.raw_transaction))


def _deploy(rpc_url: str, sender: LocalAccount, creation: bytes, runtime_length: int) -> str:
    receipt = _send(rpc_url, sender, None, creation, 200_000)
    assert receipt["status"] == 1 and len(Chain(rpc_url).w3.eth.get_code(receipt["contractAddress"])) == runtime_length
    return receipt["contractAddress"]


def forwarder(target: str) -> bytes:
    """Creation code of a 48-byte contract that forwards every call, its data unchanged, to
    ``target`` (what a smart-contract wallet or a batching contract does) and reverts if that
    call reverts. Written by hand:

        CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY                memory[0:n] = calldata
        PUSH1 0 PUSH1 0 CALLDATASIZE PUSH1 0 PUSH1 0 PUSH20 target GAS CALL
        PUSH1 46 JUMPI  PUSH1 0 PUSH1 0 REVERT  JUMPDEST STOP    revert unless it succeeded
    """
    address = bytes.fromhex(target[2:])
    runtime = (bytes.fromhex("3660006000376000600036600060007" "3") + address
               + bytes.fromhex("5af1602e5760006000fd5b00"))
    assert len(runtime) == 48 and runtime[46] == 0x5B
    return _creation(runtime)


def deploy_forwarder(rpc_url: str, sender: LocalAccount, target: str) -> str:
    return _deploy(rpc_url, sender, forwarder(target), 48)


def event_forger() -> bytes:
    """Creation code of a 49-byte contract that emits, from its own address, the log the registry
    emits when it anchors: ``CheckpointAnchored`` with topic ``calldata[0:32]`` (the log id) and data
    ``calldata[32:128]`` (size, root, previous size). Anyone can deploy it; its logs are not the
    registry's. Written by hand:

        PUSH1 96 PUSH1 32 PUSH1 0 CALLDATACOPY       memory[0:96] = calldata[32:128]
        PUSH1 0 CALLDATALOAD PUSH32 topic0 PUSH1 96 PUSH1 0 LOG2 STOP
    """
    topic0 = keccak(text="CheckpointAnchored(bytes32,uint64,bytes32,uint64)")
    runtime = bytes.fromhex("606060206000376000357f") + topic0 + bytes.fromhex("60606000a200")
    assert len(runtime) == 49
    return _creation(runtime)


def deploy_event_forger(rpc_url: str, sender: LocalAccount) -> str:
    return _deploy(rpc_url, sender, event_forger(), 49)


def forge_anchor_event(rpc_url: str, sender: LocalAccount, forger: str, bundle: dict) -> dict:
    """A transaction to the event forger emitting the ``CheckpointAnchored`` of ``bundle``'s
    checkpoint (log id, size, root): the log a verifier looks for, from another address."""
    size, root = bundle["checkpoint"]["size"], bytes.fromhex(bundle["checkpoint"]["root"][2:])
    data = bytes.fromhex(bundle["log_id"][2:]) + size.to_bytes(32, "big") + root + bytes(32)
    receipt = _send(rpc_url, sender, forger, data)
    assert receipt["status"] == 1 and len(receipt["logs"]) == 1
    return receipt


def invented_records(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    return [{"id": f"WO-FORGED-{i:04d}", "ts": f"2026-10-{1 + i % 28:02d}T08:00:00+08:00", "type": "mes.work_order",
             "data": {"product": "HSG-118", "qty_good": rnd.randint(500, 900), "qty_scrap": rnd.randint(0, 20)}}
            for i in range(n)]


def anchored_forgery(rpc_url: str, registry: str, factory: LocalAccount, stream: str, n: int = 6,
                     index: int = 2, via: str | None = None) -> dict:
    """Invented records of ``stream`` registered and anchored by ``factory`` (who signs its own
    checkpoint, as any factory does) in ``registry``: a ``dpl-proof/1`` bundle of record
    ``index`` that is true of that registry. ``via``: the anchor transaction is sent to this
    contract (a ``forwarder`` of ``registry``), not to the registry itself."""
    chain = Chain(rpc_url, registry)
    records = invented_records(n)
    rnd = random.Random(11)
    salts = [rnd.randbytes(32) for _ in records]
    leaves = [merkle.leaf_hash(s + prepare_record(r, i).canonical) for i, (s, r) in enumerate(zip(salts, records))]
    root, log_id = merkle.root(leaves), log_id_of(factory.address, stream)
    fns = chain.registry.functions
    chain.transact(factory, fns.registerLog(factory.address, stream, b""))
    signature = chain.sign_checkpoint(factory, log_id, n, root)
    if via is None:
        receipt = chain.transact(factory, fns.anchor(log_id, n, root, [], signature))
    else:
        call = bytes.fromhex(chain.registry.encode_abi("anchor", args=[log_id, n, root, [], signature])[2:])
        receipt = _send(rpc_url, factory, via, call)
        assert receipt["status"] == 1 and receipt["to"] == via
    entry = bundles.make_entry(index, records[index], salts[index], leaves[index],
                               merkle.inclusion_proof(leaves, index))
    anchor = bundles.make_anchor(chain.chain_id, chain.registry.address, bytes(receipt["transactionHash"]),
                                 receipt["blockNumber"])
    return bundles.make_proof_bundle(stream, log_id, n, root, [entry], anchor)


def beyond_uint64(bundle: dict, size: int = 2**64) -> dict:
    """``bundle`` (a real ``dpl-proof/1``) with its first record moved to index 0 of a tree of
    ``size`` leaves (a power of two, at least 2^64): 64 or more invented proof hashes and the root
    they lead to. Valid offline (the maths holds); no registry, whose sizes are uint64, can hold it."""
    entry = dict(bundle["entries"][0])
    depth = size.bit_length() - 1
    assert size == 1 << depth
    leaf = bytes.fromhex(entry["leaf_hash"][2:])
    proof = [(i + 1).to_bytes(2, "big") * 16 for i in range(depth)]
    root = leaf
    for sibling in proof:  # index 0: always the left child
        root = merkle.node_hash(root, sibling)
    merkle.verify_inclusion(leaf, 0, size, proof, root)
    entry.update(index=0, proof=["0x" + h.hex() for h in proof])
    return {**bundle, "checkpoint": {"size": size, "root": "0x" + root.hex()}, "entries": [entry]}
