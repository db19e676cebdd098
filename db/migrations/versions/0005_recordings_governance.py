"""recordings governance: legal hold, deletion mark, access audit

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as b:
        b.add_column(sa.Column("legal_hold", sa.Boolean, nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True)))
    op.create_table(
        "access_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("actor", sa.String(64), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False, server_default=""),
        sa.Column("attachment_id", sa.Integer, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("allowed", sa.Boolean, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("access_audit")
    with op.batch_alter_table("attachments") as b:
        b.drop_column("deleted_at")
        b.drop_column("legal_hold")
