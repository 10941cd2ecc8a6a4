"""One anchoring run at a time across processes (service workers, `dpl anchor`).

PostgreSQL: a row of ``locks`` taken with ``SELECT … FOR UPDATE SKIP LOCKED`` and held for
the run. SQLite (one machine): an exclusive, non-blocking ``flock`` on
``DPL_HOME/anchoring.lock``. Either way a second process learns at once that the lock is
taken and does not wait.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from ledger.store.db import is_sqlite, write_transaction

LOCK_NAME = "anchoring"


@contextlib.contextmanager
def anchoring_lock(engine: Engine, home: Path):
    """Yields True while this process holds the anchoring lock, False if another one does."""
    if is_sqlite(engine):
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        with open(home / "anchoring.lock", "a+") as f:
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
