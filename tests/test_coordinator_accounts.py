"""Staff accounts as an attacker and as the owner meet them over HTTP: a lockout no
stranger can turn against the owner, a per-network limit on the sign-in form, passwords
hashed in a pool of their own, capped request bodies, deactivation, password changes that
end sessions, and calendar feeds that expire, can be revoked and never reach a log."""

from __future__ import annotations

import io
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot import cli, runtime
from bot.app import create_app
from bot.bookings.admin import new_calendar_token
from bot.coordinator import auth
from bot.coordinator.rendering import texts
from bot.db import get_sessionmaker
from bot.db.models import Coordinator, SignInAttempt
from tests.test_coordinator_web import PASSWORD, csrf, user

STRANGER = ("203.0.113.7", 40000)
OWNER_ELSEWHERE = ("198.51.100.9", 40001)
OWNER_OFFICE = ("2001:db8:1:2::10", 40002)


def client_from(address: tuple[str, int]) -> TestClient:
    return TestClient(create_app(), client=address)


@pytest.fixture
def clients(settings_env: str, fake_rasa: Any) -> Iterator[dict[str, TestClient]]:
    """One app, reached from three networks (each its own cookie jar)."""
    runtime.reset()
    app = create_app()
    made = {
        name: TestClient(app, client=address)
        for name, address in (
            ("stranger", STRANGER),
            ("owner", OWNER_ELSEWHERE),
            ("office", OWNER_OFFICE),
        )
    }
    with made["stranger"], made["owner"], made["office"]:
        yield made


def try_sign_in(client: TestClient, username: str, password: str = PASSWORD) -> httpx.Response:
    page = client.get("/coordinator/login")
    return client.post(
        "/coordinator/login",
        data={"username": username, "password": password, "csrf_token": csrf(page.text)},
        follow_redirects=False,
    )


def signed_in_ok(client: TestClient) -> bool:
    return client.get("/coordinator/", follow_redirects=False).status_code == 200


def attempts() -> int:
    with get_sessionmaker()() as session:
        return session.scalar(select(func.count()).select_from(SignInAttempt)) or 0


def test_the_owner_signs_in_while_a_stranger_keeps_failing(
    clients: dict[str, TestClient],
) -> None:
    user("anna")
    for _ in range(12):
        assert try_sign_in(clients["stranger"], "anna", "a wrong guess!!").status_code == 401
    # The stranger is locked out, even with the right password ...
    assert try_sign_in(clients["stranger"], "anna").status_code == 401
    # ... and the owner, from another network, is not.
    assert try_sign_in(clients["owner"], "anna").status_code == 303
    assert signed_in_ok(clients["owner"])
    # No address is stored, only a keyed hash of its network.
    with get_sessionmaker()() as session:
        stored = set(session.scalars(select(SignInAttempt.address)))
    assert stored and not any(
        value and ("203.0.113" in value or "198.51.100" in value) for value in stored
    )


