"""Statistics: the intent of a person's message, daily aggregates, reviewed messages

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent", sa.String(length=64), nullable=True))
    op.create_table(
        "statistics_day",
        sa.Column("municipality", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("municipality", "day"),
    )
    op.create_table(
        "statistics_count",
        sa.Column("municipality", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=48), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("municipality", "day", "measure", "key"),
    )
    op.create_table(
        "statistics_wait",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("statistics_wait", schema=None) as batch_op:
        batch_op.create_index(
            "ix_statistics_wait_municipality_day", ["municipality", "day"], unique=False
        )
    op.create_table(
        "nlu_review",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(length=64), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewed_by"], ["coordinator.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("message_id"),
    )


def downgrade() -> None:
    op.drop_table("nlu_review")
    with op.batch_alter_table("statistics_wait", schema=None) as batch_op:
        batch_op.drop_index("ix_statistics_wait_municipality_day")
    op.drop_table("statistics_wait")
    op.drop_table("statistics_count")
    op.drop_table("statistics_day")
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_column("intent")
