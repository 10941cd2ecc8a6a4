"""One anchoring run at a time across processes (service workers, `dpl anchor`), and one
anchoring leader among the service's processes (``AnchoringLeader``).

PostgreSQL: a row of ``locks`` taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and held for
the run. SQLite (one machine): an exclusive, non-blocking ``flock`` on a file beside the
database, ``<database>.anchoring.lock`` (so processes with different ``DPL_HOME``s on one
database file meet; ``DPL_HOME/anchoring.lock`` for a database without a file). Either way a
second process learns at once that the lock is taken and does not wait. The leader holds its
lock for as long as it lives (a session-level advisory lock on PostgreSQL, a second ``flock``,
``<database>.anchoring-leader.lock``, on SQLite); see ``AnchoringLeader``.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from ledger.store.db import is_sqlite, write_transaction

LOCK_NAME = "anchoring"


def lock_file(engine: Engine, home: Path, name: str) -> Path:
    """SQLite: the file ``name`` locks, beside the database file (else in ``home``)."""
    database = engine.url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        path = Path(database)
        return path.with_name(f"{path.name}.{name}.lock")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return home / f"{name}.lock"


@contextlib.contextmanager
def anchoring_lock(engine: Engine, home: Path):
    """Yields True while this process holds the anchoring lock, False if another one does."""
    if is_sqlite(engine):
        with open(lock_file(engine, home, LOCK_NAME), "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return
    with write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO locks (name) VALUES (:n) ON CONFLICT DO NOTHING"), {"n": LOCK_NAME})
    with engine.connect() as conn, conn.begin():
        got = conn.execute(text("SELECT name FROM locks WHERE name = :n FOR UPDATE SKIP LOCKED"),
                           {"n": LOCK_NAME}).first()
        yield got is not None  # the row lock lasts until this transaction ends


#: The PostgreSQL advisory lock of the anchoring leader (a fixed 64-bit key, "dpl-anch"):
#: advisory locks are per database, so two deployments on one server do not meet.
LEADER_LOCK_KEY = int.from_bytes(b"dpl-anch", "big")


class AnchoringLeader:
    """Which one of several processes runs the anchoring loop: the one holding, for as long as
    it lives, PostgreSQL's session-level advisory lock ``LEADER_LOCK_KEY`` (on a connection of
    its own, outside any transaction), or on SQLite (one machine) an exclusive ``flock`` on
    ``<database>.anchoring-leader.lock``. The server releases either when the process dies (its
    connection or its file closes), and the next ``lead()`` of another process takes it over.

    Leadership saves work and tells /health who anchors; it is not what keeps anchors right:
    every run still takes ``anchoring_lock``, and a row per (registry, log, size), intents
    before sends and the nonce manager's per-sender lock keep a checkpoint from being
    anchored twice even when two processes both believe they lead (a connection cut by the
    network: the server drops the lock when it sees the session gone)."""

    def __init__(self, engine: Engine, home: Path):
        self.engine, self.home = engine, home
        self._engine: Engine | None = None  # PostgreSQL: unpooled connections for the lock's session
        self._conn = None  # PostgreSQL: the session that holds the advisory lock
        self._file = None  # SQLite: the open, flocked file

    @property
    def held(self) -> bool:
        return self._conn is not None or self._file is not None

    def lead(self) -> bool:
        """Whether this process leads now: keeps the lock it holds (checking, on PostgreSQL, that
        its session is still alive), or takes it when no other process holds it. Never waits."""
        if is_sqlite(self.engine):
            if self._file is None:
                f = open(lock_file(self.engine, self.home, "anchoring-leader"), "a+")  # noqa: SIM115 (held until release)
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    f.close()
                    return False
                self._file = f
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 (the session is gone, and the lock with it)
                self.release()
        if self._engine is None:  # its own engine without a pool: the lock never stays in a pooled session
            self._engine = create_engine(self.engine.url, poolclass=NullPool)
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK_KEY}).scalar()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        """Give up leadership (the loop stops): another process takes it at its next round."""
        if self._file is not None:
            f, self._file = self._file, None
            fcntl.flock(f, fcntl.LOCK_UN)
            f.close()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK_KEY})
            except Exception:  # noqa: BLE001 (a dead session holds nothing any more)
                pass
            conn.invalidate()  # the session ends (closed, never reused)
            conn.close()
