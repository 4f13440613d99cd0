"""The one typed settings object of a process, read from the environment and a dotenv file.

`load_settings()` reads the file named by `LOTSEN_ENV_FILE` (unset: the project's `.env`;
empty: none, as the tests run). The process keeps its settings in its runtime
(`bot.runtime.get_settings()`), not here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Values from .env.example and the development defaults: anyone who has read the code
# knows them, so outside development and the tests they are refused.
PLACEHOLDER_MARKERS = ("change-me", "change_me", "changeme")
# A secret shorter than this can be guessed or was typed by hand; outside development and
# the tests it is refused (`openssl rand -hex 32` gives 64 characters).
MIN_SECRET_LENGTH = 32
# Where development and the tests run; every other value of LOTSEN_ENV is production.
RELAXED_ENVIRONMENTS = ("development", "test")
# What Telegram accepts as a webhook's secret_token.
TELEGRAM_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


def normalise_origin(url: str) -> str:
    """scheme://host[:port] in lower case without a default port or path, as in an Origin
    header."""
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class Settings(BaseSettings):
    # No dotenv file unless `load_settings` names one: `Settings(...)` in a test reads only
    # the environment and its arguments.
    model_config = SettingsConfigDict(env_file=None, env_file_encoding="utf-8", extra="ignore")

    # Production unless told otherwise: a forgotten setting must not open the app up.
    # `make run` (scripts/env.sh) says development, the tests say test.
    lotsen_env: Literal["development", "production", "test"] = "production"
    # Only the machine itself; nginx in front of the app is what listens beyond it.
    lotsen_host: str = "127.0.0.1"
    lotsen_port: int = 8000
    lotsen_public_url: str = "http://localhost:8000"
    lotsen_default_municipality: str = "example"
    lotsen_default_language: str = "sv"
    lotsen_max_message_chars: int = 2000
    lotsen_content_dir: Path = PROJECT_ROOT / "data" / "content"
    lotsen_municipalities_dir: Path = PROJECT_ROOT / "municipalities"

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'lotsen.db'}"

    rasa_url: str = "http://127.0.0.1:5005"
    # Rasa's SQL tracker store (endpoints.yml): erasure and the purge delete a
    # conversation's events there too, so the app needs the same URL as the Rasa server.
    rasa_tracker_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'rasa-tracker.db'}"
    rasa_api_token: str = "change-me-rasa-api-token"  # noqa: S105 - refused in production
    rasa_timeout_seconds: float = 30.0
    action_server_url: str = "http://127.0.0.1:5055"
    nlg_token: str = "change-me-nlg-token"  # noqa: S105 - refused in production
    # Sent by the gateway in a header with every message to Rasa's REST channel
    # (`rasa_channels/secret_rest.py`), which refuses calls without it.
    rasa_channel_secret: str = "change-me-rasa-channel-secret"  # noqa: S105 - refused in production
    # Sent by Rasa (endpoints.yml `action_endpoint: headers:`) with every call to the action
    # server, which refuses calls without it (`bot/action_server.py`).
    action_server_secret: str = "change-me-action-server-secret"  # noqa: S105 - refused in production
    # Key of the hash under which link codes are stored; the app, the action server and
    # the CLI must share it.
    link_code_secret: str = "change-me-link-code-secret"  # noqa: S105 - refused in production
    # Budgets of wrong link codes that no new conversation resets (bot/cases/linking.py): per
    # client network (an IPv4 address, an IPv6 /64, a Telegram user) within an hour, and for
    # the whole system within an hour; when the system's is spent, linking by code pauses for
    # everyone and the coordinator app says so. See README, "Cases and personal answers".
    link_failures_per_network: int = 5
    link_failures_per_system: int = 50
    # Wrong tries within a day aimed at one case (its dead codes, or a live one from another
    # municipality) that revoke its live codes.
    link_failures_per_case: int = 5
    # Coming bookings a person not linked to a case may hold: per conversation, per contact
    # (phone or e-mail) and per client network. A newcomer books one meeting, rarely two.
    booking_limit_unlinked: int = 2
    # Urgent conversations from one client network within an hour that go to the head of
    # the coordinator's queue; more are marked for the coordinator and wait in turn.
    urgent_per_network: int = 3
    # How often the app looks for booking reminders that are due (sent the day before).
    reminder_interval_seconds: float = 60.0
    # How often each app process looks whether today's purge of data past its retention
    # period is due (one process a day runs it; bot/privacy/retention.py).
    purge_check_interval_seconds: float = 600.0
    # How often each process (the app's, the action server) looks whether a content or
    # municipality file changed, and loads it if so (bot/content_reload.py).
    lotsen_content_check_seconds: float = 5.0
    # How often the app builds the statistics of the days not built yet.
    statistics_interval_seconds: float = 3600.0

    # Web widget. Origins (scheme://host[:port], comma-separated) of the sites allowed to
    # embed it and call the API from a browser; the app's own origin is always allowed.
    lotsen_widget_allowed_origins: str = ""
    # How often an open event stream looks for new messages (one indexed query each time),
    # and how often it sends a heartbeat so proxies keep the idle connection open.
    widget_events_poll_seconds: float = 2.0
    widget_events_heartbeat_seconds: float = 15.0
    # Rate limits of the conversation API (in Redis when LOTSEN_REDIS_URL is set, else in
    # each process's memory): messages
    # per conversation and per address a minute, new conversations per address in 10 minutes.
    rate_limit_conversation_messages: int = 20
    rate_limit_address_messages: int = 60
    rate_limit_address_conversations: int = 20
    # Event streams opened a minute, per conversation and per address (the widget opens one
    # and reconnects every ten minutes or after a network error), and readiness checks a
    # minute per address other than the host's own (each one calls Rasa and the actions).
    rate_limit_conversation_streams: int = 10
    rate_limit_address_streams: int = 30
    rate_limit_address_readiness: int = 12
    # Translation previews a coordinator asks for a minute (the reply form asks while they
    # type); each one runs the translation models.
    rate_limit_coordinator_previews: int = 60
    # Redis shared by every app process (e.g. redis://127.0.0.1:6379/0): the rate limits
    # above and the count of open event streams are then kept there, so N processes allow
    # what one would. Unset: each process counts in its own memory. Every key starts with
    # the prefix, so several installations (or the tests) may share one Redis.
    lotsen_redis_url: str = ""
    lotsen_redis_prefix: str = "lotsen"
    # An open event stream renews its place in Redis every quarter of this; the places of a
    # process that died are free again after it.
    lotsen_stream_slot_seconds: float = 60.0
    # Proxies whose X-Forwarded-For the app believes (addresses or networks, comma-separated;
    # nginx on the same host in the production shape). Anyone else's header is ignored.
    lotsen_trusted_proxies: str = "127.0.0.1,::1"

    # Telegram: off while the token (from BotFather) is empty.
    telegram_bot_token: str = ""
    # webhook: Telegram calls LOTSEN_PUBLIC_URL + TELEGRAM_WEBHOOK_PATH (production);
    # polling: the app asks Telegram for updates (development, no public URL needed).
    telegram_mode: Literal["webhook", "polling"] = "polling"
    # Telegram sends it in a header with every webhook call; other calls are refused.
    telegram_webhook_secret: str = ""
    telegram_webhook_path: str = "/telegram/webhook"
    # Tests point this at a fake Bot API server.
    telegram_api_base_url: str = "https://api.telegram.org"
    # How long a button the bot offered in a Telegram chat may be pressed: a pressed
    # button is honoured only if this chat was offered it within this time.
    telegram_button_window_hours: float = 24.0
    # How often undelivered Telegram messages (and coordinator replies, reminders) are sent.
    telegram_delivery_interval_seconds: float = 5.0

    # Offline machine translation (optional extra `translation`): where Argos packages are
    # installed, how many translations run at once (each on one CPU thread), how many
    # translated texts are remembered, and the beam width (wider: better, slower).
    translation_packages_dir: Path = PROJECT_ROOT / "var" / "argos-packages"
    translation_workers: int = 2
    translation_cache_size: int = 1000
    translation_beam_size: int = 2

    @property
    def widget_allowed_origins(self) -> frozenset[str]:
        """The configured origins and the app's own, normalised as browsers send them."""
        configured = [o for o in self.lotsen_widget_allowed_origins.split(",") if o.strip()]
        return frozenset(
            normalise_origin(origin) for origin in [*configured, self.lotsen_public_url]
        )

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def telegram_webhook_url(self) -> str:
        return self.lotsen_public_url.rstrip("/") + self.telegram_webhook_path

    @model_validator(mode="after")
    def check_telegram(self) -> Settings:
        if not self.telegram_enabled or self.telegram_mode != "webhook":
            return self
        if not TELEGRAM_SECRET_PATTERN.fullmatch(self.telegram_webhook_secret):
            raise ValueError(
                "TELEGRAM_WEBHOOK_SECRET is required in webhook mode: 1-256 characters "
                "of A-Z, a-z, 0-9, _ and -"
            )
        if not self.telegram_webhook_path.startswith("/"):
            raise ValueError("TELEGRAM_WEBHOOK_PATH must start with /")
        if self.lotsen_env == "production" and not self.lotsen_public_url.startswith("https://"):
            raise ValueError("Telegram webhooks need an https:// LOTSEN_PUBLIC_URL")
        return self

    @property
    def trusted_proxies(self) -> list[str]:
        return [item.strip() for item in self.lotsen_trusted_proxies.split(",") if item.strip()]

    @property
    def is_production(self) -> bool:
        return self.lotsen_env not in RELAXED_ENVIRONMENTS

    def secrets(self) -> dict[str, str]:
        """The secrets this configuration depends on, by their variable's name."""
        named = {
            "NLG_TOKEN": self.nlg_token,
            "RASA_API_TOKEN": self.rasa_api_token,
            "RASA_CHANNEL_SECRET": self.rasa_channel_secret,
            "ACTION_SERVER_SECRET": self.action_server_secret,
            "LINK_CODE_SECRET": self.link_code_secret,
        }
        if self.telegram_enabled and self.telegram_mode == "webhook":
            named["TELEGRAM_WEBHOOK_SECRET"] = self.telegram_webhook_secret
        return named

    def production_problems(self) -> list[str]:
        """What production refuses, each naming its variable; empty when all is well."""
        problems: list[str] = []
        for name, value in self.secrets().items():
            if not value.strip():
                problems.append(f"{name} is empty")
            elif any(marker in value.lower() for marker in PLACEHOLDER_MARKERS):
                problems.append(f"{name} still holds a placeholder from .env.example")
            elif len(value) < MIN_SECRET_LENGTH:
                problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
        if any(marker in self.database_url.lower() for marker in PLACEHOLDER_MARKERS):
            problems.append("DATABASE_URL still holds a placeholder from .env.example")
        if self.database_url.lower().startswith("sqlite"):
            problems.append("DATABASE_URL is SQLite; production needs PostgreSQL")
        if not self.lotsen_public_url.lower().startswith("https://"):
            # Without https the session cookie goes without Secure.
            problems.append("LOTSEN_PUBLIC_URL must be an https:// address")
        if self.telegram_enabled and self.telegram_mode == "polling":
            problems.append(
                "TELEGRAM_MODE is polling; production uses webhook (only one process may poll)"
            )
        return problems

    @model_validator(mode="after")
    def refuse_unsafe_production(self) -> Settings:
        if self.is_production:
            problems = self.production_problems()
            if problems:
                raise ValueError(
                    f"LOTSEN_ENV={self.lotsen_env} refuses to start: "
                    + "; ".join(problems)
                    + " (LOTSEN_ENV=development for a development machine)"
                )
        return self


ENV_FILE_VARIABLE = "LOTSEN_ENV_FILE"


def env_file() -> Path | None:
    """The dotenv file this process reads: `LOTSEN_ENV_FILE`, the project's `.env` when
    that is unset, none when it is empty."""
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named is None:
        return PROJECT_ROOT / ".env"
    return Path(named) if named.strip() else None


def load_settings() -> Settings:
    """Settings from the environment, then the dotenv file (`env_file()`), then defaults."""
    return Settings(_env_file=env_file())
