"""The one way dependencies are wired: a runtime per process, resources built once from its
settings, and tests that never read a developer's `.env`."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from bot import db, runtime, settings
from bot.municipality import UnknownMunicipalityError, get_municipality
from bot.nlg.content import get_catalog
from bot.runtime import Resource, Runtime
from bot.settings import ENV_FILE_VARIABLE, PROJECT_ROOT, Settings, load_settings
from bot.translation.service import get_translator


def test_a_resource_is_built_once_per_runtime_whatever_the_threads() -> None:
    built: list[int] = []
    closed: list[str] = []

    def build(_runtime: Runtime) -> int:
        built.append(1)
        return len(built)

    first = Resource("first", build, close=lambda _value: closed.append("first"))
    second = Resource(
        "second", lambda rt: rt.get(first) * 10, close=lambda _v: closed.append("second")
    )
    own = Runtime(Settings())
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(own.get(second))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [10] * 8
    assert built == [1]
    own.close()
    # The latest built is closed first; after closing, the runtime builds again.
    assert closed == ["second", "first"]
    assert not own.is_built(first)
    assert own.get(first) == 2


def test_a_replaced_resource_is_the_one_asked_for_and_the_old_one_is_closed() -> None:
    closed: list[str] = []
    resource = Resource("content", lambda _rt: "old", close=closed.append)
    own = Runtime(Settings())
    assert own.get(resource) == "old"
    own.replace(resource, "new")
    assert own.get(resource) == "new"
    assert closed == ["old"]
    own.close()
    assert closed == ["old", "new"]


def test_reset_closes_what_was_built_and_reads_the_environment_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'one.db'}")
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(tmp_path / "packages-one"))
    runtime.reset()
    engine = db.get_engine()
    translator = get_translator()
    assert db.get_engine() is engine
    assert db.get_sessionmaker().kw["bind"] is engine
    assert translator.packages_dir == tmp_path / "packages-one"
    with engine.connect():
        assert engine.pool.checkedin() == 0
    assert engine.pool.checkedin() == 1

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'two.db'}")
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(tmp_path / "packages-two"))
    runtime.reset()
    # The old engine's connections were closed (disposed), the new runtime has its own.
    assert engine.pool.checkedin() == 0
    assert str(db.get_engine().url).endswith("two.db")
    assert get_translator() is not translator
    assert get_translator().packages_dir == tmp_path / "packages-two"
    runtime.reset()


def test_an_installed_runtime_is_the_one_every_module_asks(tmp_path: Path) -> None:
    content_dir = tmp_path / "content"
    for language in ("sv", "fi", "uk", "en"):
        (content_dir / language).mkdir(parents=True)
        (content_dir / language / "a.yml").write_text(f"utter_only:\n  - text: only {language}\n")
    municipalities = tmp_path / "municipalities"
    municipalities.mkdir()
    (municipalities / "norrby.yml").write_text("id: norrby\nmunicipality_name: Norrby\n")
    own = Runtime(
        Settings(
            lotsen_content_dir=content_dir,
            lotsen_municipalities_dir=municipalities,
            lotsen_default_municipality="norrby",
        )
    )
    previous = runtime.install(own)
    try:
        assert runtime.get_settings() is own.settings
        assert "utter_only" in get_catalog().names("sv")
        assert "utter_greet" not in get_catalog().names("sv")
        assert get_municipality().values["municipality_name"] == "Norrby"
        with pytest.raises(UnknownMunicipalityError):
            get_municipality("example")
        with pytest.raises(UnknownMunicipalityError):
            get_municipality("../etc/passwd")
    finally:
        runtime.install(previous) if previous is not None else runtime.reset()
        own.close()


def test_the_tests_read_no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # As if the developer had a .env in the project with a token of their own.
    (tmp_path / ".env").write_text("NLG_TOKEN=from-the-developers-dotenv\n")
    monkeypatch.setattr(settings, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv("NLG_TOKEN", raising=False)
    assert os.environ[ENV_FILE_VARIABLE] == ""
    assert load_settings().nlg_token != "from-the-developers-dotenv"
    # Outside the tests (the variable unset), the project's .env is read ...
    monkeypatch.delenv(ENV_FILE_VARIABLE)
    assert load_settings().nlg_token == "from-the-developers-dotenv"
    # ... unless the environment says otherwise, which always wins over the file.
    monkeypatch.setenv("NLG_TOKEN", "from-the-environment")
    assert load_settings().nlg_token == "from-the-environment"
    monkeypatch.delenv("NLG_TOKEN")
    # A named file is read instead of .env.
    named = tmp_path / "production.env"
    named.write_text("NLG_TOKEN=from-the-named-file\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(named))
    assert load_settings().nlg_token == "from-the-named-file"
    # Settings() itself never reads a file.
    monkeypatch.delenv(ENV_FILE_VARIABLE)
    assert Settings().nlg_token != "from-the-developers-dotenv"


@pytest.mark.parametrize(
    ("env_file", "expected"),
    [(None, "from-dotenv"), ("", "change-me-nlg-token"), ("other.env", "from-other")],
)
def test_the_run_scripts_read_the_same_dotenv_file(
    tmp_path: Path, env_file: str | None, expected: str
) -> None:
    (tmp_path / ".env").write_text("NLG_TOKEN=from-dotenv\n")
    (tmp_path / "other.env").write_text("NLG_TOKEN=from-other\n")
    environment = {k: v for k, v in os.environ.items() if k not in {"NLG_TOKEN", ENV_FILE_VARIABLE}}
    if env_file is not None:
        environment[ENV_FILE_VARIABLE] = env_file
    printed = subprocess.run(
        ["bash", "-c", f'. "{PROJECT_ROOT / "scripts" / "env.sh"}" && printf %s "$NLG_TOKEN"'],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert printed == expected
