"""The action server (started as `make run` starts it) runs no action for a caller
without the secret Rasa sends."""

from __future__ import annotations

import os
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
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("actions")
    port = free_port()
    env = dict(
        os.environ,
        LOTSEN_ENV_FILE="",
        LOTSEN_ENV="test",
        ACTION_SERVER_PORT=str(port),
        ACTION_SERVER_SECRET=SECRET,
        DATABASE_URL=f"sqlite:///{workdir / 'lotsen.db'}",
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
