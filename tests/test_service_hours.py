"""The municipality's service hours: open or not, and when it opens next (Finnish time,
summer time included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.handoff.hours import FINLAND, ServiceHours

HOURS = ServiceHours.parse("mon-thu 09:00-15:00; fri 09:00-12:00")


def finnish(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=FINLAND)


@pytest.mark.parametrize(
    ("moment", "open_now", "next_opening"),
    [
        ("2026-12-07 10:00", True, "2026-12-07 10:00"),  # Monday morning
        ("2026-12-07 08:59", False, "2026-12-07 09:00"),
        ("2026-12-07 15:00", False, "2026-12-08 09:00"),  # closes at 15
        ("2026-12-10 16:30", False, "2026-12-11 09:00"),  # Thursday evening → Friday
        ("2026-12-11 12:30", False, "2026-12-14 09:00"),  # Friday afternoon → Monday
        ("2026-12-12 11:00", False, "2026-12-14 09:00"),  # Saturday
        ("2026-03-27 13:00", False, "2026-03-30 09:00"),  # over the change to summer time
    ],
)
def test_open_and_next_opening(moment: str, open_now: bool, next_opening: str) -> None:
    assert HOURS.is_open(finnish(moment)) is open_now
    opening = HOURS.next_opening(finnish(moment).astimezone(UTC))
    assert opening.tzinfo is not None
    assert opening.astimezone(FINLAND).replace(tzinfo=None) == datetime.fromisoformat(next_opening)


@pytest.mark.parametrize("text", ["", "monday 9-15", "mon-thu 15:00-09:00", "fri-mon 09:00-10:00"])
def test_what_cannot_be_read_is_refused_with_the_setting_named(text: str) -> None:
    with pytest.raises(ValueError, match="service_hours"):
        ServiceHours.parse(text)
