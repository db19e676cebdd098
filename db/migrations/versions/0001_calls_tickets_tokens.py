"""call records, tickets, api tokens

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_records",
        sa.Column("linkedid", sa.String(64), primary_key=True),
        sa.Column("node", sa.String(64), nullable=False, server_default=""),
        sa.Column("caller", sa.Text, nullable=False, server_default=""),
        sa.Column("caller_name", sa.Text, nullable=False, server_default=""),
        sa.Column("dialed", sa.String(32), nullable=False, server_default=""),
        sa.Column("language", sa.String(8)),
        sa.Column("department", sa.String(32)),
        sa.Column("ivr_path", sa.JSON, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("wait_seconds", sa.Float),
        sa.Column("agent", sa.String(64)),
        sa.Column("talk_seconds", sa.Float),
        sa.Column("queue", sa.String(64)),
        sa.Column("recording", sa.Text),
        sa.Column("disposition", sa.String(32), nullable=False),
        sa.Column("fallback", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("hangup_cause", sa.Integer),
        sa.Column("journal", sa.Text, nullable=False, server_default=""),
    )
    op.create_index("ix_call_records_dialed", "call_records", ["dialed"])
    op.create_index("ix_call_records_disposition", "call_records", ["disposition"])
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("linkedid", sa.String(64), sa.ForeignKey("call_records.linkedid"), unique=True),
        sa.Column("caller", sa.Text, nullable=False, server_default=""),
        sa.Column("dialed", sa.String(32), nullable=False, server_default=""),
        sa.Column("language", sa.String(8)),
        sa.Column("department", sa.String(32)),
        sa.Column("category", sa.String(32)),
        sa.Column("status", sa.String(32), nullable=False, server_default="new"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    for col in ("caller", "dialed", "department", "status", "created_at"):
        op.create_index(f"ix_tickets_{col}", "tickets", [col])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("tickets")
    op.drop_table("call_records")
