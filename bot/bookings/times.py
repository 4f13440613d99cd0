"""Meeting times: stored in UTC, shown in Helsinki time in the person's language.

Babel (CLDR) gives the weekday and month names with the grammar each language needs
("tiistaina 1. joulukuuta", "вівторок, 1 грудня"), so no language keeps its own list.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

HELSINKI = ZoneInfo("Europe/Helsinki")

_LONG_FORMATS = {
    "sv": "EEEE d MMMM 'kl.' HH.mm",
    "fi": "EEEE d. MMMM 'klo' H.mm",
    "uk": "EEEE, d MMMM, HH:mm",
    "en": "EEEE d MMMM 'at' HH:mm",
}
# Button titles: short enough for a phone screen and Telegram's inline keyboards.
_SHORT_FORMATS = {
    "sv": "EEE d.M. 'kl.' HH.mm",
    "fi": "EEE d.M. 'klo' H.mm",
    "uk": "EEE d.M., HH:mm",
    "en": "EEE d MMM, HH:mm",
}


class NonexistentLocalTimeError(ValueError):
    """A wall-clock time skipped when summer time starts (03:00-03:59 on the last Sunday
    of March in Helsinki)."""


def as_utc(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def local(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(HELSINKI)


def helsinki_to_utc(day: date, at: time) -> datetime:
    """The UTC instant of a Helsinki wall-clock time. In the autumn hour that happens
    twice, the first (summer time) is meant; a time that does not exist is refused."""
    wall = datetime.combine(day, at, tzinfo=HELSINKI)
    instant = wall.astimezone(UTC)
    if instant.astimezone(HELSINKI).replace(tzinfo=None) != wall.replace(tzinfo=None):
        raise NonexistentLocalTimeError(f"{day} {at} does not exist in Helsinki time")
    return instant


def format_time(moment: datetime, language: str, *, short: bool = False) -> str:
    formats = _SHORT_FORMATS if short else _LONG_FORMATS
    pattern = formats.get(language, formats["en"])
    return format_datetime(as_utc(moment), pattern, tzinfo=HELSINKI, locale=language)


def format_clock(moment: datetime, language: str) -> str:
    return format_datetime(
        as_utc(moment), "H.mm" if language == "fi" else "HH:mm", tzinfo=HELSINKI, locale=language
    )
