"""contracts/DataPledgeRegistry.sol: logs, signed checkpoints, consistency on chain, views.

Trees and proofs come from ledger.merkle; signatures from eth-account's EIP-712 encoder, as
the service will make them. Every revert asserts the exact custom error and its arguments.
"""

from __future__ import annotations

import pytest
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak

from ledger import merkle
from tests.contracts.evm import checkpoint_message, register_log_message, reverts_with, sign

STREAM = "line-a/telemetry"
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

pytestmark = pytest.mark.usefixtures("fresh_state")


def _leaves(n: int, seed: str = "r") -> list[bytes]:
    return [merkle.leaf_hash(f"{seed}/{i}".encode()) for i in range(n)]


LEAVES = _leaves(1000)


@pytest.fixture(scope="module")
def registry(chain):
    return chain.deploy("DataPledgeRegistry")


@pytest.fixture
def deployer(chain):
    return chain.accounts[0]


@pytest.fixture
def factory(chain):
    return chain.accounts[1]


@pytest.fixture
def relayer(chain):
    return chain.accounts[2]


@pytest.fixture
def stranger(chain):
    return chain.accounts[3]


def _log_id(factory_address: str, stream: str) -> bytes:
    return keccak(abi_encode(["address", "string"], [factory_address, stream]))


def _register(chain, registry, factory, stream=STREAM) -> bytes:
    chain.transact(registry.functions.registerLog(factory.address, stream, b""), factory)
    return _log_id(factory.address, stream)


def _anchor(chain, registry, signer, log_id, size, proof=(), sender=None, leaves=LEAVES, root=None):
    root = merkle.root(leaves[:size]) if root is None else root
    signature = sign(signer, checkpoint_message(registry, log_id, size, root))
    fn = registry.functions.anchor(log_id, size, root, list(proof), signature)
    return chain.transact(fn, sender or signer)


# ----------------------------------------------------------------------- deployment


def test_deployer_is_admin_and_domain_is_the_ledgers(chain, registry, deployer, stranger):
    admin = registry.functions.DEFAULT_ADMIN_ROLE().call()
    assert registry.functions.hasRole(admin, deployer.address).call()
    assert not registry.functions.hasRole(admin, stranger.address).call()
    fields, name, version, chain_id, verifying_contract, salt, extensions = \
        registry.functions.eip712Domain().call()
    assert (name, version, chain_id, verifying_contract) == \
        ("DataPledgeLedger", "1", chain.w3.eth.chain_id, registry.address)
    assert fields == b"\x0f" and salt == ZERO32 and extensions == []


def test_supports_its_interfaces(registry):
    abi_functions = [f for f in registry.abi if f["type"] == "function"]
    names = {"logIdOf", "registerLog", "anchor", "factoryOf", "latestCheckpoint", "rootAt",
             "verifyInclusion", "checkpointDigest", "registerLogDigest"}
    interface_id = 0
    for f in abi_functions:
        if f["name"] in names:
            sig = f"{f['name']}({','.join(i['type'] for i in f['inputs'])})"
            interface_id ^= int.from_bytes(keccak(text=sig)[:4], "big")
    assert registry.functions.supportsInterface(interface_id.to_bytes(4, "big")).call()
    assert registry.functions.supportsInterface(bytes.fromhex("01ffc9a7")).call()  # ERC-165
    assert registry.functions.supportsInterface(bytes.fromhex("7965db0b")).call()  # AccessControl
    assert not registry.functions.supportsInterface(bytes.fromhex("ffffffff")).call()


# ---------------------------------------------------------------------- EIP-712


def test_digests_match_eth_account(registry, factory):
    log_id = _log_id(factory.address, STREAM)
    root = merkle.root(LEAVES[:10])
    message = checkpoint_message(registry, log_id, 10, root)
    ours = _hash_eip191_message(encode_typed_data(full_message=message))
    assert registry.functions.checkpointDigest(log_id, 10, root).call() == ours
    assert Account.sign_typed_data(factory.key, full_message=message).message_hash == ours

    message = register_log_message(registry, factory.address, STREAM)
    ours = _hash_eip191_message(encode_typed_data(full_message=message))
    assert registry.functions.registerLogDigest(factory.address, STREAM).call() == ours


