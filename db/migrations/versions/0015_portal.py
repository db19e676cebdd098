"""department portal and supervisor console: deadline extension requests, tickets linked as
one event (hot topics), the citizen's rating of a call

Revision ID: 0015
Revises: 0014b
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
        sa.Column("department", sa.String(32), nullable=False, index=True),
        sa.Column("requested_by", sa.String(128), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(128)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text),
    )
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("event_of", sa.Integer))
        b.create_index("ix_tickets_event_of", ["event_of"])
    with op.batch_alter_table("call_records") as b:
        b.add_column(sa.Column("rating", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as b:
        b.drop_column("rating")
    with op.batch_alter_table("tickets") as b:
        b.drop_index("ix_tickets_event_of")
        b.drop_column("event_of")
    op.drop_table("extension_requests")
