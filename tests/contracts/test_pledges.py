"""contracts/DataPledgeRegistry.sol, pledges (IDataPledges): ERC-721 liens on anchored log ranges.

Consents are signed with eth-account's EIP-712 encoder and ledger.chain.client's
PLEDGE_CONSENT_TYPES, as the service signs them. Every revert asserts the exact custom error
and its arguments. Time moves with eth-tester's time travel: ``travel_to(w3, t)`` makes ``t``
the ``block.timestamp`` of the next transaction (calls then run at ``t - 1``).

Reverts of ``issue`` are checked with a call at the next block (``Desk.issue_call``, the time
and number a transaction would have), not with ``.transact()``: web3's eth-tester provider
decodes revert data as ``Error(string)`` whenever it can, which turns PledgeInvalidTerms
(a custom error with one string) into a bare message and chokes on some other arguments.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.contract import Contract

from ledger import merkle
from ledger.chain.client import PLEDGE_TERMS_FIELDS
from tests.contracts.evm import (
    Chain,
    checkpoint_message,
    collapse,
    emitted,
    next_timestamp,
    pledge_consent_message,
    pledge_extension_message,
    raw_call,
    register_log_message,
    reverts_with,
    sign,
    travel_to,
)

NONE, LIVE, RELEASED, DEFAULTED, LAPSED = range(5)  # IDataPledges.PledgeStatus
HOUR, DAY = 3600, 86400
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
LEAVES = [merkle.leaf_hash(f"record/{i}".encode()) for i in range(64)]
UINT64_MAX = 2**64 - 1

pytestmark = pytest.mark.usefixtures("fresh_state")


# ------------------------------------------------------------------------------ setup


@dataclass
class Env:
    chain: Chain
    registry: Contract
    admin: LocalAccount
    factory: LocalAccount
    lender: LocalAccount  # approved lender A
    other: LocalAccount  # approved lender B
    third: LocalAccount  # approved lender C (revoked in one test)
    stranger: LocalAccount  # never approved
    relayer: LocalAccount
    wallet_owner: LocalAccount
    log: bytes  # anchored at sizes 40 and 64
    log_b: bytes  # another log of the same factory, anchored at 40


def register_and_anchor(chain: Chain, registry: Contract, factory: LocalAccount, stream: str,
                        sizes: list[int], signer: LocalAccount | None = None,
                        sender: LocalAccount | None = None) -> bytes:
    """Register ``stream`` of ``factory`` (an EOA, or a wallet whose key is ``signer``) and
    anchor checkpoints of ``sizes`` (real trees of LEAVES and consistency proofs)."""
    signer = signer or factory
    sender = sender or factory
    address = getattr(factory, "address", factory)
    signature = sign(signer, register_log_message(registry, address, stream))
    chain.transact(registry.functions.registerLog(address, stream, signature), sender)
    log_id = registry.functions.logIdOf(address, stream).call()
    previous = 0
    for size in sizes:
        root = merkle.root(LEAVES[:size])
        proof = merkle.consistency_proof(LEAVES[:size], previous) if previous else []
        signature = sign(signer, checkpoint_message(registry, log_id, size, root))
        chain.transact(registry.functions.anchor(log_id, size, root, proof, signature), sender)
        previous = size
    return log_id


@pytest.fixture(scope="module")
def env(chain) -> Env:
    accounts = chain.accounts
    admin, factory, lender, other, third, stranger, relayer, wallet_owner = accounts[:8]
    registry = chain.deploy("DataPledgeRegistry", sender=admin)
    role = registry.functions.LENDER_ROLE().call()
    for account in (lender, other, third):
        chain.transact(registry.functions.grantRole(role, account.address), admin)
    log = register_and_anchor(chain, registry, factory, "line-a/telemetry", [40, 64])
    log_b = register_and_anchor(chain, registry, factory, "line-b/telemetry", [40])
    # Leave the wall clock behind: every block is then one second after its parent, and a
    # transaction runs at exactly the pending block's timestamp (and so does gas estimation).
    travel_to(chain.w3, next_timestamp(chain.w3) + 30 * DAY)
    return Env(chain, registry, admin, factory, lender, other, third, stranger, relayer,
               wallet_owner, log, log_b)


class Desk:
    """Consent + issue in one call, with fresh nonces and terms relative to chain time."""

    def __init__(self, env: Env):
        self.env = env
        self.registry = env.registry
        self.w3 = env.chain.w3
        self._nonces = itertools.count(1000)

    def now(self) -> int:
        """``block.timestamp`` of the next transaction."""
        return next_timestamp(self.w3)

    def nonce(self) -> int:
        return next(self._nonces)

    def terms(self, start: int, end: int, *, log: bytes | None = None, size: int = 40,
              lender: LocalAccount | None = None, maturity: int | None = None,
              lien_end: int | None = None, **fields) -> dict:
        """PledgeTerms as a dict (ABI field order); maturity in an hour, lien end in 30 days,
        extensible by the holder alone for 90 days more."""
        now = self.now()
        terms = {
            "logId": log or self.env.log, "start": start, "end": end, "checkpointSize": size,
            "assetDigest": keccak(text=f"manifest {start}-{end}"), "principal": 250_000_00,
            "currency": b"CNY",
            "maturity": now + HOUR if maturity is None else maturity,
            "lienEnd": now + 30 * DAY if lien_end is None else lien_end,
            "maxLienEnd": (now + 30 * DAY if lien_end is None else lien_end) + 90 * DAY,
            "samples": 16, "loanRefDigest": keccak(text="loan 2024-17"),
            "lender": (lender or self.env.lender).address, "covenantsDigest": ZERO32,
        }
        terms.update(fields)
        assert list(terms) == [f["name"] for f in PLEDGE_TERMS_FIELDS]
        return terms

    def sign(self, terms: dict, nonce: int, deadline: int, signer: LocalAccount | None = None,
             **domain_override) -> bytes:
        message = pledge_consent_message(self.registry, terms, nonce, deadline, domain_override)
        return sign(signer or self.env.factory, message)

    def issue_fn(self, terms: dict, *, nonce: int | None = None, deadline: int | None = None,
                 signature: bytes | None = None, hint: int = 0, signer: LocalAccount | None = None):
        """The bound ``issue`` call for ``terms`` with the factory's consent (signed here)."""
        nonce = self.nonce() if nonce is None else nonce
        deadline = self.now() + HOUR if deadline is None else deadline
        if signature is None:
            signature = self.sign(terms, nonce, deadline, signer)
        return self.registry.functions.issue(as_tuple(terms), nonce, deadline, signature, hint)

    def issue_call(self, terms: dict, *, sender: LocalAccount | None = None, **kwargs) -> int:
        """Consent and run ``issue`` as a call at the next block (its time and number), so a
        revert raises ``TransactionFailed`` with the raw revert data (see ``raw_call``)."""
        sender_address = sender.address if sender else terms["lender"]
        (token_id,) = raw_call(self.issue_fn(terms, **kwargs), sender_address, "pending")
        return token_id

    def issue_receipt(self, terms: dict, *, sender: LocalAccount | None = None, **kwargs):
        """Consent and issue (a transaction); asserts success and returns (token id, receipt)."""
        receipt = self.send(self.issue_fn(terms, **kwargs), sender or terms["lender"])
        (token_id,) = [args["tokenId"] for name, args in emitted(self.registry, receipt) if name == "PledgeIssued"]
        return token_id, receipt

    def issue(self, terms: dict, **kwargs) -> int:
        """Consent and issue; asserts success and returns the new token id."""
        return self.issue_receipt(terms, **kwargs)[0]

    def send(self, fn, sender: LocalAccount | str):
        """Transact ``fn`` from ``sender`` and assert it succeeded; returns the receipt.

        Gas is given, which skips web3's estimate (a binary search of a dozen executions)."""
        sender = getattr(sender, "address", sender)
        tx = fn.transact({"from": sender, "gas": 3_000_000})
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        assert receipt.status == 1, f"{fn.fn_name} from {sender} reverted"
        return receipt

    def status(self, token_id: int, block="latest") -> int:
        return self.registry.functions.pledgeStatus(token_id).call(block_identifier=block)

    def liens(self, log: bytes | None = None) -> list[int]:
        return self.registry.functions.liensOf(log or self.env.log).call()


