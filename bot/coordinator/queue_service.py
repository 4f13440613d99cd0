"""The coordinator's queue: handed-over conversations of the municipalities they may see,
and a version that changes whenever the queue would look different. The functions on a
session hold the queries; `QueueService` runs them, one short session per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.times import HELSINKI, as_utc
from bot.coordinator.auth import SignedIn
from bot.coordinator.translation import Reading, stored_readings
from bot.db.models import (
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationState,
    Coordinator,
    Message,
)
from bot.handoff.state_machine import HandoffReason


@dataclass(frozen=True)
class QueueEntry:
    id: str
    state: str
    language: str
    channel: str
    reason: str | None
    topic: str | None
    requested_at: datetime | None
    coordinator_name: str | None
    linked_case: str | None
    # The person's latest message (detached from its session), for its text and language.
    last_message: Message | None

    @property
    def last_text(self) -> str | None:
        return self.last_message.text if self.last_message is not None else None


def _visible(query: Any, who: SignedIn) -> Any:
    return (
        query
        if who.is_administrator
        else query.where(Conversation.municipality == who.municipality)
    )


def queue(session: Session, who: SignedIn) -> list[QueueEntry]:
    """Handed-over conversations, oldest first: waiting ones, then those with a person."""
    rows = session.execute(
        _visible(
            select(Conversation, Coordinator.display_name)
            .outerjoin(Coordinator, Coordinator.id == Conversation.coordinator_id)
            .where(Conversation.state.in_((ConversationState.WAITING, ConversationState.HUMAN))),
            who,
        ).order_by(Conversation.handoff_requested_at, Conversation.id)
    ).all()
    ids = [conversation.id for conversation, _ in rows]
    linked = (
        dict(
            session.execute(
                select(ChannelIdentity.external_id, ClientCase.case_number)
                .join(ClientCase, ClientCase.id == ChannelIdentity.case_id)
                .where(ChannelIdentity.external_id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    last_messages = _last_person_messages(session, ids)
    entries = [
        QueueEntry(
            id=conversation.id,
            state=conversation.state,
            language=conversation.language,
            channel=conversation.channel,
            reason=conversation.handoff_reason,
            topic=conversation.handoff_topic,
            requested_at=as_utc(conversation.handoff_requested_at)
            if conversation.handoff_requested_at
            else None,
            coordinator_name=name,
            linked_case=linked.get(conversation.id),
            last_message=last_messages.get(conversation.id),
        )
        for conversation, name in rows
    ]
    # Waiting first, and among them anyone who may be in danger; otherwise oldest first.
    return sorted(
        entries,
        key=lambda e: (
            e.state != ConversationState.WAITING,
            e.reason != HandoffReason.URGENT,
            e.requested_at or datetime.max.replace(tzinfo=HELSINKI),
        ),
    )


def _last_person_messages(session: Session, ids: list[str]) -> dict[str, Message]:
    if not ids:
        return {}
    latest = (
        select(Message.conversation_id, func.max(Message.id).label("last_id"))
        .where(Message.conversation_id.in_(ids), Message.sender == "user")
        .group_by(Message.conversation_id)
        .subquery()
    )
    messages = list(session.scalars(select(Message).join(latest, Message.id == latest.c.last_id)))
    for message in messages:
        session.expunge(message)
    return {message.conversation_id: message for message in messages}


def queue_version(session: Session, who: SignedIn) -> str:
    """Changes whenever the queue a coordinator sees would look different."""
    handed = _visible(
        select(
            func.count(Conversation.id),
            func.max(Conversation.updated_at),
        ).where(Conversation.state.in_((ConversationState.WAITING, ConversationState.HUMAN))),
        who,
    )
    count, updated = session.execute(handed).one()
    last_message = session.scalar(
        _visible(
            select(func.max(Message.id))
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.state.in_((ConversationState.WAITING, ConversationState.HUMAN))),
            who,
        )
    )
    return f"{count}:{updated}:{last_message}"


class QueueService:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def entries(self, who: SignedIn, language: str) -> tuple[list[QueueEntry], dict[int, Reading]]:
        """The queue, with the translations into `language` made before of each person's
        latest message."""
        with self._sessions() as session:
            entries = queue(session, who)
            latest = [e.last_message for e in entries if e.last_message is not None]
            return entries, stored_readings(session, latest, language)

    def version(self, who: SignedIn) -> str:
        with self._sessions() as session:
            return queue_version(session, who)
