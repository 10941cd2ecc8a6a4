"""Pledge consents a factory handed to a lender through the service (``consents``).

The document (``dpl-consent/1``: terms, loan reference, manifest, signature) is sealed with
the data key; its associated data names the table, the row id, the factory party and the
lender, so a sealed document copied to another row (or to another table) does not open, and
nor does a row whose lender was changed. Clear, for the queries: id, factory party, lender
address, token id once issued, creation time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ledger.crypto import DataKey
from ledger.store.db import write_transaction
from ledger.store.models import Consent, utcnow

_AAD = b"dpl-consent/1\x00"


@dataclass(frozen=True)
class StoredConsent:
    id: int
    factory_party: int
    lender: str
    token_id: int | None
    #: The consent document as JSON bytes, opened.
    document: bytes
    created_at: datetime


def associated_data(consent_id: int, factory_party: int, lender: str) -> bytes:
    """What a consent's sealed document is bound to (migration 0008 seals with it too)."""
    return _AAD + struct.pack(">QQ", consent_id, factory_party) + lender.lower().encode()


class ConsentStore:
    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key

    def add(self, factory_party: int, lender: str, document: bytes) -> int:
        """Keep a consent (``document``: its JSON bytes) for ``lender``; returns its id."""
        with write_transaction(self.engine) as conn:
            # the row id is part of the associated data: insert, then seal in the same transaction
            consent_id = conn.execute(Consent.__table__.insert().values(
                factory_party=factory_party, lender=lender, document=b"", created_at=utcnow())).inserted_primary_key[0]
            sealed = self.key.seal_document(associated_data(consent_id, factory_party, lender), document)
            conn.execute(update(Consent).where(Consent.id == consent_id).values(document=sealed))
        return consent_id

    def list(self, *, factory_party: int | None = None, lender: str | None = None) -> list[StoredConsent]:
        """Consents in id order: all, or those of one factory party, or those naming one lender."""
        query = select(Consent.id, Consent.factory_party, Consent.lender, Consent.token_id, Consent.document,
                       Consent.created_at)
        if factory_party is not None:
            query = query.where(Consent.factory_party == factory_party)
        if lender is not None:
            query = query.where(Consent.lender == lender)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(Consent.id)).all()
        return [StoredConsent(r.id, r.factory_party, r.lender, r.token_id, self._open(r), r.created_at) for r in rows]

    def set_token(self, consent_id: int, token_id: int) -> None:
        """Record the pledge token a consent was issued as."""
        with write_transaction(self.engine) as conn:
            conn.execute(update(Consent).where(Consent.id == consent_id).values(token_id=token_id))

    def _open(self, r) -> bytes:
        return self.key.open_document(associated_data(r.id, r.factory_party, r.lender), bytes(r.document),
                                      f"consent {r.id}")
