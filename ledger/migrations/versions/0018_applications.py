"""Applications: loan applications (``dpl-application/1``) and their steps; the documents are
sealed, the state, the parties and the links (grant, consent, pledge token) are clear.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("factory_party", sa.Integer(), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("lender", sqlmodel.AutoString(length=42), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("grant_id", sa.Integer(), sa.ForeignKey("grants.id"), nullable=False),
        sa.Column("consent_id", sa.Integer(), sa.ForeignKey("consents.id"), nullable=True),
        sa.Column("token_id", sqlmodel.AutoString(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_applications_factory_party", "applications", ["factory_party"])
    op.create_index("ix_applications_lender", "applications", ["lender"])
    op.create_table(
        "application_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("party", sa.Integer(), sa.ForeignKey("parties.id"), nullable=False),
        sa.Column("action", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("state", sqlmodel.AutoString(length=32), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_application_events_application_id", "application_events", ["application_id"])


def downgrade() -> None:
    op.drop_index("ix_application_events_application_id", table_name="application_events")
    op.drop_table("application_events")
    op.drop_index("ix_applications_lender", table_name="applications")
    op.drop_index("ix_applications_factory_party", table_name="applications")
    op.drop_table("applications")
