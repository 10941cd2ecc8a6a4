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
    assert head == "0012" and db.schema_revision(engine) == head  # 0012: pledge holdings
    engine.dispose()