@pytest.fixture
def desk(env) -> Desk:
    return Desk(env)


def as_tuple(terms: dict) -> tuple:
    return tuple(terms[f["name"]] for f in PLEDGE_TERMS_FIELDS)


def safe_transfer(registry: Contract, *args):
    """``safeTransferFrom`` with (from, to, id) or (from, to, id, data)."""
    signature = "safeTransferFrom(address,address,uint256" + (",bytes)" if len(args) == 4 else ")")
    return registry.get_function_by_signature(signature)(*args)


# ------------------------------------------------------------------- roles, ERC-165, EIP-712


def test_lender_role_is_managed_by_the_admin(env, desk):
    registry, admin = env.registry, env.admin
    role = registry.functions.LENDER_ROLE().call()
    assert role == keccak(text="LENDER_ROLE")
    assert registry.functions.getRoleAdmin(role).call() == ZERO32  # DEFAULT_ADMIN_ROLE
    assert registry.functions.hasRole(role, env.lender.address).call()
    assert not registry.functions.hasRole(role, env.stranger.address).call()
    receipt = desk.send(registry.functions.grantRole(role, env.stranger.address), admin)
    assert emitted(registry, receipt) == [
        ("RoleGranted", {"role": role, "account": env.stranger.address, "sender": admin.address})]
    assert registry.functions.hasRole(role, env.stranger.address).call()
    assert (registry.functions.name().call(), registry.functions.symbol().call()) == ("Data Pledge", "DPLG")


@pytest.mark.parametrize("who", ["stranger", "lender", "factory"])
def test_only_the_admin_grants_or_revokes_lenders(env, who):
    registry, caller = env.registry, getattr(env, who)
    role = registry.functions.LENDER_ROLE().call()
    with reverts_with(registry, "AccessControlUnauthorizedAccount", caller.address, ZERO32):
        registry.functions.grantRole(role, env.stranger.address).transact({"from": caller.address})
    with reverts_with(registry, "AccessControlUnauthorizedAccount", caller.address, ZERO32):
        registry.functions.revokeRole(role, env.other.address).transact({"from": caller.address})
    assert not registry.functions.hasRole(role, env.stranger.address).call()
    assert registry.functions.hasRole(role, env.other.address).call()


def _interface_id(registry: Contract, names: set[str]) -> bytes:
    """ERC-165 id of the functions ``names``: the XOR of their selectors."""
    interface_id = 0
    for f in registry.abi:
        if f["type"] == "function" and f["name"] in names:
            sig = f"{f['name']}({','.join(collapse(i) for i in f['inputs'])})"
            interface_id ^= int.from_bytes(keccak(text=sig)[:4], "big")
    return interface_id.to_bytes(4, "big")


def test_supports_the_erc721_access_control_and_registry_interfaces(env):
    supports = env.registry.functions.supportsInterface
    pledges = _interface_id(env.registry, {
        "issue", "release", "declareDefault", "extend", "extendWithConsent", "pledge", "pledgeStatus", "liensOf",
        "issueHint", "consentNonceUsed", "pledgeConsentDigest", "pledgeExtensionDigest", "LENDER_ROLE"})
    directory = _interface_id(env.registry, {"listFactory", "delistFactory", "factoryListing"})
    registry = _interface_id(env.registry, {
        "logIdOf", "registerLog", "anchor", "factoryOf", "latestCheckpoint", "rootAt",
        "verifyInclusion", "checkpointDigest", "registerLogDigest"})
    for interface_id in (bytes.fromhex("80ac58cd"),  # ERC-721
                         bytes.fromhex("5b5e139f"),  # ERC-721 metadata
                         bytes.fromhex("7965db0b"),  # AccessControl
                         bytes.fromhex("01ffc9a7"),  # ERC-165
                         registry, pledges, directory):
        assert supports(interface_id).call() is True, interface_id.hex()
    for interface_id in ("ffffffff", "780e9d63", "00000000"):  # invalid, ERC-721 enumerable, none
        assert supports(bytes.fromhex(interface_id)).call() is False, interface_id


def test_consent_digest_matches_eth_account(env, desk):
    terms = desk.terms(3, 17, currency=b"EUR")
    message = pledge_consent_message(env.registry, terms, 42, 1_900_000_000)
    ours = _hash_eip191_message(encode_typed_data(full_message=message))
    assert env.registry.functions.pledgeConsentDigest(terms, 42, 1_900_000_000).call() == ours
    assert Account.sign_typed_data(env.factory.key, full_message=message).message_hash == ours
    # Every field is signed: changing any one changes the digest.
    digests = {ours}
    for name, value in [("start", 4), ("end", 18), ("checkpointSize", 64), ("principal", 1),
                        ("currency", b"USD"), ("maturity", 1), ("lienEnd", 2), ("samples", 3),
                        ("assetDigest", b"\x01" * 32), ("loanRefDigest", b"\x02" * 32),
                        ("logId", env.log_b), ("lender", env.other.address),
                        ("covenantsDigest", b"\x03" * 32)]:
        digests.add(env.registry.functions.pledgeConsentDigest({**terms, name: value}, 42, 1_900_000_000).call())
    digests.add(env.registry.functions.pledgeConsentDigest(terms, 43, 1_900_000_000).call())
    digests.add(env.registry.functions.pledgeConsentDigest(terms, 42, 1_900_000_001).call())
    assert len(digests) == 16


# ---------------------------------------------------------------------------------- issue


def test_issue_mints_to_the_lender_with_its_event_and_views(env, desk):
    registry, lender, factory = env.registry, env.lender, env.factory
    terms = desk.terms(5, 25)
    nonce, deadline = 7, desk.now() + HOUR
    fn = desk.issue_fn(terms, nonce=nonce, deadline=deadline)
    assert fn.call({"from": lender.address}) == 1  # the returned token id
    assert registry.functions.consentNonceUsed(factory.address, nonce).call() is False

    receipt = desk.send(fn, lender)
    assert emitted(registry, receipt) == [
        ("Transfer", {"from": ZERO_ADDRESS, "to": lender.address, "tokenId": 1}),
        ("PledgeIssued", {"tokenId": 1, "logId": env.log, "lender": lender.address,
                          "factory": factory.address, "terms": terms, "nonce": nonce}),
    ]
    assert registry.functions.ownerOf(1).call() == lender.address
    assert registry.functions.balanceOf(lender.address).call() == 1
    assert registry.functions.pledge(1).call() == [as_tuple(terms), LIVE, factory.address, receipt.blockNumber]
    assert desk.status(1) == LIVE
    assert registry.functions.consentNonceUsed(factory.address, nonce).call() is True
    assert registry.functions.consentNonceUsed(env.other.address, nonce).call() is False
    assert desk.liens() == [1]
    assert desk.liens(env.log_b) == []


