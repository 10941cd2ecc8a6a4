"""Signatures a factory made with its own wallet, kept for the anchorer.

A factory whose key the service does not hold signs ``RegisterLog`` once and a
``Checkpoint`` for each size it wants anchored; the API checks each signature recovers to
the log's factory before it lands here. The anchorer then anchors the newest signed
checkpoint the chain does not hold yet.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ledger.store.db import write_transaction
from ledger.store.models import FactorySignature, utcnow

REGISTER, CHECKPOINT = "register", "checkpoint"


@dataclass(frozen=True)
class SignedCheckpoint:
    size: int
    root: bytes
    signature: bytes


class FactorySignatures:
    def __init__(self, engine: Engine):
        self.engine = engine

    def put(self, log_pk: int, kind: str, size: int, root: bytes | None, signature: bytes) -> None:
        """Keep a signature (a newer one for the same log, kind and size replaces it)."""
        table = FactorySignature.__table__
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)
        stmt = insert.values(log_pk=log_pk, kind=kind, size=size, root=root, signature=signature,
                             created_at=utcnow())
        stmt = stmt.on_conflict_do_update(index_elements=["log_pk", "kind", "size"],
                                          set_={"root": root, "signature": signature, "created_at": utcnow()})
        with write_transaction(self.engine) as conn:
            conn.execute(stmt)

    def register(self, log_pk: int) -> bytes | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(FactorySignature.signature).where(
                FactorySignature.log_pk == log_pk, FactorySignature.kind == REGISTER)).first()
        return bytes(r.signature) if r else None

    def newest_checkpoint(self, log_pk: int) -> SignedCheckpoint | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(FactorySignature.size, FactorySignature.root, FactorySignature.signature)
                             .where(FactorySignature.log_pk == log_pk, FactorySignature.kind == CHECKPOINT)
                             .order_by(FactorySignature.size.desc()).limit(1)).first()
        return SignedCheckpoint(r.size, bytes(r.root), bytes(r.signature)) if r else None
