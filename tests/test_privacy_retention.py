"""Retention (issue 16): the purge deletes what is past its period, per store, with the
clock moved forward; municipalities set their own periods; one process a day runs it."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.cli import main as lotsen
from bot.db import get_sessionmaker
from bot.db.models import (
    AuditEntry,
    Booking,
    Conversation,
    LinkAttempt,
    SignInAttempt,
    utcnow,
)
from bot.privacy.retention import claim_daily_purge, finish_daily_purge, purge
from bot.privacy.tracker import get_tracker_store
from bot.settings import PROJECT_ROOT
from tests.support.personal_data import (
    Markers,
    found_in_database,
    plant_in_app_database,
    plant_tracker_events,
)


def start(client: TestClient, text: str) -> str:
    created = client.post("/api/v1/conversations", json={"language": "sv", "channel": "web"})
    conversation_id: str = created.json()["conversation_id"]
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    sent = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=headers
    )
    assert sent.status_code == 200
    return conversation_id


def count(model: type) -> int:
    with get_sessionmaker()() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_the_purge_keeps_each_store_for_its_period(stores: tuple[TestClient, str]) -> None:
    client, tracker_url = stores
    markers = Markers()
    conversation_id = start(client, markers.sentence)
    plant_in_app_database(conversation_id, markers)
    plant_tracker_events(tracker_url, conversation_id, markers)
    now = utcnow()
    with get_sessionmaker().begin() as session:
        session.add(SignInAttempt(username="anna", address="192.0.2.1", succeeded=False, at=now))
    sessions, tracker = get_sessionmaker(), get_tracker_store()

    # 31 days on: attempts are gone, the past meeting's contact too; the chat stays.
    counts = purge(sessions, tracker, now + timedelta(days=31))
    assert counts.sign_in_attempts == 1 and counts.link_attempts == 2
    assert counts.booking_contacts == 1 and counts.conversations == 0
    assert count(SignInAttempt) == 0 and count(LinkAttempt) == 0
    with get_sessionmaker()() as session:
        contacts = session.execute(select(Booking.contact_name, Booking.contact)).all()
    assert sorted(contacts, key=lambda row: row[0] is None) == [
        (markers.name, markers.phone),  # the coming meeting's
        (None, None),  # the meeting 34 days ago
    ]
    assert count(Conversation) == 1

    # A meeting still to come keeps the conversation past its period.
    with get_sessionmaker().begin() as session:
        for booking in session.scalars(select(Booking)):
            booking.slot.ends_at = now + timedelta(days=100)
    assert purge(sessions, tracker, now + timedelta(days=91)).conversations == 0
    with get_sessionmaker().begin() as session:
        for booking in session.scalars(select(Booking)):
            booking.slot.ends_at = now + timedelta(days=3)

    # 89 days on the conversation is still there; 91 days on it is gone, tracker too, and the
    # coming meeting (now long past) has no name or contact left.
    assert purge(sessions, tracker, now + timedelta(days=89)).conversations == 0
    counts = purge(sessions, tracker, now + timedelta(days=91))
    assert counts.conversations == 1 and counts.tracker_events == 4
    assert found_in_database(None, markers) == []
    assert found_in_database(tracker_url, markers) == []
    # Someone else's tracker events, with no conversation of theirs left, go too.
    assert found_in_database(tracker_url, Markers(tag="someone-else")) == []
    # The audit keeps the purge (counts only) and is itself kept two years.
    assert count(AuditEntry) > 0
    purge(sessions, tracker, now + timedelta(days=731))
    assert count(AuditEntry) == 1  # the last purge's own entry


def test_a_dry_run_counts_and_deletes_nothing(
    stores: tuple[TestClient, str], capsys: pytest.CaptureFixture[str]
) -> None:
    client, _tracker_url = stores
    conversation_id = start(client, "hej")
    long_ago = utcnow() - timedelta(days=200)
    with get_sessionmaker().begin() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.created_at = long_ago
        for message in conversation.messages:
            message.created_at = long_ago
        session.add(SignInAttempt(username="anna", succeeded=True, at=long_ago))

    assert lotsen(["data", "purge", "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "conversations: 1" in printed and "sign_in_attempts: 1" in printed
    assert count(Conversation) == 1 and count(SignInAttempt) == 1

    assert lotsen(["data", "purge"]) == 0
    assert "conversations: 1" in capsys.readouterr().out
    assert count(Conversation) == 0 and count(SignInAttempt) == 0


def test_a_municipality_sets_its_own_periods(
    stores: tuple[TestClient, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _tracker_url = stores
    directory = tmp_path / "municipalities"
    directory.mkdir()
    example = (PROJECT_ROOT / "municipalities" / "example.yml").read_text(encoding="utf-8")
    (directory / "example.yml").write_text(
        example + "retention:\n  conversations: 7\n", encoding="utf-8"
    )
    monkeypatch.setenv("LOTSEN_MUNICIPALITIES_DIR", str(directory))
    runtime.reset()
    start(client, "hej")
    counts = purge(get_sessionmaker(), get_tracker_store(), utcnow() + timedelta(days=8))
    assert counts.conversations == 1


def test_one_process_a_day_runs_the_purge(settings_on_both_databases: str) -> None:
    sessions = get_sessionmaker()
    now = utcnow()
    assert claim_daily_purge(sessions, "replica-a", now)
    assert not claim_daily_purge(sessions, "replica-b", now)
    finish_daily_purge(sessions, "replica-a", now)
    assert not claim_daily_purge(sessions, "replica-b", now + timedelta(hours=23))
    assert claim_daily_purge(sessions, "replica-b", now + timedelta(days=1, seconds=1))
    # A replica that died holding the lease holds it only for an hour.
    assert not claim_daily_purge(sessions, "replica-a", now + timedelta(days=1, minutes=30))
    assert claim_daily_purge(sessions, "replica-a", now + timedelta(days=1, hours=2))


def test_the_app_purges_by_itself(
    settings_env: str, fake_rasa: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PURGE_CHECK_INTERVAL_SECONDS", "0.2")
    runtime.reset()
    with get_sessionmaker().begin() as session:
        session.add(
            Conversation(
                id="old",
                token_hash="x",
                municipality="example",
                language="sv",
                created_at=utcnow() - timedelta(days=100),
            )
        )
    with TestClient(create_app()):
        deadline = time.monotonic() + 20
        while count(Conversation) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert count(Conversation) == 0


def test_the_widget_says_how_long_messages_are_kept(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = client.get("/api/v1/widget/config", params={"municipality": "example"}).json()
    assert config["retention_days"] == 90
    directory = tmp_path / "municipalities"
    directory.mkdir()
    example = (PROJECT_ROOT / "municipalities" / "example.yml").read_text(encoding="utf-8")
    (directory / "example.yml").write_text(
        example + "retention:\n  conversations: 30\n", encoding="utf-8"
    )
    monkeypatch.setenv("LOTSEN_MUNICIPALITIES_DIR", str(directory))
    runtime.reset()
    config = client.get("/api/v1/widget/config", params={"municipality": "example"}).json()
    assert config["retention_days"] == 30
