"""Records stored more compactly (issue 16, goal 5). SQLite: ``records`` becomes a ``WITHOUT
ROWID`` table, so its primary key ``(log_pk, idx)`` is the table itself: no hidden rowid, and no
separate index on the primary key holding ``(log_pk, idx, rowid)`` once more for every record.
The rows are copied unchanged, in key order. PostgreSQL has no such table kind: nothing changes
there. (Sealed payloads written from now on are compressed inside the seal, ``ledger.crypto``;
rows written before keep their bytes and still open: no data is rewritten for that.)

Revision ID: 0020
Revises: 0019
"""
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_COLUMNS = "log_pk, idx, id_digest, leaf_hash, sealed"


def _rebuild(without_rowid: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    suffix = " WITHOUT ROWID" if without_rowid else ""
    op.execute(
        "CREATE TABLE records_new (log_pk INTEGER NOT NULL, idx BIGINT NOT NULL, id_digest BLOB NOT NULL, "
        "leaf_hash BLOB NOT NULL, sealed BLOB NOT NULL, PRIMARY KEY (log_pk, idx), "
        f"FOREIGN KEY(log_pk) REFERENCES logs (id)){suffix}"
    )
    op.execute(f"INSERT INTO records_new ({_COLUMNS}) SELECT {_COLUMNS} FROM records ORDER BY log_pk, idx")
    op.execute("DROP INDEX ux_records_log_id_digest")
    op.execute("DROP TABLE records")
    op.execute("ALTER TABLE records_new RENAME TO records")
    op.execute("CREATE UNIQUE INDEX ux_records_log_id_digest ON records (log_pk, id_digest)")


def upgrade() -> None:
    _rebuild(without_rowid=True)


def downgrade() -> None:
    _rebuild(without_rowid=False)
