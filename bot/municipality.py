"""Per-municipality settings (names, contacts, hours), filled into answers by the NLG."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.runtime import Resource, current

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


class Municipalities:
    """The municipalities' files of one directory, each read once: all of them by
    `load_all`, a file added later on its first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._loaded: dict[str, Municipality] = {}
        self._lock = threading.Lock()

    def get(self, municipality_id: str) -> Municipality:
        if not _VALID_ID.match(municipality_id):
            raise UnknownMunicipalityError(municipality_id)
        with self._lock:
            found = self._loaded.get(municipality_id)
            if found is None:
                path = self.directory / f"{municipality_id}.yml"
                if not path.is_file():
                    raise UnknownMunicipalityError(municipality_id)
                found = self._loaded[municipality_id] = load_municipality_file(path)
            return found

    def load_all(self) -> None:
        """Reads every file of the directory now: an error in any of them raises here,
        before this set is used (a reload must not be half-loaded)."""
        loaded = {
            path.stem: load_municipality_file(path)
            for path in sorted(self.directory.glob("*.yml"))
            if _VALID_ID.match(path.stem)
        }
        with self._lock:
            self._loaded = loaded


def _load_municipalities(directory: Path) -> Municipalities:
    # Every file at once: an edit made later reaches the process only through a reload
    # (bot/content_reload.py), which takes all the files or none.
    municipalities = Municipalities(directory)
    municipalities.load_all()
    return municipalities


MUNICIPALITIES: Resource[Municipalities] = Resource(
    "municipalities",
    lambda runtime: _load_municipalities(runtime.settings.lotsen_municipalities_dir),
)


def get_municipality(municipality_id: str | None = None) -> Municipality:
    runtime = current()
    chosen = municipality_id or runtime.settings.lotsen_default_municipality
    return runtime.get(MUNICIPALITIES).get(chosen)


def municipality_exists(municipality_id: str) -> bool:
    try:
        get_municipality(municipality_id)
    except UnknownMunicipalityError:
        return False
    return True
