"""Booking, moving and cancelling a meeting with the coordinator.

The booking form asks what the meeting is about, its language, whether an interpreter is
needed, contact details (only when the conversation is not linked to a case), then offers
free times and asks for confirmation. Every answer comes as text: a pressed button brings
its choice as the `booking_choice` entity of `/inform{...}`, and typed text is read here
in the person's language. The booking itself is made when the person confirms, inside
`validate_booking_confirmed`, so a lost race puts them straight back to choosing a time.

Bookings and slots are always looked up through the conversation (the sender id the
gateway gave Rasa) and its linked case: a booking id in a payload only chooses among the
person's own bookings.
"""

from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cases import send
from bot.bookings import messages
from bot.bookings.service import (
    BookingDetails,
    BookingNotFoundError,
    BookingView,
    Owner,
    SlotTakenError,
    SlotView,
    book,
    cancel,
    coming_bookings,
    find_booking,
    free_slots,
    get_slot,
    move,
    slot_is_free,
)
from bot.bookings.time_request import ImpossibleDate, PastDate, TimeRequest, parse_time_request
from bot.bookings.times import format_time
from bot.cases.register import linked_case_id
from bot.db import get_sessionmaker
from bot.db.models import BookingPurpose, utcnow
from bot.nlg.render import message_context, render_response
from bot.settings import get_settings

FORM = "booking_form"
CHOICE_ENTITY = "booking_choice"
OFFERED_PER_PAGE = 5
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
    "booking_offered",
    "booking_page",
    "booking_time_request",
    "booking_stopped",
    "booking_reference",
)
MEETING_LANGUAGES = ("sv", "fi", "en")

# Typed answers, matched on word beginnings in the four languages.
_STOP_WORDS = ("stop", "avbryt", "sluta", "peruuta", "lopeta", "keskeytä", "стоп", "скасу", "зупин")
_PURPOSE_WORDS = {
    BookingPurpose.ASSESSMENT: ("assess", "bedöm", "kartläg", "arvio", "arvioi", "оцін", "оцен"),
    BookingPurpose.PLAN: ("plan", "suunnitel", "план"),
    BookingPurpose.GUIDANCE: (
        "guid",
        "advice",
        "handled",
        "rådgiv",
        "ohjau",
        "neuvo",
        "консульт",
        "порад",
        "супровід",
    ),
}
_LANGUAGE_WORDS = {
    "sv": ("svensk", "swedish", "ruotsi", "швед", "ruots"),
    "fi": ("finsk", "finnish", "suomi", "suome", "фін", "фин"),
    "en": ("engelsk", "english", "englan", "англ"),
    "uk": ("ukrain", "україн", "украин"),
    "ru": ("rysk", "russian", "venäj", "росій", "русск", "російськ"),
    "ar": ("arab", "араб"),
    "fa_AF": ("dari", "дарі", "дари"),
    "fa": ("pers", "farsi", "перс", "фарс"),
    "so": ("somal", "сомал"),
    "ku": ("kurd", "курд"),
    "ti": ("tigrin", "тигрин"),
    "tr": ("turk", "türk", "turkki", "турец", "турецьк"),
}
_NAME_PREFIXES = re.compile(
    r"^(my name is|i am|i'm|jag heter|mitt namn är|nimeni on|olen|мене звати|моє ім'я|"
    r"меня зовут|я)\s+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d\s().-]{5,}\d")


# --- Reading the person's answer -----------------------------------------------------------


def payload(intent: str, choice: str) -> str:
    """A button's payload: the intent, with the choice as the booking_choice entity."""
    return f'/{intent}{{"{CHOICE_ENTITY}": "{choice}"}}'


