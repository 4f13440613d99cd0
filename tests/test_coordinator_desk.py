"""The coordinator's desk through HTTP (issue 17): the assistant's own answers re-rendered in
the coordinator's language with no translation package, the queue's filters and search, the
conversation's summary, hand back and close only by the coordinator who took it and confirmed
when the person's last message is unanswered, and the calendar of everyone."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.bookings.service import BookingDetails, book
from bot.coordinator.rendering import texts
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    AuditEntry,
    BookingPurpose,
    Conversation,
    Coordinator,
    Message,
    utcnow,
)
from bot.nlg.origin import RESPONSE_KEY
from bot.nlg.render import render_response
from bot.privacy.erasure import ErasureReason, erase_conversation
from bot.privacy.tracker import get_tracker_store
from tests.support.factories import new_case
from tests.support.fake_rasa import FakeRasa
from tests.test_coordinator_web import csrf, sign_in, user
from tests.test_handoff import HANDOFF

SV = texts("sv")
ASK_WHO = "Хто відповідає за мої послуги?"
FI = texts("fi")


def from_content(sender: str, name: str, language: str = "uk", **arguments: Any) -> dict[str, Any]:
    """An answer as the real Rasa returns it through bot/rasa_channel.py: the rendered text
    and buttons, and which content they were rendered from."""
    rendered = render_response(name, language, "example", arguments)
    return {
        "recipient_id": sender,
        "text": rendered.text,
        "buttons": rendered.buttons,
        RESPONSE_KEY: {"name": name, "arguments": arguments},
    }


def desk_reply(body: dict[str, Any]) -> list[dict[str, Any]]:
    sender, message = body["sender"], body["message"]
    if "відповідає" in message or "responsible" in message:
        return [from_content(sender, "utter_ask_triage_job_seeker")]
    if message == "/affirm":
        return [from_content(sender, "utter_responsibility_employment_area")]
    if "людин" in message or "person" in message:
        return [
            from_content(sender, "utter_handoff_waiting"),
            {"recipient_id": sender, "custom": HANDOFF},
        ]
    return [{"recipient_id": sender, "text": f"bot: {message}"}]


@pytest.fixture
def app(client: TestClient, fake_rasa: FakeRasa) -> TestClient:
    fake_rasa.reply = desk_reply
    return client


class Person:
    def __init__(self, client: TestClient, language: str = "uk", municipality: str = "example"):
        created = client.post(
            "/api/v1/conversations", json={"language": language, "municipality": municipality}
        ).json()
        self.client = client
        self.id: str = created["conversation_id"]
        self.headers = {"Authorization": f"Bearer {created['token']}"}

    def send(self, **body: str) -> Any:
        return self.client.post(
            f"/api/v1/conversations/{self.id}/messages", json=body, headers=self.headers
        ).json()


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_assistants_answers_are_shown_in_the_coordinators_language(app: TestClient) -> None:
    person = Person(app)
    person.send(text=ASK_WHO)
    with get_sessionmaker()() as session:
        stored = session.scalars(
            select(Message).where(Message.conversation_id == person.id, Message.sender == "bot")
        ).one()
        # Kept with the message, so the answer can be rendered again in another language.
        assert stored.response_name == "utter_ask_triage_job_seeker"
        assert stored.language == "uk"
    yes = next(b for b in stored.buttons or [] if b["payload"] == "/affirm")
    person.send(payload=yes["payload"])
    assert person.send(text="Хочу поговорити з людиною")["state"] == "waiting"

    user("anna")
    sign_in(app, "anna")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    swedish = render_response("utter_ask_triage_job_seeker", "sv", "example")
    ukrainian = render_response("utter_ask_triage_job_seeker", "uk", "example")
    readable = visible_text(page)
    # Beside the Ukrainian the person read, the same answer in Swedish from the content:
    # no translation package is installed in the tests.
    assert " ".join(swedish.text.split()) in readable
    assert " ".join(ukrainian.text.split()) in readable
    assert SV["assistant_in_your_language"] in page
    assert SV["no_translation"] in page  # the person's own words: no machine translation
    # The buttons glossed, and the person's button press read in Swedish.
    swedish_yes = next(b["title"] for b in swedish.buttons if b["payload"] == "/affirm")
    ukrainian_yes = next(b["title"] for b in ukrainian.buttons if b["payload"] == "/affirm")
    assert f"{SV['button_gloss']} {swedish_yes})" in readable
    assert f"{SV['button_pressed']} {swedish_yes}" in readable
    assert ukrainian_yes in readable
    # The summary panel: the triage question in Swedish with the answer in Swedish.
    summary = visible_text(page.split('id="summary"', 1)[1].split("</section>", 1)[0])
    assert SV["summary_triage"] in summary
    assert swedish.text.split("?")[0].strip()[:40] in summary and swedish_yes in summary

    # A Finnish-speaking coordinator reads it in Finnish.
    user("pekka")
    with get_sessionmaker().begin() as session:
        session.scalars(
            select(Coordinator).where(Coordinator.username == "pekka")
        ).one().language = "fi"
    app.cookies.clear()
    sign_in(app, "pekka")
    finnish = render_response("utter_ask_triage_job_seeker", "fi", "example")
    page_fi = visible_text(app.get(f"/coordinator/conversations/{person.id}").text)
    assert " ".join(finnish.text.split()) in page_fi
    assert FI["assistant_in_your_language"] in page_fi


def test_a_triage_question_left_for_another_is_not_answered(app: TestClient) -> None:
    person = Person(app)
    person.send(text=ASK_WHO)
    person.send(text="Хочу поговорити з людиною")
    user("anna")
    sign_in(app, "anna")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    summary = visible_text(page.split('id="summary"', 1)[1].split("</section>", 1)[0])
    assert SV["summary_no_answer"] in summary
    assert "Хочу поговорити" not in summary


def test_a_swedish_conversation_is_not_shown_twice(app: TestClient) -> None:
    person = Person(app, language="sv")
    person.send(text=ASK_WHO)
    person.send(text="a person please")
    user("anna")
    sign_in(app, "anna")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    assert SV["assistant_in_your_language"] not in page


def test_the_stored_variables_go_with_the_conversation_when_it_is_erased(app: TestClient) -> None:
    person = Person(app)
    person.send(text=ASK_WHO)
    with get_sessionmaker().begin() as session:
        row = session.scalars(select(Message).where(Message.conversation_id == person.id)).all()
        row[-1].response_arguments = {"name": "Olena Personal"}
    erase_conversation(
        get_sessionmaker(),
        get_tracker_store(),
        person.id,
        actor="test",
        reason=ErasureReason.PERSON_ASKED,
        now=utcnow(),
    )
    with get_sessionmaker()() as session:
        left = session.scalars(
            select(Message.response_arguments).where(Message.response_arguments.is_not(None))
        ).all()
        assert not any("Olena Personal" in str(arguments) for arguments in left)


def test_quick_replies_in_the_persons_language_have_a_gloss(app: TestClient) -> None:
    person = Person(app)
    person.send(text="a person please")
    user("anna")
    sign_in(app, "anna")
    token = csrf(app.get("/coordinator/").text)
    app.post(f"/coordinator/conversations/{person.id}/take", data={"csrf_token": token})
    page = app.get(f"/coordinator/conversations/{person.id}").text
    quick = page.split('class="quick"', 1)[1].split("</div>", 1)[0]
    assert 'lang="uk"' in quick
    assert f"{SV['quick_reply_gloss']} Kan du berätta lite mer?" in quick


def test_queue_filters_and_search(app: TestClient) -> None:
    anna_id = user("anna")
    user("bert")
    waiting = Person(app)
    waiting.send(text="a person please")
    taken_by_anna = Person(app)
    taken_by_anna.send(text="a person please about the housing allowance")
    taken_by_bert = Person(app)
    taken_by_bert.send(text="a person please")
    urgent = Person(app, language="en")
    urgent.send(text="my husband hits me")
    talking_to_the_bot = Person(app)
    talking_to_the_bot.send(text="where is the library")

    sign_in(app, "bert")
    token = csrf(app.get("/coordinator/").text)
    app.post(f"/coordinator/conversations/{taken_by_bert.id}/take", data={"csrf_token": token})
    app.cookies.clear()
    sign_in(app, "anna")
    token = csrf(app.get("/coordinator/").text)
    app.post(f"/coordinator/conversations/{taken_by_anna.id}/take", data={"csrf_token": token})

    def shown(url: str) -> set[str]:
        return set(re.findall(r'data-conversation="([0-9a-f]+)"', app.get(url).text))

    everyone = {waiting.id, taken_by_anna.id, taken_by_bert.id, urgent.id}
    assert shown("/coordinator/") == everyone
    assert shown("/coordinator/?filter=mine") == {taken_by_anna.id}
    assert shown("/coordinator/?filter=unassigned") == {waiting.id, urgent.id}
    assert shown("/coordinator/?filter=urgent") == {urgent.id}
    # The live fragment keeps the view's filter.
    assert shown("/coordinator/queue?filter=mine") == {taken_by_anna.id}
    assert shown("/coordinator/?filter=nonsense") == everyone

    # A search covers every conversation of the municipality, in any state.
    assert shown("/coordinator/?q=library") == {talking_to_the_bot.id}
    assert shown("/coordinator/?q=HOUSING+allowance") == {taken_by_anna.id}
    assert shown("/coordinator/?q=100%25") == set()  # a LIKE wildcard matches itself only
    assert SV["queue_no_match"] in app.get("/coordinator/?q=zzqx").text
    # By the name and phone number of a booking made in the conversation.
    book_for_person(waiting.id, anna_id, days=2, purpose=BookingPurpose.PLAN)
    assert shown("/coordinator/?q=kovalenko") == {waiting.id}
    assert shown("/coordinator/?q=040+7654321") == {waiting.id}
    # Each search is audited, never with its words; the live refreshes are not.
    assert shown("/coordinator/queue?q=library") == {talking_to_the_bot.id}
    with get_sessionmaker()() as session:
        searches = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "search_conversations")
        ).all()
    assert len(searches) == 6 and all(entry.detail is None for entry in searches)
    assert {entry.actor for entry in searches} == {"coordinator:anna"}

    queue = app.get("/coordinator/").text
    # Urgent marked in words, not by colour alone.
    row = re.search(rf'<tr data-conversation="{urgent.id}"[^>]*>(.*?)</tr>', queue, re.S)
    assert row and SV["urgent_badge"] in row.group(1)
    # The waiting time carries its start, for the page to count up from, and its ticking
    # is not announced by a screen reader every few seconds.
    assert re.search(
        r'<time class="since" aria-live="off" datetime="[^"]+" data-since="[^"]+"', queue
    )
    # The tab title says how many wait, without a script.
    assert "<title>(2) Kö" in queue


def book_for_person(
    conversation_id: str,
    coordinator_id: int,
    *,
    days: int,
    purpose: BookingPurpose,
    case_id: int | None = None,
) -> None:
    """A booking in Ukrainian, in Finnish with an interpreter, on a new slot in `days` days."""
    with get_sessionmaker().begin() as session:
        slot = AppointmentSlot(
            municipality="example",
            coordinator_id=coordinator_id,
            starts_at=utcnow() + timedelta(days=days),
            ends_at=utcnow() + timedelta(days=days, minutes=45),
        )
        session.add(slot)
        session.flush()
        slot_id = slot.id
    book(
        get_sessionmaker(),
        slot_id=slot_id,
        municipality="example",
        conversation_id=conversation_id,
        case_id=case_id,
        channel="api",
        language="uk",
        details=BookingDetails(purpose, "fi", "uk", "Olena Kovalenko", "040 7654321"),
        now=utcnow(),
        actor="test",
    )


def test_the_summary_shows_bookings_interpreter_and_case(app: TestClient) -> None:
    anna_id = user("anna")
    person = Person(app)
    person.send(text="a person please")
    book_for_person(person.id, anna_id, days=2, purpose=BookingPurpose.PLAN)
    sign_in(app, "anna")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    summary = visible_text(page.split('id="summary"', 1)[1].split("</section>", 1)[0])
    assert SV["stats_purpose_plan"] in summary and SV["booking_status_booked"] in summary
    assert f"{SV['summary_interpreter_asked']} {SV['language_uk']}" in summary
    assert SV["not_linked"] in summary
    assert SV["reason_request_human"] in summary


def test_hand_back_and_close_only_by_the_coordinator_who_took_it(app: TestClient) -> None:
    user("anna")
    user("bert")
    person = Person(app)
    person.send(text="a person please")
    sign_in(app, "anna")
    page = app.get(f"/coordinator/conversations/{person.id}").text
    token = csrf(page)
    # Waiting: "Take" is offered first, and neither hand back nor close.
    assert SV["take"] in page and SV["hand_back"] not in page and SV["close"] not in page
    taken = app.post(f"/coordinator/conversations/{person.id}/take", data={"csrf_token": token})
    # Back on the page at the reply form, not at its top.
    assert taken.history[0].headers["location"].endswith("#reply-form")
    page = taken.text
    assert SV["hand_back"] in page and SV["close"] in page
    assert page.index('class="primary-actions"') < page.index('id="transcript"')

    # Another coordinator is offered neither, and cannot do either.
    app.cookies.clear()
    sign_in(app, "bert")
    other = app.get(f"/coordinator/conversations/{person.id}").text
    assert SV["hand_back"] not in other and SV["close"] not in other
    refused = app.post(
        f"/coordinator/conversations/{person.id}/handback",
        data={"csrf_token": csrf(other), "confirmed": "yes"},
    )
    assert "flash=not_yours" in str(refused.url)
    with get_sessionmaker()() as session:
        assert session.get_one(Conversation, person.id).state == "human"

    # Anna: the person's request is unanswered, so handing back asks first (server-side).
    app.cookies.clear()
    sign_in(app, "anna")
    token = csrf(app.get("/coordinator/").text)
    asked = app.post(f"/coordinator/conversations/{person.id}/handback", data={"csrf_token": token})
    assert "confirm=handback" in str(asked.url) and SV["confirm_handback"] in asked.text
    with get_sessionmaker()() as session:
        assert session.get_one(Conversation, person.id).state == "human"
    # After her answer nothing is unanswered: it goes back at once.
    replied = app.post(
        f"/coordinator/conversations/{person.id}/reply",
        data={"csrf_token": token, "text": "Вітаю!", "source_language": "uk"},
    )
    assert replied.history[0].headers["location"].endswith("#reply-form")
    app.post(f"/coordinator/conversations/{person.id}/handback", data={"csrf_token": token})
    with get_sessionmaker()() as session:
        assert session.get_one(Conversation, person.id).state == "bot"


def test_the_calendar_shows_everyones_slots_of_the_municipality(app: TestClient) -> None:
    anna_id = user("anna")
    bert_id = user("bert")
    carl_id = user("carl", municipality="elsewhere")
    monday = utcnow() + timedelta(days=7)
    with get_sessionmaker().begin() as session:
        for coordinator_id, municipality, hours in (
            (anna_id, "example", 1),
            (bert_id, "example", 2),
            (carl_id, "elsewhere", 3),
        ):
            session.add(
                AppointmentSlot(
                    municipality=municipality,
                    coordinator_id=coordinator_id,
                    starts_at=monday + timedelta(hours=hours),
                    ends_at=monday + timedelta(hours=hours, minutes=45),
                )
            )
    sign_in(app, "anna")
    week = (monday.date()).isoformat()
    mine = app.get(f"/coordinator/calendar?week={week}").text
    everyone = app.get(f"/coordinator/calendar?week={week}&show=everyone").text
    assert "Bert Example" not in mine and mine.count('class="free"') == 1
    assert "Bert Example" in everyone and "Anna Example" in everyone
    assert "Carl Example" not in everyone and everyone.count('class="free"') == 2
    # Bert's slot can be looked at, not changed.
    assert SV["calendar_others_slot"] in everyone
    empty_week = (monday.date() + timedelta(days=21)).isoformat()
    assert (
        SV["calendar_empty_everyone"]
        in app.get(f"/coordinator/calendar?week={empty_week}&show=everyone").text
    )


def test_no_raw_codes_on_the_pages(app: TestClient) -> None:
    anna_id = user("anna")
    person = Person(app)
    person.send(text="a person please")
    with get_sessionmaker().begin() as session:
        case_id = new_case(session, full_name="Olena Case").id
    book_for_person(person.id, anna_id, days=1, purpose=BookingPurpose.GUIDANCE, case_id=case_id)
    sign_in(app, "anna")
    for language in ("sv", "fi"):
        with get_sessionmaker().begin() as session:
            session.scalars(
                select(Coordinator).where(Coordinator.username == "anna")
            ).one().language = language
        app.cookies.clear()
        sign_in(app, "anna")
        for path in (
            "/coordinator/",
            f"/coordinator/conversations/{person.id}",
            "/coordinator/calendar",
            "/coordinator/calendar?show=everyone",
            "/coordinator/cases",
            "/coordinator/cases?q=Olena",
            f"/coordinator/cases/{case_id}",
            "/coordinator/statistics",
            "/coordinator/settings",
            "/coordinator/review",
        ):
            shown = visible_text(app.get(path).text)
            for raw in (
                "request_human",
                "not_eligible_yet",
                "in_progress",
                "municipality",
                " uk ",
                " api ",
                "Läge",
                "Väntat",
                "Form ",
                "bad om en människa",
                "pyysi ihmistä",
                "Odottanut",
                "guidance",
                " booked ",
                " none ",
            ):
                assert raw not in shown, (language, path, raw)