def test_the_covenants_digest_is_signed_and_round_trips_in_the_event_and_the_view(env, desk):
    """The terms commit to the covenants agreed with the loan (covenantsDigest): the factory
    signs it, the event and pledge() give it back; a signature over other covenants (or none)
    does not issue; zero (no covenants) issues as before."""
    registry, lender, factory = env.registry, env.lender, env.factory
    digest = keccak(text="dpl-covenants/1 set")  # any 32 bytes: the registry only carries it
    terms = desk.terms(5, 25, covenantsDigest=digest)
    nonce = desk.nonce()
    deadline = desk.now() + HOUR
    # the factory signed other covenants (or none): the lender's terms with this digest do not verify
    for signed_digest in (keccak(text="another set"), ZERO32):
        forged = desk.sign({**terms, "covenantsDigest": signed_digest}, nonce, deadline)
        with reverts_with(registry, "PledgeInvalidSignature", factory.address):
            desk.issue_call(terms, nonce=nonce, deadline=deadline, signature=forged)
    receipt = desk.send(desk.issue_fn(terms, nonce=nonce, deadline=deadline), lender)
    (issued,) = [args for name, args in emitted(registry, receipt) if name == "PledgeIssued"]
    assert issued["terms"]["covenantsDigest"] == digest and issued["terms"] == terms
    view = registry.functions.pledge(1).call()
    assert view[0] == as_tuple(terms) and view[0][-1] == digest
    plain = desk.issue(desk.terms(30, 40))  # an old-style pledge: no covenants
    assert registry.functions.pledge(plain).call()[0][-1] == ZERO32


def test_token_ids_count_up_and_disjoint_ranges_coexist(env, desk):
    first = desk.issue(desk.terms(0, 10))
    second = desk.issue(desk.terms(10, 20, lender=env.other))  # adjacent: [0,10) and [10,20)
    third = desk.issue(desk.terms(0, 10, log=env.log_b))  # the same range of another log
    fourth = desk.issue(desk.terms(20, 64, size=64))  # within the larger checkpoint
    assert [first, second, third, fourth] == [1, 2, 3, 4]
    assert desk.liens() == [1, 2, 4]
    assert desk.liens(env.log_b) == [3]
    assert env.registry.functions.ownerOf(2).call() == env.other.address
    assert env.registry.functions.balanceOf(env.lender.address).call() == 3


def test_unknown_pledge_views_are_empty(env, desk):
    assert desk.status(1) == NONE
    assert env.registry.functions.pledge(1).call() == [
        (ZERO32, 0, 0, 0, ZERO32, 0, b"\x00\x00\x00", 0, 0, 0, 0, ZERO32, ZERO_ADDRESS, ZERO32), NONE, ZERO_ADDRESS, 0]
    assert desk.liens() == []
    assert env.registry.functions.issueHint(env.log, 10).call() == 0


def test_a_consent_is_good_until_its_deadline_second(env, desk):
    deadline = desk.now()  # the issue runs at exactly this block.timestamp
    assert desk.issue(desk.terms(0, 5), deadline=deadline) == 1


def test_an_expired_consent_fails(env, desk):
    deadline = desk.now() - 1
    with reverts_with(env.registry, "PledgeConsentExpired", deadline):
        desk.issue_call(desk.terms(0, 5), deadline=deadline)
    # Later still, a consent that was good when signed has expired.
    deadline = desk.now() + 10
    terms = desk.terms(0, 5)
    signature = desk.sign(terms, 1, deadline)
    travel_to(desk.w3, deadline + 1)
    with reverts_with(env.registry, "PledgeConsentExpired", deadline):
        desk.issue_call(terms, nonce=1, deadline=deadline, signature=signature)
    assert desk.liens() == []


def test_only_the_named_lender_may_issue(env, desk):
    terms = desk.terms(0, 5)  # names env.lender
    for caller in (env.other, env.stranger, env.factory):
        with reverts_with(env.registry, "PledgeWrongLender", caller.address, env.lender.address):
            desk.issue_call(terms, sender=caller)
    assert desk.liens() == []


def test_an_unapproved_lender_cannot_issue(env, desk):
    terms = desk.terms(0, 5, lender=env.stranger)  # the factory consents, but the lender is not approved
    with reverts_with(env.registry, "PledgeLenderNotApproved", env.stranger.address):
        desk.issue_call(terms)


def test_a_pledge_of_an_unknown_log_fails(env, desk):
    unknown = env.registry.functions.logIdOf(env.factory.address, "never-registered").call()
    with reverts_with(env.registry, "RegistryUnknownLog", unknown):
        desk.issue_call(desk.terms(0, 5, log=unknown))


def test_a_consent_is_used_once(env, desk):
    terms = desk.terms(0, 5)
    deadline = desk.now() + HOUR
    signature = desk.sign(terms, 77, deadline)
    desk.issue(terms, nonce=77, deadline=deadline, signature=signature)
    desk.send(env.registry.functions.release(1), env.lender)  # even with the range free again
    with reverts_with(env.registry, "PledgeConsentReplayed", env.factory.address, 77):
        desk.issue_call(terms, nonce=77, deadline=deadline, signature=signature)
    # The nonce is the factory's, whatever the terms or the log.
    with reverts_with(env.registry, "PledgeConsentReplayed", env.factory.address, 77):
        desk.issue_call(desk.terms(10, 15, log=env.log_b), nonce=77)
    assert desk.liens() == [] and desk.liens(env.log_b) == []


@pytest.mark.parametrize("how", [
    "wrong signer", "lender signs", "empty", "garbage", "short",
    "principal changed", "range changed", "lien end changed", "currency changed", "lender changed",
    "nonce changed", "deadline changed", "other chain id", "other registry",
])
def test_the_consent_must_be_the_factorys_signature_of_these_terms(env, desk, how):
    terms = desk.terms(0, 5)
    nonce, deadline = 5, desk.now() + HOUR

    def good(t=terms, n=nonce, d=deadline, **domain):
        return desk.sign(t, n, d, **domain)

    signature, sent = {
        "wrong signer": lambda: (desk.sign(terms, nonce, deadline, env.stranger), terms),
        "lender signs": lambda: (desk.sign(terms, nonce, deadline, env.lender), terms),
        "empty": lambda: (b"", terms),
        "garbage": lambda: (b"\x07" * 65, terms),
        "short": lambda: (good()[:64], terms),
        "principal changed": lambda: (good(), {**terms, "principal": terms["principal"] * 10}),
        "range changed": lambda: (good(), {**terms, "end": 6}),
        "lien end changed": lambda: (good(), {**terms, "lienEnd": terms["lienEnd"] + DAY}),
        "currency changed": lambda: (good(), {**terms, "currency": b"USD"}),
        "lender changed": lambda: (good(), {**terms, "lender": env.other.address}),
        "nonce changed": lambda: (good(n=nonce + 1), terms),
        "deadline changed": lambda: (good(d=deadline + 1), terms),
        "other chain id": lambda: (good(chainId=env.chain.w3.eth.chain_id + 1), terms),
        "other registry": lambda: (good(verifyingContract=env.relayer.address), terms),
    }[how]()
    with reverts_with(env.registry, "PledgeInvalidSignature", env.factory.address):
        desk.issue_call(sent, nonce=nonce, deadline=deadline, signature=signature)
    assert env.registry.functions.consentNonceUsed(env.factory.address, nonce).call() is False


