"""Data-access grants a factory gave a lender (``grants``).

A row names the factory party and the lender (address, clear: the lender lists the grants naming
it) and holds the checked ``dpl-grant/1`` document (RFC 8785 bytes) sealed with the data key,
bound to the table, the row id, the factory party and the lender, so it opens nowhere else. The
document's SHA-256 (``ledger.grants.grant_digest``) is kept clear: it names the grant in the
access log and lets either side show which grant they mean. ``revoked_at`` is set once, by the
factory, and never cleared.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ledger.crypto import DataKey
from ledger.store.db import write_transaction
from ledger.store.models import Grant, utcnow

_AAD = b"dpl-grant/1\x00"


@dataclass(frozen=True)
class StoredGrant:
    id: int
    factory_party: int
    lender: str
    #: The checked grant's RFC 8785 bytes, opened.
    document: bytes
    digest: bytes
    created_at: datetime
    revoked_at: datetime | None


def associated_data(grant_id: int, factory_party: int, lender: str) -> bytes:
    return _AAD + struct.pack(">QQ", grant_id, factory_party) + lender.lower().encode()


class GrantStore:
    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key

    def add(self, factory_party: int, lender: str, document: bytes, digest: bytes) -> int:
        """Keep a grant (``document``: the checked grant's canonical bytes); its id."""
        with write_transaction(self.engine) as conn:
            # the row id is part of the associated data: insert, then seal in the same transaction
            grant_id = conn.execute(Grant.__table__.insert().values(
                factory_party=factory_party, lender=lender, document=b"", digest=digest,
                created_at=utcnow())).inserted_primary_key[0]
            sealed = self.key.seal_document(associated_data(grant_id, factory_party, lender), document)
            conn.execute(update(Grant).where(Grant.id == grant_id).values(document=sealed))
        return grant_id

    def list(self, *, factory_party: int | None = None, lender: str | None = None,
             grant_id: int | None = None) -> list[StoredGrant]:
        """Grants in id order: all, or one factory party's, or those naming one lender."""
        query = select(Grant.id, Grant.factory_party, Grant.lender, Grant.document, Grant.digest,
                       Grant.created_at, Grant.revoked_at)
        if factory_party is not None:
            query = query.where(Grant.factory_party == factory_party)
        if lender is not None:
            query = query.where(Grant.lender == lender)
        if grant_id is not None:
            query = query.where(Grant.id == grant_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(Grant.id)).all()
        return [StoredGrant(r.id, r.factory_party, r.lender,
                            self.key.open_document(associated_data(r.id, r.factory_party, r.lender),
                                                   bytes(r.document), f"grant {r.id}"),
                            bytes(r.digest), r.created_at, r.revoked_at)
                for r in rows]

    def get(self, grant_id: int) -> StoredGrant | None:
        found = self.list(grant_id=grant_id)
        return found[0] if found else None

    def revoke(self, grant_id: int) -> bool:
        """Revoke a grant at once (no read through it succeeds after this returns); False if it
        already was (the first revocation's time stays)."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(Grant).where(Grant.id == grant_id, Grant.revoked_at.is_(None))
                                .values(revoked_at=utcnow())).rowcount
        return done == 1
