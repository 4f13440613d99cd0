"""Statistics for the municipality (issue 20): conversations in four languages through the
API, the intents Rasa's NLG callback reports, a handoff, a booking, a fallback and a link;
the daily aggregates built, the conversations erased, and the same figures, small ones
suppressed, on the page, in the CSV and on the command line. Counted once when builders
race, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from bot.bookings.service import BookingDetails, book
from bot.bookings.times import local
from bot.cases.linking import Budgets, issue_code, redeem
from bot.cli import main
from bot.conversations.store import ConversationStore
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    BookingPurpose,
    Conversation,
    Coordinator,
    LanguageSource,
    Message,
    StatisticsCount,
    StatisticsDay,
    StatisticsWait,
    utcnow,
)
from bot.handoff.state_machine import HandoffRequest, request_handoff, take
from bot.runtime import get_settings
from bot.statistics.build import build_day, build_pending
from tests.conftest import NLG_TOKEN
from tests.support.factories import new_case
from tests.support.fake_rasa import FakeRasa
from tests.test_coordinator_web import csrf, handoff_reply, sign_in, user

SV_FEWER = "färre än 5"
SV_TOO_FEW = "för få för att visas"


def nlg(client: TestClient, conversation_id: str, intent: str, token: str = NLG_TOKEN) -> Any:
    """Rasa asking for an answer, as rasa.core.nlg.callback shapes the request."""
    body = {
        "response": "utter_greet",
        "arguments": {},
        "tracker": {
            "sender_id": conversation_id,
            "slots": {},
            "latest_message": {"intent": {"name": intent}, "text": "x", "metadata": {}},
            "events": [],
        },
        "channel": {"name": "rest"},
    }
    return client.post("/nlg", json=body, headers={"Authorization": f"Bearer {token}"})


def talk(
    client: TestClient, language: str, turns: list[tuple[str, str]]
) -> tuple[str, dict[str, str]]:
    """A conversation: each message sent through the API, then Rasa's NLG callback with
    the intent it recognised."""
    created = client.post("/api/v1/conversations", json={"language": language}).json()
    cid = created["conversation_id"]
    headers = {"Authorization": f"Bearer {created['token']}"}
    for text, intent in turns:
        sent = client.post(
            f"/api/v1/conversations/{cid}/messages", json={"text": text}, headers=headers
        )
        assert sent.status_code == 200
        assert nlg(client, cid, intent).status_code == 200
    return cid, headers


def intents_of(conversation_id: str) -> list[str | None]:
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(Message.intent)
                .where(Message.conversation_id == conversation_id, Message.sender == "user")
                .order_by(Message.id)
            )
        )


@pytest.fixture
def app(client: TestClient, fake_rasa: FakeRasa) -> TestClient:
    fake_rasa.reply = handoff_reply
    return client


def test_the_nlg_callback_records_the_intent_once_on_the_persons_latest_message(
    app: TestClient,
) -> None:
    cid, headers = talk(app, "uk", [("Що таке план інтеграції?", "ask_integration_plan")])
    # Further answers of the same turn do not change it; a stranger's call writes nothing.
    assert nlg(app, cid, "greet").status_code == 200
    assert nlg(app, cid, "nlu_fallback", token="wrong").status_code == 401
    assert intents_of(cid) == ["ask_integration_plan"]
    app.post(f"/api/v1/conversations/{cid}/messages", json={"text": "ґґґ"}, headers=headers)
    assert nlg(app, cid, "nlu_fallback").status_code == 200
    assert intents_of(cid) == ["ask_integration_plan", "nlu_fallback"]
    # Something that is not an intent name is not stored, and the answer still comes.
    app.post(f"/api/v1/conversations/{cid}/messages", json={"text": "ок"}, headers=headers)
    assert nlg(app, cid, "<script>").status_code == 200
    assert intents_of(cid)[-1] is None


def page_figures(html: str) -> dict[str, str]:
    rows = re.findall(
        r'<tr data-figure="([^"]+)"><th scope="row">[^<]*</th><td>([^<]*)</td></tr>', html
    )
    return dict(rows)


def csv_figures(text: str) -> dict[str, str]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["del", "kod", "vad", "värde"]
    return {f"{r[0]}/{r[1]}": r[3] for r in rows[1:] if len(r) == 4}


def cli_figures(capsys: pytest.CaptureFixture[str], start: date, end: date) -> dict[str, str]:
    capsys.readouterr()
    argv = ["stats", "--from", start.isoformat(), "--to", end.isoformat()]
    assert main([*argv, "--municipality", "example"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
    found = {}
    for line in lines:
        section, key, value = line.split("\t")
        # The command line speaks English; the coordinator here reads Swedish.
        value = value.replace("fewer than 5", SV_FEWER).replace("too few to show", SV_TOO_FEW)
        found[f"{section}/{key}"] = value.replace(".", ",")
    return found


def add_slot(sessions: sessionmaker[Session], coordinator_id: int) -> int:
    starts = utcnow().replace(microsecond=0) + timedelta(days=3)
    with sessions.begin() as session:
        slot = AppointmentSlot(
            municipality="example",
            coordinator_id=coordinator_id,
            starts_at=starts,
            ends_at=starts + timedelta(minutes=45),
        )
        session.add(slot)
        session.flush()
        return slot.id


def test_figures_outlive_erasure_and_read_the_same_on_page_csv_and_command_line(
    app: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    sessions = get_sessionmaker()
    anna = user("anna")
    talks = [
        talk(app, "uk", [("Що таке план інтеграції?", "ask_integration_plan")]) for _ in range(6)
    ]
    uk_id, uk_headers = talks[0]
    app.post(f"/api/v1/conversations/{uk_id}/messages", json={"text": "ґґґ"}, headers=uk_headers)
    nlg(app, uk_id, "nlu_fallback")
    talks.append(talk(app, "en", [("qwzx plorf", "nlu_fallback")]))
    # A handoff, taken by the coordinator.
    sv_id, sv_headers = talk(app, "sv", [("Jag vill prata med en person", "request_human")])
    talks.append((sv_id, sv_headers))
    assert sign_in(app, "anna").status_code == 303
    token = csrf(app.get("/coordinator/").text)
    app.post(f"/coordinator/conversations/{sv_id}/take", data={"csrf_token": token})
    # A booking and a link to a case.
    fi_id, fi_headers = talk(app, "fi", [("Haluan varata ajan", "book_appointment")])
    talks.append((fi_id, fi_headers))
    book(
        sessions,
        slot_id=add_slot(sessions, anna),
        municipality="example",
        conversation_id=fi_id,
        case_id=None,
        channel="api",
        language="fi",
        details=BookingDetails(BookingPurpose.GUIDANCE, "fi", "ar", "Matti", "040 0000000"),
        now=utcnow(),
        actor="test",
    )
    with sessions.begin() as session:
        case = new_case(session)
        code = issue_code(session, case.id, get_settings().link_code_secret, utcnow())
        settings = get_settings()
        assert redeem(
            session, fi_id, code, settings.link_code_secret, utcnow(), "test", Budgets.of(settings)
        )

    # Counted once the days are over.
    today = local(utcnow()).date()
    start, end = today - timedelta(days=1), today + timedelta(days=1)
    assert build_pending(sessions, ["example"], now=utcnow() + timedelta(days=2)) >= 2
    period = f"from={start.isoformat()}&to={end.isoformat()}"
    before = page_figures(app.get(f"/coordinator/statistics?{period}").text)

    expected = {
        "conversations/all": "9",
        "conversations_by_language/uk": "6",
        "conversations_by_language/sv": SV_FEWER,
        "conversations_by_language/fi": SV_FEWER,
        "conversations_by_language/en": SV_FEWER,
        "conversations_by_channel/api": "9",
        "conversations_translated/not_translated": "9",
        "topics/ask_integration_plan": "6",
        "topics/nlu_fallback": SV_FEWER,
        "topics/request_human": SV_FEWER,
        "topics/book_appointment": SV_FEWER,
        "not_understood_rate/uk": "14 %",  # 1 of 7
        "not_understood_rate/en": SV_TOO_FEW,  # 1 message: too few for a rate
        "handoffs_by_reason/request_human": SV_FEWER,
        "wait_median_minutes/all": SV_TOO_FEW,
        "wait_p90_minutes/request_human": SV_TOO_FEW,
        "bookings/booked": SV_FEWER,
        "bookings_by_purpose/guidance": SV_FEWER,
        "bookings_by_meeting_language/fi": SV_FEWER,
        "bookings_by_interpreter/ar": SV_FEWER,
        "case_links/linked": SV_FEWER,
        "cases_plan/municipality:none": SV_FEWER,
    }
    assert {key: before.get(key) for key in expected} == expected
    # No count from 1 to 4 is shown as a number anywhere.
    assert not {"1", "2", "3", "4"} & set(before.values())

    # The people erase their conversations; the figures stay as they were.
    for cid, headers in talks:
        assert app.delete(f"/api/v1/conversations/{cid}", headers=headers).status_code == 204
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert build_pending(sessions, ["example"], now=utcnow() + timedelta(days=2)) == 0

    page = app.get(f"/coordinator/statistics?{period}")
    after = page_figures(page.text)
    assert after == before
    download = app.get(f"/coordinator/statistics.csv?{period}")
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    assert csv_figures(download.text) == before
    assert cli_figures(capsys, start, end) == before

    # Charts drawn on the server, each with its table, under the app's strict CSP.
    assert page.text.count('<svg class="stats-chart" role="img"') >= 10
    assert " style=" not in page.text and "<script>" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'href="/coordinator/statistics"' in page.text


def test_a_coordinator_sees_only_their_own_municipalitys_figures(app: TestClient) -> None:
    sessions = get_sessionmaker()
    for _ in range(5):
        talk(app, "uk", [("Що таке план інтеграції?", "ask_integration_plan")])
    build_pending(sessions, ["example"], now=utcnow() + timedelta(days=2))
    today = local(utcnow()).date().isoformat()
    user("olle", municipality="elsewhere")
    assert sign_in(app, "olle").status_code == 303
    asked = f"from={today}&to={today}&municipality=example"
    assert "conversations/all" not in page_figures(app.get(f"/coordinator/statistics?{asked}").text)
    assert "conversations," not in app.get(f"/coordinator/statistics.csv?{asked}").text
    app.cookies.clear()
    user("root", municipality="elsewhere", role="administrator")
    assert sign_in(app, "root").status_code == 303
    seen = app.get(f"/coordinator/statistics?{asked}").text
    assert page_figures(seen)["conversations/all"] == "5"
    assert '<option value="example" selected>' in seen


def test_a_bad_period_falls_back_to_the_last_30_days_politely(app: TestClient) -> None:
    user("anna")
    sign_in(app, "anna")
    page = app.get("/coordinator/statistics?from=yesterday&to=2026-13-01")
    assert page.status_code == 200
    assert "Perioden kunde inte läsas" in page.text


def test_a_day_is_built_once_when_builders_race(settings_on_both_databases: str) -> None:
    sessions = get_sessionmaker()
    store = ConversationStore(sessions)
    ids = [
        store.create(
            channel="api", municipality="example", language="uk",
            language_source=LanguageSource.CHOSEN,
        )[0].id
        for _ in range(3)
    ]  # fmt: skip
    with sessions.begin() as session:
        coordinator = Coordinator(municipality="example", username="c", display_name="C")
        session.add(coordinator)
        session.flush()
        for cid in ids:
            request_handoff(session, cid, HandoffRequest("request_human"), utcnow(), "test")
            take(session, cid, coordinator.id, utcnow() + timedelta(minutes=3))
    now = utcnow() + timedelta(days=2)
    day = local(utcnow()).date()

    def race(work: Any, count: int = 2) -> list[Any]:
        barrier = threading.Barrier(count)
        results: list[Any] = []

        def run() -> None:
            barrier.wait()
            results.append(work())

        threads = [threading.Thread(target=run) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    assert sorted(race(lambda: build_day(sessions, "example", day, now))) == [False, True]
    # Whole rounds racing: every pending day built by exactly one of them.
    built = race(lambda: build_pending(sessions, ["example"], now), count=3)
    with sessions() as session:
        days = session.scalar(select(func.count()).select_from(StatisticsDay))
        conversations = session.scalar(
            select(StatisticsCount.count).where(
                StatisticsCount.day == day, StatisticsCount.measure == "conversations"
            )
        )
        waits = list(session.scalars(select(StatisticsWait.seconds)))
    assert sum(built) + 1 == days
    assert conversations == 3
    assert waits == [180, 180, 180]


def test_the_app_builds_the_closed_days_itself(
    settings_env: str, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import runtime
    from bot.app import create_app

    sessions = get_sessionmaker()
    view, _ = ConversationStore(sessions).create(
        channel="api", municipality="example", language="fi", language_source=LanguageSource.CHOSEN
    )
    with sessions.begin() as session:
        found = session.get(Conversation, view.id)
        assert found is not None
        found.created_at = utcnow() - timedelta(days=3)
    monkeypatch.setenv("STATISTICS_INTERVAL_SECONDS", "0.2")
    runtime.reset()
    three_days_ago = local(utcnow() - timedelta(days=3)).date()
    with TestClient(create_app()):
        for _ in range(100):
            with get_sessionmaker()() as session:
                counted = session.scalar(
                    select(StatisticsCount.count).where(
                        StatisticsCount.day == three_days_ago,
                        StatisticsCount.measure == "conversations_by_language",
                        StatisticsCount.key == "fi",
                    )
                )
                days = session.scalar(select(func.count()).select_from(StatisticsDay))
            if counted is not None and days == 3:
                break
            time.sleep(0.1)
    assert counted == 1
    assert days == 3  # three days ago, the day before yesterday, yesterday; never today


def test_the_case_register_is_counted_only_on_the_day_it_stood_so(
    settings_env: str,
) -> None:
    sessions = get_sessionmaker()
    with sessions.begin() as session:
        new_case(session)
    now = utcnow()
    yesterday = local(now).date() - timedelta(days=1)
    assert build_day(sessions, "example", yesterday - timedelta(days=3), now)
    assert build_day(sessions, "example", yesterday, now)
    with sessions() as session:
        snapshots = session.execute(
            select(StatisticsCount.day, StatisticsCount.key).where(
                StatisticsCount.measure == "cases_assessment"
            )
        ).all()
    assert [(day, key) for day, key in snapshots] == [(yesterday, "municipality:not_started")]


def test_a_typed_interpreter_language_cannot_become_a_spreadsheet_formula(
    app: TestClient,
) -> None:
    sessions = get_sessionmaker()
    anna = user("anna")
    cid, _ = talk(app, "en", [("I want to book a time", "book_appointment")])
    book(
        sessions,
        slot_id=add_slot(sessions, anna),
        municipality="example",
        conversation_id=cid,
        case_id=None,
        channel="api",
        language="en",
        details=BookingDetails(BookingPurpose.OTHER, "en", "=HYPERLINK(1)", None, None),
        now=utcnow(),
        actor="test",
    )
    build_pending(sessions, ["example"], now=utcnow() + timedelta(days=2))
    sign_in(app, "anna")
    today = local(utcnow()).date().isoformat()
    text = app.get(f"/coordinator/statistics.csv?from={today}&to={today}").text
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    interpreter = [row for row in rows if row[:1] == ["bookings_by_interpreter"]]
    assert interpreter == [
        ["bookings_by_interpreter", "'=hyperlink(1)", "'=hyperlink(1)", SV_FEWER]
    ]
