"""Telegram: chats mapped to conversations, once-only inbound, outbound delivery bookkeeping

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "telegram_chat",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id"),
        sa.UniqueConstraint("conversation_id"),
    )
    # Batch mode: SQLite can only add a unique constraint by copying the table.
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("delivery_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("delivered_parts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("next_delivery_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("delivery_error", sa.Text(), nullable=True))
        batch_op.create_unique_constraint("uq_message_external_id", ["external_id"])
        batch_op.create_index(
            "ix_message_status_next_delivery_at", ["status", "next_delivery_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_status_next_delivery_at")
        batch_op.drop_constraint("uq_message_external_id", type_="unique")
        batch_op.drop_column("delivery_error")
        batch_op.drop_column("next_delivery_at")
        batch_op.drop_column("delivered_parts")
        batch_op.drop_column("delivery_attempts")
        batch_op.drop_column("external_id")
    op.drop_table("telegram_chat")
