"""Health for a load balancer: /readyz keeps a replica in rotation while Rasa is down (it
still stores, answers politely and serves the coordinator app) and takes it out when its
database is gone; which component is down only for the host itself."""

from __future__ import annotations

from starlette.testclient import TestClient

from bot import runtime
from bot.db import ENGINE, make_engine
from tests.support.addresses import from_address
from tests.support.fake_rasa import FakeRasa
from tests.test_api import send, start, stored_messages
from tests.test_coordinator_web import sign_in, user


def test_rasa_down_the_replica_stays_ready_stores_answers_and_serves_coordinators(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    user("anna")
    fake_rasa.stop()
    balancer = from_address(client, "10.0.0.2")
    ready = balancer.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
    conversation_id, headers = start(client, language="fi")
    answered = send(client, conversation_id, headers, text="Mikä on kotoutumissuunnitelma?")
    assert answered.status_code == 200
    assert answered.json()["messages"][0]["text"]  # the polite "try again shortly"
    first = stored_messages(conversation_id)[0]
    assert (first.sender, first.text) == ("user", "Mikä on kotoutumissuunnitelma?")
    assert sign_in(client, "anna").status_code == 303
    assert client.get("/coordinator/").status_code == 200
    operator = from_address(client, "127.0.0.1").get("/readyz").json()
    assert operator["checks"]["rasa"] == "unreachable"
    assert operator["checks"]["action_server"] == "unreachable"
    assert operator["degraded"] is True and operator["status"] == "ready"


def test_database_down_the_replica_is_not_ready(client: TestClient) -> None:
    assert from_address(client, "10.0.0.2").get("/readyz").status_code == 200
    # Nothing listens on port 9: every connection is refused.
    runtime.current().replace(
        ENGINE, make_engine("postgresql+psycopg2://postgres@127.0.0.1:9/gone")
    )
    balancer = from_address(client, "10.0.0.2").get("/readyz")
    assert (balancer.status_code, balancer.json()) == (503, {"status": "not ready"})
    operator = from_address(client, "127.0.0.1").get("/readyz")
    assert operator.status_code == 503
    assert operator.json()["checks"]["database"].startswith("error")
    assert client.get("/healthz").status_code == 200  # alive: restarting would not help
