"""The assistant's response name and variables kept with each message it sent

The coordinator reads the assistant's answers re-rendered from the same content in their
own language (bot/coordinator/assistant.py). The variables may hold personal data (a name,
a booked time): they live and die with the message row, which erasure deletes.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.add_column(sa.Column("response_name", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("response_arguments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("message") as batch_op:
        batch_op.drop_column("response_arguments")
        batch_op.drop_column("response_name")
