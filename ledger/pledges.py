"""Pledges of data assets: consent, issue, the holder's moves, reading, and the mirror sync.

The registry contract (``IDataPledges``) is the source of truth; this module turns its
tuples into ``Terms``/``PledgeView``, signs the factory's consent (EIP-712 ``PledgeConsent``),
sends the lender's transactions, and mirrors the pledge events into the database.

A consent file (``dpl-consent/2``) carries the terms, the nonce, deadline and signature, the
asset manifest and loan reference the digests commit to, and the exact EIP-712 typed data
that was signed (so a person or a wallet can check what the factory agreed to). Integers
that may exceed 2^53 (principal, nonce) are decimal strings in JSON.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timezone

from eth_utils import is_address, to_checksum_address
from web3.logs import DISCARD

from ledger.bundles import to_hex
from ledger.chain.client import PLEDGE_CONSENT_TYPES, PLEDGE_TERMS_FIELDS, Chain
from ledger.errors import ChainError, InvalidArgumentError, LedgerError, NotFoundError
from ledger.store.pledges import PledgeMirror, SyncPoint

CONSENT_FORMAT = "dpl-consent/2"
#: Consents signed before terms carried ``maxLienEnd``: no registry of this version accepts them.
OLD_CONSENT_FORMATS = ("dpl-consent/1",)
STATUS_NAMES = ("none", "live", "released", "defaulted", "lapsed")
EVENTS = ("PledgeIssued", "PledgeTransferred", "PledgeReleased", "PledgeDefaulted", "PledgeExtended")
EVENT_PAGE = 2000
_CURRENCY = re.compile(r"[A-Z]{3}")
_UINT256_MAX = 2**256 - 1
_UINT64_MAX = 2**64 - 1


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Terms:
    """``IDataPledges.PledgeTerms``."""

    log_id: bytes
    start: int
    end: int
    checkpoint_size: int
    asset_digest: bytes
    principal: int
    currency: str
    maturity: int
    lien_end: int
    max_lien_end: int
    samples: int
    loan_ref_digest: bytes
    lender: str

    def __post_init__(self):
        if not _CURRENCY.fullmatch(self.currency):
            raise InvalidArgumentError(f"currency must be an ISO 4217 code of three capital letters, not {self.currency!r}")
        if not 0 < self.principal <= _UINT256_MAX:
            raise InvalidArgumentError("principal must be a positive whole number of minor units")
        for name in ("start", "end", "checkpoint_size", "maturity", "lien_end", "max_lien_end"):
            if not 0 <= getattr(self, name) <= _UINT64_MAX:
                raise InvalidArgumentError(f"{name} is out of range")
        if self.max_lien_end < self.lien_end:
            raise InvalidArgumentError("max_lien_end must not be before lien_end (it bounds the lender's extensions)")
        if not 1 <= self.samples < 2**32:
            raise InvalidArgumentError("samples must be at least 1")
        if not is_address(self.lender):
            raise InvalidArgumentError(f"lender {self.lender!r} is not an address")

    def message(self) -> dict:
        """The EIP-712 ``PledgeConsent`` fields of these terms (without nonce and deadline)."""
        return {"logId": self.log_id, "start": self.start, "end": self.end, "checkpointSize": self.checkpoint_size,
                "assetDigest": self.asset_digest, "principal": self.principal, "currency": self.currency.encode(),
                "maturity": self.maturity, "lienEnd": self.lien_end, "maxLienEnd": self.max_lien_end,
                "samples": self.samples,
                "loanRefDigest": self.loan_ref_digest, "lender": to_checksum_address(self.lender)}

    def as_tuple(self) -> tuple:
        return tuple(self.message().values())

    @classmethod
    def from_chain(cls, value) -> Terms:
        """From a decoded ``PledgeTerms`` (a tuple in field order, or a name -> value mapping)."""
        fields = [f["name"] for f in PLEDGE_TERMS_FIELDS]
        v = dict(value) if hasattr(value, "keys") else dict(zip(fields, value))
        return cls(bytes(v["logId"]), v["start"], v["end"], v["checkpointSize"], bytes(v["assetDigest"]),
                   v["principal"], bytes(v["currency"]).decode("ascii", "replace"), v["maturity"], v["lienEnd"],
                   v["maxLienEnd"], v["samples"], bytes(v["loanRefDigest"]), to_checksum_address(v["lender"]))

    def as_json(self) -> dict:
        return {"log_id": to_hex(self.log_id), "from": self.start, "to": self.end,
                "checkpoint_size": self.checkpoint_size, "asset_digest": to_hex(self.asset_digest),
                "principal": str(self.principal), "currency": self.currency, "maturity": self.maturity,
                "maturity_utc": _utc(self.maturity), "lien_end": self.lien_end, "lien_end_utc": _utc(self.lien_end),
                "max_lien_end": self.max_lien_end, "max_lien_end_utc": _utc(self.max_lien_end),
                "samples": self.samples, "loan_ref_digest": to_hex(self.loan_ref_digest), "lender": self.lender}

    @classmethod
    def from_json(cls, d: dict) -> Terms:
        try:
            return cls(_bytes32(d["log_id"], "log_id"), int(d["from"]), int(d["to"]), int(d["checkpoint_size"]),
                       _bytes32(d["asset_digest"], "asset_digest"), int(d["principal"]), str(d["currency"]),
                       int(d["maturity"]), int(d["lien_end"]), int(d["max_lien_end"]), int(d["samples"]),
                       _bytes32(d["loan_ref_digest"], "loan_ref_digest"), str(d["lender"]))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, InvalidArgumentError):
                raise
            raise InvalidArgumentError(f"the terms are malformed ({type(e).__name__}: {e})") from None


def _bytes32(value: object, name: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raise InvalidArgumentError(f"{name} must be 0x and 64 hex digits")
    return bytes.fromhex(value[2:])


def _utc(seconds: int) -> str:
    try:
        return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return "(out of range)"


def loan_ref_digest(text: str) -> bytes:
    """SHA-256 of the loan reference (UTF-8): the reference itself stays off chain."""
    if not text.strip():
        raise InvalidArgumentError("the loan reference must not be empty")
    return hashlib.sha256(text.encode()).digest()


def parse_time(text: str, what: str) -> int:
    """Unix seconds from ``YYYY-MM-DD`` (00:00 UTC), an ISO 8601 date-time with offset, or an
    integer number of seconds."""
    text = text.strip()
    if re.fullmatch(r"[0-9]+", text):
        return int(text)
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            return int(datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc).timestamp())
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgumentError(f"{what}: {text!r} is not a date (YYYY-MM-DD), an ISO 8601 date-time "
                                   "or unix seconds") from None
    if moment.tzinfo is None:
        raise InvalidArgumentError(f"{what}: {text!r} has no UTC offset (add Z or +08:00)")
    return int(moment.timestamp())


# -------------------------------------------------------------------------- consent


def typed_data(chain: Chain, terms: Terms, nonce: int, deadline: int) -> dict:
    """The EIP-712 document a wallet signs (eth_signTypedData_v4 shape), JSON-ready."""
    # uint256 values as decimal strings: JSON numbers cannot carry them exactly
    message = {**terms.message(), "principal": str(terms.principal), "nonce": str(nonce), "deadline": deadline}
    return chain.typed_data(PLEDGE_CONSENT_TYPES, message)


def make_consent(chain: Chain, factory, *, stream: str, terms: Terms, manifest: dict, loan_ref: str,
                 deadline: int, nonce: int | None = None) -> dict:
    """The factory's signed consent to pledge ``terms`` (a ``dpl-consent/2`` document)."""
    nonce = secrets.randbits(256) if nonce is None else nonce
    signature = chain.sign_pledge_consent(factory, {**terms.message(), "nonce": nonce, "deadline": deadline})
    return {
        "format": CONSENT_FORMAT, "chain_id": chain.chain_id, "registry": chain.registry.address,
        "factory": factory.address, "stream": stream, "terms": terms.as_json(),
        "nonce": str(nonce), "deadline": deadline, "deadline_utc": _utc(deadline),
        "signature": to_hex(signature), "loan_ref": loan_ref, "manifest": manifest,
        "typed_data": typed_data(chain, terms, nonce, deadline),
    }


