"""Municipality isolation, proven route by route: a coordinator of one municipality, given
every id of another municipality's conversation, case, slot and booking, gets "not found"
from every route of the coordinator app that takes such an id, and nothing is written.

The routes come from the app itself: a new route under /coordinator that this test does
not know fails it until it is covered here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from bot.bookings.service import BookingDetails, book
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    Base,
    BookingPurpose,
    ClientCase,
    Message,
    utcnow,
)
from tests.support.factories import new_case
from tests.support.fake_rasa import FakeRasa
from tests.test_coordinator_web import csrf, handoff_reply, person_in_queue, sign_in, user

# Routes that take no id of a conversation, case, slot or booking: they act only on the
# signed-in coordinator's own things (or show lists, checked below for the other
# municipality's data).
WITHOUT_IDS = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("GET", "/queue"),
    ("GET", "/events"),
    ("GET", "/cases"),
    ("GET", "/calendar"),
    ("POST", "/slots"),
    ("GET", "/settings"),
    ("POST", "/settings"),
    ("POST", "/settings/calendar-feed"),
    ("POST", "/settings/calendar-feed/revoke"),
    # Lists and figures of the coordinator's own municipality (checked below).
    ("GET", "/statistics"),
    ("GET", "/statistics.csv"),
    ("GET", "/review"),
}
# Tables the walk itself writes (signing in), left out of "nothing was written".
SIGN_IN_TABLES = {"coordinator_session", "sign_in_attempt"}
# A form that would change something on every route that takes one, were it obeyed.
FORM = {
    "text": "written into another municipality's conversation",
    "source_language": "sv",
    "message": "cancelled from another municipality",
    "next_step": "changed from another municipality",
    "assessment_state": "done",
    "plan_state": "done",
    "orientation_state": "completed",
    "training_state": "completed",
}


def coordinator_routes(app: Any) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for mount in app.routes:
        if isinstance(mount, Mount) and mount.path == "/coordinator":
            for route in mount.routes:
                if isinstance(route, Route):
                    found |= {(method, route.path) for method in route.methods or ()}
    return {(method, path) for method, path in found if method != "HEAD"}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the sign-in bookkeeping."""
    with get_sessionmaker()() as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
            for table in Base.metadata.sorted_tables
            if table.name not in SIGN_IN_TABLES
        }


@pytest.fixture
def other_municipality(client: TestClient, fake_rasa: FakeRasa) -> dict[str, str]:
    """A conversation waiting in the queue, a case, a slot and a booking of `example`."""
    fake_rasa.reply = handoff_reply
    user("bert", municipality="example")
    conversation_id, _ = person_in_queue(client, "example")
    sessions = get_sessionmaker()
    with sessions.begin() as session:
        case = new_case(session, full_name="Olena Othertown")
        case_id = case.id
        slot = AppointmentSlot(
            municipality="example",
            starts_at=utcnow() + timedelta(days=3),
            ends_at=utcnow() + timedelta(days=3, minutes=45),
        )
        free = AppointmentSlot(
            municipality="example",
            starts_at=utcnow() + timedelta(days=4),
            ends_at=utcnow() + timedelta(days=4, minutes=45),
        )
        session.add_all([slot, free])
        session.flush()
        slot_id, free_id = slot.id, free.id
    booking = book(
        sessions,
        slot_id=slot_id,
        municipality="example",
        conversation_id=conversation_id,
        case_id=case_id,
        channel="web",
        language="uk",
        details=BookingDetails(BookingPurpose.PLAN, "fi", None, "Olena", "040 1234567"),
        now=utcnow(),
        actor="test",
    )
    with sessions() as session:
        # The person's message, marked as not understood: the review list offers such.
        message = session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.sender == "user"
            )
        ).first()
        assert message is not None
        message_id = message.id
    with sessions.begin() as session:
        session.get_one(Message, message_id).intent = "nlu_fallback"
    return {
        "conversation_id": conversation_id,
        "message_id": str(message_id),
        "case_id": str(case_id),
        "slot_id": str(free_id),
        "booking_id": str(booking.id),
        "booked_slot_id": str(slot_id),
    }


def test_every_route_with_another_municipalitys_ids_is_not_found_and_writes_nothing(
    client: TestClient, fake_rasa: Any, other_municipality: dict[str, str]
) -> None:
    user("anna", municipality="elsewhere")
    assert sign_in(client, "anna").status_code == 303
    token = csrf(client.get("/coordinator/").text)
    routes = coordinator_routes(client.app)
    with_ids = {(method, path) for method, path in routes if "{" in path}
    assert routes - with_ids == WITHOUT_IDS, "a coordinator route this test does not cover"
    assert with_ids, "no routes with ids found"

    before = snapshot()
    for method, path in sorted(with_ids):
        ids = dict(other_municipality)
        if path.startswith("/slots/"):
            # Both of the other municipality's slots: the free one and the booked one.
            targets = [ids["slot_id"], ids["booked_slot_id"]]
        else:
            targets = [""]
        for target in targets:
            if target:
                ids["slot_id"] = target
            url = "/coordinator" + path.format(**ids)
            if method == "GET":
                response = client.get(url, headers={"accept": "text/event-stream"})
                response_html = client.get(url)
                assert response_html.status_code == 404, (method, url)
            else:
                response = client.post(
                    url, data={**FORM, "csrf_token": token}, follow_redirects=False
                )
            assert response.status_code == 404, (method, url, response.status_code)
            assert snapshot() == before, f"{method} {url} wrote something"

    # The lists show nothing of the other municipality either.
    # The queue's search and filters and everyone's calendar included: the search finds
    # these in `example` (tests/test_coordinator_desk.py), and nothing of it here.
    for page in ("/coordinator/", "/coordinator/queue", "/coordinator/cases?q=Olena",
                 "/coordinator/calendar", "/coordinator/review",
                 "/coordinator/?q=person", "/coordinator/queue?q=person",
                 "/coordinator/?q=Olena", "/coordinator/?q=1234567",
                 "/coordinator/?filter=unassigned", "/coordinator/?filter=urgent&q=please",
                 "/coordinator/calendar?show=everyone"):  # fmt: skip
        text = client.get(page).text
        assert other_municipality["conversation_id"] not in text, page
        assert "040 1234567" not in text, page
        assert "Othertown" not in text, page
        assert "a person please" not in text, page
    # The figures are the coordinator's own municipality's, whatever the address asks for.
    for page in ("/coordinator/statistics", "/coordinator/statistics.csv"):
        own = client.get(page).text
        assert client.get(page, params={"municipality": "example"}).text == own, page
    with get_sessionmaker()() as session:
        case = session.get_one(ClientCase, int(other_municipality["case_id"]))
        assert case.next_step is None
