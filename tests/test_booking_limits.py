"""Booking abuse: a person not linked to a case holds at most BOOKING_LIMIT_UNLINKED (2)
coming bookings per conversation, per contact and per client network; the third is
refused politely in their language, and the coordinator's calendar marks the bookings of
unlinked people. The real booking actions run against a real database; the conversations
are made and written in through the gateway's store, with the client network the API
stores with each message."""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from starlette.testclient import TestClient

from actions.booking_answers import payload
from actions.booking_form import ActionStartBooking, ValidateBookingForm
from bot.bookings.repository import BookingRepository
from bot.cases.linking import Budgets, redeem
from bot.conversations.store import ConversationStore
from bot.coordinator.rendering import texts
from bot.db import get_sessionmaker
from bot.db.models import Booking, BookingStatus, LanguageSource, utcnow
from bot.privacy.erasure import ErasureReason, erase_conversation
from bot.privacy.tracker import get_tracker_store
from bot.runtime import get_settings
from tests.support.fake_rasa import FakeRasa
from tests.test_actions_booking import add_free_slot, slot_events, tracker
from tests.test_actions_cases import case_with_code
from tests.test_coordinator_web import sign_in, user


def conversation_from(network: str, language: str = "en") -> str:
    """A conversation whose person writes from `network` (the pseudonym the API stores)."""
    store = ConversationStore(get_sessionmaker())
    view, _ = store.create(
        channel="web",
        municipality="example",
        language=language,
        language_source=LanguageSource.CHOSEN,
    )
    store.store_inbound(
        view.id, text="I want to book", payload=None, language=language, client_network=network
    )
    return view.id


async def confirm(
    sender: str,
    slot_id: int,
    contact: str = "040 000 0001",
    language: str = "en",
    case_id: int | None = None,
) -> tuple[dict[str, Any], list[str]]:
    slots = {
        "booking_slot": str(slot_id),
        "booking_purpose": "guidance",
        "booking_meeting_language": "fi",
        "booking_interpreter": "no",
        "booking_contact_name": "Maria Example",
        "booking_contact": contact,
        "booking_case_id": case_id,
    }
    # The time was offered to this conversation by the server, as the form does; only such
    # a time can be booked (tests/test_actions_booking.py, forged slots).
    BookingRepository(get_sessionmaker()).record_offers(sender, [slot_id], utcnow())
    dispatcher = CollectingDispatcher()
    pressed = payload("inform", "confirm")
    result = await ValidateBookingForm().validate_booking_confirmed(
        pressed,
        dispatcher,
        tracker(
            sender,
            pressed,
            language=language,
            entities=[{"entity": "booking_choice", "value": "confirm"}],
            slots=slots,
        ),
        {},
    )
    return result, [m.get("response") or "" for m in dispatcher.messages]


def bookings() -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count(Booking.id))) or 0)


def coming_bookings() -> int:
    with get_sessionmaker()() as session:
        booked = select(func.count(Booking.id)).where(Booking.status == BookingStatus.BOOKED)
        return int(session.scalar(booked) or 0)


async def test_the_third_booking_of_an_unlinked_conversation_is_refused_politely(
    settings_env: str,
) -> None:
    sender = conversation_from("net-a", "uk")
    store = ConversationStore(get_sessionmaker())

    def moves_to(network: str) -> None:
        # The person changes networks (mobile data, then wifi): the conversation counts.
        store.store_inbound(sender, text="так", payload=None, language="uk", client_network=network)

    for n, contact in enumerate(("040 000 0001", "040 000 0002")):
        moves_to(f"net-a{n}")
        result, _ = await confirm(sender, add_free_slot(), contact, "uk")
        assert result["booking_confirmed"] is True
    moves_to("net-a9")
    result, said = await confirm(sender, add_free_slot(), "040 000 0003", "uk")
    assert said == ["utter_booking_limit"]
    assert result == {"booking_stopped": True}
    assert bookings() == 2
    # Asking again says so before any question is asked.
    dispatcher = CollectingDispatcher()
    events = await ActionStartBooking().run(
        dispatcher, tracker(sender, "book", "book_appointment", "uk"), {}
    )
    assert slot_events(events)["booking_available"] is False
    assert [m["response"] for m in dispatcher.messages] == ["utter_booking_limit"]


async def test_the_same_contact_from_fresh_conversations_is_limited(settings_env: str) -> None:
    for n, written in enumerate(("040 000 0009", "0400000009")):
        result, _ = await confirm(conversation_from(f"net-{n}"), add_free_slot(), written)
        assert result["booking_confirmed"] is True
    result, said = await confirm(conversation_from("net-9"), add_free_slot(), "040-000-0009")
    assert said == ["utter_booking_limit"] and bookings() == 2


async def test_fresh_conversations_with_invented_names_from_one_network_are_limited(
    settings_env: str,
) -> None:
    first = conversation_from("net-script")
    assert (await confirm(first, add_free_slot(), "040 000 0101"))[0]["booking_confirmed"]
    assert (await confirm(conversation_from("net-script"), add_free_slot(), "040 000 0102"))[0][
        "booking_confirmed"
    ]
    # Erasing a conversation cancels its coming booking (section "Personal data"): the
    # network then holds one place, never more than two at once.
    erase_conversation(
        get_sessionmaker(),
        get_tracker_store(),
        first,
        actor="test",
        reason=ErasureReason.PERSON_ASKED,
        now=utcnow(),
    )
    assert coming_bookings() == 1
    made, _ = await confirm(conversation_from("net-script"), add_free_slot(), "040 000 0103")
    assert made["booking_confirmed"] is True
    _, said = await confirm(conversation_from("net-script"), add_free_slot(), "040 000 0105")
    assert said == ["utter_booking_limit"] and coming_bookings() == 2
    # Another network is someone else.
    result, _ = await confirm(conversation_from("net-other"), add_free_slot(), "040 000 0104")
    assert result["booking_confirmed"] is True


async def test_a_linked_person_is_not_limited(settings_env: str) -> None:
    case_id, _, code = case_with_code()
    sender = conversation_from("net-linked")
    with get_sessionmaker().begin() as session:
        settings = get_settings()
        redeem(
            session, sender, code, settings.link_code_secret, utcnow(), "test", Budgets.of(settings)
        )
    for _ in range(3):
        result, _ = await confirm(sender, add_free_slot(), case_id=case_id)
        assert result["booking_confirmed"] is True


async def test_the_calendar_marks_bookings_by_unlinked_people(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    coordinator_id = user("anna")
    case_id, _, code = case_with_code()
    linked = conversation_from("net-1")
    with get_sessionmaker().begin() as session:
        settings = get_settings()
        redeem(
            session, linked, code, settings.link_code_secret, utcnow(), "test", Budgets.of(settings)
        )
    await confirm(linked, add_free_slot(), case_id=case_id)
    await confirm(conversation_from("net-2"), add_free_slot())
    with get_sessionmaker().begin() as session:
        for booking in session.scalars(select(Booking)):
            booking.slot.coordinator_id = coordinator_id
    sign_in(client, "anna")
    page = client.get("/coordinator/calendar").text
    if texts("sv")["unlinked_booking"] not in page:  # the slots may fall in next week
        page += client.get("/coordinator/calendar", params={"week": next_monday().isoformat()}).text
    assert page.count(texts("sv")["unlinked_booking"]) == 1


def next_monday() -> Any:
    from datetime import timedelta

    from bot.bookings.times import HELSINKI

    today = utcnow().astimezone(HELSINKI).date()
    return today - timedelta(days=today.weekday()) + timedelta(days=7)
