"""Anchoring: each log's newest checkpoint, signed by its factory, put in the registry.

Crash-safe (DESIGN.md section 5): the intent, with the signed transaction, is committed
before the transaction is sent; every run first reconciles what earlier runs left:
- a transaction in a block moves its row to ``included``, and to ``final`` once
  ``confirmations`` blocks are on top of it (its block hash re-checked each time);
- one the node does not know (never sent: a crash; or dropped by a reorg) is re-broadcast
  byte for byte: same nonce, same hash, so it can never land twice;
- a row whose checkpoint the registry holds already needs nothing more: when another
  sender's transaction put exactly our (size, root) there first (anyone watching the pool can
  copy our ``anchor`` call, the factory's signature included, and send it with a higher fee,
  so ours reverts), the row *adopts* that transaction, found by its ``CheckpointAnchored``
  event, and goes included -> final like any other (reorg checks then apply to its block);
  when the registry holds *another* root at that size the row is a ``conflict`` (only the
  factory's key can have signed it), reported by ``dpl anchor``, ``dpl audit`` and ``/health``.
One row per (registry, log, size) means a checkpoint is never anchored twice, and a root
is never lost: a pending row is retried until it is in a block.

The relayer's nonces come from the nonce manager (``ledger.transactions``), which records the
anchor transaction in the same database transaction as the intent; each run first fills any
nonce gap of the relayer (something that dropped out from under our transactions). An anchor
pending for more than ``stuck_after`` blocks is reported ``stuck``, with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.chain.client import Chain, log_id_of
from ledger.chain.events import iter_events
from ledger.errors import (ChainError, ChainUnavailableError, ConflictError, ContractRevertError, NonceGapError,
                           NotFoundError)
from ledger.keys import Keyring
from ledger.store.anchors import CONFLICT, FAILED, FINAL, INCLUDED, LIVE_STATES, PENDING, AnchorRow, AnchorStore
from ledger.store.logstore import LogInfo, LogStore
from ledger.store.signatures import FactorySignatures
from ledger.store.transactions import MINED, REFUSED
from ledger.transactions import Repair, Transactions, fault_pause

REORG_WINDOW = 64  # blocks: how far back final anchors are re-checked for reorgs
RECEIPT_WAIT = 3.0  # seconds a run waits for the receipts of what it just sent
#: An anchor pending for more blocks than this is reported stuck (``DPL_STUCK_AFTER_BLOCKS``).
DEFAULT_STUCK_AFTER_BLOCKS = 20
STUCK = "stuck"
#: How far back (blocks) the transaction that anchored a checkpoint by someone else is searched
#: for, from our own reverted transaction's block (or the head): it came after ours was sent.
ADOPT_WINDOW = 20_000
ADOPT_PAGE = 2_000  # blocks per eth_getLogs call of that search (logId is an indexed topic)


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


@dataclass(frozen=True)
class StuckAnchor:
    """An anchor pending for more than the configured number of blocks, and why."""

    stream: str
    size: int
    nonce: int
    tx_hash: str
    pending_blocks: int
    reason: str

    def as_json(self) -> dict:
        return {"stream": self.stream, "size": self.size, "nonce": self.nonce, "tx_hash": self.tx_hash,
                "pending_blocks": self.pending_blocks, "reason": self.reason}


def stuck_anchors(store: LogStore, chain: Chain, stuck_after: int,
                  transactions: Transactions | None = None) -> list[StuckAnchor]:
    """Anchors on ``chain``'s registry pending for more than ``stuck_after`` blocks, each with
    the reason the relayer's transaction does not get mined (read-only: audit, /health)."""
    transactions = transactions or chain.journal or Transactions(store.engine)
    rows = [r for r in AnchorStore(store.engine).in_states(chain.chain_id, chain.registry.address, (PENDING,))
            if r.pending_since_block is not None]
    if not rows:
        return []
    head = chain.block_number()
    streams = {log.pk: log.stream for log in store.list_logs()}
    return [StuckAnchor(streams.get(r.log_pk, f"#{r.log_pk}"), r.size, r.nonce, "0x" + r.tx_hash.hex(),
                        head - r.pending_since_block,
                        transactions.explain_wait(chain, r.sender, r.nonce, r.tx_hash))
            for r in rows if head - r.pending_since_block > stuck_after]


