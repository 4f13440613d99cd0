"""Rate limits an attacker meets through HTTP: event streams per conversation and per
network (an IPv6 /64), and /readyz, whose details only the host itself sees."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.nlg.render import render_response
from tests.support.addresses import from_address
from tests.support.fake_rasa import FakeRasa


@pytest.fixture
def app(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("RATE_LIMIT_CONVERSATION_STREAMS", "3")
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_STREAMS", "5")
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_READINESS", "4")
    runtime.reset()
    with TestClient(create_app()) as running:
        yield running


def conversation(client: TestClient) -> tuple[str, dict[str, str]]:
    body = client.post("/api/v1/conversations", json={"language": "fi"}).json()
    return body["conversation_id"], {"Authorization": f"Bearer {body['token']}"}


def rate_limited_text(response: Any) -> str:
    seconds = response.headers["Retry-After"]
    return render_response("utter_rate_limited", "fi", None, {"seconds": seconds}).text


def open_stream(client: TestClient, conversation_id: str, headers: dict[str, str]) -> int:
    # An invalid cursor is refused (422) after the limits are counted, so the request
    # never turns into a stream that would hold the test.
    response = client.get(
        f"/api/v1/conversations/{conversation_id}/events", params={"after": "x"}, headers=headers
    )
    return response.status_code


def test_event_streams_opened_per_conversation_are_limited(app: TestClient) -> None:
    person = from_address(app, "192.0.2.1")
    conversation_id, headers = conversation(person)
    statuses = [open_stream(person, conversation_id, headers) for _ in range(3)]
    assert statuses == [422, 422, 422]
    refused = person.get(
        f"/api/v1/conversations/{conversation_id}/events", params={"after": "x"}, headers=headers
    )
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    assert refused.json()["error"]["code"] == "rate_limited"
    # The message is in the conversation's language (Finnish here).
    assert refused.json()["error"]["message"] == rate_limited_text(refused)
    # Another conversation of the same person (the fifth open from the address) still opens.
    other_id, other_headers = conversation(person)
    assert open_stream(person, other_id, other_headers) == 422


def test_event_streams_opened_from_one_ipv6_64_are_limited_together(app: TestClient) -> None:
    statuses = []
    for n in range(6):
        person = from_address(app, f"2001:db8:7:7::{n + 1:x}")
        conversation_id, headers = conversation(person)
        statuses.append(open_stream(person, conversation_id, headers))
    assert statuses == [422] * 5 + [429]
    # Refused before the token is even looked at.
    assert open_stream(from_address(app, "2001:db8:7:7::99"), "x" * 32, {}) == 429
    neighbour = from_address(app, "2001:db8:7:8::1")
    assert open_stream(neighbour, *conversation(neighbour)) == 422


def test_readiness_details_only_to_the_host_and_others_are_limited(app: TestClient) -> None:
    outsider = from_address(app, "203.0.113.5")
    first = outsider.get("/readyz")
    assert first.status_code in (200, 503)
    assert set(first.json()) == {"status"}  # ready or not, and nothing about which part
    statuses = [from_address(app, f"203.0.113.{n}").get("/readyz").status_code for n in (5,) * 4]
    assert statuses[-1] == 429
    host = from_address(app, "127.0.0.1")
    for _ in range(10):
        local = host.get("/readyz")
        assert local.status_code in (200, 503) and "rasa" in local.json()["checks"]
