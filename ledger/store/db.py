"""Database engines and schema migrations (SQLite by default, PostgreSQL by URL).

SQLite runs in WAL mode; write transactions start with ``BEGIN IMMEDIATE`` so two
writers serialise at the start instead of failing half way. PostgreSQL writers lock
the log row (``SELECT ... FOR UPDATE``). The schema is created and upgraded only by
Alembic (``migrate``), never by ``create_all``.
"""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from ledger.errors import LedgerError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
_SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")
_MIGRATION_LOCK = 0x64706C  # "dpl": PostgreSQL advisory lock key for schema upgrades


class StoreUnavailableError(LedgerError):
    """The database cannot be reached or opened."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; for SQLite, the file's folder is created if missing."""
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
        engine = create_engine(url, connect_args={"timeout": 60})
        _make_sqlite_transactional(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


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


def _alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (no-op when it already is)."""
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
                command.upgrade(_alembic_config(conn), "head")
    except OperationalError as e:
        raise StoreUnavailableError(f"cannot open the database: {e.orig}") from None


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
