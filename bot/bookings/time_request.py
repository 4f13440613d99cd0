"""Understanding "next Tuesday afternoon", "tiistaina kello 14", "у середу зранку" or
"3.12." well enough to narrow the offered times.

The parser is deliberately small: a day (a date, a weekday, today or tomorrow), a part of
the day (morning or afternoon) and an hour. What it cannot read, it says so, and the
person chooses from the buttons instead. Weekday and month names come from CLDR (Babel)
in each language; a word matches a name when it starts with the name's stem, which covers
the inflected forms ("tiistaina", "tisdagen", "середу").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from babel.dates import get_day_names, get_month_names

from bot.bookings.times import local

MORNING = (time(0, 0), time(12, 0))
AFTERNOON = (time(12, 0), time(23, 59))

_TODAY = {"idag", "today", "tänään", "сьогодні", "сегодня"}
_TOMORROW = {"imorgon", "tomorrow", "huomenna", "huomiseksi", "завтра"}
_MORNING_WORDS = (
    "förmiddag",
    "morgon",
    "morning",
    "aamu",
    "aamupäiv",
    "зранку",
    "вранці",
    "ранок",
    "до обіду",
)
_AFTERNOON_WORDS = (
    "eftermiddag",
    "afternoon",
    "iltapäiv",
    "після обіду",
    "по обіді",
    "вдень",
    "пообідні",
)
_HOUR_PATTERN = re.compile(
    r"(?:\b(?:kl|klo|kello|at|around|om|о|об)\.?\s*)(\d{1,2})(?:[.:](\d{2}))?\s*(am|pm)?\b"
    r"|\b(\d{1,2})[.:](\d{2})\b(?!\.\d)"
    r"|\b(\d{1,2})\s*(am|pm)\b",
    re.IGNORECASE,
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(?:(\d{4}|\d{2})\b)?")
_WORD = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)?", re.UNICODE)


@dataclass(frozen=True)
class TimeRequest:
    """Which free times a person asked for; every field narrows, None means any."""

    day: date | None = None
    weekday: int | None = None  # Monday 0
    earliest: time | None = None
    latest: time | None = None

    def matches(self, starts_at: datetime) -> bool:
        moment = local(starts_at)
        if self.day is not None and moment.date() != self.day:
            return False
        if self.weekday is not None and moment.weekday() != self.weekday:
            return False
        clock = moment.time()
        if self.earliest is not None and clock < self.earliest:
            return False
        return not (self.latest is not None and clock >= self.latest)

    def as_slot_value(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat() if self.day else None,
            "weekday": self.weekday,
            "earliest": self.earliest.isoformat() if self.earliest else None,
            "latest": self.latest.isoformat() if self.latest else None,
        }

    @classmethod
    def from_slot_value(cls, value: Any) -> TimeRequest | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                day=date.fromisoformat(value["day"]) if value.get("day") else None,
                weekday=int(value["weekday"]) if value.get("weekday") is not None else None,
                earliest=time.fromisoformat(value["earliest"]) if value.get("earliest") else None,
                latest=time.fromisoformat(value["latest"]) if value.get("latest") else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class PastDate:
    day: date


@dataclass(frozen=True)
class ImpossibleDate:
    """A date that no calendar has, like 31.2."""

    text: str


ParsedTime = TimeRequest | PastDate | ImpossibleDate


def _normalise_apostrophes(word: str) -> str:
    return word.replace("’", "'").replace("ʼ", "'")


def _stem(name: str) -> str:
    """A name's stem for matching inflected forms; short names (abbreviations such as
    "ti" or "ma") only ever match a whole word, never the start of "maahanmuutto"."""
    name = _normalise_apostrophes(name.lower().rstrip("."))
    return name[: max(4, len(name) - 2)] + "*" if len(name) > 5 else name


@lru_cache(maxsize=8)
def _weekday_stems(language: str) -> tuple[tuple[str, int], ...]:
    stems: dict[str, int] = {}
    for locale in {language, "en"}:
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for index, name in get_day_names(width, context, locale).items():
                    if len(name.rstrip(".")) >= 2:
                        stems.setdefault(_stem(name), index)
    # Longest first, so that "понеділок" is not read as "неділя".
    return tuple(sorted(stems.items(), key=lambda item: -len(item[0])))


@lru_cache(maxsize=8)
def _month_stems(language: str) -> tuple[tuple[str, int], ...]:
    stems: dict[str, int] = {}
    for locale in {language, "en"}:
        for context in ("format", "stand-alone"):
            for index, name in get_month_names("wide", context, locale).items():
                stems.setdefault(_stem(name), index)
    return tuple(sorted(stems.items(), key=lambda item: -len(item[0])))


def _matches(word: str, stem: str) -> bool:
    if stem.endswith("*"):
        return word.startswith(stem[:-1])
    return word == stem


def _find_stem(words: list[str], stems: tuple[tuple[str, int], ...]) -> tuple[int, int] | None:
    """(word position, value) of the first word that is a name or an inflected form."""
    for position, word in enumerate(words):
        for stem, value in stems:
            if _matches(word, stem):
                return position, value
    return None


def _hour(text: str) -> tuple[time, time] | None:
    match = _HOUR_PATTERN.search(text)
    if match is None:
        return None
    groups = match.groups()
    if groups[0] is not None:
        hour, minute, meridiem = int(groups[0]), int(groups[1] or 0), groups[2]
    elif groups[3] is not None:
        hour, minute, meridiem = int(groups[3]), int(groups[4]), None
    else:
        hour, minute, meridiem = int(groups[5]), 0, groups[6]
    if meridiem and meridiem.lower() == "pm" and hour < 12:
        hour += 12
    if meridiem and meridiem.lower() == "am" and hour == 12:
        hour = 0
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    start = time(hour, minute)
    end = (datetime.combine(date.min, start) + timedelta(hours=1)).time()
    return start, end if end > start else time(23, 59)


def _day_from_numbers(
    day_number: int, month: int, year_text: str | None, today: date
) -> date | ImpossibleDate:
    year = today.year
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)
    try:
        day = date(year, month, day_number)
    except ValueError:
        return ImpossibleDate(f"{day_number}.{month}.")
    if not year_text and day < today - timedelta(days=31):
        # "3.1." written in December means the coming January.
        day = day.replace(year=year + 1)
    return day


def parse_time_request(text: str, language: str, now: datetime) -> ParsedTime | None:
    """What the person asked for, or None when the text names no time at all."""
    lowered = text.lower()
    today = local(now).date()
    words = [_normalise_apostrophes(word) for word in _WORD.findall(lowered)]
    joined = " ".join(words)
    request: dict[str, Any] = {}

    numeric = _NUMERIC_DATE.search(lowered)
    if numeric is not None:
        day = _day_from_numbers(int(numeric[1]), int(numeric[2]), numeric[3], today)
        if isinstance(day, ImpossibleDate):
            return day
        request["day"] = day
        # The date's numbers are not an hour.
        lowered = lowered[: numeric.start()] + " " + lowered[numeric.end() :]
    else:
        month = _find_stem(words, _month_stems(language))
        number = re.search(r"\b(\d{1,2})\b(?!\s*[.:]\d)", lowered)
        if month is not None and number is not None:
            day = _day_from_numbers(int(number[1]), month[1], None, today)
            if isinstance(day, ImpossibleDate):
                return day
            request["day"] = day

    if "day" not in request:
        compact = joined.replace("i morgon", "imorgon").replace("i dag", "idag")
        compact_words = compact.split()
        if any(word in _TOMORROW for word in compact_words):
            request["day"] = today + timedelta(days=1)
        elif any(word in _TODAY for word in compact_words):
            request["day"] = today
        else:
            weekday = _find_stem(words, _weekday_stems(language))
            if weekday is not None:
                request["weekday"] = weekday[1]
        joined = compact.replace("imorgon", "").replace("idag", "")

    if "day" in request and request["day"] < today:
        return PastDate(request["day"])

    hour = _hour(lowered)
    if hour is not None:
        request["earliest"], request["latest"] = hour
    elif any(word in joined for word in _AFTERNOON_WORDS):
        request["earliest"], request["latest"] = AFTERNOON
    elif any(word in joined for word in _MORNING_WORDS):
        request["earliest"], request["latest"] = MORNING

    return TimeRequest(**request) if request else None
