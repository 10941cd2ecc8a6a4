"""Pledge terms carry ``maxLienEnd`` (the latest lien end the holder may extend to without the
factory's signature): a column in the pledge mirror. Rows mirrored from a registry without it
keep NULL.

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pledges", sa.Column("max_lien_end", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch:
        batch.drop_column("max_lien_end")
