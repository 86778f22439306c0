"""Check-in latency on a busy day, on SQLite (a WAL file) and on PostgreSQL.

For each database: seed a practice day with ``kiosk.ops.demo.generate_day`` (by default 200,000
patients and 5,000 appointments; the time is printed as "seeding"), then check patients in
through ``CheckinService``: N by QR code and N more by family name and date of birth, on disjoint
booked appointments at the kiosk's location, in the order of the day. Before each check-in the
clock is set to five minutes before the appointment, so every one should be ``checked_in``.
A name is typed as a patient at a Latin keyboard would: as recorded if it is in Latin letters
(or Arabic script), else its usual Latin spelling (Pinyin, Korean, Hindi, the passport's).

It also counts the *false candidates* the name keys find: for every booked appointment, the
patients its typed name and birth date find besides the patient and their namesakes (same
recorded name and birth date, whom the kiosk asks for the given name anyway), with the keys
across scripts and, in the same run, with exact keys alone.
Each latency is ``time.perf_counter()`` around the service call, which includes the commit.

Targets (issue): seeding <= 30 s; check-in p50 <= 5 ms and p99 <= 15 ms. This prints figures;
it does not pass or fail. PostgreSQL is a private server on loopback
(``tests.support.pg_server``), or the one ``KIOSK_TEST_POSTGRES_URL`` names.

Run from the repository root:

    .venv/bin/python bench/checkin.py [--db sqlite|postgresql|both] [--patients N]
                                      [--appointments N] [--checkins N]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy
from sqlalchemy import select

from kiosk.base.clock import FixedClock, local_day_bounds
from kiosk.base.settings import load_settings
from kiosk.domain import tokens
from kiosk.domain.names import latin_family_name, name_key, search_keys
from kiosk.domain.results import CheckinResult, Outcome
from kiosk.ops.demo import generate_day
from kiosk.services.checkin import CheckinService
from kiosk.store.db import Database
from kiosk.store.models import Appointment, AppointmentStatus, Location, Patient, PatientNameKey
from kiosk.store.site import SiteContext

# tests/ (the private PostgreSQL server) is a package at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TIMEZONE = "Europe/Berlin"
MORNING = datetime(2026, 3, 2, 7, 0, tzinfo=ZoneInfo(TIMEZONE))  # a Monday, far from DST
DAY = MORNING.date()
KIOSK_ID = "kiosk-bench"
ARRIVE_EARLY = timedelta(minutes=5)
SEED_TARGET_S, P50_TARGET_MS, P99_TARGET_MS = 30.0, 5.0, 15.0


@dataclass(frozen=True)
class Booked:
    """A booked appointment at the kiosk's location, with what a patient would enter."""

    external_id: str
    start: datetime
    family: str        # as typed (see typed_form)
    birth_date: date
    given: str | None  # only when the typed name and birth date find more than one patient


def typed_form(family: str) -> str:
    """What a patient types at a Latin keyboard for a recorded family name: its usual Latin
    spelling (Pinyin, Korean, Hindi, the passport's), or as recorded (Latin, Arabic script)."""
    return latin_family_name(family) or family


@dataclass
class Candidates:
    queries: int = 0
    false_across_scripts: int = 0
    false_exact_only: int = 0
    found_across_scripts: int = 0  # the patient themselves was found
    found_exact_only: int = 0
    cross_script_queries: int = 0


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[Outcome] = field(default_factory=Counter)


def bookable(db: Database, ctx: SiteContext, counted: Candidates) -> list[Booked]:
    """The day's booked appointments at "main", with the given name where it is needed; counts
    the false candidates of every one's typed name into ``counted``."""
    day_start, day_end = local_day_bounds(DAY, ctx.tz)
    with db.read() as session:
        rows = session.execute(
            select(Appointment.external_id, Appointment.start, Appointment.status,
                   Location.external_id, Patient.id, Patient.family_name,
                   Patient.given_name, Patient.birth_date)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Location, Location.id == Appointment.location_id)
            .where(Appointment.start >= day_start, Appointment.start < day_end)
            .order_by(Appointment.start, Appointment.external_id)).all()
        # Who a (name key, birth date) finds among all patients: the kiosk asks for the
        # given name whenever it finds more than one, appointment today or not.
        found: dict[tuple[str, date], set[int]] = {}
        for key, born, patient_id in session.execute(
                select(PatientNameKey.key, Patient.birth_date, Patient.id)
                .join(Patient, Patient.id == PatientNameKey.patient_id)):
            found.setdefault((key, born), set()).add(patient_id)
    booked = []
    for external_id, start, status, location, patient_id, family, given, born in rows:
        typed = typed_form(family)
        namesakes = found.get((name_key(family), born), set()) | {patient_id}
        across: set[int] = set()
        for key in search_keys(typed):
            across |= found.get((key, born), set())
        exact = found.get((name_key(typed), born), set())
        counted.queries += 1
        counted.cross_script_queries += typed != family and name_key(typed) != name_key(family)
        counted.false_across_scripts += len(across - namesakes)
        counted.false_exact_only += len(exact - namesakes)
        counted.found_across_scripts += patient_id in across
        counted.found_exact_only += patient_id in exact
        if status == AppointmentStatus.BOOKED and location == "main":
            booked.append(Booked(external_id, start, typed, born,
                                 given if len(across) > 1 else None))
    return booked


