"""Handoff and coordinator sign-in

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_attempt_username_at", ["username", "at"], unique=False)

    op.create_table(
        "coordinator_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinator.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_table(
        "conversation_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinator.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_note", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conversation_note_conversation_id", ["conversation_id"], unique=False
        )

    op.create_table(
        "handoff_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=96), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("handoff_event", schema=None) as batch_op:
        batch_op.create_index("ix_handoff_event_conversation_id", ["conversation_id"], unique=False)

    with op.batch_alter_table("appointment_slot", schema=None) as batch_op:
        # Existing rows get the default; the models set it for new ones.
        batch_op.add_column(
            sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handoff_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("handoff_topic", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("handoff_requested_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("coordinator_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_conversation_coordinator_id",
            "coordinator",
            ["coordinator_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.String(length=256), nullable=True))
        batch_op.add_column(
            sa.Column("language", sa.String(length=8), nullable=False, server_default="sv")
        )
        batch_op.add_column(
            sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("coordinator", schema=None) as batch_op:
        batch_op.drop_column("active")
        batch_op.drop_column("language")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_constraint("fk_conversation_coordinator_id", type_="foreignkey")
        batch_op.drop_column("coordinator_id")
        batch_op.drop_column("handoff_requested_at")
        batch_op.drop_column("handoff_topic")
        batch_op.drop_column("handoff_reason")

    with op.batch_alter_table("appointment_slot", schema=None) as batch_op:
        batch_op.drop_column("blocked")

    with op.batch_alter_table("handoff_event", schema=None) as batch_op:
        batch_op.drop_index("ix_handoff_event_conversation_id")

    op.drop_table("handoff_event")
    with op.batch_alter_table("conversation_note", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_note_conversation_id")

    op.drop_table("conversation_note")
    op.drop_table("coordinator_session")
    with op.batch_alter_table("sign_in_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_attempt_username_at")

    op.drop_table("sign_in_attempt")