def test_log_id_is_keccak_of_abi_encoded_factory_and_stream(registry, factory):
    for stream in (STREAM, "", "ünïcode/stream", "x" * 300):
        assert registry.functions.logIdOf(factory.address, stream).call() == \
            _log_id(factory.address, stream)


# ---------------------------------------------------------------------- registerLog


def test_factory_registers_its_own_log(chain, registry, factory):
    log_id = _log_id(factory.address, STREAM)
    assert registry.functions.factoryOf(log_id).call() == ZERO_ADDRESS
    fn = registry.functions.registerLog(factory.address, STREAM, b"")
    assert fn.call({"from": factory.address}) == log_id
    receipt = chain.transact(fn, factory)
    (event,) = registry.events.LogRegistered().process_receipt(receipt)
    assert dict(event.args) == {"logId": log_id, "factory": factory.address, "stream": STREAM}
    assert registry.functions.factoryOf(log_id).call() == factory.address
    assert registry.functions.latestCheckpoint(log_id).call() == [0, ZERO32, 0]


def test_own_registration_ignores_the_signature_field(chain, registry, factory):
    chain.transact(registry.functions.registerLog(factory.address, STREAM, b"\x01" * 65), factory)
    assert registry.functions.factoryOf(_log_id(factory.address, STREAM)).call() == factory.address


def test_relayer_registers_with_the_factorys_signature(chain, registry, factory, relayer):
    signature = sign(factory, register_log_message(registry, factory.address, STREAM))
    receipt = chain.transact(registry.functions.registerLog(factory.address, STREAM, signature), relayer)
    (event,) = registry.events.LogRegistered().process_receipt(receipt)
    log_id = _log_id(factory.address, STREAM)
    assert event.args.logId == log_id and event.args.factory == factory.address
    assert registry.functions.factoryOf(log_id).call() == factory.address


@pytest.mark.parametrize("how", ["empty", "garbage", "wrong signer", "other stream", "short"])
def test_relayed_registration_needs_the_factorys_signature(chain, registry, factory, relayer,
                                                           stranger, how):
    signature = {
        "empty": lambda: b"",
        "garbage": lambda: b"\x07" * 65,
        "wrong signer": lambda: sign(stranger, register_log_message(registry, factory.address, STREAM)),
        "other stream": lambda: sign(factory, register_log_message(registry, factory.address, "other")),
        "short": lambda: sign(factory, register_log_message(registry, factory.address, STREAM))[:64],
    }[how]()
    log_id = _log_id(factory.address, STREAM)
    with reverts_with(registry, "RegistryInvalidSignature", log_id, factory.address):
        registry.functions.registerLog(factory.address, STREAM, signature).transact({"from": relayer.address})
    assert registry.functions.factoryOf(log_id).call() == ZERO_ADDRESS


def test_a_log_is_registered_once(chain, registry, factory, relayer):
    log_id = _register(chain, registry, factory)
    with reverts_with(registry, "RegistryLogAlreadyRegistered", log_id):
        registry.functions.registerLog(factory.address, STREAM, b"").transact({"from": factory.address})
    signature = sign(factory, register_log_message(registry, factory.address, STREAM))
    with reverts_with(registry, "RegistryLogAlreadyRegistered", log_id):
        registry.functions.registerLog(factory.address, STREAM, signature).transact({"from": relayer.address})
    # Another stream of the same factory is another log.
    assert _register(chain, registry, factory, "line-b/telemetry") != log_id


def test_the_zero_address_cannot_own_a_log(registry, relayer):
    with reverts_with(registry, "RegistryInvalidFactory", ZERO_ADDRESS):
        registry.functions.registerLog(ZERO_ADDRESS, STREAM, b"\x00" * 65).transact({"from": relayer.address})


# --------------------------------------------------------------------------- anchor


