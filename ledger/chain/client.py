"""Talking to an Ethereum node: the registry contract, signed transactions, EIP-712.

Thin on purpose: web3.py v8 does the RPC; this module adds what the service needs on top:
clear errors when the node is down, custom-error names decoded from reverts, typed-data
signatures in the registry's domain, and transactions signed locally with a key from the
keyring (never a node-held account).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from requests.exceptions import RequestException
from web3 import Web3
from web3.exceptions import (BadResponseFormat, BlockNotFound, ContractCustomError, ContractLogicError, TimeExhausted,
                             TooManyRequests, TransactionNotFound, Web3Exception, Web3RPCError)

from ledger import jsonio
from ledger.chain.build import load_artifact
from ledger.settings import redact_url
from ledger.errors import ChainError, ChainUnavailableError, ContractRevertError

DOMAIN_NAME = "DataPledgeLedger"
DOMAIN_VERSION = "1"
CHECKPOINT_TYPES = {"Checkpoint": [
    {"name": "logId", "type": "bytes32"}, {"name": "size", "type": "uint64"}, {"name": "root", "type": "bytes32"},
]}
EIP712_DOMAIN_FIELDS = [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                        {"name": "chainId", "type": "uint256"}, {"name": "verifyingContract", "type": "address"}]
REGISTER_LOG_TYPES = {"RegisterLog": [
    {"name": "factory", "type": "address"}, {"name": "stream", "type": "string"},
]}
#: The EIP-712 type a factory signs to consent to a pledge: ``IDataPledges.PledgeTerms`` in
#: field order, then ``nonce`` and ``deadline`` (flat, so wallets show every field).
PLEDGE_TERMS_FIELDS = [
    {"name": "logId", "type": "bytes32"}, {"name": "start", "type": "uint64"}, {"name": "end", "type": "uint64"},
    {"name": "checkpointSize", "type": "uint64"}, {"name": "assetDigest", "type": "bytes32"},
    {"name": "principal", "type": "uint256"}, {"name": "currency", "type": "bytes3"},
    {"name": "maturity", "type": "uint64"}, {"name": "lienEnd", "type": "uint64"},
    {"name": "maxLienEnd", "type": "uint64"}, {"name": "samples", "type": "uint32"}, {"name": "loanRefDigest", "type": "bytes32"},
    {"name": "lender", "type": "address"}, {"name": "covenantsDigest", "type": "bytes32"},
]
PLEDGE_CONSENT_TYPES = {"PledgeConsent": [
    *PLEDGE_TERMS_FIELDS, {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"},
]}
#: The EIP-712 type a factory signs to let a pledge's lien end move past the ``maxLienEnd`` it agreed to.
PLEDGE_EXTENSION_TYPES = {"PledgeExtension": [
    {"name": "tokenId", "type": "uint256"}, {"name": "newLienEnd", "type": "uint64"},
    {"name": "nonce", "type": "uint256"}, {"name": "deadline", "type": "uint256"},
]}

# What each registry error means, for people reading a refusal.
ERROR_MEANINGS = {
    "RegistryUnknownLog": "the log is not registered on chain",
    "RegistryLogAlreadyRegistered": "the log is registered already",
    "RegistryInvalidFactory": "the zero address cannot own a log",
    "RegistryInvalidSignature": "the signature is not the log's factory's",
    "RegistryStaleCheckpoint": "a checkpoint at least this large is anchored already (replay or stale)",
    "RegistryInconsistentCheckpoint": "the checkpoint does not extend the anchored one (history was rewritten?)",
    "RegistryEmptyCheckpoint": "an empty log cannot be anchored",
    "RegistryZeroRoot": "a checkpoint root of zero cannot be anchored (zero means \"not anchored\")",
    "PledgeConsentExpired": "the factory's consent has passed its deadline: ask the factory for a new one",
    "PledgeConsentReplayed": "this consent was used already (each consent issues one pledge)",
    "PledgeInvalidSignature": "the consent is not signed by the log's factory (or the terms were changed)",
    "PledgeLenderNotApproved": "the address is not an approved lender (an admin adds it: dpl lenders add)",
    "PledgeWrongLender": "the consent names another lender: only that lender may issue it",
    "PledgeCheckpointNotAnchored": "the checkpoint the terms name is not anchored on chain",
    "PledgeInvalidRange": "the range is empty or not inside the checkpoint",
    "PledgeInvalidTerms": "the terms are not acceptable",
    "PledgeRangeOverlaps": "the range overlaps a pledge that holds a lien on this log",
    "PledgeInvalidHint": "the list position (hint) is stale: retry",
    "PledgeUnknown": "no such pledge",
    "PledgeNotHolder": "only the pledge's holder may do this",
    "PledgeWrongStatus": "the pledge's status does not allow this (1 live, 2 released, 3 defaulted, 4 lapsed)",
    "PledgeNotMatured": "default can only be declared from the loan's maturity on",
    "PledgeInvalidLienEnd": "the new lien end must be after the current one",
    "PledgeExtensionNotConsented": "the new lien end is past the latest the factory agreed to (max lien end): "
                                   "extending further needs the factory's signed extension",
    "PledgeApprovalsDisabled": "pledges move only by their holder, to an approved lender: ERC-721 approvals are off",
    "DirectoryInvalidListing": "a listing needs an address, a name of 1 to 128 bytes and a registration digest",
    "DirectoryNotListed": "that factory is not in the directory",
    "AccessControlUnauthorizedAccount": "the key lacks the role this needs (the registry admin manages lenders)",
    "ERC721NonexistentToken": "no such pledge token (never issued, or released)",
    "ERC721InsufficientApproval": "only the holder (or an approved operator) may transfer the pledge",
    "ERC721IncorrectOwner": "the sender does not hold the pledge",
    "ERC721InvalidReceiver": "the receiver cannot take ERC-721 tokens",
}


def log_id_of(factory: str, stream: str) -> bytes:
    """``keccak256(abi.encode(factory, stream))`` (DESIGN.md section 2)."""
    return keccak(abi_encode(["address", "string"], [to_checksum_address(factory), stream]))


def _error_selectors(abi: list[dict]) -> dict[bytes, tuple[str, list[str]]]:
    out = {}
    for item in abi:
        if item.get("type") == "error":
            types = [i["type"] for i in item["inputs"]]
            out[keccak(text=f"{item['name']}({','.join(types)})")[:4]] = (item["name"], types)
    return out


def _typed_value(kind: str, value):
    """One message value of ``Chain.typed_data``, JSON-ready and exact."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if kind.startswith(("uint", "int")) and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


