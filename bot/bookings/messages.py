"""The texts of a booking in the person's language: times, places, purposes, summaries.
Shared by the booking actions and the reminder loop."""

from __future__ import annotations

from typing import Any

from babel import Locale, UnknownLocaleError

from bot.bookings.service import BookingDetails, BookingView, SlotView
from bot.bookings.times import format_time
from bot.db.models import BookingPurpose, SlotKind
from bot.nlg.content import RenderedMessage
from bot.nlg.render import render_response


def fragment(name: str, language: str, municipality: str | None, **arguments: Any) -> str:
    return render_response(name, language, municipality, arguments).text.strip()


def language_name(code: str, in_language: str) -> str:
    """A language's name in the person's language ("ruotsi", "шведська"); a language the
    person typed in their own words is kept as they wrote it."""
    try:
        name = Locale.parse(in_language).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or code


def place_text(slot: SlotView, language: str, municipality: str | None) -> str:
    if slot.kind == SlotKind.PHONE:
        return fragment("booking_place_phone", language, municipality)
    if slot.kind == SlotKind.VIDEO:
        return fragment("booking_place_video", language, municipality)
    return fragment("booking_place_office", language, municipality, location=slot.location or "")


def purpose_text(purpose: BookingPurpose, language: str, municipality: str | None) -> str:
    return fragment(f"booking_purpose_{purpose.value}", language, municipality)


def _slot_arguments(slot: SlotView, language: str, municipality: str | None) -> dict[str, str]:
    return {
        "time": format_time(slot.starts_at, language),
        "place": place_text(slot, language, municipality),
    }


def summary_message(
    details: BookingDetails, slot: SlotView, language: str, municipality: str | None
) -> RenderedMessage:
    if details.interpreter_language:
        interpreter = fragment(
            "booking_interpreter_needed",
            language,
            municipality,
            interpreter_language=language_name(details.interpreter_language, language),
        )
    else:
        interpreter = fragment("booking_interpreter_none", language, municipality)
    # The name and the phone or e-mail are confirmed too: a typo there means nobody can
    # reach the person.
    contact_line = ""
    if details.contact_name or details.contact:
        contact_line = fragment(
            "booking_contact_line",
            language,
            municipality,
            contact_name=details.contact_name or "",
            contact=details.contact or "",
        )
    return render_response(
        "utter_ask_booking_confirmed",
        language,
        municipality,
        {
            **_slot_arguments(slot, language, municipality),
            "purpose": purpose_text(details.purpose, language, municipality),
            "meeting_language": language_name(details.meeting_language, language),
            "interpreter": interpreter,
            "contact_line": contact_line,
        },
    )


def booked_message(
    booking: BookingView, language: str, municipality: str | None, *, moved: bool
) -> RenderedMessage:
    name = "utter_booking_moved" if moved else "utter_booking_done"
    return _with_reference(name, booking, language, municipality)


def already_confirmed_message(
    booking: BookingView, language: str, municipality: str | None
) -> RenderedMessage:
    return _with_reference("utter_booking_already_confirmed", booking, language, municipality)


def _with_reference(
    name: str, booking: BookingView, language: str, municipality: str | None
) -> RenderedMessage:
    arguments = {
        **_slot_arguments(booking.slot, language, municipality),
        "reference": str(booking.id),
    }
    return render_response(name, language, municipality, arguments)


def reminder_message(booking: BookingView, municipality: str | None) -> RenderedMessage:
    return render_response(
        "utter_booking_reminder",
        booking.language,
        municipality,
        _slot_arguments(booking.slot, booking.language, municipality),
    )


def booking_line(booking: BookingView, language: str, municipality: str | None) -> str:
    return fragment(
        "booking_line",
        language,
        municipality,
        **_slot_arguments(booking.slot, language, municipality),
        purpose=purpose_text(booking.details.purpose, language, municipality),
    )


def cancel_question(
    booking: BookingView, language: str, municipality: str | None
) -> RenderedMessage:
    return render_response(
        "utter_cancel_confirm",
        language,
        municipality,
        _slot_arguments(booking.slot, language, municipality),
    )


def cancelled_message(
    booking: BookingView, language: str, municipality: str | None
) -> RenderedMessage:
    return render_response(
        "utter_cancel_done",
        language,
        municipality,
        {"time": format_time(booking.slot.starts_at, language)},
    )
