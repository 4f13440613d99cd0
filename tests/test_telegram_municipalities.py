"""One installation, a Telegram bot per municipality, against the fake Bot API: each
resident lands in the municipality of the bot they wrote to (its queue, its content) and
hears only from that bot; a coordinator of one municipality never sees another's chats;
production names the variables a bot is missing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.channels.telegram_bots import TelegramConfigurationError, telegram_bots
from bot.db import get_sessionmaker
from bot.db.models import Conversation, TelegramChat
from bot.settings import PROJECT_ROOT, Settings
from tests.support.fake_rasa import FakeRasa
from tests.support.fake_telegram import FakeTelegram
from tests.test_coordinator_web import csrf, handoff_reply, sign_in, user
from tests.test_telegram import HEADERS, SECRET, WEBHOOK, message_update, telegram_env, wait_for

NORTH_TOKEN = "654321:TEST-north-token"
NORTH_SECRET = "north-webhook-secret_2"
NORTH_WEBHOOK = "/telegram/webhook/north"
NORTH_HEADERS = {"X-Telegram-Bot-Api-Secret-Token": NORTH_SECRET}
NORTH_SECTION = """
telegram:
  bot_token_env: TELEGRAM_BOT_TOKEN_NORTH
  webhook_secret_env: TELEGRAM_WEBHOOK_SECRET_NORTH