def _report_candidates(counted: Candidates) -> None:
    n = counted.queries
    print(f"name keys: {n:,} typed names ({counted.cross_script_queries:,} typed in another "
          "script than recorded)")
    print(f"  found the patient: across scripts {counted.found_across_scripts / n:.1%}, "
          f"exact keys alone {counted.found_exact_only / n:.1%}")
    print(f"  false candidates per query: across scripts "
          f"{counted.false_across_scripts / n:.4f} ({counted.false_across_scripts} in all), "
          f"exact keys alone {counted.false_exact_only / n:.4f} "
          f"({counted.false_exact_only} in all)")


def check_in_all(ctx: SiteContext, clock: FixedClock, booked: list[Booked],
                 checkins: int) -> dict[str, Run]:
    """Check in ``checkins`` appointments by QR and as many by name, in the day's order."""
    service = CheckinService(ctx)
    chosen = random.Random(7).sample(booked, k=min(2 * checkins, len(booked)))
    plan: list[tuple[datetime, str, Callable[[], CheckinResult]]] = []
    for number, appointment in enumerate(chosen):
        call: Callable[[], CheckinResult]
        if number % 2 == 0:
            token = tokens.issue(ctx.qr_secret, ctx.settings.site_id,
                                 appointment.external_id, DAY)
            call = partial(service.by_qr, token, kiosk_id=KIOSK_ID)
            plan.append((appointment.start, "QR", call))
        else:
            call = partial(service.by_name, appointment.family, appointment.birth_date,
                           given=appointment.given, kiosk_id=KIOSK_ID)
            plan.append((appointment.start, "name/DOB", call))
    plan.sort(key=lambda step: step[0])

    runs = {"QR": Run(), "name/DOB": Run()}
    for start, method, call in plan:
        clock.set(start - ARRIVE_EARLY)
        began = time.perf_counter()
        result = call()
        elapsed_ms = (time.perf_counter() - began) * 1000
        runs[method].latencies_ms.append(elapsed_ms)
        runs[method].outcomes[result.outcome] += 1
    return runs


def bench(url: str, label: str, args: argparse.Namespace) -> None:
    settings = load_settings(environ={}, overrides={"database_url": url, "timezone": TIMEZONE,
                                                    "wait_model": args.wait_model})
    db = Database(url)
    try:
        db.upgrade()
        print(f"\n== {label} (server {_version(db)}) ==")
        clock = FixedClock(MORNING)
        ctx = SiteContext.open(settings, db, clock)

        began = time.perf_counter()
        summary = generate_day(ctx, DAY, appointments=args.appointments, seed=1,
                               patients=args.patients)
        seconds = time.perf_counter() - began
        print(f"seeding: {summary.patients:,} patients, {summary.appointments:,} appointments, "
              f"{summary.providers} providers in {seconds:.1f} s "
              f"(target <= {SEED_TARGET_S:.0f} s: {_verdict(seconds <= SEED_TARGET_S)})")

        counted = Candidates()
        booked = bookable(db, ctx, counted)
        _report_candidates(counted)
        if len(booked) < 2 * args.checkins:
            print(f"note: only {len(booked)} booked appointments at 'main'; using them all")
        for method, run in check_in_all(ctx, clock, booked, args.checkins).items():
            _report(method, run)
    finally:
        db.dispose()


def _report(method: str, run: Run) -> None:
    cuts = statistics.quantiles(run.latencies_ms, n=100, method="inclusive")
    p50, p90, p99 = cuts[49], cuts[89], cuts[98]
    outcomes = ", ".join(f"{outcome.value}={count}" for outcome, count in
                         run.outcomes.most_common())
    print(f"{method:>9}: n={len(run.latencies_ms)}  p50 {p50:.2f}  p90 {p90:.2f}  "
          f"p99 {p99:.2f}  max {max(run.latencies_ms):.2f} ms  "
          f"(p50 <= {P50_TARGET_MS:.0f}: {_verdict(p50 <= P50_TARGET_MS)}, "
          f"p99 <= {P99_TARGET_MS:.0f}: {_verdict(p99 <= P99_TARGET_MS)})")
    print(f"{'':>9}  outcomes: {outcomes}")
    checked_in = run.outcomes[Outcome.CHECKED_IN]
    if checked_in < len(run.latencies_ms):
        print(f"{'':>9}  WARNING: only {checked_in} of {len(run.latencies_ms)} were checked in; "
              "the figures include failures")


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _version(db: Database) -> str:
    info = db.engine.dialect.server_version_info or ()
    return ".".join(str(part) for part in info)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--wait-model", choices=("eta", "simple"), default="eta",
                        help="the wait estimate each check-in computes (the app's default: eta)")
    parser.add_argument("--patients", type=int, default=200_000)
    parser.add_argument("--appointments", type=int, default=5000)
    parser.add_argument("--checkins", type=int, default=1000,
                        help="check-ins per method (QR, and name and date of birth)")
    args = parser.parse_args()

    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
          f"SQLite {sqlite3.sqlite_version}")
    print(f"wait estimate at each check-in: {args.wait_model}")
    print(f"day: {DAY} ({TIMEZONE}); {args.patients:,} patients, "
          f"{args.appointments:,} appointments, {args.checkins} check-ins per method")

    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="kiosk-bench-") as folder:
            bench(f"sqlite:///{folder}/kiosk.sqlite3", "SQLite, WAL file", args)
    if args.db in ("postgresql", "both"):
        from tests.support.pg_server import create_database, server_url

        admin_url, server = server_url()
        try:
            bench(create_database(admin_url, "bench_checkin"), "PostgreSQL", args)
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
