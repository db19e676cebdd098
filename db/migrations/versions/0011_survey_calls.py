"""survey_calls: scheduled satisfaction survey calls and their outcomes

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OPEN = sa.text("state IN ('scheduled', 'calling')")


def upgrade() -> None:
    op.create_table(
        "survey_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", sa.DateTime(timezone=True), index=True),
        sa.Column("call_id", sa.String(64), unique=True),
        sa.Column("called_at", sa.DateTime(timezone=True)),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.Column("result", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # a partial unique index: one open survey per ticket, any number of finished ones
    op.create_index("uq_survey_open_ticket", "survey_calls", ["ticket_id"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("uq_survey_open_ticket", table_name="survey_calls")
    op.drop_table("survey_calls")
