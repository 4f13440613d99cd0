"""Free slots and bookings. Plain synchronous functions on a session or a session factory;
the booking actions and the coordinator's calendar reach them through `BookingRepository`
(repository.py), in a worker thread.

No double booking is a property of the database, not of this code: the partial unique
index `uq_booking_active_slot` allows one active booking per slot, so of two people who
confirm the same time at once exactly one insert succeeds and the other gets
`SlotTakenError`, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Exists, and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.bookings.time_request import TimeRequest
from bot.bookings.times import as_utc
from bot.cases import audit
from bot.db.models import (
    AppointmentSlot,
    AssessmentState,
    Booking,
    BookingPurpose,
    BookingStatus,
    ClientCase,
    Coordinator,
    PlanState,
)

# A time can be booked until this long before it starts: the coordinator must see it.
BOOKING_LEAD_TIME = timedelta(hours=2)
# How far ahead a narrowed search looks for matching times.
SEARCH_HORIZON = timedelta(days=90)


class SlotTakenError(Exception):
    """Someone else booked the slot first, or it was never free for this person."""


class BookingNotFoundError(LookupError):
    """No active booking with that id belongs to this person."""


@dataclass(frozen=True)
class SlotView:
    id: int
    starts_at: datetime
    ends_at: datetime
    kind: str
    location: str | None
    coordinator_name: str | None

    @classmethod
    def of(cls, slot: AppointmentSlot, coordinator_name: str | None = None) -> SlotView:
        return cls(
            id=slot.id,
            starts_at=as_utc(slot.starts_at),
            ends_at=as_utc(slot.ends_at),
            kind=slot.kind,
            location=slot.location,
            coordinator_name=coordinator_name,
        )


@dataclass(frozen=True)
class BookingDetails:
    """What the booking form asked."""

    purpose: BookingPurpose
    meeting_language: str
    interpreter_language: str | None
    contact_name: str | None
    contact: str | None


@dataclass(frozen=True)
class BookingView:
    id: int
    slot: SlotView
    details: BookingDetails
    status: str
    language: str
    channel: str
    conversation_id: str | None
    case_id: int | None

    @classmethod
    def of(cls, booking: Booking) -> BookingView:
        return cls(
            id=booking.id,
            slot=SlotView.of(booking.slot),
            details=BookingDetails(
                purpose=BookingPurpose(booking.purpose),
                meeting_language=booking.meeting_language,
                interpreter_language=booking.interpreter_language,
                contact_name=booking.contact_name,
                contact=booking.contact,
            ),
            status=booking.status,
            language=booking.language,
            channel=booking.channel,
            conversation_id=booking.conversation_id,
            case_id=booking.case_id,
        )


@dataclass(frozen=True)
class Owner:
    """Whose bookings: the conversation's, and the linked case's from any channel."""

    conversation_id: str
    case_id: int | None = None

    def condition(self) -> ColumnElement[bool]:
        mine = Booking.conversation_id == self.conversation_id
        return mine if self.case_id is None else (mine | (Booking.case_id == self.case_id))


def _is_booked() -> Exists:
    return exists().where(
        and_(Booking.slot_id == AppointmentSlot.id, Booking.status == BookingStatus.BOOKED)
    )


def free_slots(
    session: Session,
    municipality: str,
    *,
    now: datetime,
    request: TimeRequest | None = None,
    offset: int = 0,
    limit: int = 5,
) -> list[SlotView]:
    """The next free times from `now` on, narrowed by what the person asked for."""
    query = (
        select(AppointmentSlot)
        .where(
            AppointmentSlot.municipality == municipality,
            AppointmentSlot.starts_at >= now + BOOKING_LEAD_TIME,
            AppointmentSlot.starts_at < now + SEARCH_HORIZON,
            AppointmentSlot.blocked.is_(False),
            ~_is_booked(),
        )
        .order_by(AppointmentSlot.starts_at, AppointmentSlot.id)
    )
    if request is None:
        rows = session.scalars(query.offset(offset).limit(limit))
        return [SlotView.of(slot) for slot in rows]
    # The window filters work on Helsinki wall-clock time, which SQL cannot do portably;
    # a municipality has at most a few hundred free slots in the horizon.
    matching = [
        SlotView.of(slot) for slot in session.scalars(query) if request.matches(slot.starts_at)
    ]
    return matching[offset : offset + limit]


def slot_is_free(session: Session, slot_id: int, municipality: str, now: datetime) -> bool:
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None or slot.municipality != municipality or slot.blocked:
        return False
    if as_utc(slot.starts_at) < now + BOOKING_LEAD_TIME:
        return False
    taken = session.scalar(
        select(Booking.id).where(Booking.slot_id == slot_id, Booking.status == BookingStatus.BOOKED)
    )
    return taken is None


def get_slot(session: Session, slot_id: int) -> SlotView | None:
    slot = session.get(AppointmentSlot, slot_id)
    return None if slot is None else SlotView.of(slot)


def _check_bookable(session: Session, slot_id: int, municipality: str, now: datetime) -> None:
    slot = session.get(AppointmentSlot, slot_id)
    if slot is None or slot.municipality != municipality or slot.blocked:
        raise SlotTakenError(slot_id)
    if as_utc(slot.starts_at) < now + BOOKING_LEAD_TIME:
        raise SlotTakenError(slot_id)


def _update_case(session: Session, case_id: int, purpose: BookingPurpose, actor: str) -> None:
    case = session.get(ClientCase, case_id)
    if case is None:
        return
    if (
        purpose == BookingPurpose.ASSESSMENT
        and case.assessment_state == AssessmentState.NOT_STARTED
    ):
        case.assessment_state = AssessmentState.BOOKED
        audit.record(session, actor=actor, case_id=case_id, action="assessment_booked")
    elif purpose == BookingPurpose.PLAN and case.plan_state == PlanState.NONE:
        case.plan_state = PlanState.IN_PROGRESS
        audit.record(session, actor=actor, case_id=case_id, action="plan_meeting_booked")


def _new_booking(
    slot_id: int,
    conversation_id: str,
    case_id: int | None,
    channel: str,
    language: str,
    details: BookingDetails,
    now: datetime,
    *,
    replaces_id: int | None,
) -> Booking:
    return Booking(
        slot_id=slot_id,
        conversation_id=conversation_id,
        case_id=case_id,
        channel=channel,
        language=language,
        purpose=details.purpose,
        meeting_language=details.meeting_language,
        interpreter_language=details.interpreter_language,
        contact_name=details.contact_name,
        contact=details.contact,
        status=BookingStatus.BOOKED,
        replaces_id=replaces_id,
        created_at=now,
    )


def _insert(session: Session, booking: Booking) -> None:
    session.add(booking)
    try:
        # The flush runs the INSERT; the unique index decides. On failure the caller's
        # transaction rolls back whole, so nothing of a lost race is left behind.
        session.flush()
    except IntegrityError as error:
        raise SlotTakenError(booking.slot_id) from error


def book(
    sessions: sessionmaker[Session],
    *,
    slot_id: int,
    municipality: str,
    conversation_id: str,
    case_id: int | None,
    channel: str,
    language: str,
    details: BookingDetails,
    now: datetime,
    actor: str,
) -> BookingView:
    """Books a slot, or raises `SlotTakenError`. Confirming the same slot twice from the
    same conversation (a double click) returns the existing booking."""
    with sessions.begin() as session:
        existing = session.scalar(
            select(Booking).where(
                Booking.slot_id == slot_id,
                Booking.status == BookingStatus.BOOKED,
                Booking.conversation_id == conversation_id,
            )
        )
        if existing is not None:
            return BookingView.of(existing)
        _check_bookable(session, slot_id, municipality, now)
        booking = _new_booking(
            slot_id, conversation_id, case_id, channel, language, details, now, replaces_id=None
        )
        _insert(session, booking)
        if case_id is not None:
            _update_case(session, case_id, details.purpose, actor)
            audit.record(
                session, actor=actor, case_id=case_id, action="booking_made", detail=str(booking.id)
            )
        return BookingView.of(booking)


def _owned_booking(session: Session, booking_id: int, owner: Owner) -> Booking:
    booking = session.scalar(
        select(Booking).where(
            Booking.id == booking_id, Booking.status == BookingStatus.BOOKED, owner.condition()
        )
    )
    if booking is None:
        raise BookingNotFoundError(booking_id)
    return booking


def find_booking(session: Session, booking_id: int, owner: Owner) -> BookingView | None:
    try:
        return BookingView.of(_owned_booking(session, booking_id, owner))
    except BookingNotFoundError:
        return None


def move(
    sessions: sessionmaker[Session],
    *,
    booking_id: int,
    new_slot_id: int,
    municipality: str,
    owner: Owner,
    now: datetime,
    actor: str,
    before_commit: Callable[[], None] | None = None,
) -> BookingView:
    """Moves a booking to another slot in one transaction: the old slot is freed only
    when the new one is taken, so a failure anywhere leaves the old booking as it was.
    `before_commit` lets tests break the move half way."""
    with sessions.begin() as session:
        old = _owned_booking(session, booking_id, owner)
        if old.slot_id == new_slot_id:
            return BookingView.of(old)
        _check_bookable(session, new_slot_id, municipality, now)
        new = _new_booking(
            new_slot_id,
            owner.conversation_id,
            old.case_id,
            old.channel,
            old.language,
            BookingView.of(old).details,
            now,
            replaces_id=old.id,
        )
        _insert(session, new)
        old.status = BookingStatus.MOVED
        old.cancelled_at = now
        if old.case_id is not None:
            audit.record(
                session,
                actor=actor,
                case_id=old.case_id,
                action="booking_moved",
                detail=f"{old.id}->{new.id}",
            )
        if before_commit is not None:
            before_commit()
        return BookingView.of(new)


def cancel(
    sessions: sessionmaker[Session], *, booking_id: int, owner: Owner, now: datetime, actor: str
) -> BookingView:
    with sessions.begin() as session:
        return cancel_row(session, _owned_booking(session, booking_id, owner), now, actor)


def cancel_row(session: Session, booking: Booking, now: datetime, actor: str) -> BookingView:
    """Cancels a booking the caller has found and may cancel (the person's own, or one in
    the coordinator's calendar); the slot is free again at once."""
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = now
    if booking.case_id is not None:
        audit.record(
            session,
            actor=actor,
            case_id=booking.case_id,
            action="booking_cancelled",
            detail=str(booking.id),
        )
    return BookingView.of(booking)


def coming_bookings(session: Session, owner: Owner, now: datetime) -> list[BookingView]:
    rows = session.scalars(
        select(Booking)
        .join(Booking.slot)
        .where(
            Booking.status == BookingStatus.BOOKED,
            AppointmentSlot.ends_at > now,
            owner.condition(),
        )
        .order_by(AppointmentSlot.starts_at)
    )
    return [BookingView.of(row) for row in rows]


def bookings_of_coordinator(
    session: Session, coordinator_id: int, since: datetime
) -> list[tuple[BookingView, str | None]]:
    """The coordinator's bookings from `since` on, cancelled ones included (calendars
    remove them), with the case number where the person is linked."""
    rows = session.execute(
        select(Booking, ClientCase.case_number)
        .join(Booking.slot)
        .outerjoin(ClientCase, ClientCase.id == Booking.case_id)
        .where(AppointmentSlot.coordinator_id == coordinator_id, AppointmentSlot.ends_at >= since)
        .order_by(AppointmentSlot.starts_at, Booking.id)
    )
    return [(BookingView.of(booking), case_number) for booking, case_number in rows]


def all_bookings(
    session: Session, municipality: str | None, since: datetime
) -> list[tuple[BookingView, str | None, str | None]]:
    """For `lotsen bookings list`: active bookings from `since`, with case number and
    coordinator."""
    query = (
        select(Booking, ClientCase.case_number, Coordinator.username)
        .join(Booking.slot)
        .outerjoin(ClientCase, ClientCase.id == Booking.case_id)
        .outerjoin(Coordinator, Coordinator.id == AppointmentSlot.coordinator_id)
        .where(Booking.status == BookingStatus.BOOKED, AppointmentSlot.ends_at >= since)
        .order_by(AppointmentSlot.starts_at)
    )
    if municipality is not None:
        query = query.where(AppointmentSlot.municipality == municipality)
    return [(BookingView.of(b), number, user) for b, number, user in session.execute(query)]
