"""Pull the practice's schedule: today's and tomorrow's appointments at the site's locations,
and the patients and practitioners they reference (fetched in batches by ``_id``).

A full pull reads the whole window (``date=ge...&date=lt...`` with the practice's offset); an
incremental one asks only for what changed (``_lastUpdated=ge<watermark>``) when the server's
CapabilityStatement offers it, and is replaced by a full pull every ``FULL_PULL_EVERY`` and at
the start of each day. A resource the kiosk cannot use (no start, no birth date, an unknown
status) is skipped with a log line; the rest of the sync carries on. Nothing is written until
every page has been read, so a failed pull leaves the stored schedule as it was.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from kiosk.base.clock import local_day_bounds
from kiosk.messages.outbox import AppointmentChange, appointment_changed
from kiosk.store.audit import audit
from kiosk.store.models import Appointment, AppointmentStatus, SyncStatus, Visit
from kiosk.store.schedule import (
    AppointmentRecord,
    PatientRecord,
    upsert_appointments,
    upsert_locations,
    upsert_patients,
    upsert_providers,
)
from kiosk.store.site import SiteContext
from kiosk.sync.client import BadAnswer, FhirClient, Refused

log = logging.getLogger(__name__)

FULL_PULL_EVERY = timedelta(minutes=30)
ID_BATCH = 100  # ids per Patient?_id=... request

STATUSES = {
    "proposed": AppointmentStatus.BOOKED, "pending": AppointmentStatus.BOOKED,
    "booked": AppointmentStatus.BOOKED, "arrived": AppointmentStatus.ARRIVED,
    "checked-in": AppointmentStatus.CHECKED_IN, "fulfilled": AppointmentStatus.FULFILLED,
    "cancelled": AppointmentStatus.CANCELLED, "noshow": AppointmentStatus.NOSHOW,
    "entered-in-error": AppointmentStatus.CANCELLED,
}


@dataclass
class PullResult:
    incremental: bool = False
    appointments: int = 0        # received and stored
    new: int = 0
    patients: int = 0
    practitioners: int = 0
    skipped: int = 0             # resources the kiosk could not use (logged)
    removed: int = 0             # cancelled upstream in this pull
    flagged: int = 0             # checked in here, cancelled upstream: flagged for reception


def locations_of(ctx: SiteContext) -> tuple[str, ...]:
    return ctx.settings.fhir_location or (f"Location/{ctx.settings.location_id}",)


def offers_last_updated(capabilities: dict[str, Any]) -> bool:
    for rest in capabilities.get("rest") or []:
        for resource in rest.get("resource") or [] if isinstance(rest, dict) else []:
            if isinstance(resource, dict) and resource.get("type") == "Appointment":
                return any(isinstance(p, dict) and p.get("name") == "_lastUpdated"
                           for p in resource.get("searchParam") or [])
    return False


def pull(ctx: SiteContext, client: FhirClient, *, full: bool = False) -> PullResult:
    settings = ctx.settings
    now, today = ctx.now(), ctx.today()
    secret = ctx.qr_secret
    with ctx.db.read() as session:
        status = session.get(SyncStatus, settings.site_id)
        watermark = status.watermark if status else None
        last_full = status.last_full_pull_at if status else None
        window_start = status.window_start if status else None
    incremental = (not full and watermark is not None and window_start == today
                   and last_full is not None and now - last_full < FULL_PULL_EVERY
                   and offers_last_updated(client.capabilities()))
    result = PullResult(incremental=incremental)
    start, _ = local_day_bounds(today, ctx.tz)
    end, _ = local_day_bounds(today + timedelta(days=2), ctx.tz)
    window = (start.astimezone(ctx.tz), end.astimezone(ctx.tz))

    appointments: dict[str, dict[str, Any]] = {}
    for reference in locations_of(ctx):
        params: dict[str, Any] = {"location": reference, "_count": settings.fhir_page_size}
        if incremental:
            params["_lastUpdated"] = f"ge{watermark}"
        else:
            params["date"] = [f"ge{window[0].isoformat()}", f"lt{window[1].isoformat()}"]
        for bundle in client.pages("Appointment", params):
            for resource in _entries(bundle, "Appointment"):
                appointments[resource["id"]] = resource

    parsed = {}
    for appointment_id, resource in appointments.items():
        mapped = _appointment(resource, locations_of(ctx), settings.consultation_minutes)
        if mapped is None:
            result.skipped += 1
            continue
        parsed[appointment_id] = mapped

    with ctx.db.read() as session:
        known = set(session.scalars(select(Appointment.external_id).where(
            Appointment.site_id == settings.site_id,
            Appointment.external_id.in_(list(parsed) or [""]))))
    # An incremental pull sees changes anywhere in time: keep the window, and moves of ones
    # already here (rescheduled to another day).
    parsed = {key: value for key, value in parsed.items()
              if window[0] <= value["start"] < window[1] or key in known}

    patients = _fetch(client, "Patient", {v["patient"] for v in parsed.values()})
    practitioners = _fetch(client, "Practitioner", {v["provider"] for v in parsed.values()})
    locations = {reference.split("/", 1)[1]: _location_name(client, reference)
                 for reference in locations_of(ctx)}

    patient_records = {}
    for patient_id, resource in patients.items():
        record = _patient(resource, settings.languages)
        if record is None:
            result.skipped += 1  # their appointments are skipped below, by appointment id
            continue
        patient_records[patient_id] = record
    if len(patient_records) < len(patients):
        log.warning("sync: %d patients skipped: no usable name or birth date",
                    len(patients) - len(patient_records))
    providers = {key: _practitioner_name(resource) for key, resource in practitioners.items()}
    records = []
    for appointment_id, value in parsed.items():
        if value["patient"] not in patient_records or value["provider"] not in providers:
            result.skipped += 1
            log.warning("sync: Appointment %s skipped: its patient or practitioner is missing "
                        "upstream", appointment_id)
            continue
        records.append(value)

    with ctx.db.write() as session:
        result.new, result.flagged, result.removed = _store(
            session, ctx, secret, records, patient_records, providers, locations)
        newest = max((v["last_updated"] for v in records if v["last_updated"]), default=None)
        state = session.get(SyncStatus, settings.site_id) or SyncStatus(site_id=settings.site_id)
        session.add(state)
        if newest is not None and (state.watermark is None or newest > state.watermark):
            state.watermark = newest
        if not incremental:
            state.last_full_pull_at = now
            state.window_start = today
    result.appointments = len(records)
    result.patients, result.practitioners = len(patient_records), len(providers)
    return result


def _entries(bundle: dict[str, Any], resource_type: str) -> Iterable[dict[str, Any]]:
    entries = bundle.get("entry")
    if entries is None:
        return  # an empty page may leave out "entry"
    if not isinstance(entries, list):
        raise BadAnswer("a Bundle whose entry is not a list")
    for entry in entries:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
            continue  # OperationOutcome entries (search warnings), included resources
        if isinstance(resource.get("id"), str) and resource["id"]:
            yield resource


def _reference(resource: dict[str, Any], kind: str) -> list[str]:
    found = []
    for participant in resource.get("participant") or []:
        actor = participant.get("actor") if isinstance(participant, dict) else None
        reference = actor.get("reference") if isinstance(actor, dict) else None
        if isinstance(reference, str) and reference.startswith(kind + "/"):
            found.append(reference.split("/", 1)[1].split("/")[0])
    return found


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None  # FHIR instants carry an offset


def _appointment(resource: dict[str, Any], locations: tuple[str, ...], minutes: float
                 ) -> dict[str, Any] | None:
    appointment_id = resource["id"]
    status = STATUSES.get(str(resource.get("status")))
    start = _instant(resource.get("start"))
    end = _instant(resource.get("end"))
    patients, providers = _reference(resource, "Patient"), _reference(resource, "Practitioner")
    here = [ref for ref in _reference(resource, "Location") if f"Location/{ref}" in locations]
    problem = ("unknown status" if status is None else "no start with a time zone"
               if start is None else "no patient" if not patients
               else "no practitioner" if not providers else "not at this site's locations"
               if not here else None)
    if problem is not None:
        log.warning("sync: Appointment %s skipped: %s", appointment_id, problem)
        return None
    assert start is not None and status is not None
    meta: dict[str, Any] = resource["meta"] if isinstance(resource.get("meta"), dict) else {}
    last_updated = _instant(meta.get("lastUpdated"))
    return {"id": appointment_id, "status": status, "start": start,
            "end": end if end is not None and end > start else start + timedelta(minutes=minutes),
            "patient": patients[0], "provider": providers[0], "location": here[0],
            "version": meta.get("versionId"),
            "last_updated": last_updated.isoformat() if last_updated else None,
            "json": json.dumps(resource, separators=(",", ":"))}


def _fetch(client: FhirClient, resource_type: str, ids: set[str]) -> dict[str, dict[str, Any]]:
    """Resources by id, ``ID_BATCH`` ids a request (following pages if the server pages)."""
    found: dict[str, dict[str, Any]] = {}
    wanted = sorted(ids)
    for index in range(0, len(wanted), ID_BATCH):
        batch = wanted[index:index + ID_BATCH]
        params = {"_id": ",".join(batch), "_count": len(batch)}
        for bundle in client.pages(resource_type, params):
            for resource in _entries(bundle, resource_type):
                found[resource["id"]] = resource
            if found.keys() >= set(batch):
                break  # all there: a "next" link would only bring an empty page
    return found


def _location_name(client: FhirClient, reference: str) -> str:
    try:
        name = client.get(reference).resource.get("name")
    except (Refused, BadAnswer):
        name = None
    return name if isinstance(name, str) and name else reference.split("/", 1)[1]


def _human_name(names: Any) -> dict[str, Any] | None:
    if not isinstance(names, list):
        return None
    usable = [n for n in names if isinstance(n, dict)]
    official = [n for n in usable if n.get("use") == "official"]
    chosen = official or usable
    return chosen[0] if chosen else None


def _patient(resource: dict[str, Any], languages: tuple[str, ...]) -> PatientRecord | None:
    name = _human_name(resource.get("name"))
    birth = resource.get("birthDate")
    if name is None or not isinstance(birth, str) or len(birth) != 10:
        return None
    family = str(name["family"]) if isinstance(name.get("family"), str) else ""
    given = " ".join(g for g in name.get("given") or [] if isinstance(g, str))
    try:
        birth_date = date.fromisoformat(birth)
    except ValueError:
        return None
    if not family.strip() or not given.strip():
        return None
    email, mobile = _contacts(resource.get("telecom"))
    return PatientRecord(resource["id"], given.strip()[:200], family.strip()[:200], birth_date,
                         _language(resource, languages), email, mobile)


def _contacts(telecom: Any) -> tuple[str | None, str | None]:
    """(email, mobile) from Patient.telecom: system email; system sms, or phone with use
    mobile. The best ranked of each (rank 1 first, then in order); an old one is never used."""
    usable = [point for point in telecom if isinstance(point, dict)
              and isinstance(point.get("value"), str) and point.get("use") != "old"] \
        if isinstance(telecom, list) else []
    usable.sort(key=lambda point: point["rank"] if isinstance(point.get("rank"), int)
                else 1 << 30)  # stable: the order given breaks ties
    emails = [point["value"].strip() for point in usable if point.get("system") == "email"]
    mobiles = [point["value"] for point in usable if point.get("system") == "sms"
               or (point.get("system") == "phone" and point.get("use") == "mobile")]
    email = next((value for value in emails
                  if 3 <= len(value) <= 254 and "@" in value.strip("@")
                  and not any(c.isspace() for c in value)), None)
    mobile = next((number for number in map(_phone_number, mobiles) if number), None)
    return email, mobile


def _phone_number(value: str) -> str | None:
    """A number as digits (with a leading + when it has one), or None if it is not one."""
    digits = "".join(c for c in value if c.isdigit())
    if not 6 <= len(digits) <= 15 or any(c.isalpha() for c in value):
        return None
    return ("+" if value.strip().startswith("+") else "") + digits


def _language(resource: dict[str, Any], languages: tuple[str, ...]) -> str | None:
    """The patient's preferred language as a kiosk language code, if the kiosk offers it:
    communications marked preferred first, then the others in their order."""
    listed = resource.get("communication")
    communications = [c for c in listed if isinstance(c, dict)] \
        if isinstance(listed, list) else []
    communications.sort(key=lambda c: c.get("preferred") is not True)
    for communication in communications:
        codings = (communication.get("language") or {}).get("coding") or []
        for coding in codings:
            code = str(coding.get("code") or "") if isinstance(coding, dict) else ""
            lowered = code.replace("_", "-").lower()
            if lowered in ("zh-tw", "zh-hk", "zh-hant"):
                candidate = "zh_Hant"
            elif lowered.startswith("zh"):
                candidate = "zh_Hans"
            else:
                candidate = lowered.split("-")[0]
            if candidate in languages and (communication.get("preferred") or len(codings) == 1):
                return candidate
    return None


def _practitioner_name(resource: dict[str, Any]) -> str:
    name = _human_name(resource.get("name")) or {}
    if isinstance(name.get("text"), str) and name["text"].strip():
        return str(name["text"]).strip()[:200]
    parts = [*(p for p in name.get("prefix") or [] if isinstance(p, str)),
             *(g for g in name.get("given") or [] if isinstance(g, str))]
    if isinstance(name.get("family"), str):
        parts.append(name["family"])
    return " ".join(parts).strip()[:200] or f"Practitioner {resource['id']}"


def _store(session: Session, ctx: SiteContext, secret: bytes, records: list[dict[str, Any]],
           patients: dict[str, PatientRecord], providers: dict[str, str],
           locations: dict[str, str]) -> tuple[int, int, int]:
    """Write one pull; returns (new appointments, flagged for reception, removed)."""
    site_id = ctx.settings.site_id
    existing = {row.external_id: row for row in session.execute(
        select(Appointment.external_id, Appointment.id, Appointment.status, Appointment.start,
               Visit.id.label("visit"))
        .outerjoin(Visit, Visit.appointment_id == Appointment.id)
        .where(Appointment.site_id == site_id,
               Appointment.external_id.in_([r["id"] for r in records] or [""])))}
    location_ids = upsert_locations(session, site_id, locations.items())
    provider_ids = upsert_providers(session, site_id, providers.items())
    used = {r["patient"] for r in records}
    patient_ids = upsert_patients(session, site_id, [p for k, p in patients.items() if k in used])
    appointment_records = []
    for r in records:
        status = r["status"]
        here = existing.get(r["id"])
        if here is not None and here.visit is not None and status == AppointmentStatus.BOOKED:
            status = here.status  # checked in here; the write-back may still be on its way
        appointment_records.append(AppointmentRecord(
            r["id"], r["patient"], r["provider"], r["location"], r["start"], r["end"], status,
            r["version"], r["json"]))
    new = upsert_appointments(session, site_id, secret, appointment_records,
                              patients=patient_ids, providers=provider_ids,
                              locations=location_ids)
    # Messages to patients the changes call for, in this same transaction.
    stored = {row.external_id: row.id for row in session.execute(
        select(Appointment.external_id, Appointment.id).where(
            Appointment.site_id == site_id,
            Appointment.external_id.in_([r.external_id for r in appointment_records] or [""])))}
    appointment_changed(session, ctx, [
        AppointmentChange(stored[r.external_id], before.start if before else None,
                          before.status if before else None)
        for r in appointment_records
        for before in [existing.get(r.external_id)]
        if before is None or before.start != r.start or before.status != r.status])
    cancelled = [r["id"] for r in records if r["status"] == AppointmentStatus.CANCELLED]
    flagged = flag_cancelled_upstream(session, ctx, Appointment.external_id.in_(cancelled)) \
        if cancelled else 0
    # An appointment missing from a pull is left as it is: FHIR cancels by status, and an
    # empty or partial answer must never empty the lobby's schedule.
    removed = len(cancelled)
    return new, flagged, removed


def flag_cancelled_upstream(session: Session, ctx: SiteContext,
                            which: ColumnElement[bool]) -> int:
    """Patients already checked in whose appointment (``which``, a condition on Appointment)
    was cancelled upstream: flag their visit for reception, never drop it. Returns how many."""
    visits = session.scalars(
        select(Visit).join(Appointment, Visit.appointment_id == Appointment.id)
        .where(Appointment.site_id == ctx.settings.site_id, which,
               Visit.cancelled_upstream.is_(False))).all()
    for visit in visits:
        visit.cancelled_upstream = True
        audit(session, ctx, "sync", "cancelled_upstream", visit_id=visit.id,
              appointment_id=visit.appointment_id)
        log.warning("sync: visit %d was checked in but its appointment is cancelled upstream: "
                    "flagged for reception", visit.id)
    return len(visits)
