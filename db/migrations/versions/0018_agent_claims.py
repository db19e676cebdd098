"""agent claims: one node at a time rings an agent (cluster)

Revision ID: 0018
Revises: 0014b
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_claims",
        sa.Column("agent_id", sa.String(16), primary_key=True),
        sa.Column("node", sa.String(32), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("until", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_claims")