@pytest.mark.parametrize("start,end,size", [
    (5, 5, 40),  # empty
    (0, 0, 40),  # empty at 0
    (9, 3, 40),  # reversed
    (35, 41, 40),  # ends past the checkpoint
    (40, 41, 40),  # starts at the checkpoint's end
    (0, 65, 64),  # past the larger checkpoint too
    (0, 1, 0),  # the empty checkpoint
])
def test_the_range_must_be_non_empty_and_inside_the_checkpoint(env, desk, start, end, size):
    with reverts_with(env.registry, "PledgeInvalidRange", start, end, size):
        desk.issue_call(desk.terms(start, end, size=size))


def test_the_checkpoint_must_be_anchored(env, desk):
    # log A has checkpoints of 40 and 64, log B only of 40.
    for log, size in [(env.log, 50), (env.log, 39), (env.log_b, 64)]:
        with reverts_with(env.registry, "PledgeCheckpointNotAnchored", log, size):
            desk.issue_call(desk.terms(0, 10, log=log, size=size))
    assert desk.issue(desk.terms(0, 10, size=64)) == 1
    assert desk.issue(desk.terms(10, 20, size=40)) == 2


@pytest.mark.parametrize("reason,fields", [
    ("lienEnd has passed", lambda now: {"maturity": now - 10, "lienEnd": now}),
    ("lienEnd has passed", lambda now: {"maturity": now - 10, "lienEnd": now - 1}),
    ("maturity must be before lienEnd", lambda now: {"maturity": now + DAY, "lienEnd": now + DAY}),
    ("maturity must be before lienEnd", lambda now: {"maturity": now + DAY + 1, "lienEnd": now + DAY}),
    ("maxLienEnd must not be before lienEnd", lambda now: {"lienEnd": now + DAY, "maxLienEnd": now + DAY - 1}),
    ("maxLienEnd must not be before lienEnd", lambda now: {"lienEnd": now + DAY, "maxLienEnd": 0}),
    ("samples must be at least 1", lambda now: {"samples": 0}),
    ("principal must be positive", lambda now: {"principal": 0}),
    ("assetDigest is zero", lambda now: {"assetDigest": ZERO32}),
    ("currency must be three capital letters", lambda now: {"currency": b"cny"}),
    ("currency must be three capital letters", lambda now: {"currency": b"CN\x00"}),
    ("currency must be three capital letters", lambda now: {"currency": b"\x00\x00\x00"}),
    ("currency must be three capital letters", lambda now: {"currency": b"C1Y"}),
    ("currency must be three capital letters", lambda now: {"currency": b"@AB"}),  # '@' is 'A' - 1
    ("currency must be three capital letters", lambda now: {"currency": b"AB["}),  # '[' is 'Z' + 1
])
def test_unacceptable_terms_name_the_field(env, desk, reason, fields):
    terms = desk.terms(0, 5, **fields(desk.now()))
    with reverts_with(env.registry, "PledgeInvalidTerms", reason):
        desk.issue_call(terms)


def test_acceptable_edge_terms(env, desk):
    now = desk.now()
    # lien end one second after issue; maturity one second before it (or long past); A-Z ends.
    assert desk.issue(desk.terms(0, 1, maturity=now, lien_end=now + 1, currency=b"AZZ", samples=1, principal=1)) == 1
    assert desk.issue(desk.terms(1, 2, maturity=0, currency=b"ZZA")) == 2
    # a bound equal to the lien end: the holder can never extend without asking
    assert desk.issue(desk.terms(2, 3, lien_end=now + DAY, maxLienEnd=now + DAY)) == 3


def test_an_overlapping_range_fails_naming_the_blocking_pledge(env, desk):
    first = desk.issue(desk.terms(10, 20))
    second = desk.issue(desk.terms(20, 30, lender=env.other))
    for (start, end), blocker in {
        (15, 25): first, (0, 11): first, (19, 20): first, (0, 40): first, (10, 20): first,
        (12, 18): first, (20, 21): second, (29, 35): second, (25, 30): second,
    }.items():
        with reverts_with(env.registry, "PledgeRangeOverlaps", blocker):
            desk.issue_call(desk.terms(start, end, lender=env.other))
    # Touching ranges do not overlap; other logs are independent.
    desk.issue(desk.terms(0, 10))
    desk.issue(desk.terms(30, 40))
    desk.issue(desk.terms(12, 18, log=env.log_b))
    assert desk.liens() == [3, first, second, 4]


def test_a_second_pledge_of_a_range_fails_while_the_first_is_live_and_succeeds_after_release(env, desk):
    first = desk.issue(desk.terms(0, 20))
    with reverts_with(env.registry, "PledgeRangeOverlaps", first):
        desk.issue_call(desk.terms(5, 15, lender=env.other))
    desk.send(env.registry.functions.release(first), env.lender)
    second = desk.issue(desk.terms(5, 15, lender=env.other))
    assert desk.liens() == [second]


def test_a_second_pledge_of_a_range_succeeds_after_the_first_lapses(env, desk):
    lien_end = desk.now() + 2 * DAY
    first = desk.issue(desk.terms(0, 20, lien_end=lien_end))
    travel_to(desk.w3, lien_end - 1)  # the last second of the lien
    with reverts_with(env.registry, "PledgeRangeOverlaps", first):
        desk.issue_call(desk.terms(5, 15, lender=env.other))
    travel_to(desk.w3, lien_end)
    second = desk.issue(desk.terms(5, 15, lender=env.other))
    assert desk.liens() == [second]


@pytest.mark.parametrize("how", [
    "another log's pledge", "released pledge", "never issued", "the next pledge",
    "overlaps the range", "above uint64", "max uint256",
])
def test_an_invalid_hint_fails(env, desk, how):
    before = desk.issue(desk.terms(0, 10))  # 1
    after = desk.issue(desk.terms(30, 40))  # 2
    other_log = desk.issue(desk.terms(0, 10, log=env.log_b))  # 3
    released = desk.issue(desk.terms(10, 12))  # 4
    desk.send(env.registry.functions.release(released), env.lender)
    start, end, hint = {
        "another log's pledge": (12, 20, other_log),  # linked, and ends before 12, but in log B
        "released pledge": (12, 20, released),  # unlinked
        "never issued": (12, 20, 99),
        "the next pledge": (12, 20, after),  # ends after the start
        "overlaps the range": (9, 12, before),  # ends after the start (the overlap is not reached)
        "above uint64": (12, 20, 2**64),
        "max uint256": (12, 20, 2**256 - 1),
    }[how]
    with reverts_with(env.registry, "PledgeInvalidHint", hint):
        desk.issue_call(desk.terms(start, end), hint=hint)
    assert desk.liens() == [before, after]
    if how != "overlaps the range":  # the right hint works
        assert env.registry.functions.issueHint(env.log, start).call() == before
        assert desk.issue(desk.terms(start, end), hint=before) == 5
        assert desk.liens() == [before, 5, after]


