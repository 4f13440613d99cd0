"""The client network a conversation's messages and a booking came from (a keyed pseudonym)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_network", sa.String(length=32), nullable=True))
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_network", sa.String(length=32), nullable=True))
        batch_op.create_index("ix_booking_client_network", ["client_network"])


def downgrade() -> None:
    with op.batch_alter_table("booking", schema=None) as batch_op:
        batch_op.drop_index("ix_booking_client_network")
        batch_op.drop_column("client_network")
    with op.batch_alter_table("conversation", schema=None) as batch_op:
        batch_op.drop_column("client_network")
