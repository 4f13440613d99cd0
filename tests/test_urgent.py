"""Someone in danger: the emergency number at once and a person, before Rasa sees it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.coordinator.rendering import texts
from bot.handoff.urgent import is_urgent
from tests.support.fake_rasa import FakeRasa
from tests.test_coordinator_web import csrf, handoff_reply, sign_in, user


@pytest.mark.parametrize(
    "text",
    [
        "Min man slår mig och jag är rädd",
        "det förekommer familjevåld hemma",
        "mies uhkailee minua",
        "meillä on perheväkivaltaa",
        "Чоловік б'є мене, що робити?",
        "я не хочу жити",
        "Муж бьет меня",
        "I think about suicide",
        "my partner threatened me",
    ],
)
def test_urgent_messages_are_recognised(text: str) -> None:
    assert is_urgent(text)


@pytest.mark.parametrize(
    "text",
    [
        "What is the integration plan?",
        "I like grapes and drapes",
        "Miten saan kotoutumissuunnitelman?",
        "Як записатися на курси мови?",
        "Var ligger hotellet?",
    ],
)
def test_ordinary_messages_are_not(text: str) -> None:
    assert not is_urgent(text)


def test_an_urgent_message_goes_to_a_person_with_the_emergency_number(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    created = client.post("/api/v1/conversations", json={"language": "uk"}).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    cid = created["conversation_id"]
    reply = client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "Чоловік б'є мене, я боюся"},
        headers=headers,
    ).json()
    assert reply["state"] == "waiting"
    (message,) = reply["messages"]
    assert "112" in message["text"] and "небезпека" in message["text"]
    assert fake_rasa.received == []


class Person:
    """A conversation through the API from one client address (via a trusted proxy)."""

    def __init__(self, proxy: TestClient, address: str) -> None:
        self.proxy, self.forwarded = proxy, {"X-Forwarded-For": address}
        created = proxy.post(
            "/api/v1/conversations", json={"language": "en"}, headers=self.forwarded
        ).json()
        self.id = created["conversation_id"]
        self.headers = {"Authorization": f"Bearer {created['token']}", **self.forwarded}

    def send(self, **body: str) -> Any:
        url = f"/api/v1/conversations/{self.id}/messages"
        return self.proxy.post(url, json=body, headers=self.headers).json()


@pytest.fixture
def proxy(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("LOTSEN_TRUSTED_PROXIES", "10.0.0.1")
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_CONVERSATIONS", "1000")
    runtime.reset()
    fake_rasa.reply = handoff_reply
    with TestClient(create_app(), client=("10.0.0.1", 50000)) as client:
        user("anna")
        sign_in(client, "anna")
        yield client


def queue_order(proxy: TestClient) -> list[str]:
    return re.findall(r'data-conversation="([0-9a-f]+)"', proxy.get("/coordinator/").text)


def test_urgent_words_lead_the_queue_only_once_per_conversation(proxy: TestClient) -> None:
    alarmist = Person(proxy, "192.0.2.1")
    assert alarmist.send(text="I am in danger")["state"] == "waiting"
    page = proxy.get(f"/coordinator/conversations/{alarmist.id}").text
    proxy.post(f"/coordinator/conversations/{alarmist.id}/take", data={"csrf_token": csrf(page)})
    handed = proxy.post(
        f"/coordinator/conversations/{alarmist.id}/handback",
        data={"csrf_token": csrf(page), "confirmed": "yes"},
    )
    assert handed.status_code == 200
    waiting = Person(proxy, "192.0.2.2")
    assert waiting.send(text="a person please")["state"] == "waiting"
    again = alarmist.send(text="I am in danger, violence")
    assert again["state"] == "waiting" and "112" in again["messages"][0]["text"]
    # The second time the emergency number again, but the queue in turn.
    assert queue_order(proxy) == [waiting.id, alarmist.id]


def test_many_urgent_conversations_from_one_network_are_flagged_not_first(
    proxy: TestClient,
) -> None:
    for n in range(3):
        Person(proxy, f"2001:db8:9:9::{n + 1:x}").send(text="violence")
    earlier = Person(proxy, "192.0.2.50")
    earlier.send(text="a person please")
    flood = Person(proxy, "2001:db8:9:9::ff")
    answer = flood.send(text="violence")
    assert answer["state"] == "waiting" and "112" in answer["messages"][0]["text"]
    elsewhere = Person(proxy, "198.51.100.3")
    elsewhere.send(text="violence")
    order = queue_order(proxy)
    # The fourth from the same /64 waits in turn, behind the earlier request; a person from
    # another network still leads the queue.
    assert order.index(elsewhere.id) < order.index(earlier.id) < order.index(flood.id)
    assert texts("sv")["urgent_many_from_network"] in proxy.get("/coordinator/").text
