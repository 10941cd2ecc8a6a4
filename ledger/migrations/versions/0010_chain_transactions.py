"""Every transaction a keyring key sends, recorded before it is sent (the nonce manager), and
when an anchor became pending (stuck anchors are reported).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain_transactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("genesis", sa.LargeBinary(), nullable=False),
        sa.Column("sender", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(), nullable=False),
        sa.Column("raw_tx", sa.LargeBinary(), nullable=False),
        sa.Column("purpose", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("error", sqlmodel.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tx_hash"),
    )
    op.create_index("ix_chain_transactions_sender_nonce", "chain_transactions", ["chain_id", "sender", "nonce"])
    op.add_column("anchors", sa.Column("pending_since_block", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("anchors") as batch:  # SQLite cannot drop a column in place before 3.35
        batch.drop_column("pending_since_block")
    op.drop_index("ix_chain_transactions_sender_nonce", table_name="chain_transactions")
    op.drop_table("chain_transactions")
