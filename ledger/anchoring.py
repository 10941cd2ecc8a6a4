"""Anchoring: each log's newest checkpoint, signed by its factory, put in the registry.

Crash-safe (DESIGN.md section 5): the intent, with the signed transaction, is committed
before the transaction is sent; every run first reconciles what earlier runs left:
- a transaction in a block moves its row to ``included``, and to ``final`` once
  ``confirmations`` blocks are on top of it (its block hash re-checked each time);
- one the node does not know (never sent: a crash; or dropped by a reorg) is re-broadcast
  byte for byte: same nonce, same hash, so it can never land twice;
- a row whose checkpoint the registry holds already needs nothing more.
One row per (registry, log, size) means a checkpoint is never anchored twice, and a root
is never lost: a pending row is retried until it is in a block.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.chain.client import Chain, log_id_of
from ledger.errors import ChainError, ConflictError, ContractRevertError
from ledger.keys import Keyring
from ledger.store.anchors import FAILED, FINAL, INCLUDED, LIVE_STATES, PENDING, AnchorRow, AnchorStore
from ledger.store.logstore import LogInfo, LogStore
from ledger.store.signatures import FactorySignatures

#: Fault injection for tests: pause (so a test can kill us) at this point of an anchor.
FAULT_PAUSE_ENV = "DPL_FAULT_PAUSE_AT"
REORG_WINDOW = 64  # blocks: how far back final anchors are re-checked for reorgs


@dataclass(frozen=True)
class AnchorReport:
    stream: str
    size: int
    state: str
    tx_hash: str | None = None
    block_number: int | None = None
    note: str = ""


@dataclass(frozen=True)
class WalletFactory:
    """A log's factory whose key is not in the keyring: it signs with its own wallet, and
    the anchorer uses the signatures it left (``ledger.store.signatures``)."""

    address: str


AWAITING_SIGNATURE = "awaiting-signature"


class Anchorer:
    def __init__(self, store: LogStore, chain: Chain, keyring: Keyring, *,
                 relayer_key: str, factory_key: str, confirmations: int):
        self.store = store
        self.chain = chain
        self.keyring = keyring
        self.anchors = AnchorStore(store.engine)
        self.signatures = FactorySignatures(store.engine)
        self._key_names: dict[str, str] | None = None  # address -> keyring name, read once per run
        self.registry = chain.registry.address
        self.chain_id = chain.chain_id
        self.relayer_key = relayer_key
        self.factory_key = factory_key
        self.confirmations = confirmations

    # --- the run -------------------------------------------------------------------------

    def run(self, stream: str | None = None) -> list[AnchorReport]:
        """Reconcile earlier anchors, then anchor the newest checkpoint of each log."""
        self._key_names = None  # a key added since the last run counts
        self.reconcile()
        logs = [self.store.get_log(stream)] if stream else self.store.list_logs()
        reports = [self.anchor_latest(log) for log in logs]
        self.reconcile()
        return [self._refresh(r) for r in reports]

    def _refresh(self, report: AnchorReport) -> AnchorReport:
        log = self.store.get_log(report.stream)
        row = self.anchors.get(self.chain_id, self.registry, log.pk, report.size)
        if row is None:
            return report
        return AnchorReport(report.stream, row.size, row.state, "0x" + row.tx_hash.hex(),
                            row.block_number, report.note or (row.error or ""))

    # --- keys and binding -----------------------------------------------------------------

    def _key_name(self, address: str) -> str | None:
        """The keyring's name for ``address``, None when the keyring holds no such key."""
        if self._key_names is None:
            self._key_names = {k.address.lower(): k.name for k in self.keyring.list()}
        return self._key_names.get(address.lower())

    def factory_account(self, log: LogInfo, bound: str | None) -> tuple[LocalAccount | WalletFactory, LogInfo]:
        """The factory key of ``log``, bound to address ``bound`` (a ``WalletFactory`` when the
        keyring has none: it signs elsewhere); an unbound log is bound to the default factory key."""
        if bound:
            name = self._key_name(bound)
            account = self.keyring.account(name, self.chain_id) if name else WalletFactory(to_checksum_address(bound))
            return account, log
        account = self.keyring.account(self.factory_key, self.chain_id)
        log = self.store.bind_log(log.stream, account.address, log_id_of(account.address, log.stream))
        return account, log

    def _ensure_registered(self, log: LogInfo, factory: LocalAccount) -> None:
        on_chain = self.chain.call(self.chain.registry.functions.factoryOf(log.log_id).call)
        if int(on_chain, 16) != 0:
            if on_chain.lower() != factory.address.lower():
                raise ConflictError(f"log {log.stream!r} is registered on chain to {on_chain}")
            return
        relayer = self.keyring.account(self.relayer_key, self.chain_id)
        if isinstance(factory, WalletFactory):
            signature = self.signatures.register(log.pk)
            if signature is None:
                raise _Awaiting(f"the factory {factory.address} has not signed RegisterLog for {log.stream!r} yet")
        else:
            signature = self.chain.sign_register_log(factory, log.stream)
        try:
            self.chain.transact(relayer, self.chain.registry.functions.registerLog(
                factory.address, log.stream, signature))
        except ContractRevertError as e:
            if e.name != "RegistryLogAlreadyRegistered":  # a concurrent run registered it
                raise

    # --- anchoring one log ------------------------------------------------------------------

    def anchor_latest(self, log: LogInfo) -> AnchorReport:
        """Anchor the log's newest checkpoint; for a factory that signs with its own wallet,
        the newest checkpoint it signed (or report that its signature is awaited)."""
        if log.size == 0:
            return AnchorReport(log.stream, 0, "empty", note="nothing to anchor")
        bound = self.store.factory_of(log.stream)
        wallet_signature = None
        if bound and self._key_name(bound) is None:
            signed = self.signatures.newest_checkpoint(log.pk)
            if signed is None:
                return AnchorReport(log.stream, log.size, AWAITING_SIGNATURE,
                                    note=f"the factory {bound} signs its checkpoints with its own wallet: none signed yet")
            log = LogInfo(log.pk, log.stream, log.log_id, signed.size, signed.root)
            wallet_signature = signed.signature
        try:
            return self._anchor(log, bound, wallet_signature)
        except _Awaiting as e:
            return AnchorReport(log.stream, log.size, AWAITING_SIGNATURE, note=str(e))

    def _anchor(self, log: LogInfo, bound: str | None, wallet_signature: bytes | None) -> AnchorReport:
        row = self.anchors.get(self.chain_id, self.registry, log.pk, log.size)
        if row is not None and row.state != FAILED:  # no key needed to report on it
            return AnchorReport(log.stream, log.size, row.state, "0x" + row.tx_hash.hex(), row.block_number)
        factory, log = self.factory_account(log, bound)
        self._ensure_registered(log, factory)
        fns = self.chain.registry.functions
        latest_size, latest_root, _ = self.chain.call(fns.latestCheckpoint(log.log_id).call)
        if latest_size >= log.size:
            root, _ = self.chain.call(fns.rootAt(log.log_id, log.size).call)
            note = ("anchored on chain already" if bytes(root) == log.root
                    else f"the chain holds a newer checkpoint (size {latest_size})")
            return AnchorReport(log.stream, log.size, "on-chain" if bytes(root) == log.root else "stale", note=note)
        proof: list[bytes] = []
        if latest_size:
            ours = self.store.root_at(log.stream, latest_size)
            if ours != bytes(latest_root):
                raise ChainError(
                    f"log {log.stream!r} differs from the chain at size {latest_size}: the anchored "
                    f"root is 0x{bytes(latest_root).hex()}, ours is 0x{ours.hex()}"
                )
            proof = self.store.consistency_proof(log.stream, latest_size, log.size).proof
        if isinstance(factory, WalletFactory):  # anchor_latest set the log to its signed checkpoint
            signature = wallet_signature
        else:
            signature = self.chain.sign_checkpoint(factory, log.log_id, log.size, log.root)
        relayer = self.keyring.account(self.relayer_key, self.chain_id)
        # Building the transaction estimates gas: a revert is reported here, before any intent.
        sent = self.chain.build_signed(relayer, fns.anchor(log.log_id, log.size, log.root, proof, signature),
                                       nonce=self._next_nonce(relayer.address))
        if row is None:
            self.anchors.record_intent(log_pk=log.pk, chain_id=self.chain_id, registry=self.registry,
                                       size=log.size, root=log.root, sender=sent.sender, nonce=sent.nonce,
                                       tx_hash=sent.tx_hash, raw_tx=sent.raw)
        else:  # a failed attempt of this checkpoint: the same row, a new transaction
            self.anchors.update(row.id, state=PENDING, nonce=sent.nonce, tx_hash=sent.tx_hash,
                                raw_tx=sent.raw, attempts=row.attempts + 1, error=None,
                                block_number=None, block_hash=None)
        _fault_pause("after-intent")
        self.chain.send_raw(sent.raw)
        _fault_pause("after-send")
        return AnchorReport(log.stream, log.size, PENDING, "0x" + sent.tx_hash.hex())

    def _next_nonce(self, sender: str) -> int:
        """The node's pending count, or past our own unsent pending transactions."""
        on_node = self.chain.call(self.chain.w3.eth.get_transaction_count, sender, "pending")
        ours = [r.nonce + 1 for r in self.anchors.in_states(self.chain_id, self.registry, (PENDING,))
                if r.sender.lower() == sender.lower()]
        return max([on_node, *ours])

    # --- reconciling ------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring every live anchor row in line with the chain (see the module docstring).

        Rows already in a block cost one block-hash lookup per distinct block (no receipt),
        and final rows are re-checked only within ``REORG_WINDOW`` blocks of the head: a
        run's cost does not grow with the number of anchors ever made.
        """
        head = self.chain.block_number()
        canonical: dict[int, bytes | None] = {}
        for row in self.anchors.in_states(self.chain_id, self.registry, LIVE_STATES):
            n = row.block_number
            if row.state == FINAL and n is not None and n < head - REORG_WINDOW:
                continue
            if row.state in (INCLUDED, FINAL) and n is not None and row.block_hash is not None:
                if n not in canonical:
                    canonical[n] = self.chain.block_hash(n)
                if canonical[n] == row.block_hash:  # still in the canonical chain
                    if row.state == INCLUDED and head - n + 1 > self.confirmations:
                        self.anchors.update(row.id, state=FINAL)
                    continue
            self.reconcile_row(row, head)

    def reconcile_row(self, row: AnchorRow, head: int) -> None:
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is not None:
            if receipt["status"] != 1:
                self.anchors.update(row.id, state=FAILED, error="the anchor transaction reverted")
                return
            number, block_hash = receipt["blockNumber"], bytes(receipt["blockHash"])
            if self.chain.block_hash(number) != block_hash:
                receipt = None  # the block was replaced under us: treat as dropped
            else:
                final = head - number + 1 > self.confirmations
                self.anchors.update(row.id, state=FINAL if final else INCLUDED,
                                    block_number=number, block_hash=block_hash)
                return
        # Not in a block (never sent, dropped, or reorged out).
        if row.state != PENDING:
            self.anchors.update(row.id, state=PENDING, block_number=None, block_hash=None,
                                error="dropped by a reorg; re-sent")
        if self.chain.transaction_known(row.tx_hash):
            return  # waiting in the node's pool
        try:
            self.chain.send_raw(row.raw_tx)
        except ChainError as e:
            # The nonce went to another transaction: this one can never land. Sign anew.
            self.anchors.update(row.id, state=FAILED, error=f"re-send refused: {e}"[:500])


class _Awaiting(Exception):
    """A signature the factory makes with its own wallet is not there yet."""


def _fault_pause(point: str) -> None:
    if os.environ.get(FAULT_PAUSE_ENV) == point:
        print(f"fault-pause:{point}", file=sys.stderr, flush=True)
        time.sleep(3600)

