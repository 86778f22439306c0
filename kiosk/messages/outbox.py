"""The messages to patients' outbox: which message an appointment change calls for, written in
the same transaction as the change (the sync's pull, the demo's load), so that a message is
never lost to a crash nor enqueued twice (each row has a unique key).

What is enqueued, per channel the patient has (an email address; a mobile number once a text
message gateway is configured) and the site sends on:

* an appointment first seen booked ahead: a **confirmation** (``send_confirmations``) and a
  **reminder** due ``reminder_hours`` before its start;
* its start moved: the pending ones are withdrawn, a **rescheduled** notice (with the new
  day's code) goes and a new reminder is due; to a patient told nothing about it yet, a
  confirmation instead of the notice;
* cancelled: the pending ones are withdrawn and, to a patient already told about it, a
  **cancelled** notice.

Confirmations and reminders falling in the site's ``quiet_hours`` wait for their end. Nothing
is enqueued for an appointment already begun, nor for a patient who opted out (and what was
pending for them is withdrawn). A message says only what :class:`AppointmentFacts` holds:
never anything clinical. Sending is :mod:`kiosk.messages.sender`'s job.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kiosk.base.settings import Settings
from kiosk.domain import tokens
from kiosk.messages.render import AppointmentFacts, MessageKind
from kiosk.store.audit import audit
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    Location,
    MessageChannel,
    MessageState,
    Patient,
    PatientMessage,
    Provider,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

# Kinds that tell the patient about an appointment (and that a later change makes untrue).
ABOUT_APPOINTMENT = (MessageKind.CONFIRMATION, MessageKind.REMINDER, MessageKind.RESCHEDULED)
QUIET_KINDS = (MessageKind.CONFIRMATION, MessageKind.REMINDER)  # wait for quiet hours' end
TOLD = (MessageState.SENT, MessageState.SENDING, MessageState.PARKED)  # may have reached them


@dataclass(frozen=True)
class AppointmentChange:
    """An appointment as it was before a write (``None``: first seen now), by row id."""

    appointment_id: int
    before_start: datetime | None = None
    before_status: AppointmentStatus | None = None


def channels_for(settings: Settings, patient: Patient) -> list[MessageChannel]:
    """The channels this patient can be reached by and this site sends on."""
    found = []
    if patient.email and settings.smtp_url:
        found.append(MessageChannel.EMAIL)
    if patient.mobile and settings.sms_gateway != "none":
        found.append(MessageChannel.SMS)
    return found


def after_quiet_hours(moment: datetime, tz: ZoneInfo, quiet: str) -> datetime:
    """``moment``, or the end of the quiet hours (``HH:MM-HH:MM``, local) it falls in."""
    if not quiet:
        return moment
    first, last = (time.fromisoformat(part) for part in quiet.split("-"))
    local = moment.astimezone(tz)
    now = local.time().replace(tzinfo=None)
    if first <= last:
        inside, end_day = first <= now < last, local.date()
    else:  # across midnight: 21:00-08:00
        inside = now >= first or now < last
        end_day = local.date() + timedelta(days=1) if now >= first else local.date()
    return datetime.combine(end_day, last, tzinfo=tz) if inside else moment


def message_key(appointment: Appointment, kind: MessageKind, channel: MessageChannel) -> str:
    """One message per appointment, kind, channel and start: the same change seen twice (a
    sync repeated after a crash) enqueues nothing more."""
    return (f"{appointment.external_id}|{kind.value}|{channel.value}|"
            f"{appointment.start.astimezone(ZoneInfo('UTC')):%Y%m%dT%H%MZ}")


def appointment_changed(session: Session, ctx: SiteContext,
                        changes: Sequence[AppointmentChange]) -> int:
    """Enqueue what ``changes`` call for, in the caller's transaction (after the appointments
    are written and flushed). Returns how many messages were enqueued."""
    if not changes:
        return 0
    settings = ctx.settings
    wanted = {change.appointment_id: change for change in changes}
    rows = session.execute(
        select(Appointment, Patient, Provider.display_name, Location.name)
        .join(Patient, Patient.id == Appointment.patient_id)
        .join(Provider, Provider.id == Appointment.provider_id)
        .join(Location, Location.id == Appointment.location_id)
        .where(Appointment.id.in_(list(wanted)))).all()
    relevant = [row for row in rows if _matters(wanted[row[0].id], row[0])]
    if not relevant:
        return 0
    ids = [row[0].id for row in relevant]
    earlier = session.execute(select(
        PatientMessage.appointment_id, PatientMessage.key, PatientMessage.kind,
        PatientMessage.state).where(PatientMessage.appointment_id.in_(ids))).all()
    keys = {row.key for row in earlier}
    told = {row.appointment_id for row in earlier
            if row.state in TOLD and row.kind in ABOUT_APPOINTMENT}
    reschedules: dict[int, int] = {}
    for row in earlier:
        if row.kind == MessageKind.RESCHEDULED:
            reschedules[row.appointment_id] = reschedules.get(row.appointment_id, 0) + 1
    now = ctx.now()
    added = 0
    for appointment, patient, provider, place in relevant:
        change = wanted[appointment.id]
        if change.before_start is not None:
            _withdraw(session, PatientMessage.appointment_id == appointment.id,
                      "the appointment was cancelled"
                      if appointment.status == AppointmentStatus.CANCELLED
                      else "the appointment moved")
        if patient.messages_opt_out or appointment.start <= now:
            continue  # nothing more to them; nothing for an appointment already begun
        kinds: list[tuple[MessageKind, datetime]] = []
        if appointment.status == AppointmentStatus.CANCELLED:
            if appointment.id in told:
                kinds.append((MessageKind.CANCELLED, now))
        else:
            moved = change.before_start is not None and appointment.id in told
            if moved:
                kinds.append((MessageKind.RESCHEDULED, now))
            elif settings.send_confirmations:
                kinds.append((MessageKind.CONFIRMATION, now))
            if settings.reminder_hours:
                kinds.append((MessageKind.REMINDER,
                              appointment.start - timedelta(hours=settings.reminder_hours)))
        sequence = reschedules.get(appointment.id, 0) + (
            1 if any(kind == MessageKind.RESCHEDULED for kind, _ in kinds) else 0)
        language = patient.preferred_language or settings.default_language
        for kind, due in kinds:
            if kind in QUIET_KINDS:
                due = after_quiet_hours(due, ctx.tz, settings.quiet_hours)
            if kind == MessageKind.REMINDER and (due <= now or due >= appointment.start):
                continue  # booked too late for one (the confirmation is enough), or too quiet
            channels = channels_for(settings, patient)
            facts = appointment_facts(ctx, appointment, kind=kind, language=language,
                                      provider=provider, place=place, sequence=sequence,
                                      code_by_email=MessageChannel.EMAIL in channels)
            for channel in channels:
                key = message_key(appointment, kind, channel)
                if key in keys:
                    continue
                keys.add(key)
                session.add(PatientMessage(
                    site_id=settings.site_id, key=key, patient_id=patient.id,
                    appointment_id=appointment.id, kind=kind.value, channel=channel,
                    language=language, recipient=_address(patient, channel),
                    facts=facts_to_json(facts), created_at=now, due_at=max(due, now),
                    state=MessageState.PENDING, attempts=0, next_attempt_at=max(due, now)))
                added += 1
    return added


def _matters(change: AppointmentChange, appointment: Appointment) -> bool:
    """A first sight of a booked appointment, a move, or a cancellation: each ahead of time."""
    booked = appointment.status == AppointmentStatus.BOOKED
    if change.before_start is None:
        return booked
    if appointment.status == AppointmentStatus.CANCELLED:
        return change.before_status != AppointmentStatus.CANCELLED
    return booked and change.before_start != appointment.start


def _address(patient: Patient, channel: MessageChannel) -> str | None:
    return patient.email if channel == MessageChannel.EMAIL else patient.mobile


def appointment_facts(ctx: SiteContext, appointment: Appointment, *, kind: MessageKind,
                      language: str, provider: str, place: str,
                      sequence: int = 0, code_by_email: bool = True) -> AppointmentFacts:
    """What a message about ``appointment`` may say; the code is the one for its (new) day."""
    local_start = ctx.local(appointment.start)
    token = None if kind == MessageKind.CANCELLED else tokens.issue(
        ctx.qr_secret, ctx.settings.site_id, appointment.external_id, local_start.date())
    return AppointmentFacts(
        kind=kind, language=language, practice=ctx.settings.site_name, starts_at=local_start,
        provider=provider, place=place, token=token,
        uid=f"{appointment.external_id}.{ctx.settings.site_id}@lobby-kiosk", sequence=sequence,
        ends_at=ctx.local(appointment.end) if appointment.end > appointment.start else None,
        code_by_email=code_by_email)


def facts_to_json(facts: AppointmentFacts) -> dict[str, Any]:
    return {"kind": facts.kind.value, "language": facts.language, "practice": facts.practice,
            "starts_at": facts.starts_at.isoformat(), "provider": facts.provider,
            "place": facts.place, "token": facts.token, "uid": facts.uid,
            "sequence": facts.sequence,
            "ends_at": facts.ends_at.isoformat() if facts.ends_at else None,
            "code_by_email": facts.code_by_email}


def facts_from_json(data: dict[str, Any], tz: ZoneInfo) -> AppointmentFacts:
    return AppointmentFacts(
        kind=MessageKind(data["kind"]), language=str(data["language"]),
        practice=str(data["practice"]),
        starts_at=datetime.fromisoformat(data["starts_at"]).astimezone(tz),
        provider=str(data["provider"]), place=str(data["place"]),
        token=data.get("token"), uid=str(data["uid"]), sequence=int(data.get("sequence", 0)),
        ends_at=datetime.fromisoformat(data["ends_at"]).astimezone(tz)
        if data.get("ends_at") else None,
        code_by_email=bool(data.get("code_by_email", True)))


def _withdraw(session: Session, which: Any, reason: str) -> int:
    """Pending messages that are no longer true or wanted: kept (and counted), never sent."""
    done = session.execute(
        update(PatientMessage).where(which, PatientMessage.state == MessageState.PENDING)
        .values(state=MessageState.WITHDRAWN, reason=reason),
        execution_options={"synchronize_session": False})
    return int(getattr(done, "rowcount", 0) or 0)


def set_opt_out(ctx: SiteContext, patient_external_id: str, *, opted_out: bool = True,
                actor: str) -> bool:
    """The patient wants no more messages (reception's flag, a reply STOP), or wants them
    again. What is pending for them is withdrawn. False when there is no such patient."""
    with ctx.db.write() as session:
        patient = session.scalar(select(Patient).where(
            Patient.site_id == ctx.settings.site_id,
            Patient.external_id == patient_external_id))
        if patient is None:
            return False
        patient.messages_opt_out = opted_out
        withdrawn = _withdraw(session, PatientMessage.patient_id == patient.id,
                              "the patient opted out") if opted_out else 0
        audit(session, ctx, actor, "messages_opt_out" if opted_out else "messages_opt_in",
              patient=patient.id, withdrawn=withdrawn)
    log.info("messages: patient row %d opted %s (%d pending withdrawn)", patient.id,
             "out" if opted_out else "back in", withdrawn)
    return True


@dataclass(frozen=True)
class ParkedMessage:
    message_id: int
    kind: str
    channel: str
    reason: str
    since: datetime


@dataclass(frozen=True)
class OutboxStatus:
    counts: dict[str, int]            # by state: pending, sending, sent, parked, withdrawn
    parked: list[ParkedMessage]
    oldest_pending_due: datetime | None


def status(ctx: SiteContext, *, parked_limit: int = 50) -> OutboxStatus:
    site = ctx.settings.site_id
    with ctx.db.read() as session:
        rows = session.execute(select(PatientMessage.state, func.count()).where(
            PatientMessage.site_id == site).group_by(PatientMessage.state)).all()
        parked = session.execute(
            select(PatientMessage.id, PatientMessage.kind, PatientMessage.channel,
                   PatientMessage.reason, PatientMessage.next_attempt_at)
            .where(PatientMessage.site_id == site,
                   PatientMessage.state == MessageState.PARKED)
            .order_by(PatientMessage.id.desc()).limit(parked_limit)).all()
        oldest = session.scalar(select(func.min(PatientMessage.due_at)).where(
            PatientMessage.site_id == site, PatientMessage.state == MessageState.PENDING,
            PatientMessage.due_at <= ctx.now()))
    counts = {state.value: 0 for state in MessageState}
    counts.update({state.value: count for state, count in rows})
    return OutboxStatus(counts, [ParkedMessage(row.id, row.kind, row.channel.value,
                                               row.reason or "", row.next_attempt_at)
                                 for row in parked], oldest)