@dataclass(frozen=True)
class SentTx:
    tx_hash: bytes
    raw: bytes
    nonce: int
    sender: str


#: How deep a node's JSON answer may nest (receipts and logs nest 4 levels).
NODE_ANSWER_DEPTH = 64
#: JSON-RPC error code of a node (or provider) that limits the rate of requests (EIP-1474).
LIMIT_EXCEEDED = -32005
#: How much of a node's error message goes into ours.
NODE_MESSAGE_CHARS = 300


class NodeRPCError(ChainError):
    """The node answered a request with a JSON-RPC error (``code``, ``reason``: its message)."""

    def __init__(self, text: str, code: int | None, reason: str):
        super().__init__(text)
        self.code, self.reason = code, reason


class NodeRateLimitError(NodeRPCError, ChainUnavailableError):
    """The node limits the rate of requests (JSON-RPC -32005): it is there, try again later."""


class _StrictHTTPProvider(Web3.HTTPProvider):
    """web3's HTTP provider, reading the node's answers with ``ledger.jsonio``: web3's own
    reader is the standard library's, which recurses as deep as the answer nests (with py_ecc's
    raised recursion limit, a node answering 100,000 ``[`` overflows the C stack). The node is
    input too: a lender types its URL, an attacker can run one."""

    @staticmethod
    def decode_rpc_response(raw_response: bytes):
        try:
            return jsonio.loads(raw_response, what="the node's answer", max_depth=NODE_ANSWER_DEPTH)
        except jsonio.JsonInputError as e:
            raise ChainError(f"the Ethereum node sent an answer that is not usable JSON-RPC: {e.reason}") from None


