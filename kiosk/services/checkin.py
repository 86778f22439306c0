"""The check-in engine: find today's appointment from a QR code or a name and date of birth,
check the patient in exactly once, and place them in the queue.

Every answer is a :class:`CheckinResult` with one of the outcomes below. What a patient sees
is built from the outcome and reason alone, so two failures for different causes (a wrong name,
a wrong date) look, read and take the same: the kiosk never reveals who has an appointment.
Logs carry outcomes, reasons, kiosk ids and ticket codes; never names, dates of birth or codes.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, contains_eager

from kiosk.base.clock import local_day_bounds
from kiosk.domain import tokens
from kiosk.domain.flow import CheckinRequest
from kiosk.domain.names import full_name, name_keys, search_keys
from kiosk.domain.results import (
    INVALID_CODE,
    NEED_GIVEN_NAME,
    NOT_FOUND,
    CheckinResult,
    Outcome,
    Reason,
    Wait,
)
from kiosk.services.queue import (
    PlaceInQueue,
    next_ticket_number,
    place_of,
    refresh_waits,
    ticket_code,
)
from kiosk.services.queue_texts import ask_for_texts, mobile_ending
from kiosk.services.waits import WaitModel, record_shown, wait_model_for
from kiosk.store.audit import audit
from kiosk.store.changes import mark_changed
from kiosk.store.dialect import upsert_for
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    AuditEvent,
    CheckinMethod,
    FailedAttempt,
    KioskLock,
    Patient,
    PatientNameKey,
    Visit,
    VisitStatus,
)
from kiosk.store.outbox import enqueue as enqueue_arrival
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

# A name search also looks this far ahead, to tell a patient who came on the wrong day.
OTHER_DAY_HORIZON = timedelta(days=60)
# Pauses of name check-in within this long make the next one longer (see _pause_length).
PAUSES_REMEMBERED = timedelta(hours=1)
# Failures across every kiosk id, in lockout_window_minutes, that pause name check-in for the
# whole site: the engine takes the kiosk id its caller gives, and a caller that changes it at
# every try must not escape the pause (README, "Lock-out: the threat model").
SITE_CEILING_FACTOR = 4


CLOSED_STATUSES = (AppointmentStatus.NOSHOW, AppointmentStatus.FULFILLED)


class CheckinService:
    def __init__(self, ctx: SiteContext, model: WaitModel | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.model = model or wait_model_for(ctx)

    # -- by QR code --------------------------------------------------------------------------

    def answer(self, request: CheckinRequest, kiosk_id: str) -> CheckinResult:
        """Put a kiosk's request (a scan, or a name and birth date) to the engine; the kiosk
        runs this off its GUI thread."""
        if request.qr is not None:
            return self.by_qr(request.qr, kiosk_id=kiosk_id, language=request.language)
        assert request.family is not None and request.birth_date is not None
        return self.by_name(request.family, request.birth_date, given=request.given,
                            kiosk_id=kiosk_id, language=request.language)

    def by_qr(self, payload: str, *, kiosk_id: str | None = None,
              language: str | None = None) -> CheckinResult:
        return self._counted(CheckinMethod.QR, self._with_wait(
            self._by_qr(payload, kiosk_id=kiosk_id, language=language)))

    def _by_qr(self, payload: str, *, kiosk_id: str | None,
               language: str | None) -> CheckinResult:
        kiosk_id = kiosk_id or self.settings.kiosk_id
        try:
            claims = tokens.verify(payload, self.ctx.qr_secret, self.settings.site_id)
        except tokens.InvalidToken as why:
            log.info("kiosk %s: QR code rejected (%s)", kiosk_id, why)
            return INVALID_CODE
        if claims.day != self.ctx.today():
            log.info("kiosk %s: QR code rejected (issued for another day)", kiosk_id)
            return INVALID_CODE
        with self.ctx.db.write() as session:
            appointment = session.scalar(
                self._appointments().where(Appointment.site_id == self.settings.site_id,
                                           Appointment.token_tag == claims.tag))
            if appointment is None:
                log.info("kiosk %s: QR code rejected (no such appointment)", kiosk_id)
                return INVALID_CODE
            return self._check_in(session, appointment, CheckinMethod.QR, kiosk_id, language)

    # -- by name and date of birth -----------------------------------------------------------

    def by_name(self, family: str, birth_date: date, *, given: str | None = None,
                kiosk_id: str | None = None, language: str | None = None) -> CheckinResult:
        return self._counted(CheckinMethod.NAME_DOB, self._with_wait(self._by_name(
            family, birth_date, given=given, kiosk_id=kiosk_id, language=language)))

    def _by_name(self, family: str, birth_date: date, *, given: str | None,
                 kiosk_id: str | None, language: str | None) -> CheckinResult:
        kiosk_id = kiosk_id or self.settings.kiosk_id
        now = self.ctx.now()
        today = self.ctx.today()
        with self.ctx.db.write() as session:
            paused_until = self._paused_until(session, kiosk_id, now)
            if paused_until is not None:
                log.info("kiosk %s: name check-in refused (paused)", kiosk_id)
                return CheckinResult(Outcome.LOCKED, retry_at=self.ctx.local(paused_until))
            # The same two queries whatever was mistyped: the same work, and so the same time,
            # for a wrong name as for a wrong date. Patients first, then their appointments:
            # both use an index whatever the planner knows of the data.
            patient_ids = list(session.scalars(
                select(Patient.id)
                .join(PatientNameKey, PatientNameKey.patient_id == Patient.id)
                .where(PatientNameKey.key.in_(sorted(search_keys(family))),
                       Patient.birth_date == birth_date,
                       Patient.site_id == self.settings.site_id)
                .distinct()))
            day_start, _ = local_day_bounds(today, self.ctx.tz)
            candidates = list(session.scalars(
                self._appointments()
                .where(
                    Appointment.patient_id.in_(patient_ids),
                    Appointment.start >= day_start,
                    Appointment.start < day_start + OTHER_DAY_HORIZON)
                .order_by(Appointment.start)))
            if given is None and len(set(patient_ids)) > 1:
                # Twins (or namesakes) share these: whoever has an appointment today, only the
                # given name tells which of them is at the kiosk.
                log.info("kiosk %s: name check-in needs the given name", kiosk_id)
                return NEED_GIVEN_NAME
            if given is not None:
                # Among everyone the family name and birth date found, appointment or not:
                # a given name that fits more than one of them (伟 and 薇 are both Wei) does
                # not tell them apart, and the kiosk must not pick one.
                wanted = search_keys(given, family=False)
                fitting = {patient_id for patient_id, recorded in session.execute(
                    select(Patient.id, Patient.given_name).where(Patient.id.in_(patient_ids)))
                    if wanted & name_keys(recorded, family=False)}
                if len(fitting) > 1:
                    log.info("kiosk %s: name check-in ambiguous even with given name", kiosk_id)
                    return CheckinResult(Outcome.SEE_RECEPTION, Reason.AMBIGUOUS)
                candidates = [a for a in candidates if a.patient_id in fitting]

            todays = [a for a in candidates if self.ctx.local(a.start).date() == today]
            if len({a.patient_id for a in todays}) > 1:
                log.info("kiosk %s: name check-in ambiguous even with given name", kiosk_id)
                return CheckinResult(Outcome.SEE_RECEPTION, Reason.AMBIGUOUS)
            if not todays:
                if candidates:
                    return self._other_day(candidates[0], kiosk_id)
                return self._fail(session, kiosk_id, now)
            chosen = _best_of(todays, self.settings.location_id, now,
                              timedelta(minutes=self.settings.checkin_opens_minutes),
                              timedelta(minutes=self.settings.late_after_minutes))
            return self._check_in(session, chosen, CheckinMethod.NAME_DOB, kiosk_id, language)

    def _site_key(self) -> str:
        return f"site:{self.settings.site_id}"[:64]

    def _paused_until(self, session: Session, kiosk_id: str, now: datetime) -> datetime | None:
        until = [lock.locked_until for key in (kiosk_id, self._site_key())
                 if (lock := session.get(KioskLock, key)) is not None
                 and lock.locked_until > now]
        return max(until) if until else None

    def _pause_length(self, session: Session, kiosk_id: str, now: datetime) -> timedelta:
        """The first pause is ``lockout_minutes`` long; each further pause within the hour
        doubles it, up to ``lockout_max_minutes``. An honest patient after one person's typos
        waits a couple of minutes at most; someone guessing dates gets fewer than 30 tries
        an hour (README, "Lock-out")."""
        settings = self.settings
        earlier = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "kiosk_locked", AuditEvent.actor == kiosk_id,
            AuditEvent.at > now - PAUSES_REMEMBERED)) or 0
        minutes = min(settings.lockout_minutes * 2 ** min(earlier, 16),
                      max(settings.lockout_max_minutes, settings.lockout_minutes))
        return timedelta(minutes=minutes)

    def _fail(self, session: Session, kiosk_id: str, now: datetime) -> CheckinResult:
        """Count a failed attempt; enough of them in the window pause name check-in on the
        kiosk (the patient is told until when, and that scanning the code works meanwhile)."""
        settings = self.settings
        session.add(FailedAttempt(kiosk_id=kiosk_id, at=now))
        session.flush()
        since = now - timedelta(minutes=settings.lockout_window_minutes)
        session.execute(delete(FailedAttempt).where(FailedAttempt.at <= since))
        failures = session.scalar(select(func.count()).select_from(FailedAttempt).where(
            FailedAttempt.kiosk_id == kiosk_id, FailedAttempt.at > since)) or 0
        if failures >= settings.lockout_attempts:
            # The pause spends these failures: after it, the count starts again.
            session.execute(delete(FailedAttempt).where(FailedAttempt.kiosk_id == kiosk_id))
            return self._pause(session, kiosk_id, now, failures)
        everywhere = session.scalar(select(func.count()).select_from(FailedAttempt).where(
            FailedAttempt.at > since)) or 0
        if everywhere >= settings.lockout_attempts * SITE_CEILING_FACTOR:
            session.execute(delete(FailedAttempt).where(FailedAttempt.at <= now))
            return self._pause(session, self._site_key(), now, everywhere)
        log.info("kiosk %s: name check-in not found", kiosk_id)
        return NOT_FOUND

    def _pause(self, session: Session, key: str, now: datetime,
               failures: int) -> CheckinResult:
        """Pause name check-in for ``key`` (a kiosk, or the whole site)."""
        pause = self._pause_length(session, key, now)
        until = now + pause
        # One statement, not get-then-add: the site's key is shared by every kiosk, and two
        # of them may pause it at once.
        insert = upsert_for(session)
        session.execute(insert(KioskLock).values(kiosk_id=key, locked_until=until)
                        .on_conflict_do_update(index_elements=[KioskLock.kiosk_id],
                                               set_={"locked_until": until}))
        minutes = int(pause.total_seconds() // 60)
        log.warning("%s: name check-in paused for %d minutes after %d failed attempts (codes "
                    "still work)", key if key == self._site_key() else f"kiosk {key}",
                    minutes, failures)
        audit(session, self.ctx, key, "kiosk_locked", failures=failures, minutes=minutes)
        return CheckinResult(Outcome.LOCKED, retry_at=self.ctx.local(until))

    def _other_day(self, appointment: Appointment, kiosk_id: str) -> CheckinResult:
        log.info("kiosk %s: appointment is on another day", kiosk_id)
        return CheckinResult(Outcome.SEE_RECEPTION, Reason.OTHER_DAY,
                             appointment_day=self.ctx.local(appointment.start).date())

    # -- shared ------------------------------------------------------------------------------

    def _counted(self, method: CheckinMethod, result: CheckinResult) -> CheckinResult:
        reason = result.reason.value if result.reason else ""
        self.ctx.metrics.checkin_attempts.labels(method.value, result.outcome.value,
                                                 reason).inc()
        return result

    @staticmethod
    def _appointments() -> Any:
        return (
            select(Appointment)
            .join(Appointment.patient).join(Appointment.provider).join(Appointment.location)
            .outerjoin(Appointment.visit)
            .options(contains_eager(Appointment.patient), contains_eager(Appointment.provider),
                     contains_eager(Appointment.location), contains_eager(Appointment.visit))
        )

    def _check_in(self, session: Session, appointment: Appointment, method: CheckinMethod,
                  kiosk_id: str, language: str | None, *, by_staff: bool = False
                  ) -> CheckinResult:
        settings, ctx = self.settings, self.ctx
        now = ctx.now()
        language = language or settings.default_language
        start = appointment.start
        late = now > start + timedelta(minutes=settings.late_after_minutes)

        def result(outcome: Outcome, reason: Reason | None = None, **extra: Any) -> CheckinResult:
            log.info("kiosk %s: %s%s (appointment %d)", kiosk_id, outcome.value,
                     f" ({reason.value})" if reason else "", appointment.id)
            patient = appointment.patient
            return CheckinResult(outcome, reason, given_name=patient.given_name,
                                 full_name=full_name(patient.given_name, patient.family_name,
                                                     patient.preferred_language or language),
                                 provider=appointment.provider.display_name, **extra)

        if appointment.visit is not None:
            return self._placed(session, result, Outcome.ALREADY_CHECKED_IN, None,
                                appointment.visit)
        if appointment.status == AppointmentStatus.CANCELLED:
            return result(Outcome.SEE_RECEPTION, Reason.CANCELLED)
        if appointment.status in CLOSED_STATUSES:
            return result(Outcome.SEE_RECEPTION, Reason.CLOSED)
        if not by_staff:
            if appointment.location.external_id != settings.location_id:
                return result(Outcome.SEE_RECEPTION, Reason.OTHER_LOCATION,
                              location=appointment.location.name)
            if ctx.local(start).date() != ctx.today():
                return result(Outcome.SEE_RECEPTION, Reason.OTHER_DAY,
                              appointment_day=ctx.local(start).date())
            opens_at = start - timedelta(minutes=settings.checkin_opens_minutes)
            if now < opens_at:
                return result(Outcome.TOO_EARLY, opens_at=ctx.local(opens_at))

        day = ctx.today()
        # The unique constraint on visit.appointment_id decides races between kiosks: the
        # loser's insert does nothing, its savepoint gives back the ticket number it took,
        # and it reports the winner's ticket.
        savepoint = session.begin_nested()
        number = next_ticket_number(session, settings.site_id, day)
        visit = session.scalar(
            upsert_for(session)(Visit).values(
                site_id=settings.site_id, service_date=day, appointment_id=appointment.id,
                patient_id=appointment.patient_id, provider_id=appointment.provider_id,
                ticket_number=number, ticket_code=ticket_code(settings.ticket_prefix, number),
                method=method, language=language, kiosk_id=kiosk_id,
                queue_at=now if late else start, checked_in_at=now,
                status=VisitStatus.WAITING, arrived_late=late)
            .on_conflict_do_nothing(index_elements=[Visit.appointment_id])
            .returning(Visit))
        if visit is None:
            savepoint.rollback()
            winner = session.scalars(
                select(Visit).where(Visit.appointment_id == appointment.id)).one()
            log.info("kiosk %s: lost a check-in race; the other kiosk's ticket stands", kiosk_id)
            return self._placed(session, result, Outcome.ALREADY_CHECKED_IN, None, winner)
        savepoint.commit()
        mark_changed(session, settings.site_id)  # an INSERT the ORM does not track

        if appointment.status == AppointmentStatus.BOOKED:
            appointment.status = AppointmentStatus.ARRIVED
        enqueue_arrival(session, ctx, appointment)  # written back upstream by the sync worker
        audit(session, ctx, kiosk_id, "check_in", visit_id=visit.id,
              appointment_id=appointment.id, method=method.value, late=late, language=language)
        session.flush()
        outcome, reason = ((Outcome.SEE_RECEPTION, Reason.LATE) if late and not by_staff
                           else (Outcome.CHECKED_IN, None))
        return self._placed(session, result, outcome, reason, visit)

    def _placed(self, session: Session, result: Any, outcome: Outcome, reason: Reason | None,
                visit: Visit) -> CheckinResult:
        place: PlaceInQueue = place_of(session, self.ctx, visit)
        patient = session.get(Patient, visit.patient_id) if visit.patient_id else None
        ending = None if visit.text_when_next or place.position is None \
            else mobile_ending(patient, self.ctx)
        checked: CheckinResult = result(outcome, reason, ticket=visit.ticket_code,
                                        position=place.position, visit_id=visit.id,
                                        provider_id=visit.provider_id, mobile_ending=ending)
        return checked

    def _with_wait(self, placed: CheckinResult) -> CheckinResult:
        """The wait, once the check-in is committed: the lobby is replayed once, outside the
        check-in's transaction (no other kiosk waits for it), and stored for every window; a
        new check-in's estimate is recorded against the wait that will follow."""
        if placed.visit_id is None or placed.position is None:
            return placed
        visit_id, shown_at = placed.visit_id, self.ctx.now()
        new = placed.outcome is not Outcome.ALREADY_CHECKED_IN

        line = placed.provider_id
        if line is None:
            return placed

        def record(session: Session, waits: dict[int, Wait]) -> None:
            if new:
                record_shown(session, visit_id, line, shown_at, waits.get(visit_id))

        waits = refresh_waits(self.ctx, self.model, self.ctx.today(), {line}, record)
        return replace(placed, wait=waits.get(visit_id))

    # -- by text message ---------------------------------------------------------------------

    def by_text(self, appointment_id: int, *, language: str | None = None) -> CheckinResult:
        """A patient's HERE from the mobile number on record, for their appointment today at
        this location: the kiosk's rules, as for a scan (the number is the proof, as the code
        is). They are then texted when they are next and when they are called."""
        def check_in() -> CheckinResult:
            with self.ctx.db.write() as session:
                appointment = session.scalar(self._appointments().where(
                    Appointment.site_id == self.settings.site_id,
                    Appointment.id == appointment_id))
                if appointment is None:
                    return NOT_FOUND
                result = self._check_in(session, appointment, CheckinMethod.TEXT, "text",
                                        language)
                # New or already checked in (at a kiosk, or a HERE sent twice): the number on
                # record asked, so the texts are set up; the reply promises them only if so.
                if result.position is not None and result.visit_id is not None:
                    visit = session.get(Visit, result.visit_id)
                    if visit is not None and (visit.text_when_next
                                              or ask_for_texts(session, self.ctx, visit)):
                        result = replace(result, texted_when_next=True)
                return result
        return self._counted(CheckinMethod.TEXT, self._with_wait(check_in()))

    def text_me(self, visit_id: int) -> bool:
        """The patient touched "Text me when it is my turn" on the result screen. False when
        they cannot be texted (no mobile on record, opted out, no longer waiting)."""
        with self.ctx.db.write() as session:
            visit = session.get(Visit, visit_id)
            if visit is None or visit.site_id != self.settings.site_id:
                return False
            asked = ask_for_texts(session, self.ctx, visit)
        log.info("visit %d: %s", visit_id, "texts asked for" if asked else
                 "texts asked for, but the patient cannot be texted")
        return asked

    # -- for reception -----------------------------------------------------------------------

    def by_staff(self, appointment_external_id: str, *, actor: str,
                 language: str | None = None) -> CheckinResult:
        """Reception checks a patient in: no opening-time, lateness or location refusals."""
        return self._with_wait(self._by_staff(appointment_external_id, actor=actor,
                                              language=language))

    def _by_staff(self, appointment_external_id: str, *, actor: str,
                  language: str | None) -> CheckinResult:
        with self.ctx.db.write() as session:
            appointment = session.scalar(self._appointments().where(
                Appointment.site_id == self.settings.site_id,
                Appointment.external_id == appointment_external_id))
            if appointment is None:
                return NOT_FOUND
            return self._check_in(session, appointment, CheckinMethod.STAFF, actor, language,
                                  by_staff=True)


def _best_of(appointments: list[Appointment], location_id: str, now: datetime,
             opens: timedelta, late: timedelta) -> Appointment:
    """Of one patient's appointments today, the one to check in: not yet checked in, still
    open, here, and the one whose check-in window holds now (else the nearest in time).
    With all of them checked in, the latest one answers (already checked in)."""
    def rank(appointment: Appointment) -> tuple[bool, bool, bool, float]:
        closed = appointment.status in (AppointmentStatus.CANCELLED, *CLOSED_STATUSES)
        start = appointment.start
        in_window = start - opens <= now <= start + late
        distance = 0.0 if in_window else abs((start - now).total_seconds())
        return (appointment.visit is not None, closed,
                appointment.location.external_id != location_id, distance)
    if all(appointment.visit is not None for appointment in appointments):
        return max(appointments, key=lambda appointment: appointment.start)
    return min(appointments, key=rank)

