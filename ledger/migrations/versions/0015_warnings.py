"""Covenant warnings (one per pledge and key, with state, evidence and the last state the
monitor's hook was told of) and where the monitor last judged each pledge.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "covenant_warnings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sqlmodel.AutoString(length=200), nullable=False),
        sa.Column("code", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("window_from", sa.BigInteger(), nullable=False),
        sa.Column("window_to", sa.BigInteger(), nullable=False),
        sa.Column("week", sqlmodel.AutoString(length=10), nullable=True),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_root", sa.LargeBinary(), nullable=False),
        sa.Column("anchor_tx", sa.LargeBinary(), nullable=True),
        sa.Column("value", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("threshold", sqlmodel.AutoString(length=100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("notified", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("acknowledged_by", sqlmodel.AutoString(length=42), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ux_covenant_warnings_key", "covenant_warnings",
                    ["chain_id", "registry_address", "token_id", "key"], unique=True)
    op.create_table(
        "covenant_evaluations",
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "registry_address", "token_id"),
    )


def downgrade() -> None:
    op.drop_table("covenant_evaluations")
    op.drop_index("ux_covenant_warnings_key", table_name="covenant_warnings")
    op.drop_table("covenant_warnings")
