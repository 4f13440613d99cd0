"""The booking actions against a real database, for what the conversation tests through
the API do not reach: no free times, a linked person, a slot never offered, stopping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.booking_answers import payload
from actions.booking_form import ActionStartBooking, ValidateBookingForm
from bot.cases.linking import redeem
from bot.db import get_sessionmaker
from bot.db.models import AppointmentSlot, Coordinator, SlotKind, utcnow
from bot.settings import get_settings
from tests.test_actions_cases import case_with_code, conversation


def tracker(
    sender: str,
    text: str,
    intent: str = "inform",
    language: str = "en",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent},
        "entities": entities or [],
        "metadata": {"language": language, "municipality": "example", "channel": "web"},
    }
    return Tracker(sender, slots or {}, message, [], False, None, {}, "")


def pressed(choice: str) -> list[dict[str, Any]]:
    return [{"entity": "booking_choice", "value": choice}]


def add_free_slot() -> int:
    with get_sessionmaker().begin() as session:
        coordinator = Coordinator(
            municipality="example", username=f"anna{utcnow().timestamp()}", display_name="Anna"
        )
        session.add(coordinator)
        session.flush()
        slot = AppointmentSlot(
            municipality="example",
            coordinator_id=coordinator.id,
            starts_at=utcnow() + timedelta(days=2),
            ends_at=utcnow() + timedelta(days=2, minutes=45),
            kind=SlotKind.PHONE,
        )
        session.add(slot)
        session.flush()
        return slot.id


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_no_free_times_says_so_and_does_not_start_the_form(settings_env: str) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionStartBooking().run(
        dispatcher, tracker(conversation(), "book a time", "book_appointment"), {}
    )
    assert slot_events(events)["booking_available"] is False
    assert [m["response"] for m in dispatcher.messages] == ["utter_booking_no_slots"]


async def test_a_time_in_the_booking_request_narrows_the_first_offer(settings_env: str) -> None:
    add_free_slot()
    events = await ActionStartBooking().run(
        CollectingDispatcher(),
        tracker(
            conversation("fi"),
            "voinko varata ajan tiistaina iltapäivällä",
            "book_appointment",
            "fi",
        ),
        {},
    )
    values = slot_events(events)
    assert values["booking_available"] is True
    assert values["booking_time_request"]["weekday"] == 1
    assert values["booking_time_request"]["earliest"] == "12:00:00"


async def test_a_linked_person_is_not_asked_for_contact_details(settings_env: str) -> None:
    add_free_slot()
    _, _, code = case_with_code()
    sender = conversation()
    with get_sessionmaker().begin() as session:
        redeem(session, sender, code, get_settings().link_code_secret, utcnow(), "test")
    events = await ActionStartBooking().run(
        CollectingDispatcher(), tracker(sender, "book", "book_appointment"), {}
    )
    case_id = slot_events(events)["booking_case_id"]
    assert case_id is not None
    form = ValidateBookingForm()
    linked = await form.required_slots(
        [], CollectingDispatcher(), tracker(sender, "x", slots={"booking_case_id": case_id}), {}
    )
    unlinked = await form.required_slots([], CollectingDispatcher(), tracker(sender, "x"), {})
    assert "booking_contact" not in linked and "booking_contact_name" not in linked
    assert {"booking_contact", "booking_contact_name"} <= set(unlinked)


async def test_a_slot_that_was_never_offered_is_not_accepted(settings_env: str) -> None:
    offered, other = add_free_slot(), add_free_slot()
    dispatcher = CollectingDispatcher()
    result = await ValidateBookingForm().validate_booking_slot(
        payload("inform", f"slot:{other}"),
        dispatcher,
        tracker(
            conversation(),
            payload("inform", f"slot:{other}"),
            entities=pressed(f"slot:{other}"),
            slots={"booking_offered": [str(offered)]},
        ),
        {},
    )
    assert result == {"booking_slot": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_booking_choice_not_understood"]


@pytest.mark.parametrize(
    ("language", "text"),
    [("sv", "avbryt"), ("fi", "peruuta"), ("uk", "скасувати"), ("en", "stop please")],
)
async def test_typing_stop_ends_the_booking_in_each_language(
    settings_env: str, language: str, text: str
) -> None:
    form = ValidateBookingForm()
    sender = conversation(language)
    result = await form.validate_booking_contact_name(
        text, CollectingDispatcher(), tracker(sender, text, language=language), {}
    )
    assert result == {"booking_stopped": True}
    assert (
        await form.required_slots(
            [], CollectingDispatcher(), tracker(sender, text, slots=result), {}
        )
        == []
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Integration plan meeting", "plan"),
        ("kotoutumissuunnitelma", "plan"),
        ("оцінювання навичок", "assessment"),
        ("I have a question about my housing", "other"),
    ],
)
async def test_a_typed_purpose_is_understood(settings_env: str, text: str, expected: str) -> None:
    result = await ValidateBookingForm().validate_booking_purpose(
        text, CollectingDispatcher(), tracker(conversation(), text), {}
    )
    assert result == {"booking_purpose": expected}


async def test_contact_details_are_checked(settings_env: str) -> None:
    form = ValidateBookingForm()
    sender = conversation()
    for text, expected in [
        ("my number is +358 40 123 4567", "+358 40 123 4567"),
        ("olena@example.fi", "olena@example.fi"),
        ("12", None),
        ("call me maybe", None),
    ]:
        dispatcher = CollectingDispatcher()
        result = await form.validate_booking_contact(text, dispatcher, tracker(sender, text), {})
        assert result == {"booking_contact": expected}, text
        assert bool(dispatcher.messages) == (expected is None)
