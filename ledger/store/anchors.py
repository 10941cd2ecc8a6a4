"""Rows of the ``anchors`` table: each checkpoint's anchoring intent, transaction and state."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import Connection, Engine, select, update

from ledger.store import db
from ledger.store.models import Anchor, utcnow

PENDING, INCLUDED, FINAL, FAILED = "pending", "included", "final", "failed"
#: The registry holds another root at this size: signed by the log's factory key, not ours.
CONFLICT = "conflict"
LIVE_STATES = (PENDING, INCLUDED, FINAL)


@dataclass(frozen=True)
class AnchorRow:
    id: int
    log_pk: int
    chain_id: int
    registry: str
    size: int
    root: bytes
    state: str
    sender: str
    nonce: int
    tx_hash: bytes
    raw_tx: bytes
    attempts: int
    block_number: int | None
    block_hash: bytes | None
    error: str | None
    pending_since_block: int | None = None  # the head when it last became pending


def _row(r) -> AnchorRow:
    return AnchorRow(r.id, r.log_pk, r.chain_id, r.registry_address, r.size, bytes(r.root), r.state, r.sender,
                     r.nonce, bytes(r.tx_hash), bytes(r.raw_tx), r.attempts, r.block_number,
                     bytes(r.block_hash) if r.block_hash is not None else None, r.error, r.pending_since_block)


_COLUMNS = [getattr(Anchor, "registry_address" if f == "registry" else f) for f in AnchorRow.__dataclass_fields__]


def _newest_anchored(query, log_pk, above: int, size: int | None):
    query = query.where(Anchor.log_pk == log_pk, Anchor.state.in_((INCLUDED, FINAL)), Anchor.size > above)
    if size is not None:
        query = query.where(Anchor.size == size)
    return query.order_by(Anchor.size.desc()).limit(1)


def newest_anchored_id(log_pk, above: int, size: int | None = None):
    """``AnchorStore.newest_anchored``'s row id as a scalar subquery (``log_pk``: a value or a
    column of the enclosing query), to read it in another query's round trip."""
    return _newest_anchored(select(Anchor.id), log_pk, above, size).correlate_except(Anchor).scalar_subquery()


def anchor_columns(prefix: str) -> list:
    """The columns of an ``AnchorRow``, labelled ``prefix + name`` (to join them into another query)."""
    return [c.label(prefix + c.key) for c in _COLUMNS]


def anchor_of(r, prefix: str) -> AnchorRow | None:
    """The ``AnchorRow`` of the ``anchor_columns(prefix)`` of row ``r`` (None: an outer join found none)."""
    values = {c.key: getattr(r, prefix + c.key) for c in _COLUMNS}
    if values["id"] is None:
        return None
    return _row(SimpleNamespace(**values))


class AnchorStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, chain_id: int, registry: str, log_pk: int, size: int) -> AnchorRow | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(*_COLUMNS).where(
                Anchor.chain_id == chain_id, Anchor.registry_address == registry,
                Anchor.log_pk == log_pk, Anchor.size == size)).first()
        return _row(r) if r else None

    def for_log(self, chain_id: int, registry: str, log_pk: int) -> list[AnchorRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).where(
                Anchor.chain_id == chain_id, Anchor.registry_address == registry, Anchor.log_pk == log_pk,
            ).order_by(Anchor.size)).all()
        return [_row(r) for r in rows]

    def all_for_log(self, log_pk: int) -> list[AnchorRow]:
        """Every anchor row of a log, on any chain or registry, by size."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).where(Anchor.log_pk == log_pk).order_by(Anchor.size, Anchor.id)).all()
        return [_row(r) for r in rows]

    def newest_anchored(self, log_pk: int, above: int, size: int | None = None) -> AnchorRow | None:
        """The largest included/final anchor of a log with size > ``above`` (or exactly ``size``)."""
        with self.engine.connect() as conn:
            r = conn.execute(_newest_anchored(select(*_COLUMNS), log_pk, above, size)).first()
        return _row(r) if r else None

    def in_states(self, chain_id: int, registry: str, states) -> list[AnchorRow]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_COLUMNS).where(
                Anchor.chain_id == chain_id, Anchor.registry_address == registry, Anchor.state.in_(states),
            ).order_by(Anchor.log_pk, Anchor.size)).all()
        return [_row(r) for r in rows]

    def record_intent(self, *, log_pk, chain_id, registry, size, root, sender, nonce, tx_hash, raw_tx,
                      pending_since_block=None, conn: Connection | None = None) -> None:
        """Write the intent (and the signed transaction) before it is sent: committed on return,
        or with ``conn``'s transaction (the nonce manager's, which records the transaction too)."""
        statement = Anchor.__table__.insert().values(
            log_pk=log_pk, chain_id=chain_id, registry_address=registry, size=size, root=root,
            state=PENDING, sender=sender, nonce=nonce, tx_hash=tx_hash, raw_tx=raw_tx,
            attempts=1, pending_since_block=pending_since_block, created_at=utcnow(), updated_at=utcnow())
        self._execute(statement, conn)

    def record_adopted(self, *, log_pk, chain_id, registry, size, root, state, sender, nonce, tx_hash,
                       block_number, block_hash, error) -> None:
        """A row for a checkpoint the registry holds by another sender's transaction (we never
        sent one for it): no raw transaction, since it is not ours to re-send."""
        statement = Anchor.__table__.insert().values(
            log_pk=log_pk, chain_id=chain_id, registry_address=registry, size=size, root=root, state=state,
            sender=sender, nonce=nonce, tx_hash=tx_hash, raw_tx=b"", attempts=0, block_number=block_number,
            block_hash=block_hash, error=error, created_at=utcnow(), updated_at=utcnow())
        self._execute(statement, None)

    def update(self, anchor_id: int, *, conn: Connection | None = None, **values) -> None:
        self._execute(update(Anchor).where(Anchor.id == anchor_id).values(updated_at=utcnow(), **values), conn)

    def _execute(self, statement, conn: Connection | None) -> None:
        if conn is not None:
            conn.execute(statement)
            return
        with db.write_transaction(self.engine) as own:
            own.execute(statement)
