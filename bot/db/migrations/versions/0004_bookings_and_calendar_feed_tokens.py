"""Bookings and calendar feed tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("meeting_language", sa.String(length=8), nullable=False),
        sa.Column("interpreter_language", sa.String(length=64), nullable=True),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["client_case.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["slot_id"], ["appointment_slot.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.create_index("ix_booking_case_id", ["case_id"], unique=False)
        batch_op.create_index("ix_booking_conversation_id", ["conversation_id"], unique=False)
        batch_op.create_index(
            "uq_booking_active_slot",
            ["slot_id"],
            unique=True,
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )

    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_token_hash", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_coordinator_calendar_token_hash"), ["calendar_token_hash"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coordinator_calendar_token_hash"))
        batch_op.drop_column("calendar_token_hash")

    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_booking_active_slot",
            sqlite_where=sa.text("status = 'booked'"),
            postgresql_where=sa.text("status = 'booked'"),
        )
        batch_op.drop_index("ix_booking_conversation_id")
        batch_op.drop_index("ix_booking_case_id")

    op.drop_table("booking")
