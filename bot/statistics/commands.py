"""`lotsen stats` (the figures of a period, as on the statistics page), `lotsen stats build`
(the closed days not built yet) and `lotsen nlu export-reviewed`."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from bot.runtime import get_settings


def _stats(args: argparse.Namespace) -> int:
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow
    from bot.statistics.build import build_pending, configured_municipalities
    from bot.statistics.report import ENGLISH, default_period, read_report, shown

    settings = get_settings()
    if args.stats_command == "build":
        built = build_pending(
            get_sessionmaker(), configured_municipalities(settings.lotsen_municipalities_dir)
        )
        print(f"{built} municipality days built")
        return 0
    start, end = default_period(utcnow())
    start, end = args.start or start, args.end or end
    if start > end:
        print("--from is after --to")
        return 1
    municipality = args.municipality or settings.lotsen_default_municipality
    report = read_report(get_sessionmaker(), municipality, start, end)
    days = (end - start).days + 1
    print(f"# {municipality} {start.isoformat()}..{end.isoformat()}: {report.days_built} of "
          f"{days} days built")  # fmt: skip
    if report.snapshot_day is not None:
        print(f"# cases as they stood on {report.snapshot_day.isoformat()}")
    print("# counts from 1 to 4 are shown as 'fewer than 5'; rates, medians and p90 based on "
          "fewer than 5 are not shown")  # fmt: skip
    for figure in report.figures:
        print(f"{figure.section}\t{figure.key}\t{shown(figure, ENGLISH)}")
    return 0


def _export_reviewed(args: argparse.Namespace) -> int:
    from bot.db import get_sessionmaker
    from bot.statistics.review import export_reviewed

    written = export_reviewed(get_sessionmaker(), args.out)
    for language, count in written.items():
        print(f"{args.out / language / 'reviewed.yml'}: {count} examples")
    if not written:
        print("no reviewed messages")
    print("Read them before adding them to data/nlu/: they are what people wrote.")
    return 0


def add_commands(commands: Any) -> None:
    stats = commands.add_parser(
        "stats", help="statistics of a period (as on the coordinator's statistics page)"
    )
    stats.add_argument("--from", dest="start", type=date.fromisoformat, help="YYYY-MM-DD")
    stats.add_argument("--to", dest="end", type=date.fromisoformat, help="YYYY-MM-DD")
    stats.add_argument("--municipality", help="municipality id (default: the configured one)")
    stats.set_defaults(handler=_stats, stats_command=None)
    stats_commands = stats.add_subparsers(dest="stats_command")
    stats_commands.add_parser(
        "build", help="count the closed days not counted yet (the app does this every hour)"
    ).set_defaults(handler=_stats)

    nlu = commands.add_parser("nlu", help="NLU training data").add_subparsers(
        dest="nlu_command", required=True
    )
    export = nlu.add_parser(
        "export-reviewed",
        help="write the messages coordinators marked as Rasa NLU data, per language",
    )
    export.add_argument("--out", type=Path, required=True, help="folder for <lang>/reviewed.yml")
    export.set_defaults(handler=_export_reviewed)
