"""Calendar feeds that expire; sign-in attempts counted per network; the slots offered to
each conversation

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("calendar_token_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
    # Addresses handed out before feeds expired keep working for the new lifetime (180 days).
    coordinator = sa.table(
        "coordinator",
        sa.column("calendar_token_hash", sa.String),
        sa.column("calendar_token_expires_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        coordinator.update()
        .where(coordinator.c.calendar_token_hash.is_not(None))
        .values(calendar_token_expires_at=datetime.now(UTC) + timedelta(days=180))
    )
    # Raw addresses of earlier attempts are personal data the lockout no longer needs.
    op.execute(sa.text("UPDATE sign_in_attempt SET address = NULL"))
    op.create_index(
        "ix_sign_in_attempt_address_at", "sign_in_attempt", ["address", "at"], unique=False
    )
    op.create_table(
        "offered_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("slot_id", sa.Integer(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["slot_id"], ["appointment_slot.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id", "slot_id", name="uq_offered_slot"),
    )


def downgrade() -> None:
    op.drop_table("offered_slot")
    op.drop_index("ix_sign_in_attempt_address_at", table_name="sign_in_attempt")
    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.drop_column("calendar_token_expires_at")
