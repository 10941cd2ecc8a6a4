"""Disclosures: the ranges a factory disclosed in full to a lender (records are read from the
log when the lender fetches the disclosure; the profile's parameters are sealed).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("log_pk", sa.Integer(), sa.ForeignKey("logs.id"), nullable=False),
        sa.Column("factory_party", sa.Integer(), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("lender", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_disclosures_lender", "disclosures", ["lender"])


def downgrade() -> None:
    op.drop_index("ix_disclosures_lender", table_name="disclosures")
    op.drop_table("disclosures")
