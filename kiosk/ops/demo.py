"""Demo data: a realistic day for a practice whose patients come from many cultures.

Names come from Faker's locales (Arabic, Chinese, Cyrillic, Vietnamese, Korean, Devanagari,
Persian, Irish and Spanish multi-part names, ...) plus a fixed set of patients that show the
hard cases on every demo day: accents, hyphens, apostrophes, names in other scripts, and twins
who share a family name and a birth date. The same seed always gives the same practice.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import func, select

from kiosk.base.clock import local_day_bounds
from kiosk.domain import tokens
from kiosk.domain.names import latin_family_name
from kiosk.messages.outbox import AppointmentChange, appointment_changed
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    CheckinMethod,
    Location,
    Patient,
    Provider,
    Visit,
    VisitStatus,
)
from kiosk.store.schedule import (
    AppointmentRecord,
    PatientRecord,
    upsert_appointments,
    upsert_locations,
    upsert_patients,
    upsert_providers,
)
from kiosk.store.site import SiteContext

# Faker locale -> the patient's preferred language (a kiosk language code).
LOCALES = {
    "en_US": "en", "es_MX": "es", "zh_CN": "zh_Hans", "zh_TW": "zh_Hant", "vi_VN": "vi",
    "tl_PH": "tl", "ko_KR": "ko", "ar_AA": "ar", "ru_RU": "ru", "fr_FR": "fr", "pt_BR": "pt",
    "hi_IN": "hi", "fa_IR": "fa", "pl_PL": "pl", "de_DE": "en", "ga_IE": "en",
}
POOL_SIZE = 150

# Always present, at the kiosk's location, so the hard cases can be tried on any demo day.
# (external id, given, family, birth date, language, minutes after the first slot)
SHOWCASE = [
    ("pat-muller", "Jürgen", "Müller", date(1956, 3, 14), "en", 0),
    ("pat-garcia", "María José", "García-López", date(1984, 7, 2), "es", 15),
    ("pat-oneil", "Siobhán", "O'Neil", date(1990, 11, 30), "en", 30),
    ("pat-hashemi", "فاطمة", "الهاشمي", date(1979, 5, 21), "ar", 45),
    ("pat-wang", "伟", "王", date(1968, 1, 8), "zh_Hans", 60),
    ("pat-ivanova", "Анна", "Иванова", date(1995, 9, 17), "ru", 75),
    ("pat-nguyen", "Thị Mai", "Nguyễn", date(1988, 4, 25), "vi", 90),
    ("pat-twin-a", "Amina", "Okafor", date(2015, 6, 1), "en", 105),
    ("pat-twin-b", "Chidi", "Okafor", date(2015, 6, 1), "en", 120),
    ("pat-kim", "민준", "김", date(1992, 2, 11), "ko", 135),
    ("pat-kapoor", "प्रिया", "कपूर", date(1986, 8, 19), "hi", 150),
]
PROVIDER_NAMES = [
    "Dr. Amara Okafor", "Dr. Lucía Fernández", "Dr. Wei Chen", "Dr. Sarah Goldberg",
    "Dr. Rahul Mehta", "Dr. Olena Kovalenko", "Dr. Thomas Becker", "Dr. Nadia Haddad",
    "Dr. Minh Tran", "Dr. Grace Mwangi", "Dr. Jonas Lindqvist", "Dr. Aisha Rahman",
]
LOCATIONS = [("main", "Main building"), ("annex", "Annex, 2nd floor")]
DAY_START = time(8, 0)
SLOT_MINUTES = 15
SLOTS_PER_DAY = 36  # 08:00 to 17:00


@dataclass(frozen=True)
class DemoSummary:
    day: date
    appointments: int
    new_appointments: int
    patients: int
    providers: int


def name_pools(seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """Per Faker locale: (given names, family names), drawn once and reused."""
    from faker import Faker

    pools = {}
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        given = list(dict.fromkeys(fake.first_name() for _ in range(POOL_SIZE)))
        family = list(dict.fromkeys(fake.last_name() for _ in range(POOL_SIZE)))
        pools[locale] = (given, family)
    return pools


def make_patients(count: int, seed: int) -> list[PatientRecord]:
    """The showcase patients and ``count`` more, from every culture in LOCALES."""
    rng = random.Random(seed)
    pools = name_pools(seed)
    locales = list(LOCALES)
    patients = [PatientRecord(ext, given, family, born, lang, *demo_contacts(ext, number))
                for number, (ext, given, family, born, lang, _) in enumerate(SHOWCASE)]
    earliest = date(1930, 1, 1).toordinal()
    span = date(2024, 12, 31).toordinal() - earliest
    for number in range(count):
        locale = rng.choice(locales)
        given, family = pools[locale]
        external_id = f"pat-{number:07d}"
        patients.append(PatientRecord(
            external_id=external_id, given_name=rng.choice(given),
            family_name=rng.choice(family),
            birth_date=date.fromordinal(earliest + rng.randrange(span)),
            preferred_language=LOCALES[locale],
            email=demo_contacts(external_id, len(SHOWCASE) + number)[0],
            mobile=demo_contacts(external_id, len(SHOWCASE) + number)[1]))
    return patients


def demo_contacts(external_id: str, number: int) -> tuple[str, str]:
    """A demo patient's email and mobile: example.org (reserved for examples, RFC 2606) and
    +44 7700 900000-900999 (Ofcom's range for drama: never a real subscriber)."""
    return f"{external_id}@example.org", f"+447700900{number % 1000:03d}"


def provider_list(count: int) -> list[tuple[str, str]]:
    return [(f"prov-{n + 1:03d}",
             PROVIDER_NAMES[n] if n < len(PROVIDER_NAMES) else f"Dr. Provider {n + 1}")
            for n in range(count)]


def generate_day(ctx: SiteContext, day: date, appointments: int, *, seed: int = 1,
                 patients: int | None = None, showcase_from: time = DAY_START) -> DemoSummary:
    """Load a demo practice day: idempotent for the same day, seed and sizes.

    The showcase patients see the first provider every 15 minutes from ``showcase_from``
    (a live demo puts them just after the current time, so they can check in at once).
    """
    rng = random.Random(f"{seed}-{day.isoformat()}")
    patient_count = patients if patients is not None else max(appointments, 20)
    people = make_patients(patient_count, seed)
    provider_count = max(3, -(-(appointments + len(SHOWCASE)) // SLOTS_PER_DAY))
    providers = provider_list(provider_count)
    tz = ctx.tz

    def at(slot: int) -> datetime:
        first = datetime.combine(day, DAY_START, tzinfo=tz)
        return first + timedelta(minutes=SLOT_MINUTES * slot)

    first_showcase = (showcase_from.hour * 60 + showcase_from.minute
                      - DAY_START.hour * 60 - DAY_START.minute) // SLOT_MINUTES
    first_showcase = min(max(first_showcase, 0), SLOTS_PER_DAY - len(SHOWCASE))
    showcase_slots = [first_showcase + offset // SLOT_MINUTES for *_, offset in SHOWCASE]
    records = [
        AppointmentRecord(f"appt-{day.isoformat()}-{ext}", ext, providers[0][0], "main",
                          at(slot), at(slot + 1))
        for (ext, *_), slot in zip(SHOWCASE, showcase_slots, strict=True)
    ]
    busy = {(providers[0][0], slot) for slot in showcase_slots}
    free_slots = [(prov, slot) for prov, _ in providers for slot in range(SLOTS_PER_DAY)
                  if (prov, slot) not in busy]
    rng.shuffle(free_slots)
    regular = people[len(SHOWCASE):]
    chosen = rng.sample(range(len(regular)), k=min(appointments, len(regular)))
    for number, (index, (provider, slot)) in enumerate(zip(chosen, free_slots, strict=False)):
        roll = rng.random()
        status = AppointmentStatus.CANCELLED if roll < 0.03 else AppointmentStatus.BOOKED
        records.append(AppointmentRecord(
            external_id=f"appt-{day.isoformat()}-{number:05d}",
            patient=regular[index].external_id, provider=provider,
            location="annex" if rng.random() < 0.05 else "main",
            start=at(slot), end=at(slot + 1), status=status))

    secret = ctx.qr_secret
    with ctx.db.write() as session:
        location_ids = upsert_locations(session, ctx.settings.site_id, LOCATIONS)
        provider_ids = upsert_providers(session, ctx.settings.site_id, providers)
        patient_ids = upsert_patients(session, ctx.settings.site_id, people)
        known = set(session.scalars(select(Appointment.external_id).where(
            Appointment.site_id == ctx.settings.site_id,
            Appointment.external_id.in_([r.external_id for r in records]))))
        new = upsert_appointments(
            session, ctx.settings.site_id, secret, records, patients=patient_ids,
            providers=provider_ids, locations=location_ids)
        # Their confirmations and reminders, as a sync would enqueue them (with smtp_url set).
        added = session.scalars(select(Appointment.id).where(
            Appointment.site_id == ctx.settings.site_id,
            Appointment.external_id.in_([r.external_id for r in records
                                         if r.external_id not in known]))).all()
        appointment_changed(session, ctx, [AppointmentChange(row_id) for row_id in added])
    if new >= 1000:
        ctx.db.analyze()
    return DemoSummary(day, len(records), new, len(people), len(providers))


def try_sheet(ctx: SiteContext, codes: Path, count: int = 4) -> str:
    """Demo patients to try at the kiosk today: QR codes (also written as PNGs) and names."""

    start, end = local_day_bounds(ctx.today(), ctx.tz)
    with ctx.db.read() as session:
        rows = session.execute(
            select(Appointment.external_id, Appointment.start, Patient.given_name,
                   Patient.family_name, Patient.birth_date)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Appointment.site_id == ctx.settings.site_id,
                   Appointment.external_id.in_(
                       [f"appt-{ctx.today().isoformat()}-{ext}" for ext, *_ in SHOWCASE]),
                   Appointment.start >= start, Appointment.start < end)
            .order_by(Appointment.start)).all()
    codes.mkdir(parents=True, exist_ok=True)
    lines = ["Try these demo patients today (check-in opens "
             f"{ctx.settings.checkin_opens_minutes} minutes before each appointment):"]
    for external_id, begins, given, family, born in rows:
        at = ctx.local(begins).strftime("%H:%M")
        line = f"  {at}  {family}, {given}  born {born.isoformat()}"
        latin = latin_family_name(family)
        if latin and latin != family:  # what a patient at a Latin keyboard may type
            line += f"  (or type {latin})"
        if len(lines) <= count:
            token = tokens.issue(ctx.qr_secret, ctx.settings.site_id, external_id, ctx.today())
            png = codes / f"{external_id}.png"
            tokens.write_png(token, png)
            line += f"\n         QR {token}  ({png})"
        lines.append(line)
    lines.append("  Twins: family name Okafor, born 2015-06-01: the kiosk asks for the given name.")
    if rows:
        first = rows[0][0]
        lines.append(f"Their messages (demo patients have @example.org addresses): "
                     f"kiosk messages preview --appointment {first} --channel email "
                     f"--output confirmation.eml"
                     + ("; to send them to a local mail catcher, load the demo on a new database "
                        "with smtp_url set (such as smtp://127.0.0.1:1025, smtp_require_tls = "
                        "false, message_from), then run kiosk messages send"
                        if not ctx.settings.smtp_url else
                        f"; kiosk messages send delivers them through {ctx.settings.smtp_url}"))
    return "\n".join(lines)


def seed_history(ctx: SiteContext, day: date, *, days: int = 3, per_day: int = 14,
                 seed: int = 1) -> int:
    """Past days before ``day`` for every provider: a book of appointments (some not kept),
    the patients' check-ins (most a little early), a few walk-ins, and the consultations
    that followed, so the demo's wait estimates have a history to learn each provider's pace
    and the practice's habits from. Idempotent; returns the visits added."""

    rng = random.Random(f"history-{seed}")
    site_id = ctx.settings.site_id
    secret = ctx.qr_secret
    added = 0
    with ctx.db.write() as session:
        providers = session.scalars(select(Provider).where(
            Provider.site_id == site_id).order_by(Provider.id)).all()
        patients = session.scalars(select(Patient.id).where(
            Patient.site_id == site_id).order_by(Patient.id).limit(500)).all()
        location = session.scalar(select(Location.id).where(
            Location.site_id == site_id).order_by(Location.id))
        if not patients or location is None:
            return 0
        for back in range(1, days + 1):
            past = day - timedelta(days=back)
            if session.scalar(select(func.count()).select_from(Visit).where(
                    Visit.site_id == site_id, Visit.service_date == past)):
                continue
            number = 0
            for index, provider in enumerate(providers):
                pace = SLOT_MINUTES * (0.85 + 0.1 * (index % 4))  # some quicker, some slower
                first = datetime.combine(past, DAY_START, tzinfo=ctx.tz)
                # (place in line, arrival, appointment, patient)
                line: list[tuple[datetime, datetime, int | None, int | None]] = []
                for slot in range(per_day):
                    start = first + timedelta(minutes=SLOT_MINUTES * slot)
                    external = f"hist-{past.isoformat()}-{provider.id}-{slot}"
                    patient = rng.choice(patients)
                    appointment = Appointment(
                        site_id=site_id, external_id=external, patient_id=patient,
                        provider_id=provider.id, location_id=location, start=start,
                        end=start + timedelta(minutes=SLOT_MINUTES),
                        status=AppointmentStatus.BOOKED,
                        token_tag=tokens.appointment_tag(secret, site_id, external))
                    session.add(appointment)
                    session.flush()
                    if rng.random() < 0.1:
                        continue  # not kept
                    arrival = start + timedelta(minutes=rng.gauss(-8, 8))
                    late = arrival > start + timedelta(minutes=ctx.settings.late_after_minutes)
                    line.append((arrival if late else start, arrival, appointment.id, patient))
                for _ in range(2):  # walk-ins, mostly in the first hours
                    arrival = first + timedelta(minutes=rng.uniform(-20, 120))
                    line.append((arrival, arrival, None, None))
                free = first + timedelta(minutes=rng.expovariate(1 / 4))  # a late start
                for key, arrival, appointment_id, patient_id in sorted(line,
                                                                       key=lambda item: item[0]):
                    number += 1
                    called = max(free, key - timedelta(minutes=5), arrival)
                    minutes = rng.lognormvariate(math.log(pace), 0.45)
                    free = called + timedelta(minutes=minutes)
                    session.add(Visit(
                        site_id=site_id, service_date=past, appointment_id=appointment_id,
                        patient_id=patient_id, provider_id=provider.id, ticket_number=number,
                        ticket_code=f"{ctx.settings.ticket_prefix}-{number}",
                        method=CheckinMethod.STAFF if appointment_id is None
                        else CheckinMethod.QR,
                        language="en", kiosk_id=None, queue_at=key, checked_in_at=arrival,
                        called_at=called, started_at=called, finished_at=free,
                        status=VisitStatus.DONE,
                        arrived_late=appointment_id is not None and key == arrival))
                    added += 1
    return added
