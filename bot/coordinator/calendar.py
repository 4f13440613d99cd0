"""The calendar view: the coordinator's week of slots and bookings; adding, blocking,
unblocking and removing slots; cancelling a booking with a message that reaches the person
in their language."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from bot.bookings.admin import SlotInput, SlotInputError, week_start
from bot.bookings.repository import BookingRepository, CalendarBooking
from bot.bookings.times import HELSINKI, format_time
from bot.conversations.store import Reply
from bot.conversations.translation import for_person_from_coordinator
from bot.coordinator import translation
from bot.coordinator.auth import SignedIn
from bot.coordinator.conversation_service import assistant_row
from bot.coordinator.rendering import (
    coordinator_language,
    flash,
    not_found,
    redirect,
    render,
    texts,
)
from bot.db import get_sessionmaker
from bot.db.models import MessageSender, SlotKind, utcnow
from bot.language import content_language


def _repository() -> BookingRepository:
    return BookingRepository(get_sessionmaker())


def _this_week() -> date:
    return week_start(datetime.now(HELSINKI).date())


def _week_of(moment: datetime) -> str:
    """The calendar's `week` parameter that shows `moment` (UTC)."""
    return moment.astimezone(HELSINKI).date().isoformat()


# The calendar shows the coordinator's own slots, or everyone's of their municipality.
SHOW_MINE = "mine"
SHOW_EVERYONE = "everyone"


async def _calendar(
    who: SignedIn,
    monday: date,
    notice: str | None,
    status_code: int = 200,
    show: str = SHOW_MINE,
) -> Response:
    everyone = show == SHOW_EVERYONE
    slots = await asyncio.to_thread(
        partial(
            _repository().week_slots,
            None if everyone else who.id,
            monday,
            municipality=who.municipality,
        )
    )
    return render(
        "calendar.html",
        who,
        status_code=status_code,
        slots=slots,
        monday=monday,
        previous=monday - timedelta(days=7),
        following=monday + timedelta(days=7),
        flash=notice,
        show=SHOW_EVERYONE if everyone else SHOW_MINE,
        shows=(SHOW_MINE, SHOW_EVERYONE),
    )


async def calendar_page(request: Request, who: SignedIn) -> Response:
    try:
        monday = week_start(date.fromisoformat(request.query_params.get("week", "")))
    except ValueError:
        monday = _this_week()
    return await _calendar(
        who, monday, flash(request, who), show=request.query_params.get("show", SHOW_MINE)
    )


def _slot_input(who: SignedIn, form: dict[str, str]) -> SlotInput:
    """The form's slot; raises ValueError with the reason."""
    return SlotInput(
        coordinator=who.username,
        day=date.fromisoformat(form.get("date", "")),
        start=time.fromisoformat(form.get("start", "")),
        minutes=int(form.get("minutes", "0")),
        kind=SlotKind(form.get("kind", "")),
        location=form.get("location", "").strip() or None,
    )


async def _slot_not_added(who: SignedIn, reason: ValueError) -> Response:
    notice = f"{texts(who.language)['slot_error']} {reason}"
    return await _calendar(who, _this_week(), notice, status_code=422)


async def add_slot(request: Request, who: SignedIn) -> Response:
    form = {key: str(value) for key, value in (await request.form()).items()}
    try:
        item = _slot_input(who, form)
    except ValueError as error:
        return await _slot_not_added(who, error)
    try:
        await asyncio.to_thread(_repository().add_slot, item, utcnow())
    except SlotInputError as error:
        return await _slot_not_added(who, error)
    return redirect(f"/coordinator/calendar?week={form.get('date', '')}")


def _slot_id(request: Request) -> int:
    value = str(request.path_params["slot_id"])
    return int(value) if value.isdigit() else 0


async def _change_slot(request: Request, who: SignedIn, *, remove: bool) -> Response:
    change = await asyncio.to_thread(
        _repository().change_slot, _slot_id(request), who, remove=remove
    )
    if change is None:
        return not_found(who)
    return redirect(
        f"/coordinator/calendar?week={_week_of(change.starts_at)}"
        + ("" if change.done else "&flash=slot_has_booking")
    )


async def block_slot(request: Request, who: SignedIn) -> Response:
    return await _change_slot(request, who, remove=False)


async def remove_slot(request: Request, who: SignedIn) -> Response:
    return await _change_slot(request, who, remove=True)


@dataclass(frozen=True)
class _Cancellation:
    """A booking about to be cancelled, and what its person is to be told in which
    conversation (None when the booking was made outside a conversation)."""

    conversation_id: str | None
    language: str
    municipality: str | None
    time: str

    @classmethod
    def of(cls, found: CalendarBooking) -> _Cancellation:
        booking, conversation = found.booking, found.conversation
        # The person's language now; the booking keeps the language it was made in, which
        # for a translated language is English (the assistant's working language).
        language = conversation.language if conversation else booking.language
        return cls(
            conversation_id=conversation.id if conversation else None,
            language=language,
            municipality=conversation.municipality if conversation else None,
            time=format_time(booking.slot.starts_at, content_language(language) or language),
        )


async def _message_for_person(cancellation: _Cancellation, who: SignedIn, note_text: str) -> Reply:
    """The cancellation in the person's language (for a translated language the English
    text machine translated). The coordinator's own words, in their language, are
    translated like a reply (marked, the original beneath), then kept as they are inside
    the surrounding text."""
    note = note_text
    if note_text:
        note = (
            await for_person_from_coordinator(
                note_text,
                coordinator_language(who),
                cancellation.language,
                municipality=cancellation.municipality,
                coordinator_name=who.first_name,
            )
        ).text
    return await translation.from_assistant(
        "utter_booking_cancelled_by_coordinator",
        cancellation.language,
        cancellation.municipality,
        {"time": cancellation.time, "message": note},
        names=[who.first_name, note],
    )


async def _cancel(booking_id: int, who: SignedIn, note_text: str) -> str | None:
    """Cancels and tells the person in their language, the message composed before the
    transaction; returns the week to show, None when not found."""
    repository = _repository()
    found = await asyncio.to_thread(repository.booking_in_calendar, booking_id, who)
    if found is None:
        return None
    cancellation = _Cancellation.of(found)
    notice = None
    if cancellation.conversation_id is not None:
        message = await _message_for_person(cancellation, who, note_text)
        notice = assistant_row(
            cancellation.conversation_id,
            cancellation.language,
            message,
            MessageSender.COORDINATOR,
            sender_name=who.first_name,
        )
    cancelled = await asyncio.to_thread(
        repository.cancel_in_calendar,
        booking_id,
        who,
        now=utcnow(),
        actor=f"coordinator:{who.username}",
        notice=notice,
    )
    return None if cancelled is None else _week_of(cancelled.slot.starts_at)


async def cancel_booking(request: Request, who: SignedIn) -> Response:
    value = str(request.path_params["booking_id"])
    message = str((await request.form()).get("message") or "").strip()[:500]
    week = await _cancel(int(value), who, message) if value.isdigit() else None
    if week is None:
        return not_found(who)
    return redirect(f"/coordinator/calendar?week={week}")
