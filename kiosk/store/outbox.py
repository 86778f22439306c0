"""The outbox's write side: a check-in queues its write-back in its own transaction, and
anyone may count what waits (write-backs, and messages to patients). Sending is
:mod:`kiosk.sync.outbox`'s and :mod:`kiosk.messages.sender`'s job."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.store.models import (
    Appointment,
    MessageState,
    OutboxItem,
    OutboxState,
    PatientMessage,
)
from kiosk.store.site import SiteContext

ARRIVED = "arrived"


def enqueue(session: Session, ctx: SiteContext, appointment: Appointment) -> None:
    """Queue the write-back of a check-in, when this site syncs and the appointment came from
    the practice system. Part of the check-in's transaction."""
    if not ctx.settings.fhir_base_url or appointment.upstream_version is None:
        return
    exists = session.scalar(select(OutboxItem.id).where(
        OutboxItem.appointment_id == appointment.id, OutboxItem.kind == ARRIVED))
    if exists is None:
        now = ctx.now()
        session.add(OutboxItem(site_id=ctx.settings.site_id, kind=ARRIVED,
                               appointment_id=appointment.id, created_at=now,
                               state=OutboxState.PENDING, attempts=0, next_attempt_at=now))


def counts(session: Session, site_id: str) -> dict[str, int]:
    rows = session.execute(select(OutboxItem.state, func.count()).where(
        OutboxItem.site_id == site_id).group_by(OutboxItem.state)).all()
    found = {state.value: 0 for state in OutboxState}
    found.update({state.value: count for state, count in rows})
    return found


def message_counts(session: Session, site_id: str) -> dict[str, int]:
    """Messages to patients by state (kiosk.messages.outbox), for reception and monitoring."""
    rows = session.execute(select(PatientMessage.state, func.count()).where(
        PatientMessage.site_id == site_id).group_by(PatientMessage.state)).all()
    found = {state.value: 0 for state in MessageState}
    found.update({state.value: count for state, count in rows})
    return found
