"""Booking, moving and cancelling through the conversation API, with the real Rasa, the
real action server and the app, in each of the four languages.

Needs the trained model in models/ (`make test` trains it before pytest runs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.bookings.admin import SlotInput, add_slots
from bot.bookings.times import HELSINKI, as_utc, format_time
from bot.db import make_engine
from bot.db.models import AppointmentSlot, Booking, BookingStatus, Coordinator, SlotKind
from bot.nlg.render import render_response
from tests.support.running import Person, is_cyrillic, payloads, texts
from tests.support.system import RunningSystem

pytestmark = pytest.mark.integration


def choice(value: str, intent: str = "inform") -> str:
    return f'/{intent}{{"booking_choice": "{value}"}}'


@dataclass(frozen=True)
class Words:
    language: str
    book: str
    yes: str
    name: str
    wednesday_afternoon: str
    my_appointments: str


WORDS = [
    Words(
        "uk",
        "хочу записатися на прийом до радника",
        "так",
        "Олена Коваленко",
        "у середу після обіду",
        "на який день я записана до радника?",
    ),
    Words(
        "sv",
        "kan jag boka en tid hos handledaren",
        "ja",
        "Amina Example",
        "onsdag eftermiddag",
        "när har jag min nästa tid hos handledaren",
    ),
    Words(
        "fi",
        "haluaisin varata ajan maahanmuuttokoordinaattorille",
        "kyllä",
        "Ahmed Esimerkki",
        "keskiviikkona iltapäivällä",
        "milloin mun seuraava tapaaminen on",
    ),
    Words(
        "en",
        "I want to book a time to meet the coordinator",
        "yes",
        "Maria Example",
        "Wednesday afternoon",
        "when is my next appointment",
    ),
]


@pytest.fixture(scope="module")
def free_times(system: RunningSystem) -> None:
    """Free times on the coming twenty working days at 9, 10, 13 and 14 Helsinki time."""
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        session.add(
            Coordinator(municipality="example", username="booking.test", display_name="Anna")
        )
        session.flush()
        today = datetime.now(HELSINKI).date()
        days = [today + timedelta(days=n) for n in range(1, 30)]
        add_slots(
            session,
            [
                SlotInput("booking.test", day, time(hour), 45, kind, "Example street 1")
                for day in days
                if day.weekday() < 4
                for hour, kind in (
                    (9, SlotKind.OFFICE),
                    (10, SlotKind.OFFICE),
                    (13, SlotKind.OFFICE),
                    (14, SlotKind.PHONE),
                )
            ],
            datetime.now(UTC),
        )
    engine.dispose()


def rendered(name: str, language: str) -> str:
    return render_response(name, language, "example").text


def offered_slots(reply: dict[str, Any]) -> list[int]:
    prefix = choice("slot:")[: -len('"}')]
    return [int(p[len(prefix) :].split('"')[0]) for p in payloads(reply) if p.startswith(prefix)]


def slot_starts(system: RunningSystem, slot_ids: list[int]) -> list[datetime]:
    engine = make_engine(system.database_url)
    with Session(engine) as session:
        starts = [
            as_utc(session.get(AppointmentSlot, slot_id).starts_at)  # type: ignore[union-attr]
            for slot_id in slot_ids
        ]
    engine.dispose()
    return starts


def bookings_of(system: RunningSystem, conversation_id: str) -> list[Booking]:
    engine = make_engine(system.database_url)
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(Booking)
                .where(Booking.conversation_id == conversation_id)
                .order_by(Booking.id)
            )
        )
    engine.dispose()
    return rows


@pytest.mark.parametrize("words", WORDS, ids=[w.language for w in WORDS])
def test_book_see_move_and_cancel(system: RunningSystem, free_times: None, words: Words) -> None:
    language = words.language
    person = Person(system, language)

    purpose = person.say(words.book)
    assert texts(purpose) == rendered("utter_ask_booking_purpose", language)
    assert choice("assessment") in payloads(purpose)
    meeting_language = person.press(choice("assessment"))
    assert texts(meeting_language) == rendered("utter_ask_booking_meeting_language", language)
    interpreter = person.press(choice("fi"))
    assert texts(interpreter) == rendered("utter_ask_booking_interpreter", language)
    interpreter_language = person.say(words.yes)
    assert texts(interpreter_language) == rendered(
        "utter_ask_booking_interpreter_language", language
    )
    name = person.press(choice("uk"))
    assert texts(name) == rendered("utter_ask_booking_contact_name", language)
    contact = person.say(words.name)
    assert texts(contact) == rendered("utter_ask_booking_contact", language)

    # A contact that is neither a phone number nor an e-mail address is asked again.
    again = person.say("tomorrow maybe")
    assert rendered("utter_booking_contact_invalid", language) in texts(again)
    offer = person.say("040 123 4567")
    assert texts(offer) == rendered("utter_booking_offer_slots", language)
    first_page = offered_slots(offer)
    assert len(first_page) == 5 and choice("later") in payloads(offer)

    later = person.press(choice("later"))
    second_page = offered_slots(later)
    assert second_page and not set(second_page) & set(first_page)
    assert min(slot_starts(system, second_page)) > max(slot_starts(system, first_page))

    narrowed = person.say(words.wednesday_afternoon)
    assert texts(narrowed) == rendered("utter_booking_offer_matching_slots", language)
    wednesday = offered_slots(narrowed)
    for start in slot_starts(system, wednesday):
        assert start.astimezone(HELSINKI).weekday() == 2
        assert start.astimezone(HELSINKI).hour >= 12

    chosen = wednesday[0]
    summary = person.press(choice(f"slot:{chosen}"))
    (start,) = slot_starts(system, [chosen])
    assert format_time(start, language) in texts(summary)
    assert choice("confirm") in payloads(summary)
    done = person.press(choice("confirm"))
    (booking,) = bookings_of(system, person.id)
    assert str(booking.id) in texts(done)
    assert (booking.slot_id, booking.language, booking.meeting_language) == (chosen, language, "fi")
    assert (booking.interpreter_language, booking.contact) == ("uk", "040 123 4567")
    assert booking.contact_name == words.name
    assert is_cyrillic(texts(done)) == (language == "uk")

    # A second press of "confirm" books nothing more.
    twice = person.press(choice("confirm"))
    assert str(booking.id) in texts(twice)
    assert len(bookings_of(system, person.id)) == 1

    listed = person.say(words.my_appointments)
    assert format_time(start, language, short=True) in " ".join(
        b["title"] for m in listed["messages"] for b in m["buttons"]
    )
    assert choice(f"move:{booking.id}", "book_appointment") in payloads(listed)

    # Move: only the new time and a confirmation are asked.
    move_offer = person.press(choice(f"move:{booking.id}", "book_appointment"))
    new_slot = offered_slots(move_offer)[0]
    person.press(choice(f"slot:{new_slot}"))
    moved = person.press(choice("confirm"))
    old, new = bookings_of(system, person.id)
    assert (old.status, new.status, new.slot_id) == (
        BookingStatus.MOVED,
        BookingStatus.BOOKED,
        new_slot,
    )
    assert format_time(slot_starts(system, [new_slot])[0], language) in texts(moved)
    assert new.interpreter_language == "uk"

    # Cancel from the list the "My meetings" button shows.
    listed_again = person.press("/my_appointments")
    assert choice(str(new.id), "cancel_appointment") in payloads(listed_again)
    cancel_question = person.press(choice(str(new.id), "cancel_appointment"))
    assert choice(f"confirm:{new.id}", "cancel_appointment") in payloads(cancel_question)
    person.press(choice(f"confirm:{new.id}", "cancel_appointment"))
    assert [b.status for b in bookings_of(system, person.id)] == [
        BookingStatus.MOVED,
        BookingStatus.CANCELLED,
    ]
    nothing = person.say(words.my_appointments)
    assert texts(nothing) == rendered("utter_my_appointments_none", language)


def test_bad_input_during_booking(system: RunningSystem, free_times: None) -> None:
    person = Person(system, "en")
    person.say("I want to book an appointment")
    person.press(choice("guidance"))
    person.press(choice("en"))
    person.press(choice("no"))
    person.say("Maria Example")
    offer = person.say("maria@example.fi")
    assert offered_slots(offer)

    past = person.say("1.1.2020 at 10")
    assert texts(past).startswith(rendered("utter_booking_date_past", "en"))
    nonsense = person.say("31.2. at 10")
    assert "31.2." in texts(nonsense)
    gibberish = person.say("whenever the moon is blue")
    assert texts(gibberish).startswith(rendered("utter_booking_time_not_understood", "en"))

    # A slot that was never offered: the gateway refuses the payload, nothing is booked.
    response = person.http.post(
        f"/api/v1/conversations/{person.id}/messages",
        json={"payload": choice("slot:999999")},
    )
    assert response.status_code == 422
    # The same payload typed as text is read as text, not as a button.
    typed = person.say(choice("slot:1"))
    assert offered_slots(typed)

    # Another conversation's button is not this conversation's button.
    other = Person(system, "en")
    stolen = other.http.post(
        f"/api/v1/conversations/{other.id}/messages",
        json={"payload": choice(f"slot:{offered_slots(offer)[0]}")},
    )
    assert stolen.status_code == 422

    stopped = person.press(choice("stop"))
    assert texts(stopped) == rendered("utter_booking_stopped", "en")
    assert bookings_of(system, person.id) == []
    assert bookings_of(system, other.id) == []


def test_a_person_asked_for_in_the_middle_of_a_booking_takes_the_conversation(
    system: RunningSystem, free_times: None
) -> None:
    """The widget's "Talk to a person" (a command, as Telegram's /human) during the form:
    the booking stops with nothing booked and the conversation waits for the coordinator.
    A name typed in the form leaves a guessed Swedish conversation in Swedish."""
    person = Person(system, None)  # the widget's start: the language guessed, not chosen
    person.say("jag vill boka en tid hos handledaren")
    person.press(choice("guidance"))
    person.press(choice("sv"))
    person.press(choice("no"))
    contact = person.say("Amina Example")
    assert contact["language"] == "sv"
    assert texts(contact) == rendered("utter_ask_booking_contact", "sv")
    response = person.http.post(
        f"/api/v1/conversations/{person.id}/messages", json={"command": "request_human"}
    )
    assert response.status_code == 200, response.text
    handed = response.json()
    assert rendered("utter_booking_stopped", "sv") in texts(handed)
    assert rendered("utter_handoff_waiting", "sv") in texts(handed)
    assert handed["state"] == "waiting"
    assert bookings_of(system, person.id) == []


def test_the_same_time_taken_meanwhile_offers_the_next_times(
    system: RunningSystem, free_times: None
) -> None:
    first, second = Person(system, "en"), Person(system, "en")
    offers = {}
    for person in (first, second):
        person.say("I want to book an appointment")
        person.press(choice("other"))
        person.press(choice("en"))
        person.press(choice("no"))
        person.say("Sam Example")
        offers[person.id] = offered_slots(person.say("+358 40 765 4321"))
    common = sorted(set(offers[first.id]) & set(offers[second.id]))[0]
    first.press(choice(f"slot:{common}"))
    second.press(choice(f"slot:{common}"))
    first.press(choice("confirm"))
    lost = second.press(choice("confirm"))
    assert rendered("utter_booking_slot_taken", "en") in texts(lost)
    assert common not in offered_slots(lost) and offered_slots(lost)
    assert [b.slot_id for b in bookings_of(system, first.id)] == [common]
    assert bookings_of(system, second.id) == []
