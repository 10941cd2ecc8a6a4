"""Shared fixtures: temporary homes, and real PostgreSQL databases for the storage layer.

PostgreSQL tests need ``DPL_TEST_DATABASE_URL`` (``make test`` starts a server and sets
it). Without it they fail with a message saying so; they never skip.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
import pytest

from ledger.settings import Settings
from ledger.store.logstore import LogStore


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    url = os.environ.get("DPL_TEST_DATABASE_URL")
    if not url:
        pytest.fail(
            "DPL_TEST_DATABASE_URL is not set: these tests need a real PostgreSQL server. "
            "Run them with `make test` (it starts one), or point the variable at a server "
            "where the user may CREATE DATABASE."
        )
    return url


@pytest.fixture
def pg_url(pg_server_url):
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"dpl_test_{secrets.token_hex(6)}"
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = pg_server_url.rpartition("/")
    url = f"{base}/{name}"
    yield url
    with psycopg.connect(pg_server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request, tmp_path) -> Settings:
    """Settings for a fresh store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return Settings(home=tmp_path / "home", database_url=None)
    url = request.getfixturevalue("pg_url")
    return Settings(home=tmp_path / "home", database_url=url)


@pytest.fixture
def store(backend) -> LogStore:
    s = LogStore.open(backend)
    yield s
    s.close()


@pytest.fixture
def home(tmp_path) -> Path:
    return tmp_path / "home"
