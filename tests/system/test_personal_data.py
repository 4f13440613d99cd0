"""Personal data with the real Rasa, action server and app (issue 16): a unique marker
planted through a conversation with a booking, a handoff, a coordinator reply and its
translation is, after erasure, in no column of any table of the app database or of Rasa's
tracker store, and in no line any of the three processes logged; the freed slot can be
booked again. The `delete_my_data` intent erases with the real Rasa too.

Needs the trained model in models/ (`make test` trains it before pytest runs).
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from bot.bookings.admin import SlotInput, add_slots
from bot.bookings.times import HELSINKI
from bot.coordinator.auth import create_user
from bot.db import make_engine
from bot.db.models import BookingStatus, Coordinator, CoordinatorRole, SlotKind
from tests.support.personal_data import Markers, found_in_database
from tests.support.running import Person, texts
from tests.support.system import RunningSystem
from tests.system.test_booking_conversation import (
    bookings_of,
    choice,
    offered_slots,
    rendered,
)

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def free_times(system: RunningSystem) -> None:
    """Free times of a coordinator of its own on the coming working days at 11 and 15."""
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        session.add(
            Coordinator(municipality="example", username="privacy.test", display_name="Anna")
        )
        session.flush()
        today = datetime.now(HELSINKI).date()
        days = [today + timedelta(days=n) for n in range(1, 30)]
        add_slots(
            session,
            [
                SlotInput("privacy.test", day, time(hour), 45, SlotKind.OFFICE, "Example street 1")
                for day in days
                if day.weekday() < 4
                for hour in (11, 15)
            ],
            datetime.now(UTC),
        )
    engine.dispose()


def tracker_url(system: RunningSystem) -> str:
    return f"sqlite:///{system.workdir / 'rasa-tracker.db'}"


def logged_markers(system: RunningSystem, markers: Markers) -> list[str]:
    found = []
    logs = sorted(system.workdir.glob("*.log"))
    assert {log.name for log in logs} == {"app.log", "actions.log", "rasa.log"}
    assert "POST /api/v1/conversations" in (system.workdir / "app.log").read_text()
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if any(marker in line for marker in markers.all()):
                found.append(f"{log.name}: {line}")
    return found


def coordinator(system: RunningSystem, username: str) -> httpx.Client:
    engine = make_engine(system.database_url)
    with Session(engine) as session, session.begin():
        create_user(
            session,
            username=username,
            display_name="Anna Example",
            municipality="example",
            role=CoordinatorRole.COORDINATOR,
            language="sv",
            password=PASSWORD,
        )
    engine.dispose()
    browser = httpx.Client(base_url=system.app_url, timeout=60)
    login = browser.get("/coordinator/login")
    browser.post(
        "/coordinator/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf(login.text)},
    )
    return browser


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:300]
    return found.group(1)


def book_first_free_time(person: Person, name: str, contact: str) -> int:
    person.say("I want to book an appointment")
    person.press(choice("guidance"))
    person.press(choice("en"))
    person.press(choice("no"))
    person.say(name)
    slot = offered_slots(person.say(contact))[0]
    person.press(choice(f"slot:{slot}"))
    person.press(choice("confirm"))
    return slot


def test_erasure_leaves_the_marker_nowhere_and_frees_the_slot(
    system: RunningSystem, free_times: None
) -> None:
    markers = Markers()
    person = Person(system, "en")
    person.say(markers.sentence)
    slot = book_first_free_time(person, markers.name, markers.email)
    (booking,) = bookings_of(system, person.id)
    assert (booking.contact_name, booking.contact) == (markers.name, markers.email)
    handed = person.say("please let me talk to a real human")
    assert handed["state"] == "waiting"

    anna = coordinator(system, f"anna.{uuid.uuid4().hex[:8]}")
    page = anna.get(f"/coordinator/conversations/{person.id}")
    token = csrf(page.text)
    anna.post(f"/coordinator/conversations/{person.id}/take", data={"csrf_token": token})
    replied = anna.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": f"Ring mig på {markers.phone}", "source_language": "sv"},
    )
    assert replied.status_code == 303, replied.text
    # The reply reached the person machine-translated, its Swedish original kept beside it.
    planted = found_in_database(system.database_url, markers)
    assert {"message.text", "message.original_text", "booking.contact"} <= set(planted)
    assert found_in_database(tracker_url(system), markers)
    # Query strings (a search for the person's name) stay out of the access log.
    assert anna.get("/coordinator/cases", params={"q": markers.name}).status_code == 200

    erased = person.http.delete(f"/api/v1/conversations/{person.id}")

    assert erased.status_code == 204
    assert found_in_database(system.database_url, markers) == []
    assert found_in_database(tracker_url(system), markers) == []
    assert logged_markers(system, markers) == []
    (cancelled,) = bookings_of_slot(system, slot)
    assert cancelled.status == BookingStatus.CANCELLED
    # The freed slot is offered, and can be booked, again.
    again = Person(system, "en")
    assert book_first_free_time(again, "Sam Example", "+358 40 765 4321") == slot
    assert [b.status for b in bookings_of(system, again.id)] == [BookingStatus.BOOKED]


def bookings_of_slot(system: RunningSystem, slot_id: int) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from bot.db.models import Booking

    engine = make_engine(system.database_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Booking).where(Booking.slot_id == slot_id)))
    engine.dispose()
    return rows


def test_delete_my_data_with_the_real_assistant(system: RunningSystem) -> None:
    markers = Markers()
    person = Person(system, "en")
    person.say(markers.sentence)
    asked = person.say("please delete all my data")
    assert texts(asked) == rendered("utter_ask_erase_chat", "en")

    done = person.press("/affirm")

    assert texts(done) == rendered("utter_erase_chat_done", "en")
    assert found_in_database(system.database_url, markers) == []
    assert found_in_database(tracker_url(system), markers) == []
    handed = person.press("/lotsen_case_data_handoff")
    assert handed["state"] == "waiting"
    # The assistant starts afresh when the person is handed back.
    assert logged_markers(system, markers) == []
