"""The database files and the errors of a database that cannot take a write."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

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
