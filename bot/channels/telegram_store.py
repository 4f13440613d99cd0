"""Database work of the Telegram channel: which conversation a chat is, which button a
callback means, and which messages wait for delivery. Synchronous; called through
`asyncio.to_thread`."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.conversations.delivery import DELIVERY_LEASE
from bot.conversations.store import (
    PAYLOAD_LOOKBACK_MESSAGES,
    ConversationView,
    MessageView,
    hash_token,
)
from bot.db.models import (
    Conversation,
    ConversationState,
    LanguageSource,
    Message,
    MessageDirection,
    MessageStatus,
    TelegramChat,
    utcnow,
)

CHANNEL = "telegram"


@dataclass(frozen=True)
class DueMessage:
    chat_id: int
    conversation_id: str
    message: MessageView
    delivered_parts: int


class TelegramStore:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory

    def conversation_for_chat(
        self, chat_id: int, *, municipality: str, language: str, language_source: LanguageSource
    ) -> ConversationView:
        """The chat's conversation, made on its first message with the given language."""
        found = self._find(chat_id)
        if found is not None:
            return found
        try:
            with self._sessions.begin() as session:
                conversation = Conversation(
                    id=uuid.uuid4().hex,
                    # Telegram conversations are reached only through their chat; the API
                    # token is a random secret nobody is given.
                    token_hash=hash_token(secrets.token_urlsafe(32)),
                    channel=CHANNEL,
                    municipality=municipality,
                    language=language,
                    language_source=language_source,
                    state=ConversationState.BOT,
                )
                session.add(conversation)
                session.flush()
                session.add(TelegramChat(chat_id=chat_id, conversation_id=conversation.id))
                session.flush()
                return ConversationView.of(conversation)
        except IntegrityError:
            # Another worker made it first; use theirs.
            again = self._find(chat_id)
            if again is None:
                raise
            return again

    def _find(self, chat_id: int) -> ConversationView | None:
        with self._sessions() as session:
            conversation = session.scalar(
                select(Conversation)
                .join(TelegramChat, TelegramChat.conversation_id == Conversation.id)
                .where(TelegramChat.chat_id == chat_id)
            )
            return None if conversation is None else ConversationView.of(conversation)

    def button_payload(self, conversation_id: str, message_id: int, index: int) -> str | None:
        """The payload of a button the gateway sent in this conversation, while it is still
        among the recent messages a payload is accepted from (as in the API)."""
        with self._sessions() as session:
            recent_ids = set(
                session.scalars(
                    select(Message.id)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction == MessageDirection.OUTBOUND,
                    )
                    .order_by(Message.id.desc())
                    .limit(PAYLOAD_LOOKBACK_MESSAGES)
                )
            )
            if message_id not in recent_ids:
                return None
            message = session.get(Message, message_id)
            if message is None:
                return None
            buttons: list[dict[str, Any]] = list(message.buttons or [])
            if not 0 <= index < len(buttons):
                return None
            payload = buttons[index].get("payload")
            return payload if isinstance(payload, str) else None

    def claim_due_messages(self, limit: int = 200) -> list[DueMessage]:
        """Leases the pending outbound messages of Telegram chats that are due, oldest first.
        A chat's messages go out in order: none is taken after one of the same chat that is
        not due yet (still leased, or waiting for its retry)."""
        now = utcnow()
        with self._sessions.begin() as session:
            rows = session.execute(
                select(Message, TelegramChat.chat_id)
                .join(TelegramChat, TelegramChat.conversation_id == Message.conversation_id)
                .where(
                    Message.direction == MessageDirection.OUTBOUND,
                    Message.status == MessageStatus.PENDING,
                )
                .order_by(Message.id)
                .limit(limit)
            ).all()
            blocked: set[str] = set()
            due: list[DueMessage] = []
            for message, chat_id in rows:
                if message.conversation_id in blocked:
                    continue
                retry_at = message.next_delivery_at
                if (
                    retry_at is not None
                    and retry_at.replace(tzinfo=retry_at.tzinfo or now.tzinfo) > now
                ):
                    blocked.add(message.conversation_id)
                    continue
                # The lease is taken only if nobody took it since we read the row.
                claimed = session.execute(
                    update(Message)
                    .where(
                        Message.id == message.id,
                        Message.status == MessageStatus.PENDING,
                        or_(Message.next_delivery_at.is_(None), Message.next_delivery_at <= now),
                    )
                    .values(next_delivery_at=now + DELIVERY_LEASE)
                    .execution_options(synchronize_session=False)
                )
                if getattr(claimed, "rowcount", 0) != 1:
                    blocked.add(message.conversation_id)
                    continue
                due.append(
                    DueMessage(
                        chat_id=int(chat_id),
                        conversation_id=message.conversation_id,
                        message=MessageView.of(message),
                        delivered_parts=message.delivered_parts,
                    )
                )
            return due
