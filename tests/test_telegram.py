"""The Telegram channel: the real python-telegram-bot client inside the real app, against a
fake Bot API server and a stand-in Rasa, both on real local ports."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.bookings.reminders import send_due_reminders
from bot.bookings.service import BookingDetails, book
from bot.channels.telegram_delivery import split_text, telegram_length
from bot.channels.telegram_store import TelegramStore
from bot.conversations.store import ConversationStore, DuplicateInboundError
from bot.db import get_sessionmaker
from bot.db.models import (
    AppointmentSlot,
    BookingPurpose,
    Conversation,
    Coordinator,
    LanguageSource,
    Message,
    MessageSender,
    SlotKind,
    TelegramChat,
    TelegramUpdate,
    utcnow,
)
from bot.http.client_address import telegram_user_pseudonym
from bot.nlg.render import render_response
from bot.runtime import get_settings
from bot.settings import Settings
from bot.translation.service import get_translator
from tests.support.argos_package import install_packages
from tests.support.fake_rasa import FakeRasa, echo
from tests.support.fake_telegram import FakeTelegram

SECRET = "test-webhook-secret_1"
WEBHOOK = "/telegram/webhook"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
LONG_SENTENCE = "This sentence is part of a very long answer about the integration plan. "
LANGUAGE_BUTTONS = [
    {"title": title, "payload": f'/choose_language{{"language": "{code}"}}'}
    for title, code in (("Svenska", "sv"), ("Suomi", "fi"), ("Українська", "uk"), ("English", "en"))
]

T = TypeVar("T")


def wait_for(condition: Callable[[], T], what: str, timeout: float = 30.0) -> T:
    """Polls until `condition` gives something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def assistant(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What the stand-in Rasa answers: enough of the real assistant's behaviour."""
    message, language = body["message"], body["metadata"]["language"]
    if message == "/greet":
        return [{"text": f"greeting ({language})"}]
    if message == "/choose_language":
        return [{"text": f"which language? ({language})", "buttons": LANGUAGE_BUTTONS}]
    if message.startswith("/choose_language{"):
        code = json.loads(message[len("/choose_language") :])["language"]
        return [{"custom": {"lotsen": {"set_language": code}}}, {"text": f"language {code}"}]
    if message == "long answer please":
        return [
            {
                "text": LONG_SENTENCE * 120,
                "buttons": [{"title": "Plan", "payload": "/ask_integration_plan"}],
            }
        ]
    return echo(body)


def user(chat_id: int, language_code: str) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "Olena", "language_code": language_code}


def message_update(
    update_id: int, chat_id: int, language_code: str = "en", **content: Any
) -> dict[str, Any]:
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": user(chat_id, language_code),
        **content,
    }
    text = content.get("text", "")
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def callback_update(
    update_id: int, chat_id: int, data: str, language_code: str = "en"
) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"query-{update_id}",
            "from": user(chat_id, language_code),
            "chat_instance": "instance",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "text": "an earlier answer",
            },
        },
    }


def conversation_of(chat_id: int) -> Conversation | None:
    with get_sessionmaker()() as session:
        return session.scalar(
            select(Conversation)
            .join(TelegramChat, TelegramChat.conversation_id == Conversation.id)
            .where(TelegramChat.chat_id == chat_id)
        )


def messages_of(chat_id: int) -> list[Message]:
    conversation = conversation_of(chat_id)
    if conversation is None:
        return []
    with get_sessionmaker()() as session:
        return list(
            session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation.id)
                .order_by(Message.id)
            )
        )


def callback_data(sent: dict[str, Any]) -> list[str]:
    keyboard = sent.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in keyboard for button in row]


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    telegram = FakeTelegram()
    telegram.start()
    yield telegram
    telegram.stop()
    # Whatever the test, the app sent Telegram nothing Telegram would refuse.
    assert [reason for _call, reason in telegram.rejected] == []


def telegram_env(monkeypatch: pytest.MonkeyPatch, telegram: FakeTelegram, mode: str) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", telegram.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", telegram.url)
    monkeypatch.setenv("TELEGRAM_MODE", mode)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TELEGRAM_DELIVERY_INTERVAL_SECONDS", "0.2")
    monkeypatch.setenv("REMINDER_INTERVAL_SECONDS", "0.2")
    monkeypatch.setenv("LOTSEN_PUBLIC_URL", "https://lotsen.example.invalid")
    runtime.reset()


