"""tickets: district

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("district", sa.String(64)))
        b.create_index("ix_tickets_district", ["district"])


def downgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        b.drop_index("ix_tickets_district")
        b.drop_column("district")