def choice_of(tracker: Tracker) -> str | None:
    """The choice a pressed button carried, if the latest message was a button."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == CHOICE_ENTITY and entity.get("value") is not None:
            return str(entity["value"])
    return None


def intent_of(tracker: Tracker) -> str | None:
    name = ((tracker.latest_message or {}).get("intent") or {}).get("name")
    return name if isinstance(name, str) else None


def typed_text(tracker: Tracker) -> str:
    text = str((tracker.latest_message or {}).get("text") or "")
    return "" if text.startswith("/") else text.strip()


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


def _starts_any(text: str, stems: tuple[str, ...]) -> bool:
    return any(word.startswith(stem) for word in _words(text) for stem in stems)


def wants_to_stop(tracker: Tracker) -> bool:
    return choice_of(tracker) == "stop" or _starts_any(typed_text(tracker), _STOP_WORDS)


def language_in(text: str) -> str | None:
    for code, stems in _LANGUAGE_WORDS.items():
        if _starts_any(text, stems):
            return code
    return None


def context_of(tracker: Tracker) -> tuple[str, str]:
    settings = get_settings()
    language, municipality = message_context(tracker.latest_message)
    return (
        language or settings.lotsen_default_language,
        municipality or settings.lotsen_default_municipality,
    )


def channel_of(tracker: Tracker) -> str:
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel") if isinstance(metadata, dict) else None
    return channel if isinstance(channel, str) else "api"


def owner_of(tracker: Tracker) -> Owner:
    case_id = tracker.get_slot("booking_case_id")
    return Owner(tracker.sender_id, int(case_id) if case_id is not None else None)


def reset_events() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in (*ASKED_SLOTS, *STATE_SLOTS)]


# --- Database work, run in a worker thread ----------------------------------------------


def _free_slots(
    municipality: str, request: TimeRequest | None, page: int, limit: int
) -> list[SlotView]:
    with get_sessionmaker()() as session:
        return free_slots(
            session,
            municipality,
            now=utcnow(),
            request=request,
            offset=page * OFFERED_PER_PAGE,
            limit=limit,
        )


def _slot_is_free(slot_id: int, municipality: str) -> bool:
    with get_sessionmaker()() as session:
        return slot_is_free(session, slot_id, municipality, utcnow())


def _get_slot(slot_id: int) -> SlotView | None:
    with get_sessionmaker()() as session:
        return get_slot(session, slot_id)


def _linked_case_id(conversation_id: str) -> int | None:
    with get_sessionmaker()() as session:
        return linked_case_id(session, conversation_id)


def _find_booking(booking_id: int, owner: Owner) -> BookingView | None:
    with get_sessionmaker()() as session:
        return find_booking(session, booking_id, owner)


def _coming_bookings(owner: Owner) -> list[BookingView]:
    with get_sessionmaker()() as session:
        return coming_bookings(session, owner, utcnow())


def _latest_booking_of(owner: Owner) -> BookingView | None:
    bookings = _coming_bookings(owner)
    return max(bookings, key=lambda booking: booking.id) if bookings else None


def _booking_id(value: str | None, prefix: str = "") -> int | None:
    if value is None or not value.startswith(prefix):
        return None
    digits = value[len(prefix) :]
    return int(digits) if digits.isdigit() else None


# --- Starting, asking, validating, finishing ---------------------------------------------


class ActionStartBooking(Action):
    """Starts the form only when there is something to book; a move starts it with the
    old booking's details."""

    def name(self) -> str:
        return "action_start_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        events = reset_events()
        case_id = await asyncio.to_thread(_linked_case_id, tracker.sender_id)
        events.append(SlotSet("booking_case_id", case_id))
        owner = Owner(tracker.sender_id, case_id)

        moving = _booking_id(choice_of(tracker), "move:")
        if moving is not None:
            if await asyncio.to_thread(_find_booking, moving, owner) is None:
                dispatcher.utter_message(response="utter_booking_not_found")
                return [*events, SlotSet("booking_available", False)]
            events.append(SlotSet("booking_moving", str(moving)))

        if not await asyncio.to_thread(_free_slots, municipality, None, 0, 1):
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
        choice = choice_of(tracker)
        if choice in set(BookingPurpose):
            return {"booking_purpose": choice}
        text = typed_text(tracker)
        words = _words(text)
        for purpose, stems in _PURPOSE_WORDS.items():
            # Inside words too: "kotoutumissuunnitelma", "integrationsplanen".
            if any(stem in word for word in words for stem in stems):
                return {"booking_purpose": purpose.value}
        if words:
            # The person described their matter in their own words.
            return {"booking_purpose": BookingPurpose.OTHER.value}
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
        choice = choice_of(tracker)
        if choice is not None and choice in _LANGUAGE_WORDS:
            return {"booking_interpreter_language": choice}
        text = typed_text(tracker)
        named = language_in(text)
        if named is not None:
            return {"booking_interpreter_language": named}
        words = _words(text)
        if words and len(text) <= 40:
            # A language not in the list: kept as the person wrote it.
            return {"booking_interpreter_language": " ".join(words)}
        return self._not_understood(dispatcher, "booking_interpreter_language")

    async def validate_booking_contact_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        name = _NAME_PREFIXES.sub("", typed_text(tracker)).strip(" .,!")
        if 2 <= len(name) <= 100 and _words(name) and not any(c.isdigit() for c in name):
            return {"booking_contact_name": name}
        dispatcher.utter_message(response="utter_booking_name_invalid")
        return {"booking_contact_name": None}

    async def validate_booking_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if wants_to_stop(tracker):
            return self._stop()
        text = typed_text(tracker)
        email = _EMAIL.search(text)
        if email is not None:
            return {"booking_contact": email.group(0)}
        phone = _PHONE.search(text)
        if phone is not None and 7 <= sum(c.isdigit() for c in phone.group(0)) <= 15:
            return {"booking_contact": re.sub(r"\s+", " ", phone.group(0))}
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
        slot_id = _booking_id(choice, "slot:")
        if slot_id is not None:
            offered = [int(x) for x in tracker.get_slot("booking_offered") or []]
            if slot_id not in offered:
                # Not a time this person was shown: never book it.
                return self._not_understood(dispatcher, "booking_slot")
            if not await asyncio.to_thread(_slot_is_free, slot_id, municipality):
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
        try:
            booking = await asyncio.to_thread(_make_booking, tracker)
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
        return {"booking_confirmed": True, "booking_reference": str(booking.id)}


