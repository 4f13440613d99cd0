"""Asking the booking form's questions: each in the person's language from the content,
the free times as buttons (a page at a time, narrowed by what the person wrote), and the
summary to confirm."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_answers import details_of, id_in, owner_of, payload
from actions.common import context_of, send
from bot.bookings import messages
from bot.bookings.repository import BookingRepository
from bot.bookings.service import SlotView
from bot.bookings.time_request import TimeRequest
from bot.bookings.times import format_time
from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.nlg.render import render_response

OFFERED_PER_PAGE = 5


class _ActionAskFromContent(Action, ABC):
    """Asks a booking question with its `utter_ask_<slot>` content in the person's
    language (an action, so the domain needs no English copy of every question)."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter" + self.name().removeprefix("action"))
        return []


class ActionAskBookingPurpose(_ActionAskFromContent):
    def name(self) -> str:
        return "action_ask_booking_purpose"


class ActionAskBookingMeetingLanguage(_ActionAskFromContent):
    def name(self) -> str:
        return "action_ask_booking_meeting_language"


class ActionAskBookingInterpreter(_ActionAskFromContent):
    def name(self) -> str:
        return "action_ask_booking_interpreter"


class ActionAskBookingInterpreterLanguage(_ActionAskFromContent):
    def name(self) -> str:
        return "action_ask_booking_interpreter_language"


class ActionAskBookingContactName(_ActionAskFromContent):
    def name(self) -> str:
        return "action_ask_booking_contact_name"


class ActionAskBookingContact(_ActionAskFromContent):
    def name(self) -> str:
        return "action_ask_booking_contact"


class ActionAskBookingSlot(Action):
    """Offers the next free times as buttons, narrowed by what the person wrote."""

    def name(self) -> str:
        return "action_ask_booking_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        page = int(tracker.get_slot("booking_page") or 0)
        request = TimeRequest.from_slot_value(tracker.get_slot("booking_time_request"))
        intro = "utter_booking_offer_matching_slots" if request else "utter_booking_offer_slots"
        events: list[dict[str, Any]] = []
        repository = BookingRepository(get_sessionmaker())

        slots = await _page_of_free_slots(repository, municipality, request, page)
        if not slots and request is not None:
            intro, request, page = "utter_booking_no_matching_slots", None, 0
            events += [SlotSet("booking_time_request", None), SlotSet("booking_page", 0)]
            slots = await _page_of_free_slots(repository, municipality, None, 0)
        if not slots and page > 0:
            intro, page = "utter_booking_no_later_slots", 0
            events.append(SlotSet("booking_page", 0))
            slots = await _page_of_free_slots(repository, municipality, request, 0)
        if not slots:
            # Taken while the person answered the questions: say so, with the way onward.
            dispatcher.utter_message(response="utter_booking_no_slots")
            return [*events, SlotSet("booking_stopped", True)]

        shown = slots[:OFFERED_PER_PAGE]
        buttons = [
            {
                "title": f"{format_time(slot.starts_at, language, short=True)} · "
                f"{_kind_title(slot, language, municipality)}",
                "payload": payload("inform", f"slot:{slot.id}"),
            }
            for slot in shown
        ]
        if len(slots) > OFFERED_PER_PAGE:
            buttons.append(_button("booking_button_later", "later", language, municipality))
        buttons.append(_button("booking_button_stop", "stop", language, municipality))
        dispatcher.utter_message(
            text=render_response(intro, language, municipality).text, buttons=buttons
        )
        offered = [str(slot.id) for slot in shown]
        previously = [str(x) for x in tracker.get_slot("booking_offered") or []]
        # Earlier pages stay valid: a person may scroll back and press one.
        return [*events, SlotSet("booking_offered", sorted({*previously, *offered}, key=int))]


async def _page_of_free_slots(
    repository: BookingRepository, municipality: str, request: TimeRequest | None, page: int
) -> list[SlotView]:
    """A page of free times and one more, which tells whether there is a later page."""
    return await asyncio.to_thread(
        repository.free_slots,
        municipality,
        request,
        now=utcnow(),
        offset=page * OFFERED_PER_PAGE,
        limit=OFFERED_PER_PAGE + 1,
    )


def _kind_title(slot: SlotView, language: str, municipality: str) -> str:
    place = messages.place_text(slot, language, municipality)
    # The button shows only the first words ("at Main street 1" → the whole address is in
    # the summary); Telegram cuts long button titles.
    return place if len(place) <= 28 else place[:27].rstrip() + "…"


def _button(name: str, choice: str, language: str, municipality: str | None) -> dict[str, str]:
    return {
        "title": messages.fragment(name, language, municipality),
        "payload": payload("inform", f"{choice}"),
    }


class ActionAskBookingConfirmed(Action):
    def name(self) -> str:
        return "action_ask_booking_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        repository = BookingRepository(get_sessionmaker())
        slot = await asyncio.to_thread(repository.get_slot, int(tracker.get_slot("booking_slot")))
        details = details_of(tracker)
        moving = id_in(tracker.get_slot("booking_moving"))
        if moving is not None:
            old = await asyncio.to_thread(repository.find_booking, moving, owner_of(tracker))
            if old is not None:
                details = old.details
        if slot is None:
            dispatcher.utter_message(response="utter_booking_slot_taken")
            return [SlotSet("booking_slot", None)]
        send(dispatcher, messages.summary_message(details, slot, language, municipality))
        return []
