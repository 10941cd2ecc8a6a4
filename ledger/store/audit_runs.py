"""Finished audits and their reports (``audit_runs``).

The report (JSON: every finding, with log names, sizes and roots) is sealed with the data key;
its associated data names the table, the row id and the clean flag, so a report copied to
another row or table does not open, and nor does a row whose flag was flipped. Clear: id,
clean flag, time.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from ledger.crypto import DataKey
from ledger.store.db import write_transaction
from ledger.store.models import AuditRun, utcnow

_AAD = b"dpl-audit-run/1\x00"


@dataclass(frozen=True)
class StoredAudit:
    id: int
    clean: bool
    #: The report as JSON bytes, opened.
    report: bytes
    created_at: datetime


def associated_data(run_id: int, clean: bool) -> bytes:
    """What an audit report is bound to (migration 0008 seals with it too)."""
    return _AAD + struct.pack(">Q?", run_id, bool(clean))


class AuditRunStore:
    def __init__(self, engine: Engine, key: DataKey):
        self.engine = engine
        self.key = key

    def add(self, clean: bool, report: bytes) -> int:
        """Keep a finished audit's report (JSON bytes); returns its id."""
        with write_transaction(self.engine) as conn:
            run_id = conn.execute(AuditRun.__table__.insert().values(
                clean=clean, report=b"", created_at=utcnow())).inserted_primary_key[0]
            sealed = self.key.seal_document(associated_data(run_id, clean), report)
            conn.execute(update(AuditRun).where(AuditRun.id == run_id).values(report=sealed))
        return run_id

    def latest(self) -> StoredAudit | None:
        """The last audit kept, or None."""
        with self.engine.connect() as conn:
            r = conn.execute(select(AuditRun.id, AuditRun.clean, AuditRun.report, AuditRun.created_at)
                             .order_by(AuditRun.id.desc()).limit(1)).first()
        if r is None:
            return None
        report = self.key.open_document(associated_data(r.id, r.clean), bytes(r.report), f"audit report {r.id}")
        return StoredAudit(r.id, r.clean, report, r.created_at)
