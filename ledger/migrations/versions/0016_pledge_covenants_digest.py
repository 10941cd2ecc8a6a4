"""Pledge terms carry ``covenantsDigest`` (SHA-256 of the ``dpl-covenants/1`` set agreed with
the loan; zero: none): a column in the pledge mirror. Rows mirrored from a registry without it
keep NULL.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pledges", sa.Column("covenants_digest", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pledges") as batch:
        batch.drop_column("covenants_digest")
