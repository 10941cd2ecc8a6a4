"""Benchmark: gas of anchoring a checkpoint (with its on-chain consistency proof) and of
``verifyInclusion``, for logs of 10^3, 10^6 and 10^9 records.

    .venv/bin/python bench/bench_chain.py [--json FILE]

Runs on the in-process EVM (eth-tester 0.14 / py-evm) with the committed
artifact ``ledger/chain/artifacts/DataPledgeRegistry.json``; gas does not depend on the node.

What is measured, for each log size n:

- **anchor**: ``gasUsed`` of the transaction ``anchor(logId, n, root, proof, signature)``
  sent by a relayer, moving a log from a checkpoint of ``old`` records (anchored just before,
  as the log's first checkpoint) to one of ``n``: EOA signature check (ecrecover), the
  consistency proof verified on chain, one new storage slot (the root), the log's slot
  updated (latest size and time), the event.
  Two values of ``old`` per n: the one whose proof needs the most hashing (worst case, found
  by searching the cost formula over ~20,000 candidates) and ``n - 1000`` (anchoring every
  1,000 records; ``n - 100`` for n = 10^3).
- **consistency exec**: the verification alone: the harness's ``verifyConsistency`` sent as a
  transaction, minus 21,000 and the calldata cost.
- **verifyInclusion**: the registry's view sent as a transaction, and its execution gas (what
  another contract calling it would pay, less the call itself), for the leaf with the
  longest audit path and a random leaf.

"tx" figures use eth-tester's default rules (Prague); "exec" figures come from a second chain
with Cancun rules (same opcode and precompile prices, but no EIP-7623 calldata floor, which
would otherwise hide the execution gas of a cheap call).

The proofs are real for n = 10^3 and 10^6 (trees of leaves ``H(i)``, built with
ledger.merkle). For n = 10^9 building the tree is out of reach, so the proof hashes are
random 32-byte values and the roots are *derived* from them by running the RFC 9162 verifier
forwards; ``ledger.merkle.verify_consistency`` / ``verify_inclusion`` accept them, and the
contract cannot tell them from a real tree's (gas depends only on the proof's length and
shape, which are those of a real 10^9-record log).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eth_abi import encode as abi_encode  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_utils import keccak  # noqa: E402
from web3 import EthereumTesterProvider, Web3  # noqa: E402

from ledger import merkle  # noqa: E402
from ledger.chain.build import load_artifact  # noqa: E402

SIZES = (10**3, 10**6, 10**9)
SEED = 2026
STREAM = "bench/telemetry"
EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
CHECKPOINT = [
    {"name": "logId", "type": "bytes32"},
    {"name": "size", "type": "uint64"},
    {"name": "root", "type": "bytes32"},
]


# --- proof shapes and synthetic trees ---------------------------------------------------


def consistency_length(old: int, new: int) -> int:
    """Length of the RFC 9162 consistency proof old -> new (0 < old < new)."""
    return len(merkle.consistency_ranges(old, new))


def consistency_hash_count(old: int, new: int) -> int:
    """Node hashes the verifier computes for the proof old -> new (0 < old < new): the old
    root uses the inner hashes on the left of the path, the new root all inner hashes, both
    all border hashes."""
    inner = ((old - 1) ^ (new - 1)).bit_length()
    border = bin((old - 1) >> inner).count("1")
    shift = (old & -old).bit_length() - 1
    inner -= shift
    mask = (old - 1) >> shift
    return bin(mask & ((1 << inner) - 1)).count("1") + inner + 2 * border


def most_hashing_old(new: int, rng: random.Random) -> int:
    """An old size in [1, new) whose consistency proof to ``new`` costs the most hashing (and,
    among those, is the longest): the worst case for ``anchor``."""
    candidates = set(rng.randrange(1, new) for _ in range(20000))
    for k in range(1, new.bit_length()):
        for c in ((1 << k) - 1, (1 << k) + 1, new - (1 << k) + 1, new - (1 << k) - 1, new - 1):
            if 0 < c < new:
                candidates.add(c)
    # n - 1 - x for x with many bits: long borders
    return max(sorted(candidates), key=lambda old: (consistency_hash_count(old, new), consistency_length(old, new)))


def longest_inclusion_index(size: int) -> int:
    return max(range(0, size, max(1, size // 5000)), key=lambda i: len(merkle.inclusion_ranges(i, size)))


def _node(a: bytes, b: bytes) -> bytes:
    return merkle.node_hash(a, b)


def synthetic_consistency(old: int, new: int, rng: random.Random):
    """(proof, old_root, new_root) with random proof hashes and the roots they imply.

    The RFC 9162 verifier (transparency-dev verify.go) run forwards: with the seed and the
    path hashes chosen at random, hash1 is the old root and hash2 the new one.
    """
    length = consistency_length(old, new)
    proof = [rng.randbytes(32) for _ in range(length)]
    inner = ((old - 1) ^ (new - 1)).bit_length()
    border = bin((old - 1) >> inner).count("1")
    shift = (old & -old).bit_length() - 1
    inner -= shift
    if old == 1 << shift:
        seed, path = rng.randbytes(32), proof  # the old root is the seed, not in the proof
    else:
        seed, path = proof[0], proof[1:]
    assert len(path) == inner + border
    mask = (old - 1) >> shift
    h1 = h2 = seed
    for i, h in enumerate(path[:inner]):
        if (mask >> i) & 1:
            h1, h2 = _node(h, h1), _node(h, h2)
        else:
            h2 = _node(h2, h)
    for h in path[inner:]:
        h1, h2 = _node(h, h1), _node(h, h2)
    merkle.verify_consistency(old, new, proof, h1, h2)  # the roots really are consistent
    return proof, h1, h2


def real_tree(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(8, "big")) for i in range(n)]


# --- chain ------------------------------------------------------------------------------


class Bench:
    """One in-process chain with the registry and the test harness deployed.

    ``fork`` is ``"prague"`` (eth-tester's default, today's mainnet rules for these opcodes)
    or ``"cancun"``: the same gas schedule without EIP-7623's calldata floor, so that
    ``gasUsed - 21000 - calldata`` is exactly the execution gas even for cheap calls.
    """

    def __init__(self, fork: str = "prague"):
        if fork == "prague":
            provider = EthereumTesterProvider()
        else:
            from eth.vm.forks.cancun import CancunVM
            from eth_tester import EthereumTester, PyEVMBackend

            provider = EthereumTesterProvider(EthereumTester(PyEVMBackend(vm_configuration=((0, CancunVM),))))
        self.w3 = Web3(provider)
        self.fork = fork
        keys = self.w3.provider.ethereum_tester.backend.account_keys
        self.accounts = [Account.from_key(k.to_bytes()) for k in keys]
        self.factory, self.relayer = self.accounts[1], self.accounts[2]
        self.registry = self._deploy("DataPledgeRegistry")
        self.harness = self._deploy("MerkleProofsHarness")
        self.streams = 0

    def _deploy(self, name):
        artifact = load_artifact(name)
        contract = self.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self._send(contract.constructor(), self.accounts[0])
        return self.w3.eth.contract(address=receipt.contractAddress, abi=artifact["abi"])

    def _send(self, fn, sender):
        tx = fn.transact({"from": sender.address})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt.status == 1
        return receipt

    def _sign_checkpoint(self, log_id, size, root) -> bytes:
        message = {
            "types": {"EIP712Domain": EIP712_DOMAIN, "Checkpoint": CHECKPOINT},
            "primaryType": "Checkpoint",
            "domain": {"name": "DataPledgeLedger", "version": "1", "chainId": self.w3.eth.chain_id,
                       "verifyingContract": self.registry.address},
            "message": {"logId": log_id, "size": size, "root": root},
        }
        return bytes(Account.sign_typed_data(self.factory.key, full_message=message).signature)

    def new_log(self) -> tuple[bytes, int]:
        self.streams += 1
        stream = f"{STREAM}/{self.streams}"
        receipt = self._send(self.registry.functions.registerLog(self.factory.address, stream, b""), self.factory)
        log_id = keccak(abi_encode(["address", "string"], [self.factory.address, stream]))
        return log_id, receipt.gasUsed

    def anchor(self, log_id, size, root, proof) -> int:
        signature = self._sign_checkpoint(log_id, size, root)
        fn = self.registry.functions.anchor(log_id, size, root, list(proof), signature)
        return self._send(fn, self.relayer).gasUsed

    def tx_gas(self, fn) -> int:
        """gasUsed of sending the view ``fn`` as a transaction."""
        return self._send(fn, self.relayer).gasUsed

    def exec_gas(self, fn) -> int:
        """Execution gas of ``fn``: gasUsed minus 21,000 and the calldata (Cancun only)."""
        assert self.fork == "cancun"
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        calldata = sum(4 if b == 0 else 16 for b in data)
        return self.tx_gas(fn) - 21000 - calldata


def scenarios(rng: random.Random):
    """The proofs to measure: (anchor cases, inclusion cases), verified by ledger.merkle."""
    anchors, inclusions = [], []
    for n in SIZES:
        leaves = real_tree(n) if n <= 10**6 else None
        periodic = ("every 1,000", n - 1000) if n > 10**3 else ("every 100", n - 100)
        for label, old in (("most hashing", most_hashing_old(n, rng)), periodic):
            if leaves is not None:
                proof = merkle.consistency_proof(leaves, old)
                old_root, new_root = merkle.root(leaves[:old]), merkle.root(leaves)
            else:
                proof, old_root, new_root = synthetic_consistency(old, n, rng)
            merkle.verify_consistency(old, n, proof, old_root, new_root)
            anchors.append({"n": n, "case": label, "old": old, "proof": proof, "old_root": old_root,
                            "new_root": new_root, "hashes": consistency_hash_count(old, n),
                            "tree": "real" if leaves is not None else "synthetic"})
        for label, index in (("longest path", longest_inclusion_index(n)), ("random leaf", rng.randrange(n))):
            if leaves is not None:
                proof, root, leaf = merkle.inclusion_proof(leaves, index), merkle.root(leaves), leaves[index]
            else:
                leaf = merkle.leaf_hash(index.to_bytes(8, "big"))
                proof = [rng.randbytes(32) for _ in merkle.inclusion_ranges(index, n)]
                root = merkle.root_from_inclusion_proof(leaf, index, n, proof)
            merkle.verify_inclusion(leaf, index, n, proof, root)
            inclusions.append({"n": n, "case": label, "index": index, "leaf": leaf, "proof": proof,
                               "root": root, "tree": "real" if leaves is not None else "synthetic"})
    return anchors, inclusions


def measure(bench: Bench, anchors, inclusions) -> None:
    """Adds this chain's figures to the case dicts, under keys prefixed by its fork."""
    f = bench.fork
    for a in anchors:
        log_id, a[f"{f}_register_gas"] = bench.new_log()
        a[f"{f}_first_anchor_gas"] = bench.anchor(log_id, a["old"], a["old_root"], [])
        a[f"{f}_anchor_gas"] = bench.anchor(log_id, a["n"], a["new_root"], a["proof"])
        if f == "cancun":
            fn = bench.harness.functions.verifyConsistency(a["old"], a["n"], a["proof"], a["old_root"], a["new_root"])
            assert fn.call() is True
            a["consistency_exec_gas"] = bench.exec_gas(fn)
    for r in inclusions:
        log_id, _ = bench.new_log()
        bench.anchor(log_id, r["n"], r["root"], [])
        fn = bench.registry.functions.verifyInclusion(log_id, r["n"], r["index"], r["leaf"], r["proof"])
        assert fn.call() is True
        if f == "cancun":
            r["exec_gas"] = bench.exec_gas(fn)
        else:
            r[f"{f}_tx_gas"] = bench.tx_gas(fn)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    anchors, inclusions = scenarios(random.Random(SEED))
    for fork in ("prague", "cancun"):
        measure(Bench(fork), anchors, inclusions)

    print("anchor(logId, n, root, consistencyProof, signature), relayed; the log's previous checkpoint has `old` records")
    print(f"{'n':>13} | {'case':<12} | {'old size':>11} | {'proof':>5} | {'SHA-256':>7} | "
          f"{'anchor tx':>9} | {'consistency exec':>16} | tree")
    for a in anchors:
        print(f"{a['n']:>13,} | {a['case']:<12} | {a['old']:>11,} | {len(a['proof']):>5} | {a['hashes']:>7} | "
              f"{a['prague_anchor_gas']:>9,} | {a['consistency_exec_gas']:>16,} | {a['tree']}")
    firsts = sorted(a["prague_first_anchor_gas"] for a in anchors)
    registers = sorted(a["prague_register_gas"] for a in anchors)
    print(f"first checkpoint of a log (no proof): {firsts[0]:,}–{firsts[-1]:,} gas; "
          f"registerLog by the factory: {registers[0]:,}–{registers[-1]:,} gas")
    print()
    print("verifyInclusion(logId, n, index, leafHash, proof) against the root anchored at n")
    print(f"{'n':>13} | {'case':<12} | {'index':>11} | {'proof':>5} | {'as a tx':>9} | {'exec':>6} | tree")
    for r in inclusions:
        print(f"{r['n']:>13,} | {r['case']:<12} | {r['index']:>11,} | {len(r['proof']):>5} | "
              f"{r['prague_tx_gas']:>9,} | {r['exec_gas']:>6,} | {r['tree']}")
    print()
    print("anchor tx, as a tx: gasUsed under Prague rules (eth-tester default); exec: gasUsed - 21,000 - calldata")
    print("under Cancun rules (same opcode prices, no EIP-7623 calldata floor). SHA-256: node hashes the")
    print("contract computes to check the consistency proof (old and new root).")
    if args.json:
        def plain(case):
            return {k: (v.hex() if isinstance(v, bytes) else [h.hex() for h in v] if k == "proof" else v)
                    for k, v in case.items()}
        args.json.write_text(json.dumps({
            "anchors": [plain(a) for a in anchors], "inclusions": [plain(r) for r in inclusions],
            "artifact_sources_sha256": load_artifact("DataPledgeRegistry")["sources_sha256"],
        }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
