"""Answer texts per language, loaded from data/content/<lang>/*.yml.

A content file maps response names to a list of variants, in the shape of Rasa's
`responses:` (text and optional buttons). Texts may hold `{placeholders}` that are filled
from the municipality's settings and the NLG call's arguments.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.language import SUPPORTED_LANGUAGES
from bot.nlg.markup import MarkupError, escape_value, has_marks, parse
from bot.runtime import Resource, current

logger = logging.getLogger(__name__)

FALLBACK_LANGUAGES = ("sv", "en")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Variant:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class RenderedMessage:
    # The plain text: marks gone, a first screen and its rest joined (bot/nlg/markup.py).
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    language: str = "sv"
    # The text with its marks, when it has any: what Rasa passes on to the gateway.
    markup: str | None = None

    def as_nlg_response(self) -> dict[str, Any]:
        return {"text": self.markup or self.text, "buttons": self.buttons}


class ContentError(ValueError):
    pass


class _Missing(dict[str, str]):
    """Leaves an unknown {placeholder} visible instead of failing a whole answer."""

    def __missing__(self, key: str) -> str:
        logger.warning("content placeholder {%s} has no value", key)
        return "{" + key + "}"


class ContentCatalog:
    def __init__(
        self,
        responses: Mapping[str, Mapping[str, tuple[Variant, ...]]],
        unavailable_notes: Mapping[str, str] | None = None,
    ) -> None:
        self._responses = responses
        # For a translated language without packages: one sentence in that language.
        self._unavailable_notes = dict(unavailable_notes or {})

    def unavailable_note(self, language: str) -> str | None:
        """ "I cannot answer in your language yet", in that language, written by hand."""
        return self._unavailable_notes.get(language)

    @property
    def languages(self) -> list[str]:
        return sorted(self._responses)

    def names(self, language: str) -> set[str]:
        return set(self._responses.get(language, {}))

    def variants(self, name: str, language: str) -> tuple[Variant, ...]:
        return self._responses.get(language, {}).get(name, ())

    def render(
        self, name: str, language: str, variables: Mapping[str, Any]
    ) -> RenderedMessage | None:
        """The response in `language`, or in a fallback language; None if it exists nowhere."""
        for candidate in (language, *FALLBACK_LANGUAGES):
            variants = self.variants(name, candidate)
            if variants:
                if candidate != language:
                    logger.warning("response %s missing in %s, used %s", name, language, candidate)
                return _fill(variants[0], candidate, variables)
        return None


def _fill(variant: Variant, language: str, variables: Mapping[str, Any]) -> RenderedMessage:
    values = _Missing({key: escape_value(str(value)) for key, value in variables.items()})
    filled = variant.text.format_map(values).strip()
    markup = filled if has_marks(filled) else None
    return RenderedMessage(
        text=parse(filled).plain_text if markup else filled,
        markup=markup,
        buttons=[
            {"title": button.title.format_map(values), "payload": button.payload}
            for button in variant.buttons
        ],
        language=language,
    )


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _parse_variant(raw: Any, where: str) -> Variant:
    if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
        raise ContentError(f"{where}: each variant needs a text")
    buttons = []
    for button in raw.get("buttons") or []:
        if not isinstance(button, dict) or not {"title", "payload"} <= button.keys():
            raise ContentError(f"{where}: a button needs a title and a payload")
        if has_marks(str(button["title"])):
            raise ContentError(f"{where}: a button's title carries no marks")
        buttons.append(Button(title=str(button["title"]), payload=str(button["payload"])))
    try:
        placeholders(raw["text"])
        parse(raw["text"])
    except (ValueError, MarkupError) as error:
        raise ContentError(f"{where}: {error}") from error
    return Variant(text=raw["text"], buttons=tuple(buttons))


def load_catalog(content_dir: Path) -> ContentCatalog:
    responses: dict[str, dict[str, tuple[Variant, ...]]] = {}
    for language in SUPPORTED_LANGUAGES:
        per_language: dict[str, tuple[Variant, ...]] = {}
        for path in sorted((content_dir / language).glob("*.yml")):
            with path.open(encoding="utf-8") as handle:
                raw = yaml.safe_load(handle) or {}
            if not isinstance(raw, dict):
                raise ContentError(f"{path}: expected a mapping of response names")
            for name, variants in raw.items():
                where = f"{path}:{name}"
                if name in per_language:
                    raise ContentError(f"{where}: defined twice in {language}")
                if not isinstance(variants, list) or not variants:
                    raise ContentError(f"{where}: expected a list of variants")
                per_language[name] = tuple(_parse_variant(v, where) for v in variants)
        responses[language] = per_language
    notes_file = content_dir / "translated" / "unavailable.yml"
    notes: dict[str, str] = {}
    if notes_file.is_file():
        with notes_file.open(encoding="utf-8") as handle:
            raw_notes = yaml.safe_load(handle) or {}
        if not isinstance(raw_notes, dict):
            raise ContentError(f"{notes_file}: expected a sentence per language code")
        notes = {str(code): str(text).strip() for code, text in raw_notes.items()}
    return ContentCatalog(responses, notes)


CONTENT: Resource[ContentCatalog] = Resource(
    "answers' content", lambda runtime: load_catalog(runtime.settings.lotsen_content_dir)
)


def get_catalog() -> ContentCatalog:
    """The content of the runtime's `LOTSEN_CONTENT_DIR`, read once."""
    return current().get(CONTENT)
