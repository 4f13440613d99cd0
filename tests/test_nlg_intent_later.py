"""The NLG endpoint answers Rasa first and records the recognised intent afterwards
(bot/nlg/endpoint.py): the write lands on the message Rasa was answering even when a newer
message of the person is stored before it."""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.nlg.intents import record_intent
from tests.test_statistics import app, intents_of, nlg, talk  # noqa: F401 - fixture


def test_a_late_intent_goes_on_the_message_rasa_answered(app: TestClient) -> None:  # noqa: F811
    cid, headers = talk(app, "en", [("What is an integration plan?", "ask_integration_plan")])
    asked_at = utcnow()
    time.sleep(0.01)
    # The person's next message is stored before the first turn's intent is written.
    app.post(f"/api/v1/conversations/{cid}/messages", json={"text": "hmm"}, headers=headers)
    assert intents_of(cid) == ["ask_integration_plan", None]
    # A later write for a turn that was asked before the second message: not on it.
    assert not record_intent(get_sessionmaker(), cid, "greet", asked_at)
    assert intents_of(cid) == ["ask_integration_plan", None]
    # The second turn's own intent, asked after it was stored, lands on it.
    assert nlg(app, cid, "nlu_fallback").status_code == 200
    assert intents_of(cid) == ["ask_integration_plan", "nlu_fallback"]