def test_first_and_next_checkpoints(chain, registry, factory, relayer):
    log_id = _register(chain, registry, factory)
    receipt = _anchor(chain, registry, factory, log_id, 10, sender=relayer)  # anyone may send it
    (event,) = registry.events.CheckpointAnchored().process_receipt(receipt)
    root10 = merkle.root(LEAVES[:10])
    assert dict(event.args) == {"logId": log_id, "size": 10, "root": root10, "previousSize": 0}
    t10 = chain.w3.eth.get_block(receipt.blockNumber).timestamp
    assert registry.functions.latestCheckpoint(log_id).call() == [10, root10, t10]
    assert registry.functions.rootAt(log_id, 10).call() == root10

    chain.w3.testing.mine(3)
    proof = merkle.consistency_proof(LEAVES[:1000], 10)
    receipt = _anchor(chain, registry, factory, log_id, 1000, proof, sender=relayer)
    (event,) = registry.events.CheckpointAnchored().process_receipt(receipt)
    root1000 = merkle.root(LEAVES)
    assert dict(event.args) == {"logId": log_id, "size": 1000, "root": root1000, "previousSize": 10}
    t1000 = chain.w3.eth.get_block(receipt.blockNumber).timestamp
    assert registry.functions.latestCheckpoint(log_id).call() == [1000, root1000, t1000]
    assert t1000 > t10  # only the latest checkpoint's time is kept, in the log's own slot
    assert registry.functions.rootAt(log_id, 10).call() == root10  # kept
    assert registry.functions.rootAt(log_id, 1000).call() == root1000
    assert registry.functions.rootAt(log_id, 500).call() == ZERO32


def test_every_prefix_extends_the_last(chain, registry, factory):
    log_id = _register(chain, registry, factory)
    previous = 0
    for size in (1, 2, 3, 4, 7, 8, 9, 16, 100, 511, 512, 513, 999, 1000):
        proof = merkle.consistency_proof(LEAVES[:size], previous) if previous else []
        receipt = _anchor(chain, registry, factory, log_id, size, proof)
        (event,) = registry.events.CheckpointAnchored().process_receipt(receipt)
        assert (event.args.size, event.args.previousSize) == (size, previous)
        previous = size


def test_anchoring_an_unknown_log_fails(registry, factory):
    log_id = _log_id(factory.address, "never-registered")
    with reverts_with(registry, "RegistryUnknownLog", log_id):
        _anchor_call(registry, factory, log_id, 5).transact({"from": factory.address})


def _anchor_call(registry, signer, log_id, size, proof=(), root=None, signature=None):
    root = merkle.root(LEAVES[:size]) if root is None else root
    if signature is None:
        signature = sign(signer, checkpoint_message(registry, log_id, size, root))
    return registry.functions.anchor(log_id, size, root, list(proof), signature)


def test_the_empty_checkpoint_is_refused(chain, registry, factory):
    log_id = _register(chain, registry, factory)
    with reverts_with(registry, "RegistryEmptyCheckpoint", log_id):
        _anchor_call(registry, factory, log_id, 0, root=merkle.EMPTY_ROOT).transact({"from": factory.address})


def test_a_zero_root_is_refused(chain, registry, factory):
    # Zero is what rootAt answers for "not anchored", so no checkpoint may have it, even
    # signed by the factory; the checkpoint after it is still anchored normally.
    log_id = _register(chain, registry, factory)
    with reverts_with(registry, "RegistryZeroRoot", log_id):
        _anchor_call(registry, factory, log_id, 4, root=ZERO32).transact({"from": factory.address})
    _anchor(chain, registry, factory, log_id, 4)
    with reverts_with(registry, "RegistryZeroRoot", log_id):
        _anchor_call(registry, factory, log_id, 8, merkle.consistency_proof(LEAVES[:8], 4),
                     root=ZERO32).transact({"from": factory.address})
    assert registry.functions.latestCheckpoint(log_id).call()[:2] == [4, merkle.root(LEAVES[:4])]


def test_a_first_checkpoint_takes_no_proof(chain, registry, factory):
    log_id = _register(chain, registry, factory)
    proof = merkle.consistency_proof(LEAVES[:8], 4)  # would be valid from 4 to 8
    with reverts_with(registry, "RegistryInconsistentCheckpoint", log_id, 0, 8):
        _anchor_call(registry, factory, log_id, 8, proof).transact({"from": factory.address})
    _anchor(chain, registry, factory, log_id, 8)


