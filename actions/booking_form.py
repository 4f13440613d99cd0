"""Booking, moving and cancelling a meeting with the coordinator: the booking form,
starting it, validating each answer, making the booking, and the reply when it is done.

The form asks what the meeting is about, its language, whether an interpreter is needed,
contact details (only when the conversation is not linked to a case), then offers free
times (booking_questions.py) and asks for confirmation. Every answer comes as text
(booking_answers.py). The booking itself is made when the person confirms, inside
`validate_booking_confirmed`, so a lost race puts them straight back to choosing a time.
Listing and cancelling meetings outside the form: meetings.py.

Bookings and slots are always looked up through the conversation (the sender id the
gateway gave Rasa) and its linked case: a booking id in a payload only chooses among the
person's own bookings.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.booking_answers import (
    asks_for_a_person,
    choice_of,
    contact_answer,
    contact_name_answer,
    details_of,
    id_in,
    intent_of,
    interpreter_language_answer,
    language_in,
    owner_of,
    purpose_answer,
    typed_text,
    wants_to_stop,
)
from actions.common import channel_of, context_of, send
from actions.handoff import hand_over
from bot.bookings import messages
from bot.bookings.repository import BookingRepository
from bot.bookings.service import (
    BookingLimitError,
    BookingNotFoundError,
    BookingView,
    Owner,
    SlotTakenError,
)
from bot.bookings.time_request import ImpossibleDate, PastDate, TimeRequest, parse_time_request
from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.handoff.state_machine import HandoffReason
from bot.runtime import get_settings

ASKED_SLOTS = (
    "booking_purpose",
    "booking_meeting_language",
    "booking_interpreter",
    "booking_interpreter_language",
    "booking_contact_name",
    "booking_contact",
    "booking_slot",
    "booking_confirmed",
)
STATE_SLOTS = (
    "booking_moving",
    "booking_case_id",
    "booking_page",
    "booking_time_request",
    "booking_stopped",
    "booking_reference",
)
MEETING_LANGUAGES = ("sv", "fi", "en")


def reset_events() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in (*ASKED_SLOTS, *STATE_SLOTS)]


class ActionStartBooking(Action):
    """Starts the form only when there is something to book; a move starts it with the
    old booking's details."""

    def name(self) -> str:
        return "action_start_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        repository = BookingRepository(get_sessionmaker())
        events = reset_events()
        owner = await asyncio.to_thread(repository.owner, tracker.sender_id)
        events.append(SlotSet("booking_case_id", owner.case_id))

        moving = id_in(choice_of(tracker), "move:")
        if moving is not None:
            if await asyncio.to_thread(repository.find_booking, moving, owner) is None:
                dispatcher.utter_message(response="utter_booking_not_found")
                return [*events, SlotSet("booking_available", False)]
            events.append(SlotSet("booking_moving", str(moving)))

        elif owner.case_id is None and await asyncio.to_thread(
            partial(
                repository.unlinked_limit_reached,
                municipality=municipality,
                conversation_id=tracker.sender_id,
                contact=None,
                limit=get_settings().booking_limit_unlinked,
                now=utcnow(),
            )
        ):
            # Said before any question is asked, not after the person answered them all.
            dispatcher.utter_message(response="utter_booking_limit")
            return [*events, SlotSet("booking_available", False)]

        free = await asyncio.to_thread(
            repository.free_slots, municipality, None, now=utcnow(), offset=0, limit=1
        )
        if not free:
            dispatcher.utter_message(response="utter_booking_no_slots")
            return [*events, SlotSet("booking_available", False)]

        # "Can I come on Tuesday afternoon?" already says which times to offer.
        request = parse_time_request(typed_text(tracker), language, utcnow())
        if isinstance(request, TimeRequest):
            events.append(SlotSet("booking_time_request", request.as_slot_value()))
        return [*events, SlotSet("booking_available", True)]


