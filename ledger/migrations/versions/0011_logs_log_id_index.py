"""An index on the on-chain log id: the API looks a log up by it on every request.

Revision ID: 0011
Revises: 0010
"""
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_logs_log_id", "logs", ["log_id"])


def downgrade() -> None:
    op.drop_index("ix_logs_log_id", table_name="logs")
