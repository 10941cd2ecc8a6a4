"""Requests already answered: the service's ``Idempotency-Key`` replay.

An HTTP client that lost an answer (a timeout, a dropped connection) retries the same request
with the same key and gets the first answer again, byte for byte, instead of a second run's
("0 appended, 10 already stored"). The command line has no use for it: a command's answer is
not lost in transit, and re-running ``dpl ingest`` is already safe (idempotent by record id)
and should say what it did this time. So the rule lives here for the service alone; the
header, the replay marker and the problem type are the API's.
"""

from __future__ import annotations

from ledger.errors import InvalidArgumentError
from ledger.service.context import Context
from ledger.store.idempotency import Answered, IdempotencyKeys


class IdempotencyKeyReused(InvalidArgumentError):
    """The key was used before with another request."""


class Replays:
    def __init__(self, ctx: Context):
        self.keys = IdempotencyKeys(ctx.store.engine)

    def answered(self, party_id: int, key: str, request_sha256: bytes) -> Answered | None:
        """The answer ``party_id`` got for ``key``, None when the key is new;
        ``IdempotencyKeyReused`` when the key named another request (its SHA-256 differs)."""
        answered = self.keys.get(party_id, key)
        if answered is not None and answered.request_sha256 != request_sha256:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request body")
        return answered

    def keep(self, party_id: int, key: str, request_sha256: bytes, status_code: int, body: bytes) -> None:
        """Keep the answer; when a concurrent retry kept one first, that one stays (and is replayed)."""
        self.keys.put(party_id, key, request_sha256, status_code, body)
