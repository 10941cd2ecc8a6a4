"""The database files and the errors of a database that cannot take a write."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat

import pytest
from sqlalchemy import event, text

from ledger import merkle
from ledger.errors import StoreBusyError, StoreFullError
from ledger.settings import Settings
from ledger.store.logstore import LogStore

STREAM = "line-a/telemetry"
FILES = ("ledger.db", "ledger.db-wal", "ledger.db-shm")


def _records(n, start=0):
    return [(i + 1, {"id": f"t-{start + i}", "ts": "2026-10-01T08:00:00+08:00", "type": "iot.telemetry",
                     "data": {"n": start + i}}) for i in range(n)]


@pytest.fixture
def umask_022():
    old = os.umask(0o022)  # the usual umask: files 0644 unless we say otherwise
    yield
    os.umask(old)


def _modes(home):
    return {name: stat.S_IMODE((home / name).stat().st_mode) for name in FILES}


def test_a_new_sqlite_database_and_its_wal_and_shm_are_private(tmp_path, umask_022):
    home = tmp_path / "home"
    store = LogStore.open(Settings(home=home))
    store.create_log(STREAM)
    store.append(STREAM, _records(50))
    assert _modes(home) == dict.fromkeys(FILES, 0o600)  # -wal and -shm exist while the store is open
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    store.close()


def test_an_existing_readable_database_is_tightened_when_opened(tmp_path, umask_022):
    home = tmp_path / "home"
    LogStore.open(Settings(home=home)).close()
    db = home / "ledger.db"
    os.chmod(db, 0o644)  # as an earlier version left it
    other = sqlite3.connect(db)  # another reader keeps -wal and -shm in place, readable by all
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("SELECT count(*) FROM logs").fetchall()
    for name in FILES[1:]:
        os.chmod(home / name, 0o644)
    try:
        store = LogStore.open(Settings(home=home))
        store.create_log(STREAM)
        store.append(STREAM, _records(5))
        assert _modes(home) == dict.fromkeys(FILES, 0o600)
        store.close()
    finally:
        other.close()


def test_dpl_home_is_made_private_by_whichever_command_makes_it(tmp_path, umask_022):
    from ledger.chain.node import _chain_dir
    from ledger.keys import Keyring

    Keyring(tmp_path / "by-keys", lambda: "pass").import_dev()
    _chain_dir(tmp_path / "by-chain")
    LogStore.open(Settings(home=tmp_path / "by-store")).close()
    for name in ("by-keys", "by-chain", "by-store"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o700, name


@contextlib.contextmanager
def _full_disk(store):
    """The database cannot grow while inside: SQLite capped by ``max_page_count``, PostgreSQL
    answering SQLSTATE 53100 (disk_full) as it does when it cannot extend a file."""
    engine = store.engine
    if engine.dialect.name == "sqlite":
        def cap(dbapi_connection, _record):
            size = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
            dbapi_connection.execute(f"PRAGMA max_page_count = {size + 5}")

        event.listen(engine, "connect", cap)
        engine.dispose()
        try:
            yield
        finally:
            event.remove(engine, "connect", cap)
            engine.dispose()
        return
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$"))
        conn.execute(text("CREATE TRIGGER disk_full BEFORE INSERT ON checkpoints FOR EACH ROW EXECUTE FUNCTION disk_full()"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER disk_full ON checkpoints"))
            conn.execute(text("DROP FUNCTION disk_full()"))


def test_a_full_disk_says_disk_full_stores_nothing_and_a_retry_works(store):
    store.create_log(STREAM)
    store.append(STREAM, _records(100))
    before = store.get_log(STREAM)
    batch = [(i, {**r, "data": {"n": r["data"]["n"], "pad": "x" * 300}}) for i, r in _records(3000, start=100)]
    with _full_disk(store), pytest.raises(StoreFullError, match=r"^disk full: .*nothing was written"):
        store.append(STREAM, batch, chunk_size=500)
    assert store.get_log(STREAM) == before
    assert [r.index for r in store.iter_sealed(STREAM)] == list(range(100))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM records")).scalar() == 100
    result = store.append(STREAM, batch, chunk_size=500)
    assert (result.appended, result.size) == (3000, 3100)
    assert result.root == merkle.root([r.leaf_hash for r in store.iter_sealed(STREAM)])


def test_driver_errors_that_mean_not_now_are_named():
    import psycopg

    from ledger.store.db import store_error

    assert isinstance(store_error(psycopg.errors.DiskFull("could not extend file")), StoreFullError)
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorcode = 5
    assert isinstance(store_error(busy, 2), StoreBusyError) and "waited 2 s" in str(store_error(busy, 2))
    assert store_error(sqlite3.OperationalError("no such table: x")) is None
