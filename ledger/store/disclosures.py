"""Full disclosures a factory made to a lender (``disclosures``).

A row names the log, the lender (address), the range ``[start, end)`` and the anchored
checkpoint size it is proven against; the records themselves stay in the log and are read when
the lender fetches the disclosure. ``params`` (the profile's ``tz``, ``mapping`` and
``thresholds`` as JSON) is sealed with the data key, bound to the table, the row id, the
factory party and the lender, so it opens nowhere else.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ledger.crypto import DataKey
from ledger.store.db import write_transaction
from ledger.store.models import Disclosure, Log, utcnow

_AAD = b"dpl-disclosure/1\x00"


@dataclass(frozen=True)
class StoredDisclosure:
    id: int
    stream: str
    factory_party: int
    lender: str
    start: int
    end: int
    checkpoint_size: int
    #: The profile's parameters as JSON bytes, opened.
    params: bytes
    created_at: datetime
    revoked_at: datetime | None


def associated_data(disclosure_id: int, factory_party: int, lender: str) -> bytes:
    return _AAD + struct.pack(">QQ", disclosure_id, factory_party) + lender.lower().encode()


class DisclosureStore:
    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key

    def add(self, log_pk: int, factory_party: int, lender: str, start: int, end: int,
            checkpoint_size: int, params: bytes) -> int:
        """Keep a disclosure of ``[start, end)`` at ``checkpoint_size`` for ``lender``; its id."""
        with write_transaction(self.engine) as conn:
            # the row id is part of the associated data: insert, then seal in the same transaction
            disclosure_id = conn.execute(Disclosure.__table__.insert().values(
                log_pk=log_pk, factory_party=factory_party, lender=lender, start=start, end=end,
                checkpoint_size=checkpoint_size, params=b"", created_at=utcnow())).inserted_primary_key[0]
            sealed = self.key.seal_document(associated_data(disclosure_id, factory_party, lender), params)
            conn.execute(update(Disclosure).where(Disclosure.id == disclosure_id).values(params=sealed))
        return disclosure_id

    def list(self, *, factory_party: int | None = None, lender: str | None = None,
             disclosure_id: int | None = None) -> list[StoredDisclosure]:
        """Disclosures in id order: all, or one factory party's, or those naming one lender."""
        query = (select(Disclosure.id, Log.stream, Disclosure.factory_party, Disclosure.lender, Disclosure.start,
                        Disclosure.end, Disclosure.checkpoint_size, Disclosure.params, Disclosure.created_at,
                        Disclosure.revoked_at)
                 .join(Log, Log.id == Disclosure.log_pk))
        if factory_party is not None:
            query = query.where(Disclosure.factory_party == factory_party)
        if lender is not None:
            query = query.where(Disclosure.lender == lender)
        if disclosure_id is not None:
            query = query.where(Disclosure.id == disclosure_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(Disclosure.id)).all()
        return [StoredDisclosure(r.id, r.stream, r.factory_party, r.lender, r.start, r.end, r.checkpoint_size,
                                 self.key.open_document(associated_data(r.id, r.factory_party, r.lender),
                                                        bytes(r.params), f"disclosure {r.id}"),
                                 r.created_at, r.revoked_at)
                for r in rows]

    def get(self, disclosure_id: int) -> StoredDisclosure | None:
        found = self.list(disclosure_id=disclosure_id)
        return found[0] if found else None

    def revoke(self, disclosure_id: int) -> bool:
        """Revoke a disclosure (the lender can no longer fetch it); False if it already was."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(Disclosure).where(Disclosure.id == disclosure_id,
                                                         Disclosure.revoked_at.is_(None))
                                .values(revoked_at=utcnow())).rowcount
        return done == 1