@dataclass(frozen=True)
class Consent:
    chain_id: int
    registry: str
    factory: str
    terms: Terms
    nonce: int
    deadline: int
    signature: bytes


def read_consent(doc: object) -> Consent:
    """Validate a ``dpl-consent/2`` document's shape (the contract checks the signature)."""
    if isinstance(doc, dict) and doc.get("format") in OLD_CONSENT_FORMATS:
        raise InvalidArgumentError(f"this is a {doc['format']} document, signed for a registry before lien ends were "
                                   f"bounded (max lien end): ask the factory for a new consent ({CONSENT_FORMAT})")
    if not isinstance(doc, dict) or doc.get("format") != CONSENT_FORMAT:
        raise InvalidArgumentError(f"not a {CONSENT_FORMAT} document")
    try:
        signature = doc["signature"]
        if not isinstance(signature, str) or not re.fullmatch(r"0x([0-9a-fA-F]{2})+", signature):
            raise InvalidArgumentError("signature must be 0x-prefixed hex")
        return Consent(int(doc["chain_id"]), to_checksum_address(doc["registry"]), to_checksum_address(doc["factory"]),
                       Terms.from_json(doc["terms"]), int(doc["nonce"]), int(doc["deadline"]),
                       bytes.fromhex(signature[2:]))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, InvalidArgumentError):
            raise
        raise InvalidArgumentError(f"the consent is malformed ({type(e).__name__}: {e})") from None


