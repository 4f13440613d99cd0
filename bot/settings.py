"""The one typed settings object of a process, read from the environment and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

PLACEHOLDER_MARKERS = ("change-me", "CHANGE_ME")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    lotsen_env: Literal["development", "production", "test"] = "development"
    lotsen_host: str = "0.0.0.0"  # noqa: S104 - the app is the one public process
    lotsen_port: int = 8000
    lotsen_public_url: str = "http://localhost:8000"
    lotsen_default_municipality: str = "example"
    lotsen_default_language: str = "sv"
    lotsen_max_message_chars: int = 2000
    lotsen_content_dir: Path = PROJECT_ROOT / "data" / "content"
    lotsen_municipalities_dir: Path = PROJECT_ROOT / "municipalities"

    database_url: str = f"sqlite:///{PROJECT_ROOT / 'var' / 'lotsen.db'}"

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_api_token: str = "change-me-rasa-api-token"  # noqa: S105 - refused in production
    rasa_timeout_seconds: float = 30.0
    action_server_url: str = "http://127.0.0.1:5055"
    nlg_token: str = "change-me-nlg-token"  # noqa: S105 - refused in production
    # Key of the hash under which link codes are stored; the app, the action server and
    # the CLI must share it.
    link_code_secret: str = "change-me-link-code-secret"  # noqa: S105 - refused in production
    # How often the app looks for booking reminders that are due (sent the day before).
    reminder_interval_seconds: float = 60.0

    @model_validator(mode="after")
    def refuse_placeholder_secrets(self) -> Settings:
        if self.lotsen_env != "production":
            return self
        for name in ("rasa_api_token", "nlg_token", "link_code_secret", "database_url"):
            value = getattr(self, name)
            if any(marker in value for marker in PLACEHOLDER_MARKERS):
                raise ValueError(f"{name.upper()} still holds a placeholder from .env.example")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
