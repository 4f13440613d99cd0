"""The translation service on real (tiny, random) Argos packages, installed by the CLI.

The packages' output is nonsense, so these tests assert the path a text takes, what must
survive translation, the cache, the worker pool and that nothing touches the network.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import cli
from bot.settings import get_settings
from bot.translation import Translator
from bot.translation import service as translation_service
from bot.translation.protect import GlossaryTerm, protect, restore
from bot.translation.sentences import join_sentences, split_sentences
from tests.support.argos_package import build_package

pytest.importorskip("ctranslate2", reason="the optional extra 'translation' is not installed")

PAIRS = (("uk", "en", 1), ("en", "sv", 2), ("sv", "uk", 3))


@pytest.fixture(scope="session")
def packages_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """uk→en, en→sv and sv→uk, installed through `lotsen translate install-file`."""
    build_dir = tmp_path_factory.mktemp("argos-build")
    target = tmp_path_factory.mktemp("argos") / "packages"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSLATION_PACKAGES_DIR", str(target))
        get_settings.cache_clear()
        for source, destination, seed in PAIRS:
            archive = build_package(build_dir, source, destination, seed)
            assert cli.main(["translate", "install-file", str(archive)]) == 0
    get_settings.cache_clear()
    yield target


@pytest.fixture
def translator(packages_dir: Path) -> Iterator[Translator]:
    service = Translator(packages_dir, workers=2)
    yield service
    service.close()


def test_cli_installs_and_reports(
    packages_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert sorted(p.name for p in packages_dir.iterdir()) == [
        "translate-en_sv",
        "translate-sv_uk",
        "translate-uk_en",
    ]
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(packages_dir))
    get_settings.cache_clear()
    assert cli.main(["translate", "status"]) == 0
    out = capsys.readouterr().out
    assert "installed pairs: en→sv, sv→uk, uk→en" in out
    assert "uk: partly covered (into sv,en; from sv; of sv/fi/en)" in out
    assert "translated languages offered to people: none" in out
    assert "coordinator in sv: reads and answers uk; not fi, en" in out
    assert "coordinator in fi: reads and answers no other language; not sv, uk, en" in out
    get_settings.cache_clear()


def test_install_file_refuses_what_is_not_a_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "packages"
    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(target))
    get_settings.cache_clear()
    bogus = tmp_path / "bogus.argosmodel"
    bogus.write_text("not a zip")
    assert cli.main(["translate", "install-file", str(bogus)]) == 1
    assert "not an Argos package" in capsys.readouterr().err
    assert not target.exists() or not any(target.iterdir())
    get_settings.cache_clear()


def test_available_pairs_direct_through_english_and_missing(translator: Translator) -> None:
    assert translator.available("uk", "en")
    assert translator.available("uk", "sv")  # uk→en→sv
    assert translator.available("sv", "uk")
    assert not translator.available("en", "uk")  # no en→uk, and English cannot pivot
    assert not translator.available("fi", "sv")
    assert not translator.available("sv", "en")


def test_status_lists_pairs_and_coverage(translator: Translator) -> None:
    status = translator.status()
    assert status.extra_installed
    assert status.pairs == (("en", "sv"), ("sv", "uk"), ("uk", "en"))
    coverage = {c.language: c for c in status.languages}
    assert coverage["uk"].into == ("sv", "en")
    assert coverage["uk"].out_of == ("sv",)
    assert not coverage["uk"].fully_covered
    assert status.problems == ()


async def test_direct_and_pivot_translations(translator: Translator) -> None:
    direct = await translator.translate("Хто відповідає за мої послуги?", "uk", "en")
    assert direct is not None
    assert (direct.source, direct.target, direct.pivot) == ("uk", "en", None)
    assert direct.text.strip() and direct.text != "Хто відповідає за мої послуги?"

    pivoted = await translator.translate("Хто відповідає за мої послуги?", "uk", "sv")
    assert pivoted is not None
    assert (pivoted.source, pivoted.target, pivoted.pivot) == ("uk", "sv", "en")

    assert await translator.translate("Hej", "fi", "uk") is None
    same = await translator.translate("Hej", "sv", "sv")
    assert same is not None and same.text == "Hej"


PROTECTED = (
    "https://www.example.fi/integration",
    "anna@example.fi",
    "+358 40 123 4567",
    "10:00",
    "3.12.2026",
    "2026-0042",
    "482-913",
    "Storgatan 5",
    "Anna Virtanen",
    "Exempelby",
)


@pytest.mark.parametrize(("source", "target"), [("uk", "en"), ("uk", "sv")])
async def test_protected_terms_come_out_unchanged(
    translator: Translator, source: str, target: str
) -> None:
    text = (
        "Мій код 482-913, справа 2026-0042. Зустріч 3.12.2026 о 10:00, Storgatan 5.\n"
        "Координатор Anna Virtanen (Exempelby): +358 40 123 4567, anna@example.fi. "
        "Дивіться https://www.example.fi/integration."
    )
    result = await translator.translate(
        text, source, target, protected_terms=["Anna Virtanen", "Exempelby", "Storgatan 5"]
    )
    assert result is not None
    for term in PROTECTED:
        assert term in result.text, term


async def test_glossary_term_is_put_back_in_the_target_language(translator: Translator) -> None:
    result = await translator.translate("Що таке план інтеграції?", "uk", "sv")
    assert result is not None
    assert "integrationsplan" in result.text
    assert "план інтеграції" not in result.text


async def test_repeated_text_is_served_from_the_cache(
    translator: Translator, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    original = translation_service._PackageModel.translate_sentences

    def counting(self: Any, sentences: list[str]) -> list[str]:
        calls.append(sentences)
        return original(self, sentences)

    monkeypatch.setattr(translation_service._PackageModel, "translate_sentences", counting)
    first = await translator.translate("Дякую, це було корисно.", "uk", "sv")
    assert len(calls) == 2  # uk→en, then en→sv
    second = await translator.translate("Дякую, це було корисно.", "uk", "sv")
    assert second == first
    assert len(calls) == 2
    await translator.translate("Дякую, це було корисно.", "uk", "en")
    assert len(calls) == 3  # another target is another translation


async def test_worker_pool_bounds_concurrent_translations(
    packages_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    active = 0
    most = 0
    lock = threading.Lock()
    original = translation_service._PackageModel.translate_sentences

    def tracking(self: Any, sentences: list[str]) -> list[str]:
        nonlocal active, most
        with lock:
            active += 1
            most = max(most, active)
        try:
            time.sleep(0.05)
            return original(self, sentences)
        finally:
            with lock:
                active -= 1

    monkeypatch.setattr(translation_service._PackageModel, "translate_sentences", tracking)
    service = Translator(packages_dir, workers=2)
    try:
        texts = [f"Повідомлення номер {word}." for word in "абвгдеж"]
        results = await asyncio.gather(*(service.translate(t, "uk", "en") for t in texts))
    finally:
        service.close()
    assert all(result is not None for result in results)
    assert most == 2


async def test_translates_with_the_network_unreachable(
    packages_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network unreachable in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    service = Translator(packages_dir)
    try:
        result = await service.translate(
            "Привіт! Що таке план інтеграції? Дякую.\nДо побачення.", "uk", "sv"
        )
    finally:
        service.close()
    assert result is not None and result.pivot == "en"
    assert result.text.count("\n") == 1
    assert attempts == []


def test_translation_imports_no_sentence_splitter_models(packages_dir: Path) -> None:
    """In a fresh process: translating loads neither stanza, MiniSBD nor torch."""
    script = f"""