@dataclass(frozen=True)
class ConflictingAnchor:
    """A checkpoint size at which the registry holds another root than ours."""

    stream: str
    size: int
    reason: str

    def as_json(self) -> dict:
        return {"stream": self.stream, "size": self.size, "reason": self.reason}


def conflicting_anchors(store: LogStore, chain: Chain) -> list[ConflictingAnchor]:
    """Rows in ``conflict`` on ``chain``'s registry (read-only, from the database: /health)."""
    streams = {log.pk: log.stream for log in store.list_logs()}
    return [ConflictingAnchor(streams.get(r.log_pk, f"#{r.log_pk}"), r.size, r.error or "")
            for r in AnchorStore(store.engine).in_states(chain.chain_id, chain.registry.address, (CONFLICT,))]


def conflict_text(size: int, held: bytes, ours: bytes) -> str:
    return (f"conflict: the registry holds root 0x{held.hex()} at size {size}, ours is 0x{ours.hex()}; "
            "only the log's factory key can have signed it: is that key in other hands?")


class Anchorer:
    def __init__(self, store: LogStore, chain: Chain, keyring: Keyring, *,
                 relayer_key: str, factory_key: str, confirmations: int,
                 stuck_after: int = DEFAULT_STUCK_AFTER_BLOCKS):
        self.store = store
        self.chain = chain
        self.keyring = keyring
        # Every transaction of the relayer goes through the nonce manager (attached here when
        # the caller did not: the anchorer has the database).
        if chain.journal is None:
            Transactions(store.engine).attach(chain)
        self.transactions: Transactions = chain.journal
        self.stuck_after = stuck_after
        self.last_repair = Repair()
        self.anchors = AnchorStore(store.engine)
        self.signatures = FactorySignatures(store.engine)
        self._key_names: dict[str, str] | None = None  # address -> keyring name, read once per run
        self._log_id_cache: dict[int, bytes | None] | None = None  # log pk -> on-chain id, once per reconcile
        self.registry = chain.registry.address
        self.chain_id = chain.chain_id
        self.relayer_key = relayer_key
        self.factory_key = factory_key
        self.confirmations = confirmations

    # --- the run -------------------------------------------------------------------------

    def run(self, stream: str | None = None) -> list[AnchorReport]:
        """Fill the relayer's nonce gaps, reconcile earlier anchors, then anchor the newest
        checkpoint of each log; anchors pending too long are reported ``stuck``."""
        self._key_names = None  # a key added since the last run counts
        self.last_repair = self.repair()
        self.reconcile()
        logs = [self.store.get_log(stream)] if stream else self.store.list_logs()
        reports = [self.anchor_latest(log) for log in logs]
        self._await_receipts([r.tx_hash for r in reports if r.state == PENDING and r.tx_hash])
        self.reconcile()
        stuck = {(s.stream, s.size): s for s in stuck_anchors(self.store, self.chain, self.stuck_after,
                                                               self.transactions)}
        return [self._refresh(r, stuck) for r in reports]

    def _await_receipts(self, tx_hashes: list[str]) -> None:
        """Give the transactions this run sent up to ``RECEIPT_WAIT`` seconds to be mined, so a
        chain that mines at once (anvil) reports them included, not pending, however busy the
        machine; a chain with slower blocks reports them pending after that wait, as before."""
        deadline = time.monotonic() + RECEIPT_WAIT
        waiting = [bytes.fromhex(h[2:]) for h in tx_hashes]
        while waiting and time.monotonic() < deadline:
            waiting = [h for h in waiting if self.chain.receipt(h) is None]
            if waiting:
                time.sleep(0.05)

    def repair(self) -> Repair:
        """Fill the relayer's nonce gaps (``Transactions.repair``); its key is opened only
        when a gap filler must be signed. Nothing to do when the keyring has no relayer."""
        try:
            address = self.keyring.info(self.relayer_key).address
        except NotFoundError:
            return Repair()
        return self.transactions.repair(self.chain, address,
                                        lambda: self.keyring.account(self.relayer_key, self.chain_id))

    def _refresh(self, report: AnchorReport, stuck: dict | None = None) -> AnchorReport:
        stuck = stuck or {}
        log = self.store.get_log(report.stream)
        row = self.anchors.get(self.chain_id, self.registry, log.pk, report.size)
        if row is None:
            return report
        state, note = row.state, report.note or (row.error or "")
        if state == PENDING and (report.stream, row.size) in stuck:
            s = stuck[(report.stream, row.size)]
            state = STUCK
            note = f"pending for {s.pending_blocks} blocks: {s.reason}"
            if self.last_repair.error and self.last_repair.error not in note:
                note += f"; {self.last_repair.error}"
        return AnchorReport(report.stream, row.size, state, "0x" + row.tx_hash.hex(), row.block_number, note)

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
            log = replace(log, size=signed.size, root=signed.root)
            wallet_signature = signed.signature
        try:
            return self._anchor(log, bound, wallet_signature)
        except _Awaiting as e:
            return AnchorReport(log.stream, log.size, AWAITING_SIGNATURE, note=str(e))
        except NonceGapError as e:  # nothing was sent: it would only have waited behind the gap
            return AnchorReport(log.stream, log.size, STUCK, note=f"not sent: {e}")

    def _anchor(self, log: LogInfo, bound: str | None, wallet_signature: bytes | None) -> AnchorReport:
        row = self.anchors.get(self.chain_id, self.registry, log.pk, log.size)
        if row is not None and row.state != FAILED:  # no key needed to report on it
            return AnchorReport(log.stream, log.size, row.state, "0x" + row.tx_hash.hex(), row.block_number)
        factory, log = self.factory_account(log, bound)
        self._ensure_registered(log, factory)
        fns = self.chain.registry.functions
        latest_size, latest_root, _ = self.chain.call(fns.latestCheckpoint(log.log_id).call)
        if latest_size >= log.size:
            settled = self._settle_held(log, row)
            if settled is not None:
                return settled
            return AnchorReport(log.stream, log.size, "stale",
                                note=f"the chain holds a newer checkpoint (size {latest_size})")
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

        # pending_since_block is set by the run's closing reconcile if it is still pending then
        def record_intent(conn, sent) -> None:  # in the nonce manager's transaction: one commit
            if row is None:
                self.anchors.record_intent(log_pk=log.pk, chain_id=self.chain_id, registry=self.registry,
                                           size=log.size, root=log.root, sender=sent.sender, nonce=sent.nonce,
                                           tx_hash=sent.tx_hash, raw_tx=sent.raw, conn=conn)
            else:  # a failed attempt of this checkpoint: the same row, a new transaction
                self.anchors.update(row.id, conn=conn, state=PENDING, sender=sent.sender, nonce=sent.nonce,
                                    tx_hash=sent.tx_hash, raw_tx=sent.raw, attempts=row.attempts + 1, error=None,
                                    block_number=None, block_hash=None, pending_since_block=None)

        # Gas estimation and a simulation against the pending state come first: a revert is
        # reported here, before any intent. The intent is committed when this returns.
        sent = self.chain.build_signed(relayer, fns.anchor(log.log_id, log.size, log.root, proof, signature),
                                       purpose="anchor", also=record_intent)
        fault_pause("after-intent")
        self.chain.broadcast(sent)
        fault_pause("after-send")
        return AnchorReport(log.stream, log.size, PENDING, "0x" + sent.tx_hash.hex())

    def _settle_held(self, log: LogInfo, row: AnchorRow | None) -> AnchorReport | None:
        """For a checkpoint we hold no live row of: when the registry holds a root at its size,
        adopt the transaction that anchored ours, or record the conflict; None when it holds none."""
        held = self._registry_root(log.log_id, log.size)
        if held is None:
            return None
        head = self.chain.block_number()
        if row is not None:
            receipt = self.chain.receipt(row.tx_hash)  # our reverted attempt: the other one came before it
            upto = receipt["blockNumber"] if receipt is not None else head
            self._settle_by_registry(row, log.log_id, head, upto, held=held,
                                     why=f"our transaction 0x{row.tx_hash.hex()} failed: {row.error or 'reverted'}")
            row = self.anchors.get(self.chain_id, self.registry, log.pk, log.size)
            return AnchorReport(log.stream, log.size, row.state, "0x" + row.tx_hash.hex(), row.block_number,
                                row.error or "")
        found = self._anchoring_event(log.log_id, log.size, held, head)
        if held != log.root:  # kept as a row (when its transaction is found), so /health reports it
            note = conflict_text(log.size, held, log.root)
            if found is None:
                return AnchorReport(log.stream, log.size, CONFLICT, note=note)
            state = CONFLICT
        elif found is None:
            return AnchorReport(log.stream, log.size, "on-chain", note=self._not_found(head))
        else:
            state = FINAL if head - found[1] + 1 > self.confirmations else INCLUDED
            note = f"anchored by transaction 0x{found[0].hex()} from {found[3]}, not ours"
        tx_hash, number, block_hash, sender, nonce = found
        self.anchors.record_adopted(log_pk=log.pk, chain_id=self.chain_id, registry=self.registry, size=log.size,
                                    root=log.root, state=state, sender=sender, nonce=nonce, tx_hash=tx_hash,
                                    block_number=number, block_hash=block_hash, error=note)
        return AnchorReport(log.stream, log.size, state, "0x" + tx_hash.hex(), number, note)

    def _registry_root(self, log_id: bytes, size: int) -> bytes | None:
        """The root the registry holds for ``log_id`` at exactly ``size``, None when none (the
        registry answers zero: it refuses to anchor a zero root)."""
        root = bytes(self.chain.call(self.chain.registry.functions.rootAt(log_id, size).call))
        return root if root != bytes(32) else None

    def _anchoring_event(self, log_id: bytes, size: int, root: bytes, upto: int):
        """(tx hash, block number, block hash, sender, nonce) of the transaction whose
        ``CheckpointAnchored(logId, size, root)`` is in blocks ``upto`` and before (at most
        ``ADOPT_WINDOW`` of them, newest first); None when not found there."""
        event = self.chain.registry.events.CheckpointAnchored
        for ev in iter_events(self.chain, event, max(0, upto - ADOPT_WINDOW + 1), upto, page=ADOPT_PAGE,
                              argument_filters={"logId": log_id}, newest_first=True):
            if ev["args"]["size"] == size and bytes(ev["args"]["root"]) == root:
                tx_hash = bytes(ev["transactionHash"])
                tx = self.chain.transaction(tx_hash) or {}
                return (tx_hash, ev["blockNumber"], bytes(ev["blockHash"]),
                        to_checksum_address(tx.get("from") or "0x" + "00" * 20), int(tx.get("nonce") or 0))
        return None

    @staticmethod
    def _not_found(upto: int) -> str:
        return (f"the registry holds this checkpoint, but no CheckpointAnchored event of it was found in the "
                f"{ADOPT_WINDOW} blocks up to {upto}")

    def _settle_by_registry(self, row: AnchorRow, log_id: bytes | None, head: int, upto: int, why: str,
                            held: bytes | None = None) -> bool:
        """For a row whose transaction did not anchor it (reverted, dropped, or refused): when the
        registry holds our (size, root), adopt the transaction that put it there; when it holds
        another root, mark the row ``conflict``. False when the registry holds nothing at that size."""
        if log_id is None:
            return False
        held = held if held is not None else self._registry_root(log_id, row.size)
        if held is None:
            return False
        if held != row.root:
            self.anchors.update(row.id, state=CONFLICT, error=conflict_text(row.size, held, row.root)[:500])
            return True
        found = self._anchoring_event(log_id, row.size, row.root, upto)
        if found is None:
            self.anchors.update(row.id, state=FAILED, error=f"{why}; {self._not_found(upto)}"[:500])
            return True
        tx_hash, number, block_hash, sender, nonce = found
        state = FINAL if head - number + 1 > self.confirmations else INCLUDED
        raw = self._our_raw(tx_hash, sender, nonce)  # ours after all (e.g. re-sent by a nonce repair)?
        if raw:
            note = f"anchored by our transaction 0x{tx_hash.hex()} (nonce {nonce}); {why}"
            self.transactions.store.set_state(tx_hash, MINED, block_number=number)
        else:  # another sender's: not ours to re-send if a reorg drops it
            note = f"anchored by transaction 0x{tx_hash.hex()} from {sender}; {why}"
        self.anchors.update(row.id, state=state, tx_hash=tx_hash, sender=sender, nonce=nonce, raw_tx=raw,
                            block_number=number, block_hash=block_hash, error=note[:500], pending_since_block=None)
        return True

    def _our_raw(self, tx_hash: bytes, sender: str, nonce: int) -> bytes:
        """The signed bytes of ``tx_hash`` when the nonce manager recorded it (ours), else b""."""
        rows = self.transactions.store.at_nonce(self.chain_id, self.chain.genesis_hash, sender, nonce)
        return next((r.raw_tx for r in rows if r.tx_hash == tx_hash), b"")

    def _log_ids(self) -> dict[int, bytes | None]:
        if self._log_id_cache is None:
            self._log_id_cache = {log.pk: log.log_id for log in self.store.list_logs()}
        return self._log_id_cache

    # --- reconciling ------------------------------------------------------------------------

    def reconcile(self) -> None:
        """Bring every live anchor row in line with the chain (see the module docstring).

        Rows already in a block cost one block-hash lookup per distinct block (no receipt),
        and final rows are re-checked only within ``REORG_WINDOW`` blocks of the head: a
        run's cost does not grow with the number of anchors ever made.
        """
        head = self.chain.block_number()
        self._log_id_cache = None
        canonical: dict[int, bytes | None] = {}
        for row in self.anchors.in_states(self.chain_id, self.registry, (CONFLICT,)):  # rare: re-checked each run
            if not self._settle_by_registry(row, self._log_ids().get(row.log_pk), head, head,
                                            "the conflicting checkpoint is gone (a reorg?)"):
                self.anchors.update(row.id, state=FAILED, error="the conflicting checkpoint is no longer on chain "
                                                                "(a reorg?); signed anew next run")
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
        log_id = self._log_ids().get(row.log_pk)
        receipt = self.chain.receipt(row.tx_hash)
        if receipt is not None:
            if receipt["status"] != 1:
                why = self.chain.explain_reverted(row.tx_hash, receipt)
                # Reverted: maybe because another sender's copy anchored it first (adopted then)
                if not self._settle_by_registry(row, log_id, head, receipt["blockNumber"],
                                                f"our transaction 0x{row.tx_hash.hex()} reverted: {why}"):
                    self.anchors.update(row.id, state=FAILED, error=str(why)[:500])  # signed anew next run
                return
            number, block_hash = receipt["blockNumber"], bytes(receipt["blockHash"])
            if self.chain.block_hash(number) != block_hash:
                receipt = None  # the block was replaced under us: treat as dropped
            else:
                final = head - number + 1 > self.confirmations
                self.anchors.update(row.id, state=FINAL if final else INCLUDED,
                                    block_number=number, block_hash=block_hash)
                self.transactions.store.set_state(row.tx_hash, MINED, block_number=number)  # saves a lookup
                return
        # Not in a block (never sent, dropped, or reorged out).
        if not row.raw_tx:  # an adopted transaction (another sender's) that a reorg dropped: not ours to re-send
            if not self._settle_by_registry(row, log_id, head, head, "the transaction that anchored it was dropped"):
                self.anchors.update(row.id, state=FAILED, block_number=None, block_hash=None,
                                    error="the other sender's transaction that anchored it was dropped by a "
                                          "reorg; signed anew next run")
            return
        if row.state != PENDING:
            self.anchors.update(row.id, state=PENDING, block_number=None, block_hash=None,
                                error="dropped by a reorg; re-sent", pending_since_block=head)
        elif row.pending_since_block is None:  # first seen pending (a row starts without it)
            self.anchors.update(row.id, pending_since_block=head)
        if self.chain.transaction_known(row.tx_hash):
            return  # waiting in the node's pool
        try:
            self.chain.send_raw(row.raw_tx)
        except ChainUnavailableError:
            raise
        except ChainError as e:
            # The nonce went to another transaction: this one can never land. Sign anew, unless
            # the checkpoint got on chain by another transaction meanwhile.
            self.transactions.store.set_state(row.tx_hash, REFUSED, error=f"re-send refused: {e}")
            if not self._settle_by_registry(row, log_id, head, head, f"our re-send was refused: {e}"):
                self.anchors.update(row.id, state=FAILED, error=f"re-send refused: {e}"[:500])


class _Awaiting(Exception):
    """A signature the factory makes with its own wallet is not there yet."""


