"""Right of access (GDPR Article 15): everything held about a person, as one JSON document.

For a conversation: its messages with their translations and originals, handoff history,
coordinators' notes, the case link, its bookings and what Rasa's tracker store holds for it.
For a case: the case register's record, its audit trail (who, what, when), every
conversation linked to it, as above, and every booking of the case. The CLI
(`lotsen data export`) and the coordinator app (audited) hand it out.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from bot.db.models import (
    AuditEntry,
    Booking,
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationNote,
    HandoffEvent,
    Message,
    MessageTranslation,
    TelegramChat,
    utcnow,
)
from bot.privacy.erasure import conversations_of_case
from bot.privacy.tracker import TrackerStore


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(row: Any, *skip: str) -> dict[str, Any]:
    return {
        column.key: _value(getattr(row, column.key))
        for column in row.__table__.columns
        if column.key not in skip
    }


def _bookings(session: Session, condition: Any) -> list[dict[str, Any]]:
    rows = session.scalars(select(Booking).where(condition).order_by(Booking.id))
    return [
        {
            **_row(booking),
            "starts_at": _value(booking.slot.starts_at),
            "ends_at": _value(booking.slot.ends_at),
            "kind": booking.slot.kind,
            "location": booking.slot.location,
        }
        for booking in rows
    ]


def _conversation(
    session: Session, conversation: Conversation, tracker: TrackerStore
) -> dict[str, Any]:
    messages = list(
        session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.id)
        )
    )
    translations: dict[int, list[dict[str, Any]]] = {}
    for translation in session.scalars(
        select(MessageTranslation).where(
            MessageTranslation.message_id.in_([message.id for message in messages])
        )
    ):
        translations.setdefault(translation.message_id, []).append(
            _row(translation, "id", "message_id")
        )
    return {
        # The token's hash only proves possession of the conversation; it is no data of the
        # person's and would help nobody.
        **_row(conversation, "token_hash"),
        "messages": [
            {
                **_row(message, "conversation_id", "delivery_attempts", "delivered_parts"),
                "translations": translations.get(message.id, []),
            }
            for message in messages
        ],
        "handoff_events": [
            _row(event, "conversation_id")
            for event in session.scalars(
                select(HandoffEvent).where(HandoffEvent.conversation_id == conversation.id)
            )
        ],
        "coordinator_notes": [
            _row(note, "conversation_id")
            for note in session.scalars(
                select(ConversationNote).where(ConversationNote.conversation_id == conversation.id)
            )
        ],
        "case_links": [
            _row(link)
            for link in session.scalars(
                select(ChannelIdentity).where(
                    ChannelIdentity.channel == conversation.channel,
                    ChannelIdentity.external_id == conversation.id,
                )
            )
        ],
        "bookings": _bookings(session, Booking.conversation_id == conversation.id),
        "telegram_chat_id": session.scalar(
            select(TelegramChat.chat_id).where(TelegramChat.conversation_id == conversation.id)
        ),
        "assistant_memory": tracker.events_of(conversation.id),
    }


def export_conversation(
    session: Session, tracker: TrackerStore, conversation_id: str
) -> dict[str, Any] | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    return {
        "exported_at": _value(utcnow()),
        "conversation": _conversation(session, conversation, tracker),
    }


def export_case(session: Session, tracker: TrackerStore, case: ClientCase) -> dict[str, Any]:
    return {
        "exported_at": _value(utcnow()),
        "case": _row(case),
        "audit": [
            _row(entry, "case_id")
            for entry in session.scalars(
                select(AuditEntry).where(AuditEntry.case_id == case.id).order_by(AuditEntry.id)
            )
        ],
        "conversations": [
            _conversation(session, conversation, tracker)
            for conversation in conversations_of_case(session, case.id)
        ],
        "bookings": _bookings(session, Booking.case_id == case.id),
    }


def case_by_number(session: Session, case_number: str) -> ClientCase | None:
    return session.scalar(select(ClientCase).where(ClientCase.case_number == case_number))


def as_json(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2)


def download(text: str, filename: str) -> Response:
    """A JSON document as a file to save, never cached on the way."""
    return Response(
        text,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
