"""Webhooks and their delivery log (``webhooks``, ``webhook_deliveries``; ``docs/WEBHOOKS.md``).

A webhook's secret and a delivery's body are sealed with the data key; the associated data
names the table and the row (a webhook's id and party; a delivery's public id and webhook), so
a sealed value copied to another row does not open.

Deliveries: one row per (webhook, event key), inserted with ``ON CONFLICT DO NOTHING`` so an
event enqueued twice (or by two processes at once) is delivered once. A worker **claims** one
due row at a time: in one write transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, an
``IMMEDIATE`` transaction on SQLite) it takes a pending row whose next attempt is due and
whose lease is free, counts the attempt and sets ``lease_until``; nobody else takes the row
until the lease ends. The worker then sends and records the outcome, but only if its claim
still holds (same attempt count, still pending). A worker that dies mid-delivery leaves the
row leased: when the lease ends another worker sends it again (receivers dedupe by id).
"""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ledger.crypto import DataKey
from ledger.errors import DataKeyError
from ledger.store.db import is_sqlite, write_transaction
from ledger.store.models import Webhook, WebhookDelivery, utcnow

_SECRET_AAD = b"dpl-webhook-secret/1\x00"
_BODY_AAD = b"dpl-webhook-body/1\x00"

PENDING, DELIVERED, FAILED, CANCELLED = "pending", "delivered", "failed", "cancelled"


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive (they are stored in UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoredWebhook:
    id: int
    party_id: int
    url: str
    created_at: datetime


@dataclass(frozen=True)
class DeliveryRow:
    """A delivery as its party's log shows it."""

    delivery_id: str
    webhook_id: int
    event_type: str
    event_key: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Claim:
    """A delivery a worker holds until ``lease_until``: what to send, where, signed with what."""

    row_id: int
    delivery_id: str
    webhook_id: int
    event_type: str
    url: str
    secret: str
    body: bytes
    attempts: int
    created_at: datetime
    lease_until: datetime


def secret_aad(webhook_id: int, party_id: int) -> bytes:
    return _SECRET_AAD + struct.pack(">QQ", webhook_id, party_id)


def body_aad(delivery_id: str, webhook_id: int) -> bytes:
    return _BODY_AAD + struct.pack(">Q", webhook_id) + delivery_id.encode()


class WebhookStore:
    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key

    # --- webhooks -------------------------------------------------------------------------

    def add(self, party_id: int, url: str, secret: str, *, limit: int) -> StoredWebhook | None:
        """Keep a webhook for ``party_id``; None when the party has ``limit`` live ones already
        (counted in the same transaction)."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            live = conn.execute(select(func.count()).select_from(Webhook).where(
                Webhook.party_id == party_id, Webhook.deleted_at.is_(None))).scalar_one()
            if live >= limit:
                return None
            webhook_id = conn.execute(Webhook.__table__.insert().values(
                party_id=party_id, url=url, secret=b"", created_at=now)).inserted_primary_key[0]
            sealed = self.key.seal_document(secret_aad(webhook_id, party_id), secret.encode())
            conn.execute(update(Webhook).where(Webhook.id == webhook_id).values(secret=sealed))
        return StoredWebhook(webhook_id, party_id, url, now)

    def list(self, party_id: int) -> list[StoredWebhook]:
        """The party's live webhooks in id order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(Webhook.id, Webhook.party_id, Webhook.url, Webhook.created_at).where(
                Webhook.party_id == party_id, Webhook.deleted_at.is_(None)).order_by(Webhook.id)).all()
        return [StoredWebhook(r.id, r.party_id, r.url, _aware(r.created_at)) for r in rows]

    def delete(self, party_id: int, webhook_id: int) -> bool:
        """Delete the party's webhook (False if it has no live one with this id); its pending
        deliveries are cancelled in the same transaction."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(Webhook).where(
                Webhook.id == webhook_id, Webhook.party_id == party_id, Webhook.deleted_at.is_(None)
            ).values(deleted_at=now)).rowcount
            if done:
                conn.execute(update(WebhookDelivery).where(
                    WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.status == PENDING
                ).values(status=CANCELLED, lease_until=None, last_error="the webhook was deleted"))
        return bool(done)

    # --- deliveries -----------------------------------------------------------------------

    def enqueue(self, party_id: int, event_type: str, event_key: str, make_body, now: datetime,
                conn: Connection | None = None) -> list[str]:
        """One pending delivery of the event to each live webhook of the party that does not
        have one for ``event_key`` yet; ``make_body(delivery_id)`` gives its JSON bytes. Returns
        the ids of the deliveries made now (empty when the event was enqueued before). In
        ``conn``'s transaction when given (the caller's: its own rows and these commit together),
        else in a write transaction of its own."""
        if conn is None:
            with write_transaction(self.engine) as own:
                return self._enqueue(own, party_id, event_type, event_key, make_body, now)
        return self._enqueue(conn, party_id, event_type, event_key, make_body, now)

    def _enqueue(self, conn: Connection, party_id: int, event_type: str, event_key: str, make_body,
                 now: datetime) -> list[str]:
        made = []
        hooks = conn.execute(select(Webhook.id).where(
            Webhook.party_id == party_id, Webhook.deleted_at.is_(None)).order_by(Webhook.id)).scalars().all()
        insert = (sqlite.insert if is_sqlite(self.engine) else postgresql.insert)(WebhookDelivery.__table__)
        for webhook_id in hooks:
            delivery_id = "dlv_" + secrets.token_hex(16)
            sealed = self.key.seal_document(body_aad(delivery_id, webhook_id), make_body(delivery_id))
            result = conn.execute(insert.values(
                delivery_id=delivery_id, webhook_id=webhook_id, party_id=party_id, event_type=event_type,
                event_key=event_key, body=sealed, status=PENDING, attempts=0, next_attempt_at=now,
                created_at=now).on_conflict_do_nothing(index_elements=["webhook_id", "event_key"])
                .returning(WebhookDelivery.__table__.c.id)).first()
            if result is not None:  # (rowcount is not reliable here: psycopg reports 1)
                made.append(delivery_id)
        return made

    def deliveries(self, party_id: int, limit: int = 200) -> list[DeliveryRow]:
        """The party's delivery log, newest first."""
        d = WebhookDelivery
        with self.engine.connect() as conn:
            rows = conn.execute(select(d.delivery_id, d.webhook_id, d.event_type, d.event_key, d.status, d.attempts,
                                       d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.delivered_at)
                                .where(d.party_id == party_id).order_by(d.id.desc()).limit(limit)).all()
        return [DeliveryRow(r.delivery_id, r.webhook_id, r.event_type, r.event_key, r.status, r.attempts,
                            _aware(r.next_attempt_at) if r.status == PENDING else None, r.last_status, r.last_error,
                            _aware(r.created_at), _aware(r.delivered_at)) for r in rows]

    def _due(self, now: datetime):
        d = WebhookDelivery
        return and_(d.status == PENDING, d.next_attempt_at <= now, or_(d.lease_until.is_(None), d.lease_until <= now))

    def any_due(self, now: datetime) -> bool:
        """Whether a delivery is due (a read: a pass with nothing to do takes no write lock)."""
        with self.engine.connect() as conn:
            return conn.execute(select(WebhookDelivery.id).where(self._due(now)).limit(1)).first() is not None

    def claim(self, now: datetime, lease: timedelta) -> Claim | None:
        """Take the most overdue due delivery for ``lease`` (see the module docstring). A due
        row that cannot be sent is closed on the way: its webhook deleted meanwhile (an enqueue
        that raced the delete) is ``cancelled``; a sealed secret or body that does not open (a
        row altered at rest; the store itself opened with the right key) is ``failed``."""
        while True:
            claimed = self._claim_one(now, lease)
            if claimed is None or isinstance(claimed, Claim):
                return claimed

    def _claim_one(self, now: datetime, lease: timedelta) -> Claim | None | bool:
        d = WebhookDelivery
        query = (select(d.id, d.delivery_id, d.webhook_id, d.event_type, d.body, d.attempts, d.created_at)
                 .where(self._due(now)).order_by(d.next_attempt_at, d.id).limit(1))
        if not is_sqlite(self.engine):
            query = query.with_for_update(skip_locked=True, of=d.__table__)
        with write_transaction(self.engine) as conn:
            row = conn.execute(query).first()
            if row is None:
                return None
            hook = conn.execute(select(Webhook.url, Webhook.secret, Webhook.party_id, Webhook.deleted_at)
                                .where(Webhook.id == row.webhook_id)).one()
            if hook.deleted_at is not None:
                conn.execute(update(d).where(d.id == row.id).values(status=CANCELLED, lease_until=None,
                                                                    last_error="the webhook was deleted"))
                return False
            until = now + lease
            conn.execute(update(d).where(d.id == row.id).values(attempts=row.attempts + 1, lease_until=until))
        try:
            secret = self.key.open_document(secret_aad(row.webhook_id, hook.party_id), bytes(hook.secret),
                                            f"webhook {row.webhook_id}").decode()
            body = self.key.open_document(body_aad(row.delivery_id, row.webhook_id), bytes(row.body),
                                          f"delivery {row.delivery_id}")
        except DataKeyError as e:
            with write_transaction(self.engine) as conn:
                conn.execute(update(d).where(d.id == row.id).values(status=FAILED, lease_until=None,
                                                                    last_error=str(e)[:500]))
            return False
        return Claim(row.id, row.delivery_id, row.webhook_id, row.event_type, hook.url, secret, body,
                     row.attempts + 1, _aware(row.created_at), until)

    def finish(self, claim: Claim, *, now: datetime, delivered: bool, status: int | None, error: str | None,
               retry_at: datetime | None) -> bool:
        """Record the outcome of a claimed attempt: delivered, to retry at ``retry_at``, or
        failed for good (``retry_at`` None). False (nothing written) when the claim no longer
        holds (the lease ran out and another worker took the row, or the webhook was deleted)."""
        d = WebhookDelivery
        values = {"lease_until": None, "last_status": status, "last_error": (error or None) and error[:500]}
        if delivered:
            values.update(status=DELIVERED, delivered_at=now, last_error=None)
        elif retry_at is None:
            values.update(status=FAILED)
        else:
            values.update(next_attempt_at=retry_at)
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(d).where(d.id == claim.row_id, d.status == PENDING,
                                                d.attempts == claim.attempts).values(**values)).rowcount
        return bool(done)
