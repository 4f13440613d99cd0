"""Database work of the gateway. Plain synchronous functions, called through
`asyncio.to_thread` by the async router so they never block the event loop."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.conversations.delivery import DELIVERY_LEASE, MessageDelivery
from bot.db.models import (
    Conversation,
    ConversationState,
    LanguageSource,
    Message,
    MessageDirection,
    MessageSender,
    MessageStatus,
    MessageTranslation,
    pending_message,
    utcnow,
)
from bot.handoff.state_machine import HandoffRequest, hand_back, reopen, request_handoff
from bot.handoff.urgent import urgent_reason
from bot.nlg.markup import Layout, layout_of
from bot.privacy.erasure import ErasureReason, erase_conversation
from bot.privacy.tracker import get_tracker_store

# How far back a button's payload stays valid: a person may scroll up and press an older one.
PAYLOAD_LOOKBACK_MESSAGES = 50


class UnknownConversationError(LookupError):
    pass


class InvalidTokenError(PermissionError):
    pass


class DuplicateInboundError(LookupError):
    """The channel delivered a message it had delivered before (same external id)."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ConversationView:
    id: str
    channel: str
    municipality: str
    language: str
    language_source: str
    state: str

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationView:
        return cls(
            id=conversation.id,
            channel=conversation.channel,
            municipality=conversation.municipality,
            language=conversation.language,
            language_source=conversation.language_source,
            state=conversation.state,
        )


@dataclass(frozen=True)
class MessageView:
    id: int
    sender: str
    text: str | None
    buttons: list[dict[str, Any]]
    language: str
    created_at: str
    sender_name: str | None = None
    # The answer's text with its marks (bot/nlg/markup.py), when it has any.
    markup: str | None = None

    @classmethod
    def of(cls, message: Message) -> MessageView:
        return cls(
            id=message.id,
            sender=message.sender,
            sender_name=message.sender_name,
            text=message.text,
            markup=message.markup,
            buttons=list(message.buttons or []),
            language=message.language,
            # SQLite gives back naive datetimes; every stored time is UTC.
            created_at=message.created_at.replace(
                tzinfo=message.created_at.tzinfo or UTC
            ).isoformat(),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sender": self.sender,
            "sender_name": self.sender_name,
            "text": self.text,
            "layout": layout.as_json() if (layout := layout_of(self.markup)) else None,
            "buttons": self.buttons,
            "language": self.language,
            "created_at": self.created_at,
        }

    @property
    def layout(self) -> Layout | None:
        """The first screen and the rest, with the official terms marked; None for a text
        without marks."""
        return layout_of(self.markup)


@dataclass(frozen=True)
class Reply:
    """A message for the person. When `text` is a machine translation, `original_text` is
    what its author wrote, in `original_language`; both are stored."""

    text: str
    buttons: list[dict[str, Any]] = field(default_factory=list)
    original_text: str | None = None
    original_language: str | None = None
    # The assistant's content this was rendered from (response name and variables), so the
    # coordinator can read it re-rendered in their own language; None for anything else.
    response_name: str | None = None
    response_arguments: dict[str, Any] | None = None
    # The text with its marks (a first screen, official terms), when the content had any.
    markup: str | None = None


@dataclass(frozen=True)
class TranslationView:
    text: str
    pivot: str | None


