"""Right of access (issue 16): one JSON document of everything held about a person, from the
CLI and from the coordinator app (audited, own municipality only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.cli import main as lotsen
from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, ClientCase
from tests.support.personal_data import Markers, plant_tracker_events
from tests.test_coordinator_web import sign_in, user
from tests.test_privacy_erasure import converse


def assert_everything_in(document: dict[str, Any], markers: Markers, conversation_id: str) -> None:
    text = json.dumps(document, ensure_ascii=False)
    for marker in (markers.name, markers.phone, markers.email, markers.sentence):
        assert marker in text, marker
    conversations = document.get("conversations") or [document["conversation"]]
    (conversation,) = [c for c in conversations if c["id"] == conversation_id]
    assert any(m["translations"] for m in conversation["messages"])
    assert conversation["coordinator_notes"] and conversation["handoff_events"]
    assert conversation["assistant_memory"] and len(conversation["bookings"]) == 2
    assert "token_hash" not in conversation


@pytest.mark.parametrize("by", ["conversation", "case"])
def test_the_cli_exports_one_json_document(
    stores: tuple[TestClient, str], by: str, tmp_path: Path
) -> None:
    client, tracker_url = stores
    markers = Markers()
    conversation_id, _headers, _slot = converse(client, markers)
    plant_tracker_events(tracker_url, conversation_id, markers)
    with get_sessionmaker()() as session:
        case_number = session.scalars(select(ClientCase.case_number)).one()
    output = tmp_path / "export.json"

    target = conversation_id if by == "conversation" else case_number
    assert lotsen(["data", "export", f"--{by}", target, "--output", str(output)]) == 0

    document = json.loads(output.read_text(encoding="utf-8"))
    assert_everything_in(document, markers, conversation_id)
    if by == "case":
        assert document["case"]["case_number"] == case_number
        assert any(entry["action"] == "booking_made" for entry in document["audit"])
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    assert lotsen(["data", "export", f"--{by}", "no-such-thing"]) == 1


def test_the_coordinator_downloads_the_export_of_a_conversation_and_a_case(
    stores: tuple[TestClient, str],
) -> None:
    client, tracker_url = stores
    markers = Markers()
    conversation_id, _headers, _slot = converse(client, markers)
    plant_tracker_events(tracker_url, conversation_id, markers)
    with get_sessionmaker()() as session:
        case_id = session.scalars(select(ClientCase.id)).one()
    conversation_url = f"/coordinator/conversations/{conversation_id}/export"
    case_url = f"/coordinator/cases/{case_id}/export"

    user("elsa", municipality="elsewhere")
    sign_in(client, "elsa")
    assert client.get(conversation_url).status_code == 404
    assert client.get(case_url).status_code == 404
    client.cookies.clear()

    user("anna")
    sign_in(client, "anna")
    assert conversation_url in client.get(f"/coordinator/conversations/{conversation_id}").text
    assert case_url in client.get(f"/coordinator/cases/{case_id}").text
    for url in (conversation_url, case_url):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["content-disposition"].startswith("attachment")
        assert response.headers["cache-control"] == "no-store"
        assert_everything_in(response.json(), markers, conversation_id)
    with get_sessionmaker()() as session:
        exports = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "export").order_by(AuditEntry.id)
        ).all()
    assert [(e.actor, e.case_id) for e in exports] == [("coordinator:anna", case_id)] * 2
    assert all(markers.tag not in (e.detail or "") for e in exports)
