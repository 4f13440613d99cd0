"""The figures of a period, read from the daily aggregates, and the rules for showing them.

The page, the CSV and the command line all show `Report.figures` through `shown`, so the
same figure reads the same everywhere: a count from 1 to 4 is shown as "fewer than 5", and
a rate, median or 90th percentile based on fewer than 5 is not shown at all.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.db.models import StatisticsCount, StatisticsDay, StatisticsWait
from bot.statistics.build import last_closed_day

# Below this a count is shown only as "fewer than 5", and a rate, median or percentile is
# not shown: small numbers in a small municipality can point at a person.
SMALL = 5
DEFAULT_PERIOD_DAYS = 30

COUNT_SECTIONS = (
    "conversations",
    "conversations_by_language",
    "conversations_by_channel",
    "conversations_translated",
    "topics",
    "handoffs_by_reason",
    "bookings",
    "bookings_by_purpose",
    "bookings_by_meeting_language",
    "bookings_by_interpreter",
    "case_links",
)
SNAPSHOT_SECTIONS = ("cases_assessment", "cases_plan", "cases_orientation", "cases_training")
# The order of the sections on the page, in the CSV and on the command line.
SECTIONS = (
    *COUNT_SECTIONS[:5],
    "not_understood_rate",
    *COUNT_SECTIONS[5:6],
    "wait_median_minutes",
    "wait_p90_minutes",
    *COUNT_SECTIONS[6:],
    *SNAPSHOT_SECTIONS,
)


@dataclass(frozen=True)
class Figure:
    section: str
    key: str
    # A count; a percentage or minutes; None when based on fewer than SMALL.
    value: float | None
    kind: str  # "count", "percent" or "minutes"


@dataclass
class Report:
    municipality: str
    start: date
    end: date
    days_built: int
    snapshot_day: date | None
    figures: list[Figure] = field(default_factory=list)

    def section(self, name: str) -> list[Figure]:
        return [figure for figure in self.figures if figure.section == name]


def default_period(now: datetime) -> tuple[date, date]:
    end = last_closed_day(now)
    return end - timedelta(days=DEFAULT_PERIOD_DAYS - 1), end


def percentile(values: list[int], share: float) -> float:
    """Nearest-rank percentile: a value that really occurred."""
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(share * len(ordered)) - 1)])


def _counts(
    session: Session, municipality: str, start: date, end: date, measures: tuple[str, ...]
) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(StatisticsCount.measure, StatisticsCount.key, func.sum(StatisticsCount.count))
        .where(
            StatisticsCount.municipality == municipality,
            StatisticsCount.day >= start,
            StatisticsCount.day <= end,
            StatisticsCount.measure.in_(measures),
        )
        .group_by(StatisticsCount.measure, StatisticsCount.key)
    )
    for measure, key, total in rows:
        found[measure][key] = int(total)
    return found


def _sorted(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def read_report(
    sessions: sessionmaker[Session], municipality: str, start: date, end: date
) -> Report:
    with sessions() as session:
        days_built = session.scalar(
            select(func.count())
            .select_from(StatisticsDay)
            .where(
                StatisticsDay.municipality == municipality,
                StatisticsDay.day >= start,
                StatisticsDay.day <= end,
            )
        )
        counts = _counts(
            session,
            municipality,
            start,
            end,
            (*COUNT_SECTIONS, "messages_by_language", "not_understood_by_language"),
        )
        # The case register as it stood at the end of the period's last day with a snapshot.
        snapshot_day = session.scalar(
            select(func.max(StatisticsCount.day)).where(
                StatisticsCount.municipality == municipality,
                StatisticsCount.day >= start,
                StatisticsCount.day <= end,
                StatisticsCount.measure.in_(SNAPSHOT_SECTIONS),
            )
        )
        snapshot = (
            _counts(session, municipality, snapshot_day, snapshot_day, SNAPSHOT_SECTIONS)
            if snapshot_day is not None
            else {}
        )
        waits: dict[str, list[int]] = defaultdict(list)
        for reason, seconds in session.execute(
            select(StatisticsWait.reason, StatisticsWait.seconds).where(
                StatisticsWait.municipality == municipality,
                StatisticsWait.day >= start,
                StatisticsWait.day <= end,
            )
        ):
            waits[reason].append(seconds)
            waits["all"].append(seconds)

    report = Report(municipality, start, end, days_built or 0, snapshot_day)
    for section in SECTIONS:
        if section == "not_understood_rate":
            asked = counts.get("messages_by_language", {})
            missed = counts.get("not_understood_by_language", {})
            for language, total in _sorted(asked):
                rate = 100 * missed.get(language, 0) / total if total >= SMALL else None
                report.figures.append(Figure(section, language, rate, "percent"))
        elif section in ("wait_median_minutes", "wait_p90_minutes"):
            for reason in sorted(waits, key=lambda name: (name != "all", name)):
                values = waits[reason]
                if len(values) < SMALL:
                    minutes = None
                elif section == "wait_median_minutes":
                    minutes = statistics.median(values) / 60
                else:
                    minutes = percentile(values, 0.9) / 60
                report.figures.append(Figure(section, reason, minutes, "minutes"))
        else:
            source = snapshot if section in SNAPSHOT_SECTIONS else counts
            for key, n in _sorted(source.get(section, {})):
                report.figures.append(Figure(section, key, n, "count"))
    return report


@dataclass(frozen=True)
class Wording:
    """How the suppressed figures read in one language."""

    fewer_than_five: str
    too_few: str
    decimal_comma: bool


ENGLISH = Wording("fewer than 5", "too few to show", decimal_comma=False)


def shown(figure: Figure, words: Wording) -> str:
    if figure.value is None:
        return words.too_few
    if figure.kind == "count":
        count = int(figure.value)
        return words.fewer_than_five if 0 < count < SMALL else str(count)
    text = f"{figure.value:.0f}" if figure.kind == "percent" else f"{figure.value:.1f}"
    if words.decimal_comma:
        text = text.replace(".", ",")
    return f"{text} %" if figure.kind == "percent" else text


def is_suppressed(figure: Figure) -> bool:
    return figure.value is None or (figure.kind == "count" and 0 < figure.value < SMALL)
