"""Covenant warnings (``covenant_warnings``) and where the monitor last judged each pledge
(``covenant_evaluations``), on one registry.

A warning is kept once per (pledge, key) (``ledger.covenants.CovenantWarning.key``): an
evaluation inserts the warnings that are absent, resolves the open or acknowledged ones a met
window resolves, and moves the pledge's evaluation point, in one transaction
(``record_evaluation``): a crash before the commit leaves nothing, a re-run after it adds
nothing. States: ``open`` → ``acknowledged`` (the holder, ``acknowledge``) → ``resolved``.
``notified`` is the last state the monitor's hook was told of, so a crash between the commit
and the hook is caught up on the next run (``unnotified``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ledger.errors import ConflictError, NotFoundError
from ledger.store.db import is_sqlite, write_transaction
from ledger.store.models import CovenantEvaluation, CovenantWarningRow, utcnow

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
STATES = (OPEN, ACKNOWLEDGED, RESOLVED)

_T = CovenantWarningRow.__table__


@dataclass(frozen=True)
class StoredWarning:
    id: int
    token_id: int
    key: str
    code: str
    state: str
    window: tuple[int, int]
    week: str | None
    checkpoint_size: int
    checkpoint_root: bytes
    anchor_tx: bytes | None
    value: str
    threshold: str
    message: str
    evidence: dict | None
    notified: str | None
    acknowledged_by: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None

    def as_json(self) -> dict:
        """DESIGN.md §9's warning JSON with the stored state, plus the row's id and key, the
        anchoring transaction of the checkpoint, the evidence that resolved it and when."""
        return {"id": self.id, "token_id": self.token_id, "key": self.key, "code": self.code, "state": self.state,
                "window": {"from": self.window[0], "to": self.window[1]}, "week": self.week,
                "checkpoint": {"size": self.checkpoint_size, "root": "0x" + self.checkpoint_root.hex(),
                               "anchor_tx": None if self.anchor_tx is None else "0x" + self.anchor_tx.hex()},
                "value": self.value, "threshold": self.threshold, "message": self.message,
                "evidence": self.evidence, "created_at": _iso(self.created_at),
                "acknowledged_at": _iso(self.acknowledged_at), "acknowledged_by": self.acknowledged_by,
                "resolved_at": _iso(self.resolved_at)}


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _stored(r) -> StoredWarning:
    return StoredWarning(r.id, r.token_id, r.key, r.code, r.state, (r.window_from, r.window_to), r.week,
                         r.checkpoint_size, bytes(r.checkpoint_root),
                         None if r.anchor_tx is None else bytes(r.anchor_tx), r.value, r.threshold, r.message,
                         None if r.evidence is None else orjson.loads(r.evidence), r.notified, r.acknowledged_by,
                         r.created_at, r.acknowledged_at, r.resolved_at)


@dataclass(frozen=True)
class Changes:
    """What one evaluation changed: the keys it raised and those it resolved."""

    raised: list[str]
    resolved: list[str]


class WarningStore:
    def __init__(self, engine: Engine, chain_id: int, registry: str):
        self.engine = engine
        self.chain_id = chain_id
        self.registry = registry

    def _where(self, table=CovenantWarningRow):
        return (table.chain_id == self.chain_id, table.registry_address == self.registry)

    def _insert(self, conn: Connection):
        dialect = sqlite if is_sqlite(self.engine) else postgresql
        return dialect.insert(_T)

    def evaluation_points(self) -> dict[int, int]:
        """token id -> the checkpoint size its covenants were last judged at."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(CovenantEvaluation.token_id, CovenantEvaluation.checkpoint_size)
                                .where(*self._where(CovenantEvaluation))).all()
        return {r.token_id: r.checkpoint_size for r in rows}

    def record_evaluation(self, token_id: int, checkpoint_size: int, warnings: Iterable, met: Iterable,
                          anchor_tx: bytes | None = None,
                          before_commit: Callable[[], None] | None = None) -> Changes:
        """In one transaction: insert each warning (``CovenantWarning``) whose key the pledge has
        not got, resolve each open or acknowledged warning a ``Met`` resolves (the first such
        window is its evidence), and set the pledge's evaluation point to ``checkpoint_size``
        (never moved back). ``before_commit`` runs last inside the transaction (tests inject a
        crash there)."""
        by_code: dict[str, list] = {}
        for m in met:  # a met window resolves warnings of its own code only: look there alone
            by_code.setdefault(m.code, []).append(m)
        now = utcnow()
        rows = [dict(chain_id=self.chain_id, registry_address=self.registry, token_id=token_id, key=w.key,
                     code=w.code, state=OPEN, window_from=w.window[0], window_to=w.window[1], week=w.week,
                     checkpoint_size=w.checkpoint[0], checkpoint_root=_root_bytes(w.checkpoint[1]),
                     anchor_tx=anchor_tx, value=w.value, threshold=w.threshold, message=w.message,
                     created_at=now)
                for w in warnings]
        order = {r["key"]: n for n, r in enumerate(rows)}
        raised, resolved = [], []
        with write_transaction(self.engine) as conn:
            if rows:
                # one compiled statement, run for every row in batches (SQLAlchemy's insertmanyvalues);
                # RETURNING, not rowcount: the PostgreSQL driver here reports -1 for this statement
                statement = self._insert(conn).on_conflict_do_nothing(
                    index_elements=["chain_id", "registry_address", "token_id", "key"]).returning(_T.c.key)
                raised = sorted(conn.execute(statement, rows).scalars().all(), key=order.__getitem__)
            if by_code:
                live = conn.execute(select(_T.c.id, _T.c.key, _T.c.code).where(
                    *self._where(), _T.c.token_id == token_id, _T.c.state.in_((OPEN, ACKNOWLEDGED)))).all()
                for r in live:
                    window = next((m for m in by_code.get(r.code, ()) if m.resolves(r.key)), None)
                    if window is not None:
                        conn.execute(update(CovenantWarningRow).where(CovenantWarningRow.id == r.id).values(
                            state=RESOLVED, resolved_at=now, evidence=orjson.dumps(window.as_json()).decode()))
                        resolved.append(r.key)
            self._move_point(conn, token_id, checkpoint_size, now)
            if before_commit is not None:
                before_commit()
        return Changes(raised, resolved)

    def _move_point(self, conn: Connection, token_id: int, size: int, now: datetime) -> None:
        key = (*self._where(CovenantEvaluation), CovenantEvaluation.token_id == token_id)
        current = conn.execute(select(CovenantEvaluation.checkpoint_size).where(*key)).scalar()
        if current is None:
            conn.execute(CovenantEvaluation.__table__.insert().values(
                chain_id=self.chain_id, registry_address=self.registry, token_id=token_id, checkpoint_size=size,
                evaluated_at=now))
        else:
            conn.execute(update(CovenantEvaluation).where(*key).values(checkpoint_size=max(size, current),
                                                                        evaluated_at=now))

    def list(self, token_ids: Iterable[int] | None = None, warning_id: int | None = None) -> list[StoredWarning]:
        """Warnings by pledge, then ``window.from``, then id: all, of some pledges, or one."""
        query = select(_T).where(*self._where())
        if token_ids is not None:
            query = query.where(_T.c.token_id.in_(sorted(set(token_ids))))
        if warning_id is not None:
            query = query.where(_T.c.id == warning_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(_T.c.token_id, _T.c.window_from, _T.c.id)).all()
        return [_stored(r) for r in rows]

    def get(self, warning_id: int) -> StoredWarning | None:
        found = self.list(warning_id=warning_id)
        return found[0] if found else None

    def acknowledge(self, warning_id: int, by: str) -> StoredWarning:
        """``open`` → ``acknowledged`` by ``by`` (an address). Acknowledging it again answers the
        row as it is (a retry); a resolved warning cannot be acknowledged (``ConflictError``)."""
        with write_transaction(self.engine) as conn:
            state = conn.execute(select(_T.c.state).where(*self._where(), _T.c.id == warning_id)).scalar()
            if state is None:
                raise NotFoundError("no such warning")
            if state == RESOLVED:
                raise ConflictError(f"warning {warning_id} is resolved already: nothing to acknowledge")
            if state == OPEN:
                conn.execute(update(CovenantWarningRow).where(CovenantWarningRow.id == warning_id).values(
                    state=ACKNOWLEDGED, acknowledged_by=by, acknowledged_at=utcnow()))
        return self.get(warning_id)

    def unnotified(self) -> list[StoredWarning]:
        """Warnings whose raising or resolution the hook was not told of yet."""
        query = select(_T).where(*self._where(), (_T.c.notified.is_(None)) |
                                 ((_T.c.state == RESOLVED) & (_T.c.notified != RESOLVED)))
        with self.engine.connect() as conn:
            return [_stored(r) for r in conn.execute(query.order_by(_T.c.id)).all()]

    def mark_notified(self, warning_id: int, state: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(CovenantWarningRow).where(CovenantWarningRow.id == warning_id).values(notified=state))


def _root_bytes(root) -> bytes:
    return root if isinstance(root, bytes) else bytes.fromhex(root[2:])
