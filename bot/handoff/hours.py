"""When a person answers in the chat: the municipality's service hours (`service_hours` in
its settings file, Finnish time), so that a person handed over outside them is told when
the answer can come at the earliest instead of waiting in silence.

Written as days and hours, periods separated by semicolons:
`mon-thu 09:00-15:00; fri 09:00-12:00`. Public holidays are not known here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

FINLAND = ZoneInfo("Europe/Helsinki")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Period:
    weekday: int
    opens: time
    closes: time


@dataclass(frozen=True)
class ServiceHours:
    periods: tuple[Period, ...]

    @classmethod
    def parse(cls, text: str) -> ServiceHours:
        """Raises ValueError naming what it could not read."""
        periods: list[Period] = []
        for part in (piece.strip() for piece in text.split(";")):
            if not part:
                continue
            days, _, hours = part.partition(" ")
            first, _, last = days.lower().partition("-")
            opens_text, _, closes_text = hours.strip().partition("-")
            try:
                start, end = DAYS.index(first), DAYS.index(last or first)
                opens, closes = time.fromisoformat(opens_text), time.fromisoformat(closes_text)
            except ValueError as error:
                raise ValueError(f"service_hours: cannot read {part!r}") from error
            if end < start or closes <= opens:
                raise ValueError(f"service_hours: {part!r} ends before it starts")
            periods += [Period(day, opens, closes) for day in range(start, end + 1)]
        if not periods:
            raise ValueError("service_hours: no days and hours")
        return cls(tuple(periods))

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(FINLAND)
        return any(
            p.weekday == local.weekday() and p.opens <= local.time() < p.closes
            for p in self.periods
        )

    def next_opening(self, moment: datetime) -> datetime:
        """When the service opens next after `moment` (itself, if open now), in UTC."""
        if self.is_open(moment):
            return moment
        local = moment.astimezone(FINLAND)
        for days_ahead in range(8):
            day = local.date() + timedelta(days=days_ahead)
            openings = sorted(p.opens for p in self.periods if p.weekday == day.weekday())
            for opens in openings:
                at = datetime.combine(day, opens, tzinfo=FINLAND)
                if at > local:
                    return at.astimezone(UTC)
        raise AssertionError("a week always has an opening")  # parse() requires a period
