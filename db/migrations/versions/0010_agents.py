"""agents and their skills in the database (the directory the ACD and pjsip.conf render from)

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(8), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("line", sa.String(16), nullable=False, server_default="sip"),
        # ["tax:yue:4", ...]: small, always read whole with the agent
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False, server_default=""),
    )
    # one row, bumped on every change: engines poll it to pick up changes made elsewhere
    op.create_table(
        "agent_directory",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("agent_directory")
    op.drop_table("agents")
