"""Rate limits and open event streams shared by several app processes through the real Redis
at 127.0.0.1:6379 (LOTSEN_REDIS_URL), each test under a key prefix of its own that is
removed after it; and the same limits in memory when no Redis is configured."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.settings import PROJECT_ROOT
from tests.support.addresses import from_address
from tests.support.fake_rasa import FakeRasa
from tests.support.system import free_port

REDIS_URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_prefix(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    prefix = f"lotsen-test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()  # the test fails here, clearly, when Redis is not running
    monkeypatch.setenv("LOTSEN_REDIS_URL", REDIS_URL)
    monkeypatch.setenv("LOTSEN_REDIS_PREFIX", prefix)
    yield prefix
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


@contextlib.contextmanager
def served(app: Starlette) -> Iterator[str]:
    """The app on a real port in this process (streams need one)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_two_app_processes_share_one_limit(
    fake_rasa: FakeRasa, settings_env: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_CONVERSATIONS", "3")
    monkeypatch.setenv("RATE_LIMIT_CONVERSATION_MESSAGES", "2")
    runtime.reset()
    with TestClient(create_app()) as first, TestClient(create_app()) as second:
        a, b = from_address(first, "192.0.2.7"), from_address(second, "192.0.2.7")
        statuses = [
            client.post("/api/v1/conversations", json={"language": "fi"}).status_code
            for client in (a, b, a, b)
        ]
        # Three in the window across both; in memory each would have allowed all four.
        assert statuses == [201, 201, 201, 429]
        # Another address is counted apart, in both.
        created = from_address(second, "192.0.2.8").post("/api/v1/conversations", json={}).json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        url = f"/api/v1/conversations/{created['conversation_id']}/messages"
        sent = [c.post(url, json={"text": "hei"}, headers=headers) for c in (first, second, first)]
        assert [r.status_code for r in sent] == [200, 200, 429]
        assert sent[-1].json()["error"]["code"] == "rate_limited"
        assert int(sent[-1].headers["Retry-After"]) >= 1
        # Deleting the conversation forgets its count everywhere (nothing left in Redis).
        assert (
            second.delete(
                f"/api/v1/conversations/{created['conversation_id']}", headers=headers
            ).status_code
            == 204
        )
    keys = {key.decode() for key in redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}*")}
    assert keys and all(key.startswith(f"{redis_prefix}:limits") for key in keys)
    assert not any("conversation_messages" in key for key in keys)
    # Addresses and conversation ids reach Redis only as keyed pseudonyms.
    assert not any("192.0.2" in key or created["conversation_id"] in key for key in keys)


def test_when_redis_does_not_answer_the_limits_let_people_through(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSEN_REDIS_URL", "redis://127.0.0.1:9/0")  # nothing listens
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_CONVERSATIONS", "1")
    runtime.reset()
    with TestClient(create_app()) as client:
        created = [client.post("/api/v1/conversations", json={}) for _ in range(2)]
        assert [r.status_code for r in created] == [201, 201]
        headers = {"Authorization": f"Bearer {created[0].json()['token']}"}
        url = f"/api/v1/conversations/{created[0].json()['conversation_id']}/messages"
        assert client.post(url, json={"text": "hei"}, headers=headers).status_code == 200


def test_without_redis_each_process_counts_on_its_own(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_CONVERSATIONS", "3")
    runtime.reset()
    with TestClient(create_app()) as first, TestClient(create_app()) as second:
        a, b = from_address(first, "192.0.2.9"), from_address(second, "192.0.2.9")
        statuses = [a.post("/api/v1/conversations", json={}).status_code for _ in range(4)]
        assert statuses == [201, 201, 201, 429]
        assert b.post("/api/v1/conversations", json={}).status_code == 201


def test_coordinator_sign_in_limit_is_shared(
    fake_rasa: FakeRasa, settings_env: str, redis_prefix: str
) -> None:
    from bot.coordinator.signin import SIGN_IN_FORM_LIMIT

    runtime.reset()
    with TestClient(create_app()) as first, TestClient(create_app()) as second:
        for n in range(SIGN_IN_FORM_LIMIT):
            client = from_address(first if n % 2 else second, "198.51.100.4")
            assert client.post("/coordinator/login", data={}).status_code != 429
        assert (
            from_address(first, "198.51.100.4").post("/coordinator/login", data={}).status_code
            == 429
        )


def open_stream(http: httpx.Client, stack: contextlib.ExitStack, url: str, token: str) -> int:
    response = stack.enter_context(
        http.stream("GET", url, headers={"Authorization": f"Bearer {token}"})
    )
    if response.status_code == 200:
        lines = response.iter_lines()
        assert next(lines) == ": open"
        stack.callback(lambda: lines)  # kept: dropping the iterator would close the stream
    return response.status_code


def test_open_streams_are_counted_across_processes(
    fake_rasa: FakeRasa, settings_env: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_EVENTS_POLL_SECONDS", "0.05")
    monkeypatch.setenv("WIDGET_EVENTS_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("LOTSEN_STREAM_SLOT_SECONDS", "1.5")
    monkeypatch.setenv("RATE_LIMIT_CONVERSATION_STREAMS", "100")
    runtime.reset()
    with served(create_app()) as first, served(create_app()) as second:
        created = httpx.post(f"{first}/api/v1/conversations", json={"channel": "web"}).json()
        path = f"/api/v1/conversations/{created['conversation_id']}/events"
        token = created["token"]
        with (
            httpx.Client(timeout=10) as http,
            contextlib.ExitStack() as held,
        ):
            assert open_stream(http, held, first + path, token) == 200
            assert open_stream(http, held, second + path, token) == 200
            assert open_stream(http, held, first + path, token) == 200
            # Longer than a slot lives: the open streams renew theirs.
            time.sleep(2.0)
            with contextlib.ExitStack() as refused:
                assert open_stream(http, refused, second + path, token) == 429
        # Closed streams give their slots back.
        deadline = time.monotonic() + 5
        with httpx.Client(timeout=10) as http, contextlib.ExitStack() as again:
            while (status := open_stream(http, again, second + path, token)) != 200:
                assert time.monotonic() < deadline, status
                time.sleep(0.1)


def test_a_dead_process_gives_its_stream_slots_back(
    fake_rasa: FakeRasa, settings_env: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_EVENTS_POLL_SECONDS", "0.05")
    monkeypatch.setenv("WIDGET_EVENTS_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("LOTSEN_STREAM_SLOT_SECONDS", "2")
    # Opening is limited a minute too; this test opens more often than a person would.
    monkeypatch.setenv("RATE_LIMIT_CONVERSATION_STREAMS", "100")
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_STREAMS", "100")
    runtime.reset()
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bot.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
        ],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
    )
    dying = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{dying}/healthz", timeout=1).status_code == 200:
                    break
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        with served(create_app()) as alive:
            created = httpx.post(f"{alive}/api/v1/conversations", json={"channel": "web"}).json()
            path = f"/api/v1/conversations/{created['conversation_id']}/events"
            token = created["token"]
            http = httpx.Client(timeout=10)
            held = contextlib.ExitStack()
            for _ in range(3):
                assert open_stream(http, held, dying + path, token) == 200
            with httpx.Client(timeout=10) as other, contextlib.ExitStack() as refused:
                assert open_stream(other, refused, alive + path, token) == 429
            # Killed: no `finally` runs in it, nothing releases its three slots.
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
            with contextlib.suppress(httpx.HTTPError):
                held.close()
            http.close()
            killed_at = time.monotonic()
            with httpx.Client(timeout=10) as other, contextlib.ExitStack() as opened:
                while (status := open_stream(other, opened, alive + path, token)) != 200:
                    assert status == 429
                    assert time.monotonic() - killed_at < 10
                    time.sleep(0.25)
            # Not before the slots' time was up.
            assert time.monotonic() - killed_at > 1.0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