import asyncio, sys
from pathlib import Path
from bot.translation import Translator
result = asyncio.run(Translator(Path({str(packages_dir)!r})).translate("Привіт.", "uk", "en"))
assert result is not None
print(sorted(m for m in ("stanza", "minisbd", "torch", "argostranslate.sbd") if m in sys.modules))
"""
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert completed.stdout.strip() == "[]"


async def test_without_packages_nothing_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = Translator(tmp_path / "none-installed")
    assert not service.available("uk", "sv")
    assert await service.translate("Привіт", "uk", "sv") is None
    status = service.status()
    assert status.pairs == () and status.languages == () and status.problems == ()
    service.close()

    monkeypatch.setenv("TRANSLATION_PACKAGES_DIR", str(tmp_path / "none-installed"))
    get_settings.cache_clear()
    assert cli.main(["translate", "status"]) == 0
    assert "no translation packages installed" in capsys.readouterr().out
    get_settings.cache_clear()


async def test_without_the_extra_nothing_fails(
    packages_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(translation_service, "import_argos_package", lambda _path: None)
    service = Translator(packages_dir)
    assert await service.translate("Привіт", "uk", "sv") is None
    status = service.status()
    assert not status.extra_installed and status.pairs == ()
    assert "not installed" in status.problems[0]


# -- the parts without a model ---------------------------------------------------------


def test_placeholders_are_restored_wherever_the_model_put_them() -> None:
    protected = protect("Ring 040 123 4567 eller skriv till anna@example.fi.")
    assert "040 123 4567" not in protected.text and "anna@example.fi" not in protected.text
    # A model may reorder placeholders, pad them with spaces, or write other digits.
    assert restore("Write [ 2 ] or call [١].", protected.replacements) == (
        "Write anna@example.fi or call 040 123 4567."
    )


def test_a_lost_placeholder_is_appended_never_dropped() -> None:
    protected = protect("Koodi 482-913 ja numero 2026-0042.")
    assert restore("Code [1] and number.", protected.replacements) == (
        "Code 482-913 and number. 2026-0042"
    )


def test_text_that_only_looks_like_a_placeholder_is_kept() -> None:
    protected = protect("See note [3].")
    assert restore(protected.text, protected.replacements) == "See note [3]."


def test_glossary_matches_inflected_forms_and_keeps_capitals() -> None:
    term = GlossaryTerm(source_forms=("integrationsplan",), target="integration plan")
    protected = protect("Integrationsplanen görs med dig. Din integrationsplan.", glossary=[term])
    assert restore(protected.text, protected.replacements) == (
        "Integration plan görs med dig. Din integration plan."
    )


def test_years_and_short_numbers_are_not_taken_for_phone_numbers() -> None:
    assert protect("I came in 2022 with 3 children.").replacements == {}


def test_sentences_split_on_punctuation_and_line_breaks() -> None:
    text = 'Hej! Vad är "det"? Se t.ex. sidan.\nRad två…  Sista'
    segments = split_sentences(text)
    assert [s.sentence for s in segments] == [
        "Hej!",
        'Vad är "det"?',
        "Se t.ex. sidan.",
        "Rad två…",
        "Sista",
    ]
    assert join_sentences([s.sentence for s in segments], segments) == text


def test_sentences_split_after_wide_full_stops() -> None:
    segments = split_sentences("你好。谢谢！ ما هذا؟نعم")
    assert [s.sentence for s in segments] == ["你好。", "谢谢！", "ما هذا؟", "نعم"]
