"""Texts about the queue, for patients who asked for them (the kiosk's "text me" touch, or a
check-in by text): one when they are next in their line, one when they are called, with the
room. They are written to the messages outbox in the same transaction as the queue change
that causes them, so none is lost to a crash and none is written twice (a unique key per
visit and event); ``kiosk.messages`` renders them in the visit's language and sends them.
Nothing is written when the site sends no text messages or the patient opted out."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.store.dialect import upsert_for
from kiosk.store.models import (
    MessageChannel,
    MessageState,
    Patient,
    PatientMessage,
    Visit,
    VisitStatus,
)
from kiosk.store.site import SiteContext

NEXT, CALLED = "next", "called"  # kiosk.messages.render.MessageKind's values


def texts_on(ctx: SiteContext) -> bool:
    return ctx.settings.sms_gateway != "none"


def mobile_ending(patient: Patient | None, ctx: SiteContext) -> str | None:
    """The last two digits of the mobile number a patient can be texted on, to show them
    (never more); None when they cannot be."""
    if patient is None or not texts_on(ctx) or patient.messages_opt_out or not patient.mobile:
        return None
    digits = "".join(ch for ch in patient.mobile if ch.isdigit())
    return digits[-2:] if len(digits) >= 2 else None


def ask_for_texts(session: Session, ctx: SiteContext, visit: Visit) -> bool:
    """The patient asked to be texted when next and when called. False when they cannot be
    (no mobile on record, opted out, no gateway, no longer waiting)."""
    patient = session.get(Patient, visit.patient_id) if visit.patient_id else None
    if visit.status != VisitStatus.WAITING or mobile_ending(patient, ctx) is None:
        return False
    visit.text_when_next = True
    session.flush()
    queue_changed(session, ctx, {visit.provider_id})
    return True


def queue_changed(session: Session, ctx: SiteContext, lines: Iterable[int],
                  called: Visit | None = None) -> int:
    """After a change to ``lines`` (in the change's transaction): the first patient waiting
    in each line who asked is told they are next (once), and ``called`` that they are called.
    Returns how many texts were written."""
    if not texts_on(ctx):
        return 0
    written = 0
    if called is not None and called.text_when_next and called.called_at is not None:
        stamp = called.called_at.strftime("%H%M%S")  # called again after an undo: a new text
        written += _enqueue(session, ctx, called, CALLED, f"visit-{called.id}|called|{stamp}")
    for line in sorted(set(lines)):
        first = session.scalar(
            select(Visit).where(Visit.site_id == ctx.settings.site_id,
                                Visit.service_date == ctx.today(), Visit.provider_id == line,
                                Visit.status == VisitStatus.WAITING)
            .order_by(Visit.queue_at, Visit.ticket_number).limit(1))
        if first is not None and first.text_when_next:
            written += _enqueue(session, ctx, first, NEXT, f"visit-{first.id}|next")
    return written


def _enqueue(session: Session, ctx: SiteContext, visit: Visit, kind: str, key: str) -> int:
    patient = session.get(Patient, visit.patient_id) if visit.patient_id else None
    if patient is None or mobile_ending(patient, ctx) is None:
        return 0
    now: datetime = ctx.now()
    facts: dict[str, Any] = {"kind": kind, "language": visit.language,
                             "practice": ctx.settings.site_name, "ticket": visit.ticket_code,
                             "room": visit.room if kind == CALLED else None}
    written = session.scalar(
        upsert_for(session)(PatientMessage).values(
            site_id=ctx.settings.site_id, key=key, patient_id=patient.id, visit_id=visit.id,
            kind=kind, channel=MessageChannel.SMS, language=visit.language,
            recipient=patient.mobile, facts=facts, created_at=now, due_at=now,
            state=MessageState.PENDING, attempts=0, next_attempt_at=now)
        .on_conflict_do_nothing(index_elements=[PatientMessage.site_id, PatientMessage.key])
        .returning(PatientMessage.id))
    return 0 if written is None else 1