def test_a_contract_wallet_factory_consents_by_erc1271(env, desk):
    chain, registry = env.chain, env.registry
    wallet = chain.deploy("TestWallet1271", env.wallet_owner.address)
    log = register_and_anchor(chain, registry, wallet.address, "line-w", [40],
                              signer=env.wallet_owner, sender=env.relayer)
    terms = desk.terms(0, 8, log=log)
    with reverts_with(registry, "PledgeInvalidSignature", wallet.address):  # the wrong key
        desk.issue_call(terms, nonce=1, signer=env.factory)
    token, receipt = desk.issue_receipt(terms, nonce=1, signer=env.wallet_owner)
    assert token == 1
    events = dict(emitted(registry, receipt))
    assert events["PledgeIssued"]["factory"] == wallet.address
    assert events["PledgeIssued"]["nonce"] == 1
    assert registry.functions.pledge(1).call()[2] == wallet.address
    assert registry.functions.consentNonceUsed(wallet.address, 1).call() is True
    assert registry.functions.consentNonceUsed(env.factory.address, 1).call() is False
    with reverts_with(registry, "PledgeConsentReplayed", wallet.address, 1):
        desk.issue_call(desk.terms(10, 18, log=log), nonce=1, signer=env.wallet_owner)
    assert desk.liens(log) == [1]


# ------------------------------------------------------------------------------ issueHint


def test_issue_hint_names_the_pledge_before_the_range(env, desk):
    hint = env.registry.functions.issueHint
    a = desk.issue(desk.terms(10, 15))
    b = desk.issue(desk.terms(20, 25))
    c = desk.issue(desk.terms(30, 35))
    expected = {0: 0, 9: 0, 10: 0, 14: 0, 15: a, 19: a, 20: a, 24: a, 25: b, 29: b, 30: b, 34: b,
                35: c, 39: c, 2**64 - 1: c}
    assert {start: hint(env.log, start).call() for start in expected} == expected
    assert hint(env.log_b, 30).call() == 0
    # Issuing before, between and after, each with its hint, keeps the list sorted by start.
    ids = {}
    for start, end in [(35, 40), (0, 10), (25, 30), (15, 20)]:
        ids[start] = desk.issue(desk.terms(start, end), hint=hint(env.log, start).call())
    assert desk.liens() == [ids[0], a, ids[15], b, ids[25], c, ids[35]]
    assert hint(env.log, 20).call() == ids[15]
    assert hint(env.log, 40).call() == ids[35]


def test_a_stale_or_zero_hint_still_issues_correctly(env, desk):
    hint = env.registry.functions.issueHint
    a = desk.issue(desk.terms(0, 5))
    b = desk.issue(desk.terms(10, 15))
    c = desk.issue(desk.terms(20, 25))
    d = desk.issue(desk.terms(30, 35), hint=a)  # too early: steps over b and c
    e = desk.issue(desk.terms(25, 30), hint=0)  # from the head
    f = desk.issue(desk.terms(5, 10), hint=0)
    g = desk.issue(desk.terms(15, 20), hint=a)
    assert desk.liens() == [a, f, b, g, c, e, d]
    assert [hint(env.log, s).call() for s in (5, 10, 15, 20, 25, 30, 35)] == [a, f, b, g, c, e, d]
    # A stale hint cannot skip a lien: the walk from it still finds the overlap.
    with reverts_with(env.registry, "PledgeRangeOverlaps", c):
        desk.issue_call(desk.terms(22, 23), hint=a)
    with reverts_with(env.registry, "PledgeRangeOverlaps", d):
        desk.issue_call(desk.terms(34, 36), hint=0)
    assert desk.liens() == [a, f, b, g, c, e, d]


def test_a_lapsed_but_linked_pledge_is_still_a_valid_hint(env, desk):
    lien_end = desk.now() + DAY
    early = desk.issue(desk.terms(0, 10, lien_end=lien_end))
    travel_to(desk.w3, lien_end + 1)
    assert desk.status(early) == LAPSED and desk.liens() == []
    assert env.registry.functions.issueHint(env.log, 10).call() == early  # still in the list
    later = desk.issue(desk.terms(10, 20), hint=early)
    assert desk.liens() == [later]


# ----------------------------------------------------------------------- holder actions


def test_actions_on_an_unknown_pledge_fail(env, desk):
    registry = env.registry
    desk.issue(desk.terms(0, 5))
    for token_id in (0, 2, 99):
        with reverts_with(registry, "PledgeUnknown", token_id):
            registry.functions.release(token_id).transact({"from": env.lender.address})
        with reverts_with(registry, "PledgeUnknown", token_id):
            registry.functions.declareDefault(token_id).transact({"from": env.lender.address})
        with reverts_with(registry, "PledgeUnknown", token_id):
            registry.functions.extend(token_id, UINT64_MAX).transact({"from": env.lender.address})


@pytest.mark.parametrize("who", ["other", "stranger", "factory", "admin"])
def test_only_the_holder_releases_defaults_or_extends(env, desk, who):
    registry, caller = env.registry, getattr(env, who)
    maturity = desk.now() + HOUR
    token = desk.issue(desk.terms(0, 5, maturity=maturity))
    travel_to(desk.w3, maturity)
    lien_end = registry.functions.pledge(token).call()[0][8]
    for fn in (registry.functions.release(token), registry.functions.declareDefault(token),
               registry.functions.extend(token, lien_end + DAY)):
        with reverts_with(registry, "PledgeNotHolder", token, caller.address):
            fn.transact({"from": caller.address})
    assert desk.status(token) == LIVE and desk.liens() == [token]
    assert registry.functions.ownerOf(token).call() == env.lender.address


def test_release_by_a_former_holder_fails(env, desk):
    token = desk.issue(desk.terms(0, 5))
    desk.send(env.registry.functions.transferFrom(env.lender.address, env.other.address, token), env.lender)
    with reverts_with(env.registry, "PledgeNotHolder", token, env.lender.address):
        env.registry.functions.release(token).transact({"from": env.lender.address})


def test_release_lifts_the_lien_and_burns_the_token(env, desk):
    registry, lender = env.registry, env.lender
    terms = desk.terms(0, 20)
    token = desk.issue(terms)
    receipt = desk.send(registry.functions.release(token), lender)
    assert emitted(registry, receipt) == [
        ("Transfer", {"from": lender.address, "to": ZERO_ADDRESS, "tokenId": token}),
        ("PledgeReleased", {"tokenId": token, "holder": lender.address}),
    ]
    with reverts_with(registry, "ERC721NonexistentToken", token):
        registry.functions.ownerOf(token).call()
    assert registry.functions.balanceOf(lender.address).call() == 0
    assert desk.status(token) == RELEASED
    stored, status, factory, _ = registry.functions.pledge(token).call()
    assert (stored, status, factory) == (as_tuple(terms), RELEASED, env.factory.address)
    assert desk.liens() == []
    assert registry.functions.issueHint(env.log, 30).call() == 0  # unlinked
    # Released is final.
    with reverts_with(registry, "PledgeWrongStatus", token, RELEASED):
        registry.functions.release(token).transact({"from": lender.address})
    with reverts_with(registry, "PledgeWrongStatus", token, RELEASED):
        registry.functions.declareDefault(token).transact({"from": lender.address})
    with reverts_with(registry, "PledgeWrongStatus", token, RELEASED):
        registry.functions.extend(token, UINT64_MAX).transact({"from": lender.address})
    with reverts_with(registry, "ERC721NonexistentToken", token):
        registry.functions.transferFrom(lender.address, env.other.address, token).transact({"from": lender.address})
    # The same range can be pledged again, to anyone.
    again = desk.issue(desk.terms(0, 20, lender=env.other))
    assert again == token + 1 and desk.liens() == [again]


