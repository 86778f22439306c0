"""The patient's path through the kiosk, as a state machine the screens render.

    welcome -> family_name -> birth_date [-> given_name] -> working -> result -> welcome
    welcome (or any step) -- scanned code --> working -> result
    any step -- "I need help" --> help;  any step -- idle --> warning --> reset to welcome

The flow knows no Qt and does no I/O: when it needs the engine it moves to ``working`` and
hands back a :class:`CheckinRequest`; the screen runs it off the GUI thread and gives the
answer to :meth:`KioskFlow.finish` (or :meth:`KioskFlow.fail`). Time comes from the injected
clock; the screen calls :meth:`KioskFlow.tick` about once a second.

Privacy: :meth:`KioskFlow.reset` forgets everything a patient entered or was shown, and the
language returns to the kiosk's default, after every patient and after every timeout.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from kiosk.base.clock import Clock
from kiosk.base.i18n import GREGORIAN, birth_calendars, calendar_date, to_calendar
from kiosk.domain.results import CheckinResult, Outcome, Reason

MAX_NAME_LENGTH = 100
MAX_AGE_YEARS = 120
# Names and dates not found in one visit before the kiosk stops asking to try again and sends
# the patient to their code or to reception. This spares an honest patient a fourth and fifth
# guess; guessing itself is slowed by the engine's pause per kiosk, which no "Start over" or
# "Done" resets (README, "Lock-out").
TRIES_PER_VISIT = 3


class Step(enum.StrEnum):
    WELCOME = "welcome"
    FAMILY_NAME = "family_name"
    BIRTH_DATE = "birth_date"
    GIVEN_NAME = "given_name"
    WORKING = "working"
    RESULT = "result"
    HELP = "help"
    ERROR = "error"


# Steps where a patient is typing: idling there raises the "do you need more time?" warning.
INPUT_STEPS = (Step.FAMILY_NAME, Step.BIRTH_DATE, Step.GIVEN_NAME)


class InputProblem(enum.StrEnum):
    NAME_EMPTY = "name_empty"
    NAME_TOO_LONG = "name_too_long"
    DATE_INCOMPLETE = "date_incomplete"
    DATE_IMPOSSIBLE = "date_impossible"
    DATE_FUTURE = "date_future"
    DATE_TOO_OLD = "date_too_old"
    # A year of one or three digits, or of two that could mean two possible years (15: 1915
    # or 2015): the patient is asked for four digits rather than guessed for.
    DATE_YEAR_DIGITS = "date_year_digits"


@dataclass(frozen=True)
class CheckinRequest:
    """What the screen should ask the engine, off the GUI thread. The answer is handed back
    with ``request_id``: an answer to an older request (a patient who has gone) is dropped."""

    request_id: int
    language: str
    qr: str | None = None
    family: str | None = None
    birth_date: date | None = None
    given: str | None = None


@dataclass(frozen=True)
class Timing:
    idle_seconds: float = 45.0       # without a touch before the warning
    warning_seconds: float = 20.0    # the countdown; at least 20 s (WCAG 2.2.1)
    result_seconds: float = 20.0     # a result stays this long, then welcome again
    help_seconds: float = 90.0       # the help screen stays this long
    working_seconds: float = 30.0    # an engine that has not answered by then: see reception

    def __post_init__(self) -> None:
        if self.warning_seconds < 20:
            raise ValueError("the timeout warning must give at least 20 seconds (WCAG 2.2.1)")


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def validate_birth_date(day: str, month: str, year: str, today: date,
                        calendars: tuple[str, ...] = (GREGORIAN,)) -> date | InputProblem:
    """A date of birth from three typed fields, or what is wrong with it.

    A date of birth lies between :data:`MAX_AGE_YEARS` years ago and today. ``calendars`` are
    those the patient may have typed it in (:func:`kiosk.base.i18n.birth_calendars`: Solar
    Hijri or Gregorian in Persian); the answer is always the Gregorian date. Digits of any
    script count (Persian ``۱۳۶۳`` as ``1363``).

    The year has four digits. Two digits ("84") are read as the only year ending in them that
    gives a possible date of birth (1984, in any of the calendars): a patient used to writing
    two digits is not told that their date "does not exist". Where two years would give one
    (15: 1915 or 2015, both in the last 120 years; or, in Persian, 63: 1363 or 1963) the
    patient is asked for four digits (:attr:`InputProblem.DATE_YEAR_DIGITS`): a wrong guess
    would look for someone else. One or three digits are asked for four as well."""
    fields = [text.strip() for text in (day, month, year)]
    if not all(fields):
        return InputProblem.DATE_INCOMPLETE
    if not all(text.isdecimal() for text in fields):
        return InputProblem.DATE_IMPOSSIBLE
    day_number, month_number, typed = (int(text) for text in fields)
    digits = len(fields[2])
    if digits not in (2, 4):
        return InputProblem.DATE_YEAR_DIGITS
    limit = _years_before(today, MAX_AGE_YEARS)
    if digits == 4:
        # A year of living people in one calendar is read in that calendar only (30 Esfand
        # 1404 does not exist; that 30 December 1404 did is beside the point).
        in_range = tuple(calendar for calendar in calendars if to_calendar(calendar, limit)[0]
                         <= typed <= to_calendar(calendar, today)[0])
        calendars = in_range or calendars
    existing: set[date] = set()
    for calendar in calendars:
        if digits == 4:
            years = [typed]
        else:  # every year ending in these two digits from the oldest possible to today
            first, last = to_calendar(calendar, limit)[0], to_calendar(calendar, today)[0]
            years = [number for number in range(first, last + 1) if number % 100 == typed]
        for number in years:
            try:
                existing.add(calendar_date(calendar, number, month_number, day_number))
            except ValueError:
                continue  # no such day in that year of that calendar
    possible = sorted(born for born in existing if limit <= born <= today)
    if len(possible) == 1:
        return possible[0]
    if possible or (digits == 2 and existing):
        return InputProblem.DATE_YEAR_DIGITS
    if not existing:
        return InputProblem.DATE_IMPOSSIBLE

    # Not a possible date of birth: explain the reading nearest to one (in Persian, 1500 is
    # far from 1500 Gregorian but near 2121: "the future").
    def distance(born: date) -> int:
        return (born - today).days if born > today else (limit - born).days

    nearest = min(existing, key=distance)
    return InputProblem.DATE_FUTURE if nearest > today else InputProblem.DATE_TOO_OLD


def date_problem_field(problem: InputProblem, day: str, month: str) -> str | None:
    """The field a date problem is about ("day", "month" or "year"): where the patient's
    correction starts. None when a field is empty (the screen goes to the first empty one)."""
    if problem is InputProblem.DATE_INCOMPLETE:
        return None
    if problem is InputProblem.DATE_IMPOSSIBLE:
        text = month.strip()
        if not (text.isdecimal() and 1 <= int(text) <= 12):
            return "month"
        return "day"
    return "year"


def validate_name(text: str) -> str | InputProblem:
    name = " ".join(text.split())
    if not name:
        return InputProblem.NAME_EMPTY
    if len(name) > MAX_NAME_LENGTH:
        return InputProblem.NAME_TOO_LONG
    return name


class KioskFlow:
    def __init__(self, clock: Clock, default_language: str, languages: tuple[str, ...],
                 timing: Timing | None = None, tz: tzinfo = UTC) -> None:
        self.clock = clock
        self.tz = tz
        self.default_language = default_language
        self.languages = languages
        self.timing = timing or Timing()
        self._listeners: list[Callable[[KioskFlow], None]] = []
        self._help_listeners: list[Callable[[str, int | None], None]] = []
        self._requests = 0
        self.generation = 0  # a new patient (or a fresh start) each time it grows
        # False after "Start over": the same patient again, who keeps the language, the
        # display they chose and the count of their tries.
        self.new_patient = True
        self.tries = 0
        self._clear()

    # -- state ---------------------------------------------------------------------------

    def _clear(self, *, same_patient: bool = False) -> None:
        self.new_patient = not same_patient
        if not same_patient:
            self.language = self.default_language
            self.tries = 0
        self.step = Step.WELCOME
        self.family: str | None = None
        self.birth_date: date | None = None
        self.given: str | None = None
        self.result: CheckinResult | None = None
        self.problem: InputProblem | None = None
        self.problem_field: str | None = None  # the date field a date problem is about
        self.warning_deadline: datetime | None = None
        self.step_since = self.clock.now()
        self.last_activity = self.clock.now()
        self.help_requested = False
        self._history: list[Step] = []
        self._requests += 1  # whatever was asked before belongs to someone else now
        self.generation += 1

    @property
    def warning_seconds_left(self) -> int | None:
        if self.warning_deadline is None:
            return None
        left = (self.warning_deadline - self.clock.now()).total_seconds()
        return max(0, int(left + 0.999))

    def subscribe(self, listener: Callable[[KioskFlow], None]) -> None:
        self._listeners.append(listener)

    def on_help(self, listener: Callable[[str, int | None], None]) -> None:
        """Called with the current step's name when a patient asks for help, and the visit
        when they ask after checking in (reception then flags their row)."""
        self._help_listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener(self)

    def _move(self, step: Step, *, remember: bool = True) -> None:
        if remember and self.step in (*INPUT_STEPS, Step.WELCOME) and step != self.step:
            self._history.append(self.step)
        self.step = step
        self.step_since = self.clock.now()
        self.problem = None
        self.problem_field = None

    # -- what a patient does -------------------------------------------------------------

    def touch(self) -> None:
        """Any touch or key: the patient is still there."""
        self.last_activity = self.clock.now()
        if self.warning_deadline is not None:
            self.warning_deadline = None
            self._changed()

    def correcting(self) -> None:
        """The patient changed what they typed: a problem shown about it is gone (it spoke
        of what is no longer there)."""
        self.touch()
        if self.problem is not None:
            self.problem = None
            self.problem_field = None
            self._changed()

    def choose_language(self, language: str) -> None:
        if language not in self.languages:
            raise ValueError(f"language {language!r} is not offered")
        self.touch()
        self.language = language
        self._changed()

    def start_in(self, language: str) -> None:
        """A language tapped on the welcome screen: the patient reads this language and
        checks in by name, in one touch (a patient with a code scans it on any screen)."""
        self.choose_language(language)
        self.start_name_entry()

    @property
    def busy(self) -> bool:
        """The engine is answering: input waits (a double tap must not ask twice)."""
        return self.step == Step.WORKING

    def start_name_entry(self) -> None:
        if self.busy:
            return
        self.touch()
        self._move(Step.FAMILY_NAME)
        self._changed()

    def _name_entered(self, text: str) -> str | None:
        """A typed name, checked; on a problem the screen is told and None returned."""
        if self.busy:
            return None
        self.touch()
        name = validate_name(text)
        if isinstance(name, InputProblem):
            self.problem = name
            self._changed()
            return None
        return name

    def submit_family(self, text: str) -> InputProblem | None:
        name = self._name_entered(text)
        if name is not None:
            self.family = name
            self._move(Step.BIRTH_DATE)
            self._changed()
        return self.problem

    def submit_birth_date(self, day: str, month: str, year: str) -> CheckinRequest | None:
        if self.busy:
            return None
        self.touch()
        today = self.clock.now().astimezone(self.tz).date()
        born = validate_birth_date(day, month, year, today, birth_calendars(self.language))
        if isinstance(born, InputProblem):
            self.problem = born
            self.problem_field = date_problem_field(born, day, month)
            self._changed()
            return None
        self.birth_date = born
        return self._working(family=self.family, birth_date=born)

    def submit_given(self, text: str) -> CheckinRequest | None:
        name = self._name_entered(text)
        if name is None:
            return None
        self.given = name
        return self._working(family=self.family, birth_date=self.birth_date, given=name)

    def scanned(self, payload: str) -> CheckinRequest | None:
        """A code was scanned (scanner or camera) on any screen: check in with it.

        After a result, help or error screen everything of the patient before is forgotten
        first. After a check-in it is most likely the next patient, who starts in the default
        language; after an answer that did not check anyone in (not found, see reception...)
        it is most likely the same patient trying their code instead, who keeps the language
        they chose. On the welcome or an input screen it is the patient who was typing, now
        scanning instead: only what they typed is dropped."""
        if self.busy:
            return None  # one check-in at a time; the scan is dropped
        if self.step in (Step.RESULT, Step.HELP, Step.ERROR):
            retrying = not (self.step is Step.RESULT and self.result is not None
                            and self.result.succeeded)
            self._clear(same_patient=retrying)
        else:
            self.family = self.birth_date = self.given = None
            self.help_requested = False
            self._history = []
            self.generation += 1
        self.touch()
        return self._working(qr=payload[:4096])

    def back(self) -> None:
        if self.busy:
            return
        self.touch()
        previous = self._history.pop() if self._history else Step.WELCOME
        self._move(previous, remember=False)
        self._changed()

    def request_help(self) -> None:
        self.touch()
        first = not self.help_requested
        origin = self.step.value
        visit_id = self.result.visit_id if self.step is Step.RESULT and self.result else None
        self.help_requested = True
        self._move(Step.HELP)
        self._changed()
        if first:
            for listener in list(self._help_listeners):
                listener(origin, visit_id)

    def more_time(self) -> None:
        self.touch()

    def done(self) -> None:
        """The patient is finished (or walked away): forget them."""
        self.reset()

    def start_over(self) -> None:
        """The same patient starts again (a typo, the wrong path): what they typed and were
        shown is forgotten (an answer still coming is dropped); their language, display and
        tries stay with them."""
        self._clear(same_patient=True)
        self.touch()
        self._changed()

    # -- what the engine answers -----------------------------------------------------------

    def _working(self, **asked: Any) -> CheckinRequest:
        self._requests += 1
        request = CheckinRequest(self._requests, self.language, **asked)
        self._move(Step.WORKING)
        self._changed()
        return request

    def finish(self, result: CheckinResult, request_id: int | None = None) -> None:
        if self.step != Step.WORKING or (request_id is not None and
                                         request_id != self._requests):
            return  # the patient left (timeout, start over) while the engine worked
        if result.outcome is Outcome.NEED_GIVEN_NAME:
            self._move(Step.GIVEN_NAME, remember=False)
        else:
            if result.outcome is Outcome.NOT_FOUND:
                self.tries += 1
                if self.tries >= TRIES_PER_VISIT:
                    result = replace(result, reason=Reason.TRIES_USED)
            self.result = result
            self._move(Step.RESULT, remember=False)
        self._changed()

    def fail(self, request_id: int | None = None) -> None:
        """The engine could not answer (database down...): send the patient to reception."""
        if self.step != Step.WORKING or (request_id is not None and
                                         request_id != self._requests):
            return
        self._move(Step.ERROR, remember=False)
        self._changed()

    # -- time ------------------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock.now()
        timing = self.timing
        if self.warning_deadline is not None:
            if now >= self.warning_deadline:
                self.reset()
            else:
                self._changed()  # the countdown moves
            return
        shown_for = (now - self.step_since).total_seconds()
        idle_for = (now - self.last_activity).total_seconds()
        stays = {Step.RESULT: timing.result_seconds, Step.ERROR: timing.result_seconds,
                 Step.HELP: timing.help_seconds}
        if self.step in stays and shown_for >= stays[self.step]:
            self.reset()
        elif self.step == Step.WORKING and shown_for >= timing.working_seconds:
            self.fail()  # an engine that hangs must not leave the patient waiting forever
        elif self.step in INPUT_STEPS and idle_for >= timing.idle_seconds:
            self.warning_deadline = now + timedelta(seconds=timing.warning_seconds)
            self._changed()
        elif (self.step == Step.WELCOME
              and (self.language != self.default_language or not self.new_patient)
              and idle_for >= timing.idle_seconds + timing.warning_seconds):
            self.reset()  # someone chose a language, or started over, and walked away

    def reset(self) -> None:
        self._clear()
        self._changed()

    @property
    def idle_at_welcome(self) -> bool:
        """No patient in front of the kiosk: a moment to change its settings."""
        return self.step == Step.WELCOME and not self.busy and self.new_patient and \
            self.language == self.default_language

    def configure(self, default_language: str, languages: tuple[str, ...]) -> None:
        """New languages from the site-wide settings; taken between patients (the screen
        asks :attr:`idle_at_welcome` first)."""
        self.default_language, self.languages = default_language, languages
        self._clear()
        self._changed()
