"""The review list of what the assistant did not understand: only the municipality's
coordinators see and mark it, every look and mark is audited, a marked message becomes
Rasa NLU training data, and erasure takes the mark with the message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.cli import main
from bot.conversations.store import ConversationStore
from bot.db import get_sessionmaker
from bot.db.models import (
    AuditEntry,
    Coordinator,
    LanguageSource,
    Message,
    MessageTranslation,
    NluReview,
)
from bot.statistics.review import domain_intents, export_reviewed, mark_intent
from tests.support.fake_rasa import FakeRasa
from tests.test_coordinator_web import csrf, handoff_reply, sign_in, user
from tests.test_statistics import talk

NOT_UNDERSTOOD = "Voiko täällä [pitää] koiraa?\nkysyn vain"


@pytest.fixture
def app(client: TestClient, fake_rasa: FakeRasa) -> TestClient:
    fake_rasa.reply = handoff_reply
    return client


def audited(action: str) -> int:
    with get_sessionmaker()() as session:
        found = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        )
        return found or 0


def message_id_in(html: str) -> str:
    found = re.search(r'action="/coordinator/review/(\d+)"', html)
    assert found, html[:500]
    return found.group(1)


def test_a_reviewed_message_becomes_training_data_and_goes_with_erasure(
    app: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cid, headers = talk(app, "fi", [(NOT_UNDERSTOOD, "nlu_fallback")])
    talk(app, "sv", [("Vad är integrationsplanen?", "ask_integration_plan")])

    # A coordinator of another municipality neither sees nor marks it.
    user("olle", municipality="elsewhere")
    sign_in(app, "olle")
    theirs = app.get("/coordinator/review")
    assert "koiraa" not in theirs.text and "/coordinator/review/" not in theirs.text
    app.cookies.clear()

    user("anna")
    sign_in(app, "anna")
    listed = app.get("/coordinator/review")
    assert listed.status_code == 200 and "koiraa" in listed.text
    assert "integrationsplanen" not in listed.text  # understood: not for review
    assert audited("nlu-review-list") == 2  # olle's look and anna's
    message_id = message_id_in(listed.text)

    app.cookies.clear()
    sign_in(app, "olle")
    olle_token = csrf(app.get("/coordinator/review").text)
    refused = app.post(
        f"/coordinator/review/{message_id}",
        data={"csrf_token": olle_token, "intent": "ask_leisure"},
    )
    assert refused.status_code == 404
    app.cookies.clear()
    sign_in(app, "anna")
    token = csrf(app.get("/coordinator/review").text)

    not_an_intent = app.post(
        f"/coordinator/review/{message_id}", data={"csrf_token": token, "intent": "drop_tables"}
    )
    assert not_an_intent.status_code == 404
    without_token = app.post(f"/coordinator/review/{message_id}", data={"intent": "ask_leisure"})
    assert without_token.status_code == 403
    marked = app.post(
        f"/coordinator/review/{message_id}", data={"csrf_token": token, "intent": "ask_leisure"}
    )
    assert marked.status_code == 200 and "Markeringen sparades" in marked.text
    assert audited("nlu-review-mark") == 1
    assert '<option value="ask_leisure" selected>' in marked.text

    out = tmp_path / "reviewed"
    assert main(["nlu", "export-reviewed", "--out", str(out)]) == 0
    written = yaml.safe_load((out / "fi" / "reviewed.yml").read_text(encoding="utf-8"))
    # The shape Rasa 3.x reads as NLU training data.
    assert written["version"] == "3.1"
    assert written["nlu"] == [
        {"intent": "ask_leisure", "examples": "- Voiko täällä (pitää) koiraa? kysyn vain\n"}
    ]
    for item in written["nlu"]:
        assert item["intent"] in domain_intents()
        assert all(line.startswith("- ") for line in item["examples"].splitlines())
    assert not (out / "sv").exists()

    # The person erases the conversation: the mark goes with the message.
    assert app.delete(f"/api/v1/conversations/{cid}", headers=headers).status_code == 204
    with get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(NluReview)) == 0
    again = tmp_path / "again"
    capsys.readouterr()
    assert main(["nlu", "export-reviewed", "--out", str(again)]) == 0
    assert not again.exists() and "no reviewed messages" in capsys.readouterr().out
    assert "koiraa" not in app.get("/coordinator/review").text


def test_a_message_in_a_translated_language_is_exported_as_the_english_rasa_read(
    settings_env: str, tmp_path: Path
) -> None:
    sessions = get_sessionmaker()
    view, _ = ConversationStore(sessions).create(
        channel="api", municipality="example", language="ru", language_source=LanguageSource.CHOSEN
    )
    with sessions.begin() as session:
        message = Message(
            conversation_id=view.id, direction="in", sender="user", text="где жить собаке",
            language="ru", status="processed", intent="nlu_fallback",
        )  # fmt: skip
        session.add(message)
        session.flush()
        session.add(
            MessageTranslation(message_id=message.id, language="en", text="where [dog] lives")
        )
        coordinator = Coordinator(municipality="example", username="c", display_name="C")
        session.add(coordinator)
        session.flush()
        assert mark_intent(
            session, "example", message.id, "ask_housing", coordinator_id=coordinator.id, actor="t"
        )
        assert not mark_intent(
            session,
            "elsewhere",
            message.id,
            "ask_housing",
            coordinator_id=coordinator.id,
            actor="t",
        )
    assert export_reviewed(sessions, tmp_path) == {"en": 1}
    written = yaml.safe_load((tmp_path / "en" / "reviewed.yml").read_text(encoding="utf-8"))
    assert written["nlu"] == [{"intent": "ask_housing", "examples": "- where (dog) lives\n"}]
    assert not (tmp_path / "ru").exists()
