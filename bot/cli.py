"""The `lotsen` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, get_settings


def _db_upgrade(_args: argparse.Namespace) -> int:
    from bot.db import migrate

    migrate.upgrade(get_settings().database_url)
    print("database is at the newest schema")
    return 0


def _content_sync_domain(args: argparse.Namespace) -> int:
    from bot.nlg.content import load_catalog
    from bot.nlg.domain_sync import synced_domain_text

    domain_path: Path = args.domain
    catalog = load_catalog(get_settings().lotsen_content_dir)
    wanted = synced_domain_text(domain_path, catalog, PROJECT_ROOT / "data")
    if domain_path.read_text(encoding="utf-8") == wanted:
        print(f"{domain_path.name}: responses match the English content")
        return 0
    if args.check:
        print(
            f"{domain_path.name}: responses differ from data/content/en; "
            "run `make domain` (lotsen content sync-domain)",
            file=sys.stderr,
        )
        return 1
    domain_path.write_text(wanted, encoding="utf-8")
    print(f"{domain_path.name}: responses rewritten from data/content/en")
    return 0


def _case_create(args: argparse.Namespace) -> int:
    from bot.cases.register import create_case
    from bot.db import get_sessionmaker
    from bot.db.models import LabourMarketSituation, utcnow

    with get_sessionmaker().begin() as session:
        case = create_case(
            session,
            municipality=args.municipality or get_settings().lotsen_default_municipality,
            full_name=args.name,
            preferred_language=args.language,
            situation=LabourMarketSituation(args.situation),
            health_or_social_challenges=args.health_or_social_challenges,
            actor="cli",
            now=utcnow(),
        )
        print(f"case {case.id} created, case number {case.case_number}")
    return 0


def _case_link_code(args: argparse.Namespace) -> int:
    from bot.cases.audit import record
    from bot.cases.linking import CODE_VALIDITY, issue_code
    from bot.db import get_sessionmaker
    from bot.db.models import ClientCase, utcnow

    now = utcnow()
    with get_sessionmaker().begin() as session:
        if session.get(ClientCase, args.case_id) is None:
            print(f"no case {args.case_id}", file=sys.stderr)
            return 1
        code = issue_code(session, args.case_id, get_settings().link_code_secret, now)
        record(session, actor="cli", case_id=args.case_id, action="link-code")
    hours = int(CODE_VALIDITY.total_seconds() // 3600)
    print(f"{code[:3]}-{code[3:]}  (one use, valid {hours} hours)")
    return 0


def _demo_data(_args: argparse.Namespace) -> int:
    from bot.cases.demo import add_demo_data
    from bot.db import get_sessionmaker

    with get_sessionmaker().begin() as session:
        for line in add_demo_data(session, get_settings()):
            print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lotsen", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply all migrations").set_defaults(handler=_db_upgrade)

    content = commands.add_parser("content", help="answer content").add_subparsers(
        dest="content_command", required=True
    )
    sync = content.add_parser(
        "sync-domain", help="write domain.yml's responses from the English content"
    )
    sync.add_argument("--domain", type=Path, default=PROJECT_ROOT / "domain.yml")
    sync.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    sync.set_defaults(handler=_content_sync_domain)

    from bot.db.models import LabourMarketSituation
    from bot.language import SUPPORTED_LANGUAGES

    case = commands.add_parser("case", help="integration clients' cases").add_subparsers(
        dest="case_command", required=True
    )
    create = case.add_parser("create", help="create a case")
    create.add_argument("--name", required=True, help="the person's full name")
    create.add_argument("--language", required=True, choices=SUPPORTED_LANGUAGES)
    create.add_argument(
        "--situation",
        default=LabourMarketSituation.UNKNOWN.value,
        choices=[s.value for s in LabourMarketSituation],
    )
    create.add_argument(
        "--health-or-social-challenges",
        action="store_true",
        help="needs support for health or social challenges (a multisectoral plan)",
    )
    create.add_argument("--municipality", help="municipality id (default: the configured one)")
    create.set_defaults(handler=_case_create)
    link_code = case.add_parser("link-code", help="print a fresh one-time link code")
    link_code.add_argument("case_id", type=int)
    link_code.set_defaults(handler=_case_link_code)

    commands.add_parser(
        "demo-data", help="an example coordinator and cases in different situations"
    ).set_defaults(handler=_demo_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
