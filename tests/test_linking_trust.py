"""Linking a chat to a case, tried through the HTTP API as an attacker would: the budgets
of wrong codes survive a new conversation and count per network (IPv6 by /64) and for the
whole system, a code links only in its own municipality, a new code revokes the older
ones, and a link is announced on the person's other chats and shown to the coordinator.
The real link action runs behind the fake Rasa (tests/support/fake_rasa_actions.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from actions.cases import ActionCaseStatus, ActionLinkAccount
from bot import runtime
from bot.app import create_app
from bot.cases.linking import format_code, issue_code
from bot.coordinator.rendering import texts
from bot.db import get_sessionmaker
from bot.db.models import AuditEntry, ChannelIdentity, LinkCode, utcnow
from bot.nlg.render import render_response
from bot.runtime import get_settings
from tests.support.factories import new_case
from tests.support.fake_rasa import FakeRasa
from tests.support.fake_rasa_actions import actions_reply
from tests.test_coordinator_web import csrf, sign_in, user

PROXY = "10.0.0.1"


@pytest.fixture
def app(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The app behind a trusted reverse proxy (the production shape), which forwards each
    person's own address in X-Forwarded-For."""
    # The API's own rate limits are not what these tests are about.
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_CONVERSATIONS", "1000")
    monkeypatch.setenv("RATE_LIMIT_ADDRESS_MESSAGES", "1000")
    monkeypatch.setenv("LINK_FAILURES_PER_SYSTEM", "12")
    monkeypatch.setenv("LOTSEN_TRUSTED_PROXIES", PROXY)
    runtime.reset()
    fake_rasa.reply = actions_reply(
        [
            (lambda text: "code" in text, ActionLinkAccount(), "link_account"),
            (lambda text: "status" in text, ActionCaseStatus(), "my_case_status"),
        ]
    )
    with TestClient(create_app(), client=(PROXY, 50000)) as proxy:
        yield proxy


class Chat:
    """A person's conversation through the API, from one client address."""

    def __init__(self, proxy: TestClient, address: str, municipality: str = "example") -> None:
        self.http = proxy
        self.forwarded = {"X-Forwarded-For": address}
        created = self.http.post(
            "/api/v1/conversations",
            json={"language": "en", "municipality": municipality},
            headers=self.forwarded,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        self.id = body["conversation_id"]
        self.headers = {"Authorization": f"Bearer {body['token']}", **self.forwarded}

    def say(self, text: str) -> str:
        response = self.http.post(
            f"/api/v1/conversations/{self.id}/messages", json={"text": text}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return " ".join(m["text"] for m in response.json()["messages"])

    def messages(self) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/v1/conversations/{self.id}/messages", headers=self.headers)
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages


def answer(name: str, language: str = "en") -> str:
    return render_response(name, language, "example").text


def case_and_code(municipality: str = "example") -> tuple[int, str]:
    with get_sessionmaker().begin() as session:
        case = new_case(session, municipality=municipality)
        return case.id, issue_code(session, case.id, get_settings().link_code_secret, utcnow())


def wrong(code: str, n: int) -> str:
    guess = f"{(int(code) + 7919 * (n + 1)) % 10**12:012d}"
    assert guess != code
    return guess


def links() -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count(ChannelIdentity.id))) or 0)


def test_the_code_is_twelve_digits_in_groups_and_typed_any_way(app: TestClient) -> None:
    _, code = case_and_code()
    assert len(code) == 12 and code.isdigit()
    shown = format_code(code)
    assert shown == f"{code[:4]} {code[4:8]} {code[8:]}"
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in code)
    assert Chat(app, "192.0.2.1").say(f"my code is {arabic_indic}") == answer("utter_link_success")
    _, code = case_and_code()
    dashed = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    assert Chat(app, "192.0.2.2").say(f"code {dashed}") == answer("utter_link_success")


def test_a_new_conversation_from_the_same_address_after_five_wrong_codes_cannot_link(
    app: TestClient,
) -> None:
    _, code = case_and_code()
    first = Chat(app, "203.0.113.7")
    replies = [first.say(f"my code is {wrong(code, n)}") for n in range(5)]
    assert replies == [answer("utter_link_invalid")] * 4 + [answer("utter_link_locked")]
    # A fresh conversation from the same address starts with no clean slate: even the
    # right code is refused, and the refusal says nothing about the code.
    second = Chat(app, "203.0.113.7")
    assert second.say(f"my code is {code}") == answer("utter_link_locked")
    assert links() == 0
    # Someone else, from another address, is not held up by it.
    assert Chat(app, "198.51.100.4").say(f"my code is {code}") == answer("utter_link_success")


def test_addresses_rotated_inside_one_ipv6_64_share_one_budget(app: TestClient) -> None:
    _, code = case_and_code()
    for n in range(5):
        Chat(app, f"2001:db8:1:2::{n + 1:x}").say(f"code {wrong(code, n)}")
    rotated = Chat(app, "2001:db8:1:2:ffff:ffff:ffff:fffe")
    assert rotated.say(f"code {code}") == answer("utter_link_locked")
    assert links() == 0
    # The next /64 is another subscriber.
    assert Chat(app, "2001:db8:1:3::1").say(f"code {code}") == answer("utter_link_success")


def test_a_code_redeemed_from_another_municipality_s_conversation_does_not_link(
    app: TestClient,
) -> None:
    _, code = case_and_code(municipality="elsewhere")
    chat = Chat(app, "192.0.2.10")  # a conversation of "example"
    assert chat.say(f"my code is {code}") == answer("utter_link_invalid")
    assert links() == 0
    with get_sessionmaker()() as session:
        # Not used up either: the person of the other municipality can still use it.
        assert session.scalar(select(LinkCode.used_at)) is None


