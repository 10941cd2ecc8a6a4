"""Grants: the data-access grants (``dpl-grant/1``) factories gave lenders; the grant document
is sealed, its digest and the lender's address are clear.

Revision ID: 0017
Revises: 0015
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("factory_party", sa.Integer(), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("lender", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_grants_lender", "grants", ["lender"])


def downgrade() -> None:
    op.drop_index("ix_grants_lender", table_name="grants")
    op.drop_table("grants")
