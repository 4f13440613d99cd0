"""Erasure reaches every store, through every way in (issue 16), on SQLite and PostgreSQL:
a unique marker planted through a conversation with a booking, a handoff, a coordinator
reply and a translation is found in no column of any table afterwards, Rasa's tracker
store included, and the freed slot can be booked again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.bookings.admin import new_calendar_token
from bot.bookings.service import BookingDetails, book
from bot.cli import main as lotsen
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    AuditEntry,
    Booking,
    BookingPurpose,
    BookingStatus,
    ChannelIdentity,
    ClientCase,
    Conversation,
    LinkAttempt,
    utcnow,
)
from tests.support.personal_data import (
    Markers,
    found_in_database,
    plant_in_app_database,
    plant_tracker_events,
)
from tests.test_coordinator_web import csrf, sign_in, user


def converse(client: TestClient, markers: Markers) -> tuple[str, dict[str, str], int]:
    """A person's conversation through the API, with everything else it leaves planted."""
    created = client.post("/api/v1/conversations", json={"language": "fi", "channel": "web"})
    conversation_id = created.json()["conversation_id"]
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    for text in (markers.sentence, f"{markers.name} {markers.phone} {markers.email}"):
        sent = client.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            json={"text": text},
            headers=headers,
        )
        assert sent.status_code == 200, sent.text
    slot_id = plant_in_app_database(conversation_id, markers)
    return conversation_id, headers, slot_id


def assert_erased(client: TestClient, tracker_url: str, markers: Markers, slot_id: int) -> None:
    assert found_in_database(None, markers) == []
    assert found_in_database(tracker_url, markers) == []
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(ChannelIdentity)) == 0
        assert session.scalar(select(func.count()).select_from(LinkAttempt)) == 0
        # The case register is the municipality's record: it stays.
        assert session.scalar(select(func.count()).select_from(ClientCase)) == 1
        cancelled = session.scalar(select(Booking).where(Booking.slot_id == slot_id))
        assert cancelled is not None and cancelled.status == BookingStatus.CANCELLED
        assert cancelled.cancel_reason == "erasure"
        assert session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("erase_%"))
        )
    # Someone else's tracker is untouched.
    assert found_in_database(tracker_url, Markers(tag="someone-else")) != []
    # The freed slot can be booked again.
    other = client.post("/api/v1/conversations", json={"channel": "web"}).json()
    again = book(
        get_sessionmaker(),
        slot_id=slot_id,
        municipality="example",
        conversation_id=other["conversation_id"],
        case_id=None,
        channel="web",
        language="sv",
        details=BookingDetails(BookingPurpose.OTHER, "sv", None, None, None),
        now=utcnow(),
        actor="test",
    )
    assert again.status == BookingStatus.BOOKED


def test_the_widgets_delete_erases_every_store(stores: tuple[TestClient, str]) -> None:
    client, tracker_url = stores
    markers = Markers()
    conversation_id, headers, slot_id = converse(client, markers)
    plant_tracker_events(tracker_url, conversation_id, markers)
    assert found_in_database(None, markers) and found_in_database(tracker_url, markers)

    response = client.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)

    assert response.status_code == 204
    assert_erased(client, tracker_url, markers, slot_id)
    gone = client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    assert gone.status_code == 404


@pytest.mark.parametrize("by", ["conversation", "case"])
def test_the_cli_erases_a_conversation_or_a_case(
    stores: tuple[TestClient, str], by: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client, tracker_url = stores
    markers = Markers()
    conversation_id, _headers, slot_id = converse(client, markers)
    plant_tracker_events(tracker_url, conversation_id, markers)
    with get_sessionmaker()() as session:
        case_number = session.scalars(select(ClientCase.case_number)).one()

    target = conversation_id if by == "conversation" else case_number
    assert lotsen(["data", "erase", f"--{by}", target]) == 0

    assert_erased(client, tracker_url, markers, slot_id)
    printed = capsys.readouterr().out
    assert "1 conversation" in printed and markers.tag not in printed
    with get_sessionmaker()() as session:
        assert session.get(Conversation, conversation_id) is None
    assert lotsen(["data", "erase", f"--{by}", target]) == (1 if by == "conversation" else 0)


def test_the_coordinator_erases_a_conversation_with_a_reason(
    stores: tuple[TestClient, str],
) -> None:
    client, tracker_url = stores
    markers = Markers()
    conversation_id, _headers, slot_id = converse(client, markers)
    plant_tracker_events(tracker_url, conversation_id, markers)
    url = f"/coordinator/conversations/{conversation_id}"

    user("elsa", municipality="elsewhere")
    sign_in(client, "elsa")
    token = csrf(client.get("/coordinator/").text)
    refused = client.post(f"{url}/erase", data={"csrf_token": token, "reason": "person_asked"})
    assert refused.status_code == 404  # another municipality's conversation
    client.post("/coordinator/logout", data={"csrf_token": token})

    user("anna")
    sign_in(client, "anna")
    page = client.get(url)
    assert 'action="' + url + '/erase"' in page.text
    token = csrf(page.text)
    assert client.post(f"{url}/erase", data={"reason": "person_asked"}).status_code == 403
    no_reason = client.post(f"{url}/erase", data={"csrf_token": token}, follow_redirects=False)
    assert no_reason.headers["location"].split("#")[0].endswith("flash=erase_needs_reason")
    assert found_in_database(None, markers) != []

    erased = client.post(
        f"{url}/erase",
        data={"csrf_token": token, "reason": "person_asked"},
        follow_redirects=False,
    )

    assert erased.status_code == 303
    assert_erased(client, tracker_url, markers, slot_id)
    with get_sessionmaker()() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "erase_conversation"))
        assert entry is not None and entry.actor == "coordinator:anna"
        assert entry.detail == f"{conversation_id} person_asked"
    assert client.get(url).status_code == 404


def test_the_coordinators_calendar_says_cancelled_at_the_persons_request(
    stores: tuple[TestClient, str],
) -> None:
    client, _tracker_url = stores
    markers = Markers()
    conversation_id, headers, slot_id = converse(client, markers)
    anna = user("anna")
    with get_sessionmaker().begin() as session:
        slot = session.get(AppointmentSlot, slot_id)
        assert slot is not None
        slot.coordinator_id = anna
        token = new_calendar_token(session, "anna", utcnow())
    feed = client.get(f"/calendar/{token}.ics").text.replace("\r\n ", "")
    assert markers.name in feed and "STATUS:CONFIRMED" in feed

    client.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)

    feed = client.get(f"/calendar/{token}.ics").text.replace("\r\n ", "")
    assert "STATUS:CANCELLED" in feed and "Cancelled at the person's request" in feed
    assert markers.tag not in feed


def test_the_access_log_keeps_no_calendar_secret_and_no_query() -> None:
    from bot.http.log_redaction import redact_path

    assert redact_path("/calendar/s3cr3t-token.ics") == "/calendar/[redacted].ics"
    assert redact_path("/coordinator/cases?q=Zorya") == "/coordinator/cases?[redacted]"
    assert redact_path("/api/v1/conversations") == "/api/v1/conversations"