"""


def write_north(directory: Path, section: str = NORTH_SECTION) -> None:
    example = (directory / "example.yml").read_text(encoding="utf-8")
    north = example.replace("id: example", "id: north").replace(
        "en: Exempelby municipality (example)", "en: Northby municipality"
    )
    (directory / "north.yml").write_text(north + section, encoding="utf-8")


@pytest.fixture
def municipalities(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "municipalities"
    shutil.copytree(PROJECT_ROOT / "municipalities", directory)
    write_north(directory)
    monkeypatch.setenv("LOTSEN_MUNICIPALITIES_DIR", str(directory))
    return directory


@pytest.fixture
def two_bots(
    fake_rasa: FakeRasa,
    settings_env: str,
    municipalities: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[TestClient, FakeTelegram]]:
    telegram = FakeTelegram(other_tokens=(NORTH_TOKEN,))
    telegram.start()
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_NORTH", NORTH_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET_NORTH", NORTH_SECRET)
    telegram_env(monkeypatch, telegram, "webhook")
    try:
        with TestClient(create_app()) as client:
            yield client, telegram
    finally:
        telegram.stop()
    assert [reason for _call, reason in telegram.rejected] == []


def conversation_with(bot: str, chat_id: int) -> Conversation | None:
    with get_sessionmaker()() as session:
        return session.scalar(
            select(Conversation)
            .join(TelegramChat, TelegramChat.conversation_id == Conversation.id)
            .where(TelegramChat.bot == bot, TelegramChat.chat_id == chat_id)
        )


def test_each_bot_has_its_own_webhook_and_registers_it_with_its_own_token(
    two_bots: tuple[TestClient, FakeTelegram],
) -> None:
    client, telegram = two_bots
    webhooks = {call.token: call.params for call in telegram.calls if call.method == "setWebhook"}
    assert webhooks[telegram.token]["url"] == "https://lotsen.example.invalid" + WEBHOOK
    assert webhooks[telegram.token]["secret_token"] == SECRET
    assert webhooks[NORTH_TOKEN]["url"] == "https://lotsen.example.invalid" + NORTH_WEBHOOK
    assert webhooks[NORTH_TOKEN]["secret_token"] == NORTH_SECRET
    # One bot's secret does not open the other's path.
    update = message_update(1, 600, text="hi")
    assert client.post(NORTH_WEBHOOK, json=update, headers=HEADERS).status_code == 403
    assert client.post(WEBHOOK, json=update, headers=NORTH_HEADERS).status_code == 403


def test_residents_land_in_their_bots_municipality_and_hear_only_from_that_bot(
    two_bots: tuple[TestClient, FakeTelegram], fake_rasa: FakeRasa
) -> None:
    client, telegram = two_bots
    assert (
        client.post(
            WEBHOOK, json=message_update(10, 700, text="hello example"), headers=HEADERS
        ).status_code
        == 200
    )
    # The same update id and the same person (chat 702) through both bots: two chats.
    for chat_id in (701, 702):
        response = client.post(
            NORTH_WEBHOOK,
            json=message_update(10 + chat_id, chat_id, text=f"hello north {chat_id}"),
            headers=NORTH_HEADERS,
        )
        assert response.status_code == 200
    assert (
        client.post(
            WEBHOOK, json=message_update(712, 702, text="hello example too"), headers=HEADERS
        ).status_code
        == 200
    )
    wait_for(lambda: telegram.sent(700, telegram.token), "the example bot's answer")
    wait_for(lambda: telegram.sent(701, NORTH_TOKEN), "the north bot's answer")
    wait_for(lambda: telegram.sent(702, NORTH_TOKEN), "the north bot's answer to 702")
    wait_for(lambda: telegram.sent(702, telegram.token), "the example bot's answer to 702")
    assert telegram.sent(700, NORTH_TOKEN) == []
    assert telegram.sent(701, telegram.token) == []
    assert [m["text"] for m in telegram.sent(702, NORTH_TOKEN)] == ["echo (en): hello north 702"]
    assert [m["text"] for m in telegram.sent(702, telegram.token)] == [
        "echo (en): hello example too"
    ]
    municipalities = {
        (bot, chat): (found.municipality if found else None)
        for bot, chat in (("", 700), ("north", 701), ("north", 702), ("", 702))
        for found in [conversation_with(bot, chat)]
    }
    assert municipalities == {
        ("", 700): "example",
        ("north", 701): "north",
        ("north", 702): "north",
        ("", 702): "example",
    }
    # Rasa is told the municipality: its answers are filled with the north's settings.
    by_text = {body["message"]: body["metadata"] for body in fake_rasa.received}
    assert by_text["hello north 701"]["municipality"] == "north"
    assert by_text["hello example"]["municipality"] == "example"


def test_a_coordinator_sees_only_their_municipalitys_telegram_chats_and_replies_go_through_its_bot(
    two_bots: tuple[TestClient, FakeTelegram], fake_rasa: FakeRasa
) -> None:
    client, telegram = two_bots
    fake_rasa.reply = handoff_reply
    client.post(NORTH_WEBHOOK, json=message_update(30, 730, text="/human"), headers=NORTH_HEADERS)
    wait_for(lambda: telegram.sent(730, NORTH_TOKEN), "the handoff message")
    north = conversation_with("north", 730)
    assert north is not None and north.state == "waiting" and north.municipality == "north"

    user("anna")  # example's coordinator
    user("nils", municipality="north")
    anna = TestClient(client.app, base_url="https://testserver")
    sign_in(anna, "anna")
    assert north.id not in anna.get("/coordinator/").text
    assert anna.get(f"/coordinator/conversations/{north.id}").status_code == 404
    token = csrf(anna.get("/coordinator/").text)
    anna.post(f"/coordinator/conversations/{north.id}/take", data={"csrf_token": token})
    with get_sessionmaker()() as session:
        still = session.get(Conversation, north.id)
        assert still is not None and still.coordinator_id is None

    nils = TestClient(client.app, base_url="https://testserver")
    sign_in(nils, "nils")
    assert north.id in nils.get("/coordinator/").text
    token = csrf(nils.get("/coordinator/").text)
    nils.post(f"/coordinator/conversations/{north.id}/take", data={"csrf_token": token})
    nils.post(
        f"/coordinator/conversations/{north.id}/reply",
        data={"csrf_token": token, "text": "Hej, Nils här."},
    )
    wait_for(
        lambda: telegram.sent(730, NORTH_TOKEN)[-1]["text"] == "Hej, Nils här.",
        "the coordinator's reply through the north bot",
    )
    assert telegram.sent(730, telegram.token) == []


def production(municipalities: Path, **values: str) -> Settings:
    secret = "x" * 40
    return Settings(
        lotsen_env="production",
        lotsen_public_url="https://lotsen.example.org",
        database_url="postgresql+psycopg2://lotsen@db.example.invalid/lotsen",
        nlg_token=secret + "1",
        rasa_api_token=secret + "2",
        rasa_channel_secret=secret + "3",
        action_server_secret=secret + "4",
        link_code_secret=secret + "5",
        telegram_mode="webhook",
        lotsen_municipalities_dir=municipalities,
        **values,  # type: ignore[arg-type]
    )


def test_production_refuses_a_bot_whose_variables_are_missing_and_names_them(
    municipalities: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN_NORTH", raising=False)
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET_NORTH", raising=False)
    with pytest.raises(TelegramConfigurationError) as refused:
        telegram_bots(production(municipalities))
    assert "TELEGRAM_BOT_TOKEN_NORTH" in str(refused.value)
    assert "TELEGRAM_WEBHOOK_SECRET_NORTH" in str(refused.value)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN_NORTH", NORTH_TOKEN)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET_NORTH", "short")
    with pytest.raises(
        TelegramConfigurationError, match="TELEGRAM_WEBHOOK_SECRET_NORTH is shorter"
    ):
        telegram_bots(production(municipalities))
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET_NORTH", "n" * 40)
    (bot,) = telegram_bots(production(municipalities))
    assert (bot.key, bot.municipality, bot.webhook_path) == ("north", "north", NORTH_WEBHOOK)
    # Outside production a bot without its token is left out with a warning; the app runs.
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN_NORTH")
    monkeypatch.setenv("LOTSEN_ENV", "test")
    monkeypatch.setenv("LOTSEN_MUNICIPALITIES_DIR", str(municipalities))
    runtime.reset()
    assert create_app().state.telegram_bots == []
    runtime.reset()


def test_without_any_bot_the_default_token_alone_keeps_working(municipalities: Path) -> None:
    (municipalities / "north.yml").unlink()
    token = "123456:TEST-fake-token"
    (bot,) = telegram_bots(
        production(municipalities, telegram_bot_token=token, telegram_webhook_secret="d" * 40)
    )
    assert (bot.key, bot.municipality, bot.webhook_path) == ("", "example", WEBHOOK)
    assert (bot.token, bot.webhook_secret) == (token, "d" * 40)
    assert bot.external_id(5) == "telegram:5"