def test_replayed_and_stale_checkpoints_are_refused(chain, registry, factory, relayer):
    log_id = _register(chain, registry, factory)
    _anchor(chain, registry, factory, log_id, 100)
    with reverts_with(registry, "RegistryStaleCheckpoint", log_id, 100, 100):  # replay
        _anchor_call(registry, factory, log_id, 100).transact({"from": relayer.address})
    with reverts_with(registry, "RegistryStaleCheckpoint", log_id, 99, 100):  # older
        _anchor_call(registry, factory, log_id, 99).transact({"from": relayer.address})
    _anchor(chain, registry, factory, log_id, 200, merkle.consistency_proof(LEAVES[:200], 100))
    with reverts_with(registry, "RegistryStaleCheckpoint", log_id, 150, 200):
        _anchor_call(registry, factory, log_id, 150, merkle.consistency_proof(LEAVES[:150], 100)) \
            .transact({"from": relayer.address})


@pytest.mark.parametrize("how", [
    "empty", "garbage", "short", "wrong signer", "other root", "other size", "other log",
    "other chain id", "other registry", "high s",
])
def test_a_checkpoint_needs_the_factorys_signature(chain, registry, factory, relayer, stranger, how):
    log_id = _register(chain, registry, factory)
    other_log = _register(chain, registry, factory, "line-b/telemetry")
    root = merkle.root(LEAVES[:10])

    def good(log=log_id, size=10, r=root, **domain):
        return sign(factory, checkpoint_message(registry, log, size, r, domain))

    def high_s():  # the same signature, malleated: (r, n - s, v ^ 1); ECDSA refuses high s
        sig = good()
        r, s, v = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
        return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([v ^ 1])

    signature = {
        "empty": lambda: b"",
        "garbage": lambda: b"\x07" * 65,
        "short": lambda: good()[:64],
        "wrong signer": lambda: sign(stranger, checkpoint_message(registry, log_id, 10, root)),
        "other root": lambda: good(r=merkle.root(LEAVES[:11])),
        "other size": lambda: good(size=11),
        "other log": lambda: good(log=other_log),
        "other chain id": lambda: good(chainId=1),
        "other registry": lambda: good(verifyingContract=stranger.address),
        "high s": high_s,
    }[how]()
    with reverts_with(registry, "RegistryInvalidSignature", log_id, factory.address):
        _anchor_call(registry, factory, log_id, 10, root=root, signature=signature) \
            .transact({"from": relayer.address})
    assert registry.functions.latestCheckpoint(log_id).call() == [0, ZERO32, 0]


@pytest.mark.parametrize("how", [
    "no proof", "flipped bit", "dropped hash", "extra hash", "proof from another size",
    "rewritten history", "unrelated root",
])
def test_a_checkpoint_must_extend_the_last(chain, registry, factory, relayer, how):
    log_id = _register(chain, registry, factory)
    _anchor(chain, registry, factory, log_id, 300)
    proof = merkle.consistency_proof(LEAVES[:1000], 300)
    forked = LEAVES[:299] + [merkle.leaf_hash(b"rewritten")] + LEAVES[300:]
    root = merkle.root(LEAVES)
    if how == "no proof":
        proof = []
    elif how == "flipped bit":
        proof = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    elif how == "dropped hash":
        proof = proof[:-1]
    elif how == "extra hash":
        proof = [*proof, LEAVES[0]]
    elif how == "proof from another size":
        proof = merkle.consistency_proof(LEAVES[:1000], 299)
    elif how == "rewritten history":  # a correct proof of a tree that rewrote leaf 299
        proof, root = merkle.consistency_proof(forked, 300), merkle.root(forked)
    elif how == "unrelated root":
        root = merkle.root(_leaves(1000, seed="other"))
    with reverts_with(registry, "RegistryInconsistentCheckpoint", log_id, 300, 1000):
        _anchor_call(registry, factory, log_id, 1000, proof, root=root).transact({"from": relayer.address})
    assert registry.functions.latestCheckpoint(log_id).call()[0] == 300
    # The genuine proof still goes through.
    _anchor(chain, registry, factory, log_id, 1000, merkle.consistency_proof(LEAVES, 300), sender=relayer)


