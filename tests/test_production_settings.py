"""Production refuses to start with settings that would open it up, naming the variable."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from bot import runtime
from bot.app import create_app
from bot.settings import Settings
from tests.support.fake_rasa import FakeRasa

STRONG = "s" * 40


def production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "lotsen_env": "production",
        "lotsen_public_url": "https://lotsen.example.invalid",
        "database_url": "postgresql+psycopg2://lotsen@db.example.invalid/lotsen",
        "nlg_token": STRONG + "n",
        "rasa_api_token": STRONG + "r",
        "rasa_channel_secret": STRONG + "c",
        "action_server_secret": STRONG + "a",
        "link_code_secret": STRONG + "l",
    }
    values.update(overrides)
    return Settings(**values)


def test_a_complete_production_configuration_starts() -> None:
    settings = production()
    assert settings.is_production
    assert settings.production_problems() == []


def test_production_is_the_default_and_listens_only_on_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LOTSEN_ENV")
    defaults = Settings.model_fields
    assert defaults["lotsen_env"].default == "production"
    assert defaults["lotsen_host"].default == "127.0.0.1"
    # The development defaults are placeholders: without settings, nothing starts.
    with pytest.raises(ValidationError, match="NLG_TOKEN still holds a placeholder"):
        Settings()


@pytest.mark.parametrize(
    "variable",
    [
        "nlg_token",
        "rasa_api_token",
        "rasa_channel_secret",
        "action_server_secret",
        "link_code_secret",
    ],
)
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("short-but-real-7f3a", "is shorter than 32 characters"),
        ("change-me-but-long-enough-to-pass-the-length-rule", "still holds a placeholder"),
    ],
)
def test_each_weak_secret_is_refused_by_name(variable: str, value: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=f"{variable.upper()} {problem}"):
        production(**{variable: value})


def test_the_webhook_secret_must_be_real_in_production() -> None:
    telegram = {"telegram_bot_token": "1:x", "telegram_mode": "webhook"}
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET still holds a placeholder"):
        production(**telegram, telegram_webhook_secret="change-me-telegram-webhook-secret")
    with pytest.raises(ValidationError, match="TELEGRAM_WEBHOOK_SECRET is shorter"):
        production(**telegram, telegram_webhook_secret="abc123")
    assert production(**telegram, telegram_webhook_secret="w" * 40).telegram_webhook_secret


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lotsen_public_url": "http://lotsen.example.invalid"}, "LOTSEN_PUBLIC_URL"),
        ({"database_url": "sqlite:///var/lotsen.db"}, "DATABASE_URL is SQLite"),
        (
            {"database_url": "postgresql+psycopg2://lotsen:CHANGE_ME@127.0.0.1/lotsen"},
            "DATABASE_URL still holds a placeholder",
        ),
        ({"telegram_bot_token": "1:x", "telegram_mode": "polling"}, "TELEGRAM_MODE is polling"),
    ],
)
def test_unsafe_production_settings_are_refused_by_name(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        production(**overrides)


def test_development_and_tests_keep_their_defaults() -> None:
    for env in ("development", "test"):
        assert Settings(lotsen_env=env, database_url="sqlite://").nlg_token


def test_an_empty_nlg_token_never_matches_an_empty_header(
    fake_rasa: FakeRasa, settings_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NLG_TOKEN", "")
    runtime.reset()
    with TestClient(create_app()) as client:
        body = {"response": "utter_greet", "tracker": {}}
        for header in ({"Authorization": "Bearer "}, {"Authorization": "Bearer"}, {}):
            response = client.post("/nlg", json=body, headers=header)
            assert response.status_code == 401, header


def test_the_command_line_refuses_with_the_variables_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli

    monkeypatch.setenv("LOTSEN_ENV", "production")
    monkeypatch.setenv("NLG_TOKEN", "")
    runtime.reset()
    try:
        assert cli.main(["content", "sync-domain", "--check"]) == 2
    finally:
        runtime.reset()
    error = capsys.readouterr().err
    assert "NLG_TOKEN is empty" in error and "LOTSEN_PUBLIC_URL" in error
    assert "Traceback" not in error
