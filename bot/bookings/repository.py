"""The booking database work of the booking actions and of the coordinator's calendar, one
short session per call from the sessionmaker it is given. The rules stay in the functions
on a session (service.py, admin.py); this owns only the sessions, so no caller opens one
inline. Synchronous: callers on the event loop run it through `asyncio.to_thread`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.bookings import service
from bot.bookings.admin import (
    CalendarSlot,
    CalendarUser,
    SlotInput,
    active_booking_of_slot,
    add_slots,
    any_booking_of_slot,
    own_slot,
    week_slots,
)
from bot.bookings.service import BookingDetails, BookingView, Owner, SlotView
from bot.bookings.time_request import TimeRequest
from bot.bookings.times import as_utc
from bot.cases.register import linked_case_id
from bot.db.models import Booking, BookingStatus, Conversation, Message


@dataclass(frozen=True)
class SlotChange:
    """A slot the user may change; `done` is False when an active booking kept it as it was."""

    done: bool
    starts_at: datetime


@dataclass(frozen=True)
class CalendarBooking:
    """An active booking in the user's calendar, and the conversation it was made in (None
    when it was made outside one)."""

    booking: BookingView
    conversation: Conversation | None


class BookingRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # --- The person's bookings (the booking actions) ------------------------------------

    def free_slots(
        self,
        municipality: str,
        request: TimeRequest | None,
        *,
        now: datetime,
        offset: int,
        limit: int,
    ) -> list[SlotView]:
        with self._sessions() as session:
            return service.free_slots(
                session, municipality, now=now, request=request, offset=offset, limit=limit
            )

    def slot_is_free(self, slot_id: int, municipality: str, now: datetime) -> bool:
        with self._sessions() as session:
            return service.slot_is_free(session, slot_id, municipality, now)

    def record_offers(self, conversation_id: str, slot_ids: list[int], now: datetime) -> None:
        with self._sessions.begin() as session:
            service.record_offers(session, conversation_id, slot_ids, now)

    def was_offered(self, conversation_id: str, slot_id: int) -> bool:
        with self._sessions() as session:
            return service.was_offered(session, conversation_id, slot_id)

    def get_slot(self, slot_id: int) -> SlotView | None:
        with self._sessions() as session:
            return service.get_slot(session, slot_id)

    def owner(self, conversation_id: str) -> Owner:
        """The conversation's bookings, and its linked case's from any channel."""
        with self._sessions() as session:
            return Owner(conversation_id, linked_case_id(session, conversation_id))

    def find_booking(self, booking_id: int, owner: Owner) -> BookingView | None:
        with self._sessions() as session:
            return service.find_booking(session, booking_id, owner)

    def coming_bookings(self, owner: Owner, now: datetime) -> list[BookingView]:
        with self._sessions() as session:
            return service.coming_bookings(session, owner, now)

    def unlinked_limit_reached(
        self,
        *,
        municipality: str,
        conversation_id: str,
        contact: str | None,
        limit: int,
        now: datetime,
    ) -> bool:
        """Whether an unlinked person may not book one more (see service.book)."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            return service.unlinked_limit_reached(
                session,
                municipality=municipality,
                conversation_id=conversation_id,
                client_network=conversation.client_network if conversation else None,
                contact=contact,
                limit=limit,
                now=now,
            )

    def latest_booking_of(self, owner: Owner, now: datetime) -> BookingView | None:
        bookings = self.coming_bookings(owner, now)
        return max(bookings, key=lambda booking: booking.id) if bookings else None

    def book(
        self,
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
        unlinked_limit: int | None = None,
    ) -> BookingView:
        return service.book(
            self._sessions,
            unlinked_limit=unlinked_limit,
            slot_id=slot_id,
            municipality=municipality,
            conversation_id=conversation_id,
            case_id=case_id,
            channel=channel,
            language=language,
            details=details,
            now=now,
            actor=actor,
        )

    def move(
        self,
        *,
        booking_id: int,
        new_slot_id: int,
        municipality: str,
        owner: Owner,
        now: datetime,
        actor: str,
    ) -> BookingView:
        return service.move(
            self._sessions,
            booking_id=booking_id,
            new_slot_id=new_slot_id,
            municipality=municipality,
            owner=owner,
            now=now,
            actor=actor,
        )

    def cancel(self, *, booking_id: int, owner: Owner, now: datetime, actor: str) -> BookingView:
        return service.cancel(
            self._sessions, booking_id=booking_id, owner=owner, now=now, actor=actor
        )

    # --- The coordinator's calendar -------------------------------------------------------

    def week_slots(
        self, coordinator_id: int | None, monday: date, *, municipality: str | None = None
    ) -> list[CalendarSlot]:
        """One coordinator's week, or with `coordinator_id` None the municipality's."""
        with self._sessions() as session:
            return week_slots(session, coordinator_id, monday, municipality=municipality)

    def add_slot(self, item: SlotInput, now: datetime) -> None:
        """Raises `SlotInputError` with the reason when the slot cannot be added."""
        with self._sessions.begin() as session:
            add_slots(session, [item], now)

    def change_slot(self, slot_id: int, user: CalendarUser, *, remove: bool) -> SlotChange | None:
        """Blocks or unblocks the user's slot, or removes it; None when it is not theirs."""
        with self._sessions.begin() as session:
            slot = own_slot(session, slot_id, user)
            if slot is None:
                return None
            starts_at = as_utc(slot.starts_at)
            if active_booking_of_slot(session, slot_id) is not None:
                return SlotChange(done=False, starts_at=starts_at)
            if remove:
                # Past bookings keep their slot row for history; only an unused slot goes.
                if any_booking_of_slot(session, slot_id):
                    slot.blocked = True
                else:
                    session.delete(slot)
            else:
                slot.blocked = not slot.blocked
            return SlotChange(done=True, starts_at=starts_at)

    def booking_in_calendar(self, booking_id: int, user: CalendarUser) -> CalendarBooking | None:
        with self._sessions() as session:
            booking = _active_in_calendar(session, booking_id, user)
            if booking is None:
                return None
            conversation = session.get(Conversation, booking.conversation_id or "")
            return CalendarBooking(BookingView.of(booking), conversation)

    def cancel_in_calendar(
        self,
        booking_id: int,
        user: CalendarUser,
        *,
        now: datetime,
        actor: str,
        notice: Message | None = None,
    ) -> BookingView | None:
        """Cancels and stores the message telling the person (`notice`), in one
        transaction. The booking is checked again here: it may have changed while the
        message was being composed."""
        with self._sessions.begin() as session:
            booking = _active_in_calendar(session, booking_id, user)
            if booking is None:
                return None
            view = service.cancel_row(session, booking, now, actor)
            if notice is not None:
                session.add(notice)
            return view


def _active_in_calendar(session: Session, booking_id: int, user: CalendarUser) -> Booking | None:
    booking = session.get(Booking, booking_id)
    if booking is None or booking.status != BookingStatus.BOOKED:
        return None
    if own_slot(session, booking.slot_id, user) is None:
        return None
    return booking
