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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.handler(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
