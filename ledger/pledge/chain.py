"""The pledge registry adapter: reading pledges (and the anchored root and log owner they
rest on), the EIP-712 documents of its domain, and every transaction a pledge's parties send
(issue; the holder's moves: transfer, release, default, extend; lender approval).

Each registry function is encoded here once (``issue_call``, ``transfer_call``,
``release_call``, ``default_call``, ``extend_call``): the CLI sends the call with a keyring
key, the API sends it or hands it, unsigned, to the lender's wallet. The registry
(``IDataPledges``) is the source of truth; its tuples become ``Terms`` and ``PledgeView``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import to_checksum_address
from web3.logs import DISCARD

from ledger.bundles import to_hex
from ledger.chain.client import PLEDGE_CONSENT_TYPES, PLEDGE_EXTENSION_TYPES, Chain
from ledger.chain.events import read_events
from ledger.errors import ChainError, ConflictError, InvalidArgumentError
from ledger.pledge.terms import (EXTENSION_FORMAT, STATUS_NAMES, Consent, Extension, SignatureMismatch, Terms,
                                 check_moment, utc_text)


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


def anchored_root(chain: Chain, log_id: bytes, size: int) -> bytes | None:
    """The root the registry holds for log ``log_id`` at exactly ``size``; None when none is
    anchored there (the registry answers zero: it refuses to anchor a zero root)."""
    root = bytes(chain.call(chain.registry.functions.rootAt(log_id, size).call))
    return root if root != bytes(32) else None


def factory_of(chain: Chain, log_id: bytes) -> str | None:
    """The factory that registered log ``log_id`` on the registry (EIP-55); None when none did."""
    owner = chain.call(chain.registry.functions.factoryOf(log_id).call)
    return None if int(owner, 16) == 0 else to_checksum_address(owner)


def chain_time(chain: Chain) -> int:
    """The latest block's timestamp: the clock the contract judges maturity and lapse by."""
    return chain.call(lambda: chain.w3.eth.get_block("latest"))["timestamp"]


def check_same_registry(chain: Chain, chain_id: int, registry: str, what: str) -> None:
    if chain_id != chain.chain_id or to_checksum_address(registry) != chain.registry.address:
        raise InvalidArgumentError(f"the {what} is for registry {registry} on chain {chain_id}, but this "
                                   f"ledger uses {chain.registry.address} on chain {chain.chain_id}")


def typed_data(chain: Chain, terms: Terms, nonce: int, deadline: int) -> dict:
    """The EIP-712 ``PledgeConsent`` document a wallet signs (eth_signTypedData_v4 shape),
    JSON-ready: its integers are decimal strings (``Chain.typed_data``)."""
    return chain.typed_data(PLEDGE_CONSENT_TYPES, {**terms.message(), "nonce": nonce, "deadline": deadline})


def extension_typed_data(chain: Chain, token_id: int, lien_end: int, nonce: int, deadline: int) -> dict:
    """The EIP-712 ``PledgeExtension`` document a wallet signs (integers as decimal strings)."""
    return chain.typed_data(PLEDGE_EXTENSION_TYPES,
                            {"tokenId": token_id, "newLienEnd": lien_end, "nonce": nonce, "deadline": deadline})


def check_extension_signature(chain: Chain, ext: Extension, factory: str) -> None:
    document = extension_typed_data(chain, ext.token_id, ext.lien_end, ext.nonce, ext.deadline)
    recovered = chain.recover_typed_data(document, ext.signature)
    if recovered is None or recovered.lower() != factory.lower():
        raise SignatureMismatch(f"the extension's signature is not the pledge's factory's ({factory}) signature of "
                                "its token, lien end, nonce and deadline")


def extension_used(chain: Chain, ext: Extension) -> bool:
    """Has the registry used this extension's nonce (for it, or for a consent)?"""
    return chain.call(chain.registry.functions.consentNonceUsed(ext.factory, ext.nonce).call)


def issue_call(chain: Chain, consent: Consent):
    """The registry call that issues the pledge ``consent`` allows (with the lien list's
    insertion hint read from the registry now)."""
    fns = chain.registry.functions
    hint = chain.call(fns.issueHint(consent.terms.log_id, consent.terms.start).call)
    return fns.issue(consent.terms.as_tuple(), consent.nonce, consent.deadline, consent.signature, hint)