def test_attempts_during_a_lockout_do_not_extend_it(
    clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    user("anna")
    start = datetime.now(UTC)
    monkeypatch.setattr(auth, "utcnow", lambda: start)
    for _ in range(auth.LOCKOUT_FAILURES):
        try_sign_in(clients["stranger"], "anna", "a wrong guess!!")
    counted = attempts()
    # Ten minutes on, the stranger keeps trying: refused, and not counted.
    monkeypatch.setattr(auth, "utcnow", lambda: start + timedelta(minutes=10))
    for _ in range(auth.LOCKOUT_FAILURES):
        assert try_sign_in(clients["stranger"], "anna").status_code == 401
    assert attempts() == counted
    # When the first failures are fifteen minutes old the lock is over.
    monkeypatch.setattr(auth, "utcnow", lambda: start + auth.LOCKOUT_WINDOW + timedelta(seconds=1))
    assert try_sign_in(clients["stranger"], "anna").status_code == 303


def test_guesses_from_many_networks_lock_all_but_the_owners_known_network(
    settings_env: str, fake_rasa: Any
) -> None:
    user("anna")
    runtime.reset()
    app = create_app()
    with TestClient(app, client=OWNER_OFFICE) as office:
        assert try_sign_in(office, "anna").status_code == 303  # the owner's usual network
        office.cookies.clear()
        for n in range(auth.USERNAME_LOCKOUT_FAILURES):
            with TestClient(app, client=(f"192.0.2.{n + 1}", 40000)) as guesser:
                try_sign_in(guesser, "anna", "a wrong guess!!")
        with TestClient(app, client=("192.0.2.200", 40000)) as new_network:
            assert try_sign_in(new_network, "anna").status_code == 401
        # Another address in the owner's /64 is the same known network.
        assert try_sign_in(office, "anna").status_code == 303


def test_the_sign_in_form_is_limited_per_network(clients: dict[str, TestClient]) -> None:
    from bot.coordinator.signin import SIGN_IN_FORM_LIMIT

    user("anna")
    for _ in range(SIGN_IN_FORM_LIMIT):
        clients["stranger"].post("/coordinator/login", data={"username": "anna"})
    limited = try_sign_in(clients["stranger"], "anna")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert texts("sv")["too_many_sign_ins"] in limited.text
    assert texts("fi")["too_many_sign_ins"] in limited.text
    # Another network is not affected.
    assert try_sign_in(clients["owner"], "anna").status_code == 303


def test_passwords_are_checked_in_a_pool_of_their_own(
    clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    user("anna")
    threads: list[str] = []
    real = auth._hasher

    class RecordingHasher:
        def hash(self, password: str) -> str:
            return real.hash(password)

        def verify(self, stored: str, password: str) -> bool:
            threads.append(threading.current_thread().name)
            return real.verify(stored, password)

    monkeypatch.setattr(auth, "_hasher", RecordingHasher())
    try_sign_in(clients["owner"], "anna")
    try_sign_in(clients["owner"], "nobody")
    assert len(threads) == 2
    assert all(name.startswith("lotsen-password") for name in threads), threads
    assert auth.password_pool()._max_workers == auth.PASSWORD_WORKERS


def test_request_bodies_are_capped_before_parsing(clients: dict[str, TestClient]) -> None:
    from bot.coordinator.signin import COORDINATOR_MAX_BODY_BYTES

    user("anna")
    client = clients["owner"]
    token = csrf(client.get("/coordinator/login").text)
    huge = {"username": "anna", "password": "x" * COORDINATOR_MAX_BODY_BYTES, "csrf_token": token}
    response = client.post("/coordinator/login", data=huge)
    assert response.status_code == 413
    assert texts("sv")["request_too_large"] in response.text
    # Without a Content-Length (chunked), counted as it arrives.
    chunks = (b"username=anna&password=" + b"x" * 8192 for _ in range(20))
    response = client.post(
        "/coordinator/login",
        content=chunks,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert attempts() == 0
    # Signed in, a huge form is refused before the CSRF check reads it.
    assert try_sign_in(client, "anna").status_code == 303
    response = client.post("/coordinator/settings", data={"language": "fi", "note": "x" * 100_000})
    assert response.status_code == 413


def test_deactivation_ends_sessions_and_the_calendar_feed_at_once(
    clients: dict[str, TestClient], capsys: pytest.CaptureFixture[str]
) -> None:
    user("anna")
    with get_sessionmaker().begin() as session:
        token = new_calendar_token(session, "anna", datetime.now(UTC))
    owner, office = clients["owner"], clients["office"]
    assert try_sign_in(owner, "anna").status_code == 303
    assert try_sign_in(office, "anna").status_code == 303
    assert owner.get(f"/calendar/{token}.ics").status_code == 200

    assert cli.main(["user", "deactivate", "anna"]) == 0
    assert not signed_in_ok(owner) and not signed_in_ok(office)
    assert owner.get(f"/calendar/{token}.ics").status_code == 404
    assert try_sign_in(owner, "anna").status_code == 401

    assert cli.main(["user", "reactivate", "anna"]) == 0
    assert try_sign_in(owner, "anna").status_code == 303
    assert cli.main(["user", "deactivate", "nobody"]) == 1


def test_a_password_change_ends_every_session(
    clients: dict[str, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    user("anna")
    owner, office = clients["owner"], clients["office"]
    try_sign_in(owner, "anna")
    try_sign_in(office, "anna")
    assert signed_in_ok(owner) and signed_in_ok(office)
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
    assert (
        cli.main(
            ["user", "create", "--username", "anna", "--name", "Anna Example", "--password-stdin"]
        )
        == 0
    )
    assert not signed_in_ok(owner) and not signed_in_ok(office)
    assert try_sign_in(owner, "anna", "a brand new password").status_code == 303


def test_calendar_feeds_expire_are_renewed_in_the_app_and_can_be_revoked(
    clients: dict[str, TestClient],
) -> None:
    anna = user("anna")
    with get_sessionmaker().begin() as session:
        old = new_calendar_token(session, "anna", datetime.now(UTC))
    client = clients["owner"]
    assert client.get(f"/calendar/{old}.ics").status_code == 200
    with get_sessionmaker().begin() as session:
        coordinator = session.get_one(Coordinator, anna)
        coordinator.calendar_token_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.get(f"/calendar/{old}.ics").status_code == 404

    try_sign_in(client, "anna")
    settings_page = client.get("/coordinator/settings")
    renewed = client.post(
        "/coordinator/settings/calendar-feed", data={"csrf_token": csrf(settings_page.text)}
    )
    assert renewed.status_code == 200 and renewed.headers["cache-control"] == "no-store"
    new = renewed.text.split("/calendar/", 1)[1].split(".ics", 1)[0]
    assert new != old
    assert client.get(f"/calendar/{new}.ics").status_code == 200
    assert client.get(f"/calendar/{old}.ics").status_code == 404
    # The settings page never shows the secret again.
    assert new not in client.get("/coordinator/settings").text

    client.post(
        "/coordinator/settings/calendar-feed/revoke",
        data={"csrf_token": csrf(settings_page.text)},
    )
    assert client.get(f"/calendar/{new}.ics").status_code == 404
    assert cli.main(["calendar-url", "anna", "--revoke"]) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_feed_secret_never_reaches_the_access_log(
    settings_env: str, fake_rasa: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    user("anna")
    with get_sessionmaker().begin() as session:
        token = new_calendar_token(session, "anna", datetime.now(UTC))
    runtime.reset()
    port = free_port()
    # uvicorn as the run script starts it: its own logging configuration, the app factory.
    server = uvicorn.Server(
        uvicorn.Config("bot.app:create_app", factory=True, host="127.0.0.1", port=port)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/calendar/{token}.ics").status_code == 200
        assert httpx.get(f"{base}/calendar/{token}.ics?x=1").status_code == 200
        assert httpx.get(f"{base}/calendar/not-a-token.ics").status_code == 404
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    output = capfd.readouterr()
    logged = output.out + output.err
    assert "/calendar/[redacted].ics" in logged
    assert token not in logged and "not-a-token" not in logged
    logging.getLogger("uvicorn.access").handlers.clear()
