"""Pledge holdings: each period a holder held a pledge (since, until, how it ended), so a lender
keeps the pledges it transferred or released in its list.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge_holdings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column("holder", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("since_block", sa.BigInteger(), nullable=False),
        sa.Column("since_tx", sa.LargeBinary(), nullable=True),
        sa.Column("until_block", sa.BigInteger(), nullable=True),
        sa.Column("until_tx", sa.LargeBinary(), nullable=True),
        sa.Column("ended", sqlmodel.AutoString(length=16), nullable=True),
        sa.Column("ended_to", sqlmodel.AutoString(length=42), nullable=True),
    )
    op.create_index("ix_pledge_holdings_holder", "pledge_holdings", ["chain_id", "registry_address", "holder"])
    # a mirror synced before this table existed is rebuilt so the holdings are filled from the chain
    op.execute("DELETE FROM pledge_sync")


def downgrade() -> None:
    op.drop_index("ix_pledge_holdings_holder", table_name="pledge_holdings")
    op.drop_table("pledge_holdings")
