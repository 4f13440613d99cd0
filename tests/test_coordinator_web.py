"""The coordinator app through HTTP: sign-in, CSRF, lockout, municipality boundaries,
taking, replying, handing back and closing, cases, the calendar."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.bookings.service import BookingDetails, book
from bot.conversations.store import ConversationStore
from bot.coordinator.auth import create_user
from bot.coordinator.rendering import texts
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    AuditEntry,
    Booking,
    BookingPurpose,
    ClientCase,
    Conversation,
    Coordinator,
    CoordinatorRole,
    Message,
    utcnow,
)
from bot.settings import PROJECT_ROOT
from tests.support.factories import new_case
from tests.support.fake_rasa import FakeRasa
from tests.test_handoff import HANDOFF, RESUMED

PASSWORD = "correct horse battery"


@pytest.fixture
def settings_env(settings_on_sqlite_and_postgres: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return settings_on_sqlite_and_postgres


def handoff_reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "person" in body["message"] or body["message"] == "/request_human":
        return [
            {"recipient_id": body["sender"], "text": "A person will answer."},
            {"recipient_id": body["sender"], "custom": HANDOFF},
        ]
    return [{"recipient_id": body["sender"], "text": f"bot: {body['message']}"}]


def user(username: str, municipality: str = "example", role: str = "coordinator") -> int:
    with get_sessionmaker().begin() as session:
        return create_user(
            session,
            username=username,
            display_name=f"{username.title()} Example",
            municipality=municipality,
            role=CoordinatorRole(role),
            language="sv",
            password=PASSWORD,
        ).id


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/coordinator/login")
    return client.post(
        "/coordinator/login",
        data={"username": username, "password": password, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )


def person_in_queue(
    client: TestClient, municipality: str = "example"
) -> tuple[str, dict[str, str]]:
    created = client.post(
        "/api/v1/conversations", json={"language": "uk", "municipality": municipality}
    ).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    cid = created["conversation_id"]
    handed = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "a person please"}, headers=headers
    )
    assert handed.json()["state"] == "waiting"
    return cid, headers


@pytest.fixture
def app(client: TestClient, fake_rasa: FakeRasa) -> TestClient:
    fake_rasa.reply = handoff_reply
    return client


def test_pages_need_sign_in(app: TestClient) -> None:
    for path in ("/coordinator/", "/coordinator/cases", "/coordinator/calendar"):
        response = app.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/coordinator/login"
    assert (
        app.get("/coordinator/events", headers={"accept": "text/event-stream"}).status_code == 401
    )
    assert app.post("/coordinator/conversations/x/take", data={}).status_code == 401


def test_sign_in_sign_out_and_lockout(app: TestClient, settings_env: str) -> None:
    user("anna")
    assert sign_in(app, "anna", "wrong password!!").status_code == 401
    signed = sign_in(app, "anna")
    assert signed.status_code == 303 and "HttpOnly" in signed.headers["set-cookie"]
    queue = app.get("/coordinator/")
    assert queue.status_code == 200 and "Anna Example" in queue.text
    assert "script-src 'self'" in queue.headers["content-security-policy"]
    app.post("/coordinator/logout", data={"csrf_token": csrf(queue.text)})
    assert app.get("/coordinator/", follow_redirects=False).status_code == 303

    user("bert")
    for _ in range(5):
        assert sign_in(app, "bert", "not the password").status_code == 401
    assert sign_in(app, "bert").status_code == 401  # locked, even with the right password
    # The login form itself needs its token.
    assert (
        app.post("/coordinator/login", data={"username": "anna", "password": PASSWORD}).status_code
        == 403
    )


def test_a_form_without_the_csrf_token_is_refused(app: TestClient, settings_env: str) -> None:
    user("anna")
    sign_in(app, "anna")
    cid, _ = person_in_queue(app)
    assert app.post(f"/coordinator/conversations/{cid}/take", data={}).status_code == 403
    assert (
        app.post(
            f"/coordinator/conversations/{cid}/take", data={"csrf_token": "forged"}
        ).status_code
        == 403
    )
    with get_sessionmaker()() as session:
        conversation = session.get(Conversation, cid)
        assert conversation is not None and conversation.state == "waiting"


def test_take_reply_hand_back_and_the_person_sees_it(
    app: TestClient, fake_rasa: FakeRasa, settings_env: str
) -> None:
    user("anna")
    sign_in(app, "anna")
    cid, headers = person_in_queue(app)
    app.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "<script>alert(1)</script>"},
        headers=headers,
    )
    queue = app.get("/coordinator/queue")
    assert f'data-conversation="{cid}"' in queue.text
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in queue.text and "<script>alert" not in queue.text
    )

    token = csrf(app.get("/coordinator/").text)
    taken = app.post(f"/coordinator/conversations/{cid}/take", data={"csrf_token": token})
    assert taken.status_code == 200 and "reply-text" in taken.text
    app.post(
        f"/coordinator/conversations/{cid}/reply",
        data={"csrf_token": token, "text": "Привіт, я Анна."},
    )
    seen = app.get(f"/api/v1/conversations/{cid}/messages", headers=headers).json()["messages"]
    taken_note, answer = seen[-2], seen[-1]
    assert taken_note["sender"] == "system" and "Anna" in taken_note["text"]
    assert (answer["sender"], answer["sender_name"], answer["text"]) == (
        "coordinator",
        "Anna",
        "Привіт, я Анна.",
    )

    app.post(
        f"/coordinator/conversations/{cid}/note", data={"csrf_token": token, "text": "called her"}
    )
    page = app.get(f"/coordinator/conversations/{cid}")
    assert "called her" in page.text
    assert "&lt;script&gt;" in page.text and "<script>alert" not in page.text

    reached = len(fake_rasa.received)
    app.post(f"/coordinator/conversations/{cid}/handback", data={"csrf_token": token})
    assert (cid, RESUMED) in fake_rasa.tracker_events
    again = app.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "thanks"}, headers=headers
    ).json()
    assert again["state"] == "bot" and again["messages"][0]["text"] == "bot: thanks"
    assert len(fake_rasa.received) == reached + 1


def test_a_second_coordinator_cannot_take_or_reply(app: TestClient, settings_env: str) -> None:
    user("anna")
    user("bert")
    cid, _ = person_in_queue(app)
    sign_in(app, "anna")
    token = csrf(app.get("/coordinator/").text)
    app.post(f"/coordinator/conversations/{cid}/take", data={"csrf_token": token})
    app.cookies.clear()
    sign_in(app, "bert")
    token = csrf(app.get("/coordinator/").text)
    lost = app.post(f"/coordinator/conversations/{cid}/take", data={"csrf_token": token})
    assert "taken_by_other" in str(lost.url)
    app.post(f"/coordinator/conversations/{cid}/reply", data={"csrf_token": token, "text": "hi"})
    with get_sessionmaker()() as session:
        texts = session.scalars(select(Message.text).where(Message.conversation_id == cid))
        assert "hi" not in list(texts)


def test_closing_then_the_person_writes_again(
    app: TestClient, fake_rasa: FakeRasa, settings_env: str
) -> None:
    user("anna")
    sign_in(app, "anna")
    cid, headers = person_in_queue(app)
    token = csrf(app.get("/coordinator/").text)
    # Nobody took it: there is nothing to close yet.
    untaken = app.post(f"/coordinator/conversations/{cid}/close", data={"csrf_token": token})
    assert "flash=not_yours" in str(untaken.url)
    app.post(f"/coordinator/conversations/{cid}/take", data={"csrf_token": token})
    # The person's request is unanswered: closing asks first, and closes only when confirmed.
    asked = app.post(f"/coordinator/conversations/{cid}/close", data={"csrf_token": token})
    assert "confirm=close" in str(asked.url)
    assert texts("sv")["confirm_close"] in asked.text
    with get_sessionmaker()() as session:
        still = session.get(Conversation, cid)
        assert still is not None and still.state == "human"
    app.post(
        f"/coordinator/conversations/{cid}/close", data={"csrf_token": token, "confirmed": "yes"}
    )
    with get_sessionmaker()() as session:
        closed = session.get(Conversation, cid)
        assert closed is not None and closed.state == "closed"
    again = app.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "one more thing"}, headers=headers
    ).json()
    assert again["state"] == "bot" and again["messages"][0]["text"] == "bot: one more thing"


def test_another_municipality_is_not_found(app: TestClient, settings_env: str) -> None:
    user("anna", municipality="elsewhere")
    cid, _ = person_in_queue(app, "example")
    with get_sessionmaker().begin() as session:
        case = new_case(session)
        case_id, number = case.id, case.case_number
    sign_in(app, "anna")
    assert cid not in app.get("/coordinator/queue").text
    assert app.get(f"/coordinator/conversations/{cid}").status_code == 404
    assert app.get(f"/coordinator/cases/{case_id}").status_code == 404
    assert number not in app.get("/coordinator/cases?q=Olena").text
    token = csrf(app.get("/coordinator/").text)
    app.post(f"/coordinator/conversations/{cid}/take", data={"csrf_token": token})
    with get_sessionmaker()() as session:
        untouched = session.get(Conversation, cid)
        assert untouched is not None and untouched.state == "waiting"
    # An administrator sees every municipality.
    user("root", municipality="elsewhere", role="administrator")
    app.cookies.clear()
    sign_in(app, "root")
    assert app.get(f"/coordinator/conversations/{cid}").status_code == 200


def test_cases_search_view_update_and_link_code(app: TestClient, settings_env: str) -> None:
    user("anna")
    with get_sessionmaker().begin() as session:
        case = new_case(session)
        case_id, number = case.id, case.case_number
    sign_in(app, "anna")
    found = app.get("/coordinator/cases?q=olena")
    assert number in found.text
    page = app.get(f"/coordinator/cases/{case_id}")
    token = csrf(page.text)
    app.post(
        f"/coordinator/cases/{case_id}",
        data={
            "csrf_token": token,
            "assessment_state": "done",
            "plan_state": "in_progress",
            "orientation_state": "not_eligible_yet",
            "training_state": "not_eligible_yet",
            "next_step": "Plan meeting in December",
        },
    )
    coded = app.post(f"/coordinator/cases/{case_id}/link-code", data={"csrf_token": token})
    assert re.search(r"<strong>\d{4} \d{4} \d{4}</strong>", coded.text)
    with get_sessionmaker()() as session:
        updated = session.get(ClientCase, case_id)
        assert updated is not None
        assert (updated.assessment_state, updated.plan_state) == ("done", "in_progress")
        assert updated.next_step == "Plan meeting in December"
        actions = list(
            session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "coordinator:anna"))
        )
    assert {"search", "read", "update", "link-code"} <= set(actions)


def test_calendar_add_block_remove_and_cancel_with_a_message(
    app: TestClient, settings_env: str
) -> None:
    anna = user("anna")
    sign_in(app, "anna")
    token = csrf(app.get("/coordinator/calendar").text)
    day = (datetime.now(UTC) + timedelta(days=9)).date()
    added = app.post(
        "/coordinator/slots",
        data={"csrf_token": token, "date": day.isoformat(), "start": "10:00", "minutes": "45",
              "kind": "office", "location": "Example street 1"},
    )  # fmt: skip
    assert added.status_code == 200 and "Example street 1" in added.text
    refused = app.post(
        "/coordinator/slots",
        data={"csrf_token": token, "date": day.isoformat(), "start": "11:00", "minutes": "45",
              "kind": "office", "location": ""},
    )  # fmt: skip
    assert refused.status_code == 422
    with get_sessionmaker()() as session:
        (slot_id,) = session.scalars(
            select(AppointmentSlot.id).where(AppointmentSlot.coordinator_id == anna)
        )
    app.post(f"/coordinator/slots/{slot_id}/block", data={"csrf_token": token})
    with get_sessionmaker()() as session:
        blocked = session.get(AppointmentSlot, slot_id)
        assert blocked is not None and blocked.blocked
    app.post(f"/coordinator/slots/{slot_id}/block", data={"csrf_token": token})

    created = app.post("/api/v1/conversations", json={"language": "fi"}).json()
    booking = book(
        get_sessionmaker(),
        slot_id=slot_id,
        municipality="example",
        conversation_id=created["conversation_id"],
        case_id=None,
        channel="web",
        language="fi",
        details=BookingDetails(BookingPurpose.GUIDANCE, "fi", None, "Matti", "040 1234567"),
        now=utcnow(),
        actor="test",
    )
    week = app.get(f"/coordinator/calendar?week={day.isoformat()}")
    assert "Matti" in week.text
    removed = app.post(f"/coordinator/slots/{slot_id}/remove", data={"csrf_token": token})
    assert "slot_has_booking" in str(removed.url)
    app.post(
        f"/coordinator/bookings/{booking.id}/cancel",
        data={"csrf_token": token, "message": "Olen sairaana."},
    )
    with get_sessionmaker()() as session:
        cancelled = session.get(Booking, booking.id)
        assert cancelled is not None and cancelled.status == "cancelled"
        told = session.scalars(
            select(Message).where(Message.conversation_id == created["conversation_id"])
        ).all()
    assert told[-1].text is not None and "Olen sairaana." in told[-1].text
    assert "peruttu" in told[-1].text and told[-1].language == "fi"
    app.post(f"/coordinator/slots/{slot_id}/remove", data={"csrf_token": token})
    with get_sessionmaker()() as session:
        kept = session.get(AppointmentSlot, slot_id)
        assert kept is not None and kept.blocked  # it has a booking's history: blocked, not gone


def test_user_command(
    settings_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from bot import cli

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert cli.main(["user", "create", "--username", "x", "--name", "X", "--password-stdin"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(
        ["user", "create", "--username", "x", "--name", "Xena Example", "--password-stdin",
         "--role", "administrator", "--language", "fi"]
    ) == 0  # fmt: skip
    assert "can sign in" in capsys.readouterr().out
    with get_sessionmaker()() as session:
        made = session.scalar(select(Coordinator).where(Coordinator.username == "x"))
        assert (
            made is not None and made.password_hash and made.password_hash.startswith("$argon2id$")
        )
        assert PASSWORD not in made.password_hash


def test_someone_in_danger_leads_the_queue(app: TestClient, settings_env: str) -> None:
    user("anna")
    first, _ = person_in_queue(app)
    created = app.post("/api/v1/conversations", json={"language": "en"}).json()
    app.post(
        f"/api/v1/conversations/{created['conversation_id']}/messages",
        json={"text": "my husband hits me"},
        headers={"Authorization": f"Bearer {created['token']}"},
    )
    sign_in(app, "anna")
    queue = app.get("/coordinator/queue").text
    assert queue.index(created["conversation_id"]) < queue.index(first)
    assert "BRÅDSKANDE" in queue


def test_opening_a_conversation_is_audited_and_live_refreshes_are_not(
    app: TestClient, settings_env: str
) -> None:
    user("anna")
    sign_in(app, "anna")
    cid, _ = person_in_queue(app)
    app.get(f"/coordinator/conversations/{cid}")
    for _ in range(3):
        assert app.get(f"/coordinator/conversations/{cid}/transcript").status_code == 200
    with get_sessionmaker()() as session:
        reads = list(
            session.scalars(
                select(AuditEntry.detail).where(AuditEntry.action == "read_conversation")
            )
        )
    assert reads == [cid]


async def test_a_live_stream_says_changed_at_once_then_on_change_and_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.coordinator import live

    monkeypatch.setattr(live, "LIVE_INTERVAL_SECONDS", 0.01)
    monkeypatch.setattr(live, "STREAM_MAX_SECONDS", 0.05)
    versions = iter(["a", "a", "b", "b", "b", "b", "b", "b", "b", "b"])
    chunks = [chunk async for chunk in live._changes(lambda: next(versions))]
    events = [c for c in chunks if c.startswith(b"event: change")]
    assert events == [b"event: change\ndata: a\n\n", b"event: change\ndata: b\n\n"]


def test_every_text_of_the_app_is_in_swedish_and_finnish() -> None:
    swedish, finnish = texts("sv"), texts("fi")
    assert set(swedish) == set(finnish)
    assert all(value.strip() for value in [*swedish.values(), *finnish.values()])


def test_a_reply_telegram_gave_up_on_is_shown_as_not_delivered(
    app: TestClient, settings_env: str
) -> None:
    user("anna.example")
    cid, _ = person_in_queue(app)
    store = ConversationStore(get_sessionmaker())
    reply = store.queue_outbound(cid, text="Are you there?", language="uk", sender="coordinator")
    sign_in(app, "anna.example")
    page = app.get(f"/coordinator/conversations/{cid}")
    not_delivered = texts("sv")["not_delivered"]
    assert not_delivered not in page.text
    store.record_delivery_failure(
        reply.id, error="Forbidden: bot was blocked", base_delay=timedelta(0), permanent=True
    )
    page = app.get(f"/coordinator/conversations/{cid}")
    assert not_delivered in page.text


def visible_text(html: str) -> str:
    """What a coordinator reads: the page without tags and attribute values."""
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("language", ["sv", "fi"])
def test_codes_are_shown_as_words_in_swedish_and_finnish(
    app: TestClient, settings_env: str, language: str
) -> None:
    user("anna")
    with get_sessionmaker().begin() as session:
        case = new_case(session)
        case.plan_state = "in_progress"
        case_id = case.id
        session.get_one(Coordinator, session.scalar(select(Coordinator.id))).language = language
    sign_in(app, "anna")
    cid, _ = person_in_queue(app)
    pages = {
        "queue": app.get("/coordinator/queue").text,
        "case": app.get(f"/coordinator/cases/{case_id}").text,
        "cases": app.get("/coordinator/cases?q=olena").text,
        "conversation": app.get(f"/coordinator/conversations/{cid}").text,
        "calendar": app.get("/coordinator/calendar").text,
    }
    words = texts(language)
    raw = re.compile(
        r"\b(not_eligible_yet|in_progress|not_started|employment_area|municipality_and_welfare_area"
        r"|outside_labour_force|ask_[a-z_]+|request_human|web|api|uk)\b"
    )
    for name, html in pages.items():
        assert not raw.findall(visible_text(html)), (name, raw.findall(visible_text(html)))
    # What the codes became.
    assert words["stats_key_api"] in visible_text(pages["queue"])
    assert words["language_uk"] in visible_text(pages["queue"])
    assert words["stats_state_in_progress"] in visible_text(pages["cases"])
    assert words["calendar_empty"] in visible_text(pages["calendar"])


def test_every_topic_the_assistant_knows_has_a_word_in_swedish_and_finnish() -> None:
    intents = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]
    for language in ("sv", "fi"):
        words = texts(language)
        missing = [intent for intent in intents if f"topic_{intent}" not in words]
        assert missing == [], language
