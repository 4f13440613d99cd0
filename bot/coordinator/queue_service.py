"""The coordinator's queue: handed-over conversations of the municipalities they may see,
and a version that changes whenever the queue would look different. The functions on a
session hold the queries; `QueueService` runs them, one short session per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.times import HELSINKI, as_utc
from bot.cases import audit
from bot.coordinator.auth import SignedIn
from bot.coordinator.translation import Reading, stored_readings
from bot.db.models import (
    Booking,
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationState,
    Coordinator,
    Message,
)
from bot.handoff.state_machine import HandoffReason

URGENT_REASONS = (
    HandoffReason.URGENT,
    HandoffReason.URGENT_AGAIN,
    HandoffReason.URGENT_MANY_FROM_NETWORK,
)
# The most conversations a search shows; the newest first.
SEARCH_LIMIT = 50
# A search shorter than this would match nearly everything.
SEARCH_MIN_CHARS = 2
SEARCH_MAX_CHARS = 100


class QueueFilter(StrEnum):
    ALL = "all"
    MINE = "mine"  # taken by the signed-in coordinator
    UNASSIGNED = "unassigned"  # waiting, nobody has taken them
    URGENT = "urgent"  # someone may be in danger


@dataclass(frozen=True)
class QueueView:
    """What the coordinator asked the queue to show: a filter, and a search over every
    conversation of their municipality (name, case number, phone or e-mail, any text)."""

    filter: QueueFilter = QueueFilter.ALL
    query: str = ""

    @classmethod
    def of(cls, params: Any) -> QueueView:
        try:
            chosen = QueueFilter(str(params.get("filter") or QueueFilter.ALL))
        except ValueError:
            chosen = QueueFilter.ALL
        query = " ".join(str(params.get("q") or "").split())[:SEARCH_MAX_CHARS]
        return cls(chosen, query if len(query) >= SEARCH_MIN_CHARS else "")

    @property
    def searching(self) -> bool:
        return bool(self.query)


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
    coordinator_id: int | None = None

    @property
    def last_text(self) -> str | None:
        return self.last_message.text if self.last_message is not None else None

    @property
    def urgent(self) -> bool:
        return self.reason in URGENT_REASONS


def _visible(query: Any, who: SignedIn) -> Any:
    return (
        query
        if who.is_administrator
        else query.where(Conversation.municipality == who.municipality)
    )


def _like(query: str) -> str:
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _matching(session: Session, who: SignedIn, query: str) -> list[str]:
    """The ids of the conversations the coordinator may see whose messages, linked case
    (name or number) or bookings (name, phone or e-mail) contain `query`."""
    pattern = _like(query)
    in_messages = select(Message.conversation_id).where(
        func.lower(Message.text).like(pattern, escape="\\")
    )
    in_cases = (
        select(ChannelIdentity.external_id)
        .join(ClientCase, ClientCase.id == ChannelIdentity.case_id)
        .where(
            or_(
                func.lower(ClientCase.full_name).like(pattern, escape="\\"),
                func.lower(ClientCase.case_number).like(pattern, escape="\\"),
            )
        )
    )
    in_bookings = select(Booking.conversation_id).where(
        or_(
            func.lower(Booking.contact_name).like(pattern, escape="\\"),
            func.lower(Booking.contact).like(pattern, escape="\\"),
        )
    )
    found = session.scalars(
        _visible(
            select(Conversation.id).where(
                or_(
                    Conversation.id.in_(in_messages),
                    Conversation.id.in_(in_cases),
                    Conversation.id.in_(in_bookings),
                )
            ),
            who,
        )
        .order_by(Conversation.updated_at.desc())
        .limit(SEARCH_LIMIT)
    )
    return list(found)


def queue(session: Session, who: SignedIn, view: QueueView | None = None) -> list[QueueEntry]:
    """Handed-over conversations, oldest first: waiting ones, then those with a person; or
    with a search, the matching conversations in any state."""
    view = view or QueueView()
    query = select(Conversation, Coordinator.display_name).outerjoin(
        Coordinator, Coordinator.id == Conversation.coordinator_id
    )
    if view.searching:
        query = query.where(Conversation.id.in_(_matching(session, who, view.query)))
    else:
        query = query.where(
            Conversation.state.in_((ConversationState.WAITING, ConversationState.HUMAN))
        )
    if view.filter == QueueFilter.MINE:
        query = query.where(
            Conversation.state == ConversationState.HUMAN, Conversation.coordinator_id == who.id
        )
    elif view.filter == QueueFilter.UNASSIGNED:
        query = query.where(Conversation.state == ConversationState.WAITING)
    elif view.filter == QueueFilter.URGENT:
        query = query.where(
            Conversation.handoff_reason.in_(URGENT_REASONS),
            Conversation.state.in_((ConversationState.WAITING, ConversationState.HUMAN)),
        )
    rows = session.execute(
        _visible(query, who).order_by(Conversation.handoff_requested_at, Conversation.id)
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
            coordinator_id=conversation.coordinator_id,
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


def waiting(session: Session, who: SignedIn) -> list[tuple[str, datetime | None]]:
    """Everyone waiting for a coordinator the signed-in one may answer, whatever the view's
    filter: the tab title counts them, and a new one among them is announced."""
    rows = session.execute(
        _visible(
            select(Conversation.id, Conversation.handoff_requested_at).where(
                Conversation.state == ConversationState.WAITING
            ),
            who,
        )
    ).all()
    return [(cid, as_utc(at) if at else None) for cid, at in rows]


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

    def entries(
        self,
        who: SignedIn,
        language: str,
        view: QueueView | None = None,
        *,
        audited: bool = False,
    ) -> tuple[list[QueueEntry], dict[int, Reading], list[tuple[str, datetime | None]]]:
        """The queue as `view` asks, with the translations into `language` made before of
        each person's latest message, and everyone waiting. A search looks through
        personal data: opening its results is audited (as a case search is, without the
        words searched for); the live refreshes of the open page are not."""
        with self._sessions.begin() as session:
            if audited and view is not None and view.searching:
                audit.record(
                    session,
                    actor=f"coordinator:{who.username}",
                    case_id=None,
                    action="search_conversations",
                    detail=None,
                )
            entries = queue(session, who, view)
            latest = [e.last_message for e in entries if e.last_message is not None]
            return entries, stored_readings(session, latest, language), waiting(session, who)

    def version(self, who: SignedIn) -> str:
        with self._sessions() as session:
            return queue_version(session, who)
