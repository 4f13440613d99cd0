"""The booking actions against a real database, for what the conversation tests through
the API do not reach: no free times, a linked person, a slot never offered, stopping."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.booking_answers import payload
from actions.booking_form import ActionStartBooking, ActionSubmitBooking, ValidateBookingForm
from actions.booking_questions import ActionAskBookingConfirmed, ActionAskBookingSlot
from bot.cases.linking import Budgets, redeem
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    AuditEntry,
    Booking,
    ClientCase,
    Coordinator,
    PlanState,
    SlotKind,
    utcnow,
)
from bot.runtime import get_settings
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
        settings = get_settings()
        redeem(
            session, sender, code, settings.link_code_secret, utcnow(), "test", Budgets.of(settings)
        )
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


@pytest.mark.parametrize("language", ["sv", "fi", "uk", "en"])
async def test_the_summary_shows_the_name_and_contact_to_confirm(
    settings_env: str, language: str
) -> None:
    slot = add_free_slot()
    slots = {
        "booking_slot": str(slot),
        "booking_purpose": "assessment",
        "booking_meeting_language": "fi",
        "booking_interpreter": "no",
        "booking_contact_name": "Olena Example",
        "booking_contact": "040 123 4567",
    }
    dispatcher = CollectingDispatcher()
    await ActionAskBookingConfirmed().run(
        dispatcher, tracker(conversation(language), "", "inform", language, slots=slots), {}
    )
    (summary,) = dispatcher.messages
    assert "Olena Example" in summary["text"] and "040 123 4567" in summary["text"]
    assert "{" not in summary["text"]


@pytest.mark.parametrize("language", ["sv", "fi", "uk", "en"])
async def test_every_booking_question_can_stop_the_booking_and_times_show_the_whole_place(
    settings_env: str, language: str
) -> None:
    from bot.nlg.render import render_response

    stop = payload("inform", "stop")
    for question in (
        "utter_ask_booking_purpose",
        "utter_ask_booking_meeting_language",
        "utter_ask_booking_interpreter",
        "utter_ask_booking_interpreter_language",
    ):
        buttons = render_response(question, language, "example").buttons
        assert stop in [button["payload"] for button in buttons], question
    with get_sessionmaker().begin() as session:
        office = session.get(AppointmentSlot, add_free_slot())
        assert office is not None
        office.kind = SlotKind.OFFICE
        office.location = "Exempelgatan 1, Exempelby kommunhus, andra våningen"
    dispatcher = CollectingDispatcher()
    await ActionAskBookingSlot().run(
        dispatcher, tracker(conversation(language), "", "inform", language), {}
    )
    titles = [b["title"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert any("andra våningen" in title for title in titles), titles


def bookings_of_slot(slot_id: int) -> list[Booking]:
    with get_sessionmaker()() as session:
        return list(session.scalars(select(Booking).where(Booking.slot_id == slot_id)))


def confirm(sender: str, slots: dict[str, Any]) -> Tracker:
    return tracker(sender, payload("inform", "confirm"), entities=pressed("confirm"), slots=slots)


async def test_a_forged_slot_in_the_tracker_books_nothing(settings_env: str) -> None:
    """Whoever posts a tracker to the action server chooses its slots; only a time the
    server itself offered to this conversation can be booked."""
    slot = add_free_slot()
    sender = conversation()
    form = ValidateBookingForm()
    # A list of "offered" slots in the tracker is not believed ...
    chosen = await form.validate_booking_slot(
        payload("inform", f"slot:{slot}"),
        CollectingDispatcher(),
        tracker(
            sender,
            payload("inform", f"slot:{slot}"),
            entities=pressed(f"slot:{slot}"),
            slots={"booking_offered": [str(slot)]},
        ),
        {},
    )
    assert chosen == {"booking_slot": None}
    # ... nor a chosen slot and a confirmation typed straight into it.
    dispatcher = CollectingDispatcher()
    result = await form.validate_booking_confirmed(
        "confirm", dispatcher, confirm(sender, {"booking_slot": str(slot)}), {}
    )
    assert result["booking_confirmed"] is None
    assert [m["response"] for m in dispatcher.messages] == ["utter_booking_slot_taken"]
    assert bookings_of_slot(slot) == []
    # Offered by the server to another conversation: still not this one's.
    other = conversation()
    await ActionAskBookingSlot().run(CollectingDispatcher(), tracker(other, "book"), {})
    await form.validate_booking_confirmed(
        "confirm", CollectingDispatcher(), confirm(sender, {"booking_slot": str(slot)}), {}
    )
    assert bookings_of_slot(slot) == []


async def test_a_forged_case_in_the_tracker_is_never_used(settings_env: str) -> None:
    """The case comes from the identity of the conversation, never from a slot: a person
    who is not linked cannot book, see or change bookings under someone else's case."""
    slot = add_free_slot()
    someone_elses_case, _, _ = case_with_code(PlanState.NONE)
    sender = conversation()
    offer = CollectingDispatcher()
    await ActionAskBookingSlot().run(offer, tracker(sender, "book"), {})
    assert any(f"slot:{slot}" in str(m.get("buttons")) for m in offer.messages)
    forged = {
        "booking_slot": str(slot),
        "booking_case_id": someone_elses_case,
        "booking_purpose": "plan",
        "booking_contact_name": "Mallory",
        "booking_contact": "mallory@example.invalid",
    }
    result = await ValidateBookingForm().validate_booking_confirmed(
        "confirm", CollectingDispatcher(), confirm(sender, forged), {}
    )
    assert result["booking_confirmed"] is True
    [booking] = bookings_of_slot(slot)
    assert booking.case_id is None and booking.conversation_id == sender
    with get_sessionmaker()() as session:
        case = session.get_one(ClientCase, someone_elses_case)
        assert case.plan_state == PlanState.NONE  # a plan meeting would have marked it
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.case_id == someone_elses_case)
        ).all()
        assert all(entry.action != "booking" for entry in audited)


