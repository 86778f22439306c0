"""Answering the texts patients send to the practice's number (through the SMS gateway's
incoming endpoint, :mod:`kiosk.messages.inbound`).

* HERE, or the word in the patient's language (:func:`kiosk.messages.render.here_words`):
  the sender's number and their appointment today at this kiosk's location check them in,
  under the kiosk's rules (opening time, late, cancelled); the answer gives the ticket, the
  place in line and the wait, and they are then texted when next and when called. Two
  patients on one number with an appointment today (twins, a parent's phone): the answer
  asks which, by number, and the reply 1 or 2 checks that one in.
* STOP (or the word in their language): no more messages to any patient on that number.
* A number the practice does not know, or without an appointment today, gets one polite
  answer a day and nothing else; anything else from a known number, one line on what works.

The answer is returned to the gateway, which sends it back as the reply (Kannel's
sms-service, Twilio's TwiML); nothing here keeps the number or the words in a log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, select

from kiosk.base.clock import local_day_bounds
from kiosk.messages.outbox import set_opt_out
from kiosk.messages.render import (
    MessageKind,
    QueueFacts,
    QueueReply,
    here_words,
    render_queue_sms,
    reply_word,
    stop_words,
)
from kiosk.services.checkin import CLOSED_STATUSES, CheckinService
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    Location,
    Patient,
    Visit,
    VisitStatus,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

CHOICE_KEPT = timedelta(minutes=15)  # how long "reply 1 or 2" stays open


@dataclass(frozen=True)
class _Today:
    appointment_id: int
    patient_external_id: str
    given_name: str
    language: str | None


class TextAnswerer:
    """The handler :class:`kiosk.messages.inbound.InboundSms` calls with (sender in E.164,
    text); returns the answer, or None for no answer."""

    def __init__(self, ctx: SiteContext, checkin: CheckinService | None = None) -> None:
        self.ctx = ctx
        self.checkin = checkin or CheckinService(ctx)
        self._lock = threading.Lock()
        self._choices: dict[str, tuple[datetime, list[_Today]]] = {}
        self._unknown_answered: dict[str, date] = {}

    def __call__(self, sender: str, text: str) -> str | None:
        word = reply_word(text)
        word_language = self._language_of(word)
        if word_language is not None and word in stop_words(word_language):
            return self._stop(sender, word_language)
        today = self._appointments_today(sender)
        if not today:
            return self._unknown(sender, word_language)
        language = today[0].language or word_language or self.ctx.settings.default_language
        with self._lock:
            asked = self._choices.get(sender)
            if asked is not None and not timedelta(0) <= self.ctx.now() - asked[0] < CHOICE_KEPT:
                self._choices.pop(sender, None)
                asked = None
        if asked is not None and word.isdigit() and 1 <= int(word) <= len(asked[1]):
            with self._lock:
                self._choices.pop(sender, None)
            chosen = asked[1][int(word) - 1]
            return self._check_in(chosen, chosen.language or language)
        if word_language is None or word not in here_words(word_language):
            log.info("text from a known number: not understood (%d characters)", len(text))
            return self._reply(QueueReply.NOT_UNDERSTOOD, language)
        if len(today) > 1:
            with self._lock:
                self._choices[sender] = (self.ctx.now(), today)
            log.info("text check-in: %d patients on one number, asked which", len(today))
            return render_queue_sms(QueueFacts(
                MessageKind.REPLY, language, self.ctx.settings.site_name,
                reply=QueueReply.WHICH_PATIENT,
                choices=tuple(patient.given_name for patient in today)))
        return self._check_in(today[0], today[0].language or word_language or language)

    # -- the answers -------------------------------------------------------------------------

    def _check_in(self, today: _Today, language: str) -> str:
        result = self.checkin.by_text(today.appointment_id, language=language)
        reply = QueueFacts.from_result(result, language=language,
                                       practice=self.ctx.settings.site_name,
                                       texted_when_next=result.texted_when_next)
        log.info("text check-in: %s%s", result.outcome.value,
                 f" ({result.reason.value})" if result.reason else "")
        return render_queue_sms(reply)

    def _stop(self, sender: str, language: str) -> str:
        patients = self._patients_on(sender)
        for external_id, _preferred in patients:
            set_opt_out(self.ctx, external_id, actor="text-stop")
        log.info("text STOP: %d patients opted out", len(patients))
        preferred = next((lang for _id, lang in patients if lang), None)
        return self._reply(QueueReply.OPTED_OUT, preferred or language)

    def _unknown(self, sender: str, language: str | None) -> str | None:
        """One polite answer a day to a number with no appointment today; then silence."""
        today = self.ctx.today()
        with self._lock:
            if self._unknown_answered.get(sender) == today:
                log.info("text from a number without an appointment today: not answered again")
                return None
            self._unknown_answered[sender] = today
            if len(self._unknown_answered) > 10_000:  # kept bounded: a day's numbers at most
                self._unknown_answered = {number: day for number, day in
                                          self._unknown_answered.items() if day == today}
        log.info("text from a number without an appointment today: answered once")
        return self._reply(QueueReply.NOT_FOUND, language or self.ctx.settings.default_language)

    def _reply(self, reply: QueueReply, language: str) -> str:
        return render_queue_sms(QueueFacts(MessageKind.REPLY, language,
                                           self.ctx.settings.site_name, reply=reply))

    # -- looking up ----------------------------------------------------------------------------

    def _languages(self) -> list[str]:
        settings = self.ctx.settings
        return list(dict.fromkeys((settings.default_language, *settings.languages, "en")))

    def _language_of(self, word: str) -> str | None:
        for language in self._languages():
            if word in here_words(language) or word in stop_words(language):
                return language
        return None

    def _numbers(self, sender: str) -> list[str]:
        """The spellings the sender's number may be stored in: E.164 as the sync keeps it
        when the practice system gives it, else national (0 and the rest) for the site's
        country code."""
        spellings = [sender]
        code = self.ctx.settings.sms_default_country_code
        if code and sender.startswith("+" + code):
            spellings.append("0" + sender[len(code) + 1:])
        return spellings

    def _patients_on(self, sender: str) -> list[tuple[str, str | None]]:
        with self.ctx.db.read() as session:
            return [(external_id, language) for external_id, language in session.execute(
                select(Patient.external_id, Patient.preferred_language).where(
                    Patient.site_id == self.ctx.settings.site_id,
                    Patient.mobile.in_(self._numbers(sender))))]

    def _appointments_today(self, sender: str) -> list[_Today]:
        """Today's appointments at this kiosk's location of the patients on this number (one
        each, the earliest not cancelled first), opted-out patients included: STOP stops
        messages, not check-in."""
        start, end = local_day_bounds(self.ctx.today(), self.ctx.tz)
        with self.ctx.db.read() as session:
            rows = session.execute(
                select(Appointment.id, Patient.external_id, Patient.given_name,
                       Patient.preferred_language, Appointment.status)
                .join(Patient, Patient.id == Appointment.patient_id)
                .join(Location, Location.id == Appointment.location_id)
                .outerjoin(Visit, Visit.appointment_id == Appointment.id)
                .where(Appointment.site_id == self.ctx.settings.site_id,
                       Patient.mobile.in_(self._numbers(sender)),
                       Location.external_id == self.ctx.settings.location_id,
                       Appointment.start >= start, Appointment.start < end)
                # One still to come first: not cancelled or closed, its visit not over (a
                # morning visit done must not hide the afternoon's appointment).
                .order_by(case((Appointment.status.in_((AppointmentStatus.CANCELLED,
                                                        *CLOSED_STATUSES)), 1), else_=0),
                          case((Visit.status.in_((VisitStatus.DONE, VisitStatus.LEFT)), 1),
                               else_=0),
                          Appointment.start)).all()
        found: dict[str, _Today] = {}
        for appointment_id, external_id, given, language, _status in rows:
            found.setdefault(external_id, _Today(appointment_id, external_id, given, language))
        return list(found.values())
