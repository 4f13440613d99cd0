"""Content and municipality files edited while the app runs: the running app answers with
the new text within a few seconds, without a restart; a broken edit keeps the old content
whole and is logged as an error."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.settings import PROJECT_ROOT
from tests.support.fake_rasa import FakeRasa
from tests.test_nlg_endpoint import nlg, rasa_body


@pytest.fixture
def editable(
    fake_rasa: FakeRasa, settings_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Path, Path]]:
    content = tmp_path / "content"
    municipalities = tmp_path / "municipalities"
    shutil.copytree(PROJECT_ROOT / "data" / "content", content)
    shutil.copytree(PROJECT_ROOT / "municipalities", municipalities)
    monkeypatch.setenv("LOTSEN_CONTENT_DIR", str(content))
    monkeypatch.setenv("LOTSEN_MUNICIPALITIES_DIR", str(municipalities))
    monkeypatch.setenv("LOTSEN_CONTENT_CHECK_SECONDS", "0.1")
    runtime.reset()
    with TestClient(create_app()) as client:
        yield client, content, municipalities


def greeting(client: TestClient) -> str:
    answer: dict[str, Any] = nlg(client, rasa_body("utter_greet", {"language": "en"})).json()
    return str(answer["text"])


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not reloaded in time"
        time.sleep(0.1)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_an_edited_answer_and_municipality_are_live_without_a_restart(
    editable: tuple[TestClient, Path, Path],
) -> None:
    client, content, municipalities = editable
    assert greeting(client).startswith("Hello! I am Lotsen")
    assert "Exempelby municipality (example)" in greeting(client)
    edit(content / "en" / "conversation.yml", "Hello! I am Lotsen", "Good day! I am Lotsen")
    edit(
        municipalities / "example.yml",
        "en: Exempelby municipality (example)",
        "en: Exempelby town (edited)",
    )
    eventually(lambda: greeting(client).startswith("Good day! I am Lotsen"))
    assert "Exempelby town (edited)" in greeting(client)


def test_a_broken_edit_keeps_the_old_content_whole_and_logs_an_error(
    editable: tuple[TestClient, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client, content, municipalities = editable
    caplog.set_level(logging.ERROR, logger="bot.content_reload")
    # A good edit of the answers and a broken municipality file at the same time: neither
    # is taken, so no process answers half new, half old.
    edit(content / "en" / "conversation.yml", "Hello! I am Lotsen", "Good day! I am Lotsen")
    edit(municipalities / "example.yml", "id: example", "id: [broken")
    eventually(lambda: any("do not load" in r.getMessage() for r in caplog.records))
    time.sleep(0.3)
    assert greeting(client).startswith("Hello! I am Lotsen")
    assert "Exempelby municipality (example)" in greeting(client)
    # Mended: the next look takes both.
    edit(municipalities / "example.yml", "id: [broken", "id: example")
    eventually(lambda: greeting(client).startswith("Good day! I am Lotsen"))


def test_a_broken_answer_file_keeps_the_old_answers(
    editable: tuple[TestClient, Path, Path], caplog: pytest.LogCaptureFixture
) -> None:
    client, content, _ = editable
    caplog.set_level(logging.ERROR, logger="bot.content_reload")
    (content / "en" / "broken.yml").write_text("utter_greet:\n  - text: [", encoding="utf-8")
    eventually(lambda: any("do not load" in r.getMessage() for r in caplog.records))
    assert greeting(client).startswith("Hello! I am Lotsen")
    assert client.get("/healthz").status_code == 200
