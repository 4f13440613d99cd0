"""Per-municipality settings (names, contacts, hours), filled into answers by the NLG."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.settings import get_settings

FALLBACK_LANGUAGES = ("sv", "fi", "en")
_VALID_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class UnknownMunicipalityError(LookupError):
    pass


@dataclass(frozen=True)
class Municipality:
    id: str
    values: dict[str, str | dict[str, str]]

    def variables(self, language: str) -> dict[str, str]:
        """Every setting as one text in `language`, ready to fill into a template."""
        resolved: dict[str, str] = {}
        for key, value in self.values.items():
            if isinstance(value, dict):
                for candidate in (language, *FALLBACK_LANGUAGES):
                    if candidate in value:
                        resolved[key] = str(value[candidate])
                        break
            else:
                resolved[key] = str(value)
        return resolved


def load_municipality_file(path: Path) -> Municipality:
    with path.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    if not isinstance(raw, dict) or raw.get("id") != path.stem:
        raise ValueError(f"{path}: needs a mapping whose id is {path.stem!r}")
    values: dict[str, str | dict[str, str]] = {}
    for key, value in raw.items():
        if key == "id":
            continue
        if isinstance(value, dict):
            values[key] = {str(lang): str(text) for lang, text in value.items()}
        else:
            values[key] = str(value)
    return Municipality(id=path.stem, values=values)


@lru_cache(maxsize=64)
def _load(directory: Path, municipality_id: str) -> Municipality:
    path = directory / f"{municipality_id}.yml"
    if not path.is_file():
        raise UnknownMunicipalityError(municipality_id)
    return load_municipality_file(path)


def get_municipality(municipality_id: str | None = None) -> Municipality:
    settings = get_settings()
    chosen = municipality_id or settings.lotsen_default_municipality
    if not _VALID_ID.match(chosen):
        raise UnknownMunicipalityError(chosen)
    return _load(settings.lotsen_municipalities_dir, chosen)


def municipality_exists(municipality_id: str) -> bool:
    try:
        get_municipality(municipality_id)
    except UnknownMunicipalityError:
        return False
    return True