def transfer_call(chain: Chain, holder: str, to: str, token_id: int):
    """The registry call by which ``holder`` transfers pledge ``token_id`` to lender ``to``."""
    return chain.registry.functions.safeTransferFrom(holder, to, token_id)


def release_call(chain: Chain, token_id: int):
    """The registry call that releases pledge ``token_id`` (the loan is repaid)."""
    return chain.registry.functions.release(token_id)


def default_call(chain: Chain, token_id: int):
    """The registry call that declares pledge ``token_id``'s loan in default."""
    return chain.registry.functions.declareDefault(token_id)


@dataclass(frozen=True)
class Issued:
    token_id: int
    tx_hash: str
    block_number: int


def issue(chain: Chain, lender, consent: Consent) -> Issued:
    """Issue the pledge a consent allows, as the lender it names. A refusal raises
    ``ContractRevertError`` from the gas estimate, before anything is sent."""
    check_same_registry(chain, consent.chain_id, consent.registry, "consent")
    receipt = chain.transact(lender, issue_call(chain, consent))
    events = chain.registry.events.PledgeIssued().process_receipt(receipt, errors=DISCARD)  # skip ERC-721 Transfer
    if len(events) != 1:
        raise ChainError("the issue transaction emitted no PledgeIssued event")
    return Issued(events[0]["args"]["tokenId"], to_hex(bytes(receipt["transactionHash"])), receipt["blockNumber"])


def send(chain: Chain, account, fn) -> str:
    """Send one holder action (transfer, release, default, extend); returns the tx hash."""
    receipt = chain.transact(account, fn)
    return to_hex(bytes(receipt["transactionHash"]))


def extend_call(chain: Chain, view: PledgeView, lien_end: int | None, extension: Extension | None = None):
    """The registry call that moves pledge ``view``'s lien end: ``extend`` up to the max lien
    end the factory signed, ``extendWithConsent`` with the factory's ``extension`` beyond it.
    Refuses first, with what is missing, a move past the max lien end without an extension
    (``ConflictError``), and an extension for another pledge, registry or lien end, signed by
    another key, past its deadline or used already, so a holder's wallet is never handed a
    transaction that must revert for those reasons. (Holder, status and "later than the current
    lien end" are the registry's checks, refused by name from the gas estimate.)"""
    fns, token = chain.registry.functions, view.token_id
    if extension is None:
        if lien_end is None:
            raise InvalidArgumentError("lien_end: give the new lien end (or the factory's extension)")
        check_moment(lien_end, "lien_end")
        bound = view.terms.max_lien_end
        if lien_end > bound and view.status == "live":  # else the registry's PledgeWrongStatus says why
            raise ConflictError(
                f"pledge {token}: the new lien end {utc_text(lien_end)} is past {utc_text(bound)}, the latest lien end its "
                "factory agreed to (max lien end): extending further needs the factory's signed extension "
                f"({EXTENSION_FORMAT}, e.g. dpl pledge extension --token {token} --lien-end DATE), nothing was sent")
        return fns.extend(token, lien_end)
    check_same_registry(chain, extension.chain_id, extension.registry, "extension")
    if extension.token_id != token:
        raise InvalidArgumentError(f"the extension is for pledge {extension.token_id}, not {token}")
    if lien_end is not None and lien_end != extension.lien_end:
        raise InvalidArgumentError(f"lien_end: the factory's extension moves the lien end to {utc_text(extension.lien_end)}, "
                                   f"not {utc_text(lien_end)}")
    check_extension_signature(chain, extension, view.factory)
    now = chain_time(chain)
    if extension.deadline < now:
        raise ConflictError(f"the factory's extension expired at {utc_text(extension.deadline)} (the chain's clock "
                            f"reads {utc_text(now)}): ask the factory for a new one")
    if chain.call(fns.consentNonceUsed(view.factory, extension.nonce).call):
        raise ConflictError("the factory's extension was used already (each extension moves a lien once)")
    return fns.extendWithConsent(token, extension.lien_end, extension.nonce, extension.deadline, extension.signature)


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
    events = read_events(chain, chain.registry.events.RoleGranted, from_block, argument_filters={"role": role})
    seen = dict.fromkeys(ev["args"]["account"] for ev in events)
    return [a for a in seen if chain.call(chain.registry.functions.hasRole(role, a).call)]