# ------------------------------------------------------------------ verifyInclusion


def test_verify_inclusion_against_stored_roots(chain, registry, factory):
    log_id = _register(chain, registry, factory)
    _anchor(chain, registry, factory, log_id, 600)
    _anchor(chain, registry, factory, log_id, 1000, merkle.consistency_proof(LEAVES, 600))
    verify = registry.functions.verifyInclusion
    for size in (600, 1000):
        leaves = LEAVES[:size]
        for index in (0, 1, 255, 256, 511, 599, size - 1):
            proof = merkle.inclusion_proof(leaves, index)
            assert verify(log_id, size, index, leaves[index], proof).call() is True
            assert verify(log_id, size, index, leaves[index - 1], proof).call() is False
            assert verify(log_id, size, (index + 1) % size, leaves[index], proof).call() is False
            assert verify(log_id, size, index, leaves[index], proof[:-1]).call() is False
    proof = merkle.inclusion_proof(LEAVES[:700], 5)
    assert verify(log_id, 700, 5, LEAVES[5], proof).call() is False  # size 700 never anchored
    assert verify(log_id, 1000, 1000, LEAVES[5], proof).call() is False  # index beyond size
    other = _log_id(factory.address, "other")
    proof = merkle.inclusion_proof(LEAVES, 5)
    assert verify(other, 1000, 5, LEAVES[5], proof).call() is False  # unknown log


def test_views_of_an_unknown_log_are_zero(registry):
    log_id = b"\x42" * 32
    assert registry.functions.factoryOf(log_id).call() == ZERO_ADDRESS
    assert registry.functions.latestCheckpoint(log_id).call() == [0, ZERO32, 0]
    assert registry.functions.rootAt(log_id, 1).call() == ZERO32


# ------------------------------------------------------------------------- ERC-1271


@pytest.fixture
def wallet(chain, factory):
    """A smart-contract wallet whose signatures come from the factory's key."""
    return chain.deploy("TestWallet1271", factory.address)


def test_a_contract_wallet_factory_registers_through_a_relayer_and_anchors(chain, registry, wallet,
                                                                          factory, relayer, stranger):
    signature = sign(factory, register_log_message(registry, wallet.address, STREAM))
    receipt = chain.transact(registry.functions.registerLog(wallet.address, STREAM, signature), relayer)
    (event,) = registry.events.LogRegistered().process_receipt(receipt)
    log_id = _log_id(wallet.address, STREAM)
    assert (event.args.logId, event.args.factory) == (log_id, wallet.address)

    _anchor(chain, registry, factory, log_id, 10, sender=relayer)  # the owner key signs for it
    proof = merkle.consistency_proof(LEAVES[:20], 10)
    with reverts_with(registry, "RegistryInvalidSignature", log_id, wallet.address):
        _anchor_call(registry, factory, log_id, 20, proof, signature=b"").transact({"from": relayer.address})
    with reverts_with(registry, "RegistryInvalidSignature", log_id, wallet.address):
        _anchor_call(registry, stranger, log_id, 20, proof).transact({"from": relayer.address})
    _anchor(chain, registry, factory, log_id, 20, proof, sender=relayer)
    assert registry.functions.latestCheckpoint(log_id).call()[:2] == [20, merkle.root(LEAVES[:20])]


def test_a_contract_wallet_registers_its_own_log(chain, registry, wallet, factory, relayer, stranger):
    call = registry.functions.registerLog(wallet.address, STREAM, b"")._encode_transaction_data()
    receipt = chain.transact(wallet.functions.execute(registry.address, call), factory)
    (event,) = registry.events.LogRegistered().process_receipt(receipt)
    assert event.args.factory == wallet.address
    # A relayer with a signature by the wrong key cannot register another stream for it.
    bad = sign(stranger, register_log_message(registry, wallet.address, "line-b"))
    with reverts_with(registry, "RegistryInvalidSignature", _log_id(wallet.address, "line-b"), wallet.address):
        registry.functions.registerLog(wallet.address, "line-b", bad).transact({"from": relayer.address})
