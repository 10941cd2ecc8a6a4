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
    ``(root, 1)``: 64 bytes, a root and an anchoring time. Written by hand:

        PUSH32 root  PUSH1 0  MSTORE      memory[0:32]  = root
        PUSH1 1  PUSH1 32  MSTORE         memory[32:64] = 1
        PUSH1 64  PUSH1 0  RETURN         return memory[0:64]
    """
    runtime = b"\x7f" + root + bytes.fromhex("600052" "6001602052" "60406000f3")
    assert len(runtime) == 46
    # init: PUSH1 len DUP1 PUSH1 11 PUSH1 0 CODECOPY PUSH1 0 RETURN (11 bytes), then the runtime
    init = bytes([0x60, len(runtime), 0x80, 0x60, 11, 0x60, 0, 0x39, 0x60, 0, 0xF3])
    return init + runtime


def deploy_rootat_liar(rpc_url: str, sender: LocalAccount, root: bytes) -> str:
    chain = Chain(rpc_url)
    tx = {"from": sender.address, "data": rootat_liar(root), "nonce": chain.w3.eth.get_transaction_count(sender.address),
          "chainId": chain.chain_id, "gas": 200_000, "gasPrice": chain.w3.eth.gas_price}
    signed = sender.sign_transaction(tx)
    receipt = chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed.raw_transaction))
    assert receipt["status"] == 1 and len(chain.w3.eth.get_code(receipt["contractAddress"])) == 46
    return receipt["contractAddress"]


def invented_records(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    return [{"id": f"WO-FORGED-{i:04d}", "ts": f"2026-10-{1 + i % 28:02d}T08:00:00+08:00", "type": "mes.work_order",
             "data": {"product": "HSG-118", "qty_good": rnd.randint(500, 900), "qty_scrap": rnd.randint(0, 20)}}
            for i in range(n)]


def anchored_forgery(rpc_url: str, registry: str, factory: LocalAccount, stream: str, n: int = 6,
                     index: int = 2) -> dict:
    """Invented records of ``stream`` registered and anchored by ``factory`` (who signs its own
    checkpoint, as any factory does) in ``registry``: a ``dpl-proof/1`` bundle of record
    ``index`` that is true of that registry."""
    chain = Chain(rpc_url, registry)
    records = invented_records(n)
    rnd = random.Random(11)
    salts = [rnd.randbytes(32) for _ in records]
    leaves = [merkle.leaf_hash(s + prepare_record(r, i).canonical) for i, (s, r) in enumerate(zip(salts, records))]
    root, log_id = merkle.root(leaves), log_id_of(factory.address, stream)
    fns = chain.registry.functions
    chain.transact(factory, fns.registerLog(factory.address, stream, b""))
    signature = chain.sign_checkpoint(factory, log_id, n, root)
    receipt = chain.transact(factory, fns.anchor(log_id, n, root, [], signature))
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
