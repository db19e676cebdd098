"""remembered caller language, callback requests, ticket due dates

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "caller_prefs",
        sa.Column("caller", sa.String(64), primary_key=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("call_records") as b:
        b.add_column(sa.Column("callback_requested", sa.Boolean, nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("channel", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("due_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        b.drop_column("due_at")
    with op.batch_alter_table("call_records") as b:
        b.drop_column("channel")
        b.drop_column("callback_requested")
    op.drop_table("caller_prefs")
