"""Parties of the service and their API keys.

An API key is ``dpl_<prefix>_<secret>``: the prefix (8 hex chars) finds the row and names the
key in lists; only SHA-256 of the whole key is stored, so a database copy cannot
authenticate. A key is shown once, when made. Keys are revoked, never deleted (the row
says when).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Engine

from ledger.errors import ConflictError, InvalidArgumentError, NotFoundError
from ledger.store.db import write_transaction
from ledger.store.models import ApiKey, LogOwner, Party, utcnow

ROLES = ("factory", "lender", "auditor", "admin")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_KEY = re.compile(r"dpl_([0-9a-f]{8})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class PartyInfo:
    id: int
    name: str
    role: str
    address: str | None
    key_name: str | None


@dataclass(frozen=True)
class KeyInfo:
    prefix: str
    party: str
    created_at: datetime
    revoked_at: datetime | None


def _party(r) -> PartyInfo:
    return PartyInfo(r.id, r.name, r.role, r.address, r.key_name)


def key_prefix(key: str) -> str | None:
    """The prefix naming a well-formed key (``dpl_<prefix>_<secret>``), else None."""
    m = _KEY.fullmatch(key or "")
    return m.group(1) if m else None


def _hash(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


# The key and its party in one round trip (every request's), built once: building a ``select``
# and its cache key on each request cost more CPU than running it.
_AUTHENTICATE = (select(ApiKey.key_hash, ApiKey.revoked_at, Party.id, Party.name, Party.role, Party.address,
                        Party.key_name)
                 .join(Party, Party.id == ApiKey.party_id).where(ApiKey.prefix == bindparam("prefix")))


class PartyStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def create(self, name: str, role: str, address: str | None = None, key_name: str | None = None) -> PartyInfo:
        if not _NAME.fullmatch(name or ""):
            raise InvalidArgumentError("a party name is 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if role not in ROLES:
            raise InvalidArgumentError(f"role must be one of {', '.join(ROLES)}")
        with write_transaction(self.engine) as conn:
            if conn.execute(select(Party.id).where(Party.name == name)).first():
                raise ConflictError(f"a party named {name!r} exists already")
            pk = conn.execute(Party.__table__.insert().values(
                name=name, role=role, address=address, key_name=key_name, created_at=utcnow())).inserted_primary_key[0]
        return PartyInfo(pk, name, role, address, key_name)

    def get(self, name: str) -> PartyInfo:
        with self.engine.connect() as conn:
            r = conn.execute(select(Party).where(Party.name == name)).first()
        if r is None:
            raise NotFoundError(f"no party named {name!r}")
        return _party(r)

    def by_id(self, party_id: int) -> PartyInfo:
        with self.engine.connect() as conn:
            r = conn.execute(select(Party).where(Party.id == party_id)).first()
        if r is None:
            raise NotFoundError(f"no party {party_id}")
        return _party(r)

    def by_address(self, address: str) -> PartyInfo | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(Party).where(Party.address == address).order_by(Party.id)).first()
        return _party(r) if r else None

    def list(self) -> list[PartyInfo]:
        with self.engine.connect() as conn:
            return [_party(r) for r in conn.execute(select(Party).order_by(Party.id))]

    # --- keys ---------------------------------------------------------------------------

    def new_key(self, party_name: str) -> str:
        """Make an API key for the party; returns it (the only time it exists in clear)."""
        party = self.get(party_name)
        with write_transaction(self.engine) as conn:
            while True:
                prefix = secrets.token_hex(4)
                if not conn.execute(select(ApiKey.id).where(ApiKey.prefix == prefix)).first():
                    break
            key = f"dpl_{prefix}_{secrets.token_urlsafe(32)}"
            conn.execute(ApiKey.__table__.insert().values(
                party_id=party.id, prefix=prefix, key_hash=_hash(key), created_at=utcnow()))
        return key

    def authenticate(self, key: str) -> PartyInfo | None:
        """The party of a live key, or None (unknown, malformed or revoked)."""
        m = _KEY.fullmatch(key or "")
        if not m:
            return None
        with self.engine.connect() as conn:  # the key and its party in one round trip (every request's)
            r = conn.execute(_AUTHENTICATE, {"prefix": m.group(1)}).first()
        if r is None or r.revoked_at is not None or not hmac.compare_digest(bytes(r.key_hash), _hash(key)):
            return None
        return _party(r)

    def revoke(self, prefix: str) -> None:
        with write_transaction(self.engine) as conn:
            found = conn.execute(ApiKey.__table__.update().where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))
                                 .values(revoked_at=utcnow())).rowcount
        if not found:
            raise NotFoundError(f"no live API key {prefix}")

    def keys(self) -> list[KeyInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ApiKey.prefix, Party.name, ApiKey.created_at, ApiKey.revoked_at)
                                .join(Party, Party.id == ApiKey.party_id).order_by(ApiKey.id)).all()
        return [KeyInfo(r.prefix, r.name, r.created_at, r.revoked_at) for r in rows]

    # --- log ownership ----------------------------------------------------------------------

    def own_log(self, log_pk: int, party_id: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(LogOwner.__table__.insert().values(log_pk=log_pk, party_id=party_id))

    def owner_of(self, log_pk: int) -> int | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(LogOwner.party_id).where(LogOwner.log_pk == log_pk)).first()
        return r.party_id if r else None

    def logs_of(self, party_id: int) -> set[int]:
        with self.engine.connect() as conn:
            return {r.log_pk for r in conn.execute(select(LogOwner.log_pk).where(LogOwner.party_id == party_id))}