@pytest.fixture
def app(
    fake_rasa: FakeRasa,
    fake_telegram: FakeTelegram,
    settings_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    """The app in webhook mode."""
    fake_rasa.reply = assistant
    telegram_env(monkeypatch, fake_telegram, "webhook")
    with TestClient(create_app()) as client:
        yield client


def post(client: TestClient, update: dict[str, Any]) -> None:
    response = client.post(WEBHOOK, json=update, headers=HEADERS)
    assert response.status_code == 200, response.text


def test_start_greets_in_the_telegram_language_offers_the_menu_and_a_choice_sticks(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    webhook = fake_telegram.made("setWebhook")
    assert webhook[0]["url"] == f"https://lotsen.example.invalid{WEBHOOK}"
    assert webhook[0]["secret_token"] == SECRET

    post(app, message_update(1, 501, "fi-FI", text="/start"))
    greeting, menu = wait_for(
        lambda: len(fake_telegram.sent(501)) >= 2 and fake_telegram.sent(501), "menu"
    )
    assert [r["message"] for r in fake_rasa.received] == ["/greet", "/choose_language"]
    assert fake_rasa.received[0]["metadata"]["channel"] == "telegram"
    assert greeting["text"] == "greeting (fi)"
    assert "parse_mode" not in greeting
    assert menu["text"] == "which language? (fi)"
    buttons = callback_data(menu)
    assert len(buttons) == 4
    assert all(len(data.encode()) <= 64 for data in buttons)
    assert {str(p["chat_id"]) for p in fake_telegram.made("sendChatAction")} == {"501"}
    assert fake_telegram.made("sendChatAction")[0]["action"] == "typing"

    # "Українська": the callback brings the real payload to Rasa, and is acknowledged.
    post(app, callback_update(2, 501, buttons[2]))
    wait_for(lambda: len(fake_telegram.sent(501)) >= 3, "the answer to the button")
    assert fake_rasa.received[-1]["message"] == '/choose_language{"language": "uk"}'
    assert [p["callback_query_id"] for p in fake_telegram.made("answerCallbackQuery")] == [
        "query-2"
    ]
    assert fake_telegram.sent(501)[-1]["text"] == "language uk"
    conversation = conversation_of(501)
    assert conversation is not None
    assert (conversation.language, conversation.language_source) == ("uk", "chosen")
    assert all(m.status in ("processed", "sent") for m in messages_of(501))


def test_a_question_in_ukrainian_is_answered_in_ukrainian(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    post(app, message_update(10, 502, "en", text="Що таке план інтеграції і коли він потрібен?"))
    (answer,) = wait_for(lambda: fake_telegram.sent(502), "the answer")
    assert fake_rasa.received[0]["metadata"]["language"] == "uk"
    assert answer["text"].startswith("echo (uk): Що таке план інтеграції")
    # The echo's button: an inline keyboard whose data names the stored message.
    (data,) = callback_data(answer)
    wait_for(lambda: messages_of(502)[-1].status == "sent", "the answer marked sent")
    stored = messages_of(502)
    assert [(m.sender, m.status) for m in stored] == [("user", "processed"), ("bot", "sent")]
    assert data == f"b:{stored[1].id}:0"


def test_a_long_answer_is_split_at_sentences_with_the_buttons_on_the_last_part(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    post(app, message_update(20, 503, text="long answer please"))
    parts = wait_for(lambda: len(fake_telegram.sent(503)) >= 3 and fake_telegram.sent(503), "parts")
    texts = [p["text"] for p in parts]
    assert len(texts) == 3
    assert all(telegram_length(text) <= 4096 for text in texts)
    assert all(text.endswith("integration plan.") for text in texts)
    assert " ".join(texts) == (LONG_SENTENCE * 120).strip()
    assert [bool(callback_data(p)) for p in parts] == [False, False, True]
    # Marked sent once Telegram has answered the last part (a moment after it received it).
    wait_for(lambda: messages_of(503)[-1].status == "sent", "the answer marked sent")


def test_split_falls_back_to_whitespace_then_a_hard_cut() -> None:
    words = ("word " * 2000).strip()
    parts = split_text(words, limit=100)
    assert all(len(p) <= 100 for p in parts) and " ".join(parts) == words
    assert split_text("x" * 250, limit=100) == ["x" * 100, "x" * 100, "x" * 50]
    emoji = "🙂" * 60  # two UTF-16 units each
    assert [telegram_length(p) for p in split_text(emoji, limit=100)] == [100, 20]


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
def test_webhook_without_the_secret_is_refused_and_nothing_happens(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa, headers: dict[str, str]
) -> None:
    refused = app.post(WEBHOOK, json=message_update(30, 504, text="hello"), headers=headers)
    assert refused.status_code == 403
    # A real update afterwards is answered: by then the refused one would have been too.
    post(app, message_update(31, 505, text="hello"))
    wait_for(lambda: fake_telegram.sent(505), "the answer to the real update")
    assert conversation_of(504) is None
    assert fake_telegram.sent(504) == []
    assert [r["sender"] for r in fake_rasa.received] == [conversation_of(505).id]  # type: ignore[union-attr]


def test_the_same_update_delivered_twice_is_answered_once(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    twice = message_update(40, 506, text="what is the integration plan")
    post(app, twice)
    post(app, twice)
    post(app, message_update(41, 506, text="and the training"))
    wait_for(lambda: len(fake_telegram.sent(506)) >= 2, "both answers")
    wait_for(lambda: len(messages_of(506)) >= 4, "everything stored")
    assert [r["message"] for r in fake_rasa.received] == [
        "what is the integration plan",
        "and the training",
    ]
    assert len(fake_telegram.sent(506)) == 2
    assert [m.text for m in messages_of(506) if m.sender == "user"] == [
        "what is the integration plan",
        "and the training",
    ]


def kept_updates() -> list[int]:
    with get_sessionmaker()() as session:
        return list(session.scalars(select(TelegramUpdate.update_id)))


def test_an_update_is_kept_before_the_webhook_answers_and_forgotten_once_handled(
    app: TestClient, fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept_when_answered: list[list[int]] = []
    real_keep = TelegramStore.keep_update

    def keep_and_look(self: TelegramStore, bot: str, update_id: int, body: str) -> bool:
        result = real_keep(self, bot, update_id, body)
        kept_when_answered.append(kept_updates())
        return result

    monkeypatch.setattr(TelegramStore, "keep_update", keep_and_look)
    post(app, message_update(80, 520, text="kept first"))
    assert kept_when_answered == [[80]]
    wait_for(lambda: fake_telegram.sent(520), "the answer")
    wait_for(lambda: kept_updates() == [], "the kept update forgotten")


def test_if_the_update_cannot_be_stored_telegram_is_told_to_send_it_again(
    app: TestClient, fake_rasa: FakeRasa, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(self: TelegramStore, bot: str, update_id: int, body: str) -> bool:
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(TelegramStore, "keep_update", database_down)
    # As Telegram sees it: an error answer, not an exception in the test.
    telegram_side = TestClient(app.app, raise_server_exceptions=False)
    response = telegram_side.post(
        WEBHOOK, json=message_update(81, 521, text="lost?"), headers=HEADERS
    )
    assert response.status_code == 500
    assert fake_rasa.received == []


def test_an_update_a_stopped_process_kept_is_handled_once_by_another(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    # As if a process had answered Telegram and stopped before handling the update.
    body = json.dumps(message_update(82, 522, text="handled after a crash"))
    with get_sessionmaker().begin() as session:
        session.add(
            TelegramUpdate(update_id=82, body=body, received_at=utcnow() - timedelta(minutes=1))
        )
    (answer,) = wait_for(lambda: fake_telegram.sent(522), "the answer after the replay")
    assert answer["text"] == "echo (en): handled after a crash"
    wait_for(lambda: kept_updates() == [], "forgotten")
    # Kept again (a second stopped process had it too): stored once, answered once.
    with get_sessionmaker().begin() as session:
        session.add(
            TelegramUpdate(update_id=82, body=body, received_at=utcnow() - timedelta(minutes=1))
        )
    wait_for(lambda: kept_updates() == [], "forgotten again")
    assert len(fake_telegram.sent(522)) == 1
    assert [m["message"] for m in fake_rasa.received] == ["handled after a crash"]


def test_flood_control_waits_retry_after_then_delivers(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.flood_waits = 1
    post(app, message_update(50, 507, text="hello"))
    wait_for(lambda: fake_telegram.sent(507), "the answer after the flood wait")
    assert [c.method for c in fake_telegram.refused] == ["sendMessage"]
    assert len(fake_telegram.sent(507)) == 1
    reply = wait_for(lambda: [m for m in messages_of(507) if m.status == "sent"], "sent status")
    assert reply[0].delivery_error is None


def test_undeliverable_message_stays_stored_and_goes_out_when_telegram_is_back(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.down = True
    post(app, message_update(60, 508, text="hello while Telegram is down"))
    failed = wait_for(
        lambda: [m for m in messages_of(508) if m.sender == "bot" and m.delivery_attempts >= 1],
        "a failed delivery",
    )
    assert failed[0].status == "pending"
    assert "Bad Gateway" in (failed[0].delivery_error or "")
    assert fake_telegram.sent(508) == []
    fake_telegram.down = False
    (delivered,) = wait_for(lambda: fake_telegram.sent(508), "delivery by the delivery loop")
    assert delivered["text"] == "echo (en): hello while Telegram is down"
    wait_for(lambda: messages_of(508)[-1].status == "sent", "the message marked sent")


def test_a_chat_gets_its_replies_in_order_even_when_an_older_one_waits_for_a_retry(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    # Telegram refuses the first reply four times (500), for about three seconds of
    # retries; meanwhile the person writes again.
    fake_telegram.failing_texts["first question"] = 4
    post(app, message_update(61, 513, text="first question"))
    wait_for(lambda: fake_telegram.refused, "the refused first reply")
    post(app, message_update(62, 513, text="second question"))
    sent = wait_for(lambda: len(fake_telegram.sent(513)) == 2 and fake_telegram.sent(513), "both")
    assert [m["text"] for m in sent] == [
        "echo (en): first question",
        "echo (en): second question",
    ]


def test_a_chat_that_blocked_the_bot_is_given_up_at_once_and_shown_as_not_delivered(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.blocked_chats.add(514)
    post(app, message_update(63, 514, text="hello, then I block the bot"))
    (reply,) = wait_for(
        lambda: [m for m in messages_of(514) if m.sender == "bot" and m.status == "undelivered"],
        "the reply given up",
    )
    assert reply.delivery_attempts == 1 and "blocked" in (reply.delivery_error or "")
    # Other chats are not held up; the given-up reply is not tried again.
    post(app, message_update(64, 515, text="hello from another chat"))
    wait_for(lambda: fake_telegram.sent(515), "the other chat's answer")
    refused_to_514 = [c for c in fake_telegram.refused if str(c.params.get("chat_id")) == "514"]
    assert len(refused_to_514) == 1


@pytest.mark.parametrize(
    ("content", "marker"),
    [
        (
            {"photo": [{"file_id": "photo-file", "file_unique_id": "p", "width": 9, "height": 9}]},
            "[photo]",
        ),
        (
            {"voice": {"file_id": "voice-file", "file_unique_id": "v", "duration": 3}},
            "[voice message]",
        ),
    ],
)
def test_photos_and_voice_messages_get_a_polite_answer_in_the_language(
    app: TestClient,
    fake_telegram: FakeTelegram,
    fake_rasa: FakeRasa,
    content: dict[str, Any],
    marker: str,
) -> None:
    post(app, message_update(70, 509, "uk", **content))
    (answer,) = wait_for(lambda: fake_telegram.sent(509), "the polite answer")
    assert "тільки текст" in answer["text"]
    assert fake_rasa.received == []
    stored = messages_of(509)
    assert (stored[0].sender, stored[0].text) == ("user", marker)
    # Only what kind of message it was; the file's id is nowhere.
    assert not any("-file" in f"{m.text} {m.payload}" for m in stored)


def test_an_edited_message_and_an_old_button_are_answered_politely(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    edited = message_update(80, 510, "sv", text="hej igen")
    edited["edited_message"] = edited.pop("message")
    post(app, edited)
    (answer,) = wait_for(lambda: fake_telegram.sent(510), "the answer to the edit")
    assert "nytt meddelande" in answer["text"]
    post(app, callback_update(81, 510, "b:999999:0", "sv"))
    (acknowledged,) = wait_for(lambda: fake_telegram.made("answerCallbackQuery"), "the answer")
    assert "knappen" in acknowledged["text"]
    assert fake_rasa.received == []


def test_handoff_keeps_the_bot_silent_and_coordinator_replies_reach_the_chat(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    post(app, message_update(90, 511, text="hello"))
    wait_for(lambda: fake_telegram.sent(511), "the first answer")
    conversation = conversation_of(511)
    assert conversation is not None
    with get_sessionmaker().begin() as session:
        session.execute(
            update(Conversation).where(Conversation.id == conversation.id).values(state="waiting")
        )
    actions_before = len(fake_telegram.made("sendChatAction"))

    post(app, message_update(91, 511, text="I need to talk to a person"))
    # /help is answered during a handoff too, after the message before it (one chat, in order).
    post(app, message_update(92, 511, text="/help"))
    wait_for(lambda: len(fake_telegram.sent(511)) >= 2, "the help text")
    assert [m.text for m in messages_of(511) if m.sender == "user"][-2] == (
        "I need to talk to a person"
    )
    assert len(fake_rasa.received) == 1
    assert "/language" in fake_telegram.sent(511)[-1]["text"]
    assert len(fake_telegram.made("sendChatAction")) == actions_before

    store = ConversationStore(get_sessionmaker())
    store.queue_outbound(
        conversation.id,
        text="Hello, this is the coordinator.",
        language="en",
        sender=MessageSender.COORDINATOR,
    )
    wait_for(lambda: len(fake_telegram.sent(511)) >= 3, "the coordinator's reply")
    assert fake_telegram.sent(511)[-1]["text"] == "Hello, this is the coordinator."
    wait_for(lambda: messages_of(511)[-1].status == "sent", "the reply marked sent")


def test_human_command_hands_over_and_the_coordinator_app_reply_reaches_the_chat(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    from tests.test_coordinator_web import csrf, handoff_reply, sign_in, user

    fake_rasa.reply = handoff_reply
    post(app, message_update(97, 513, "uk", text="/human"))
    wait_for(lambda: fake_telegram.sent(513), "the handoff message")
    assert fake_rasa.received[-1]["message"] == "/request_human"
    conversation = conversation_of(513)
    assert conversation is not None and conversation.state == "waiting"

    user("anna")
    # The public URL is https here, so the session cookie is Secure: the coordinator's
    # browser talks https (the app itself is the one the fixture started).
    browser = TestClient(app.app, base_url="https://testserver")
    sign_in(browser, "anna")
    token = csrf(browser.get("/coordinator/").text)
    browser.post(f"/coordinator/conversations/{conversation.id}/take", data={"csrf_token": token})
    browser.post(
        f"/coordinator/conversations/{conversation.id}/reply",
        data={"csrf_token": token, "text": "Вітаю, це Анна."},
    )
    wait_for(
        lambda: fake_telegram.sent(513)[-1]["text"] == "Вітаю, це Анна.", "the coordinator's reply"
    )
    wait_for(lambda: messages_of(513)[-1].status == "sent", "the reply marked sent")


def test_a_booking_reminder_reaches_the_chat_the_booking_came_from_once(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    post(app, message_update(95, 512, "uk", text="Привіт"))
    wait_for(lambda: fake_telegram.sent(512), "the greeting")
    conversation = conversation_of(512)
    assert conversation is not None
    with get_sessionmaker().begin() as session:
        coordinator = Coordinator(municipality="example", username="anna", display_name="Anna")
        session.add(coordinator)
        session.flush()
        slot = AppointmentSlot(
            municipality="example",
            coordinator_id=coordinator.id,
            starts_at=utcnow() + timedelta(hours=20),
            ends_at=utcnow() + timedelta(hours=21),
            kind=SlotKind.PHONE,
        )
        session.add(slot)
        session.flush()
        slot_id = slot.id
    # Booked three days ago, so the reminder the day before is due now.
    book(
        get_sessionmaker(),
        slot_id=slot_id,
        municipality="example",
        conversation_id=conversation.id,
        case_id=None,
        channel="telegram",
        language="uk",
        details=BookingDetails(BookingPurpose.GUIDANCE, "fi", "uk", None, None),
        now=utcnow() - timedelta(days=3),
        actor="test",
    )
    reminder = wait_for(
        lambda: len(fake_telegram.sent(512)) >= 2 and fake_telegram.sent(512)[-1], "the reminder"
    )
    assert reminder["text"].startswith("Нагадування")
    wait_for(lambda: messages_of(512)[-1].status == "sent", "the reminder marked sent")
    # The reminder loop keeps running; the reminder is never queued a second time.
    assert send_due_reminders(get_sessionmaker(), utcnow()) == 0
    assert sum(1 for m in messages_of(512) if m.sender == "system") == 1


def test_polling_mode_receives_updates_through_get_updates(
    fake_rasa: FakeRasa,
    fake_telegram: FakeTelegram,
    settings_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_rasa.reply = assistant
    telegram_env(monkeypatch, fake_telegram, "polling")
    with TestClient(create_app()) as client:
        assert client.post(WEBHOOK, json={}, headers=HEADERS).status_code == 404
        fake_telegram.push_update(message_update(100, 512, text="hello from polling"))
        (answer,) = wait_for(lambda: fake_telegram.sent(512), "the answer")
    assert answer["text"] == "echo (en): hello from polling"
    assert fake_telegram.made("deleteWebhook")
    assert fake_telegram.made("setWebhook") == []


def test_without_a_token_the_app_runs_without_telegram(
    fake_rasa: FakeRasa,
    fake_telegram: FakeTelegram,
    settings_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Everything Telegram needs points at the fake, except the token.
    telegram_env(monkeypatch, fake_telegram, "webhook")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "")
    runtime.reset()
    with TestClient(create_app()) as client:
        assert client.post(WEBHOOK, json={}, headers=HEADERS).status_code == 404
        assert client.post("/api/v1/conversations").status_code == 201
        assert client.app.state.telegram is None  # type: ignore[attr-defined]
    assert fake_telegram.calls == [] and fake_telegram.refused == []


def test_without_a_token_start_up_says_telegram_is_off(
    fake_rasa: FakeRasa, settings_env: str, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.reset()
    with caplog.at_level("WARNING"), TestClient(create_app()):
        pass
    assert "Telegram is not configured" in caplog.text


def test_webhook_mode_needs_a_real_secret() -> None:
    with pytest.raises(ValueError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings(telegram_bot_token="1:x", telegram_mode="webhook", telegram_webhook_secret="")
    with pytest.raises(ValueError, match="placeholder"):
        Settings(
            lotsen_env="production",
            lotsen_public_url="https://lotsen.example.invalid",
            rasa_api_token="real",
            nlg_token="real",
            link_code_secret="real",
            database_url="postgresql+psycopg2://lotsen@db/lotsen",
            telegram_bot_token="1:x",
            telegram_mode="webhook",
            telegram_webhook_secret="change-me-telegram-webhook-secret",
        )


def test_delivery_bookkeeping_and_once_only_inbound_on_both_databases(
    settings_on_both_databases: str,
) -> None:
    sessions = get_sessionmaker()
    store, chats = ConversationStore(sessions), TelegramStore(sessions)
    made = chats.conversation_for_chat(
        900, bot="", municipality="example", language="uk", language_source=LanguageSource.DETECTED
    )
    again = chats.conversation_for_chat(
        900, bot="", municipality="example", language="en", language_source=LanguageSource.DEFAULT
    )
    assert again == made
    store.store_inbound(made.id, text="hi", payload=None, language="uk", external_id="telegram:1")
    with pytest.raises(DuplicateInboundError):
        store.store_inbound(
            made.id, text="hi", payload=None, language="uk", external_id="telegram:1"
        )
    web, _ = store.create(
        channel="web", municipality="example", language="sv", language_source=LanguageSource.CHOSEN
    )
    store.queue_outbound(
        web.id, text="for the web", language="sv", sender=MessageSender.COORDINATOR
    )
    first = store.queue_outbound(
        made.id, text="one", language="uk", sender=MessageSender.COORDINATOR
    )
    second = store.queue_outbound(made.id, text="two", language="uk", sender=MessageSender.SYSTEM)

    assert [d.message.id for d in chats.claim_due_messages()] == [first.id, second.id]
    assert chats.claim_due_messages() == []  # leased to whoever claimed them
    store.record_delivery_failure(first.id, error="NetworkError: down", base_delay=timedelta(0))
    store.postpone_delivery([second.id], utcnow() + timedelta(hours=1))
    # The first is due again; the second waits, and would anyway: order within a chat.
    (retry,) = chats.claim_due_messages()
    assert (retry.chat_id, retry.message.id) == (900, first.id)
    store.mark_delivered(first.id)
    store.postpone_delivery([second.id], utcnow() - timedelta(seconds=1))
    assert [d.message.text for d in chats.claim_due_messages()] == ["two"]
    with sessions() as session:
        delivered = session.get(Message, first.id)
        assert delivered is not None
        assert (delivered.status, delivered.delivery_attempts) == ("sent", 1)


def test_messages_that_are_not_due_never_starve_the_rest_on_both_databases(
    settings_on_both_databases: str,
) -> None:
    sessions = get_sessionmaker()
    store, chats = ConversationStore(sessions), TelegramStore(sessions)
    later = utcnow() + timedelta(hours=1)
    # 250 chats whose messages wait for a retry: more than one delivery round takes.
    waiting = []
    for chat_id in range(2000, 2250):
        conversation = chats.conversation_for_chat(
            chat_id,
            bot="",
            municipality="example",
            language="uk",
            language_source=LanguageSource.DEFAULT,
        )
        waiting.append(
            store.queue_outbound(conversation.id, text="w", language="uk", sender="system").id
        )
    store.postpone_delivery(waiting, later)
    fresh = chats.conversation_for_chat(
        3000, bot="", municipality="example", language="uk", language_source=LanguageSource.DEFAULT
    )
    due = store.queue_outbound(fresh.id, text="due now", language="uk", sender="system")
    assert [d.message.id for d in chats.claim_due_messages(limit=200)] == [due.id]
    # Behind a chat's waiting message, its newer ones wait too (order within a chat).
    blocked = chats.conversation_for_chat(
        3001, bot="", municipality="example", language="uk", language_source=LanguageSource.DEFAULT
    )
    older = store.queue_outbound(blocked.id, text="older", language="uk", sender="system")
    store.postpone_delivery([older.id], later)
    store.queue_outbound(blocked.id, text="newer", language="uk", sender="system")
    assert chats.claim_due_messages() == []
    assert store.has_older_pending(blocked.id, older.id + 1)


def test_a_message_is_given_up_after_the_last_attempt_on_both_databases(
    settings_on_both_databases: str,
) -> None:
    from bot.conversations.delivery import MAX_DELIVERY_ATTEMPTS

    sessions = get_sessionmaker()
    store, chats = ConversationStore(sessions), TelegramStore(sessions)
    conversation = chats.conversation_for_chat(
        4000, bot="", municipality="example", language="uk", language_source=LanguageSource.DEFAULT
    )
    message = store.queue_outbound(conversation.id, text="x", language="uk", sender="system")
    for attempt in range(1, MAX_DELIVERY_ATTEMPTS):
        retry = store.record_delivery_failure(
            message.id, error="NetworkError", base_delay=timedelta(0)
        )
        assert retry is not None, attempt
    assert (
        store.record_delivery_failure(message.id, error="NetworkError", base_delay=timedelta(0))
        is None
    )
    with sessions() as session:
        given_up = session.get(Message, message.id)
        assert given_up is not None
        assert (given_up.status, given_up.next_delivery_at) == ("undelivered", None)
    assert chats.claim_due_messages() == []


def test_a_russian_telegram_user_is_answered_through_translation(
    app: TestClient,
    fake_telegram: FakeTelegram,
    fake_rasa: FakeRasa,
) -> None:
    """Telegram's interface language is a translated one with packages: the conversation
    starts in it; Rasa reads English; answers, the gateway's own ones too, come translated."""
    install_packages(get_settings().translation_packages_dir, [("ru", "en"), ("en", "ru")])
    get_translator().reload()
    notice = render_response("utter_machine_translated_answer", "en", "example").text

    post(app, message_update(90, 520, "ru", text="Что такое план интеграции?"))
    (answer,) = wait_for(lambda: fake_telegram.sent(520), "the answer")
    conversation = conversation_of(520)
    assert conversation is not None and conversation.language == "ru"
    assert fake_rasa.received[0]["metadata"]["language"] == "en"
    assert fake_rasa.received[0]["message"] != "Что такое план интеграции?"
    assert answer["text"].endswith(notice)

    photo = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    post(app, message_update(91, 520, "ru", photo=photo))
    polite = wait_for(
        lambda: len(fake_telegram.sent(520)) >= 2 and fake_telegram.sent(520)[1], "the answer"
    )
    assert polite["text"].endswith(notice)
    stored = messages_of(520)[-1]
    assert stored.original_language == "en" and stored.original_text


def _offered_button(app: TestClient, fake_telegram: FakeTelegram, update_id: int, chat: int) -> str:
    post(app, message_update(update_id, chat, text="hello there"))
    (answer,) = wait_for(lambda: fake_telegram.sent(chat), "an answer with a button")
    (data,) = callback_data(answer)
    return data


def test_a_button_of_another_chat_is_not_honoured(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    """Callback data names a message id, which anyone can write into their own callback:
    pressed in another chat, the button does nothing there but say it is no longer valid."""
    theirs = _offered_button(app, fake_telegram, 120, 520)
    received = len(fake_rasa.received)
    post(app, message_update(121, 521, "sv", text="hej"))
    wait_for(lambda: fake_telegram.sent(521), "the other chat's first answer")
    post(app, callback_update(122, 521, theirs, "sv"))
    (acknowledged,) = wait_for(lambda: fake_telegram.made("answerCallbackQuery"), "the answer")
    assert "knappen" in acknowledged["text"]
    assert [r["message"] for r in fake_rasa.received[received:]] == ["hej"]
    assert not any(m.payload for m in messages_of(521))


def test_a_button_older_than_the_window_is_not_honoured(
    app: TestClient, fake_telegram: FakeTelegram, fake_rasa: FakeRasa
) -> None:
    data = _offered_button(app, fake_telegram, 130, 522)
    offered = messages_of(522)[-1]
    with get_sessionmaker().begin() as session:
        session.execute(
            update(Message)
            .where(Message.id == offered.id)
            .values(created_at=utcnow() - timedelta(hours=24, minutes=1))
        )
    received = len(fake_rasa.received)
    post(app, callback_update(131, 522, data))
    (acknowledged,) = wait_for(lambda: fake_telegram.made("answerCallbackQuery"), "the answer")
    assert acknowledged.get("text")
    assert fake_rasa.received[received:] == []

    # Within the window the same kind of button works (the test above is not vacuous).
    fresh = _offered_button(app, fake_telegram, 132, 523)
    post(app, callback_update(133, 523, fresh))
    wait_for(
        lambda: fake_rasa.received and fake_rasa.received[-1]["message"] == "/ask_integration_plan",
        "the fresh button's payload at Rasa",
    )


def test_the_telegram_user_counts_as_the_address_of_its_messages(
    app: TestClient, fake_telegram: FakeTelegram
) -> None:
    """The budgets of wrong link codes and of bookings count per client network; on
    Telegram that is the user, stored as a keyed pseudonym with each message."""
    post(app, message_update(140, 530, text="hello"))
    wait_for(lambda: fake_telegram.sent(530), "the answer")
    conversation = conversation_of(530)
    assert conversation is not None
    secret = get_settings().link_code_secret
    assert conversation.client_network == telegram_user_pseudonym(530, secret)
    assert conversation.client_network != telegram_user_pseudonym(531, secret)
    assert "530" not in conversation.client_network
