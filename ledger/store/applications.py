"""Loan applications a factory made to a lender (``applications``) and their steps
(``application_events``).

An application row names the factory party and the lender (address, clear: the lender lists its
inbox by it), its state, its first grant, and once there the kept consent and the pledge token;
it holds the checked ``dpl-application/1`` (RFC 8785 bytes) sealed with the data key, bound to
the table, the row id, the factory party and the lender, so it opens nowhere else. Each step is
an event row: when, which party, which move, the state reached, and the step's document (a
decision, the grant answering a request for more data, the consent linked) sealed and bound to
the event id, the application and the party.

A move is made only from the state the caller saw (``move``: ``UPDATE … WHERE state = expected``)
with its event in the same transaction: two moves at once cannot both pass, and no state changes
without its event.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ledger.crypto import DataKey
from ledger.store.db import write_transaction
from ledger.store.models import Application, ApplicationEvent, utcnow

_AAD = b"dpl-application/1\x00"
_EVENT_AAD = b"dpl-application-event/1\x00"


@dataclass(frozen=True)
class StoredApplication:
    id: int
    factory_party: int
    lender: str
    state: str
    #: The checked application's RFC 8785 bytes, opened.
    document: bytes
    digest: bytes
    grant_id: int
    consent_id: int | None
    token_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class StoredEvent:
    id: int
    application_id: int
    party: int
    action: str
    state: str
    #: The step's JSON bytes, opened.
    document: bytes
    at: datetime


def associated_data(application_id: int, factory_party: int, lender: str) -> bytes:
    return _AAD + struct.pack(">QQ", application_id, factory_party) + lender.lower().encode()


def event_associated_data(event_id: int, application_id: int, party: int) -> bytes:
    return _EVENT_AAD + struct.pack(">QQQ", event_id, application_id, party)


class ApplicationStore:
    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key

    def _event(self, conn, application_id: int, party: int, action: str, state: str, document: bytes, at) -> None:
        event_id = conn.execute(ApplicationEvent.__table__.insert().values(
            application_id=application_id, party=party, action=action, state=state, document=b"",
            at=at)).inserted_primary_key[0]
        sealed = self.key.seal_document(event_associated_data(event_id, application_id, party), document)
        conn.execute(update(ApplicationEvent).where(ApplicationEvent.id == event_id).values(document=sealed))

    def add(self, factory_party: int, lender: str, document: bytes, digest: bytes, grant_id: int,
            event_document: bytes) -> int:
        """Keep a submitted application with its first event (``submit``); its id."""
        now = utcnow()
        with write_transaction(self.engine) as conn:
            # the row id is part of the associated data: insert, then seal in the same transaction
            app_id = conn.execute(Application.__table__.insert().values(
                factory_party=factory_party, lender=lender, state="submitted", document=b"", digest=digest,
                grant_id=grant_id, created_at=now, updated_at=now)).inserted_primary_key[0]
            sealed = self.key.seal_document(associated_data(app_id, factory_party, lender), document)
            conn.execute(update(Application).where(Application.id == app_id).values(document=sealed))
            self._event(conn, app_id, factory_party, "submit", "submitted", event_document, now)
        return app_id

    def move(self, application_id: int, expected: str, state: str, party: int, action: str, event_document: bytes,
             *, consent_id: int | None = None, token_id: int | None = None) -> bool:
        """Move the application from ``expected`` to ``state`` and record the step, in one
        transaction; False (nothing written) if it is no longer in ``expected``."""
        now = utcnow()
        values = {"state": state, "updated_at": now}
        if consent_id is not None:
            values["consent_id"] = consent_id
        if token_id is not None:
            values["token_id"] = str(token_id)
        with write_transaction(self.engine) as conn:
            done = conn.execute(update(Application).where(Application.id == application_id,
                                                          Application.state == expected).values(**values)).rowcount
            if done != 1:
                return False
            self._event(conn, application_id, party, action, state, event_document, now)
        return True

    def list(self, *, factory_party: int | None = None, lender: str | None = None,
             application_id: int | None = None) -> list[StoredApplication]:
        """Applications in id order: all, or one factory party's, or those naming one lender."""
        query = select(Application.id, Application.factory_party, Application.lender, Application.state,
                       Application.document, Application.digest, Application.grant_id, Application.consent_id,
                       Application.token_id, Application.created_at, Application.updated_at)
        if factory_party is not None:
            query = query.where(Application.factory_party == factory_party)
        if lender is not None:
            query = query.where(Application.lender == lender)
        if application_id is not None:
            query = query.where(Application.id == application_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(Application.id)).all()
        return [StoredApplication(r.id, r.factory_party, r.lender, r.state,
                                  self.key.open_document(associated_data(r.id, r.factory_party, r.lender),
                                                         bytes(r.document), f"application {r.id}"),
                                  bytes(r.digest), r.grant_id, r.consent_id,
                                  int(r.token_id) if r.token_id is not None else None, r.created_at, r.updated_at)
                for r in rows]

    def get(self, application_id: int) -> StoredApplication | None:
        found = self.list(application_id=application_id)
        return found[0] if found else None

    def events(self, application_id: int) -> list[StoredEvent]:
        """The application's steps, oldest first."""
        query = (select(ApplicationEvent.id, ApplicationEvent.application_id, ApplicationEvent.party,
                        ApplicationEvent.action, ApplicationEvent.state, ApplicationEvent.document, ApplicationEvent.at)
                 .where(ApplicationEvent.application_id == application_id).order_by(ApplicationEvent.id))
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [StoredEvent(r.id, r.application_id, r.party, r.action, r.state,
                            self.key.open_document(event_associated_data(r.id, r.application_id, r.party),
                                                   bytes(r.document), f"application event {r.id}"), r.at)
                for r in rows]
