"""Seal the documents of ``consents`` and ``audit_runs`` with the data key (they were clear
JSON: loan references, manifests, audit findings). Needs the data key when there are rows
(``db.migrate`` is handed a loader by ``LogStore.open``); refused with another key.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
from sqlalchemy import text

from ledger.errors import DataKeyError
from ledger.store import audit_runs, consents

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _data_key(conn):
    loader = op.get_context().config.attributes.get("data_key")
    if loader is None:
        raise DataKeyError("migration 0008 seals the stored consents and audit reports: it needs the data "
                           "key (open the database with dpl or the service, which pass it)")
    key = loader()
    check = conn.execute(text("SELECT value FROM meta WHERE key = 'data_key_check'")).scalar()
    if check is not None and check != key.check_value:
        raise DataKeyError(f"the data key from {key.source} is not the key this database was written with; "
                           "set DPL_DATA_KEY (or DPL_HOME/data.key) to the original key")
    return key


def _rows(conn):
    consent_ids = conn.execute(text("SELECT id FROM consents ORDER BY id")).scalars().all()
    run_ids = conn.execute(text("SELECT id FROM audit_runs ORDER BY id")).scalars().all()
    return consent_ids, run_ids


def _rewrite(conn, seal: bool) -> None:
    consent_ids, run_ids = _rows(conn)
    if not consent_ids and not run_ids:
        return
    key = _data_key(conn)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")  # the replaced clear bytes are zeroed in the file
    for consent_id in consent_ids:  # one row at a time: documents can be large
        r = conn.execute(text("SELECT id, factory_party, lender, document FROM consents WHERE id = :id"),
                         {"id": consent_id}).one()
        aad = consents.associated_data(r.id, r.factory_party, r.lender)
        doc = key.seal_document(aad, bytes(r.document)) if seal else \
            key.open_document(aad, bytes(r.document), f"consent {r.id}")
        conn.execute(text("UPDATE consents SET document = :d WHERE id = :id"), {"d": doc, "id": r.id})
    for run_id in run_ids:
        r = conn.execute(text("SELECT id, clean, report FROM audit_runs WHERE id = :id"), {"id": run_id}).one()
        aad = audit_runs.associated_data(r.id, r.clean)
        report = key.seal_document(aad, bytes(r.report)) if seal else \
            key.open_document(aad, bytes(r.report), f"audit report {r.id}")
        conn.execute(text("UPDATE audit_runs SET report = :d WHERE id = :id"), {"d": report, "id": r.id})
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = OFF")  # back to the default for this pooled connection


def upgrade() -> None:
    _rewrite(op.get_bind(), seal=True)


def downgrade() -> None:
    _rewrite(op.get_bind(), seal=False)
