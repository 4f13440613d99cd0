"""The programme's terms per language (data/translation/glossary.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import yaml

from bot.settings import PROJECT_ROOT
from bot.translation.protect import GlossaryTerm

DEFAULT_GLOSSARY: Final = PROJECT_ROOT / "data" / "translation" / "glossary.yml"


class Glossary:
    def __init__(self, entries: list[dict[str, list[str]]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: Path = DEFAULT_GLOSSARY) -> Glossary:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries: list[dict[str, list[str]]] = []
        for entry in data.get("terms", []):
            forms = {
                language: [value] if isinstance(value, str) else [str(v) for v in value]
                for language, value in entry.items()
            }
            entries.append({language: f for language, f in forms.items() if f})
        return cls(entries)

    def terms(self, source: str, target: str) -> list[GlossaryTerm]:
        """The terms to protect when translating from `source` into `target`."""
        return [
            GlossaryTerm(source_forms=tuple(entry[source]), target=entry[target][0])
            for entry in self._entries
            if source in entry and target in entry
        ]
