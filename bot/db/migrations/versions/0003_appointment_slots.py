"""Appointment slots

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "appointment_slot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.String(length=64), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["coordinator_id"], ["coordinator.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointment_slot", schema=None) as batch_op:
        batch_op.create_index(
            "ix_appointment_slot_municipality_starts_at",
            ["municipality", "starts_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment_slot", schema=None) as batch_op:
        batch_op.drop_index("ix_appointment_slot_municipality_starts_at")

    op.drop_table("appointment_slot")
