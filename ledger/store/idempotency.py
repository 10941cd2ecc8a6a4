"""Requests already answered (``idempotency_keys``): a party's ``Idempotency-Key`` with the
SHA-256 of the request it named and the answer it got, so a retry gets that answer again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ledger.store.db import write_transaction
from ledger.store.models import IdempotencyKey, utcnow


@dataclass(frozen=True)
class Answered:
    request_sha256: bytes
    status_code: int
    body: bytes


class IdempotencyKeys:
    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, party_id: int, key: str) -> Answered | None:
        """The answer ``party_id`` got for ``key``, or None."""
        with self.engine.connect() as conn:
            r = conn.execute(select(IdempotencyKey.request_sha256, IdempotencyKey.status_code, IdempotencyKey.body)
                             .where(IdempotencyKey.party_id == party_id, IdempotencyKey.key == key)).first()
        return None if r is None else Answered(bytes(r.request_sha256), r.status_code, bytes(r.body))

    def put(self, party_id: int, key: str, request_sha256: bytes, status_code: int, body: bytes) -> None:
        """Keep the answer; a key kept already (a concurrent retry stored it first) stays as it is."""
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(IdempotencyKey.__table__.insert().values(
                    party_id=party_id, key=key, request_sha256=request_sha256, status_code=status_code, body=body,
                    created_at=utcnow()))
        except IntegrityError:
            pass
