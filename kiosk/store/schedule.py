"""Writing the practice's schedule into the database: locations, providers, patients and
appointments, keyed by their ids in the practice system. Demo data and schedule sync use it.

Inserts are done in bulk (a big practice's day and its patient list load in seconds);
records that exist are updated in place, so loading the same day twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kiosk.domain import tokens
from kiosk.domain.names import name_key, name_keys
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    Location,
    Patient,
    PatientNameKey,
    Provider,
)

CHUNK = 2000
T = TypeVar("T")


@dataclass(frozen=True)
class PatientRecord:
    external_id: str
    given_name: str
    family_name: str
    birth_date: date
    preferred_language: str | None = None
    email: str | None = None
    mobile: str | None = None


@dataclass(frozen=True)
class AppointmentRecord:
    external_id: str
    patient: str       # external ids
    provider: str
    location: str
    start: datetime
    end: datetime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    upstream_version: str | None = None
    upstream_json: str | None = None


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for index in range(0, len(items), size):
        yield items[index:index + size]


def _existing(session: Session, model: Any, site_id: str, ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(ids):
        found.update((row.external_id, row) for row in session.scalars(
            select(model).where(model.site_id == site_id, model.external_id.in_(chunk))))
    return found


def upsert_locations(session: Session, site_id: str,
                     locations: Iterable[tuple[str, str]]) -> dict[str, int]:
    """(external id, name) pairs; returns external id -> row id."""
    wanted = dict(locations)
    found = _existing(session, Location, site_id, list(wanted))
    for external_id, name in wanted.items():
        if external_id in found:
            found[external_id].name = name
        else:
            found[external_id] = Location(site_id=site_id, external_id=external_id, name=name)
            session.add(found[external_id])
    session.flush()
    return {key: row.id for key, row in found.items()}


def upsert_providers(session: Session, site_id: str,
                     providers: Iterable[tuple[str, str]]) -> dict[str, int]:
    """(external id, display name) pairs; returns external id -> row id."""
    wanted = dict(providers)
    found = _existing(session, Provider, site_id, list(wanted))
    for external_id, name in wanted.items():
        if external_id in found:
            found[external_id].display_name = name
        else:
            found[external_id] = Provider(site_id=site_id, external_id=external_id,
                                          display_name=name)
            session.add(found[external_id])
    session.flush()
    return {key: row.id for key, row in found.items()}


def upsert_patients(session: Session, site_id: str,
                    records: Sequence[PatientRecord]) -> dict[str, int]:
    """Insert new patients in bulk, update changed ones; returns external id -> row id."""
    found = _existing(session, Patient, site_id, [r.external_id for r in records])
    ids = {key: row.id for key, row in found.items()}
    new = [r for r in records if r.external_id not in found]
    for chunk in _chunks(new):
        rows = session.execute(
            insert(Patient).returning(Patient.id, Patient.external_id,
                                      sort_by_parameter_order=True),
            [{"site_id": site_id, "external_id": r.external_id, "given_name": r.given_name,
              "family_name": r.family_name, "given_key": name_key(r.given_name),
              "birth_date": r.birth_date, "preferred_language": r.preferred_language,
              "email": r.email, "mobile": r.mobile, "messages_opt_out": False}
             for r in chunk])
        chunk_ids = {external_id: row_id for row_id, external_id in rows}
        ids.update(chunk_ids)
        session.execute(insert(PatientNameKey), [
            {"key": key, "patient_id": chunk_ids[r.external_id]}
            for r in chunk for key in name_keys(r.family_name)])
    for record in records:
        patient = found.get(record.external_id)
        if patient is None:
            continue
        if patient.family_name != record.family_name:
            session.execute(delete(PatientNameKey).where(PatientNameKey.patient_id == patient.id))
            session.add_all(PatientNameKey(key=key, patient_id=patient.id)
                            for key in name_keys(record.family_name))
        patient.given_name = record.given_name
        patient.family_name = record.family_name
        patient.given_key = name_key(record.given_name)
        patient.birth_date = record.birth_date
        patient.preferred_language = record.preferred_language
        patient.email, patient.mobile = record.email, record.mobile  # the opt-out stays
    session.flush()
    return ids


def upsert_appointments(session: Session, site_id: str, secret: bytes,
                        records: Sequence[AppointmentRecord], *, patients: dict[str, int],
                        providers: dict[str, int], locations: dict[str, int]) -> int:
    """Insert or update appointments; returns how many were new."""
    found = _existing(session, Appointment, site_id, [r.external_id for r in records])

    def values(r: AppointmentRecord) -> dict[str, Any]:
        return {"patient_id": patients[r.patient], "provider_id": providers[r.provider],
                "location_id": locations[r.location], "start": r.start, "end": r.end,
                "status": r.status, "upstream_version": r.upstream_version,
                "upstream_json": r.upstream_json}

    new = [r for r in records if r.external_id not in found]
    for chunk in _chunks(new):
        session.execute(insert(Appointment), [
            {"site_id": site_id, "external_id": r.external_id,
             "token_tag": tokens.appointment_tag(secret, site_id, r.external_id), **values(r)}
            for r in chunk])
    for record in records:
        appointment = found.get(record.external_id)
        if appointment is not None:
            for key, value in values(record).items():
                setattr(appointment, key, value)
    session.flush()
    return len(new)
