"""Starts the whole system (Rasa, action server, app) as real processes on free ports.

Used by the system tests (tests/system/) and the benchmarks; `make run` uses the Procfile
instead.
Each run gets its own SQLite databases and tokens, so it never touches the developer's.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.db import migrate
from bot.settings import PROJECT_ROOT

SCRIPTS = {
    "rasa": PROJECT_ROOT / "scripts" / "run-rasa.sh",
    "actions": PROJECT_ROOT / "scripts" / "run-actions.sh",
    "app": PROJECT_ROOT / "scripts" / "run-app.sh",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningSystem:
    workdir: Path
    model: Path = PROJECT_ROOT / "models"
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    app_port: int = field(default_factory=free_port)
    rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nlg_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    link_code_secret: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    rasa_channel_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    action_server_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Where the app looks for Argos packages; by default an empty directory of its own, so
    # that packages installed for development do not change what tests see.
    translation_packages_dir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # A port for a page of another site that embeds the widget (a municipality's site in
    # the browser tests): its origin is allowed to embed it.
    embedding_site_port: int = field(default_factory=free_port)

    @property
    def embedding_site_url(self) -> str:
        return f"http://127.0.0.1:{self.embedding_site_port}"

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.workdir / 'lotsen.db'}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            # The system under test reads no developer's .env, only what is set here.
            LOTSEN_ENV_FILE="",
            LOTSEN_ENV="test",
            LOTSEN_HOST="127.0.0.1",
            LOTSEN_PORT=str(self.app_port),
            LOTSEN_PUBLIC_URL=self.app_url,
            DATABASE_URL=self.database_url,
            RASA_PORT=str(self.rasa_port),
            RASA_URL=self.rasa_url,
            RASA_API_TOKEN=self.rasa_token,
            RASA_MODEL=str(self.model),
            ACTION_SERVER_PORT=str(self.action_port),
            ACTION_SERVER_URL=f"http://127.0.0.1:{self.action_port}",
            NLG_URL=f"{self.app_url}/nlg",
            NLG_TOKEN=self.nlg_token,
            LINK_CODE_SECRET=self.link_code_secret,
            RASA_CHANNEL_SECRET=self.rasa_channel_secret,
            ACTION_SERVER_SECRET=self.action_server_secret,
            RASA_TRACKER_URL=f"sqlite:///{self.workdir / 'rasa-tracker.db'}",
            # Tests and benchmarks hold many conversations from one address at once.
            RATE_LIMIT_CONVERSATION_MESSAGES="100000",
            RATE_LIMIT_ADDRESS_MESSAGES="100000",
            RATE_LIMIT_ADDRESS_CONVERSATIONS="100000",
            LOTSEN_WIDGET_ALLOWED_ORIGINS=self.embedding_site_url,
            RATE_LIMIT_CONVERSATION_STREAMS="100000",
            RATE_LIMIT_ADDRESS_STREAMS="100000",
            # Every booking in the tests comes from this one network; the limit itself is
            # tested in tests/test_booking_limits.py.
            BOOKING_LIMIT_UNLINKED="100000",
            TRANSLATION_PACKAGES_DIR=str(
                self.translation_packages_dir or self.workdir / "argos-packages"
            ),
        )
        return env

    def start(self, timeout: float = 240.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        migrate.upgrade(self.database_url)
        for name in SCRIPTS:
            self.start_process(name)
        self.wait_until_ready(timeout)

    def start_process(self, name: str) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(SCRIPTS[name])],
            cwd=PROJECT_ROOT,
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)

    def readiness(self) -> dict[str, str] | None:
        try:
            response = httpx.get(f"{self.app_url}/readyz", timeout=5)
        except httpx.HTTPError:
            return None
        checks: dict[str, str] = response.json().get("checks", {})
        return checks

    def wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log_tail(name)}")
            checks = self.readiness()
            if checks and all(value == "ok" for value in checks.values()):
                return
            time.sleep(1)
        logs = "\n".join(f"--- {name}\n{self.log_tail(name)}" for name in SCRIPTS)
        raise TimeoutError(f"system not ready after {timeout}s: {self.readiness()}\n{logs}")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.workdir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def __enter__(self) -> RunningSystem:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
