"""What the check-in engine answers, as plain data: the outcome, its reason, the place and the
wait shown to the patient, and the sentence that tells them, in their language.

What a patient sees is built from the outcome and reason alone, so two failures for different
causes (a wrong name, a wrong date) read the same: the kiosk never reveals who has an
appointment.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kiosk.base.i18n import N_, format_day, format_time, translate
from kiosk.domain.names import GREETED_IN_FULL


@dataclass(frozen=True)
class Wait:
    """Minutes until a patient is likely called: a median and a bound most waits stay under.
    ``known`` is False when there is too little history to say (the kiosk shows no number)."""

    median: int
    upper: int
    known: bool = True
    # The estimator's own (median, upper) before calibration, when it comes from one.
    model: tuple[float, float] | None = None

    def as_json(self) -> dict[str, int]:
        return {"median": self.median, "upper": self.upper}


class Outcome(enum.StrEnum):
    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"
    NEED_GIVEN_NAME = "need_given_name"
    NOT_FOUND = "not_found"
    TOO_EARLY = "too_early"
    SEE_RECEPTION = "see_reception"
    INVALID_CODE = "invalid_code"
    LOCKED = "locked"

    @property
    def succeeded(self) -> bool:
        return self in (Outcome.CHECKED_IN, Outcome.ALREADY_CHECKED_IN)


class Reason(enum.StrEnum):
    LATE = "late"
    CANCELLED = "cancelled"
    CLOSED = "closed"          # no-show or already seen: the appointment is over
    OTHER_LOCATION = "other_location"
    OTHER_DAY = "other_day"
    AMBIGUOUS = "ambiguous"    # even the given name does not tell two patients apart
    # With NOT_FOUND: the patient has tried as often as one visit allows (KioskFlow); they
    # are sent to reception or their code rather than asked to try again.
    TRIES_USED = "tries_used"


MESSAGES: dict[tuple[Outcome, Reason | None], str] = {
    (Outcome.CHECKED_IN, None): N_("You are checked in. Please take a seat."),
    (Outcome.ALREADY_CHECKED_IN, None): N_("You are already checked in. Please take a seat."),
    (Outcome.NEED_GIVEN_NAME, None): N_("Please also enter your given name."),
    (Outcome.NOT_FOUND, None): N_(
        "We could not find your appointment. Please try again or see reception."),
    (Outcome.TOO_EARLY, None): N_(
        "It is too early to check in. Check-in opens at {opens_at}."),
    (Outcome.INVALID_CODE, None): N_(
        "This code could not be used. Please scan the code from your appointment message "
        "or check in with your name and date of birth."),
    (Outcome.NOT_FOUND, Reason.TRIES_USED): N_(
        "We still could not find your appointment. Please scan the code from your "
        "appointment message, or see reception."),
    (Outcome.LOCKED, None): N_(
        "Checking in by name is paused on this kiosk after several unsuccessful tries. It "
        "works again at {retry_at}. You can scan the code from your appointment message "
        "now, or see reception."),
    (Outcome.SEE_RECEPTION, Reason.LATE): N_(
        "You are checked in, but you arrived late. Please see reception."),
    (Outcome.SEE_RECEPTION, Reason.CANCELLED): N_(
        "This appointment was cancelled. Please see reception."),
    (Outcome.SEE_RECEPTION, Reason.CLOSED): N_(
        "This appointment can no longer be checked in. Please see reception."),
    (Outcome.SEE_RECEPTION, Reason.OTHER_LOCATION): N_(
        "Your appointment is at another location: {location}. Please see reception."),
    (Outcome.SEE_RECEPTION, Reason.OTHER_DAY): N_(
        "Your appointment is on another day: {day}. Please see reception."),
    (Outcome.SEE_RECEPTION, Reason.AMBIGUOUS): N_(
        "We need to confirm who you are. Please see reception."),
}


@dataclass(frozen=True)
class CheckinResult:
    outcome: Outcome
    reason: Reason | None = None
    ticket: str | None = None
    provider: str | None = None
    position: int | None = None
    wait: Wait | None = None
    # For the patient at the kiosk only: the screen greets them (see greeting()).
    given_name: str | None = field(default=None, repr=False)
    full_name: str | None = field(default=None, repr=False)  # as the patient's culture writes it
    opens_at: datetime | None = None
    location: str | None = None
    appointment_day: date | None = None
    retry_at: datetime | None = None  # LOCKED: when name check-in works again on this kiosk
    visit_id: int | None = None
    provider_id: int | None = None  # the line the visit is in (its wait is replayed there)
    # For the patient at the kiosk only: the last two digits of the mobile number on record
    # when they can be texted when it is their turn (the "text me" touch); else None.
    mobile_ending: str | None = field(default=None, repr=False)
    # A check-in by text: the visit will get the next/called texts (what the reply promises).
    texted_when_next: bool = False

    @property
    def succeeded(self) -> bool:
        return self.outcome.succeeded

    def greeting(self, language: str) -> str | None:
        """The name the screen greets the patient by in ``language``: 王伟 in Chinese, the
        given name alone where that is the custom."""
        return self.full_name if language in GREETED_IN_FULL else self.given_name

    def message(self, language: str = "en") -> str:
        """In the patient's language, with times and dates written their way."""
        template = MESSAGES[(self.outcome, self.reason)]
        return translate(
            template, language,
            opens_at=format_time(self.opens_at, language) if self.opens_at else "",
            retry_at=format_time(self.retry_at, language) if self.retry_at else "",
            location=self.location or "",
            day=format_day(self.appointment_day, language) if self.appointment_day else "")

    def as_json(self, language: str = "en") -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "ticket": self.ticket,
            "provider": self.provider,
            "position": self.position,
            "wait": self.wait.as_json() if self.wait else None,
            "reason": self.reason.value if self.reason else None,
            "message": self.message(language),
            "opens_at": self.opens_at.isoformat() if self.opens_at else None,
            "retry_at": self.retry_at.isoformat() if self.retry_at else None,
        }


NOT_FOUND = CheckinResult(Outcome.NOT_FOUND)
INVALID_CODE = CheckinResult(Outcome.INVALID_CODE)
NEED_GIVEN_NAME = CheckinResult(Outcome.NEED_GIVEN_NAME)
