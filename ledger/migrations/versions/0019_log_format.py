"""A log's record format (``dpl-record/1`` or ``dpl-record/2``), chosen at creation and never
changed: the store, bundles and audits compute its leaves by it. Logs made before keep
``dpl-record/1``, which is what they are.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("logs", sa.Column("record_format", sqlmodel.AutoString(length=32), nullable=False,
                                    server_default="dpl-record/1"))


def downgrade() -> None:
    with op.batch_alter_table("logs") as batch:
        batch.drop_column("record_format")
