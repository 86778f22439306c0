"""Patient data does not stay: names, birth dates, contacts (email, mobile), the practice
system's copy of each appointment, and what messages to patients said and to whom, are deleted
once their day is over plus ``retention_days`` (default 1: to the end of the next day); of a
message only its kind, channel, state and times remain, for the counts. What remains of a
visit is anonymous: ticket, provider, times, language and method, for the day report and the
wait estimates. A check-in still waiting to be sent upstream (or refused, for IT to look at)
keeps its appointment for up to :data:`UNSENT_GRACE` more: long enough to mend a server or a
mapping, not so long that a practice system that is gone keeps patient data here for ever.
Then it goes too, and an audit record says so."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    String,
    case,
    delete,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy import cast as sql_cast

from kiosk.base.clock import local_day_bounds
from kiosk.store.audit import audit
from kiosk.store.models import (
    Appointment,
    AuditEvent,
    MessageState,
    OutboxItem,
    OutboxState,
    Patient,
    PatientMessage,
    PatientNameKey,
    Visit,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

# How much longer than retention_days an unsent (pending or refused) check-in keeps its data.
UNSENT_GRACE = timedelta(days=7)


@dataclass(frozen=True)
class Purged:
    appointments: int
    patients: int
    visits_anonymised: int
    kept_for_outbox: int  # appointments past retention whose check-in is not sent yet
    abandoned: int = 0    # ... and past the grace as well: deleted, write-back given up
    messages: int = 0     # messages to patients emptied: address, facts and text gone


def purge(ctx: SiteContext, *, dry_run: bool = False) -> Purged:
    """Deletes what is past retention, in one transaction; a dry run does the same and rolls
    back. Statements select by subquery, not by lists of ids: a site's first purge may cover
    months (and a database takes only so many parameters)."""
    settings = ctx.settings
    site = settings.site_id
    keep_from_day = ctx.today() - timedelta(days=settings.retention_days)
    cutoff, _ = local_day_bounds(keep_from_day, ctx.tz)
    grace_cutoff, _ = local_day_bounds(keep_from_day - UNSENT_GRACE, ctx.tz)
    unsent = exists().where(OutboxItem.appointment_id == Appointment.id,
                            OutboxItem.state.in_((OutboxState.PENDING, OutboxState.PARKED)))
    old = (Appointment.site_id == site, Appointment.start < cutoff)
    doomed = select(Appointment.id).where(*old, ~unsent | (Appointment.start < grace_cutoff))
    with ctx.db.write() as session:

        def run(statement: Any) -> int:
            """A bulk UPDATE or DELETE; how many rows it touched."""
            done = session.execute(statement, execution_options={"synchronize_session": False})
            return cast(CursorResult[Any], done).rowcount

        unsent_old, abandoned = session.execute(
            select(func.count(), func.count().filter(Appointment.start < grace_cutoff))
            .select_from(Appointment).where(*old, unsent)).one()
        if abandoned:
            audit(session, ctx, "retention", "write_back_abandoned",
                  appointments=abandoned, grace_days=UNSENT_GRACE.days)
        visits = run(update(Visit).where(
            Visit.site_id == site, Visit.service_date < keep_from_day,
            Visit.patient_id.is_not(None) | Visit.walk_in_name.is_not(None)
            | Visit.appointment_id.in_(doomed)).values(
            appointment_id=None, patient_id=None, walk_in_name=None))
        run(update(Visit).where(Visit.appointment_id.in_(doomed)).values(appointment_id=None))
        run(update(AuditEvent).where(AuditEvent.appointment_id.in_(doomed))
            .values(appointment_id=None))
        run(delete(OutboxItem).where(OutboxItem.appointment_id.in_(doomed)))
        messages = run(update(PatientMessage).where(
            PatientMessage.site_id == site,
            PatientMessage.appointment_id.in_(doomed)
            | (PatientMessage.appointment_id.is_(None) & (PatientMessage.created_at < cutoff)
               & PatientMessage.recipient.is_not(None))).values(
            recipient=None, facts=None, body=None, patient_id=None, appointment_id=None,
            visit_id=None, key=literal("purged-") + sql_cast(PatientMessage.id, String),
            state=case((PatientMessage.state == MessageState.PENDING, MessageState.WITHDRAWN),
                       else_=PatientMessage.state)))
        appointments = run(delete(Appointment).where(Appointment.id.in_(doomed)))
        orphans = select(Patient.id).where(
            Patient.site_id == site,
            ~exists().where(Appointment.patient_id == Patient.id),
            ~exists().where(Visit.patient_id == Patient.id))
        run(delete(PatientNameKey).where(PatientNameKey.patient_id.in_(orphans)))
        patients = run(delete(Patient).where(Patient.id.in_(orphans)))
        if dry_run:
            session.rollback()
    if not dry_run:
        ctx.db.flush_deleted()  # out of the SQLite file and its log now (README, Privacy)
    result = Purged(appointments, patients, visits, unsent_old - abandoned, abandoned, messages)
    if abandoned:
        log.warning("purge%s: %d check-ins never written back to the practice system are "
                    "given up after %d more days; their patient data goes too",
                    " (dry run)" if dry_run else "", abandoned, UNSENT_GRACE.days)
    log.info("purge%s: %d appointments, %d patients, %d visits made anonymous, %d messages "
             "emptied (before %s); %d kept until their check-in is sent",
             " (dry run)" if dry_run else "", result.appointments, result.patients,
             result.visits_anonymised, result.messages, keep_from_day, result.kept_for_outbox)
    return result
