"""The gateway's store: conversations and every message in and out of them."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ConversationState(enum.StrEnum):
    BOT = "bot"
    WAITING = "waiting"
    HUMAN = "human"
    CLOSED = "closed"


class LanguageSource(enum.StrEnum):
    """How the conversation got its language; a chosen language is never overridden."""

    DEFAULT = "default"
    DETECTED = "detected"
    CHOSEN = "chosen"


class MessageDirection(enum.StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"


class MessageSender(enum.StrEnum):
    USER = "user"
    BOT = "bot"
    COORDINATOR = "coordinator"
    SYSTEM = "system"


class MessageStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, not yet answered
    PROCESSED = "processed"  # Rasa answered it
    FAILED = "failed"  # Rasa could not be reached; kept, the person was told
    SENT = "sent"  # an outbound message handed to the channel


class Conversation(Base):
    __tablename__ = "conversation"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16), default="api")
    municipality: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    language_source: Mapped[str] = mapped_column(String(16), default=LanguageSource.DEFAULT)
    state: Mapped[str] = mapped_column(String(16), default=ConversationState.BOT)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True
    )


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (Index("ix_message_conversation_id_id", "conversation_id", "id"),)

    # The integer id is the cursor clients page with.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))
    sender: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    conversation: Mapped[Conversation] = relationship(back_populates="messages")