def test_default_before_maturity_fails_and_from_maturity_on_succeeds(env, desk):
    registry, lender = env.registry, env.lender
    maturity = desk.now() + DAY
    token = desk.issue(desk.terms(0, 5, maturity=maturity))
    with reverts_with(registry, "PledgeNotMatured", token, maturity):
        registry.functions.declareDefault(token).transact({"from": lender.address})
    travel_to(desk.w3, maturity - 1)
    with reverts_with(registry, "PledgeNotMatured", token, maturity):
        registry.functions.declareDefault(token).transact({"from": lender.address})
    travel_to(desk.w3, maturity)
    receipt = desk.send(registry.functions.declareDefault(token), lender)
    assert emitted(registry, receipt) == [("PledgeDefaulted", {"tokenId": token, "holder": lender.address})]
    assert desk.status(token) == DEFAULTED
    assert registry.functions.ownerOf(token).call() == lender.address
    with reverts_with(registry, "PledgeWrongStatus", token, DEFAULTED):
        registry.functions.declareDefault(token).transact({"from": lender.address})
    with reverts_with(registry, "PledgeWrongStatus", token, DEFAULTED):
        registry.functions.extend(token, UINT64_MAX).transact({"from": lender.address})


def test_a_defaulted_pledge_keeps_its_lien_past_the_lien_end_until_released(env, desk):
    registry, lender = env.registry, env.lender
    now = desk.now()
    token = desk.issue(desk.terms(0, 20, maturity=now + HOUR, lien_end=now + DAY))
    travel_to(desk.w3, now + HOUR)
    desk.send(registry.functions.declareDefault(token), lender)
    travel_to(desk.w3, now + 365 * DAY)
    assert desk.status(token) == DEFAULTED
    assert desk.liens() == [token]
    with reverts_with(registry, "PledgeRangeOverlaps", token):
        desk.issue_call(desk.terms(10, 30, lender=env.other))
    # It still moves between lenders, and its holder releases it.
    desk.send(registry.functions.transferFrom(lender.address, env.other.address, token), lender)
    receipt = desk.send(registry.functions.release(token), env.other)
    assert ("PledgeReleased", {"tokenId": token, "holder": env.other.address}) in emitted(registry, receipt)
    assert desk.status(token) == RELEASED and desk.liens() == []
    assert desk.issue(desk.terms(10, 30, lender=env.other)) == token + 1


def test_extend_moves_the_lien_end(env, desk):
    registry, lender = env.registry, env.lender
    now = desk.now()
    old, new = now + DAY, now + 3 * DAY
    token = desk.issue(desk.terms(0, 20, maturity=now + HOUR, lien_end=old))
    travel_to(desk.w3, old - 1)  # the last second before the lien end
    receipt = desk.send(registry.functions.extend(token, new), lender)
    assert emitted(registry, receipt) == [("PledgeExtended", {"tokenId": token, "oldLienEnd": old, "newLienEnd": new})]
    terms = registry.functions.pledge(token).call()[0]
    assert terms[8] == new
    # The pledge lives on past its old lien end...
    travel_to(desk.w3, old + DAY)
    assert desk.status(token) == LIVE and desk.liens() == [token]
    with reverts_with(registry, "PledgeRangeOverlaps", token):
        desk.issue_call(desk.terms(5, 6, lender=env.other))
    # ...and lapses at the new one.
    travel_to(desk.w3, new)
    assert desk.status(token, "pending") == LAPSED
    with reverts_with(registry, "PledgeWrongStatus", token, LAPSED):
        registry.functions.extend(token, new + DAY).transact({"from": lender.address})
    assert desk.issue(desk.terms(5, 6, lender=env.other)) == token + 1


def test_extend_needs_a_later_lien_end(env, desk):
    registry, lender = env.registry, env.lender
    lien_end = desk.now() + DAY
    token = desk.issue(desk.terms(0, 5, lien_end=lien_end))
    for new in (lien_end, lien_end - 1, 0):
        with reverts_with(registry, "PledgeInvalidLienEnd", lien_end, new):
            registry.functions.extend(token, new).transact({"from": lender.address})
    desk.send(registry.functions.extend(token, lien_end + 1), lender)
    assert registry.functions.pledge(token).call()[0][8] == lien_end + 1


def test_extend_stops_at_the_bound_the_factory_signed(env, desk):
    """The holder alone may extend up to maxLienEnd, not to year 10000 or 2^64 - 1."""
    registry, lender = env.registry, env.lender
    lien_end = desk.now() + DAY
    bound = lien_end + 10 * DAY
    token = desk.issue(desk.terms(0, 5, lien_end=lien_end, maxLienEnd=bound))
    for new in (bound + 1, 253_402_300_800, UINT64_MAX):  # a second late, year 10000, the largest uint64
        with reverts_with(registry, "PledgeExtensionNotConsented", token, bound, new):
            registry.functions.extend(token, new).transact({"from": lender.address})
    desk.send(registry.functions.extend(token, bound), lender)
    assert registry.functions.pledge(token).call()[0][8:10] == (bound, bound)


def _extension(env, desk, token: int, new: int, *, nonce: int = 7, deadline: int | None = None,
               signer: LocalAccount | None = None, **domain_override):
    deadline = desk.now() + HOUR if deadline is None else deadline
    message = pledge_extension_message(env.registry, token, new, nonce, deadline, domain_override)
    signature = sign(signer or env.factory, message)
    return env.registry.functions.extendWithConsent(token, new, nonce, deadline, signature)


def test_the_extension_digest_matches_eth_account(env, desk):
    message = pledge_extension_message(env.registry, 3, 1_900_000_000, 42, 1_800_000_000)
    ours = _hash_eip191_message(encode_typed_data(full_message=message))
    assert env.registry.functions.pledgeExtensionDigest(3, 1_900_000_000, 42, 1_800_000_000).call() == ours


def test_extend_past_the_bound_with_the_factorys_signed_extension(env, desk):
    registry, lender = env.registry, env.lender
    lien_end = desk.now() + DAY
    token = desk.issue(desk.terms(0, 5, lien_end=lien_end, maxLienEnd=lien_end))
    new = lien_end + 365 * DAY
    receipt = desk.send(_extension(env, desk, token, new, nonce=99), lender)
    assert emitted(registry, receipt) == [("PledgeExtended", {"tokenId": token, "oldLienEnd": lien_end,
                                                              "newLienEnd": new})]
    assert registry.functions.pledge(token).call()[0][8:10] == (new, new)  # the bound follows
    assert registry.functions.consentNonceUsed(env.factory.address, 99).call() is True
    # the same signed extension cannot be used twice, nor its nonce for a consent
    with reverts_with(registry, "PledgeInvalidLienEnd", new, new):
        _extension(env, desk, token, new, nonce=99).transact({"from": lender.address})
    with reverts_with(registry, "PledgeConsentReplayed", env.factory.address, 99):
        _extension(env, desk, token, new + 1, nonce=99).transact({"from": lender.address})
    with reverts_with(registry, "PledgeConsentReplayed", env.factory.address, 99):
        desk.issue_call(desk.terms(10, 15), nonce=99)


