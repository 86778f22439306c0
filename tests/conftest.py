"""Shared fixtures: real databases (a SQLite file and a private PostgreSQL server), a fixed
clock, and a small practice day with the hard cases in it."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from kiosk.base.clock import FixedClock
from kiosk.base.settings import Settings, load_settings
from kiosk.store.db import Database
from kiosk.store.models import AppointmentStatus
from kiosk.store.schedule import (
    AppointmentRecord,
    PatientRecord,
    upsert_appointments,
    upsert_locations,
    upsert_patients,
    upsert_providers,
)
from kiosk.store.site import SiteContext
from tests.fhir_server import FhirServer, FhirServerUnavailable
from tests.pg_server import PostgresUnavailable, TempPostgres, create_database, server_url

TZ = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 23)
IN_CI = bool(os.environ.get("CI"))
_pg_skipped: list[str] = []


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """The tests read translations from compiled catalogs, as the kiosk does."""
    from babel.messages.frontend import CommandLineInterface

    locales = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "locales")
    for template in sorted(os.listdir(locales)):  # one domain per template: kiosk, reception
        if template.endswith(".pot"):
            failed = CommandLineInterface().run(
                ["pybabel", "-q", "compile", "-d", locales, "-D", template[:-4]])
            assert not failed, f"pybabel compile failed for {template}"


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A real PostgreSQL server for the session; in CI its absence is a failure, not a skip."""
    server: TempPostgres | None = None
    try:
        url, server = server_url()
    except PostgresUnavailable as why:
        _pg_skipped.append(str(why).splitlines()[0])
        unavailable(f"PostgreSQL unavailable: {why}")
    yield url
    if server is not None:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_skipped:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"reason: {_pg_skipped[0]}", red=True)
        terminalreporter.write_line("Run the README's test command: it installs PostgreSQL.")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each test that uses it runs twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kiosk.sqlite3'}"
    admin = request.getfixturevalue("pg_admin_url")
    return create_database(admin, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/kiosk.sqlite3"


def unavailable(message: str) -> NoReturn:
    """A real part the tests need is missing: a failure in CI (where ./dev test installs
    everything), a skip with the reason elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def start_fhir_server(**options: Any) -> FhirServer:
    """The real FHIR server on loopback (tests/fhir_server.py), or :func:`unavailable`."""
    try:
        return FhirServer(**options)
    except FhirServerUnavailable as problem:
        unavailable(f"no FHIR server: {problem}")


@pytest.fixture(scope="session")
def fhir() -> Iterator[FhirServer]:
    """One FHIR server for the whole session; tests reset() it and load what they need."""
    server = start_fhir_server()
    yield server
    server.stop()


def doctor_rows(output: str) -> dict[str, tuple[str, str]]:
    """`kiosk doctor`'s table: check name -> (ok | warn | FAIL, detail)."""
    found = (re.match(r"^(.+?)\s{2,}(ok|warn|FAIL)\s+(.*)$", line)
             for line in output.splitlines())
    return {match[1]: (match[2], match[3]) for match in found if match}


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Every test: what a command run in-process (kiosk.base.logs.configure) or a lockdown changes
    in logging (handlers, level) and the exception hooks is put back afterwards, so that
    pytest keeps seeing exceptions in threads."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(8, 50))


def make_settings(url: str, **overrides: object) -> Settings:
    return load_settings(environ={}, overrides={
        "database_url": url, "timezone": "Europe/Berlin", **overrides})


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


def make_ctx(settings: Settings, clock: FixedClock) -> SiteContext:
    db = Database(settings.database_url)
    db.upgrade()
    return SiteContext.open(settings, db, clock)


@pytest.fixture
def ctx(settings: Settings, clock: FixedClock) -> Iterator[SiteContext]:
    context = make_ctx(settings, clock)
    yield context
    context.db.dispose()


@pytest.fixture
def sqlite_ctx(sqlite_url: str, clock: FixedClock) -> Iterator[SiteContext]:
    context = make_ctx(make_settings(sqlite_url), clock)
    yield context
    context.db.dispose()


@dataclass(frozen=True)
class Person:
    external_id: str
    given: str
    family: str
    birth_date: date
    appointment: str
    start: datetime


# (external id, given, family, birth date, appointment start, provider, location, status)
PEOPLE = [
    ("muller", "Jürgen", "Müller", date(1956, 3, 14), at(9, 0), "p1", "main", "booked"),
    ("garcia", "María José", "García-López", date(1984, 7, 2), at(9, 15), "p1", "main", "booked"),
    ("oneil", "Siobhán", "O'Neil", date(1990, 11, 30), at(9, 30), "p2", "main", "booked"),
    ("hashemi", "فاطمة", "الهاشمي", date(1979, 5, 21), at(9, 0), "p2", "main", "booked"),
    ("wang", "伟", "王", date(1968, 1, 8), at(9, 15), "p2", "main", "booked"),
    ("ivanova", "Анна", "Иванова", date(1995, 9, 17), at(9, 45), "p1", "main", "booked"),
    ("nguyen", "Thị Mai", "Nguyễn", date(1988, 4, 25), at(9, 30), "p1", "main", "booked"),
    ("twin_a", "Amina", "Okafor", date(2015, 6, 1), at(9, 0), "p3", "main", "booked"),
    ("twin_b", "Chidi", "Okafor", date(2015, 6, 1), at(9, 15), "p3", "main", "booked"),
    ("early", "Erin", "Bird", date(1970, 1, 1), at(15, 0), "p1", "main", "booked"),
    ("late", "Lena", "Spät", date(1971, 2, 2), at(8, 0), "p1", "main", "booked"),
    ("cancelled", "Carl", "Voss", date(1972, 3, 3), at(9, 0), "p1", "main", "cancelled"),
    ("annex", "Anne", "Annex", date(1973, 4, 4), at(9, 0), "p1", "annex", "booked"),
    ("tomorrow", "Tom", "Morrow", date(1974, 5, 5), at(9, 0, DAY + timedelta(days=1)), "p1",
     "main", "booked"),
]


@pytest.fixture
def day(ctx: SiteContext) -> dict[str, Person]:
    return load_day(ctx)


@pytest.fixture
def sqlite_day(sqlite_ctx: SiteContext) -> dict[str, Person]:
    return load_day(sqlite_ctx)


def load_day(ctx: SiteContext) -> dict[str, Person]:
    """The fixture practice: three providers, two locations, the people above."""
    secret = ctx.qr_secret
    site = ctx.settings.site_id
    with ctx.db.write() as session:
        locations = upsert_locations(session, site, [("main", "Main building"),
                                                     ("annex", "Annex")])
        providers = upsert_providers(session, site, [("p1", "Dr. Amara Okafor"),
                                                     ("p2", "Dr. Wei Chen"),
                                                     ("p3", "Dr. Sarah Goldberg")])
        patients = upsert_patients(session, site, [
            PatientRecord(ext, given, family, born) for ext, given, family, born, *_ in PEOPLE])
        upsert_appointments(session, site, secret, [
            AppointmentRecord(f"a-{ext}", ext, provider, location, start,
                              start + timedelta(minutes=15), AppointmentStatus(status))
            for ext, _, _, _, start, provider, location, status in PEOPLE],
            patients=patients, providers=providers, locations=locations)
    return {ext: Person(ext, given, family, born, f"a-{ext}", start)
            for ext, given, family, born, start, *_ in PEOPLE}
