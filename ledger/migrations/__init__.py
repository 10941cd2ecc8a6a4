"""Alembic migrations of the log store (run by ``ledger.store.db.migrate``)."""
