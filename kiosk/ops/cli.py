"""``kiosk``: the one command-line entry that reaches every job of the kiosk.

Exit codes: 0 success; 1 the command ran but did not succeed (a check-in outcome other than
checked_in / already_checked_in, an unknown appointment or ticket); 2 usage or configuration
error; 3 the database is unavailable.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kiosk import __version__
from kiosk.base.clock import Clock, RunningClock, SystemClock, local_day_bounds, parse_instant
from kiosk.base.settings import Settings, SettingsError, load_settings
from kiosk.store.errors import DatabaseUnavailable

# The database and the services load when a command first needs them, not at import: the
# kiosk's first frame is shown before them (ui/app.py), and --help stays quick.
if TYPE_CHECKING:
    from kiosk.store.site import SiteContext

log = logging.getLogger("kiosk")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3
PROVISION_QUESTIONS = (
    ("site_id", "site id (short; QR codes are bound to it)"),
    ("site_name", "name of the practice, as patients see it"),
    ("kiosk_id", "this kiosk's name (in logs and at reception)"),
    ("timezone", "the practice's time zone, such as Europe/Berlin"),
    ("database_url", "database URL (empty: the embedded SQLite file; "
     "postgresql://user@host/kiosk for a site with several machines)"),
    ("fhir_base_url", "the practice system's FHIR R4 base URL (empty: no schedule sync)"),
    ("languages", "languages offered to patients, comma-separated, in order"),
    ("default_language", "the language the kiosk returns to after each patient"),
)


class UsageError(Exception):
    """Bad arguments: exit 2 with the message."""


def _date_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        # The value is not repeated: it may be a patient's date of birth.
        raise argparse.ArgumentTypeError("expected a real date as YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Lobby kiosk: patient self-check-in for medical practices.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--db", metavar="URL",
                        help="database URL (default: SQLite file in the user data folder)")
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (or KIOSK_CONFIG)")
    parser.add_argument("--now", metavar="ISO8601",
                        help="start the clock at this time, e.g. 2026-11-23T09:00 (practice "
                             "time), for drills; it runs on from there")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="run the kiosk on the embedded default with demo data")
    demo.add_argument("--appointments", type=int, default=120, metavar="N")
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--headless", action="store_true",
                      help="load the demo data and print how to try it, without a window")
    demo.add_argument("--codes", metavar="DIR",
                      help="where to write the demo QR codes (PNG; default: the data folder)")
    demo.set_defaults(handler=cmd_demo)

    demo_data = commands.add_parser("demo-data", help="load a demo practice day")
    demo_data.add_argument("--date", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    demo_data.add_argument("--appointments", type=int, required=True, metavar="N")
    demo_data.add_argument("--seed", type=int, default=1, metavar="S")
    demo_data.add_argument("--patients", type=int, metavar="N",
                           help="patients in the practice (default: as many as appointments)")
    demo_data.set_defaults(handler=cmd_demo_data)

    appointments = commands.add_parser("appointments", help="list a day's appointments")
    appointments.add_argument("--date", type=_date_arg, required=True, metavar="YYYY-MM-DD")
    appointments.add_argument("--json", action="store_true")
    appointments.set_defaults(handler=cmd_appointments)

    checkin = commands.add_parser("checkin", help="check a patient in")
    how = checkin.add_mutually_exclusive_group(required=True)
    how.add_argument("--qr", metavar="TOKEN", help="the code scanned from the confirmation")
    how.add_argument("--family", metavar="NAME", help="family name (with --dob)")
    checkin.add_argument("--dob", type=_date_arg, metavar="YYYY-MM-DD")
    checkin.add_argument("--given", metavar="NAME")
    checkin.add_argument("--kiosk", metavar="ID", help="kiosk id (default: the kiosk_id setting)")
    checkin.add_argument("--lang", metavar="CODE", help="language of the message")
    checkin.add_argument("--json", action="store_true")
    checkin.set_defaults(handler=cmd_checkin)

    queue = commands.add_parser("queue", help="show today's queue")
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=cmd_queue)

    visit = commands.add_parser("visit", help="reception: call, start, finish or mark as left")
    visit.add_argument("action", choices=["call", "start", "finish", "left"])
    visit.add_argument("ticket")
    visit.add_argument("--room", help="room to show on the board (with call)")
    visit.add_argument("--staff", default="cli", help="who acts (audit record)")
    visit.set_defaults(handler=cmd_visit)

    walk_in = commands.add_parser("walk-in", help="reception: queue a patient without appointment")
    walk_in.add_argument("--provider", required=True, metavar="ID", help="provider external id")
    walk_in.add_argument("--name", help="name to show reception (optional)")
    walk_in.add_argument("--staff", default="cli")
    walk_in.set_defaults(handler=cmd_walk_in)

    eta = commands.add_parser("eta-report", help="how close the waits shown came to the truth")
    eta.add_argument("--days", type=int, default=30, metavar="N")
    eta.add_argument("--json", action="store_true")
    eta.set_defaults(handler=cmd_eta_report)

    sync = commands.add_parser("sync", help="sync the schedule with the practice system (FHIR)")
    sync.add_argument("--watch", action="store_true",
                      help="keep syncing every fhir_poll_seconds (the sync service)")
    sync.add_argument("--full", action="store_true", help="re-read the whole window")
    sync.add_argument("--status", action="store_true", help="print the sync status and exit")
    sync.set_defaults(handler=cmd_sync)

    messages = commands.add_parser(
        "messages", help="messages to patients: confirmations and reminders by email")
    messages.add_argument("--watch", action="store_true",
                          help="send what is due every messages_poll_seconds (the service)")
    messages.set_defaults(handler=cmd_messages_watch)
    message_commands = messages.add_subparsers(dest="messages_command", metavar="ACTION")
    send = message_commands.add_parser("send", help="send everything due now, once, and exit")
    send.add_argument("--now", dest="send_now", metavar="ISO8601",
                      help="as if it were this time (practice time)")
    send.set_defaults(handler=cmd_messages_send)
    message_status = message_commands.add_parser(
        "status", help="messages sent, pending and parked (with the reasons)")
    message_status.add_argument("--json", action="store_true")
    message_status.set_defaults(handler=cmd_messages_status)
    preview = message_commands.add_parser(
        "preview", help="write an appointment's message for the practice to review")
    preview.add_argument("--appointment", required=True, metavar="ID",
                         help="the appointment's external id")
    preview.add_argument("--channel", choices=["email", "sms"], default="email")
    preview.add_argument("--kind", choices=["confirmation", "reminder", "rescheduled",
                                            "cancelled"], default="confirmation")
    preview.add_argument("--language", metavar="CODE",
                         help="default: the patient's language, else the site's")
    preview.add_argument("--output", metavar="FILE",
                         help="write here (an email as .eml) instead of to stdout")
    preview.set_defaults(handler=cmd_messages_preview)
    opt_out = message_commands.add_parser(
        "opt-out", help="send a patient no more messages (what is pending is withdrawn)")
    opt_out.add_argument("patient", metavar="PATIENT-ID", help="the patient's external id")
    opt_out.add_argument("--undo", action="store_true", help="send them messages again")
    opt_out.add_argument("--staff", default="cli", help="who acts (audit record)")
    opt_out.set_defaults(handler=cmd_messages_opt_out)

    run = commands.add_parser(
        "run", help="the production kiosk: full screen and locked down (staff leave it by "
        "five taps in the top corner and a PIN)")
    run.add_argument("--windowed", action="store_true",
                     help="an ordinary window, not locked down (to try a configuration)")
    run.add_argument("--exit-after", type=float, metavar="SECONDS",
                     help="show the welcome screen, then exit cleanly (smoke tests); runs "
                     "offscreen when there is no display")
    run.set_defaults(handler=cmd_run)

    reception = commands.add_parser("reception", help="open reception's window (staff sign in)")
    reception.set_defaults(handler=cmd_window, window="reception")
    board = commands.add_parser("board", help="open the lobby display board (full screen)")
    board.add_argument("--windowed", action="store_true", help="not full screen (to try it)")
    board.set_defaults(handler=cmd_window, window="board")

    staff = commands.add_parser("staff", help="staff who sign in to reception")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True, metavar="COMMAND")
    staff_add = staff_commands.add_parser(
        "add", help="add a member or give one a new PIN (asked twice, or one line on stdin)")
    staff_add.add_argument("name")
    staff_add.add_argument("--admin", action="store_true",
                           help="may also change the site-wide settings")
    staff_add.set_defaults(handler=cmd_staff_add)
    staff_commands.add_parser("list", help="list the members").set_defaults(
        handler=cmd_staff_list)
    staff_remove = staff_commands.add_parser("remove", help="remove a member")
    staff_remove.add_argument("name")
    staff_remove.set_defaults(handler=cmd_staff_remove)

    report = commands.add_parser("report", help="the day's report: waits, patients seen, "
                                 "no-shows, check-ins, feedback, estimate accuracy")
    report.add_argument("--date", type=_date_arg, metavar="YYYY-MM-DD",
                        help="the day (default: today)")
    report.add_argument("--csv", type=Path, metavar="FILE", help="also write it as CSV")
    report.add_argument("--json", action="store_true")
    report.set_defaults(handler=cmd_report)

    qr = commands.add_parser("qr", help="QR codes for appointment confirmations")
    qr_commands = qr.add_subparsers(dest="qr_command", required=True, metavar="COMMAND")
    make = qr_commands.add_parser("make", help="issue the code of one appointment")
    make.add_argument("--appointment", required=True, metavar="ID", help="appointment id")
    make.add_argument("--png", type=Path, metavar="FILE")
    make.add_argument("--svg", type=Path, metavar="FILE")
    make.set_defaults(handler=cmd_qr_make)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_commands.add_parser("upgrade", help="migrate the schema to this release").set_defaults(
        handler=cmd_db_upgrade)

    config = commands.add_parser("config", help="settings")
    config_commands = config.add_subparsers(dest="config_command", required=True,
                                            metavar="COMMAND")
    config_commands.add_parser("show", help="print the effective settings").set_defaults(
        handler=cmd_config_show)
    config_commands.add_parser("describe", help="every setting as a Markdown table").set_defaults(
        handler=cmd_config_describe)
    config_commands.add_parser(
        "sample", help="a config file documenting every setting (packaging/kiosk.toml.sample)"
    ).set_defaults(handler=cmd_config_sample)

    purge = commands.add_parser(
        "purge", help="delete patient data older than retention_days (kept: anonymous visits, "
        "and check-ins not yet sent upstream)")
    purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    purge.set_defaults(handler=cmd_purge)

    doctor = commands.add_parser(
        "doctor", help="check this kiosk: config, database, FHIR server and clock, fonts, "
        "camera, scanner, speech, disk, outbox (exit 1 on any FAIL)")
    doctor.set_defaults(handler=cmd_doctor)

    provision = commands.add_parser(
        "provision", help="write this machine's config file from a few answers (asked when "
        "not given)")
    for name, question in PROVISION_QUESTIONS:
        provision.add_argument("--" + name.replace("_", "-"), dest=name, metavar="VALUE",
                               help=question)
    provision.add_argument("--output", type=Path, metavar="FILE",
                           help="where to write it (default: the system config file)")
    provision.add_argument("--force", action="store_true", help="replace an existing file")
    provision.set_defaults(handler=cmd_provision)
    return parser


# Opens a window ("kiosk", "reception", "board", or "demo" for all three) and runs it until
# it is closed; the Qt layer provides it (the core never imports Qt).
# (runtime, which, **options) -> exit code. The runtime, not an open site: the kiosk shows its
# first frame from the settings alone and opens the site (runtime.ctx) after it.
ShowWindow = Callable[..., int]
# The doctor's checks that need Qt (fonts, camera, speech), from the screens.
ScreenChecks = Callable[[Settings], list[Any]]


class Runtime:
    """What a command works with, built from the global options, and ``show_window``."""

    def __init__(self, args: argparse.Namespace, show_window: ShowWindow | None = None,
                 screen_checks: ScreenChecks | None = None) -> None:
        self.show_window = show_window
        self.screen_checks = screen_checks
        overrides = {"database_url": args.db} if args.db else {}
        self.settings: Settings = load_settings(args.config, overrides=overrides)
        tz = ZoneInfo(self.settings.timezone)
        clock: Clock = SystemClock()
        if args.now:
            try:
                clock = RunningClock(parse_instant(args.now, tz))
            except ValueError:
                raise UsageError(f"--now: expected an ISO 8601 time, got {args.now!r}") from None
        self.clock = clock
        self._ctx: SiteContext | None = None
        self._opening = threading.Lock()  # the kiosk opens the site off the GUI thread

    @property
    def ctx(self) -> SiteContext:
        """The site, opened on first use: database, migration check, site row, site-wide
        settings. Raises DatabaseUnavailable (and opens again on the next use)."""
        with self._opening:
            return self._open()

    def _open(self) -> SiteContext:
        if self._ctx is None:
            from kiosk.store.db import Database, describe_url
            from kiosk.store.site import SiteContext

            db = Database(self.settings.database_url)
            log.debug("database %s", describe_url(db.url))
            db.upgrade()  # the app migrates on start; a no-op when up to date
            # Start-up's writes (the site row, its QR secret), before any patient.
            self._ctx = SiteContext.open(self.settings, db, self.clock)
            from kiosk.services import site_settings

            self.settings = site_settings.apply(self._ctx)  # an admin's, for the whole site
        return self._ctx


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def cmd_demo(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.ops.demo import DAY_START, generate_day, seed_history, try_sheet
    from kiosk.store.db import describe_url

    ctx = rt.ctx
    today = ctx.today()
    # Today's showcase patients are booked from a quarter of an hour from now: ready to try.
    soon = (ctx.local(ctx.now()) + timedelta(minutes=15)).time()
    for day in (today, today + timedelta(days=1)):
        summary = generate_day(ctx, day, args.appointments, seed=args.seed,
                               showcase_from=soon if day == today else DAY_START)
        print(f"Demo data for {day}: {summary.appointments} appointments, "
              f"{summary.providers} providers ({summary.new_appointments} new)")
    seed_history(ctx, today)  # past consultations: each provider's pace for the wait estimate
    print(f"Database: {describe_url(ctx.db.url)}\n")
    codes = Path(args.codes) if args.codes else default_codes_folder()
    print(try_sheet(ctx, codes))
    pin = demo_staff(ctx)
    if pin:
        print(f"\nReception sign-in: staff member \"Reception\", PIN {pin} (demo only).")
    if args.headless or rt.show_window is None:
        print("\nHeadless: no window (the Qt screens are not installed, or --headless).")
        return EXIT_OK
    print("\nOpening the kiosk, reception and lobby board windows. Check in at the kiosk, "
          "watch it appear at reception, call it, see it on the board. Close the kiosk "
          "window to stop.")
    return rt.show_window(rt, "demo")


DEMO_PIN = "2468"


def demo_staff(ctx: SiteContext) -> str | None:
    """A reception sign-in for the demo, unless the site has staff already."""
    from kiosk.services.staff import add_staff, staff_names

    if staff_names(ctx):
        return None
    add_staff(ctx, "Reception", DEMO_PIN, admin=True, actor="demo")
    return DEMO_PIN


def cmd_run(rt: Runtime, args: argparse.Namespace) -> int:
    return cmd_window(rt, args, which="kiosk" if args.windowed else "run",
                      exit_after=args.exit_after)


def cmd_window(rt: Runtime, args: argparse.Namespace, *, which: str | None = None,
               **options: Any) -> int:
    if rt.show_window is None:
        print("kiosk: the Qt screens are not installed (pip install 'lobby-kiosk[gui]')",
              file=sys.stderr)
        return EXIT_FAILED
    if which is None:
        which = "board-windowed" if getattr(args, "windowed", False) else args.window
    return rt.show_window(rt, which, **options)


def _read_pin() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    import getpass

    pin = getpass.getpass("PIN (4 to 8 digits): ")
    if getpass.getpass("The same PIN again: ") != pin:
        raise UsageError("the two PINs differ")
    return pin


def cmd_staff_add(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.staff import StaffError, add_staff

    try:
        add_staff(rt.ctx, args.name, _read_pin(), admin=args.admin)
    except StaffError as problem:
        raise UsageError(str(problem)) from None
    print(f"{args.name}: PIN set" + (" (admin)" if args.admin else ""))
    return EXIT_OK


def cmd_staff_list(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.staff import staff_names

    for name, role in staff_names(rt.ctx):
        print(f"{name}\t{role.value}")
    return EXIT_OK


def cmd_staff_remove(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.staff import StaffError, remove_staff

    try:
        remove_staff(rt.ctx, args.name)
    except StaffError as problem:
        print(f"kiosk: {problem}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.name}: removed")
    return EXIT_OK


def cmd_report(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.report import day_report

    ctx = rt.ctx
    report = day_report(ctx, args.date or ctx.today())
    if args.csv:
        report.write_csv(args.csv)
    if args.json:
        _print_json(report.as_json())
    else:
        print(report.as_text())
    if args.csv:
        print(f"CSV written to {args.csv}", file=sys.stderr)
    return EXIT_OK


def default_codes_folder() -> Path:
    from kiosk.store.db import default_sqlite_path

    return default_sqlite_path().parent / "demo-codes"


def cmd_demo_data(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.ops.demo import generate_day

    summary = generate_day(rt.ctx, args.date, args.appointments, seed=args.seed,
                           patients=args.patients)
    print(f"{summary.day}: {summary.appointments} appointments ({summary.new_appointments} new), "
          f"{summary.patients} patients, {summary.providers} providers")
    return EXIT_OK


def cmd_appointments(rt: Runtime, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from kiosk.store.models import Appointment, Patient, Provider

    ctx = rt.ctx
    start, end = local_day_bounds(args.date, ctx.tz)
    with ctx.db.read() as session:
        rows = session.execute(
            select(Appointment, Patient, Provider.display_name)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Provider, Provider.id == Appointment.provider_id)
            .where(Appointment.site_id == ctx.settings.site_id,
                   Appointment.start >= start, Appointment.start < end)
            .order_by(Appointment.start, Appointment.external_id)).all()
    listing: list[dict[str, Any]] = [{
        "id": appointment.external_id,
        "start": ctx.local(appointment.start).isoformat(),
        "provider": provider,
        "status": appointment.status.value,
        "patient": {"given": patient.given_name, "family": patient.family_name,
                    "birth_date": patient.birth_date.isoformat()},
    } for appointment, patient, provider in rows]
    if args.json:
        _print_json(listing)
    else:
        for item in listing:
            person = item["patient"]
            print(f"{item['start'][11:16]}  {item['id']:<28} {item['status']:<10} "
                  f"{item['provider']:<24} {person['family']}, {person['given']} "
                  f"({person['birth_date']})")
    return EXIT_OK


def cmd_checkin(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.checkin import CheckinService

    if args.family is not None and args.dob is None:
        raise UsageError("checkin --family needs --dob YYYY-MM-DD")
    if args.qr is not None and (args.dob or args.given):
        raise UsageError("checkin --qr takes no --dob or --given")
    service = CheckinService(rt.ctx)
    language = args.lang or rt.settings.default_language
    if args.qr is not None:
        result = service.by_qr(args.qr, kiosk_id=args.kiosk, language=language)
    else:
        result = service.by_name(args.family, args.dob, given=args.given, kiosk_id=args.kiosk,
                                 language=language)
    if args.json:
        _print_json(result.as_json(language))
    else:
        print(result.message(language))
        if result.ticket:
            wait = f", wait about {result.wait.median} min (at most {result.wait.upper})" \
                if result.wait else ""
            position = f", place {result.position}" if result.position else ""
            print(f"Ticket {result.ticket} for {result.provider}{position}{wait}")
        print(f"[{result.outcome.value}{' / ' + result.reason.value if result.reason else ''}]")
    return EXIT_OK if result.succeeded else EXIT_FAILED


def cmd_queue(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.queue import QueueService

    rows = QueueService(rt.ctx).rows()
    if args.json:
        _print_json([row.as_json() for row in rows])
        return EXIT_OK
    if not rows:
        print("Nobody is waiting.")
    for row in rows:
        wait = f"~{row.wait.median}-{row.wait.upper} min" if row.wait else ""
        print(f"{row.ticket:<7} {row.provider:<24} {row.position or '':>3} {row.status.value:<8} "
              f"{rt.ctx.local(row.checked_in_at):%H:%M}  {wait}")
    return EXIT_OK


def cmd_visit(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.queue import InvalidTransition, QueueService

    try:
        visit = QueueService(rt.ctx).act(args.ticket, args.action, actor=args.staff,
                                         room=args.room)
    except (LookupError, InvalidTransition) as problem:
        print(problem, file=sys.stderr)
        return EXIT_FAILED
    print(f"{visit.ticket_code}: {visit.status.value}")
    return EXIT_OK


def cmd_walk_in(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.queue import QueueService

    try:
        ticket = QueueService(rt.ctx).walk_in(args.provider, actor=args.staff, name=args.name)
    except LookupError as problem:
        print(problem, file=sys.stderr)
        return EXIT_FAILED
    print(ticket)
    return EXIT_OK


def cmd_sync(rt: Runtime, args: argparse.Namespace) -> int:
    import signal
    import threading

    from kiosk.sync.client import SyncError
    from kiosk.sync.worker import LeaseHeld, SyncWorker

    ctx = rt.ctx
    if args.status:
        return _print_sync_status(rt)
    if not ctx.settings.fhir_base_url:
        raise UsageError("no FHIR server configured: set fhir_base_url (KIOSK_FHIR_BASE_URL)")
    worker = SyncWorker(ctx)
    if args.watch:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        log.info("sync: watching %s every %d s", ctx.settings.fhir_base_url,
                 ctx.settings.fhir_poll_seconds)
        from kiosk.ops.monitor import serve

        monitor = serve(ctx, port_offset=1)  # the next port: the kiosk screen has the first
        try:
            worker.watch(stop)
        finally:
            if monitor is not None:
                monitor.stop()
        return EXIT_OK
    try:
        result = worker.sync_once(full=args.full)
    except LeaseHeld as error:
        print(f"Not synced: {error}.", file=sys.stderr)
        return EXIT_FAILED
    except SyncError as error:
        print(f"Not synced: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    pulled, pushed = result.pulled, result.pushed
    if pulled is not None:
        print(f"Pulled ({'changes' if pulled.incremental else 'full window'}): "
              f"{pulled.appointments} appointments ({pulled.new} new), {pulled.patients} "
              f"patients, {pulled.practitioners} practitioners; skipped {pulled.skipped}, "
              f"cancelled upstream {pulled.removed}, flagged for reception {pulled.flagged}.")
    print(f"Check-ins written back: {pushed.sent} sent, {pushed.skipped} already there, "
          f"{pushed.parked} parked, {pushed.retrying} to retry.")
    if not result.ok:
        print(f"Sync incomplete: {result.error or pushed.unavailable}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return EXIT_OK


def cmd_messages_watch(rt: Runtime, args: argparse.Namespace) -> int:
    import signal

    from kiosk.messages.sender import MessageSenderPass

    if not args.watch:
        raise UsageError("kiosk messages: give --watch, or an action: send, status, preview, "
                         "opt-out")
    ctx = rt.ctx
    if not ctx.settings.smtp_url and ctx.settings.sms_gateway == "none":
        raise UsageError("no way to send configured: set smtp_url (KIOSK_SMTP_URL) or "
                         "sms_gateway (KIOSK_SMS_GATEWAY)")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    inbound = None
    if ctx.settings.sms_gateway != "none" and ctx.settings.sms_inbound_address:
        # Texts patients send (HERE from the car park, STOP) are answered by this service.
        from kiosk.messages.answering import TextAnswerer
        from kiosk.messages.inbound import InboundSms

        inbound = InboundSms.from_settings(ctx.settings, TextAnswerer(ctx), ctx.clock).start()
    log.info("messages: sending every %d s", ctx.settings.messages_poll_seconds)
    try:
        MessageSenderPass(ctx).watch(stop)
    finally:
        if inbound is not None:
            inbound.stop()
    return EXIT_OK


def cmd_messages_send(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.messages.sender import MessageSenderPass

    if args.send_now:
        try:
            rt.clock = RunningClock(parse_instant(args.send_now, ZoneInfo(rt.settings.timezone)))
        except ValueError:
            raise UsageError(f"--now: expected an ISO 8601 time, got {args.send_now!r}"
                             ) from None
    ctx = rt.ctx
    if not ctx.settings.smtp_url and ctx.settings.sms_gateway == "none":
        raise UsageError("no way to send configured: set smtp_url (KIOSK_SMTP_URL) or "
                         "sms_gateway (KIOSK_SMS_GATEWAY)")
    if ctx.settings.smtp_url and not ctx.settings.message_from:  # email needs it, texts not
        raise UsageError("no From address: set message_from (KIOSK_MESSAGE_FROM)")
    result = MessageSenderPass(ctx).send_once()
    if result.standing_by:
        print(f"Not sent: {result.standing_by}.", file=sys.stderr)
        return EXIT_FAILED
    print(f"Messages: {result.sent} sent, {result.retrying} to retry, {result.parked} parked "
          f"({result.interrupted} interrupted earlier), {result.withdrawn} withdrawn.")
    return EXIT_OK


def cmd_messages_status(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.messages.outbox import status

    ctx = rt.ctx
    found = status(ctx)
    if args.json:
        _print_json({"counts": found.counts, "parked": [
            {"id": p.message_id, "kind": p.kind, "channel": p.channel, "reason": p.reason,
             "at": ctx.local(p.since).isoformat()} for p in found.parked]})
        return EXIT_OK
    counts = found.counts
    print(f"sent: {counts['sent']}  pending: {counts['pending']}  parked: {counts['parked']}  "
          f"sending: {counts['sending']}  withdrawn: {counts['withdrawn']}")
    if found.oldest_pending_due is not None:
        print(f"oldest due and unsent since {ctx.local(found.oldest_pending_due):%Y-%m-%d %H:%M}")
    for parked in found.parked:
        print(f"parked #{parked.message_id} {parked.kind} by {parked.channel} "
              f"({ctx.local(parked.since):%Y-%m-%d %H:%M}): {parked.reason}")
    return EXIT_OK


def cmd_messages_preview(rt: Runtime, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from kiosk.messages.email import message_id_header
    from kiosk.messages.outbox import appointment_facts
    from kiosk.messages.render import MessageKind, render_email, render_sms
    from kiosk.store.models import Appointment, Location, Patient, Provider

    ctx = rt.ctx
    with ctx.db.read() as session:
        row = session.execute(
            select(Appointment, Patient.preferred_language, Patient.email, Provider.display_name,
                   Location.name)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Provider, Provider.id == Appointment.provider_id)
            .join(Location, Location.id == Appointment.location_id)
            .where(Appointment.site_id == ctx.settings.site_id,
                   Appointment.external_id == args.appointment)).first()
    if row is None:
        print(f"no appointment with id {args.appointment!r}", file=sys.stderr)
        return EXIT_FAILED
    appointment, preferred, email, provider, place = row
    language = args.language or preferred or ctx.settings.default_language
    if language not in ctx.settings.languages:
        raise UsageError(f"--language: one of {', '.join(ctx.settings.languages)}")
    facts = appointment_facts(ctx, appointment, kind=MessageKind(args.kind), language=language,
                              provider=provider, place=place)
    try:
        if args.channel == "sms":
            data = render_sms(facts).encode() + b"\n"
        else:
            data = render_email(
                facts, sender=ctx.settings.message_from or "practice@example.org",
                recipient=email or "patient@example.org",
                message_id=message_id_header(ctx.settings, 0)).as_bytes()
    except NotImplementedError:
        print("this release cannot write messages yet (no message content)", file=sys.stderr)
        return EXIT_FAILED
    if args.output:
        Path(args.output).write_bytes(data)
        print(f"Wrote {args.output}.")
    else:
        sys.stdout.buffer.write(data)
    return EXIT_OK


def cmd_messages_opt_out(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.messages.outbox import set_opt_out

    if not set_opt_out(rt.ctx, args.patient, opted_out=not args.undo, actor=args.staff):
        print(f"no patient with id {args.patient!r}", file=sys.stderr)
        return EXIT_FAILED
    print(f"Patient {args.patient}: " + ("messages again." if args.undo else
                                          "no more messages; pending ones withdrawn."))
    return EXIT_OK


def _print_sync_status(rt: Runtime) -> int:
    from kiosk.services.lobby import site_health

    ctx = rt.ctx
    health = site_health(ctx)

    def when(moment: datetime | None) -> str:
        return f"{ctx.local(moment):%Y-%m-%d %H:%M:%S}" if moment else "never"

    print(f"FHIR server:        {ctx.settings.fhir_base_url or '(none configured)'}")
    print(f"last success:       {when(health.last_sync)}")
    print(f"last attempt:       {when(health.last_attempt)}")
    print(f"last error:         {health.sync_error or '-'}")
    print(f"active worker:      {health.lease_holder or '-'}")
    print(f"check-ins to send:  {health.outbox_pending}")
    print(f"parked (refused):   {health.outbox_parked}")
    return EXIT_OK


def cmd_eta_report(rt: Runtime, args: argparse.Namespace) -> int:
    import dataclasses

    from kiosk.services.waits import ENOUGH_RECORDS, RECALIBRATE_EVERY, report

    with rt.ctx.db.read() as session:
        found = report(session, rt.ctx, args.days)
    if args.json:
        _print_json(json.loads(json.dumps(found, default=dataclasses.asdict)))
        return EXIT_OK
    overall = found["overall"]
    if overall is None:
        print(f"No waits recorded in the last {args.days} days yet.")
        _print_calling_order(found)
        return EXIT_OK
    print(f"Waits shown at check-in over the last {args.days} days, against the wait that "
          "followed:")
    print(f"{'actual wait':<12} {'patients':>8} {'mean err':>9} {'p90 err':>8} "
          f"{'within 5':>9} {'> bound+5':>10}")
    for name, acc in [("all", overall), ("all, today", found["today"]),
                      *found["bands"].items()]:
        if acc is not None:
            _print_accuracy(name, acc)
    print("By segment (walk-in or booked, and the wait the model predicted), last "
          f"{args.days} days, then today:")
    print(f"{'segment':<16} {'patients':>8} {'mean err':>9} {'p90 err':>8} {'within 5':>9} "
          f"{'> bound+5':>10}  calibration")
    for name, figures in found["segments"].items():
        cal = figures["calibration"]
        fitted = (f"median {cal.bias_minutes:+.1f} min, bound x{cal.spread}"
                  if cal is not None and cal.records >= ENOUGH_RECORDS
                  else "too few yet: the kind's or the whole record's")
        for when in ("days", "today"):
            if figures[when] is not None:
                label = name if when == "days" else "  today"
                _print_accuracy(label, figures[when], width=16,
                                after=f"  {fitted}" if when == "days" else "")
    _print_calling_order(found)
    cal = found["calibration"]
    print(f"Calibration overall: median {cal.bias_minutes:+.1f} min, bound spread "
          f"x{cal.spread} (from {cal.records} records); each segment's is refitted every "
          f"{RECALIBRATE_EVERY.seconds // 60} minutes as waits arrive.")
    return EXIT_OK


def _print_calling_order(found: dict[str, Any]) -> None:
    rule, evidence = found["calling_rule"]["setting"], found["calling_rule"]["evidence"]
    print(f"Calling order (the site setting calling_rule is {rule!r}): ", end="")
    if evidence.contests == 0:
        print("no walk-in in the record was ever ahead of a booked patient who was due.")
    else:
        print(f"{evidence.contests} times a booked patient who was due waited while a "
              f"walk-in who came before them did; the booked patient was called first "
              f"{evidence.booked_first} times ({evidence.share_booked_first:.0%}).")
        if evidence.fits is None:
            print("Too few such moments yet to say which rule fits this practice.")
        elif evidence.fits == rule:
            print(f"That fits {rule!r}, the rule the estimates use.")
        else:
            print(f"That fits {evidence.fits!r} better than {rule!r}: an admin can change "
                  "it in reception's site settings.")


def _print_accuracy(name: str, acc: Any, *, width: int = 12, after: str = "") -> None:
    print(f"{name:<{width}} {acc.records:>8} {acc.mean_absolute_error:>8.1f}m "
          f"{acc.p90_absolute_error:>7.1f}m {acc.within_5:>9.0%} {acc.over_upper_by_5:>10.0%}"
          f"{after}")


def cmd_qr_make(rt: Runtime, args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from kiosk.domain import tokens
    from kiosk.store.models import Appointment

    ctx = rt.ctx
    with ctx.db.read() as session:
        start = session.scalar(select(Appointment.start).where(
            Appointment.site_id == ctx.settings.site_id,
            Appointment.external_id == args.appointment))
    if start is None:
        print(f"no appointment with id {args.appointment!r}", file=sys.stderr)
        return EXIT_FAILED
    token = tokens.issue(ctx.qr_secret, ctx.settings.site_id, args.appointment,
                         ctx.local(start).date())
    if args.png:
        tokens.write_png(token, args.png)
    if args.svg:
        tokens.write_svg(token, args.svg)
    print(token)
    return EXIT_OK


def cmd_db_upgrade(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.store.db import Database, describe_url

    db = Database(rt.settings.database_url)
    db.upgrade()
    print(f"Database {describe_url(db.url)} is up to date.")
    return EXIT_OK


def cmd_config_show(rt: Runtime, args: argparse.Namespace) -> int:
    for name, value in rt.settings.shown().items():
        print(f"{name} = {json.dumps(value, ensure_ascii=False)}")
    return EXIT_OK


def cmd_config_describe(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.base.settings import markdown_table

    print("| Setting | Type | Default | Meaning |\n|---|---|---|---|")
    print("\n".join(markdown_table()))
    return EXIT_OK


def cmd_purge(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.services.retention import purge

    done = purge(rt.ctx, dry_run=args.dry_run)
    print(f"{'Would delete' if args.dry_run else 'Deleted'}: {done.appointments} appointments, "
          f"{done.patients} patients; {done.visits_anonymised} visits made anonymous; "
          f"{done.kept_for_outbox} appointments kept until their check-in is sent.")
    return EXIT_OK


def cmd_doctor(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.base.settings import config_path_from
    from kiosk.ops import doctor

    checks = doctor.run(rt.settings, config_path_from(args.config, os.environ),
                        rt.screen_checks)
    print(doctor.table(checks))
    failed = [check.name for check in checks if check.status == doctor.FAIL]
    return EXIT_FAILED if failed else EXIT_OK


def cmd_config_sample(rt: Runtime, args: argparse.Namespace) -> int:
    from kiosk.ops.provision import sample_config

    print(sample_config(), end="")
    return EXIT_OK


def cmd_provision(rt: Runtime, args: argparse.Namespace) -> int:
    """Answers from the options, else asked on a terminal (Enter keeps the default)."""
    from kiosk.base.settings import system_config_file
    from kiosk.ops.provision import provision

    defaults = Settings()
    values: dict[str, Any] = {}
    for name, question in PROVISION_QUESTIONS:
        given = getattr(args, name)
        if given is None and sys.stdin.isatty():
            default = getattr(defaults, name)
            shown = ", ".join(default) if isinstance(default, tuple) else default
            given = input(f"{question} [{shown}]: ").strip() or None
        if given is None:
            continue
        values[name] = [part.strip() for part in given.split(",") if part.strip()] \
            if name == "languages" else given
    path = args.output or system_config_file()
    try:
        provision(values, path, force=args.force)
    except FileExistsError as problem:
        raise UsageError(str(problem)) from None
    except OSError as problem:
        raise UsageError(f"cannot write {path}: {problem.strerror}") from None
    print(f"Wrote {path}. Check it with: kiosk --config {path} doctor")
    return EXIT_OK


def _not_utf8(args: argparse.Namespace) -> str | None:
    """The option whose value cannot be written as UTF-8 (not the value: it may be a name)."""
    for name, value in vars(args).items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"--{name.replace('_', '-')}"
    return None


def main(argv: Sequence[str] | None = None, *, show_window: ShowWindow | None = None,
         screen_checks: ScreenChecks | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # usage errors (2), --help and --version (0)
        return int(stop.code or 0)
    garbled = _not_utf8(args)
    if garbled:  # bytes that are not UTF-8 reach Python as lone surrogates
        print(f"kiosk: {garbled} is not valid UTF-8 text", file=sys.stderr)
        return EXIT_USAGE
    handler: Callable[[Runtime, argparse.Namespace], int] = args.handler
    try:
        runtime = Runtime(args, show_window, screen_checks)
    except SettingsError as problem:
        if args.command == "doctor":  # the first check, failed: say so in its table
            print(f"config  FAIL  {problem}")
            return EXIT_FAILED
        print(f"kiosk: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        from kiosk.base import logs

        logs.configure(runtime.settings, args.command)
        return handler(runtime, args)
    except (SettingsError, UsageError) as problem:
        print(f"kiosk: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except DatabaseUnavailable as problem:
        print(f"kiosk: the database is unavailable: {problem}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
