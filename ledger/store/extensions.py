"""Pledge extensions a factory signed (``dpl-extension/1``), kept for the pledge's holder.

The API builds each document from a verified signature (``ledger.pledge.consent.accept_extension``
or ``make_extension``) before it lands here; the chain decides whether it is still usable.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from ledger.errors import ConflictError
from ledger.store.db import write_transaction
from ledger.store.models import PledgeExtensionRow, utcnow


@dataclass(frozen=True)
class StoredExtension:
    id: int
    token_id: int
    factory_party: int
    document: dict


class PledgeExtensions:
    """The extensions kept for one registry (``chain_id``, ``registry``)."""

    def __init__(self, engine: Engine, chain_id: int, registry: str):
        self.engine, self.chain_id, self.registry = engine, chain_id, registry

    def put(self, factory_party: int, document: dict) -> StoredExtension:
        """Keep ``document`` (idempotent: the same document again answers the row kept);
        another document with a nonce this factory used already is a ``ConflictError``."""
        table = PledgeExtensionRow.__table__
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert)(table)
        raw = orjson.dumps(document)
        stmt = insert.values(chain_id=self.chain_id, registry_address=self.registry, token_id=document["token_id"],
                             factory_party=factory_party, nonce=document["nonce"], document=raw,
                             created_at=utcnow()).on_conflict_do_nothing()
        with write_transaction(self.engine) as conn:
            conn.execute(stmt)
            row = conn.execute(self._select().where(PledgeExtensionRow.factory_party == factory_party,
                                                    PledgeExtensionRow.nonce == document["nonce"])).one()
        kept = self._stored(row)
        if kept.document != orjson.loads(raw):
            raise ConflictError(f"this factory has an extension with nonce {document['nonce']} already "
                                f"(#{kept.id}, pledge {kept.token_id}): a nonce signs one extension")
        return kept

    def list(self, *, factory_party: int | None = None, token_ids: set[int] | None = None) -> list[StoredExtension]:
        """Kept extensions, oldest first: all, one factory's, or those of ``token_ids``."""
        query = self._select()
        if factory_party is not None:
            query = query.where(PledgeExtensionRow.factory_party == factory_party)
        if token_ids is not None:
            query = query.where(PledgeExtensionRow.token_id.in_(sorted(token_ids)))
        with self.engine.connect() as conn:
            return [self._stored(r) for r in conn.execute(query.order_by(PledgeExtensionRow.id))]

    def get(self, extension_id: int) -> StoredExtension | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._select().where(PledgeExtensionRow.id == extension_id)).first()
        return self._stored(row) if row else None

    def _select(self):
        return select(PledgeExtensionRow.id, PledgeExtensionRow.token_id, PledgeExtensionRow.factory_party,
                      PledgeExtensionRow.document).where(PledgeExtensionRow.chain_id == self.chain_id,
                                                         PledgeExtensionRow.registry_address == self.registry)

    @staticmethod
    def _stored(row) -> StoredExtension:
        return StoredExtension(row.id, row.token_id, row.factory_party, orjson.loads(row.document))
