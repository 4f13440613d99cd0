"""The `lotsen` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.runtime import get_settings
from bot.settings import PROJECT_ROOT

if TYPE_CHECKING:
    from bot.bookings.admin import SlotInput
    from bot.translation import Translator


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
    from bot.cases.linking import CODE_VALIDITY, format_code, issue_code
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
    note = "older codes of the case no longer work"
    print(f"{format_code(code)}  (one use, valid {hours} hours; {note})")
    return 0


def _demo_data(_args: argparse.Namespace) -> int:
    from bot.cases.demo import add_demo_data
    from bot.db import get_sessionmaker

    with get_sessionmaker().begin() as session:
        for line in add_demo_data(session, get_settings()):
            print(line)
    return 0


def _slots_add(args: argparse.Namespace) -> int:
    from bot.bookings.admin import SlotInput, weekly
    from bot.db.models import SlotKind

    item = SlotInput(
        coordinator=args.coordinator,
        day=args.date,
        start=args.start,
        minutes=args.minutes,
        kind=SlotKind(args.kind),
        location=args.location,
    )
    return _create_slots(weekly(item, args.weeks))


def _slots_import(args: argparse.Namespace) -> int:
    from bot.bookings.admin import SlotInputError, read_slot_csv

    try:
        inputs = read_slot_csv(args.file)
    except (SlotInputError, OSError) as error:
        print(error, file=sys.stderr)
        return 1
    return _create_slots(inputs)


def _create_slots(inputs: list[SlotInput]) -> int:
    """All or nothing: one bad row saves none, so a corrected file can simply be rerun."""
    from bot.bookings.admin import SlotInputError, add_slots
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow

    try:
        with get_sessionmaker().begin() as session:
            created, skipped = add_slots(session, inputs, utcnow())
    except SlotInputError as error:
        print(f"nothing was saved: {error}", file=sys.stderr)
        return 1
    print(f"{created} slots created, {skipped} already there")
    return 0


def _slots_list(args: argparse.Namespace) -> int:
    from bot.bookings.service import free_slots
    from bot.bookings.times import format_time
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow

    municipality = args.municipality or get_settings().lotsen_default_municipality
    with get_sessionmaker()() as session:
        slots = free_slots(session, municipality, now=utcnow(), limit=args.limit)
    for slot in slots:
        where = slot.location or slot.kind
        print(f"{slot.id:>6}  {format_time(slot.starts_at, 'en', short=True):<18} {where}")
    print(f"{len(slots)} free slots shown (Helsinki time)")
    return 0


def _bookings_list(args: argparse.Namespace) -> int:
    from bot.bookings.service import all_bookings
    from bot.bookings.times import format_time
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow

    with get_sessionmaker()() as session:
        rows = all_bookings(session, args.municipality, utcnow())
    for booking, case_number, coordinator in rows:
        who = case_number or booking.details.contact_name or "-"
        contact = booking.details.contact or ""
        interpreter = booking.details.interpreter_language or "-"
        print(
            f"{booking.id:>6}  {format_time(booking.slot.starts_at, 'en', short=True):<18} "
            f"{coordinator or '-':<16} {booking.details.purpose.value:<10} "
            f"lang {booking.details.meeting_language} interp {interpreter:<6} {who} {contact}"
        )
    print(f"{len(rows)} coming bookings (Helsinki time)")
    return 0


def _calendar_url(args: argparse.Namespace) -> int:
    from bot.bookings.admin import (
        CALENDAR_TOKEN_LIFETIME,
        SlotInputError,
        coordinator_named,
        new_calendar_token,
        revoke_calendar_token,
    )
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow

    try:
        with get_sessionmaker().begin() as session:
            if args.revoke:
                revoke_calendar_token(coordinator_named(session, args.coordinator))
                print(f"the calendar address of {args.coordinator} no longer works")
                return 0
            token = new_calendar_token(session, args.coordinator, utcnow())
    except SlotInputError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"{get_settings().lotsen_public_url}/calendar/{token}.ics")
    print(
        f"Keep this address secret. It works for {CALENDAR_TOKEN_LIFETIME.days} days (renew it "
        "in the coordinator app's settings); running the command again replaces it."
    )
    return 0


def _user_set_active(args: argparse.Namespace) -> int:
    from bot.coordinator.auth import UnknownUserError, set_active
    from bot.db import get_sessionmaker

    active = args.user_command == "reactivate"
    try:
        with get_sessionmaker().begin() as session:
            set_active(session, args.username, active)
    except UnknownUserError:
        print(f"no user {args.username}", file=sys.stderr)
        return 1
    if active:
        print(f"user {args.username} can sign in again")
    else:
        print(f"user {args.username} is deactivated: signed out everywhere, calendar feed off")
    return 0


def _user_create(args: argparse.Namespace) -> int:
    import getpass

    from bot.coordinator.auth import PasswordTooShortError, create_user
    from bot.db import get_sessionmaker
    from bot.db.models import CoordinatorRole

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("the passwords differ; nothing was saved", file=sys.stderr)
            return 1
    try:
        with get_sessionmaker().begin() as session:
            user = create_user(
                session,
                username=args.username,
                display_name=args.name,
                municipality=args.municipality or get_settings().lotsen_default_municipality,
                role=CoordinatorRole(args.role),
                language=args.language,
                password=password,
            )
            print(f"user {user.username} ({user.role}, {user.municipality}) can sign in")
    except PasswordTooShortError as error:
        print(f"nothing was saved: {error}", file=sys.stderr)
        return 1
    return 0


def _translate_status(_args: argparse.Namespace) -> int:
    from bot.translation import HUB_LANGUAGES, Translator

    translator = Translator.from_settings(get_settings())
    status = translator.status()
    print(f"packages: {status.packages_dir}")
    for problem in status.problems:
        print(f"problem: {problem}")
    if not status.pairs:
        print("no translation packages installed: nothing is translated")
        return 0
    print("installed pairs: " + ", ".join(f"{a}→{b}" for a, b in status.pairs))
    hubs = "/".join(HUB_LANGUAGES)
    for coverage in status.languages:
        verdict = "fully covered" if coverage.fully_covered else "partly covered"
        into = ",".join(coverage.into) or "-"
        out_of = ",".join(coverage.out_of) or "-"
        print(f"  {coverage.language}: {verdict} (into {into}; from {out_of}; of {hubs})")
    _print_conversation_coverage(translator)
    return 0


def _print_conversation_coverage(translator: Translator) -> None:
    """What the packages mean for conversations: the translated languages people are
    offered, and which person languages each coordinator language can read and answer."""
    from bot.language import SUPPORTED_LANGUAGES, TRANSLATED_LANGUAGES, TRANSLATION_HUB

    def both_ways(a: str, b: str) -> bool:
        return translator.available(a, b) and translator.available(b, a)

    offered = [code for code in TRANSLATED_LANGUAGES if both_ways(code, TRANSLATION_HUB)]
    print(
        "translated languages offered to people: "
        + (", ".join(offered) or "none (each needs packages to and from en)")
    )
    for coordinator in ("sv", "fi"):
        people = [code for code in (*SUPPORTED_LANGUAGES, *offered) if code != coordinator]
        reached = [code for code in people if both_ways(code, coordinator)]
        missing = [code for code in people if code not in reached]
        print(
            f"coordinator in {coordinator}: reads and answers "
            + (", ".join(reached) or "no other language")
            + (f"; not {', '.join(missing)}" if missing else "")
        )


def _translate_install_file(args: argparse.Namespace) -> int:
    from bot.translation.install import InstallError, install_file

    try:
        source, target = install_file(args.path, get_settings().translation_packages_dir)
    except InstallError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"installed {source}→{target} into {get_settings().translation_packages_dir}")
    return 0


def _translate_install(args: argparse.Namespace) -> int:
    from bot.translation.install import InstallError, install_from_index

    try:
        source, target = install_from_index(
            args.source, args.target, get_settings().translation_packages_dir
        )
    except InstallError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"installed {source}→{target} into {get_settings().translation_packages_dir}")
    return 0


def _data_erase(args: argparse.Namespace) -> int:
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow
    from bot.privacy.erasure import ErasureReason, erase_case, erase_conversation
    from bot.privacy.tracker import get_tracker_store

    reason = ErasureReason(args.reason)
    if args.conversation is not None:
        report = erase_conversation(
            get_sessionmaker(),
            get_tracker_store(),
            args.conversation,
            actor="cli",
            reason=reason,
            now=utcnow(),
        )
    else:
        report = erase_case(
            get_sessionmaker(),
            get_tracker_store(),
            args.case,
            actor="cli",
            reason=reason,
            now=utcnow(),
        )
    if report is None:
        print("nothing found: no such conversation or case", file=sys.stderr)
        return 1
    print(
        f"erased {report.conversations} conversation(s), {report.messages} messages, "
        f"{report.tracker_events} tracker events; {report.bookings_cancelled} coming bookings "
        f"cancelled, {report.bookings_blanked} bookings without name and contact now"
    )
    return 0


def _data_export(args: argparse.Namespace) -> int:
    from bot.cases.audit import record
    from bot.db import get_sessionmaker
    from bot.privacy.export import as_json, case_by_number, export_case, export_conversation
    from bot.privacy.tracker import get_tracker_store

    tracker = get_tracker_store()
    with get_sessionmaker().begin() as session:
        if args.conversation is not None:
            document = export_conversation(session, tracker, args.conversation)
            case_id = None
        else:
            case = case_by_number(session, args.case)
            document = None if case is None else export_case(session, tracker, case)
            case_id = None if case is None else case.id
        if document is None:
            print("nothing found: no such conversation or case", file=sys.stderr)
            return 1
        record(session, actor="cli", case_id=case_id, action="export", detail=args.conversation)
    text = as_json(document)
    if args.output is None:
        print(text)
    else:
        args.output.write_text(text + "\n", encoding="utf-8")
        args.output.chmod(0o600)  # it holds everything about a person
        print(f"written to {args.output}")
    return 0


def _data_purge(args: argparse.Namespace) -> int:
    from bot.db import get_sessionmaker
    from bot.db.models import utcnow
    from bot.privacy.retention import purge
    from bot.privacy.tracker import get_tracker_store

    counts = purge(get_sessionmaker(), get_tracker_store(), utcnow(), dry_run=args.dry_run)
    print("would delete (dry run):" if args.dry_run else "deleted:")
    for line in counts.lines():
        print(f"  {line}")
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

    from datetime import date, time

    from bot.bookings.admin import CSV_COLUMNS
    from bot.db.models import SlotKind

    slots = commands.add_parser("slots", help="the coordinators' free times").add_subparsers(
        dest="slots_command", required=True
    )
    add = slots.add_parser("add", help="add a free time (Helsinki time), optionally weekly")
    add.add_argument("--coordinator", required=True, help="the coordinator's username")
    add.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    add.add_argument("--start", required=True, type=time.fromisoformat, help="HH:MM")
    add.add_argument("--minutes", type=int, default=45)
    add.add_argument("--kind", choices=[k.value for k in SlotKind], default=SlotKind.OFFICE.value)
    add.add_argument("--location", help="the address of an office meeting")
    add.add_argument("--weeks", type=int, default=1, help="repeat on this many weeks")
    add.set_defaults(handler=_slots_add)
    import_ = slots.add_parser(
        "import", help="add free times from a CSV file: " + ",".join(CSV_COLUMNS)
    )
    import_.add_argument("file", type=Path)
    import_.set_defaults(handler=_slots_import)
    list_ = slots.add_parser("list", help="the next free times")
    list_.add_argument("--municipality")
    list_.add_argument("--limit", type=int, default=50)
    list_.set_defaults(handler=_slots_list)

    bookings = commands.add_parser("bookings", help="booked meetings").add_subparsers(
        dest="bookings_command", required=True
    )
    blist = bookings.add_parser("list", help="coming bookings")
    blist.add_argument("--municipality")
    blist.set_defaults(handler=_bookings_list)

    calendar = commands.add_parser(
        "calendar-url", help="a new secret calendar feed address for a coordinator"
    )
    calendar.add_argument("coordinator", help="the coordinator's username")
    calendar.add_argument(
        "--revoke", action="store_true", help="stop the current address without a new one"
    )
    calendar.set_defaults(handler=_calendar_url)

    from bot.db.models import CoordinatorRole

    users = commands.add_parser("user", help="coordinator accounts").add_subparsers(
        dest="user_command", required=True
    )
    user_create = users.add_parser(
        "create", help="create an account, or set a new password for an existing one"
    )
    user_create.add_argument("--username", required=True)
    user_create.add_argument("--name", required=True, help="the name the person sees")
    user_create.add_argument("--municipality", help="municipality id (default: the configured one)")
    user_create.add_argument(
        "--role", choices=[r.value for r in CoordinatorRole], default=CoordinatorRole.COORDINATOR
    )
    user_create.add_argument("--language", choices=["sv", "fi"], default="sv")
    user_create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_create.set_defaults(handler=_user_create)
    for command, description in (
        ("deactivate", "take an account's access away: every session ends at once"),
        ("reactivate", "let a deactivated account sign in again"),
    ):
        user_state = users.add_parser(command, help=description)
        user_state.add_argument("username")
        user_state.set_defaults(handler=_user_set_active)

    translate = commands.add_parser(
        "translate", help="offline machine translation packages"
    ).add_subparsers(dest="translate_command", required=True)
    translate.add_parser(
        "status", help="installed language pairs and which languages are covered"
    ).set_defaults(handler=_translate_status)
    install_file = translate.add_parser(
        "install-file", help="install a downloaded .argosmodel file (no network needed)"
    )
    install_file.add_argument("path", type=Path)
    install_file.set_defaults(handler=_translate_install_file)
    install = translate.add_parser(
        "install", help="download and install a package from argospm's index (needs internet)"
    )
    install.add_argument("source", help="language code, e.g. uk")
    install.add_argument("target", help="language code, e.g. en")
    install.set_defaults(handler=_translate_install)

    from bot.privacy.erasure import ErasureReason

    data = commands.add_parser(
        "data", help='personal data: erasure (README, "Personal data")'
    ).add_subparsers(dest="data_command", required=True)
    erase = data.add_parser(
        "erase",
        help="erase a conversation, or every conversation of a case, everywhere it is kept",
    )
    erase_target = erase.add_mutually_exclusive_group(required=True)
    erase_target.add_argument("--conversation", help="the conversation id")
    erase_target.add_argument("--case", help="the case number (the case itself stays)")
    erase.add_argument(
        "--reason",
        choices=[r.value for r in ErasureReason],
        default=ErasureReason.PERSON_ASKED.value,
    )
    erase.set_defaults(handler=_data_erase)
    export = data.add_parser(
        "export", help="everything held about a person, as one JSON document (right of access)"
    )
    export_target = export.add_mutually_exclusive_group(required=True)
    export_target.add_argument("--conversation", help="the conversation id")
    export_target.add_argument("--case", help="the case number")
    export.add_argument("--output", type=Path, help="a file (default: standard output)")
    export.set_defaults(handler=_data_export)
    purge = data.add_parser("purge", help="delete now what is past its retention period")
    purge.add_argument("--dry-run", action="store_true", help="only count, per store")
    purge.set_defaults(handler=_data_purge)

    from bot.statistics.commands import add_commands as add_statistics_commands

    add_statistics_commands(commands)

    commands.add_parser(
        "demo-data", help="an example coordinator and cases in different situations"
    ).set_defaults(handler=_demo_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except ValidationError as error:
        # The settings refused (production's rules): say which variables, no traceback.
        for problem in error.errors():
            print(problem["msg"].removeprefix("Value error, "), file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
