"""Signatures a factory made elsewhere (its own wallet): RegisterLog and Checkpoint, kept
until the anchorer uses them.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factory_signatures",
        sa.Column("log_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.AutoString(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["log_pk"], ["logs.id"]),
        sa.PrimaryKeyConstraint("log_pk", "kind", "size"),
    )


def downgrade() -> None:
    op.drop_table("factory_signatures")