class ValidateBookingForm(FormValidationAction):
    def name(self) -> str:
        return "validate_booking_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if tracker.get_slot("booking_stopped"):
            return []
        if tracker.get_slot("booking_moving"):
            return ["booking_slot", "booking_confirmed"]
        slots = ["booking_purpose", "booking_meeting_language", "booking_interpreter"]
        if tracker.get_slot("booking_interpreter") == "yes":
            slots.append("booking_interpreter_language")
        if tracker.get_slot("booking_case_id") is None:
            slots += ["booking_contact_name", "booking_contact"]
        return [*slots, "booking_slot", "booking_confirmed"]

    def _stop(self) -> dict[str, Any]:
        return {"booking_stopped": True}

    def _not_understood(self, dispatcher: CollectingDispatcher, slot: str) -> dict[str, Any]:
        dispatcher.utter_message(response="utter_booking_choice_not_understood")
        return {slot: None}

    async def validate_booking_purpose(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        purpose = purpose_answer(tracker)
        if purpose is not None:
            return {"booking_purpose": purpose}
        return self._not_understood(dispatcher, "booking_purpose")

    async def validate_booking_meeting_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        language = choice_of(tracker) or language_in(typed_text(tracker))
        if language in MEETING_LANGUAGES:
            return {"booking_meeting_language": language}
        return self._not_understood(dispatcher, "booking_meeting_language")

    async def validate_booking_interpreter(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        choice = choice_of(tracker)
        if choice in ("yes", "no"):
            return {"booking_interpreter": choice}
        named = language_in(typed_text(tracker))
        if named is not None and named not in MEETING_LANGUAGES:
            return {"booking_interpreter": "yes", "booking_interpreter_language": named}
        intent = intent_of(tracker)
        if intent in ("affirm", "deny"):
            return {"booking_interpreter": "yes" if intent == "affirm" else "no"}
        return self._not_understood(dispatcher, "booking_interpreter")

    async def validate_booking_interpreter_language(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        language = interpreter_language_answer(tracker)
        if language is not None:
            return {"booking_interpreter_language": language}
        return self._not_understood(dispatcher, "booking_interpreter_language")

    async def validate_booking_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        name = contact_name_answer(tracker)
        if name is not None:
            return {"booking_contact_name": name}
        dispatcher.utter_message(response="utter_booking_name_invalid")
        return {"booking_contact_name": None}

    async def validate_booking_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        contact = contact_answer(tracker)
        if contact is not None:
            return {"booking_contact": contact}
        dispatcher.utter_message(response="utter_booking_contact_invalid")
        return {"booking_contact": None}

    async def validate_booking_slot(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        language, municipality = context_of(tracker)
        choice = choice_of(tracker)
        if choice == "later":
            return {
                "booking_slot": None,
                "booking_page": int(tracker.get_slot("booking_page") or 0) + 1,
            }
        slot_id = id_in(choice, "slot:")
        if slot_id is not None:
            repository = BookingRepository(get_sessionmaker())
            # Only a time the server showed this conversation (stored when shown, not in a
            # slot a forged tracker could fill).
            if not await asyncio.to_thread(repository.was_offered, tracker.sender_id, slot_id):
                return self._not_understood(dispatcher, "booking_slot")
            free = await asyncio.to_thread(repository.slot_is_free, slot_id, municipality, utcnow())
            if not free:
                dispatcher.utter_message(response="utter_booking_slot_taken")
                return {"booking_slot": None, "booking_page": 0, "booking_time_request": None}
            return {"booking_slot": str(slot_id)}
        parsed = parse_time_request(typed_text(tracker), language, utcnow())
        if isinstance(parsed, PastDate):
            dispatcher.utter_message(response="utter_booking_date_past")
            return {"booking_slot": None, "booking_page": 0, "booking_time_request": None}
        if isinstance(parsed, ImpossibleDate):
            dispatcher.utter_message(response="utter_booking_date_impossible", date=parsed.text)
            return {"booking_slot": None, "booking_page": 0, "booking_time_request": None}
        if isinstance(parsed, TimeRequest):
            return {
                "booking_slot": None,
                "booking_page": 0,
                "booking_time_request": parsed.as_slot_value(),
            }
        dispatcher.utter_message(response="utter_booking_time_not_understood")
        return {"booking_slot": None}

    async def validate_booking_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        choice = choice_of(tracker)
        intent = intent_of(tracker)
        if wants_to_stop(tracker) or (choice is None and intent == "deny"):
            return self._stop()
        if choice == "change":
            return {"booking_slot": None, "booking_confirmed": None, "booking_page": 0}
        if choice != "confirm" and not (choice is None and intent == "affirm"):
            return self._not_understood(dispatcher, "booking_confirmed")
        repository = BookingRepository(get_sessionmaker())
        owner = await owner_of(repository, tracker)
        try:
            booking = await asyncio.to_thread(_make_booking, repository, tracker, owner)
        except SlotTakenError:
            dispatcher.utter_message(response="utter_booking_slot_taken")
            return {
                "booking_confirmed": None,
                "booking_slot": None,
                "booking_page": 0,
                "booking_time_request": None,
            }
        except BookingNotFoundError:
            dispatcher.utter_message(response="utter_booking_not_found")
            return self._stop()
        except BookingLimitError:
            dispatcher.utter_message(response="utter_booking_limit")
            return self._stop()
        return {"booking_confirmed": True, "booking_reference": str(booking.id)}


def _make_booking(repository: BookingRepository, tracker: Tracker, owner: Owner) -> BookingView:
    language, municipality = context_of(tracker)
    slot_id = int(tracker.get_slot("booking_slot"))
    # Checked again here: the slot comes from the tracker Rasa posts.
    if not repository.was_offered(tracker.sender_id, slot_id):
        raise SlotTakenError(slot_id)
    actor = f"conversation:{tracker.sender_id}"
    moving = id_in(tracker.get_slot("booking_moving"))
    if moving is not None:
        return repository.move(
            booking_id=moving,
            new_slot_id=slot_id,
            municipality=municipality,
            owner=owner,
            now=utcnow(),
            actor=actor,
        )
    return repository.book(
        slot_id=slot_id,
        municipality=municipality,
        conversation_id=tracker.sender_id,
        case_id=owner.case_id,
        channel=channel_of(tracker),
        language=language,
        details=details_of(tracker),
        now=utcnow(),
        actor=actor,
        unlinked_limit=get_settings().booking_limit_unlinked,
    )


class ActionSubmitBooking(Action):
    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        reference = id_in(tracker.get_slot("booking_reference"))
        booking = None
        if reference is not None:
            repository = BookingRepository(get_sessionmaker())
            owner = await owner_of(repository, tracker)
            booking = await asyncio.to_thread(repository.find_booking, reference, owner)
        if booking is None and asks_for_a_person(tracker):
            # Nothing was booked, and the person is not left with a form they wanted out of.
            dispatcher.utter_message(response="utter_booking_stopped")
            return [*reset_events(), *hand_over(dispatcher, tracker, HandoffReason.REQUEST_HUMAN)]
        if booking is None:
            dispatcher.utter_message(response="utter_booking_stopped")
        else:
            moved = tracker.get_slot("booking_moving") is not None
            send(dispatcher, messages.booked_message(booking, language, municipality, moved=moved))
        return reset_events()
