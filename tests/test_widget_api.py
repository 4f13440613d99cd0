"""What the web widget needs from the API: CORS for allowed sites only, rate limits with a
polite localized answer, deleting a conversation, the event stream, channel commands, the
widget's settings, and security headers on the pages and files the app serves."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.channels.widget.pages import STATIC
from bot.conversations.store import ConversationStore
from bot.db import get_sessionmaker
from bot.db.models import (
    ChannelIdentity,
    ClientCase,
    Conversation,
    Message,
    MessageSender,
    MessageStatus,
)
from bot.http.ratelimit import SlidingWindowLimiter
from bot.nlg.render import render_response
from bot.settings import normalise_origin
from tests.support.fake_rasa import FakeRasa
from tests.support.system import free_port

ALLOWED = "https://www.exempelby.example"
ClientFactory = Callable[..., TestClient]


@pytest.fixture
def settings_env(settings_on_sqlite_and_postgres: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL (tests/conftest.py)."""
    return settings_on_sqlite_and_postgres


@pytest.fixture
def make_client(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ClientFactory]:
    """A test client of an app made with these settings (environment variables)."""
    opened: list[TestClient] = []

    def make(**environment: str) -> TestClient:
        monkeypatch.setenv("LOTSEN_WIDGET_ALLOWED_ORIGINS", ALLOWED)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        client = TestClient(create_app())
        client.__enter__()
        opened.append(client)
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def start(client: TestClient, **body: Any) -> tuple[str, dict[str, str]]:
    response = client.post("/api/v1/conversations", json={"channel": "web", **body})
    assert response.status_code == 201, response.text
    data = response.json()
    return data["conversation_id"], {"Authorization": f"Bearer {data['token']}"}


def post(client: TestClient, conversation_id: str, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json=body, headers=headers
    )


def count(model: type[Any]) -> int:
    with get_sessionmaker()() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- CORS ---------------------------------------------------------------------------------


def test_an_allowed_site_gets_cors_headers(make_client: ClientFactory) -> None:
    client = make_client()
    response = client.post(
        "/api/v1/conversations", json={"channel": "web"}, headers={"Origin": ALLOWED}
    )
    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in response.headers["vary"]
    assert "Retry-After" in response.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in response.headers  # no cookies, ever


