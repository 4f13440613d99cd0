"""The person's coming meetings outside the booking form: listing them, cancelling one (in
two steps), and an answer to a booking question when no booking is in progress."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_answers import choice_of, id_in, payload
from actions.common import context_of, send
from bot.bookings import messages
from bot.bookings.repository import BookingRepository
from bot.bookings.service import BookingNotFoundError, BookingView
from bot.bookings.times import format_time
from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.nlg.render import render_response


class ActionListAppointments(Action):
    def name(self) -> str:
        return "action_list_appointments"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        repository = BookingRepository(get_sessionmaker())
        owner = await asyncio.to_thread(repository.owner, tracker.sender_id)
        bookings = await asyncio.to_thread(repository.coming_bookings, owner, utcnow())
        if not bookings:
            dispatcher.utter_message(response="utter_my_appointments_none")
            return []
        lines = "\n".join(messages.booking_line(b, language, municipality) for b in bookings)
        text = render_response(
            "utter_my_appointments_list", language, municipality, {"meetings": lines}
        ).text
        dispatcher.utter_message(
            text=text, buttons=_manage_buttons(bookings, language, municipality)
        )
        return []


def _manage_buttons(
    bookings: list[BookingView], language: str, municipality: str
) -> list[dict[str, str]]:
    buttons = []
    for booking in bookings:
        when = format_time(booking.slot.starts_at, language, short=True)
        buttons += [
            {
                "title": messages.fragment(
                    "booking_button_move", language, municipality, time=when
                ),
                "payload": payload("book_appointment", f"move:{booking.id}"),
            },
            {
                "title": messages.fragment(
                    "booking_button_cancel", language, municipality, time=when
                ),
                "payload": payload("cancel_appointment", f"{booking.id}"),
            },
        ]
    return buttons


class ActionCancelAppointment(Action):
    """Cancel in two steps: which meeting, then a confirmation; typed requests get the
    list of the person's meetings to choose from."""

    def name(self) -> str:
        return "action_cancel_appointment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        repository = BookingRepository(get_sessionmaker())
        owner = await asyncio.to_thread(repository.owner, tracker.sender_id)
        choice = choice_of(tracker)
        if choice == "keep":
            dispatcher.utter_message(response="utter_cancel_kept")
            return []
        confirmed = id_in(choice, "confirm:")
        if confirmed is not None:
            try:
                booking = await asyncio.to_thread(
                    repository.cancel,
                    booking_id=confirmed,
                    owner=owner,
                    now=utcnow(),
                    actor=f"conversation:{tracker.sender_id}",
                )
            except BookingNotFoundError:
                dispatcher.utter_message(response="utter_booking_not_found")
                return []
            send(dispatcher, messages.cancelled_message(booking, language, municipality))
            return []

        chosen = id_in(choice)
        bookings = await asyncio.to_thread(repository.coming_bookings, owner, utcnow())
        if chosen is None and len(bookings) == 1:
            chosen = bookings[0].id
        if chosen is None:
            if not bookings:
                dispatcher.utter_message(response="utter_my_appointments_none")
                return []
            dispatcher.utter_message(
                text=render_response("utter_cancel_which", language, municipality).text,
                buttons=_manage_buttons(bookings, language, municipality),
            )
            return []
        to_cancel = next((b for b in bookings if b.id == chosen), None)
        if to_cancel is None:
            dispatcher.utter_message(response="utter_booking_not_found")
            return []
        question = messages.cancel_question(to_cancel, language, municipality)
        dispatcher.utter_message(
            text=question.text,
            buttons=[
                {
                    "title": messages.fragment(
                        "booking_button_confirm_cancel", language, municipality
                    ),
                    "payload": payload("cancel_appointment", f"confirm:{to_cancel.id}"),
                },
                {
                    "title": messages.fragment("booking_button_keep", language, municipality),
                    "payload": payload("cancel_appointment", "keep"),
                },
            ],
        )
        return []


class ActionAnswerStrayBookingInput(Action):
    """An answer to a booking question when no booking is in progress: a second press of
    "confirm" is told the booking stands; anything else is offered booking anew."""

    def name(self) -> str:
        return "action_answer_stray_booking_input"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        if choice_of(tracker) == "confirm":
            repository = BookingRepository(get_sessionmaker())
            owner = await asyncio.to_thread(repository.owner, tracker.sender_id)
            latest = await asyncio.to_thread(repository.latest_booking_of, owner, utcnow())
            if latest is not None:
                send(dispatcher, messages.already_confirmed_message(latest, language, municipality))
                return []
        dispatcher.utter_message(response="utter_booking_nothing_in_progress")
        return []
