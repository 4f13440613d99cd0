"""Database work of the Telegram channel: which conversation a chat is, which button a
callback means, and which messages wait for delivery. Synchronous; called through
`asyncio.to_thread`."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

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
    TelegramUpdate,
    utcnow,
)
from bot.nlg.markup import layout_of

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
        self,
        chat_id: int,
        *,
        bot: str,
        municipality: str,
        language: str,
        language_source: LanguageSource,
    ) -> ConversationView:
        """The conversation of the chat with `bot`, made on its first message with the
        given language, in the bot's municipality."""
        found = self._find(bot, chat_id)
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
                session.add(TelegramChat(bot=bot, chat_id=chat_id, conversation_id=conversation.id))
                session.flush()
                return ConversationView.of(conversation)
        except IntegrityError:
            # Another worker made it first; use theirs.
            again = self._find(bot, chat_id)
            if again is None:
                raise
            return again

    def _find(self, bot: str, chat_id: int) -> ConversationView | None:
        with self._sessions() as session:
            conversation = session.scalar(
                select(Conversation)
                .join(TelegramChat, TelegramChat.conversation_id == Conversation.id)
                .where(TelegramChat.bot == bot, TelegramChat.chat_id == chat_id)
            )
            return None if conversation is None else ConversationView.of(conversation)

    def button_payload(
        self, conversation_id: str, message_id: int, index: int, window: timedelta
    ) -> str | None:
        """The payload of a button the gateway offered in this chat's conversation, while it
        is still among its recent messages (as in the API) and was sent within `window`.
        The stored outbound message is the record of the offer: its conversation is the
        chat, its buttons what was offered, its time when. A button of another chat (the
        callback data names a message id, which anyone can write) or an old one is None."""
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
            if message is None or message.conversation_id != conversation_id:
                return None
            offered_at = message.created_at.replace(tzinfo=message.created_at.tzinfo or UTC)
            if offered_at < utcnow() - window:
                return None
            buttons: list[dict[str, Any]] = list(message.buttons or [])
            if not 0 <= index < len(buttons):
                return None
            payload = buttons[index].get("payload")
            return payload if isinstance(payload, str) else None

    def rest_of_answer(self, conversation_id: str, message_id: int) -> str | None:
        """What an answer of this chat's conversation keeps behind its "More" button (the
        callback data names a message id, which anyone can write: another chat's is None)."""
        with self._sessions() as session:
            message = session.get(Message, message_id)
            if message is None or message.conversation_id != conversation_id:
                return None
            layout = layout_of(message.markup)
            return layout.plain_more if layout is not None and layout.more else None

    # --- Updates kept from the webhook until handled. ---------------------------------

    def keep_update(self, bot: str, update_id: int, body: str) -> bool:
        """Stores an update before the webhook answers Telegram; False if it is kept
        already (Telegram sent it again before it was handled)."""
        try:
            with self._sessions.begin() as session:
                session.add(
                    TelegramUpdate(bot=bot, update_id=update_id, body=body, received_at=utcnow())
                )
        except IntegrityError:
            return False
        return True

    def forget_update(self, bot: str, update_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(
                delete(TelegramUpdate).where(
                    TelegramUpdate.bot == bot, TelegramUpdate.update_id == update_id
                )
            )

    def claim_unhandled_updates(
        self, bot: str, older_than: timedelta, lease: timedelta, limit: int = 100
    ) -> list[str]:
        """Bodies of updates received more than `older_than` ago and still not handled (the
        process that took them stopped), oldest first, leased to the caller."""
        now = utcnow()
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(TelegramUpdate)
                .where(
                    TelegramUpdate.bot == bot,
                    TelegramUpdate.received_at <= now - older_than,
                    or_(
                        TelegramUpdate.claimed_until.is_(None),
                        TelegramUpdate.claimed_until <= now,
                    ),
                )
                .order_by(TelegramUpdate.update_id)
                .limit(limit)
            ).all()
            bodies = []
            for row in rows:
                claimed = session.execute(
                    update(TelegramUpdate)
                    .where(
                        TelegramUpdate.bot == bot,
                        TelegramUpdate.update_id == row.update_id,
                        or_(
                            TelegramUpdate.claimed_until.is_(None),
                            TelegramUpdate.claimed_until <= now,
                        ),
                    )
                    .values(claimed_until=now + lease)
                    .execution_options(synchronize_session=False)
                )
                if getattr(claimed, "rowcount", 0) == 1:
                    bodies.append(row.body)
            return bodies

    def claim_due_messages(self, bot: str = "", limit: int = 200) -> list[DueMessage]:
        """Leases the pending outbound messages of `bot`'s chats that are due, oldest first.
        A chat's messages go out in order: none is taken after one of the same chat that is
        not due yet (still leased, or waiting for its retry)."""
        now = utcnow()
        # Only messages that are due, and none behind an older one of its chat that waits
        # for a retry: messages that are not due can never fill the batch and starve the
        # rest.
        waiting = aliased(Message)
        behind_a_waiting_one = exists().where(
            waiting.conversation_id == Message.conversation_id,
            waiting.direction == MessageDirection.OUTBOUND,
            waiting.status == MessageStatus.PENDING,
            waiting.id < Message.id,
            waiting.next_delivery_at > now,
        )
        with self._sessions.begin() as session:
            rows = session.execute(
                select(Message, TelegramChat.chat_id)
                .join(TelegramChat, TelegramChat.conversation_id == Message.conversation_id)
                .where(
                    TelegramChat.bot == bot,
                    Message.direction == MessageDirection.OUTBOUND,
                    Message.status == MessageStatus.PENDING,
                    or_(Message.next_delivery_at.is_(None), Message.next_delivery_at <= now),
                    ~behind_a_waiting_one,
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
