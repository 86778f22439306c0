"""The fixture practice (three providers, two locations, people with the hard cases in them),
settings and a prepared site on any database URL, and the rule for a real part that is missing."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

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
from tests.support.fhir_server import FhirServer, FhirServerUnavailable

TZ = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 23)
IN_CI = bool(os.environ.get("CI"))

def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)

def unavailable(message: str) -> NoReturn:
    """A real part the tests need is missing: a failure in CI (where ./dev test installs
    everything), a skip with the reason elsewhere."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def start_fhir_server(**options: Any) -> FhirServer:
    """The real FHIR server on loopback (tests/support/fhir_server.py), or :func:`unavailable`."""
    try:
        return FhirServer(**options)
    except FhirServerUnavailable as problem:
        unavailable(f"no FHIR server: {problem}")

def doctor_rows(output: str) -> dict[str, tuple[str, str]]:
    """`kiosk doctor`'s table: check name -> (ok | warn | FAIL, detail)."""
    found = (re.match(r"^(.+?)\s{2,}(ok|warn|FAIL)\s+(.*)$", line)
             for line in output.splitlines())
    return {match[1]: (match[2], match[3]) for match in found if match}

def make_settings(url: str, **overrides: object) -> Settings:
    return load_settings(environ={}, overrides={
        "database_url": url, "timezone": "Europe/Berlin", **overrides})

def make_ctx(settings: Settings, clock: FixedClock) -> SiteContext:
    db = Database(settings.database_url)
    db.upgrade()
    return SiteContext.open(settings, db, clock)

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

def load_day(ctx: SiteContext) -> dict[str, Person]:
    """The fixture practice: three providers, two locations, the people above."""
    return book(ctx, PEOPLE)


def book(ctx: SiteContext, people: list[tuple[Any, ...]]) -> dict[str, Person]:
    """Book ``people`` at the fixture practice, through the real core: each is (external id,
    given, family, birth date, appointment start, provider, location, status) as in PEOPLE;
    the appointment is ``a-<external id>``, 15 minutes long."""
    site = ctx.settings.site_id
    with ctx.db.write() as session:
        locations = upsert_locations(session, site, [("main", "Main building"),
                                                     ("annex", "Annex")])
        providers = upsert_providers(session, site, [("p1", "Dr. Amara Okafor"),
                                                     ("p2", "Dr. Wei Chen"),
                                                     ("p3", "Dr. Sarah Goldberg")])
        patients = upsert_patients(session, site, [
            PatientRecord(ext, given, family, born) for ext, given, family, born, *_ in people])
        upsert_appointments(session, site, ctx.qr_secret, [
            AppointmentRecord(f"a-{ext}", ext, provider, location, start,
                              start + timedelta(minutes=15), AppointmentStatus(status))
            for ext, _, _, _, start, provider, location, status in people],
            patients=patients, providers=providers, locations=locations)
    return {ext: Person(ext, given, family, born, f"a-{ext}", start)
            for ext, given, family, born, start, *_ in people}
