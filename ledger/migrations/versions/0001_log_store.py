"""Log store: logs, records, tiles, checkpoints, meta.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "logs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("stream", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("log_id", sa.LargeBinary(), nullable=True),
        sa.Column("factory_address", sqlmodel.AutoString(length=42), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("stream"),
    )
    op.create_table(
        "records",
        sa.Column("log_pk", sa.Integer(), nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id_digest", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["log_pk"], ["logs.id"]),
        sa.PrimaryKeyConstraint("log_pk", "idx"),
    )
    op.create_index("ux_records_log_id_digest", "records", ["log_pk", "id_digest"], unique=True)
    op.create_table(
        "tiles",
        sa.Column("log_pk", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["log_pk"], ["logs.id"]),
        sa.PrimaryKeyConstraint("log_pk", "level", "idx"),
    )
    op.create_table(
        "checkpoints",
        sa.Column("log_pk", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["log_pk"], ["logs.id"]),
        sa.PrimaryKeyConstraint("log_pk", "size"),
    )
    op.create_table(
        "meta",
        sa.Column("key", sqlmodel.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.AutoString(length=256), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("checkpoints")
    op.drop_table("tiles")
    op.drop_index("ux_records_log_id_digest", table_name="records")
    op.drop_table("records")
    op.drop_table("logs")
