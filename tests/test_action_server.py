"""The action server (started as `make run` starts it) runs no action for a caller
without the secret Rasa sends, and takes edited content without a restart."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.action_server import ACTION_SECRET_HEADER
from bot.settings import PROJECT_ROOT
from tests.support.system import free_port

SECRET = "an-action-server-secret-for-the-test-0123456789"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action server's own directory, with a copy of the content a test may edit."""
    directory: Path = tmp_path_factory.mktemp("actions")
    shutil.copytree(PROJECT_ROOT / "data" / "content", directory / "content")
    return directory


@pytest.fixture(scope="module")
def action_server(workdir: Path) -> Iterator[str]:
    port = free_port()
    env = dict(
        os.environ,
        LOTSEN_ENV_FILE="",
        LOTSEN_ENV="test",
        ACTION_SERVER_PORT=str(port),
        ACTION_SERVER_SECRET=SECRET,
        DATABASE_URL=f"sqlite:///{workdir / 'lotsen.db'}",
        LOTSEN_CONTENT_DIR=str(workdir / "content"),
        LOTSEN_CONTENT_CHECK_SECONDS="0.2",
    )
    log = (workdir / "actions.log").open("ab")
    process = subprocess.Popen(
        [str(PROJECT_ROOT / "scripts" / "run-actions.sh")],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / "actions.log").read_text(errors="replace"))
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


CALL = {
    "next_action": "action_no_such_action",
    "sender_id": "someone-elses-conversation",
    "tracker": {"sender_id": "someone-elses-conversation", "slots": {}, "events": []},
    "domain": {},
    "version": "3.6.21",
}


@pytest.mark.parametrize(
    "headers",
    [{}, {ACTION_SECRET_HEADER: ""}, {ACTION_SECRET_HEADER: "guessed"}, {"X-Other": SECRET}],
)
def test_a_call_without_the_secret_is_refused(action_server: str, headers: dict[str, str]) -> None:
    response = httpx.post(f"{action_server}/webhook", json=CALL, headers=headers, timeout=30)
    assert response.status_code == 403
    assert "action_no_such_action" not in response.text


def test_a_call_with_the_secret_reaches_the_actions(action_server: str) -> None:
    response = httpx.post(
        f"{action_server}/webhook", json=CALL, headers={ACTION_SECRET_HEADER: SECRET}, timeout=30
    )
    # Past the door: rasa-sdk itself answers that there is no such action.
    assert response.status_code == 404
    assert "action_no_such_action" in response.text


def did_you_mean(action_server: str) -> str:
    """What the fallback action says, through the action server, for a message the model
    half-recognised as a question about the integration plan."""
    latest = {
        "text": "plan??",
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [{"name": "ask_integration_plan", "confidence": 0.6}],
        "metadata": {"language": "en", "municipality": "example"},
    }
    call = {
        "next_action": "action_handle_fallback",
        "sender_id": "reload-test",
        "tracker": {
            "sender_id": "reload-test",
            "slots": {},
            "latest_message": latest,
            "events": [{"event": "user", "text": "plan??", "parse_data": latest}],
        },
        "domain": {},
        "version": "3.6.21",
    }
    response = httpx.post(
        f"{action_server}/webhook", json=call, headers={ACTION_SECRET_HEADER: SECRET}, timeout=30
    )
    assert response.status_code == 200, response.text
    return str(response.json()["responses"][0]["text"])


def test_edited_content_reaches_the_running_action_server(
    action_server: str, workdir: Path
) -> None:
    assert did_you_mean(action_server).startswith("I am not sure I understood.")
    fallback = workdir / "content" / "en" / "fallback.yml"
    text = fallback.read_text(encoding="utf-8")
    fallback.write_text(
        text.replace("I am not sure I understood.", "Sorry, I did not quite get that."),
        encoding="utf-8",
    )
    deadline = time.monotonic() + 15
    while not did_you_mean(action_server).startswith("Sorry, I did not quite get that."):
        assert time.monotonic() < deadline, "the action server kept the old content"
        time.sleep(0.2)
