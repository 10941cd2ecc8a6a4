"""Browser sessions of the web UI.

A party signs in with its API key once; the browser then holds only a random session token
in an HttpOnly cookie. The database keeps the token's SHA-256 (a copy of it cannot sign in),
the API key the session came from (revoking the key ends its sessions at once) and a CSRF
token that the pages send back on every state-changing call.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from ledger.store.db import write_transaction
from ledger.store.models import ApiKey, WebSession, utcnow
from ledger.store.parties import PartyInfo, PartyStore, key_prefix

SESSION_HOURS = 12


@dataclass(frozen=True)
class Session:
    party: PartyInfo
    csrf: str
    key_prefix: str


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class WebSessions:
    def __init__(self, engine: Engine, parties: PartyStore):
        self.engine = engine
        self.parties = parties

    def open(self, api_key: str) -> tuple[str, Session] | None:
        """A new session for a live API key: (cookie token, session); None for a bad key."""
        party = self.parties.authenticate(api_key)
        if party is None:
            return None
        prefix = key_prefix(api_key)
        token, csrf, now = secrets.token_urlsafe(32), secrets.token_urlsafe(24), utcnow()
        with write_transaction(self.engine) as conn:
            key_id = conn.execute(select(ApiKey.id).where(ApiKey.prefix == prefix)).scalar_one()
            conn.execute(delete(WebSession).where(WebSession.expires_at < now))  # keep the table small
            conn.execute(WebSession.__table__.insert().values(
                token_hash=_hash(token), api_key_id=key_id, csrf=csrf, created_at=now,
                expires_at=now + timedelta(hours=SESSION_HOURS)))
        return token, Session(party, csrf, prefix)

    def get(self, token: str | None) -> Session | None:
        """The live session of a cookie token: not expired, its API key not revoked."""
        if not token or len(token) > 100:
            return None
        with self.engine.connect() as conn:
            r = conn.execute(
                select(WebSession.token_hash, WebSession.csrf, WebSession.expires_at, ApiKey.party_id,
                       ApiKey.prefix, ApiKey.revoked_at)
                .join(ApiKey, ApiKey.id == WebSession.api_key_id)
                .where(WebSession.token_hash == _hash(token))).first()
        if r is None or r.revoked_at is not None or not hmac.compare_digest(bytes(r.token_hash), _hash(token)):
            return None
        expires = r.expires_at if r.expires_at.tzinfo else r.expires_at.replace(tzinfo=utcnow().tzinfo)
        if expires <= utcnow():
            return None
        return Session(self.parties.by_id(r.party_id), r.csrf, r.prefix)

    def close(self, token: str | None) -> None:
        if token:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))
