"""The statistics page and its CSV: the figures of a period for one municipality, charts
drawn on the server as inline SVG (the strict CSP stays), each with its table."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from bot.coordinator.auth import SignedIn
from bot.coordinator.rendering import coordinator_language, headers, render, texts
from bot.db import get_sessionmaker
from bot.db.models import utcnow
from bot.runtime import get_settings
from bot.statistics.build import configured_municipalities, municipalities_with_data
from bot.statistics.report import (
    SECTIONS,
    Figure,
    Report,
    Wording,
    default_period,
    is_suppressed,
    read_report,
    shown,
)

MAX_PERIOD_DAYS = 3 * 366
_MUNICIPALITY_ID = re.compile(r"^[a-z0-9_-]{1,64}$")
# Chart geometry (SVG user units).
LABEL_WIDTH = 260
BAR_SPACE = 300
ROW_HEIGHT = 28


def wording(language: str) -> Wording:
    words = texts(language)
    return Wording(words["stats_fewer_than_5"], words["stats_too_few"], decimal_comma=True)


def label(section: str, key: str, words: dict[str, str]) -> str:
    """A figure's key as the coordinator reads it; the code where no text names it."""
    if section.startswith("cases_"):
        authority, _, state = key.partition(":")
        return (
            f"{words.get(f'stats_authority_{authority}', authority)} – "
            f"{words.get(f'stats_state_{state}', state)}"
        )
    candidates = [f"stats_key_{key}"]
    if "language" in section or section in ("not_understood_rate", "bookings_by_interpreter"):
        candidates.insert(0, f"language_{key}")
    if "reason" in section or section.startswith("wait_"):
        candidates.insert(0, f"reason_{key}")
    if section == "bookings_by_purpose":
        candidates.insert(0, f"stats_purpose_{key}")
    for candidate in candidates:
        if candidate in words:
            return words[candidate]
    return key


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    shown: str
    bar: int  # the bar's length; 0 for a figure not shown as a number


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    value_heading: str
    rows: list[Row]

    @property
    def height(self) -> int:
        return ROW_HEIGHT * len(self.rows) + 8


def _bars(figures: list[Figure]) -> dict[str, int]:
    """Bar lengths scaled to the section's largest figure. A suppressed figure gets no bar,
    so a chart tells no more than the table."""
    visible = [f for f in figures if not is_suppressed(f) and f.value is not None]
    largest = max((f.value for f in visible if f.value is not None), default=0.0)
    if largest <= 0:
        return {}
    return {
        f.key: max(1, round(BAR_SPACE * f.value / largest))
        for f in visible
        if f.value is not None and f.value > 0
    }


def sections(report: Report, language: str) -> list[Section]:
    words = texts(language)
    said = wording(language)
    result = []
    for name in SECTIONS:
        figures = report.section(name)
        bars = _bars(figures)
        kind = figures[0].kind if figures else "count"
        result.append(
            Section(
                name=name,
                title=words[f"stats_{name}"],
                value_heading=words[f"stats_value_{kind}"],
                rows=[
                    Row(f.key, label(name, f.key, words), shown(f, said), bars.get(f.key, 0))
                    for f in figures
                ],
            )
        )
    return result


@dataclass(frozen=True)
class Query:
    municipality: str
    start: date
    end: date
    error: bool


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def query(request: Request, who: SignedIn) -> Query:
    """The period (default: the last 30 closed days) and the municipality: a coordinator's
    own whatever the URL says; an administrator's choice."""
    start, end = default_period(utcnow())
    given_start = _date(request.query_params.get("from"))
    given_end = _date(request.query_params.get("to"))
    error = bool(request.query_params.get("from")) and given_start is None
    error = error or (bool(request.query_params.get("to")) and given_end is None)
    start, end = given_start or start, given_end or end
    if start > end or (end - start).days > MAX_PERIOD_DAYS:
        start, end = default_period(utcnow())
        error = True
    municipality = who.municipality
    wanted = request.query_params.get("municipality", "")
    if who.is_administrator and _MUNICIPALITY_ID.match(wanted):
        municipality = wanted
    return Query(municipality, start, end, error)


def _municipalities() -> list[str]:
    with get_sessionmaker()() as session:
        return municipalities_with_data(
            session, configured_municipalities(get_settings().lotsen_municipalities_dir)
        )


async def statistics_page(request: Request, who: SignedIn) -> Response:
    asked = query(request, who)
    report = await asyncio.to_thread(
        read_report, get_sessionmaker(), asked.municipality, asked.start, asked.end
    )
    choices = await asyncio.to_thread(_municipalities) if who.is_administrator else []
    language = coordinator_language(who)
    return render(
        "statistics.html",
        who,
        report=report,
        sections=sections(report, language),
        municipalities=choices,
        period_days=(asked.end - asked.start).days + 1,
        error=texts(language)["stats_bad_period"] if asked.error else None,
        csv_query=(
            f"from={asked.start.isoformat()}&to={asked.end.isoformat()}"
            f"&municipality={asked.municipality}"
        ),
    )


def _cell(value: str) -> str:
    """A spreadsheet runs a cell that starts with one of these as a formula; some keys
    (an interpreter language) were typed by a person."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def report_csv(report: Report, language: str) -> str:
    words = texts(language)
    output = io.StringIO()
    writer = csv.writer(output, lineterminator="\r\n")
    writer.writerow(
        [words["stats_csv_section"], words["stats_csv_key"], words["stats_csv_label"],
         words["stats_csv_value"]]
    )  # fmt: skip
    for section in sections(report, language):
        for row in section.rows:
            writer.writerow([section.name, _cell(row.key), _cell(row.label), row.shown])
    writer.writerow([])
    writer.writerow([words["stats_csv_municipality"], report.municipality])
    writer.writerow([words["stats_csv_period"], report.start.isoformat(), report.end.isoformat()])
    writer.writerow([words["stats_csv_days_built"], str(report.days_built)])
    return output.getvalue()


async def statistics_csv(request: Request, who: SignedIn) -> Response:
    asked = query(request, who)
    report = await asyncio.to_thread(
        read_report, get_sessionmaker(), asked.municipality, asked.start, asked.end
    )
    body = report_csv(report, coordinator_language(who))
    name = f"lotsen-statistics-{report.municipality}-{report.start}-{report.end}.csv"
    response = Response(
        "\ufeff" + body,  # so that a spreadsheet reads the file as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    return headers(response)
