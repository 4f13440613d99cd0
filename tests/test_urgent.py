"""Someone in danger: the emergency number at once and a person, before Rasa sees it."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bot.handoff.urgent import is_urgent
from tests.support.fake_rasa import FakeRasa


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
