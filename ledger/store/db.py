"""Database engines and schema migrations (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so two
writers serialise at the start instead of failing half way. PostgreSQL writers lock
the log row (``SELECT ... FOR UPDATE``). The schema is created and upgraded only by
Alembic (``migrate``), never by ``create_all``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from ledger.errors import StoreBusyError, StoreError, StoreFullError

if TYPE_CHECKING:
    from ledger.crypto import DataKey

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_MIGRATION_LOCK = 0x64706C  # "dpl": PostgreSQL advisory lock key for schema upgrades


class StoreUnavailableError(StoreError):
    """The database cannot be reached or opened."""


#: SQLite result codes (the low byte of extended codes) we report as our own errors.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def make_engine(url: str, busy_timeout: float = 60.0) -> Engine:
    """An engine for ``url``; for SQLite, the file (0600) and its folder are created if missing,
    and a writer waits up to ``busy_timeout`` seconds for another one before ``StoreBusyError``.
    On both backends a full disk is ``StoreFullError``."""
    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError) as e:
        raise StoreUnavailableError(
            f"DATABASE_URL is not a database URL this service can use ({e}); "
            "expected postgresql://user:password@host/db"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_database_files(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": busy_timeout}, pool_timeout=busy_timeout,
                               **_POOL)
        _make_sqlite_transactional(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_timeout=busy_timeout, **_POOL)
    _name_store_errors(engine, busy_timeout)
    return engine


# Every connection the pool may open is kept open: the same ceiling as SQLAlchemy's default (5
# kept + 10 overflow), but an overflow connection was closed on return and opened again by the
# next request (on PostgreSQL a new server process each time: about a core of a 2-core machine
# under 50 concurrent proof requests).
class _Pool(QueuePool):
    """A pool whose "every connection is busy" is a ``StoreBusyError`` (503 with Retry-After in
    the API, one line in the CLI), wherever the checkout happens (the edge's authentication too)."""

    def _do_get(self):
        try:
            return super()._do_get()
        except PoolTimeoutError as e:
            raise store_error(e) from None


_POOL = {"poolclass": _Pool, "pool_size": 15, "max_overflow": 0}  # a request waits for one as long as for a write lock


def _name_store_errors(engine: Engine, busy_timeout: float) -> None:
    """Driver errors that mean "not now" become ``StoreError``s the CLI and the API report
    plainly (one line; 503 problem+json) instead of a driver message or a 500."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context):
        error = store_error(context.original_exception, busy_timeout)
        if error is not None:
            raise error from context.original_exception


def store_error(exc: BaseException, busy_timeout: float = 60.0) -> StoreError | None:
    """The ``StoreError`` a driver exception stands for, if any."""
    if isinstance(exc, PoolTimeoutError):
        return StoreBusyError(
            "every database connection of this process stayed in use for DPL_SQLITE_BUSY_TIMEOUT; "
            "nothing was done: try again shortly")
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreBusyError(
            f"another writer holds the log database (waited {busy_timeout:g} s, DPL_SQLITE_BUSY_TIMEOUT); "
            "nothing was written: try again when it has finished")
    if (code is not None and code & 0xFF == _SQLITE_FULL) or getattr(exc, "sqlstate", None) == _PG_DISK_FULL:
        reason = str(exc).splitlines()[0] if str(exc) else "no space left"
        return StoreFullError(f"disk full: the database cannot grow ({reason}); nothing was written: "
                              "free space and run it again")
    return None


def _private_database_files(path: Path) -> None:
    """The database file exists with mode 0600 (and its folder, when we create it, 0700), so
    SQLite creates its ``-wal`` and ``-shm`` files 0600 too (it gives them the database file's
    mode); files an older version left readable by others are tightened."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # SQLite takes an empty file as new
    except FileExistsError:
        pass
    for name in (path, *(path.with_name(path.name + s) for s in _SQLITE_SIDE_FILES)):
        with contextlib.suppress(FileNotFoundError, PermissionError):  # not ours to change: leave it
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite's own BEGIN handling is off; we emit BEGIN ourselves (SQLAlchemy recipe),
    # IMMEDIATE when the connection asks for a write lock.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the id index hot on ingest
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine):
    """A connection in a transaction that may write; commits on success, rolls back on error."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def _alembic_config(conn: Connection, data_key: Callable[[], DataKey] | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    cfg.attributes["data_key"] = data_key
    return cfg


def migrate(engine: Engine, data_key: Callable[[], DataKey] | None = None) -> None:
    """Bring the schema to the newest revision (no-op when it already is). ``data_key`` loads
    the data key for migrations that seal stored rows (called only when there are some)."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    try:
        with engine.connect() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
        # Two processes opening a new database at once: the second waits for the lock,
        # then finds the schema done.
        with write_transaction(engine) as conn:
            if not is_sqlite(engine):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            if MigrationContext.configure(conn).get_current_revision() != head:
                command.upgrade(_alembic_config(conn, data_key), "head")
    except OperationalError as e:
        raise StoreUnavailableError(f"cannot open the database: {e.orig}") from None


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
