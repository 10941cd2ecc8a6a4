"""The nonce manager: every transaction a keyring key sends is recorded before it is sent,
its nonce comes from our records and the node, and a nonce gap is found and filled.

Why: one key (the relayer, which is also the default registry admin) sends anchors,
``registerLog``, lender approvals and deployments, from several processes. A transaction
a node loses (a reorg drops it; a node killed before it saved its state forgets it) leaves
its nonce free on the node, and every later transaction of that key waits behind it for
ever. So:

- **Record before send.** ``sign_recorded`` (called by ``Chain.build_signed`` and
  ``Chain.transact`` through ``Chain.journal``) holds the sender's lock (``TransactionStore.
  sender_lock``: a row lock on PostgreSQL, the write lock on SQLite), simulates the call
  against the pending state, allocates ``max(node pending count, our highest live nonce +
  1)``, signs, and commits the row (sender, chain id, genesis, nonce, hash, raw bytes,
  purpose) before anything is sent. Two processes never get the same nonce.
- **Find and fill gaps** (``repair``): the node's pending nonce below one of our live rows
  means nonces are missing. For each missing nonce we re-broadcast our recorded raw
  transaction when we have one (byte for byte: same hash), else sign a 0-value transfer to
  ourselves with that nonce (a *gap filler*, recorded too). The transactions behind then run.
  Before allocating, ``sign_recorded`` re-broadcasts our rows the node does not hold yet (a
  concurrent process's, recorded a moment ago), so its simulation sees them; and refuses to
  sign behind a gap it could not fill (``NonceGapError``), rather than queue one more
  transaction that can never run.
- **Explain waits** (``explain_wait``): why a transaction is not mined (a nonce gap, what it
  waits behind), for stuck anchors in ``dpl anchor``, ``dpl audit`` and ``/health``.

Rows are per (chain id, genesis hash): a chain that was reset (same id, new genesis) starts
afresh instead of waiting for a history that is gone.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address

from ledger.chain.client import Chain, SentTx
from ledger.errors import ChainError, ChainUnavailableError, NonceGapError
from ledger.store.transactions import MINED, PENDING, REFUSED, REPLACED, TransactionStore, TxRow

FILLER = "gap-filler"
#: Most nonces one repair fills or re-sends, so a run stays bounded whatever it finds.
MAX_REPAIR = 64
#: Fault injection for tests: ``before-send`` stops the process (SIGSTOP) once a transaction
#: is recorded and before it is sent, so a test can interleave another process or kill it.
FAULT_PAUSE_ENV = "DPL_FAULT_PAUSE_AT"


@dataclass
class Repair:
    """What one ``repair`` did: nonces re-sent from our records, nonces filled, and the error
    that stopped it (the gap is still there), if any."""

    resent: list[int] = field(default_factory=list)
    filled: list[int] = field(default_factory=list)
    error: str | None = None


class Transactions:
    """The nonce manager over one database (see the module docstring)."""

    def __init__(self, engine):
        self.store = TransactionStore(engine)

    def attach(self, chain: Chain) -> Chain:
        """Make every transaction ``chain`` signs go through this manager."""
        chain.journal = self
        return chain

    # --- the hook Chain calls -------------------------------------------------------------

    def sign_recorded(self, chain: Chain, account: LocalAccount, tx: dict, purpose: str, also=None) -> SentTx:
        """Allocate a nonce, simulate ``tx`` against the pending state, sign it and record it,
        committed before this returns (``also(conn, sent)`` adds the caller's rows to that
        database transaction). Raises the decoded revert (nothing recorded) or
        ``NonceGapError`` when the sender's transactions wait behind a gap that stays open.

        The usual path costs one nonce query, one simulation and one database transaction;
        only when our own rows wait beyond the node's pending nonce are they re-sent, and only
        when that leaves a gap does ``repair`` run (then this tries once more)."""
        sender = to_checksum_address(account.address)
        repair: Repair | None = None
        while True:
            with self.store.sender_lock(sender) as conn:
                pending = self._pending_nonce(chain, sender)
                waiting = self.store.live_from(conn, chain.chain_id, chain.genesis_hash, sender, pending)
                blocked: list[TxRow] = []
                if waiting:  # ours, not held by the node: another process's being sent, or lost
                    for row in waiting:  # so the simulation below sees them
                        self._resend_quietly(chain, row)
                    pending = self._pending_nonce(chain, sender)
                    blocked = [r for r in waiting if r.nonce >= pending]
                if not blocked:
                    chain.simulate(tx)
                    highest = self.store.highest_live(conn, chain.chain_id, chain.genesis_hash, sender)
                    nonce = max(pending, highest + 1 if highest is not None else 0)
                    sent = chain.sign(account, tx, nonce)
                    self.store.insert(conn, chain_id=chain.chain_id, genesis=chain.genesis_hash, sender=sender,
                                      nonce=nonce, tx_hash=sent.tx_hash, raw_tx=sent.raw, purpose=purpose)
                    if also is not None:
                        also(conn, sent)
                    break
            if repair is not None:
                raise NonceGapError(self._gap_text(chain, sender, pending, blocked[0].nonce, repair.error)
                                    + "; nothing more is sent behind it")
            repair = self.repair(chain, sender, lambda: account)
        fault_pause("before-send")
        return sent

    def refused(self, chain: Chain, sent: SentTx, error: str) -> None:
        """The node refused ``sent``: it holds no nonce (a later repair fills it if needed)."""
        self.store.set_state(sent.tx_hash, REFUSED, error=error)

    def mined(self, chain: Chain, sent: SentTx, receipt) -> None:
        self.store.set_state(sent.tx_hash, MINED, block_number=receipt["blockNumber"])

    # --- gaps ------------------------------------------------------------------------------

    def repair(self, chain: Chain, sender: str, account: Callable[[], LocalAccount]) -> Repair:
        """Fill every nonce gap below our live transactions of ``sender``: re-broadcast what we
        recorded, sign a gap filler where we recorded nothing. ``account`` is asked for only
        when a filler must be signed. Refusals end the repair and are reported in ``error``."""
        sender = to_checksum_address(sender)
        out = Repair()
        to_send: list[tuple[TxRow | SentTx, bool]] = []  # (transaction, is a new filler)
        with self.store.sender_lock(sender) as conn:
            latest, pending = self._node_nonces(chain, sender)
            self._settle(conn, chain, sender, latest)
            waiting = {r.nonce: r for r in self.store.live_from(conn, chain.chain_id, chain.genesis_hash,
                                                                 sender, pending)}
            if not waiting:
                return out
            top = min(max(waiting), pending + MAX_REPAIR - 1)
            for nonce in range(pending, top + 1):
                if nonce in waiting:
                    to_send.append((waiting[nonce], False))
                    continue
                try:
                    filler = chain.sign(account(), chain.prepare_transfer(sender, sender), nonce)
                except ChainUnavailableError:
                    raise
                except ChainError as e:
                    out.error = f"cannot sign a filler for nonce {nonce}: {e}"
                    break
                self.store.insert(conn, chain_id=chain.chain_id, genesis=chain.genesis_hash, sender=sender,
                                  nonce=nonce, tx_hash=filler.tx_hash, raw_tx=filler.raw, purpose=FILLER)
                to_send.append((filler, True))
        # Recorded (committed) above; sent now, in nonce order.
        for item, is_filler in to_send:
            raw = item.raw if is_filler else item.raw_tx
            try:
                chain.send_raw(raw)
            except ChainUnavailableError:
                raise
            except ChainError as e:
                self.store.set_state(item.tx_hash, REFUSED, error=str(e))
                what = "filling" if is_filler else "re-sending our transaction for"
                out.error = f"{what} nonce {item.nonce} failed: {_short(e)}"
                break
            (out.filled if is_filler else out.resent).append(item.nonce)
        return out

    def _node_nonces(self, chain: Chain, sender: str) -> tuple[int, int]:
        """(mined count, pending count) of ``sender`` on the node."""
        return chain.call(chain.w3.eth.get_transaction_count, sender, "latest"), self._pending_nonce(chain, sender)

    def _pending_nonce(self, chain: Chain, sender: str) -> int:
        """The node's next nonce for ``sender``: mined transactions and the contiguous ones in its pool."""
        return chain.call(chain.w3.eth.get_transaction_count, sender, "pending")

    def _settle(self, conn, chain: Chain, sender: str, latest: int) -> None:
        """Rows still ``pending`` whose nonce the chain has used: ``mined`` if the chain holds
        them, else ``replaced`` (another transaction took the nonce); rows ``mined`` whose
        nonce the chain has not used (a reorg dropped them, a node lost them): ``pending``."""
        for row in self.store.mined_from(conn, chain.chain_id, chain.genesis_hash, sender, latest):
            self.store.set_state(row.tx_hash, PENDING, conn=conn, error="dropped from the chain; re-sent")
        for row in self.store.pending_below(conn, chain.chain_id, chain.genesis_hash, sender, latest):
            receipt = chain.receipt(row.tx_hash)
            if receipt is not None:
                self.store.set_state(row.tx_hash, MINED, conn=conn, block_number=receipt["blockNumber"])
            else:
                self.store.set_state(row.tx_hash, REPLACED, conn=conn,
                                     error=f"another transaction took nonce {row.nonce}")

    def _resend_quietly(self, chain: Chain, row: TxRow) -> None:
        try:
            chain.send_raw(row.raw_tx)
        except ChainUnavailableError:
            raise
        except ChainError:
            pass  # its own process, or the next repair, deals with the refusal

    # --- explaining a wait -----------------------------------------------------------------

    def explain_wait(self, chain: Chain, sender: str, nonce: int, tx_hash: bytes) -> str:
        """Why the transaction ``tx_hash`` (``sender``, ``nonce``) is not mined, in one sentence."""
        sender = to_checksum_address(sender)
        latest, pending = self._node_nonces(chain, sender)
        if nonce < latest:
            return f"its nonce {nonce} was taken by another transaction of {sender}"
        if pending < nonce:
            return self._gap_text(chain, sender, pending, nonce)
        known = chain.transaction_known(tx_hash)
        if not known:
            return f"the node does not have it (nonce {nonce} of {sender} is free): it is re-sent on the next run"
        if latest < nonce:
            return f"it waits behind nonce {latest} of {sender}: {self._holder(chain, sender, latest)}, not mined"
        return (f"it is next in the node's pool (nonce {nonce} of {sender}) but not mined: "
                "a fee below the base fee, or a node that does not mine?")

    def _gap_text(self, chain: Chain, sender: str, first: int, upto: int, error: str | None = None) -> str:
        """Nonces ``first``..``upto - 1`` hold nothing the node knows, so ``upto`` and later wait
        (``upto == first``: the transaction at ``first`` is ours, and the node does not take it)."""
        if upto <= first:
            text = (f"nonce gap: the node's next nonce for {sender} is {first} and does not take ours "
                    f"({self._holder(chain, sender, first)})")
        else:
            missing = f"nonce {first}" if upto - first == 1 else f"nonces {first}..{upto - 1}"
            text = (f"nonce gap: the node's next nonce for {sender} is {first}, so transactions from nonce "
                    f"{upto} wait; {missing} missing ({self._holder(chain, sender, first)})")
        return text + (f"; {error}" if error else "")

    def _holder(self, chain: Chain, sender: str, nonce: int) -> str:
        """What we know of the transaction at ``nonce``."""
        rows = self.store.at_nonce(chain.chain_id, chain.genesis_hash, sender, nonce)
        if not rows:
            return f"nonce {nonce} is no transaction we recorded: sent by something else"
        row = rows[0]
        state = f"{row.state}" + (f": {row.error}" if row.error else "")
        return f"nonce {nonce} is our {row.purpose} 0x{row.tx_hash.hex()} ({state})"


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:300]


def fault_pause(point: str) -> None:
    """Stop this process at ``point`` when ``DPL_FAULT_PAUSE_AT`` names it (tests only): it
    says so on stderr and waits for SIGCONT (or SIGKILL)."""
    if os.environ.get(FAULT_PAUSE_ENV) == point:
        print(f"fault-pause:{point}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGSTOP)
