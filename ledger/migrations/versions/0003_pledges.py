"""Pledges: a mirror of the registry's pledge events, and how far it has read the chain.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledges",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("registry_address", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("token_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_id", sa.LargeBinary(), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("asset_digest", sa.LargeBinary(), nullable=False),
        sa.Column("principal", sqlmodel.AutoString(length=78), nullable=False),
        sa.Column("currency", sqlmodel.AutoString(length=3), nullable=False),
        sa.Column("maturity", sa.BigInteger(), nullable=False),
        sa.Column("lien_end", sa.BigInteger(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("loan_ref_digest", sa.LargeBinary(), nullable=False),
        sa.Column("lender", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("factory", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("holder", sqlmodel.AutoString(length=42), nullable=True),
        sa.Column("status", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("nonce", sqlmodel.AutoString(length=78), nullable=False),
        sa.Column("issue_block", sa.BigInteger(), nullable=False),
        sa.Column("issue_tx", sa.LargeBinary(), nullable=False),
        sa.Column("updated_block", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "registry_address", "token_id"),
    )
    op.create_index("ix_pledges_log_id", "pledges", ["log_id"])
    op.create_table(
        "pledge_sync",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("registry_address", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "registry_address"),
    )


def downgrade() -> None:
    op.drop_table("pledge_sync")
    op.drop_index("ix_pledges_log_id", table_name="pledges")
    op.drop_table("pledges")
