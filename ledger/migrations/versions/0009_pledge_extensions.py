"""Factory-signed pledge extensions (dpl-extension/1) kept for the pledge's holder.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pledge_extensions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("registry_address", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("token_id", sa.BigInteger(), nullable=False),
        sa.Column("factory_party", sa.Integer(), nullable=False),
        sa.Column("nonce", sqlmodel.AutoString(length=78), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["factory_party"], ["parties.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pledge_extensions_token_id", "pledge_extensions", ["token_id"])
    op.create_index("ux_pledge_extensions_nonce", "pledge_extensions",
                    ["chain_id", "registry_address", "factory_party", "nonce"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_pledge_extensions_nonce", table_name="pledge_extensions")
    op.drop_index("ix_pledge_extensions_token_id", table_name="pledge_extensions")
    op.drop_table("pledge_extensions")
