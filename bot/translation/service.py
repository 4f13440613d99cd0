"""The translation service: installed Argos packages, direct or through English, offline.

Packages are read with argostranslate (its package format and metadata), but text is
translated here with each package's CTranslate2 model and tokenizer, sentence by sentence
(bot/translation/sentences.py), because argostranslate's own `translate()` splits sentences
with a model it downloads on first use. That also keeps stanza and torch out of the process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from bot.runtime import Resource, current
from bot.settings import Settings
from bot.translation.glossary import DEFAULT_GLOSSARY, Glossary
from bot.translation.protect import has_words, protect, restore
from bot.translation.sentences import join_sentences, split_sentences

PIVOT: Final = "en"
# The languages coordinators read and the assistant's content is written in (besides the
# newcomer's own); a language is fully covered when it can be translated to and from each.
HUB_LANGUAGES: Final = ("sv", "fi", "en")
# The longest translation, in tokens, relative to its source: bounds a model that does not
# stop (a damaged package, or the test's random one) without cutting a real translation.
_MAX_LENGTH_RATIO: Final = 2
_MAX_LENGTH_MARGIN: Final = 16

_IMPORT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Translation:
    text: str
    source: str
    target: str
    # "en" when no direct package was installed and the text went through English.
    pivot: str | None


@dataclass(frozen=True)
class LanguageCoverage:
    language: str
    into: tuple[str, ...]  # hub languages this language can be translated into
    out_of: tuple[str, ...]  # hub languages that can be translated into this language

    @property
    def fully_covered(self) -> bool:
        others = {hub for hub in HUB_LANGUAGES if hub != self.language}
        return others <= set(self.into) and others <= set(self.out_of)


@dataclass(frozen=True)
class TranslationStatus:
    extra_installed: bool
    packages_dir: Path
    pairs: tuple[tuple[str, str], ...]
    languages: tuple[LanguageCoverage, ...]
    problems: tuple[str, ...]


def _argos_state_dir(packages_dir: Path) -> Path:
    return packages_dir.parent / "argos-translate"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def import_argos_package(packages_dir: Path) -> ModuleType | None:
    """argostranslate.package, or None without the `translation` extra.

    argostranslate reads its settings from the environment once, when first imported, and
    creates its data, config and cache directories in the home directory, which a service
    account may not be able to write. So on first import its directories point next to ours
    (only for the import: the XDG variables would otherwise affect every other library).
    """
    with _IMPORT_LOCK:
        already = sys.modules.get("argostranslate.package")
        if already is not None:
            return already
        state = _argos_state_dir(packages_dir)
        overrides = {
            "ARGOS_PACKAGES_DIR": str(packages_dir),
            "ARGOS_DEVICE_TYPE": "cpu",
            "XDG_DATA_HOME": str(state / "data"),
            "XDG_CONFIG_HOME": str(state / "config"),
            "XDG_CACHE_HOME": str(state / "cache"),
        }
        with _environment(overrides):
            try:
                import argostranslate.package as argos_package
            except ImportError:
                return None
        module: ModuleType = argos_package
        return module


class _PackageModel:
    """One installed package; its CTranslate2 model is loaded on first translation."""

    def __init__(self, package: Any, workers: int, beam_size: int) -> None:
        self.package = package
        self.from_code: str = package.from_code
        self.to_code: str = package.to_code
        self._workers = workers
        self._beam_size = beam_size
        self._translator: Any = None
        self._lock = threading.Lock()

    def _loaded_translator(self) -> Any:
        with self._lock:
            if self._translator is None:
                import ctranslate2

                # One thread per translation: the worker pool, not CTranslate2, decides how
                # many translations share the CPU.
                self._translator = ctranslate2.Translator(
                    str(self.package.package_path / "model"),
                    device="cpu",
                    inter_threads=self._workers,
                    intra_threads=1,
                )
            return self._translator

    def translate_sentences(self, sentences: list[str]) -> list[str]:
        translator = self._loaded_translator()
        tokenizer = self.package.tokenizer
        tokenized = [tokenizer.encode(sentence) for sentence in sentences]
        prefix: str = self.package.target_prefix
        longest = max(len(tokens) for tokens in tokenized)
        results = translator.translate_batch(
            tokenized,
            target_prefix=[[prefix]] * len(tokenized) if prefix else None,
            beam_size=self._beam_size,
            num_hypotheses=1,
            replace_unknowns=True,
            max_decoding_length=longest * _MAX_LENGTH_RATIO + _MAX_LENGTH_MARGIN,
        )
        translated = []
        for result in results:
            value: str = tokenizer.decode(result.hypotheses[0])
            if prefix and value.startswith(prefix):
                value = value[len(prefix) :]
            translated.append(value.strip())
        return translated


class Translator:
    """Translates between the languages of the installed Argos packages.

    Nothing is read at construction: the packages' metadata on first use, each model on the
    first translation that needs it. One instance per runtime (`get_translator()`).
    """

    def __init__(
        self,
        packages_dir: Path,
        *,
        workers: int = 2,
        cache_size: int = 1000,
        beam_size: int = 2,
        glossary_path: Path = DEFAULT_GLOSSARY,
    ) -> None:
        self.packages_dir = packages_dir
        self._workers = max(1, workers)
        self._cache_size = cache_size
        self._beam_size = max(1, beam_size)
        self._glossary_path = glossary_path
        self._lock = threading.Lock()
        self._models: dict[tuple[str, str], _PackageModel] | None = None
        self._status: TranslationStatus | None = None
        self._glossary: Glossary | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._cache: OrderedDict[tuple[str, str, str, tuple[str, ...]], Translation] = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> Translator:
        return cls(
            settings.translation_packages_dir,
            workers=settings.translation_workers,
            cache_size=settings.translation_cache_size,
            beam_size=settings.translation_beam_size,
        )

    # -- what is installed ---------------------------------------------------------------

    def _load(self) -> dict[tuple[str, str], _PackageModel]:
        with self._lock:
            if self._models is None:
                self._models, self._status = self._read_packages()
                self._glossary = Glossary.load(self._glossary_path)
            return self._models

    def _read_packages(self) -> tuple[dict[tuple[str, str], _PackageModel], TranslationStatus]:
        models: dict[tuple[str, str], _PackageModel] = {}
        problems: list[str] = []
        argos = import_argos_package(self.packages_dir)
        if argos is None:
            problems.append("the optional extra 'translation' is not installed")
        elif self.packages_dir.is_dir():
            # Sorted, so that of two packages for one pair the same one wins on every start.
            for directory in sorted(p for p in self.packages_dir.iterdir() if p.is_dir()):
                try:
                    package = argos.Package(directory)
                except (OSError, ValueError) as error:
                    problems.append(f"{directory.name}: unreadable package ({error})")
                    continue
                if package.type != "translate" or not package.from_code or not package.to_code:
                    continue
                if not (directory / "model" / "model.bin").is_file() or not hasattr(
                    package, "tokenizer"
                ):
                    problems.append(f"{directory.name}: no model/ or tokenizer")
                    continue
                models[(package.from_code, package.to_code)] = _PackageModel(
                    package, self._workers, self._beam_size
                )
        pairs = tuple(sorted(models))
        status = TranslationStatus(
            extra_installed=argos is not None,
            packages_dir=self.packages_dir,
            pairs=pairs,
            languages=self._coverage(set(models)),
            problems=tuple(problems),
        )
        return models, status

    def _coverage(self, pairs: set[tuple[str, str]]) -> tuple[LanguageCoverage, ...]:
        languages = sorted({code for pair in pairs for code in pair})
        return tuple(
            LanguageCoverage(
                language=language,
                into=tuple(
                    hub
                    for hub in HUB_LANGUAGES
                    if hub != language and _route(pairs, language, hub) is not None
                ),
                out_of=tuple(
                    hub
                    for hub in HUB_LANGUAGES
                    if hub != language and _route(pairs, hub, language) is not None
                ),
            )
            for language in languages
        )

    def reload(self) -> None:
        """Forget what was read, e.g. after installing a package into a running process."""
        with self._lock:
            self._models = None
            self._status = None
            self._cache.clear()

    def forget_texts(self) -> None:
        """Empties the cache of translated texts (they are what people wrote): erasure
        and the purge call it."""
        with self._lock:
            self._cache.clear()

    def available(self, source: str, target: str) -> bool:
        """Whether `source` can be translated into `target`, directly or through English.

        The first call reads the packages' metadata (a few small files).
        """
        return source == target or _route(set(self._load()), source, target) is not None

    def status(self) -> TranslationStatus:
        self._load()
        assert self._status is not None
        return self._status

    # -- translating ---------------------------------------------------------------------

    async def translate(
        self, text: str, source: str, target: str, *, protected_terms: Sequence[str] = ()
    ) -> Translation | None:
        """`text` in `target`, or None when no installed package leads there.

        `protected_terms` are names only the caller knows (the municipality, the
        coordinator, an address): they come out exactly as they went in, like URLs, e-mail
        addresses, phone numbers, times, dates, case numbers and link codes.
        """
        if source == target:
            return Translation(text, source, target, None)
        loop = asyncio.get_running_loop()
        if self._models is None:
            await loop.run_in_executor(self._pool(), self._load)
        models = self._load()
        route = _route(set(models), source, target)
        if route is None:
            return None
        key = (source, target, text, tuple(protected_terms))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        steps = [models[pair] for pair in route]
        translated = await loop.run_in_executor(
            self._pool(), self._translate_blocking, text, steps, tuple(protected_terms)
        )
        result = Translation(translated, source, target, PIVOT if len(route) > 1 else None)
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return result

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="translation"
                )
            return self._executor

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _translate_blocking(
        self, text: str, steps: list[_PackageModel], protected_terms: tuple[str, ...]
    ) -> str:
        assert self._glossary is not None
        source, target = steps[0].from_code, steps[-1].to_code
        protected = protect(text, protected_terms, self._glossary.terms(source, target))
        segments = split_sentences(protected.text)
        sentences = [segment.sentence for segment in segments]
        for step in steps:
            sentences = _translate_with(step, sentences)
        return restore(join_sentences(sentences, segments), protected.replacements)


def _translate_with(model: _PackageModel, sentences: list[str]) -> list[str]:
    """Sentences with words go to the model in one batch; the rest (empty, only a URL or a
    number) stay as they are."""
    wanted = [i for i, sentence in enumerate(sentences) if has_words(sentence)]
    if not wanted:
        return sentences
    translated = model.translate_sentences([sentences[i].strip() for i in wanted])
    result = list(sentences)
    for i, value in zip(wanted, translated, strict=True):
        original = sentences[i]
        leading = original[: len(original) - len(original.lstrip())]
        trailing = original[len(original.rstrip()) :]
        result[i] = leading + value + trailing
    return result


def _route(pairs: set[tuple[str, str]], source: str, target: str) -> list[tuple[str, str]] | None:
    """The packages to chain: the direct one, else through English, else None."""
    if (source, target) in pairs:
        return [(source, target)]
    if PIVOT not in (source, target) and (source, PIVOT) in pairs and (PIVOT, target) in pairs:
        return [(source, PIVOT), (PIVOT, target)]
    return None


TRANSLATOR: Resource[Translator] = Resource(
    "translator",
    lambda runtime: Translator.from_settings(runtime.settings),
    close=lambda translator: translator.close(),
)


def get_translator() -> Translator:
    """The runtime's translator, configured from its settings (built on first call)."""
    return current().get(TRANSLATOR)