def check_same_registry(chain: Chain, chain_id: int, registry: str, what: str) -> None:
    if chain_id != chain.chain_id or to_checksum_address(registry) != chain.registry.address:
        raise InvalidArgumentError(f"the {what} is for registry {registry} on chain {chain_id}, but this "
                                   f"ledger uses {chain.registry.address} on chain {chain.chain_id}")


# ---------------------------------------------------------------------- transactions


@dataclass(frozen=True)
class Issued:
    token_id: int
    tx_hash: str
    block_number: int


def issue(chain: Chain, lender, consent: Consent) -> Issued:
    """Issue the pledge a consent allows, as the lender it names. A refusal raises
    ``ContractRevertError`` from the gas estimate, before anything is sent."""
    check_same_registry(chain, consent.chain_id, consent.registry, "consent")
    fns = chain.registry.functions
    hint = chain.call(fns.issueHint(consent.terms.log_id, consent.terms.start).call)
    receipt = chain.transact(lender, fns.issue(consent.terms.as_tuple(), consent.nonce, consent.deadline,
                                               consent.signature, hint))
    events = chain.registry.events.PledgeIssued().process_receipt(receipt, errors=DISCARD)  # skip ERC-721 Transfer
    if len(events) != 1:
        raise ChainError("the issue transaction emitted no PledgeIssued event")
    return Issued(events[0]["args"]["tokenId"], to_hex(bytes(receipt["transactionHash"])), receipt["blockNumber"])


def send(chain: Chain, account, fn) -> str:
    """Send one holder action (transfer, release, default, extend); returns the tx hash."""
    receipt = chain.transact(account, fn)
    return to_hex(bytes(receipt["transactionHash"]))


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class PledgeView:
    token_id: int
    terms: Terms
    status: str
    factory: str
    issue_block: int
    holder: str | None

    def as_json(self) -> dict:
        t = self.terms.as_json()
        return {"token_id": self.token_id, "status": self.status, "holder": self.holder, "log_id": t["log_id"],
                "from": t["from"], "to": t["to"], "asset_digest": t["asset_digest"], "factory": self.factory,
                "issue_block": self.issue_block, "terms": t}


