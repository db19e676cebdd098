"""ticket workflow: history of every change; owner, escalation, reply, satisfaction

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("owner", sa.String(64)))  # the agent who took the call
        b.add_column(sa.Column("escalated", sa.Boolean, nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("reply", sa.Text))
        b.add_column(sa.Column("satisfaction", sa.String(32)))
    op.create_index("ix_tickets_owner", "tickets", ["owner"])
    # tickets that existed before: their owner is the agent who answered the call
    op.execute("UPDATE tickets SET owner = (SELECT call_records.agent FROM call_records"
               " WHERE call_records.linkedid = tickets.linkedid) WHERE owner IS NULL")
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(32), nullable=False),
        sa.Column("to_status", sa.String(32), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ticket_history")
    op.drop_index("ix_tickets_owner", "tickets")
    with op.batch_alter_table("tickets") as b:
        b.drop_column("satisfaction")
        b.drop_column("reply")
        b.drop_column("escalated")
        b.drop_column("owner")