@pytest.mark.parametrize("how", ["stranger signs", "lender signs", "other token", "other registry", "expired",
                                 "not the holder", "not later"])
def test_a_signed_extension_must_be_the_factorys_for_this_pledge(env, desk, how):
    registry, lender = env.registry, env.lender
    lien_end = desk.now() + DAY
    token = desk.issue(desk.terms(0, 5, lien_end=lien_end, maxLienEnd=lien_end))
    new, sender, signer, target, extra = lien_end + DAY, lender, None, token, {}
    error = ("PledgeInvalidSignature", env.factory.address)
    if how == "stranger signs":
        signer = env.stranger
    elif how == "lender signs":
        signer = lender
    elif how == "other token":
        other = desk.issue(desk.terms(5, 10, lien_end=lien_end, maxLienEnd=lien_end))
        fn = registry.functions.extendWithConsent(other, new, 7, desk.now() + HOUR,
                                                  sign(env.factory, pledge_extension_message(
                                                      registry, token, new, 7, desk.now() + HOUR)))
        with reverts_with(registry, *error):
            fn.transact({"from": lender.address})
        return
    elif how == "other registry":
        extra = {"verifyingContract": env.stranger.address}
    elif how == "expired":
        deadline = desk.now() - 1
        with reverts_with(registry, "PledgeConsentExpired", deadline):
            _extension(env, desk, token, new, deadline=deadline).transact({"from": lender.address})
        return
    elif how == "not the holder":
        sender = env.other
        error = ("PledgeNotHolder", token, env.other.address)
    elif how == "not later":
        new = lien_end
        error = ("PledgeInvalidLienEnd", lien_end, lien_end)
    with reverts_with(registry, *error):
        _extension(env, desk, target, new, signer=signer, **extra).transact({"from": sender.address})
    assert registry.functions.pledge(token).call()[0][8] == lien_end


def test_a_lapsed_or_defaulted_pledge_cannot_be_extended_even_with_consent(env, desk):
    registry, lender = env.registry, env.lender
    now = desk.now()
    token = desk.issue(desk.terms(0, 5, maturity=now + HOUR, lien_end=now + DAY))
    travel_to(desk.w3, now + DAY)
    with reverts_with(registry, "PledgeWrongStatus", token, LAPSED):
        _extension(env, desk, token, now + 9 * DAY).transact({"from": lender.address})
    defaulted = desk.issue(desk.terms(5, 10, maturity=desk.now(), lien_end=desk.now() + DAY))
    desk.send(registry.functions.declareDefault(defaulted), lender)
    with reverts_with(registry, "PledgeWrongStatus", defaulted, DEFAULTED):
        _extension(env, desk, defaulted, desk.now() + 9 * DAY).transact({"from": lender.address})


def test_a_lapsed_pledge_stops_blocking_and_is_unlinked_by_the_next_overlap(env, desk):
    registry, lender = env.registry, env.lender
    now = desk.now()
    lien_end = now + DAY
    lapsing = desk.issue(desk.terms(10, 20, maturity=now + HOUR, lien_end=lien_end))
    neighbour = desk.issue(desk.terms(20, 30))  # keeps its lien
    travel_to(desk.w3, lien_end)
    # The next transaction runs at lien_end: it sees the pledge lapsed; calls still see it live.
    assert desk.status(lapsing) == LIVE
    assert desk.status(lapsing, "pending") == LAPSED
    desk.w3.testing.mine(1)
    assert desk.status(lapsing) == LAPSED
    assert desk.liens() == [neighbour]  # the lapsed pledge holds no lien...
    assert registry.functions.issueHint(env.log, 20).call() == lapsing  # ...but is still listed
    assert registry.functions.ownerOf(lapsing).call() == lender.address
    # No default, no extension once lapsed.
    with reverts_with(registry, "PledgeWrongStatus", lapsing, LAPSED):
        registry.functions.declareDefault(lapsing).transact({"from": lender.address})
    with reverts_with(registry, "PledgeWrongStatus", lapsing, LAPSED):
        registry.functions.extend(lapsing, UINT64_MAX).transact({"from": lender.address})

    # An overlapping pledge goes through and unlinks it.
    replacement = desk.issue(desk.terms(15, 20, lender=env.other))
    assert desk.liens() == [replacement, neighbour]
    assert registry.functions.issueHint(env.log, 15).call() == 0
    with reverts_with(registry, "PledgeInvalidHint", lapsing):  # no longer in the list
        desk.issue_call(desk.terms(0, 5), hint=lapsing)
    # Its holder still holds it, and may release it (burn), which touches no other lien.
    assert desk.status(lapsing) == LAPSED
    receipt = desk.send(registry.functions.release(lapsing), lender)
    assert ("PledgeReleased", {"tokenId": lapsing, "holder": lender.address}) in emitted(registry, receipt)
    assert desk.status(lapsing) == RELEASED
    assert desk.liens() == [replacement, neighbour]


def test_releasing_a_lapsed_pledge_that_is_still_listed_unlinks_it(env, desk):
    registry, lender = env.registry, env.lender
    lien_end = desk.now() + DAY
    a = desk.issue(desk.terms(0, 10))
    b = desk.issue(desk.terms(10, 20, lien_end=lien_end))
    c = desk.issue(desk.terms(20, 30))
    travel_to(desk.w3, lien_end + 1)
    assert registry.functions.issueHint(env.log, 20).call() == b
    desk.send(registry.functions.release(b), lender)
    assert registry.functions.issueHint(env.log, 20).call() == a
    assert desk.liens() == [a, c]
    assert desk.issue(desk.terms(10, 20), hint=a) == c + 1
    assert desk.liens() == [a, c + 1, c]


# -------------------------------------------------------------------------------- transfers


def test_a_pledge_moves_between_approved_lenders(env, desk):
    registry, lender, other = env.registry, env.lender, env.other
    token = desk.issue(desk.terms(0, 5))
    receipt = desk.send(registry.functions.transferFrom(lender.address, other.address, token), lender)
    assert emitted(registry, receipt) == [
        ("Transfer", {"from": lender.address, "to": other.address, "tokenId": token}),
        ("PledgeTransferred", {"tokenId": token, "from": lender.address, "to": other.address}),
    ]
    assert registry.functions.ownerOf(token).call() == other.address
    assert registry.functions.balanceOf(lender.address).call() == 0
    # safeTransferFrom (both forms) to an EOA lender, and back.
    receipt = desk.send(safe_transfer(registry, other.address, lender.address, token), other)
    assert ("PledgeTransferred", {"tokenId": token, "from": other.address, "to": lender.address}) \
        in emitted(registry, receipt)
    desk.send(safe_transfer(registry, lender.address, env.third.address, token, b"loan 17"), lender)
    assert registry.functions.ownerOf(token).call() == env.third.address
    # The terms still name the issuing lender; the holder is the token's owner.
    assert registry.functions.pledge(token).call()[0][12] == lender.address
    assert desk.status(token) == LIVE and desk.liens() == [token]