def read_pledge(chain: Chain, token_id: int) -> PledgeView:
    """The pledge as the chain has it now; ``NotFoundError`` if it was never issued."""
    from ledger.errors import NotFoundError

    terms, status, factory, issue_block = chain.call(chain.registry.functions.pledge(token_id).call)
    if status == 0:
        raise NotFoundError(f"no pledge {token_id} in registry {chain.registry.address} on chain {chain.chain_id}")
    holder = None
    if STATUS_NAMES[status] != "released":
        holder = chain.call(chain.registry.functions.ownerOf(token_id).call)
    return PledgeView(token_id, Terms.from_chain(terms), STATUS_NAMES[status], to_checksum_address(factory),
                      issue_block, holder)


def effective_status(stored: str, lien_end: int, now: int) -> str:
    """The mirror keeps live/released/defaulted; a live pledge past its lien end has lapsed."""
    return "lapsed" if stored == "live" and now >= lien_end else stored


def chain_time(chain: Chain) -> int:
    """The latest block's timestamp: the clock the contract judges maturity and lapse by."""
    return chain.call(lambda: chain.w3.eth.get_block("latest"))["timestamp"]


# ------------------------------------------------------------------------ the mirror


def _decode(chain: Chain, from_block: int, to_block: int) -> list[dict]:
    raw = []
    for name in EVENTS:
        event = getattr(chain.registry.events, name)
        start = from_block
        while start <= to_block:
            end = min(start + EVENT_PAGE - 1, to_block)
            raw += [(name, ev) for ev in chain.call(event.get_logs, from_block=start, to_block=end)]
            start = end + 1
    raw.sort(key=lambda item: (item[1]["blockNumber"], item[1]["logIndex"]))
    out = []
    for name, ev in raw:
        args = ev["args"]
        item = {"event": name, "token_id": args["tokenId"], "block_number": ev["blockNumber"]}
        if name == "PledgeIssued":
            terms = Terms.from_chain(args["terms"])
            item["row"] = {
                "log_id": terms.log_id, "start": terms.start, "end": terms.end,
                "checkpoint_size": terms.checkpoint_size, "asset_digest": terms.asset_digest,
                "principal": str(terms.principal), "currency": terms.currency, "maturity": terms.maturity,
                "lien_end": terms.lien_end, "max_lien_end": terms.max_lien_end, "samples": terms.samples, "loan_ref_digest": terms.loan_ref_digest,
                "lender": terms.lender, "factory": to_checksum_address(args["factory"]),
                "holder": to_checksum_address(args["lender"]), "nonce": str(args["nonce"]),
                "issue_tx": bytes(ev["transactionHash"]),
            }
        elif name == "PledgeTransferred":
            item["to"] = to_checksum_address(args["to"])
        elif name == "PledgeExtended":
            item["new_lien_end"] = args["newLienEnd"]
        out.append(item)
    return out


@dataclass(frozen=True)
class SyncReport:
    events: int
    rebuilt: bool
    block_number: int


def sync(chain: Chain, engine, deployment_block: int, full: bool = False) -> SyncReport:
    """Bring the pledge mirror up to the chain head. Reads from where it stopped; reads from
    the deployment block (a rebuild) when ``full``, the first time, or when the block it
    stopped at is no longer on the chain (a reorg)."""
    mirror = PledgeMirror(engine, chain.chain_id, chain.registry.address)
    point = mirror.sync_point()
    head = chain.block_number()
    head_hash = chain.block_hash(head)
    rebuild = full or point is None or chain.block_hash(point.block_number) != point.block_hash
    start = deployment_block if rebuild else point.block_number + 1
    events = _decode(chain, start, head) if start <= head else []
    mirror.apply(events, SyncPoint(head, head_hash), rebuild)
    return SyncReport(len(events), rebuild, head)


# --------------------------------------------------------------------- data assets


