"""One Telegram bot per municipality: chats and kept updates belong to a bot

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04

`bot` is '' for the default municipality's bot (TELEGRAM_BOT_TOKEN, as before, so every
existing chat and kept update stays with it) and a municipality's id for that municipality's
own bot. A person may write to two bots: the same chat id then is two chats, and two bots'
update ids may be equal, so both are unique per bot. The tables are copied into their new
shape (SQLite cannot drop a unnamed unique constraint in place).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _chat_table(name: str, per_bot: bool) -> None:
    columns: list[sa.Column[object] | sa.Constraint] = [
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("conversation_id"),
    ]
    if per_bot:
        columns.append(sa.Column("bot", sa.String(length=64), nullable=False, server_default=""))
        columns.append(sa.UniqueConstraint("bot", "chat_id", name="uq_telegram_chat_bot_chat"))
    else:
        columns.append(sa.UniqueConstraint("chat_id"))
    op.create_table(name, *columns)


def _update_table(name: str, per_bot: bool) -> None:
    columns: list[sa.Column[object] | sa.Constraint] = [
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
    ]
    if per_bot:
        columns.append(sa.Column("bot", sa.String(length=64), nullable=False, server_default=""))
        columns.append(sa.PrimaryKeyConstraint("bot", "update_id"))
    else:
        columns.append(sa.PrimaryKeyConstraint("update_id"))
    op.create_table(name, *columns)


def _move(old: str, new: str, columns: str, where: str = "") -> None:
    op.execute(f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {old} {where}")  # noqa: S608
    op.drop_table(old)
    op.rename_table(new, old)


def upgrade() -> None:
    _chat_table("telegram_chat_0014", per_bot=True)
    _move("telegram_chat", "telegram_chat_0014", "id, chat_id, conversation_id, created_at")
    _update_table("telegram_update_0014", per_bot=True)
    _move("telegram_update", "telegram_update_0014", "update_id, body, received_at, claimed_until")


def downgrade() -> None:
    # Only the default bot's chats and updates fit the old shape.
    _chat_table("telegram_chat_0013", per_bot=False)
    _move(
        "telegram_chat",
        "telegram_chat_0013",
        "id, chat_id, conversation_id, created_at",
        "WHERE bot = ''",
    )
    _update_table("telegram_update_0013", per_bot=False)
    _move(
        "telegram_update",
        "telegram_update_0013",
        "update_id, body, received_at, claimed_until",
        "WHERE bot = ''",
    )
