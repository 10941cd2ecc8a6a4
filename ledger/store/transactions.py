"""Rows of ``chain_transactions``: every transaction a keyring key signed, recorded before it
was sent (the nonce manager, ``ledger.transactions``, decides what they mean).

``sender_lock`` serialises everything that allocates a sender's nonces across processes and
workers: on PostgreSQL a row of ``locks`` (``nonces:<address>``) held with ``SELECT … FOR
UPDATE`` for the transaction; on SQLite the database's write lock (``BEGIN IMMEDIATE``).
Rows are written on the connection it yields, so they commit with the lock's transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select, text, update

from ledger.store.db import is_sqlite, write_transaction
from ledger.store.models import ChainTransaction, utcnow

PENDING, MINED, REPLACED, REFUSED = "pending", "mined", "replaced", "refused"
#: States whose transaction holds (or may still take) its nonce.
LIVE_STATES = (PENDING, MINED)


@dataclass(frozen=True)
class TxRow:
    id: int
    chain_id: int
    sender: str
    nonce: int
    tx_hash: bytes
    raw_tx: bytes
    purpose: str
    state: str
    block_number: int | None
    error: str | None


_T = ChainTransaction
_COLUMNS = [_T.id, _T.chain_id, _T.sender, _T.nonce, _T.tx_hash, _T.raw_tx, _T.purpose, _T.state,
            _T.block_number, _T.error]


def _row(r) -> TxRow:
    return TxRow(r.id, r.chain_id, r.sender, r.nonce, bytes(r.tx_hash), bytes(r.raw_tx), r.purpose, r.state,
                 r.block_number, r.error)


class TransactionStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    @contextlib.contextmanager
    def sender_lock(self, sender: str) -> Iterator[Connection]:
        """A write transaction holding ``sender``'s nonce lock until it ends (commit on success)."""
        if not is_sqlite(self.engine):
            name = f"nonces:{sender.lower()}"
            with write_transaction(self.engine) as conn:
                conn.execute(text("INSERT INTO locks (name) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": name})
        with write_transaction(self.engine) as conn:
            if not is_sqlite(self.engine):
                conn.execute(text("SELECT name FROM locks WHERE name = :n FOR UPDATE"), {"n": name})
            yield conn

    @staticmethod
    def _of(chain_id: int, genesis: bytes, sender: str):
        return (_T.chain_id == chain_id, _T.genesis == genesis, _T.sender == sender)

    def live_from(self, conn: Connection, chain_id: int, genesis: bytes, sender: str, nonce: int) -> list[TxRow]:
        """The sender's live rows with a nonce at or above ``nonce``, by nonce."""
        rows = conn.execute(select(*_COLUMNS).where(
            *self._of(chain_id, genesis, sender), _T.state.in_(LIVE_STATES), _T.nonce >= nonce,
        ).order_by(_T.nonce, _T.id)).all()
        return [_row(r) for r in rows]

    def pending_below(self, conn: Connection, chain_id: int, genesis: bytes, sender: str, nonce: int) -> list[TxRow]:
        """The sender's rows still ``pending`` whose nonce the chain has used (below ``nonce``)."""
        rows = conn.execute(select(*_COLUMNS).where(
            *self._of(chain_id, genesis, sender), _T.state == PENDING, _T.nonce < nonce,
        ).order_by(_T.nonce)).all()
        return [_row(r) for r in rows]

    def mined_from(self, conn: Connection, chain_id: int, genesis: bytes, sender: str, nonce: int) -> list[TxRow]:
        """Rows marked ``mined`` with a nonce the chain has not used (a reorg dropped them)."""
        rows = conn.execute(select(*_COLUMNS).where(
            *self._of(chain_id, genesis, sender), _T.state == MINED, _T.nonce >= nonce,
        ).order_by(_T.nonce)).all()
        return [_row(r) for r in rows]

    def highest_live(self, conn: Connection, chain_id: int, genesis: bytes, sender: str) -> int | None:
        return conn.execute(select(_T.nonce).where(
            *self._of(chain_id, genesis, sender), _T.state.in_(LIVE_STATES),
        ).order_by(_T.nonce.desc()).limit(1)).scalar()

    def at_nonce(self, chain_id: int, genesis: bytes, sender: str, nonce: int) -> list[TxRow]:
        """Every row (any state) the sender recorded with ``nonce``, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).where(
                *self._of(chain_id, genesis, sender), _T.nonce == nonce).order_by(_T.id.desc())).all()
        return [_row(r) for r in rows]

    def for_sender(self, chain_id: int, genesis: bytes, sender: str) -> list[TxRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).where(*self._of(chain_id, genesis, sender))
                                .order_by(_T.nonce, _T.id)).all()
        return [_row(r) for r in rows]

    def insert(self, conn: Connection, *, chain_id: int, genesis: bytes, sender: str, nonce: int, tx_hash: bytes,
               raw_tx: bytes, purpose: str) -> None:
        """Record a signed transaction as ``pending``. The same bytes signed again (a filler of
        the same nonce and fees refused before; a deployment on a reset chain) bring their row
        back, as ``pending`` on this chain."""
        now = utcnow()
        if conn.execute(select(_T.id).where(_T.tx_hash == tx_hash)).first() is not None:
            conn.execute(update(_T).where(_T.tx_hash == tx_hash).values(
                genesis=genesis, state=PENDING, error=None, block_number=None, purpose=purpose[:32], updated_at=now))
            return
        conn.execute(_T.__table__.insert().values(
            chain_id=chain_id, genesis=genesis, sender=sender, nonce=nonce, tx_hash=tx_hash, raw_tx=raw_tx,
            purpose=purpose[:32], state=PENDING, created_at=now, updated_at=now))

    def set_state(self, tx_hash: bytes, state: str, *, conn: Connection | None = None,
                  block_number: int | None = None, error: str | None = None) -> None:
        values = {"state": state, "block_number": block_number, "error": error[:500] if error else None,
                  "updated_at": utcnow()}
        statement = update(_T).where(_T.tx_hash == tx_hash).values(**values)
        if conn is not None:
            conn.execute(statement)
            return
        with write_transaction(self.engine) as own:
            own.execute(statement)