def anchored_checkpoint(store, info, chain, min_size: int, size: int | None):
    """The newest checkpoint of ``info`` anchored on this chain's registry with size >=
    ``min_size`` (exactly ``size`` if given), checked against the root the chain holds."""
    from ledger.store.anchors import FINAL, INCLUDED, AnchorStore

    if info.log_id is None:
        raise NotFoundError(f"log {info.stream} has never been anchored (run: dpl anchor)")
    rows = [r for r in AnchorStore(store.engine).for_log(chain.chain_id, chain.registry.address, info.pk)
            if r.state in (INCLUDED, FINAL) and r.size >= min_size and (size is None or r.size == size)]
    if not rows:
        want = f"of size {size}" if size is not None else f"covering index {min_size - 1}"
        raise NotFoundError(f"log {info.stream} has no anchored checkpoint {want} on chain {chain.chain_id} "
                            "(ingest, then run: dpl anchor)")
    row = max(rows, key=lambda r: r.size)
    root, anchored_at = chain.call(chain.registry.functions.rootAt(info.log_id, row.size).call)
    if anchored_at == 0 or bytes(root) != row.root:
        raise LedgerError(f"the chain does not hold the checkpoint of size {row.size} this store recorded "
                          "(reorg or reset chain?); run: dpl anchor, then dpl audit")
    return row


def describe_asset(store, chain: Chain, stream: str, start: int, end: int, checkpoint: int | None = None):
    """(log info, manifest, asset digest) of records ``[start, end)`` of ``stream``, committed by
    the newest anchored checkpoint covering them (exactly ``checkpoint`` if given)."""
    from ledger.assets import asset_digest, build_manifest

    info = store.get_log(stream)
    if not 0 <= start < end:
        raise InvalidArgumentError(f"the range [{start}, {end}) is empty or negative")
    if end > info.size:
        raise InvalidArgumentError(f"the range [{start}, {end}) goes past the end of {stream}, which has "
                                   f"{info.size} records")
    row = anchored_checkpoint(store, info, chain, end, checkpoint)
    manifest = build_manifest(store, stream, start, end, row.size, row.root)
    return info, manifest, asset_digest(manifest)


# ------------------------------------------------------------------------- lenders


def _lender_role(chain: Chain) -> bytes:
    return chain.call(chain.registry.functions.LENDER_ROLE().call)


def is_lender(chain: Chain, address: str) -> bool:
    return chain.call(chain.registry.functions.hasRole(_lender_role(chain), address).call)


def set_lender(chain: Chain, admin, address: str, approved: bool) -> str | None:
    """Grant or revoke ``LENDER_ROLE``; the tx hash, or None when it already is so."""
    if is_lender(chain, address) == approved:
        return None
    fns = chain.registry.functions
    role = _lender_role(chain)
    return send(chain, admin, fns.grantRole(role, address) if approved else fns.revokeRole(role, address))


def approved_lenders(chain: Chain, from_block: int) -> list[str]:
    """The lenders approved now: every account ever granted the role, still holding it."""
    role = _lender_role(chain)
    events = chain.call(chain.registry.events.RoleGranted.get_logs, from_block=from_block,
                        argument_filters={"role": role})
    seen = dict.fromkeys(ev["args"]["account"] for ev in events)
    return [a for a in seen if chain.call(chain.registry.functions.hasRole(role, a).call)]


def mirror_row_json(row: dict, now: int) -> dict:
    """A mirrored pledge as the CLI and the API list it, its status read at chain time ``now``."""
    return {"token_id": row["token_id"], "status": effective_status(row["status"], row["lien_end"], now),
            "holder": row["holder"], "log_id": to_hex(row["log_id"]), "from": row["start"], "to": row["end"],
            "checkpoint_size": row["checkpoint_size"], "samples": row["samples"],
            "asset_digest": to_hex(row["asset_digest"]), "principal": row["principal"], "currency": row["currency"],
            "maturity": row["maturity"], "lien_end": row["lien_end"], "max_lien_end": row["max_lien_end"],
            "factory": row["factory"],
            "loan_ref_digest": to_hex(row["loan_ref_digest"]), "issue_block": row["issue_block"]}