def asked(text: str, intent: str, confidence: float, requested: str) -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": [],
        "metadata": {"language": "sv", "municipality": "example", "channel": "web"},
    }
    return Tracker(
        conversation("sv"), {"requested_slot": requested}, message, [], False, None, {}, ""
    )


@pytest.mark.parametrize(
    "requested",
    [
        "booking_purpose",
        "booking_meeting_language",
        "booking_interpreter",
        "booking_interpreter_language",
        "booking_contact_name",
        "booking_contact",
        "booking_slot",
        "booking_confirmed",
    ],
)
async def test_the_person_button_stops_the_booking_at_every_question(
    settings_env: str, requested: str
) -> None:
    form = ValidateBookingForm()
    validate = getattr(form, f"validate_{requested}")
    result = await validate(
        "/request_human",
        CollectingDispatcher(),
        asked("/request_human", "request_human", 1.0, requested),
        {},
    )
    assert result == {"booking_stopped": True}


async def test_typed_words_ask_for_a_person_only_where_the_question_has_choices(
    settings_env: str,
) -> None:
    form = ValidateBookingForm()
    text = "jag vill prata med en människa"
    stopped = await form.validate_booking_meeting_language(
        text,
        CollectingDispatcher(),
        asked(text, "request_human", 0.97, "booking_meeting_language"),
        {},
    )
    assert stopped == {"booking_stopped": True}
    # A name is an answer, whatever the model made of it.
    name = "Amina Example"
    kept = await form.validate_booking_contact_name(
        name, CollectingDispatcher(), asked(name, "request_human", 0.97, "booking_contact_name"), {}
    )
    assert kept == {"booking_contact_name": name}
    unsure = await form.validate_booking_meeting_language(
        text,
        CollectingDispatcher(),
        asked(text, "request_human", 0.6, "booking_meeting_language"),
        {},
    )
    assert unsure != {"booking_stopped": True}


async def test_a_booking_stopped_for_a_person_hands_the_conversation_over(
    settings_env: str,
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitBooking().run(
        dispatcher,
        asked("/request_human", "request_human", 1.0, "booking_slot"),
        {},
    )
    responses = [m.get("response") for m in dispatcher.messages]
    assert responses[:2] == ["utter_booking_stopped", "utter_handoff_waiting"]
    handoffs = [m["custom"] for m in dispatcher.messages if m.get("custom")]
    assert handoffs and "handoff" in str(handoffs[-1])
    assert {"event": "pause"} in [{"event": e["event"]} for e in events]

    # Stopped with the stop button: nothing booked, nobody handed over.
    plain = CollectingDispatcher()
    events = await ActionSubmitBooking().run(
        plain, tracker(conversation("sv"), "", entities=pressed("stop")), {}
    )
    assert [m.get("response") for m in plain.messages] == ["utter_booking_stopped"]
    assert "pause" not in [e["event"] for e in events]
