"""What the coordinator app reads and changes. Plain synchronous functions on a session;
the views call them through `asyncio.to_thread`. Every function takes the signed-in
coordinator and never returns what their municipality may not see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.bookings.service import BookingView
from bot.bookings.times import HELSINKI, as_utc, helsinki_to_utc
from bot.cases import audit
from bot.coordinator.auth import SignedIn
from bot.db.models import (
    AppointmentSlot,
    Booking,
    BookingStatus,
    ChannelIdentity,
    ClientCase,
    Conversation,
    ConversationNote,
    ConversationState,
    Coordinator,
    Message,
)
from bot.handoff import HandoffReason


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


def conversation_of(session: Session, conversation_id: str, who: SignedIn) -> Conversation | None:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or not who.may_see(conversation.municipality):
        return None
    return conversation


def conversation_version(session: Session, conversation_id: str) -> str:
    conversation = session.get(Conversation, conversation_id)
    last = session.scalar(
        select(func.max(Message.id)).where(Message.conversation_id == conversation_id)
    )
    notes = session.scalar(
        select(func.count())
        .select_from(ConversationNote)
        .where(ConversationNote.conversation_id == conversation_id)
    )
    state = conversation.state if conversation else "gone"
    owner = conversation.coordinator_id if conversation else None
    return f"{state}:{owner}:{last}:{notes}"


def transcript(session: Session, conversation_id: str) -> list[Message]:
    return list(
        session.scalars(
            select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
        )
    )


def notes(session: Session, conversation_id: str) -> list[tuple[ConversationNote, str | None]]:
    return list(
        session.execute(
            select(ConversationNote, Coordinator.display_name)
            .outerjoin(Coordinator, Coordinator.id == ConversationNote.coordinator_id)
            .where(ConversationNote.conversation_id == conversation_id)
            .order_by(ConversationNote.id)
        ).all()
    )


def linked_case_of(session: Session, conversation_id: str) -> ClientCase | None:
    return session.scalar(
        select(ClientCase)
        .join(ChannelIdentity, ChannelIdentity.case_id == ClientCase.id)
        .where(ChannelIdentity.external_id == conversation_id)
    )


# --- Cases ----------------------------------------------------------------------------------


def search_cases(session: Session, who: SignedIn, text: str) -> list[ClientCase]:
    query = select(ClientCase).order_by(ClientCase.case_number)
    if not who.is_administrator:
        query = query.where(ClientCase.municipality == who.municipality)
    text = text.strip()
    if text:
        like = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(ClientCase.full_name).like(like),
                ClientCase.case_number.like(f"%{text}%"),
            )
        )
    found = list(session.scalars(query.limit(100)))
    audit.record(
        session,
        actor=f"coordinator:{who.username}",
        case_id=None,
        action="search",
        detail=text[:100],
    )
    return found


def case_of(session: Session, case_id: int, who: SignedIn) -> ClientCase | None:
    case = session.get(ClientCase, case_id)
    if case is None or not who.may_see(case.municipality):
        return None
    return case


def conversations_of_case(session: Session, case_id: int) -> list[Conversation]:
    ids = session.scalars(
        select(ChannelIdentity.external_id).where(ChannelIdentity.case_id == case_id)
    )
    return list(session.scalars(select(Conversation).where(Conversation.id.in_(list(ids)))))


def bookings_of_case(session: Session, case_id: int) -> list[BookingView]:
    rows = session.scalars(
        select(Booking)
        .join(Booking.slot)
        .where(Booking.case_id == case_id)
        .order_by(AppointmentSlot.starts_at)
    )
    return [BookingView.of(row) for row in rows]


# --- Calendar -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarSlot:
    id: int
    starts_at: datetime
    ends_at: datetime
    kind: str
    location: str | None
    blocked: bool
    booking: BookingView | None
    case_number: str | None


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_slots(session: Session, who: SignedIn, monday: date) -> list[CalendarSlot]:
    start = helsinki_to_utc(monday, datetime.min.time())
    end = helsinki_to_utc(monday + timedelta(days=7), datetime.min.time())
    slots = session.scalars(
        select(AppointmentSlot)
        .where(
            AppointmentSlot.coordinator_id == who.id,
            AppointmentSlot.starts_at >= start,
            AppointmentSlot.starts_at < end,
        )
        .order_by(AppointmentSlot.starts_at)
    ).all()
    bookings: dict[int, tuple[Booking, str | None]] = {}
    if slots:
        for booking, number in session.execute(
            select(Booking, ClientCase.case_number)
            .outerjoin(ClientCase, ClientCase.id == Booking.case_id)
            .where(
                Booking.slot_id.in_([s.id for s in slots]), Booking.status == BookingStatus.BOOKED
            )
        ):
            bookings[booking.slot_id] = (booking, number)
    result = []
    for slot in slots:
        booked = bookings.get(slot.id)
        result.append(
            CalendarSlot(
                id=slot.id,
                starts_at=as_utc(slot.starts_at),
                ends_at=as_utc(slot.ends_at),
                kind=slot.kind,
                location=slot.location,
                blocked=slot.blocked,
                booking=BookingView.of(booked[0]) if booked else None,
                case_number=booked[1] if booked else None,
            )
        )
    return result


def own_slot(session: Session, slot_id: int, who: SignedIn) -> AppointmentSlot | None:
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None or (slot.coordinator_id != who.id and not who.is_administrator):
        return None
    return slot


def active_booking_of_slot(session: Session, slot_id: int) -> Booking | None:
    return session.scalar(
        select(Booking).where(Booking.slot_id == slot_id, Booking.status == BookingStatus.BOOKED)
    )


def any_booking_of_slot(session: Session, slot_id: int) -> bool:
    return session.scalar(select(Booking.id).where(Booking.slot_id == slot_id).limit(1)) is not None
