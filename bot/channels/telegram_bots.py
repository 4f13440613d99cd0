"""Which Telegram bots this installation runs: one per municipality that has one.

A municipality's file names the environment variables that hold its bot's token and its
webhook secret (the secrets stay out of the files):

    telegram:
      bot_token_env: TELEGRAM_BOT_TOKEN_NORTH
      webhook_secret_env: TELEGRAM_WEBHOOK_SECRET_NORTH

Its bot then receives updates at `TELEGRAM_WEBHOOK_PATH/<municipality id>`, and every chat
that comes through it is a conversation of that municipality (its queue, calendar and
content); everything said in that chat goes out through the same bot. The default
municipality (`LOTSEN_DEFAULT_MUNICIPALITY`) keeps `TELEGRAM_BOT_TOKEN`,
`TELEGRAM_WEBHOOK_SECRET` and `TELEGRAM_WEBHOOK_PATH` unless its own file names variables.

The variables are read from the environment, then from the dotenv file the settings read.
In production a bot whose variable is empty, or whose secret is weak, stops the start with
a message naming the variable; in development and the tests such a bot is left out with a
warning.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from bot.settings import (
    MIN_SECRET_LENGTH,
    PLACEHOLDER_MARKERS,
    TELEGRAM_SECRET_PATTERN,
    Settings,
    env_file,
)

logger = logging.getLogger(__name__)

# The bot's key is part of its updates' external ids (message.external_id is 64 characters).
MAX_BOT_KEY_CHARS = 32


class TelegramConfigurationError(ValueError):
    pass


@dataclass(frozen=True)
class TelegramBot:
    """One bot. `key` is '' for the default municipality's bot (its chats and updates from
    before there were several bots are its), else the municipality's id."""

    key: str
    municipality: str
    token: str
    webhook_secret: str
    webhook_path: str
    token_variable: str
    secret_variable: str

    def external_id(self, update_id: int, turn: str = "") -> str:
        """The stored id of an update's message: unique across every bot."""
        bot = f"{self.key}:" if self.key else ""
        return f"telegram:{bot}{update_id}{turn}"


def _telegram_section(path: Path) -> dict[str, Any] | None:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    section = raw.get("telegram") if isinstance(raw, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise TelegramConfigurationError(
            f"{path}: telegram must be a mapping with bot_token_env and webhook_secret_env"
        )
    return section


def _variables() -> dict[str, str]:
    """The environment over the dotenv file, as the settings read them."""
    values: dict[str, str] = {}
    named = env_file()
    if named is not None and named.is_file():
        values.update({k: v for k, v in dotenv_values(named).items() if v is not None})
    values.update(os.environ)
    return values


def _secret_problem(name: str, value: str, settings: Settings) -> str | None:
    if not TELEGRAM_SECRET_PATTERN.fullmatch(value):
        return f"{name} must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
    if settings.is_production:
        if any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
            return f"{name} still holds a placeholder"
        if len(value) < MIN_SECRET_LENGTH:
            return f"{name} is shorter than {MIN_SECRET_LENGTH} characters"
    return None


def telegram_bots(settings: Settings) -> list[TelegramBot]:
    """Every bot this installation runs, the default municipality's first. Raises
    TelegramConfigurationError naming every missing or weak variable in production."""
    environment = _variables()
    default = settings.lotsen_default_municipality
    directory = settings.lotsen_municipalities_dir
    files = sorted(directory.glob("*.yml")) if directory.is_dir() else []
    sections = {path.stem: _telegram_section(path) for path in files}
    webhook = settings.telegram_mode == "webhook"
    bots: list[TelegramBot] = []
    problems: list[str] = []
    tokens: dict[str, str] = {}

    def add(
        municipality: str,
        token_variable: str,
        secret_variable: str,
        path: str,
        values: tuple[str, str] | None = None,
    ) -> None:
        key = "" if municipality == default else municipality
        if values is not None:  # the settings' own (TELEGRAM_BOT_TOKEN, ...)
            token, secret = values[0].strip(), values[1].strip()
        else:
            token = environment.get(token_variable, "").strip()
            secret = environment.get(secret_variable, "").strip() if secret_variable else ""
        found: list[str] = []
        if not token:
            found.append(f"{token_variable} (the bot token of {municipality}) is empty")
        if webhook:
            if not secret_variable:
                found.append(f"the telegram section of {municipality} names no webhook_secret_env")
            elif not secret:
                found.append(f"{secret_variable} (the webhook secret of {municipality}) is empty")
            else:
                problem = _secret_problem(secret_variable, secret, settings)
                if problem:
                    found.append(problem)
        if token and token in tokens:
            found.append(f"{token_variable} is the same bot as {tokens[token]}")
        if len(key) > MAX_BOT_KEY_CHARS:
            found.append(
                f"a municipality with its own bot needs an id of at most 32 characters: {key}"
            )
        if found:
            # A default bot that is simply not configured is no problem.
            if not token and not secret and municipality == default and not sections.get(default):
                return
            if settings.is_production:
                problems.extend(found)
            else:
                logger.warning("Telegram bot of %s left out: %s", municipality, "; ".join(found))
            return
        tokens[token] = token_variable
        bots.append(
            TelegramBot(key, municipality, token, secret, path, token_variable, secret_variable)
        )

    base_path = settings.telegram_webhook_path.rstrip("/")
    default_section = sections.get(default)
    if default_section:
        add(
            default,
            str(default_section.get("bot_token_env") or ""),
            str(default_section.get("webhook_secret_env") or ""),
            settings.telegram_webhook_path,
        )
    else:
        add(
            default,
            "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_WEBHOOK_SECRET",
            settings.telegram_webhook_path,
            (settings.telegram_bot_token, settings.telegram_webhook_secret),
        )
    for municipality, section in sections.items():
        if municipality == default or not section:
            continue
        token_variable = str(section.get("bot_token_env") or "")
        if not token_variable:
            missing = f"the telegram section of {municipality} names no bot_token_env"
            if settings.is_production:
                problems.append(missing)
            else:
                logger.warning("Telegram bot of %s left out: %s", municipality, missing)
            continue
        add(
            municipality,
            token_variable,
            str(section.get("webhook_secret_env") or ""),
            f"{base_path}/{municipality}",
        )
    if settings.is_production and settings.telegram_mode == "polling" and bots:
        problems.append(
            "TELEGRAM_MODE is polling; production uses webhook (only one process may poll)"
        )
    if problems:
        raise TelegramConfigurationError(
            f"LOTSEN_ENV={settings.lotsen_env} refuses to start Telegram: " + "; ".join(problems)
        )
    return bots
