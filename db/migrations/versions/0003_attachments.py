"""attachments: voicemail audio, faxes, recordings linked to tickets

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
        sa.Column("linkedid", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),          # voicemail | fax | recording
        sa.Column("path", sa.Text, nullable=False, server_default=""),
        sa.Column("mime", sa.String(64), nullable=False, server_default=""),
        sa.Column("seconds", sa.Float),
        sa.Column("pages", sa.Integer),
        sa.Column("bytes", sa.Integer),
        sa.Column("sha256", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False, server_default="ok"),  # ok | partial | error
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("linkedid", "kind", name="uq_attachment_call_kind"),
    )


def downgrade() -> None:
    op.drop_table("attachments")
