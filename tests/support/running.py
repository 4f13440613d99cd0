"""The real three processes for integration tests, shared by every test module that
needs them (started once per test session), and a person talking to them over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.settings import PROJECT_ROOT
from tests.support.argos_package import install_packages
from tests.support.system import RunningSystem

MODEL_DIR = PROJECT_ROOT / "models"
# The running system's translation packages (tests/support/argos_package.py: real packages,
# random weights, so their output is nonsense): Russian is a translated language with
# packages both ways; Swedish and Ukrainian reach each other through English. Arabic has none.
SYSTEM_TRANSLATION_PAIRS = (
    ("ru", "en"),
    ("en", "ru"),
    ("uk", "en"),
    ("en", "uk"),
    ("sv", "en"),
    ("en", "sv"),
)
CYRILLIC = range(0x0400, 0x0500)


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    if not any(MODEL_DIR.glob("*.tar.gz")):
        pytest.fail("no trained model in models/: run `make train` (make test does)")
    workdir = Path(tmp_path_factory.mktemp("system"))
    packages = workdir / "argos-packages"
    install_packages(packages, SYSTEM_TRANSLATION_PAIRS)
    with RunningSystem(workdir=workdir, translation_packages_dir=packages) as running:
        yield running


class Person:
    def __init__(self, system: RunningSystem, language: str | None) -> None:
        self.http = httpx.Client(base_url=system.app_url, timeout=60)
        body = {"language": language} if language else {}
        created = self.http.post("/api/v1/conversations", json=body)
        assert created.status_code == 201, created.text
        self.id = created.json()["conversation_id"]
        self.http.headers["Authorization"] = f"Bearer {created.json()['token']}"

    def say(self, text: str) -> dict[str, Any]:
        return self._post({"text": text})

    def press(self, payload: str) -> dict[str, Any]:
        return self._post({"payload": payload})

    def _post(self, body: dict[str, str]) -> dict[str, Any]:
        response = self.http.post(f"/api/v1/conversations/{self.id}/messages", json=body)
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data


def texts(reply: dict[str, Any]) -> str:
    return "\n".join(message["text"] for message in reply["messages"])


def payloads(reply: dict[str, Any]) -> list[str]:
    return [b["payload"] for message in reply["messages"] for b in message["buttons"]]


def is_cyrillic(text: str) -> bool:
    return any(ord(ch) in CYRILLIC for ch in text)
