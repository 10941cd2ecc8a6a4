"""The schema comes from Alembic migrations, and they match the SQLModel tables."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import ledger.store.models  # noqa: F401
from ledger.store import db


def test_migrations_build_exactly_the_model_schema(backend):
    engine = db.make_engine(backend.resolved_database_url())
    db.migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= {"logs", "records", "tiles", "checkpoints", "meta", "anchors", "pledges", "pledge_sync", "web_sessions", "factory_signatures", "chain_transactions", "pledge_holdings"}
    engine.dispose()


def test_downgrade_and_upgrade_again(backend):
    engine = db.make_engine(backend.resolved_database_url())
    db.migrate(engine)
    with engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "base")
    assert "records" not in inspect(engine).get_table_names()
    db.migrate(engine)
    with engine.connect() as conn:
        head = ScriptDirectory.from_config(db._alembic_config(conn)).get_current_head()
    assert head == "0020" and db.schema_revision(engine) == head  # 0016: the mirror's covenants digest; 0017: grants; 0018: applications; 0019: log format; 0020: records WITHOUT ROWID
    engine.dispose()


def test_0012_has_a_mirror_synced_before_it_rebuilt(backend):
    """A pledge mirror synced before the holdings existed forgets where it stopped, so the next
    sync rebuilds it from the deployment block and fills ``pledge_holdings`` from the chain."""
    from sqlalchemy import text

    engine = db.make_engine(backend.resolved_database_url())
    with engine.begin() as conn:
        command.upgrade(db._alembic_config(conn), "0011")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO pledge_sync (chain_id, registry_address, block_number, block_hash) "
                          "VALUES (31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3', 9, :h)"), {"h": b"\x01" * 32})
    db.migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pledge_sync")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM pledge_holdings")).scalar() == 0
    engine.dispose()