class ConversationStore(MessageDelivery):
    """Conversations and their turns (erasure: bot/privacy/erasure.py); the delivery
    bookkeeping of their outbound messages comes from MessageDelivery
    (bot/conversations/delivery.py)."""

    def create(
        self, *, channel: str, municipality: str, language: str, language_source: LanguageSource
    ) -> tuple[ConversationView, str]:
        token = secrets.token_urlsafe(32)
        conversation = Conversation(
            id=uuid.uuid4().hex,
            token_hash=hash_token(token),
            channel=channel,
            municipality=municipality,
            language=language,
            language_source=language_source,
            state=ConversationState.BOT,
        )
        with self._sessions.begin() as session:
            session.add(conversation)
            session.flush()
            view = ConversationView.of(conversation)
        return view, token

    def find(self, conversation_id: str) -> tuple[ConversationView, str] | None:
        """The conversation and its token hash, or None."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return None
            return ConversationView.of(conversation), conversation.token_hash

    def authenticate(self, conversation_id: str, token: str) -> ConversationView:
        found = self.find(conversation_id)
        if found is None:
            raise UnknownConversationError(conversation_id)
        view, token_hash = found
        if not hmac.compare_digest(token_hash, hash_token(token)):
            raise InvalidTokenError(conversation_id)
        return view

    def store_inbound(
        self,
        conversation_id: str,
        *,
        text: str,
        payload: str | None,
        language: str,
        message_language: str | None = None,
        detected_language: bool = False,
        external_id: str | None = None,
        client_network: str | None = None,
    ) -> int:
        """Stores what the person sent; a newly detected conversation language is kept with
        it. `message_language` is the message's own language when it is not the
        conversation's (one the assistant cannot reach). A message whose `external_id` is
        already stored raises DuplicateInboundError and changes nothing."""
        try:
            return self._store_inbound(
                conversation_id,
                text,
                payload,
                language,
                message_language or language,
                detected_language,
                external_id,
                client_network,
            )
        except IntegrityError as error:
            # Two deliveries of the same message raced; the unique key let one through.
            if external_id is not None and self._external_id_stored(external_id):
                raise DuplicateInboundError(external_id) from error
            raise

    def state_for_turn(self, conversation_id: str) -> str:
        """The conversation's state as it is now, read after the person's message is stored.
        A conversation the coordinator closed goes back to the assistant when the person
        writes again."""
        with self._sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise UnknownConversationError(conversation_id)
            if conversation.state == ConversationState.CLOSED:
                reopen(session, conversation_id, utcnow())
                return ConversationState.BOT
            return conversation.state

    def urgent_reason(self, conversation_id: str, per_network: int) -> str:
        """How this urgent conversation joins the queue (bot/handoff/urgent.py)."""
        with self._sessions() as session:
            return urgent_reason(session, conversation_id, per_network, utcnow())

    def return_to_assistant(self, conversation_id: str) -> bool:
        with self._sessions.begin() as session:
            return hand_back(session, conversation_id, "person", utcnow())

    def _external_id_stored(self, external_id: str) -> bool:
        with self._sessions() as session:
            found = session.scalar(select(Message.id).where(Message.external_id == external_id))
            return found is not None

    def _store_inbound(
        self,
        conversation_id: str,
        text: str,
        payload: str | None,
        language: str,
        message_language: str,
        detected_language: bool,
        external_id: str | None,
        client_network: str | None,
    ) -> int:
        with self._sessions.begin() as session:
            if external_id is not None and session.scalar(
                select(Message.id).where(Message.external_id == external_id)
            ):
                raise DuplicateInboundError(external_id)
            if detected_language:
                self._set_language(session, conversation_id, language, LanguageSource.DETECTED)
            if client_network is not None:
                # Where this message came from, for the budgets the actions keep while they
                # handle it (wrong link codes, bookings); the latest sender counts.
                session.execute(
                    update(Conversation)
                    .where(Conversation.id == conversation_id)
                    .values(client_network=client_network)
                )
            message = Message(
                conversation_id=conversation_id,
                direction=MessageDirection.INBOUND,
                sender=MessageSender.USER,
                text=text,
                payload=payload,
                language=message_language,
                status=MessageStatus.RECEIVED,
                external_id=external_id,
            )
            session.add(message)
            session.flush()
            return message.id

    def finish_turn(
        self,
        conversation_id: str,
        inbound_id: int,
        *,
        status: MessageStatus,
        replies: Sequence[Reply],
        language: str,
        chosen_language: bool = False,
        reply_status: MessageStatus = MessageStatus.SENT,
        handoff: HandoffRequest | None = None,
    ) -> list[MessageView]:
        """One transaction for the end of a turn: the replies, the inbound message's status
        and a language the person chose through Rasa.

        The API hands replies over in its response, so they are `sent` at once. A push
        channel asks for `pending` replies, which it marks sent only once delivered; they
        are leased to the caller so the background delivery leaves them alone meanwhile."""
        lease = utcnow() + DELIVERY_LEASE if reply_status == MessageStatus.PENDING else None
        with self._sessions.begin() as session:
            if handoff is not None:
                # The replies tell the person a person will answer; the state changes with them.
                request_handoff(session, conversation_id, handoff, utcnow(), "assistant")
            if chosen_language:
                self._set_language(session, conversation_id, language, LanguageSource.CHOSEN)
            inbound = session.get(Message, inbound_id)
            if inbound is not None:
                inbound.status = status
            rows = [
                Message(
                    conversation_id=conversation_id,
                    direction=MessageDirection.OUTBOUND,
                    sender=MessageSender.BOT,
                    text=reply.text,
                    markup=reply.markup,
                    buttons=reply.buttons or None,
                    language=language,
                    status=reply_status,
                    next_delivery_at=lease,
                    original_text=reply.original_text,
                    original_language=reply.original_language,
                    response_name=reply.response_name,
                    response_arguments=reply.response_arguments or None,
                )
                for reply in replies
            ]
            session.add_all(rows)
            session.flush()
            return [MessageView.of(row) for row in rows]

    @staticmethod
    def _set_language(
        session: Session, conversation_id: str, language: str, source: LanguageSource
    ) -> None:
        conversation = session.get(Conversation, conversation_id)
        if conversation is not None:
            conversation.language = language
            conversation.language_source = source

    def save_translation(
        self, message_id: int, language: str, text: str, pivot: str | None
    ) -> None:
        """Keeps a machine translation of a message (once per message and language: a
        second one, made at the same time elsewhere, is dropped)."""
        with self._sessions.begin() as session:
            save_translation(session, message_id, language, text, pivot)

    def last_response_name(self, conversation_id: str) -> str | None:
        """The content name of the assistant's latest message: the question just asked."""
        with self._sessions() as session:
            return session.scalar(
                select(Message.response_name)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == MessageDirection.OUTBOUND,
                    Message.sender == MessageSender.BOT,
                )
                .order_by(Message.id.desc())
                .limit(1)
            )

    def issued_button(self, conversation_id: str, payload: str) -> dict[str, Any] | None:
        """The button that carried `payload` in this conversation, if the gateway issued one."""
        with self._sessions() as session:
            recent = session.scalars(
                select(Message)
                .where(
                    Message.conversation_id == conversation_id,
                    Message.direction == MessageDirection.OUTBOUND,
                )
                .order_by(Message.id.desc())
                .limit(PAYLOAD_LOOKBACK_MESSAGES)
            )
            for message in recent:
                for button in message.buttons or []:
                    if button.get("payload") == payload:
                        return dict(button)
        return None

    def queue_outbound(
        self,
        conversation_id: str,
        *,
        text: str,
        language: str,
        sender: MessageSender,
        buttons: list[dict[str, Any]] | None = None,
        sender_name: str | None = None,
    ) -> MessageView:
        """Stores a message for the person that no turn of theirs asked for; its channel
        delivers it (status pending until then)."""
        with self._sessions.begin() as session:
            message = pending_message(conversation_id, text, language, sender, buttons, sender_name)
            session.add(message)
            session.flush()
            return MessageView.of(message)

    def erase(self, conversation_id: str, *, keep_conversation: bool) -> None:
        """The person's own erasure from within the conversation (bot/privacy/erasure.py)."""
        erase_conversation(
            self._sessions,
            get_tracker_store(),
            conversation_id,
            actor=f"conversation:{conversation_id}",
            reason=ErasureReason.PERSON_ASKED,
            now=utcnow(),
            keep_conversation=keep_conversation,
        )

    def messages_after(self, conversation_id: str, after: int, limit: int) -> list[MessageView]:
        with self._sessions() as session:
            rows = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.id > after)
                .order_by(Message.id)
                .limit(limit)
            )
            return [MessageView.of(row) for row in rows]


# --- Machine translations of messages (bot/conversations/translation.py makes them). -----


def save_translation(
    session: Session, message_id: int, language: str, text: str, pivot: str | None
) -> None:
    """Adds a translation unless the message already has one in `language`. A savepoint
    keeps a concurrent duplicate (unique key) from undoing the caller's transaction."""
    exists = session.scalar(
        select(MessageTranslation.id).where(
            MessageTranslation.message_id == message_id, MessageTranslation.language == language
        )
    )
    if exists is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                MessageTranslation(message_id=message_id, language=language, text=text, pivot=pivot)
            )
    except IntegrityError:
        pass


def translations_of(
    session: Session, message_ids: Sequence[int], language: str
) -> dict[int, TranslationView]:
    if not message_ids:
        return {}
    rows = session.scalars(
        select(MessageTranslation).where(
            MessageTranslation.message_id.in_(message_ids), MessageTranslation.language == language
        )
    )
    return {row.message_id: TranslationView(row.text, row.pivot) for row in rows}
