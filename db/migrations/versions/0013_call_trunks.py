"""call_records: carrier trunk, raw caller and dialled values, SIP Call-ID and final response

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("call_records") as b:
        b.add_column(sa.Column("trunk", sa.String(32)))
        b.add_column(sa.Column("raw_caller", sa.Text()))
        b.add_column(sa.Column("raw_dialed", sa.Text()))
        b.add_column(sa.Column("sip_call_id", sa.Text()))
        b.add_column(sa.Column("sip_response", sa.String(16)))
        b.create_index("ix_call_records_trunk", ["trunk"])


def downgrade() -> None:
    with op.batch_alter_table("call_records") as b:
        b.drop_index("ix_call_records_trunk")
        for col in ("sip_response", "sip_call_id", "raw_dialed", "raw_caller", "trunk"):
            b.drop_column(col)
