"""tickets: the work order's content, its calls (merging) and drafts written during the call

Revision ID: 0014a
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

revision = "0014a"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as b:
        b.add_column(sa.Column("subject", sa.Text))
        b.add_column(sa.Column("description", sa.Text))
        b.add_column(sa.Column("address", sa.Text))
        b.add_column(sa.Column("street", sa.String(64)))
        b.add_column(sa.Column("contact_name", sa.Text))
        b.add_column(sa.Column("callback_number", sa.String(32)))
        b.add_column(sa.Column("confidential", sa.Boolean, nullable=False, server_default=sa.false()))
        b.add_column(sa.Column("urgency", sa.String(16), nullable=False, server_default="normal"))
        b.add_column(sa.Column("channel", sa.String(16), nullable=False, server_default="phone"))
        b.add_column(sa.Column("search_text", sa.Text, nullable=False, server_default=""))
        b.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
        b.add_column(sa.Column("merged_into", sa.Integer, sa.ForeignKey("tickets.id", name="fk_tickets_merged_into")))
        b.add_column(sa.Column("matter", sa.String(64)))
        b.create_index("ix_tickets_merged_into", ["merged_into"])
    op.create_table(
        "ticket_calls",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False, index=True),
        sa.Column("linkedid", sa.String(64), nullable=False, unique=True),
        sa.Column("how", sa.String(16), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("added_by", sa.String(128), nullable=False, server_default=""),
    )
    op.create_table(
        "ticket_drafts",
        sa.Column("linkedid", sa.String(64), primary_key=True),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agent_names", sa.JSON, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("merge_into", sa.Integer),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    # every ticket so far had exactly its own call
    op.execute("INSERT INTO ticket_calls (ticket_id, linkedid, how, added_at, added_by) "
               "SELECT id, linkedid, 'opened', created_at, '' FROM tickets WHERE linkedid IS NOT NULL")
    op.execute("UPDATE tickets SET channel = 'voicemail' WHERE category = 'callback_needed' AND linkedid IN "
               "(SELECT linkedid FROM call_records WHERE disposition = 'voicemail')")
    op.execute("UPDATE tickets SET channel = 'fax' WHERE linkedid IN "
               "(SELECT linkedid FROM call_records WHERE disposition = 'fax')")


def downgrade() -> None:
    op.drop_table("ticket_drafts")
    op.drop_table("ticket_calls")
    with op.batch_alter_table("tickets") as b:
        b.drop_index("ix_tickets_merged_into")
        for name in ("matter", "merged_into", "version", "search_text", "channel", "urgency", "confidential",
                     "callback_number", "contact_name", "street", "address", "description", "subject"):
            b.drop_column(name)
