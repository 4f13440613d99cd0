"""Rasa's NLG callback: the body Rasa 3.6 posts, and the answer it accepts."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import NLG_TOKEN


def rasa_body(response: str, metadata: dict[str, Any], **arguments: Any) -> dict[str, Any]:
    """Shaped as rasa.core.nlg.callback.nlg_request_format builds it."""
    return {
        "response": response,
        "id": None,
        "arguments": arguments,
        "tracker": {
            "sender_id": "abc",
            "slots": {},
            "latest_message": {"intent": {"name": "greet"}, "text": "hi", "metadata": metadata},
            "events": [],
        },
        "channel": {"name": "rest"},
    }


def nlg(client: TestClient, body: dict[str, Any], token: str = NLG_TOKEN) -> Any:
    return client.post("/nlg", json=body, headers={"Authorization": f"Bearer {token}"})


def test_needs_the_token(client: TestClient) -> None:
    assert nlg(client, rasa_body("utter_greet", {}), token="wrong").status_code == 401
    assert client.post("/nlg", json=rasa_body("utter_greet", {})).status_code == 401
    as_query = client.post(f"/nlg?token={NLG_TOKEN}", json=rasa_body("utter_greet", {}))
    assert as_query.status_code == 401


def test_renders_in_the_language_of_the_message_metadata(client: TestClient) -> None:
    texts = {
        language: nlg(client, rasa_body("utter_greet", {"language": language})).json()
        for language in ("sv", "fi", "uk", "en")
    }
    assert len({answer["text"] for answer in texts.values()}) == 4
    assert "Lotsen" in texts["en"]["text"]
    # The municipality's settings are filled in, per language.
    assert "Exempelby municipality (example)" in texts["en"]["text"]
    assert texts["en"]["buttons"][0] == {
        "title": "The integration plan",
        "payload": "/ask_integration_plan",
    }
    # And which content it is, for the coordinator's reading (bot/nlg/origin.py).
    assert set(texts["sv"]) == {"text", "buttons", "lotsen_response"}
    assert texts["sv"]["lotsen_response"] == {"name": "utter_greet", "arguments": {}}


def test_an_argument_language_wins_over_the_metadata(client: TestClient) -> None:
    english = nlg(client, rasa_body("utter_language_changed", {"language": "en"})).json()
    ukrainian = nlg(
        client, rasa_body("utter_language_changed", {"language": "en"}, language="uk")
    ).json()
    assert english["text"] != ukrainian["text"]
    assert ukrainian["lotsen_response"]["arguments"] == {"language": "uk"}
    assert any("\u0400" <= ch <= "\u04ff" for ch in ukrainian["text"])


def test_unknown_language_or_municipality_falls_back(client: TestClient) -> None:
    default = nlg(client, rasa_body("utter_goodbye", {"language": "sv"})).json()
    assert nlg(client, rasa_body("utter_goodbye", {"language": "de"})).json() == default
    assert nlg(client, rasa_body("utter_goodbye", {})).json() == default
    unknown_place = rasa_body("utter_greet", {"language": "sv", "municipality": "nowhere"})
    assert "Exempelby" in nlg(client, unknown_place).json()["text"]


def test_unknown_response_gets_the_fallback_answer(client: TestClient) -> None:
    fallback = nlg(client, rasa_body("utter_default", {"language": "fi"})).json()
    assert nlg(client, rasa_body("utter_no_such_thing", {"language": "fi"})).json() == fallback


def test_bad_bodies(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {NLG_TOKEN}"}
    assert client.post("/nlg", content=b"{", headers=headers).status_code == 400
    assert nlg(client, {"arguments": {}}).status_code == 400
    assert client.post("/nlg", json=[1], headers=headers).status_code == 400