class Chain:
    """One node (``rpc_url``) and the registry at ``registry_address`` on it."""

    def __init__(self, rpc_url: str, registry_address: str | None = None, timeout: float = 10.0, *,
                 journal=None):
        self.rpc_url = rpc_url
        #: The nonce manager that records every transaction before it is sent (see below).
        self.journal = journal
        self.shown_url = redact_url(rpc_url)  # for messages: a provider's API key stays out of them
        # The chain id never changes under a provider; web3 asks for it on every transaction.
        self.w3 = Web3(_StrictHTTPProvider(rpc_url, request_kwargs={"timeout": timeout},
                                           cache_allowed_requests=True,
                                           cacheable_requests={"eth_chainId"}))
        self.artifact = load_artifact("DataPledgeRegistry")
        self._errors = _error_selectors(self.artifact["abi"])
        self.registry = (
            self.w3.eth.contract(address=to_checksum_address(registry_address), abi=self.artifact["abi"])
            if registry_address else None
        )

    def use_registry(self, registry_address: str) -> Chain:
        """Point this client (same provider, same cached chain id) at a registry address."""
        self.registry = self.w3.eth.contract(address=to_checksum_address(registry_address), abi=self.artifact["abi"])
        return self

    # --- errors ---------------------------------------------------------------------------

    def call(self, fn, *args, **kwargs):
        """Run ``fn`` (a web3 call) turning node failures and reverts into ledger errors."""
        try:
            return fn(*args, **kwargs)
        except (ContractCustomError, ContractLogicError) as e:
            raise self.decode_revert(e) from None
        except (TransactionNotFound, BlockNotFound):
            raise  # a null answer, not a failure: receipt() and block_hash() say None
        except Web3RPCError as e:
            raise self.node_error(e) from None
        except TooManyRequests as e:
            raise NodeRateLimitError(f"the Ethereum node at {self.shown_url} is limiting requests ({self._node_text(str(e))}); "
                                     "retry later", LIMIT_EXCEEDED, str(e)) from None
        except BadResponseFormat:
            raise ChainError(f"the Ethereum node at {self.shown_url} sent an answer that is not usable JSON-RPC") from None
        except RequestException as e:
            raise ChainUnavailableError(f"the Ethereum node at {self.shown_url} is not answering ({type(e).__name__})") from None
        except (ConnectionError, OSError) as e:
            reason = str(e).replace(self.rpc_url, self.shown_url)
            raise ChainUnavailableError(f"the Ethereum node at {self.shown_url} is not answering ({reason})") from None

    def _node_text(self, text: str) -> str:
        """Text from the node, fit for one line of ours: the URL redacted, non-printable
        characters escaped, at most ``NODE_MESSAGE_CHARS`` characters."""
        text = text.replace(self.rpc_url, self.shown_url)
        text = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
        return text if len(text) <= NODE_MESSAGE_CHARS else text[:NODE_MESSAGE_CHARS] + "…"

    def node_error(self, e: Web3RPCError) -> NodeRPCError:
        """A JSON-RPC error answer as a ``ChainError`` naming the node's message (a rate limit,
        -32005, is a ``ChainUnavailableError``: retry later)."""
        error = (e.rpc_response or {}).get("error") if isinstance(e.rpc_response, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        reason = self._node_text(message if isinstance(message, str) else str(e.message))
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        if code == LIMIT_EXCEEDED:
            return NodeRateLimitError(f"the Ethereum node at {self.shown_url} is limiting requests: {reason} "
                                      f"(JSON-RPC error {code}); retry later", code, reason)
        return NodeRPCError(f"the Ethereum node at {self.shown_url} answered with an error: {reason}"
                            + (f" (JSON-RPC error {code})" if code is not None else ""), code, reason)

    def decode_revert(self, e: Exception) -> ChainError:
        data = getattr(e, "data", None)
        raw = HexBytes(data) if isinstance(data, (str, bytes)) and data not in ("", "0x") else b""
        if len(raw) >= 4 and bytes(raw[:4]) in self._errors:
            name, types = self._errors[bytes(raw[:4])]
            args = tuple(abi_decode(types, bytes(raw[4:])))
            args = tuple("0x" + a.hex() if isinstance(a, bytes) else a for a in args)
            return ContractRevertError(name, args, ERROR_MEANINGS.get(name, ""))
        return ChainError(f"the transaction reverted: {getattr(e, 'message', e)}")

    # --- chain facts --------------------------------------------------------------------

    @cached_property
    def chain_id(self) -> int:
        return self.call(lambda: self.w3.eth.chain_id)

    def block_number(self) -> int:
        return self.call(lambda: self.w3.eth.block_number)

    def block_hash(self, number: int) -> bytes | None:
        """The hash of block ``number``, None when the node has no such block."""
        try:
            block = self.call(lambda: self.w3.eth.get_block(number))
        except BlockNotFound:  # web3 raises where the node answers null
            return None
        return bytes(block["hash"]) if block else None

    def block_time(self, number: int) -> int | None:
        """The timestamp of block ``number`` (unix seconds), None when the node has no such block."""
        try:
            block = self.call(lambda: self.w3.eth.get_block(number))
        except BlockNotFound:
            return None
        return int(block["timestamp"]) if block else None

    def code_at(self, address: str) -> bytes:
        return bytes(self.call(lambda: self.w3.eth.get_code(to_checksum_address(address))))

    def receipt(self, tx_hash: bytes):
        """The receipt, or None while the transaction is not (or no longer) in a block."""
        try:
            return self.call(self.w3.eth.get_transaction_receipt, HexBytes(tx_hash))
        except TransactionNotFound:
            return None

    def transaction(self, tx_hash: bytes):
        """The transaction (in the pool or in a block), or None when the node does not know it."""
        try:
            return self.call(self.w3.eth.get_transaction, HexBytes(tx_hash))
        except TransactionNotFound:
            return None

    def transaction_known(self, tx_hash: bytes) -> bool:
        return self.transaction(tx_hash) is not None

    # --- signing ------------------------------------------------------------------------

    def domain(self) -> dict:
        return {"name": DOMAIN_NAME, "version": DOMAIN_VERSION, "chainId": self.chain_id,
                "verifyingContract": self.registry.address}

    def typed_data(self, types: dict, message: dict) -> dict:
        """An EIP-712 document in the registry's domain, as wallets take it (eth_signTypedData_v4):
        bytes as 0x-hex, and every integer field of the message (uint64, uint256, …) as a decimal
        string, so JSON carries it exactly (a JSON number above 2^53 reads as another value in a
        browser, ethers or a wallet). eth-account and anvil's ``eth_signTypedData_v4`` read
        decimal strings as the same integers. The domain's ``chainId`` stays a number: wallets
        compare it with their chain's, and chain ids stay below 2^53."""
        [primary] = types
        kinds = {f["name"]: f["type"] for f in types[primary]}
        return {"types": {"EIP712Domain": EIP712_DOMAIN_FIELDS, **types}, "primaryType": primary,
                "domain": self.domain(),
                "message": {k: _typed_value(kinds[k], v) for k, v in message.items()}}

    def recover_typed_data(self, document: dict, signature: bytes) -> str | None:
        """The address that signed ``document`` (``typed_data``'s shape), None if unreadable."""
        try:
            return Account.recover_message(encode_typed_data(full_message=document), signature=signature)
        except Exception:  # a malformed signature is a signature by nobody
            return None

    def sign_checkpoint(self, factory: LocalAccount, log_id: bytes, size: int, root: bytes) -> bytes:
        signed = factory.sign_typed_data(self.domain(), CHECKPOINT_TYPES,
                                         {"logId": log_id, "size": size, "root": root})
        return bytes(signed.signature)

    def sign_pledge_consent(self, factory: LocalAccount, message: dict) -> bytes:
        """Sign a ``PledgeConsent`` message (terms fields + nonce + deadline)."""
        signed = factory.sign_typed_data(self.domain(), PLEDGE_CONSENT_TYPES, message)
        return bytes(signed.signature)

    def sign_pledge_extension(self, factory: LocalAccount, message: dict) -> bytes:
        """Sign a ``PledgeExtension`` message (tokenId, newLienEnd, nonce, deadline)."""
        signed = factory.sign_typed_data(self.domain(), PLEDGE_EXTENSION_TYPES, message)
        return bytes(signed.signature)

    def sign_register_log(self, factory: LocalAccount, stream: str) -> bytes:
        signed = factory.sign_typed_data(self.domain(), REGISTER_LOG_TYPES,
                                         {"factory": factory.address, "stream": stream})
        return bytes(signed.signature)

    # --- transactions -----------------------------------------------------------------
    #
    # Every transaction a keyring key sends goes through ``build_signed`` (and ``transact``).
    # With a ``journal`` attached (``ledger.transactions.Transactions``, the nonce manager: this
    # adapter imports no storage), the journal allocates the nonce under its sender lock,
    # records the signed transaction before it is sent, and fills nonce gaps; without one (bare
    # tools and tests) the nonce is the node's pending count and nothing is recorded.

    @cached_property
    def genesis_hash(self) -> bytes:
        """Block 0's hash: with the chain id, it tells this chain from a reset one."""
        return self.block_hash(0) or b""

    def prepare(self, sender: str, fn) -> dict:
        """The unsigned transaction of a contract call or deployment, without a nonce. Estimating
        its gas runs it: a revert surfaces here, decoded, before anything is recorded or sent."""
        return dict(self.call(fn.build_transaction, {"from": sender, "chainId": self.chain_id}))

    def prepare_transfer(self, sender: str, to: str, value: int = 0) -> dict:
        """An unsigned plain transfer (a nonce-gap filler is a 0-value transfer to oneself)."""
        tx = {"from": sender, "to": to, "value": value, "gas": 21000, "chainId": self.chain_id}
        base_fee = self.call(lambda: self.w3.eth.get_block("latest")).get("baseFeePerGas")
        if base_fee is None:  # a chain without EIP-1559
            return {**tx, "gasPrice": self.call(lambda: self.w3.eth.gas_price)}
        tip = self.call(lambda: self.w3.eth.max_priority_fee)
        return {**tx, "maxPriorityFeePerGas": tip, "maxFeePerGas": tip + 2 * base_fee}

    def simulate(self, tx: dict) -> None:
        """Run ``tx`` as an ``eth_call`` against the pending state (the transactions in the
        node's pool included) just before it is sent: a revert raises the decoded error."""
        call = {k: tx[k] for k in _CALL_FIELDS if k in tx}
        self.call(self.w3.eth.call, call, "pending")

    def sign(self, sender: LocalAccount, tx: dict, nonce: int) -> SentTx:
        unsigned = {k: v for k, v in tx.items() if k != "from"}
        signed = Account.sign_transaction({**unsigned, "nonce": nonce}, sender.key)
        return SentTx(bytes(signed.hash), bytes(signed.raw_transaction), nonce, sender.address)

    def build_signed(self, sender: LocalAccount, fn, *, purpose: str | None = None, also=None) -> SentTx:
        """Sign a contract call as a raw transaction (not sent yet). Its gas estimate and a
        simulation against the pending state come first: a refusal raises, decoded, and nothing
        is recorded or sent. With a journal the transaction is recorded (committed) on return;
        ``also(conn, sent)`` writes the caller's own rows in that same database transaction."""
        return self._sign_prepared(sender, self.prepare(sender.address, fn), purpose or purpose_of(fn), also)

    def _sign_prepared(self, sender: LocalAccount, tx: dict, purpose: str, also) -> SentTx:
        if self.journal is not None:
            return self.journal.sign_recorded(self, sender, tx, purpose, also)
        self.simulate(tx)
        return self.sign(sender, tx, self.call(self.w3.eth.get_transaction_count, sender.address, "pending"))

    def send_raw(self, raw: bytes) -> None:
        """Broadcast; a transaction the node already has, in its pool or in a block (another
        process re-broadcast it first), is not an error: safe to retry."""
        try:
            self.call(self.w3.eth.send_raw_transaction, raw)
        except NodeRPCError as e:
            if isinstance(e, ChainUnavailableError):
                raise
            text = e.reason.lower()
            if "already known" in text or "already imported" in text or self.transaction_known(keccak(raw)):
                return
            raise ChainError(f"the node refused the transaction: {e.reason}"
                             + (f" (JSON-RPC error {e.code})" if e.code is not None else "")) from None

    def broadcast(self, sent: SentTx) -> None:
        """``send_raw`` a signed transaction; a refusal is recorded (its nonce is free again)."""
        try:
            self.send_raw(sent.raw)
        except ChainError as e:
            if self.journal is not None and not isinstance(e, ChainUnavailableError):
                self.journal.refused(self, sent, str(e))
            raise

    def transact(self, sender: LocalAccount, fn, timeout: float = 60, *, purpose: str | None = None) -> dict:
        """Sign, record, send and wait for one transaction. A refusal before sending raises
        ``ContractRevertError``; so does a transaction that reverts in a block (the call is
        replayed at that block to name the contract's error)."""
        tx = self.prepare(sender.address, fn)
        sent = self._sign_prepared(sender, tx, purpose or purpose_of(fn), None)
        self.broadcast(sent)
        try:
            receipt = self.call(self.w3.eth.wait_for_transaction_receipt, HexBytes(sent.tx_hash), timeout=timeout)
        except TimeExhausted:
            why = self.journal.explain_wait(self, sent.sender, sent.nonce, sent.tx_hash) if self.journal else ""
            raise ChainError(f"transaction 0x{sent.tx_hash.hex()} (nonce {sent.nonce}) was not mined within "
                             f"{timeout:g} s" + (f": {why}" if why else "")) from None
        if self.journal is not None:
            self.journal.mined(self, sent, receipt)
        if receipt["status"] != 1:
            raise self.explain_failure(tx, sent.tx_hash, receipt)
        return receipt

    def explain_reverted(self, tx_hash: bytes, receipt) -> ChainError:
        """``explain_failure`` for a transaction known by its hash (read back from the node)."""
        try:
            found = self.call(self.w3.eth.get_transaction, HexBytes(tx_hash))
        except TransactionNotFound:
            found = {}
        tx = {"from": found.get("from"), "to": found.get("to"), "data": found.get("input"),
              "value": found.get("value"), "gas": found.get("gas")}
        return self.explain_failure({k: v for k, v in tx.items() if v is not None}, tx_hash, receipt)

    def explain_failure(self, tx: dict, tx_hash: bytes, receipt) -> ChainError:
        """Why a mined transaction reverted: its call replayed on the state of its block."""
        block = receipt["blockNumber"]
        during = f"transaction 0x{tx_hash.hex()} reverted in block {block}"
        call = {k: tx[k] for k in _CALL_FIELDS if k in tx}
        try:
            self.w3.eth.call(call, block)
        except (ContractCustomError, ContractLogicError) as e:
            decoded = self.decode_revert(e)
            if isinstance(decoded, ContractRevertError):
                return ContractRevertError(decoded.name, decoded.args_, decoded.meaning, during=during)
            return ChainError(f"{during}: {decoded}")
        except (Web3Exception, RequestException, OSError, ValueError):
            pass  # the node cannot replay it (pruned state, down): say what we know
        if "gas" in tx and receipt["gasUsed"] >= tx["gas"]:
            return ChainError(f"{during}: it ran out of gas (limit {tx['gas']})")
        return ChainError(f"{during} (replaying it there does not revert, so its reason is not known)")


#: The fields of a transaction that an ``eth_call`` takes.
_CALL_FIELDS = ("from", "to", "data", "value", "gas", "gasPrice", "maxFeePerGas", "maxPriorityFeePerGas")


def purpose_of(fn) -> str:
    """What a transaction does, for the records: the contract function's name, or ``deploy``."""
    return getattr(fn, "fn_name", None) or "deploy"