@pytest.mark.parametrize("operator", ["stranger", "other"])
def test_no_operator_can_be_approved_so_only_the_holder_moves_a_pledge(env, desk, operator):
    """An approved operator could move a pledge without being a lender (only the receiver was
    checked): approvals are off, for lenders and strangers alike."""
    registry, lender, who = env.registry, env.lender, getattr(env, operator)
    token = desk.issue(desk.terms(0, 5))
    for fn in (registry.functions.approve(who.address, token), registry.functions.setApprovalForAll(who.address, True),
               registry.functions.setApprovalForAll(who.address, False)):
        with reverts_with(registry, "PledgeApprovalsDisabled"):
            fn.transact({"from": lender.address})
    assert registry.functions.getApproved(token).call() == ZERO_ADDRESS
    assert registry.functions.isApprovedForAll(lender.address, who.address).call() is False
    with reverts_with(registry, "ERC721InsufficientApproval", who.address, token):
        registry.functions.transferFrom(lender.address, env.third.address, token).transact({"from": who.address})
    assert registry.functions.ownerOf(token).call() == lender.address


@pytest.mark.parametrize("to", ["stranger", "factory", "relayer"])
def test_a_pledge_cannot_move_to_an_unapproved_address(env, desk, to):
    registry, lender, receiver = env.registry, env.lender, getattr(env, to)
    token = desk.issue(desk.terms(0, 5))
    for fn in (registry.functions.transferFrom(lender.address, receiver.address, token),
               safe_transfer(registry, lender.address, receiver.address, token),
               safe_transfer(registry, lender.address, receiver.address, token, b"x")):
        with reverts_with(registry, "PledgeLenderNotApproved", receiver.address):
            fn.transact({"from": lender.address})
    assert registry.functions.ownerOf(token).call() == lender.address


@pytest.mark.parametrize("who", ["other", "stranger", "factory"])
def test_a_non_holder_cannot_transfer(env, desk, who):
    registry, lender, caller = env.registry, env.lender, getattr(env, who)
    token = desk.issue(desk.terms(0, 5))
    for fn in (registry.functions.transferFrom(lender.address, env.other.address, token),
               safe_transfer(registry, lender.address, env.other.address, token),
               safe_transfer(registry, lender.address, env.other.address, token, b"")):
        with reverts_with(registry, "ERC721InsufficientApproval", caller.address, token):
            fn.transact({"from": caller.address})
    assert registry.functions.ownerOf(token).call() == lender.address


def test_other_erc721_transfer_errors(env, desk):
    registry, lender = env.registry, env.lender
    token = desk.issue(desk.terms(0, 5))
    with reverts_with(registry, "ERC721InvalidReceiver", ZERO_ADDRESS):
        registry.functions.transferFrom(lender.address, ZERO_ADDRESS, token).transact({"from": lender.address})
    with reverts_with(registry, "ERC721IncorrectOwner", env.other.address, token, lender.address):
        registry.functions.transferFrom(env.other.address, env.third.address, token).transact({"from": lender.address})
    with reverts_with(registry, "ERC721NonexistentToken", 99):
        registry.functions.transferFrom(lender.address, env.other.address, 99).transact({"from": lender.address})
    # An approved lender that is a contract without onERC721Received takes no safe transfer.
    wallet = env.chain.deploy("TestWallet1271", lender.address)
    desk.send(registry.functions.grantRole(registry.functions.LENDER_ROLE().call(), wallet.address), env.admin)
    with reverts_with(registry, "ERC721InvalidReceiver", wallet.address):
        safe_transfer(registry, lender.address, wallet.address, token).transact({"from": lender.address})
    desk.send(registry.functions.transferFrom(lender.address, wallet.address, token), lender)
    assert registry.functions.ownerOf(token).call() == wallet.address


def test_a_revoked_lender_cannot_issue_or_receive_but_keeps_its_pledges(env, desk):
    registry, admin, third = env.registry, env.admin, env.third
    role = registry.functions.LENDER_ROLE().call()
    now = desk.now()
    kept = desk.issue(desk.terms(0, 10, lender=third, maturity=now + HOUR))
    passed_on = desk.issue(desk.terms(10, 20, lender=third))
    incoming = desk.issue(desk.terms(20, 30))
    receipt = desk.send(registry.functions.revokeRole(role, third.address), admin)
    assert emitted(registry, receipt) == [
        ("RoleRevoked", {"role": role, "account": third.address, "sender": admin.address})]

    with reverts_with(registry, "PledgeLenderNotApproved", third.address):
        desk.issue_call(desk.terms(30, 40, lender=third))
    with reverts_with(registry, "PledgeLenderNotApproved", third.address):
        registry.functions.transferFrom(env.lender.address, third.address, incoming).transact({"from": env.lender.address})
    assert registry.functions.ownerOf(incoming).call() == env.lender.address

    # What it holds stays its own, with its liens: it may still pass it on, default, release.
    assert registry.functions.ownerOf(kept).call() == third.address
    assert desk.liens() == [kept, passed_on, incoming]
    desk.send(registry.functions.transferFrom(third.address, env.other.address, passed_on), third)
    assert registry.functions.ownerOf(passed_on).call() == env.other.address
    travel_to(desk.w3, now + HOUR)
    desk.send(registry.functions.declareDefault(kept), third)
    assert desk.status(kept) == DEFAULTED
    desk.send(registry.functions.release(kept), third)
    assert desk.status(kept) == RELEASED and desk.liens() == [passed_on, incoming]
    # Re-approved, it issues again.
    desk.send(registry.functions.grantRole(role, third.address), admin)
    assert desk.issue(desk.terms(30, 40, lender=third)) == incoming + 1


def test_python_decides_lapse_by_the_registrys_rule_at_the_boundary(env, desk):
    """``ledger.pledge.terms.has_lapsed`` is ``_status``'s rule: the second before the lien end the
    pledge is live, at the lien end exactly and after it, lapsed (as a call at a block of that
    time reads it); ``_checkTerms`` refuses, by the same rule, terms whose lien end is the
    issue's own time."""
    from ledger.pledge.terms import STATUS_NAMES, effective_status, has_lapsed

    now = desk.now()
    lien_end = now + DAY
    token = desk.issue(desk.terms(10, 20, maturity=now + HOUR, lien_end=lien_end))
    for t in (lien_end - 1, lien_end, lien_end + 1):
        travel_to(desk.w3, t + 1)  # mines a block at t: calls run at t
        assert desk.w3.eth.get_block("latest")["timestamp"] == t
        assert STATUS_NAMES[desk.status(token)] == effective_status("live", lien_end, t) == (
            "lapsed" if t >= lien_end else "live")
    issue_at = desk.now()
    assert has_lapsed(issue_at, issue_at)
    with reverts_with(env.registry, "PledgeInvalidTerms", "lienEnd has passed"):
        desk.issue_call(desk.terms(30, 40, maturity=issue_at - 10, lien_end=issue_at))