def test_the_apps_own_pages_may_call_the_api(make_client: ClientFactory) -> None:
    client = make_client()
    # The demo page, opened under the app's public URL or the name the browser used.
    for origin in ("http://localhost:8000", "http://testserver"):
        response = client.post("/api/v1/conversations", json={}, headers={"Origin": origin})
        assert response.status_code == 201, origin
        assert response.headers["access-control-allow-origin"] == origin


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://www.exempelby.example", ALLOWED + ":8443"]
)
def test_any_other_site_is_refused_before_anything_is_stored(
    make_client: ClientFactory, origin: str
) -> None:
    client = make_client()
    response = client.post("/api/v1/conversations", json={}, headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers
    assert count(Conversation) == 0
    preflight = client.options(
        "/api/v1/conversations",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403


def test_preflight_of_an_allowed_site(make_client: ClientFactory) -> None:
    client = make_client()
    response = client.options(
        "/api/v1/conversations/abc/events",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization, last-event-id",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "last-event-id" in allowed_headers
    assert "DELETE" in response.headers["access-control-allow-methods"]


def test_calls_without_an_origin_are_not_browsers_and_get_no_cors(
    make_client: ClientFactory,
) -> None:
    response = make_client().post("/api/v1/conversations", json={})
    assert response.status_code == 201
    assert "access-control-allow-origin" not in response.headers


# --- Rate limits --------------------------------------------------------------------------


def test_messages_per_conversation_are_limited_politely_in_its_language(
    make_client: ClientFactory, fake_rasa: FakeRasa
) -> None:
    client = make_client(RATE_LIMIT_CONVERSATION_MESSAGES="3")
    conversation_id, headers = start(client, language="uk")
    for number in range(3):
        assert post(client, conversation_id, headers, text=f"питання {number}").status_code == 200
    refused = post(client, conversation_id, headers, text="ще одне")
    assert refused.status_code == 429
    wait = refused.headers["retry-after"]
    assert wait.isdigit() and 1 <= int(wait) <= 60
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and error["retry_after"] == int(wait)
    assert (
        error["message"]
        == render_response("utter_rate_limited", "uk", None, {"seconds": wait}).text
    )
    assert "зачекайте" in error["message"].lower()
    assert len(fake_rasa.received) == 3
    # Another conversation is not held back by this one.
    other_id, other_headers = start(client)
    assert post(client, other_id, other_headers, text="hej").status_code == 200


def test_messages_per_address_are_limited_across_conversations(
    make_client: ClientFactory,
) -> None:
    client = make_client(RATE_LIMIT_ADDRESS_MESSAGES="4")
    first = start(client, language="sv")
    second = start(client, language="sv")
    for conversation_id, headers in (first, second, first, second):
        assert post(client, conversation_id, headers, text="hej").status_code == 200
    refused = post(client, *second, text="hej igen")
    assert refused.status_code == 429
    assert refused.headers["retry-after"].isdigit()


def test_new_conversations_per_address_are_limited(make_client: ClientFactory) -> None:
    client = make_client(RATE_LIMIT_ADDRESS_CONVERSATIONS="2")
    start(client)
    start(client)
    refused = client.post("/api/v1/conversations", json={"language": "fi", "channel": "web"})
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) <= 600
    seconds = refused.headers["retry-after"]
    expected = render_response("utter_rate_limited", "fi", None, {"seconds": seconds}).text
    assert refused.json()["error"]["message"] == expected
    assert count(Conversation) == 2


def test_the_window_slides() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit_now("a") is None
    now[0] += 30
    assert limiter.hit_now("a") is None
    assert limiter.hit_now("a") == pytest.approx(30)
    assert limiter.hit_now("b") is None  # keys are counted apart
    now[0] += 30.5  # the first event has left the window
    assert limiter.hit_now("a") is None
    assert limiter.hit_now("a") is not None


# --- Deleting a conversation --------------------------------------------------------------


def test_delete_needs_the_conversations_token(make_client: ClientFactory) -> None:
    client = make_client()
    conversation_id, headers = start(client)
    _other_id, other_headers = start(client)
    url = f"/api/v1/conversations/{conversation_id}"
    assert client.delete(url).status_code == 401
    assert client.delete(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.delete(url, headers=other_headers).status_code == 401
    assert client.get(url + "/messages", headers=headers).status_code == 200


def test_delete_erases_the_conversation_its_messages_and_its_case_link(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    conversation_id, headers = start(client, language="sv")
    assert post(client, conversation_id, headers, text="hej").status_code == 200
    kept_id, kept_headers = start(client)
    assert post(client, kept_id, kept_headers, text="hej").status_code == 200
    with get_sessionmaker().begin() as session:
        case = ClientCase(
            case_number="T-1", municipality="example", full_name="Test", preferred_language="sv"
        )
        session.add(case)
        session.flush()
        session.add(ChannelIdentity(channel="web", external_id=conversation_id, case_id=case.id))
    assert count(Message) == 4

    response = client.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)
    assert response.status_code == 204
    assert count(Message) == 2 and count(ChannelIdentity) == 0 and count(ClientCase) == 1
    with get_sessionmaker()() as session:
        assert session.get(Conversation, conversation_id) is None
        assert session.get(Conversation, kept_id) is not None
    gone = client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
    assert gone.status_code == 404
    again = client.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)
    assert again.status_code == 404
    # Starting over gives a new conversation, never the old id (Rasa's tracker is keyed by it).
    new_id, _ = start(client)
    assert new_id not in (conversation_id, kept_id)


# --- The page's language is a starting point -----------------------------------------------


@pytest.mark.parametrize(("chosen", "answered_in"), [(False, "uk"), (True, "sv")])
def test_a_page_language_may_give_way_to_the_persons_own(
    make_client: ClientFactory, fake_rasa: FakeRasa, chosen: bool, answered_in: str
) -> None:
    client = make_client()
    conversation_id, headers = start(client, language="sv", language_chosen=chosen)
    response = post(client, conversation_id, headers, text="Як мені отримати план інтеграції?")
    assert response.json()["language"] == answered_in
    assert fake_rasa.received[-1]["metadata"]["language"] == answered_in


def test_language_chosen_must_be_a_boolean(make_client: ClientFactory) -> None:
    response = make_client().post("/api/v1/conversations", json={"language_chosen": "no"})
    assert response.status_code == 422


# --- Commands -----------------------------------------------------------------------------


def test_talk_to_a_person_command_becomes_the_request_human_intent(
    make_client: ClientFactory, fake_rasa: FakeRasa
) -> None:
    client = make_client()
    conversation_id, headers = start(client, language="fi")
    response = post(client, conversation_id, headers, command="request_human")
    assert response.status_code == 200, response.text
    assert fake_rasa.received[-1]["message"] == "/request_human"
    with get_sessionmaker()() as session:
        shown = session.scalars(
            select(Message.text).where(
                Message.conversation_id == conversation_id, Message.sender == "user"
            )
        ).all()
    assert shown == [render_response("utter_widget_request_human", "fi").text]


def test_choose_language_command_carries_a_checked_language(
    make_client: ClientFactory, fake_rasa: FakeRasa
) -> None:
    client = make_client()
    conversation_id, headers = start(client, language="sv")
    response = post(client, conversation_id, headers, command="choose_language", language="uk")
    assert response.status_code == 200
    assert fake_rasa.received[-1]["message"] == '/choose_language{"language": "uk"}'


@pytest.mark.parametrize(
    "body",
    [
        {"command": "restart"},
        {"command": "delete_my_data"},
        {"command": 'request_human{"x": 1}'},
        {"command": "choose_language", "language": "de"},
        {"command": "choose_language", "language": 'sv"}'},
        {"command": "choose_language"},
        {"command": 5},
        {"command": "request_human", "text": "hello"},
        {"payload": "/request_human"},
    ],
)
def test_only_allowed_commands_reach_rasa(
    make_client: ClientFactory, fake_rasa: FakeRasa, body: dict[str, Any]
) -> None:
    client = make_client()
    conversation_id, headers = start(client)
    response = post(client, conversation_id, headers, **body)
    assert response.status_code == 422, response.text
    assert fake_rasa.received == []
    assert count(Message) == 0


# --- The event stream and delivery of pending messages ------------------------------------


@pytest.fixture
def served_app(make_client: ClientFactory) -> Iterator[str]:
    """The app on a real port (a test client cannot read a stream that never ends)."""
    make_client(WIDGET_EVENTS_POLL_SECONDS="0.05", WIDGET_EVENTS_HEARTBEAT_SECONDS="0.3")
    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def read_events(lines: Iterator[str], until: Callable[[str, Any], bool]) -> list[tuple[str, Any]]:
    """Events (name, data) and comments ("comment", text) up to the one `until` accepts."""
    seen: list[tuple[str, Any]] = []
    name = "message"
    for line in lines:
        if line.startswith(":"):
            seen.append(("comment", line[1:].strip()))
            if until("comment", line[1:].strip()):
                return seen
        elif line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            seen.append((name, data))
            if until(name, data):
                return seen
    raise AssertionError(f"the stream ended early: {seen}")


def status_of(message_id: int, until: str) -> str | None:
    status = None
    for _ in range(100):
        with get_sessionmaker()() as session:
            status = session.scalar(select(Message.status).where(Message.id == message_id))
        if status == until:
            break
        time.sleep(0.05)
    return status


def test_the_stream_delivers_queued_messages_live_and_marks_them_sent(served_app: str) -> None:
    store = ConversationStore(get_sessionmaker())
    with httpx.Client(base_url=served_app, timeout=10) as http:
        created = http.post("/api/v1/conversations", json={"channel": "web", "language": "sv"})
        conversation_id, token = created.json()["conversation_id"], created.json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        reminder = store.queue_outbound(
            conversation_id, text="Påminnelse", language="sv", sender=MessageSender.SYSTEM
        )
        url = f"/api/v1/conversations/{conversation_id}/events"
        with http.stream("GET", url, headers=headers) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-store"
            lines = stream.iter_lines()
            first = read_events(lines, lambda name, _data: name == "messages")
            assert ("state", {"state": "bot", "language": "sv"}) in first
            assert first[-1][1]["messages"][0]["text"] == "Påminnelse"
            assert first[-1][1]["cursor"] == reminder.id
            assert status_of(reminder.id, MessageStatus.SENT) == MessageStatus.SENT

            # While the stream is open: a coordinator's reply, then the state changes.
            reply = store.queue_outbound(
                conversation_id,
                text="Hej, det är Anna.",
                language="sv",
                sender=MessageSender.COORDINATOR,
                sender_name="Anna",
            )
            live = read_events(lines, lambda name, _data: name == "messages")
            message = live[-1][1]["messages"][0]
            assert (message["sender"], message["sender_name"]) == ("coordinator", "Anna")
            assert status_of(reply.id, MessageStatus.SENT) == MessageStatus.SENT
            with get_sessionmaker().begin() as session:
                conversation = session.get(Conversation, conversation_id)
                assert conversation is not None
                conversation.state = "human"
            changed = read_events(lines, lambda name, _data: name == "state")
            assert changed[-1][1]["state"] == "human"
            # Quiet now: heartbeats keep the connection open.
            read_events(lines, lambda name, data: name == "comment" and data == "heartbeat")
            # Deleted elsewhere (another tab): the stream says so and ends.
            gone = http.delete(f"/api/v1/conversations/{conversation_id}", headers=headers)
            assert gone.status_code == 204
            assert read_events(lines, lambda name, _data: name == "gone")[-1][0] == "gone"


def test_the_stream_resumes_after_a_cursor_or_last_event_id(served_app: str) -> None:
    store = ConversationStore(get_sessionmaker())
    with httpx.Client(base_url=served_app, timeout=10) as http:
        created = http.post("/api/v1/conversations", json={"channel": "web"}).json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        ids = [
            store.queue_outbound(
                created["conversation_id"], text=t, language="sv", sender=MessageSender.SYSTEM
            ).id
            for t in ("ett", "två")
        ]
        url = f"/api/v1/conversations/{created['conversation_id']}/events"
        for extra in ({"params": {"after": ids[0]}}, {"headers": {"Last-Event-ID": str(ids[0])}}):
            merged = {**headers, **extra.get("headers", {})}
            with http.stream("GET", url, headers=merged, params=extra.get("params")) as stream:
                events = read_events(stream.iter_lines(), lambda name, _d: name == "messages")
                assert [m["text"] for m in events[-1][1]["messages"]] == ["två"]


def test_the_stream_wants_the_token_in_the_header(served_app: str) -> None:
    with httpx.Client(base_url=served_app, timeout=10) as http:
        created = http.post("/api/v1/conversations", json={"channel": "web"}).json()
        url = f"/api/v1/conversations/{created['conversation_id']}/events"
        assert http.get(url).status_code == 401
        assert http.get(url, params={"token": created["token"]}).status_code == 401
        wrong = http.get(url, headers={"Authorization": "Bearer wrong"})
        assert wrong.status_code == 401


def test_a_conversation_holds_a_few_streams_at_most(served_app: str) -> None:
    with httpx.Client(base_url=served_app, timeout=10) as http, contextlib.ExitStack() as open_:
        created = http.post("/api/v1/conversations", json={"channel": "web"}).json()
        headers = {"Authorization": f"Bearer {created['token']}"}
        url = f"/api/v1/conversations/{created['conversation_id']}/events"
        # The line iterators are kept: dropping one would close its stream.
        readers = []
        for _ in range(3):
            stream = open_.enter_context(http.stream("GET", url, headers=headers))
            readers.append(stream.iter_lines())
            assert next(readers[-1]) == ": open"
        # Counted from the first chunk on; the loop above has read it from each.
        with http.stream("GET", url, headers=headers) as refused:
            assert refused.status_code == 429
            assert json.loads(refused.read())["error"]["code"] == "too_many_streams"


def test_fetching_messages_delivers_pending_ones_of_a_web_conversation(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    store = ConversationStore(get_sessionmaker())
    web_id, web_headers = start(client)
    api_id, api_headers = start(client, channel="api")
    web_message = store.queue_outbound(web_id, text="a", language="sv", sender=MessageSender.BOT)
    api_message = store.queue_outbound(api_id, text="b", language="sv", sender=MessageSender.BOT)
    for conversation_id, headers in ((web_id, web_headers), (api_id, api_headers)):
        listed = client.get(f"/api/v1/conversations/{conversation_id}/messages", headers=headers)
        assert listed.status_code == 200
    with get_sessionmaker()() as session:
        assert session.get(Message, web_message.id).status == MessageStatus.SENT  # type: ignore[union-attr]
        assert session.get(Message, api_message.id).status == MessageStatus.PENDING  # type: ignore[union-attr]


# --- The widget's settings, pages, files and headers --------------------------------------


def test_widget_config_publishes_only_what_the_widget_shows(make_client: ClientFactory) -> None:
    client = make_client()
    response = client.get(
        "/api/v1/widget/config", params={"municipality": "example", "language": "uk"}
    )
    assert response.status_code == 200
    config = response.json()
    assert config["privacy_url"] == "https://example.invalid/privacy"
    assert config["municipality_name"] == "муніципалітет Exempelby (приклад)"
    assert config["max_message_chars"] == 2000
    assert "coordinator_phone" not in config
    unknown = client.get("/api/v1/widget/config", params={"municipality": "../secret"})
    assert unknown.status_code == 404


def assert_security_headers(response: httpx.Response) -> None:
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().partition(" ")[::2] for part in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["default-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("language", ["sv", "fi", "uk", "en"])
def test_demo_page_embeds_the_widget_with_the_documented_tag(
    make_client: ClientFactory, language: str
) -> None:
    response = make_client().get("/", params={"lang": language})
    assert response.status_code == 200
    assert_security_headers(response)
    page = response.text
    assert f'<html lang="{language}">' in page
    tag = re.search(r"<script\b[^>]*>", page)
    assert tag is not None
    assert 'src="/widget.js"' in tag.group(0) and 'data-municipality="example"' in tag.group(0)
    assert f'data-language="{language}"' in tag.group(0) and " defer" in tag.group(0)
    # No inline script anywhere, no inline style, nothing from another site.
    assert all("src=" in script for script in re.findall(r"<script\b[^>]*>", page))
    assert "style=" not in page and "<style" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    for code in ("sv", "fi", "uk", "en"):
        assert f'href="/?lang={code}"' in page


def test_widget_files_are_served_with_security_headers_and_no_eval_or_html(
    make_client: ClientFactory,
) -> None:
    if not (STATIC / "widget.js").is_file():
        pytest.fail("the widget is not built: run `make widget` (make install does)")
    client = make_client()
    for name in ("/widget.js", "/widget-chat.js"):
        script = client.get(name)
        assert script.status_code == 200, name
        assert script.headers["content-type"].startswith("text/javascript")
        assert_security_headers(script)
        assert_no_unsafe_script(script.text)
    # The script on the host page keeps nothing in the host's storage; only the chat, in
    # Lotsen's own frame, keeps which conversation is this device's.
    host_script = client.get("/widget.js").text
    assert "localStorage" not in host_script and "sessionStorage" not in host_script
    stylesheet = client.get("/widget.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")
    assert "prefers-reduced-motion" in stylesheet.text


def assert_no_unsafe_script(text: str) -> None:
    for forbidden in (
        "eval(",
        "new Function",
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "document.cookie",
    ):
        assert forbidden not in text, forbidden


def frame_of(client: TestClient, host: str, **query: str) -> httpx.Response:
    params = {"municipality": "example", "language": "uk", "host": host, **query}
    return client.get("/widget/frame", params=params)


def test_the_chat_frame_may_be_shown_only_inside_the_sites_allowed_to_embed_it(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    response = frame_of(client, ALLOWED)
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    directives = dict(part.strip().partition(" ")[::2] for part in csp.split(";"))
    ancestors = set(directives["frame-ancestors"].split())
    # The app's own pages (as opened, and its public address) and the allowed site only.
    assert ancestors == {"'self'", "http://testserver", "http://localhost:8000", ALLOWED}
    # X-Frame-Options cannot name sites; on this one page it would forbid every frame.
    assert "x-frame-options" not in response.headers
    assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp
    page = response.text
    assert '<script src="/widget-chat.js" defer></script>' in page
    assert 'data-municipality="example"' in page and 'lang="uk"' in page
    assert all("src=" in script for script in re.findall(r"<script\b[^>]*>", page))
    # The host page is told only its own origin, as the frame will post to it.
    assert f'data-host="{normalise_origin(ALLOWED)}"' in page
    # Every other page is still never framed.
    assert client.get("/").headers["x-frame-options"] == "DENY"
    assert_security_headers(client.get("/"))


@pytest.mark.parametrize(
    ("host", "query", "status"),
    [
        ("https://evil.example", {}, 403),
        ("", {}, 403),
        ("null", {}, 403),
        (ALLOWED, {"municipality": "../secret"}, 404),
        (ALLOWED, {"municipality": "nowhere"}, 404),
    ],
)
def test_the_chat_frame_is_refused_to_other_sites_and_unknown_municipalities(
    make_client: ClientFactory, host: str, query: dict[str, str], status: int
) -> None:
    response = frame_of(make_client(), host, **query)
    assert response.status_code == status
    assert "lotsen-widget" not in response.text and "widget-chat.js" not in response.text


def test_the_chat_frame_falls_back_to_a_language_it_has_and_escapes_what_it_was_given(
    make_client: ClientFactory,
) -> None:
    client = make_client()
    page = frame_of(client, ALLOWED, language='"><script>').text
    assert 'lang="sv"' in page and "<script>" not in page.replace(
        '<script src="/widget-chat.js" defer></script>', ""
    )
    persian = frame_of(client, ALLOWED, language="fa").text
    assert 'dir="rtl"' in persian
