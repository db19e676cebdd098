"""call records: transfers made from the agent desk

Revision ID: 0014b
Revises: 0014a
"""
import sqlalchemy as sa
from alembic import op

revision = "0014b"
down_revision = "0014a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as b:
        b.add_column(sa.Column("transfers", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("call_records") as b:
        b.drop_column("transfers")