def _details_of(tracker: Tracker) -> BookingDetails:
    interpreter = tracker.get_slot("booking_interpreter") == "yes"
    return BookingDetails(
        purpose=BookingPurpose(tracker.get_slot("booking_purpose") or BookingPurpose.OTHER),
        meeting_language=str(tracker.get_slot("booking_meeting_language") or "sv"),
        interpreter_language=tracker.get_slot("booking_interpreter_language")
        if interpreter
        else None,
        contact_name=tracker.get_slot("booking_contact_name"),
        contact=tracker.get_slot("booking_contact"),
    )


def _make_booking(tracker: Tracker) -> BookingView:
    language, municipality = context_of(tracker)
    slot_id = int(tracker.get_slot("booking_slot"))
    owner = owner_of(tracker)
    actor = f"conversation:{tracker.sender_id}"
    moving = _booking_id(tracker.get_slot("booking_moving"))
    if moving is not None:
        return move(
            get_sessionmaker(),
            booking_id=moving,
            new_slot_id=slot_id,
            municipality=municipality,
            owner=owner,
            now=utcnow(),
            actor=actor,
        )
    return book(
        get_sessionmaker(),
        slot_id=slot_id,
        municipality=municipality,
        conversation_id=tracker.sender_id,
        case_id=owner.case_id,
        channel=channel_of(tracker),
        language=language,
        details=_details_of(tracker),
        now=utcnow(),
        actor=actor,
    )


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

        slots = await asyncio.to_thread(
            _free_slots, municipality, request, page, OFFERED_PER_PAGE + 1
        )
        if not slots and request is not None:
            intro, request, page = "utter_booking_no_matching_slots", None, 0
            events += [SlotSet("booking_time_request", None), SlotSet("booking_page", 0)]
            slots = await asyncio.to_thread(
                _free_slots, municipality, None, 0, OFFERED_PER_PAGE + 1
            )
        if not slots and page > 0:
            intro, page = "utter_booking_no_later_slots", 0
            events.append(SlotSet("booking_page", 0))
            slots = await asyncio.to_thread(
                _free_slots, municipality, request, 0, OFFERED_PER_PAGE + 1
            )
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
        slot = await asyncio.to_thread(_get_slot, int(tracker.get_slot("booking_slot")))
        details = _details_of(tracker)
        moving = _booking_id(tracker.get_slot("booking_moving"))
        if moving is not None:
            old = await asyncio.to_thread(_find_booking, moving, owner_of(tracker))
            if old is not None:
                details = old.details
        if slot is None:
            dispatcher.utter_message(response="utter_booking_slot_taken")
            return [SlotSet("booking_slot", None)]
        send(dispatcher, messages.summary_message(details, slot, language, municipality))
        return []


class ActionSubmitBooking(Action):
    def name(self) -> str:
        return "action_submit_booking"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        reference = _booking_id(tracker.get_slot("booking_reference"))
        booking = None
        if reference is not None:
            booking = await asyncio.to_thread(_find_booking, reference, owner_of(tracker))
        if booking is None:
            dispatcher.utter_message(response="utter_booking_stopped")
        else:
            moved = tracker.get_slot("booking_moving") is not None
            send(dispatcher, messages.booked_message(booking, language, municipality, moved=moved))
        return reset_events()


# --- Outside the form ----------------------------------------------------------------------


class ActionListAppointments(Action):
    def name(self) -> str:
        return "action_list_appointments"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        language, municipality = context_of(tracker)
        case_id = await asyncio.to_thread(_linked_case_id, tracker.sender_id)
        bookings = await asyncio.to_thread(_coming_bookings, Owner(tracker.sender_id, case_id))
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
        case_id = await asyncio.to_thread(_linked_case_id, tracker.sender_id)
        owner = Owner(tracker.sender_id, case_id)
        choice = choice_of(tracker)
        if choice == "keep":
            dispatcher.utter_message(response="utter_cancel_kept")
            return []
        confirmed = _booking_id(choice, "confirm:")
        if confirmed is not None:
            try:
                booking = await asyncio.to_thread(
                    lambda: cancel(
                        get_sessionmaker(),
                        booking_id=confirmed,
                        owner=owner,
                        now=utcnow(),
                        actor=f"conversation:{tracker.sender_id}",
                    )
                )
            except BookingNotFoundError:
                dispatcher.utter_message(response="utter_booking_not_found")
                return []
            send(dispatcher, messages.cancelled_message(booking, language, municipality))
            return []

        chosen = _booking_id(choice)
        bookings = await asyncio.to_thread(_coming_bookings, owner)
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
            case_id = await asyncio.to_thread(_linked_case_id, tracker.sender_id)
            latest = await asyncio.to_thread(_latest_booking_of, Owner(tracker.sender_id, case_id))
            if latest is not None:
                send(dispatcher, messages.already_confirmed_message(latest, language, municipality))
                return []
        dispatcher.utter_message(response="utter_booking_nothing_in_progress")
        return []