def test_a_new_code_revokes_the_older_ones(app: TestClient) -> None:
    case_id, older = case_and_code()
    with get_sessionmaker().begin() as session:
        newer = issue_code(session, case_id, get_settings().link_code_secret, utcnow())
    chat = Chat(app, "192.0.2.20")
    assert chat.say(f"my code is {older}") == answer("utter_link_invalid")
    assert chat.say(f"my code is {newer}") == answer("utter_link_success")


def test_the_system_wide_budget_pauses_linking_and_coordinators_see_it(
    app: TestClient,
) -> None:
    """An attacker with unlimited addresses: each address tries fewer codes than its own
    budget, yet after LINK_FAILURES_PER_SYSTEM (12 here) wrong codes no code is looked at,
    from anywhere, and the coordinator app says so."""
    _, code = case_and_code()
    for n in range(12):
        Chat(app, f"198.51.100.{n + 10}").say(f"code {wrong(code, n)}")
    assert Chat(app, "192.0.2.99").say(f"code {code}") == answer("utter_link_locked")
    assert links() == 0

    user("anna")
    coordinator = app
    sign_in(coordinator, "anna")
    banner = texts("sv")["linking_paused"]
    assert banner in coordinator.get("/coordinator/").text


def test_no_banner_while_the_system_budget_holds(app: TestClient) -> None:
    _, code = case_and_code()
    Chat(app, "198.51.100.1").say(f"code {wrong(code, 0)}")
    user("anna")
    coordinator = app
    sign_in(coordinator, "anna")
    assert texts("sv")["linking_paused"] not in coordinator.get("/coordinator/").text


def test_a_link_is_announced_on_the_other_chats_and_shown_on_the_case(app: TestClient) -> None:
    case_id, code = case_and_code()
    mine = Chat(app, "192.0.2.30")
    assert mine.say(f"my code is {code}") == answer("utter_link_success")
    before = len(mine.messages())
    with get_sessionmaker().begin() as session:
        another = issue_code(session, case_id, get_settings().link_code_secret, utcnow())
    stranger = Chat(app, "203.0.113.50")
    assert stranger.say(f"my code is {another}") == answer("utter_link_success")
    # The person's first chat is told, in its language.
    notices = [m["text"] for m in mine.messages()[before:]]
    assert notices == [answer("utter_link_new_channel")]
    assert "integration@example.invalid" in notices[0]
    # The chat that linked is not told about itself.
    assert answer("utter_link_new_channel") not in " ".join(
        m["text"] or "" for m in stranger.messages()
    )

    user("anna")
    coordinator = app
    sign_in(coordinator, "anna")
    page = coordinator.get(f"/coordinator/cases/{case_id}").text
    assert page.count(texts("sv")["link_by_link"]) == 2
    assert f"web:{stranger.id}" in page or f"api:{stranger.id}" in page


def test_the_coordinator_links_a_conversation_directly_audited(app: TestClient) -> None:
    with get_sessionmaker().begin() as session:
        number = new_case(session).case_number
        other_municipality = new_case(session, municipality="elsewhere").case_number
    chat = Chat(app, "192.0.2.40")
    user("anna")
    coordinator = app
    sign_in(coordinator, "anna")
    page = coordinator.get(f"/coordinator/conversations/{chat.id}").text
    token = csrf(page)

    refused = coordinator.post(
        f"/coordinator/conversations/{chat.id}/link",
        data={"csrf_token": token, "case_number": other_municipality},
        follow_redirects=False,
    )
    assert refused.headers["location"].split("#")[0].endswith("flash=link_not_found")
    assert links() == 0

    linked = coordinator.post(
        f"/coordinator/conversations/{chat.id}/link",
        data={"csrf_token": token, "case_number": number},
        follow_redirects=True,
    )
    assert texts("sv")["link_linked"] in linked.text
    assert links() == 1
    assert chat.say("what is my status?") != answer("utter_case_not_linked")
    with get_sessionmaker()() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "link-direct")).one()
    assert entry.actor == "coordinator:anna" and entry.detail is not None
    assert entry.detail.endswith(chat.id)

    # Without the CSRF token nothing happens.
    again = Chat(app, "192.0.2.41")
    forged = coordinator.post(
        f"/coordinator/conversations/{again.id}/link",
        data={"case_number": number},
        follow_redirects=False,
    )
    assert forged.status_code in (400, 403)
    assert links() == 1


def test_repeated_tries_with_a_case_s_dead_codes_revoke_its_live_one(app: TestClient) -> None:
    """Wrong tries that name a case (its used or revoked codes, or a live one from another
    municipality) count against the case, from any address: at LINK_FAILURES_PER_CASE (5)
    its live code stops working and the coordinator sees why on the case."""
    case_id, used = case_and_code()
    assert Chat(app, "192.0.2.60").say(f"my code is {used}") == answer("utter_link_success")
    with get_sessionmaker().begin() as session:
        live = issue_code(session, case_id, get_settings().link_code_secret, utcnow())
    for n in range(5):
        Chat(app, f"203.0.113.{100 + n}").say(f"my code is {used}")
    assert Chat(app, "192.0.2.61").say(f"my code is {live}") == answer("utter_link_invalid")
    assert links() == 1

    user("anna")
    sign_in(app, "anna")
    page = app.get(f"/coordinator/cases/{case_id}").text
    assert texts("sv")["link_by_link_code_revoked"] in page
    # A case nobody aims at keeps its code.
    _, other_code = case_and_code()
    assert Chat(app, "192.0.2.62").say(f"my code is {other_code}") == answer("utter_link_success")
