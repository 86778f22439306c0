"""Patients checking in with nothing but taps on the on-screen keys (or a scanner's burst of
keys), in the real kiosk window on a real X screen (Xvfb), each tap a real pointer click
(xdotool) at a key found by its letter: the path offscreen tests did not walk, where users
found bugs.

* **Every language the kiosk offers** (Settings().languages, 15): a patient checks in by name
  and date of birth, tapping their language (which opens the name screen), the letters of
  their family name (in their own script where the kiosk has a keyboard for it: Arabic,
  Persian, Cyrillic, Hangul, Devanagari; Pinyin for Chinese; Latin with the accents left out
  elsewhere: Müller typed MULLER, Łukasik typed LUKASIK), Next, the 8 date digits and Check
  in: at most 3 touches besides letters and digits. And a patient with a code scans it on the
  welcome screen without a touch (``xdotool type`` at 8 ms a key, as a keyboard-wedge scanner
  types it).
* **Harder journeys in English, Arabic, Chinese and Russian** (HARD): a wrong digit fixed with
  ⌫; twins (asked for the given name); one person failing five times, which pauses name
  check-in on the kiosk, then the next patient, who reads until when and scans their code
  instead; a late patient (checked in, sent to reception); a patient too early (told when
  check-in opens, in their language's time format); a patient who walks away (the warning in
  their language, then the welcome screen in the default language with nothing of them left:
  the runner moves the kiosk's clock on by the real 45 s and 20 s rather than waiting).

Each journey's outcome is checked in the database (one visit, or none), on the screen (the
message in the patient's language) and against a touch budget. One Xvfb and one runner process
per screen size (tests/support/journeys.py, tests/support/journey_runner.py), three at a
time; the screenshots' folder is printed at the start, with a summary-<size>.txt per size.
The locked-down window must cover the screen at every size, as X reports it
(test_the_locked_down_kiosk_covers_the_screen).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kiosk.base.clock import FixedClock
from kiosk.base.i18n import date_field_order, format_time, translate
from kiosk.base.settings import Settings
from kiosk.domain import texts, tokens
from kiosk.domain.results import CheckinResult, Outcome, Reason
from kiosk.store.db import Database
from kiosk.store.models import Appointment, AuditEvent, Visit
from tests.support.journeys import (
    DELETE_KEY,
    OTHER_TOUCHES,
    Journey,
    JourneyResult,
    PendingRun,
    RunResult,
    RunSpec,
    budget,
    describe,
    start_journeys,
)
from tests.support.site import DAY, TZ, at, book, load_day, make_ctx, make_settings
from tests.support.x11 import XServer, require_tools

pytestmark = [pytest.mark.gui, pytest.mark.slow]

NOW = at(8, 50)
LANGUAGES = Settings().languages
DEFAULT = Settings().default_language
PARALLEL_RUNS = 3  # runner processes at once, each its own Xvfb: mostly waiting for X and Qt


# ---- by name and date, in every language -----------------------------------------------------
# The fixture day (tests/support/site.py) gives Jürgen Müller, María José García-López, 王伟 and
# Nguyễn Thị Mai; its Иванова in Cyrillic, born another day, stays as a near miss.
# (external id, given, family, birth date, appointment start, provider)
PATIENTS = [
    ("j-ivanova", "Anna", "Ivanova", date(1987, 2, 19), at(9, 30), "p1"),
    # إبراهيم, with the hamza under its alif
    ("j-ibrahim", "خالد", "\u0625\u0628\u0631\u0627\u0647\u064a\u0645", date(1975, 12, 3),
     at(9, 15), "p2"),
    # کريمي: Persian keheh, Arabic yeh (U+064A) as older records write it
    ("j-karimi", "مريم", "\u06a9\u0631\u064a\u0645\u064a", date(1991, 6, 27), at(9, 45), "p3"),
    ("j-kim", "Minjun", "Kim", date(1982, 10, 5), at(9, 30), "p2"),
    ("j-kapoor", "Priya", "Kapoor", date(1979, 4, 12), at(9, 45), "p1"),
    ("j-chen", "美玲", "陳", date(1986, 10, 21), at(9, 15), "p3"),
    ("j-delacruz", "Maria", "Dela Cruz", date(1979, 8, 15), at(9, 0), "p2"),
    ("j-lefevre", "Hélène", "Lefèvre", date(1965, 11, 2), at(9, 30), "p3"),
    ("j-pierrelouis", "Jean", "Pierre-Louis", date(1973, 7, 26), at(9, 45), "p2"),
    ("j-conceicao", "João", "Conceição", date(1981, 5, 19), at(9, 0), "p3"),
    ("j-lukasik", "Zofia", "Łukasik", date(1990, 12, 24), at(9, 15), "p1"),
]
# The language's journey -> the appointment it must check in.
APPOINTMENTS = {
    "en": "a-muller", "es": "a-garcia", "zh": "a-wang", "zh_Hant": "a-j-chen",
    "vi": "a-nguyen", "tl": "a-j-delacruz", "ko": "a-j-kim", "ar": "a-j-ibrahim",
    "ru": "a-j-ivanova", "fr": "a-j-lefevre", "ht": "a-j-pierrelouis", "pt": "a-j-conceicao",
    "hi": "a-j-kapoor", "fa": "a-j-karimi", "pl": "a-j-lukasik"}

NAME_JOURNEYS = (
    # Accents left out: Müller typed on the Latin keys as MULLER (two taps on L in a row).
    Journey.typing("en", "en", "MULLER", "1956-03-14", greeting="Jürgen", typed="MULLER"),
    # One part of a two-part family name, without its accents.
    Journey.typing("es", "es", "GARCIA", "1984-07-02", greeting="María José"),
    # 王 found by its Pinyin, typed on the Latin keys.
    Journey.typing("zh", "zh_Hans", "WANG", "1968-01-08", greeting="王伟", typed="WANG"),
    # A traditional character found by its Pinyin.
    Journey.typing("zh_Hant", "zh_Hant", "CHEN", "1986-10-21", greeting="陳美玲"),
    Journey.typing("vi", "vi", "NGUYEN", "1988-04-25", greeting="Thị Mai"),
    # A family name of two words: the Space key.
    Journey.typing("tl", "tl", "DELA CRUZ", "1979-08-15", greeting="Maria", typed="DELA CRUZ"),
    # Hangul composed from its jamo: ㄱ ㅣ ㅁ shows 김, found as Kim.
    Journey("ko", "ko", ("ㄱ", "ㅣ", "ㅁ"), "1982-10-05", greeting="Minjun", typed="김"),
    # Typed without the hamza: Arabic matches in its own script, normalised.
    Journey.typing("ar", "ar", "\u0627\u0628\u0631\u0627\u0647\u064a\u0645", "1975-12-03",
                   greeting="خالد"),
    # A record in Latin letters found by the name typed on the Cyrillic keys.
    Journey.typing("ru", "ru", "Иванова", "1987-02-19", greeting="Anna", typed="ИВАНОВА"),
    Journey.typing("fr", "fr", "LEFEVRE", "1965-11-02", greeting="Hélène"),
    # The hyphen key.
    Journey.typing("ht", "ht", "PIERRE-LOUIS", "1973-07-26", greeting="Jean"),
    Journey.typing("pt", "pt", "CONCEICAO", "1981-05-19", greeting="João"),
    # Devanagari: consonants and a vowel sign (क प ू र shows कपूर), found as Kapoor.
    Journey("hi", "hi", ("क", "प", "ू", "र"), "1979-04-12", greeting="Priya", typed="कपूर"),
    # کریمی typed with Persian yeh (U+06CC) finds the record written with Arabic yeh.
    Journey.typing("fa", "fa", "\u06a9\u0631\u06cc\u0645\u06cc", "1991-06-27",
                   greeting="مريم"),
    # Ł, which no Unicode decomposition takes to L, typed as L.
    Journey.typing("pl", "pl", "LUKASIK", "1990-12-24", greeting="Zofia"),
)
NAMES = {journey.name: journey for journey in NAME_JOURNEYS}
LANGUAGE_OF = {journey.name: journey.language for journey in NAME_JOURNEYS}


# ---- by a scanner, in every language ---------------------------------------------------------
# One patient per language with a code; they scan it on the welcome screen, touching nothing.
# (language, given, family): appointments at 9:00 to 9:45, seeded as q-<language>.
SCANNED = [
    ("en", "Oliver", "Grant"), ("es", "Lucía", "Romero"), ("zh_Hans", "丽", "孙"),
    ("zh_Hant", "志明", "林"), ("vi", "Văn An", "Trần"), ("tl", "Jose", "Reyes"),
    ("ko", "서연", "박"), ("ar", "ليلى", "يوسف"), ("ru", "Павел", "Орлов"),
    ("fr", "Chloé", "Martin"), ("ht", "Widline", "Joseph"), ("pt", "Ana", "Souza"),
    ("hi", "अनिल", "शर्मा"), ("fa", "زهرا", "احمدی"), ("pl", "Piotr", "Nowak")]
SCAN_PATIENTS = [(f"q-{language}", given, family, date(1960 + index, 1 + index % 12, 10),
                  at(9, 15 * (index % 4)), ("p1", "p2", "p3")[index % 3])
                 for index, (language, given, family) in enumerate(SCANNED)]
SCAN_JOURNEYS = tuple(Journey(f"scan-{language}", language, scan=f"a-q-{language}",
                              greeting=given)
                      for language, given, _ in SCANNED)


# ---- harder journeys -------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    given: str
    family: str
    keys: str          # the family name as tapped
    born: date


@dataclass(frozen=True)
class Block:
    """One language's harder journeys, from ``start`` on: each at its own minute, a block
    90 minutes after the one before, so that each pause of name check-in is a first one (2
    minutes: pauses within an hour double)."""

    language: str
    start: datetime
    wrong_date: Person
    twins: tuple[Person, Person]   # the same family name and birth date
    twin_keys: str                 # the given name as tapped
    twin_greeting: str
    late: Person
    early: Person
    walks_away: Person
    fails: tuple[str, date]        # a name and date that find no one, tried five times
    paused: Person                 # the next patient: reads the pause, then scans

    def at(self, minutes: int) -> datetime:
        return self.start + timedelta(minutes=minutes)


HARD = {block.language: block for block in (
    Block("en", at(10, 0),
          wrong_date=Person("Owen", "Hughes", "HUGHES", date(1962, 8, 19)),
          twins=(Person("Lily", "Baker", "BAKER", date(2012, 9, 5)),
                 Person("Rose", "Baker", "BAKER", date(2012, 9, 5))),
          twin_keys="LILY", twin_greeting="Lily",
          late=Person("Grace", "Turner", "TURNER", date(1958, 12, 1)),
          early=Person("Daniel", "Price", "PRICE", date(1990, 2, 14)),
          walks_away=Person("Megan", "Jones", "JONES", date(1983, 5, 30)),
          fails=("ROSS", date(1970, 1, 1)),
          paused=Person("Ellen", "Walsh", "WALSH", date(1977, 7, 7))),
    Block("ar", at(11, 30),
          wrong_date=Person("يوسف", "سالم", "سالم", date(1966, 3, 22)),
          twins=(Person("سارة", "حداد", "حداد", date(2013, 4, 9)),
                 Person("ليلى", "حداد", "حداد", date(2013, 4, 9))),
          twin_keys="سارة", twin_greeting="سارة",
          late=Person("ريم", "نصار", "نصار", date(1972, 10, 10)),
          early=Person("عمر", "منصور", "منصور", date(1985, 1, 17)),
          walks_away=Person("هدى", "خليل", "خليل", date(1990, 9, 9)),
          fails=("زيدان", date(1971, 1, 1)),
          paused=Person("نادية", "عباس", "عباس", date(1969, 6, 16))),
    Block("zh_Hans", at(13, 0),
          wrong_date=Person("丽", "赵", "ZHAO", date(1976, 5, 28)),
          twins=(Person("明", "李", "LI", date(2011, 11, 11)),
                 Person("亮", "李", "LI", date(2011, 11, 11))),
          twin_keys="MING", twin_greeting="李明",
          late=Person("洋", "刘", "LIU", date(1980, 8, 8)),
          early=Person("静", "陈", "CHEN", date(1992, 12, 12)),
          walks_away=Person("杰", "黄", "HUANG", date(1987, 7, 17)),
          fails=("GUO", date(1970, 2, 2)),
          paused=Person("芳", "周", "ZHOU", date(1974, 4, 14))),
    Block("ru", at(14, 30),
          wrong_date=Person("Иван", "Петров", "ПЕТРОВ", date(1961, 2, 27)),
          twins=(Person("Ольга", "Смирнова", "СМИРНОВА", date(2014, 3, 3)),
                 Person("Ирина", "Смирнова", "СМИРНОВА", date(2014, 3, 3))),
          twin_keys="ОЛЬГА", twin_greeting="Ольга",
          late=Person("Олег", "Волков", "ВОЛКОВ", date(1959, 9, 29)),
          early=Person("Мария", "Попова", "ПОПОВА", date(1993, 3, 13)),
          walks_away=Person("Дмитрий", "Лебедев", "ЛЕБЕДЕВ", date(1982, 2, 2)),
          fails=("ОРЛОВ", date(1970, 3, 3)),
          paused=Person("Елена", "Соколова", "СОКОЛОВА", date(1978, 8, 18))),
)}
SHORT = {"zh_Hans": "zh"}  # journey names: "zh-late"
KINDS = ("wrong-date", "twins", "late", "early", "timeout", "fails", "paused")
# When each kind happens, minutes into its block, and when its appointment is.
MINUTE = {"wrong-date": 0, "twins": 1, "late": 2, "early": 3, "timeout": 4, "fails": 6,
          "paused": 7}
PAUSE = timedelta(minutes=Settings().lockout_minutes)


def short(language: str) -> str:
    return SHORT.get(language, language)


def slip_keys(language: str, born: date) -> tuple[str, ...]:
    """The date's digits in the order the screen asks for them, with a slip in the first
    field's last digit fixed with ⌫. The full field has moved the keypad on to the next one,
    which is empty: ⌫ goes back and takes the wrong digit."""
    values = {"day": f"{born.day:02d}", "month": f"{born.month:02d}",
              "year": f"{born.year:04d}"}
    order = date_field_order(language)
    first = values[order[0]]
    wrong = str((int(first[-1]) + 1) % 10)
    return (*first[:-1], wrong, DELETE_KEY, first[-1],
            *"".join(values[name] for name in order[1:]))


def block_patients(block: Block) -> list[tuple[Any, ...]]:
    name = short(block.language)
    people = [("wrong-date", block.wrong_date, block.at(10), "p1"),
              ("twin-a", block.twins[0], block.at(20), "p1"),
              ("twin-b", block.twins[1], block.at(30), "p2"),
              ("late", block.late, block.at(-30), "p2"),
              ("early", block.early, block.at(120), "p3"),
              ("timeout", block.walks_away, block.at(15), "p3"),
              ("paused", block.paused, block.at(15), "p1")]
    return [(f"h-{name}-{kind}", person.given, person.family, person.born, start, provider)
            for kind, person, start, provider in people]


def block_journeys(block: Block) -> tuple[Journey, ...]:
    name, language = short(block.language), block.language

    def journey(kind: str, person: Person, **more: Any) -> Journey:
        return Journey(f"{name}-{kind}", language, tuple(person.keys),
                       person.born.isoformat(), clock=block.at(MINUTE[kind]).isoformat(),
                       **more)

    twin = block.twins[0]
    return (
        journey("wrong-date", block.wrong_date, greeting=block.wrong_date.given,
                date_keys=slip_keys(language, block.wrong_date.born)),
        journey("twins", twin, greeting=block.twin_greeting, given_keys=tuple(block.twin_keys)),
        journey("late", block.late, greeting=block.late.given),
        journey("early", block.early),
        journey("timeout", block.walks_away, walk_away=5),
        Journey(f"{name}-fails", language, tuple(block.fails[0]), block.fails[1].isoformat(),
                attempts=Settings().lockout_attempts, clock=block.at(MINUTE["fails"]).isoformat()),
        journey("paused", block.paused, then_scan=f"a-h-{name}-paused",
                greeting=block.paused.given),
    )


HARD_JOURNEYS = {journey.name: journey for block in HARD.values()
                 for journey in block_journeys(block)}

# Screen size -> the journeys run in one runner process on one Xvfb, in this order.
RUNS: dict[tuple[int, int], tuple[str, ...]] = {
    (1280, 800): (*NAMES, *(j.name for j in SCAN_JOURNEYS), *HARD_JOURNEYS),
    (1920, 1080): ("en", "zh", "ru", "ar", "fa", "ko", "hi", "scan-en", "scan-ar",
                   "scan-zh_Hans",
                   *(f"{short(b)}-{kind}" for b in ("en", "ar", "zh_Hans") for kind in KINDS)),
    (1280, 720): ("en", "zh", "ar", "ko"),  # the 720p panel cage's headless output mirrors
    (1080, 1920): ("en", "zh", "ar", "scan-en", "scan-ar", "scan-zh_Hans",
                   *(f"{short(b)}-{kind}" for b in ("en", "ar", "zh_Hans") for kind in KINDS)),
}
JOURNEYS = {**NAMES, **{j.name: j for j in SCAN_JOURNEYS}, **HARD_JOURNEYS}


def cases(kind: Callable[[str], bool]) -> list[Any]:
    return [pytest.param(size, name, id=f"{size[0]}x{size[1]}-{name}")
            for size, names in RUNS.items() for name in names if kind(name)]


def is_name(name: str) -> bool:
    return name in NAMES


# ---- the runs --------------------------------------------------------------------------------

def seed(url: str) -> dict[str, str]:
    """A fresh database: the fixture day and the journeys' patients, through the real core.
    Returns each appointment's code, as its appointment message carries it."""
    ctx = make_ctx(make_settings(url), FixedClock(NOW))
    try:
        load_day(ctx)
        people = [*PATIENTS, *SCAN_PATIENTS,
                  *(p for block in HARD.values() for p in block_patients(block))]
        booked = book(ctx, [(*patient, "main", "booked") for patient in people])
        return {person.appointment: tokens.issue(ctx.qr_secret, ctx.settings.site_id,
                                                 person.appointment, DAY)
                for person in booked.values()}
    finally:
        ctx.db.dispose()


def with_codes(journey: Journey, codes: dict[str, str]) -> Journey:
    """The journey with the codes it scans in place of their appointments."""
    return replace(journey, scan=codes[journey.scan] if journey.scan else None,
                   then_scan=codes[journey.then_scan] if journey.then_scan else None)


def visits_for(url: str, appointment: str) -> list[Visit]:
    database = Database(url)
    try:
        with database.read() as session:
            found = list(session.scalars(
                select(Visit).join(Appointment, Visit.appointment_id == Appointment.id).where(
                    Appointment.external_id == appointment, Visit.service_date == DAY)))
            session.expunge_all()
            return found
    finally:
        database.dispose()


def pauses(url: str) -> dict[datetime, Any]:
    """When name check-in was paused on the kiosk (its audit record's time) -> how many
    minutes, as the database keeps them."""
    database = Database(url)
    try:
        with database.read() as session:
            found = session.scalars(select(AuditEvent).where(
                AuditEvent.action == "kiosk_locked", AuditEvent.actor == Settings().kiosk_id))
            return {(event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)):
                    event.detail.get("minutes") for event in found}
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    folder = tmp_path_factory.mktemp("journeys")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # shown also when the tests pass
            reporter.write_line(f"\njourney screenshots: {folder}")
    return folder


class Runs:
    """Every screen size's run, started on first use, :data:`PARALLEL_RUNS` at a time (each
    its own Xvfb and kiosk process); a failed start fails each test of that size."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.waiting = list(RUNS)
        self.running: dict[tuple[int, int], tuple[XServer, PendingRun, str]] = {}
        self.done: dict[tuple[int, int], tuple[RunResult, str] | Exception] = {}

    def start_more(self) -> None:
        while self.waiting and len(self.running) < PARALLEL_RUNS:
            size = self.waiting.pop(0)
            label = f"{size[0]}x{size[1]}"
            url = f"sqlite:///{self.folder / f'kiosk-{label}.sqlite3'}"
            x = None
            try:
                codes = seed(url)
                journeys = tuple(with_codes(JOURNEYS[name], codes) for name in RUNS[size])
                spec = RunSpec(label=label, database_url=url, now=NOW.isoformat(),
                               out_dir=str(self.folder), journeys=journeys,
                               watchdog_seconds=60 + 15 * len(journeys))
                x = XServer(*size)
                self.running[size] = (x, start_journeys(x, spec), url)
            except Exception as problem:
                if x is not None:
                    x.stop()
                self.done[size] = problem

    def finish(self, size: tuple[int, int]) -> None:
        x, pending, url = self.running.pop(size)
        try:
            run = pending.result()
        except Exception as problem:
            self.done[size] = problem
        else:
            self.done[size] = run, url
            (self.folder / f"summary-{run.label}.txt").write_text(
                f"{describe(run.journeys)}\nkiosk run: {run.kiosk_run}\n"
                f"fitted: {run.fitted}\nscanned twice: {list(run.scanned_twice)}\n"
                f"startup {run.startup_seconds} s, whole run {run.seconds:.1f} s\n",
                encoding="utf-8")
        finally:
            pending.stop()
            x.stop()

    def get(self, size: tuple[int, int]) -> tuple[RunResult, str]:
        self.start_more()
        while size not in self.done:
            if size not in self.running:  # not started yet: wait for a place
                ended = [s for s, (_, p, _) in self.running.items()
                         if p.process.poll() is not None]
                if not ended:
                    time.sleep(0.2)
                    continue
                self.finish(ended[0])
            else:
                self.finish(size)
            self.start_more()
        found = self.done[size]
        if isinstance(found, Exception):
            raise found
        return found

    def close(self) -> None:
        for size in list(self.running):
            x, pending, _ = self.running.pop(size)
            pending.stop()
            x.stop()


@pytest.fixture(scope="module")
def journeys_at(shots: Path) -> Any:
    """The run for a screen size: its result and database URL."""
    require_tools(("Xvfb", "xdotool"))
    runs = Runs(shots)
    yield runs.get
    runs.close()


def journey_of(journeys_at: Any, size: tuple[int, int], name: str
               ) -> tuple[RunResult, JourneyResult, str]:
    run, url = journeys_at(size)
    result = run.journey(name)
    print(describe([result]))
    assert result.error is None, f"{name} at {run.label}: {result.error}\n{run.stderr}"
    assert not run.exceptions, run.exceptions
    assert (run.fitted or run.kiosk_run)["covers"], "the journey ran in a window that did " \
        f"not cover the screen: {run.kiosk_run} {run.fitted}"
    for shot in result.screenshots:
        assert Path(shot).stat().st_size > 1000, shot
    return run, result, url


def message(outcome: Outcome, language: str, reason: Reason | None = None,
            **values: Any) -> str:
    return CheckinResult(outcome, reason, **values).message(language)


def in_language(answer: Any, language: str) -> None:
    """The answer's screen is in ``language``: the screen's language, and its Done button."""
    assert answer.language == language, answer
    assert translate(texts.DONE, language) in answer.buttons, answer.buttons


# ---- the tests -------------------------------------------------------------------------------

def test_every_language_the_kiosk_offers_has_its_journeys():
    assert sorted(LANGUAGE_OF.values()) == sorted(LANGUAGES)
    assert sorted(language for language, *_ in SCANNED) == sorted(LANGUAGES)
    assert set(RUNS[(1280, 800)]) >= set(NAMES) | {j.name for j in SCAN_JOURNEYS}
    assert {"en", "ar", "zh_Hans", "ru"} <= set(HARD)


@pytest.mark.parametrize(("size", "name"), cases(is_name))
def test_a_patient_checks_in_by_tapping_the_on_screen_keys(journeys_at, size, name):
    """From the welcome screen to the greeting, by real clicks on the keys: checked in once,
    greeted in their language."""
    _, result, url = journey_of(journeys_at, size, name)
    journey = JOURNEYS[name]
    assert result.outcome == "checked_in", (result.outcome, result.answers)
    assert len(visits_for(url, APPOINTMENTS[name])) == 1
    answer = result.answers[-1]
    in_language(answer, journey.language)
    assert journey.greeting in answer.title, (answer.title, answer.texts)
    assert answer.shows(message(Outcome.CHECKED_IN, journey.language)), answer.texts
    assert result.count("letter") == len(journey.keys), describe([result])
    assert result.count("digit") == 8, describe([result])
    assert [Path(shot).name.split("-")[-1] for shot in result.screenshots] == \
        ["welcome.png", "family_name.png", "birth_date.png", "result.png", "screen.png"]
    # The name screen came up in the patient's language, opened by the language's own button.
    assert result.screen("family_name").language == journey.language


@pytest.mark.parametrize(("size", "name"), cases(is_name))
def test_the_journey_fits_the_touch_budget(journeys_at, size, name):
    """Letters typed, 8 date digits and at most 3 other touches, from the welcome screen: the
    language (or, in the default language, "with my name"), Next, Check in."""
    run, _ = journeys_at(size)
    result = run.journey(name)
    assert result.error is None, result.error
    assert len(result.touches) <= budget(JOURNEYS[name], OTHER_TOUCHES), describe([result])


@pytest.mark.parametrize(("size", "name"), cases(lambda name: name.startswith("scan-")))
def test_a_scanner_burst_checks_the_patient_in_without_a_touch(journeys_at, size, name):
    """The code typed by a keyboard-wedge scanner on the welcome screen: no touch, checked in
    once by QR, greeted. The kiosk cannot know the patient's language before they touch it:
    the answer is in the default language."""
    _, result, url = journey_of(journeys_at, size, name)
    journey = JOURNEYS[name]
    assert result.touches == (), describe([result])
    assert 1 <= result.scans <= 2, describe([result])  # a second scan: see RunResult
    assert result.outcome == "checked_in", result.answers
    visits = visits_for(url, f"a-q-{journey.language}")
    assert [visit.method.value for visit in visits] == ["qr"]
    answer = result.answers[-1]
    in_language(answer, DEFAULT)
    assert journey.greeting in answer.title, (answer.title, answer.texts)


def hard(kind: str) -> list[Any]:
    return cases(lambda name: name.split("-", 1)[-1] == kind and name in HARD_JOURNEYS)


def block_of(name: str) -> Block:
    short_name = name.split("-", 1)[0]
    return next(block for block in HARD.values() if short(block.language) == short_name)


@pytest.mark.parametrize(("size", "name"), hard("wrong-date"))
def test_a_wrong_digit_fixed_with_delete(journeys_at, size, name):
    """A slip in the date's first field, fixed with ⌫ (the keypad had moved on to the next
    field: ⌫ goes back for it), and the patient is checked in."""
    _, result, url = journey_of(journeys_at, size, name)
    journey, block = JOURNEYS[name], block_of(name)
    assert result.outcome == "checked_in", result.answers
    assert len(visits_for(url, f"a-h-{short(block.language)}-wrong-date")) == 1
    in_language(result.answers[-1], journey.language)
    assert journey.greeting in result.answers[-1].title
    assert result.count("delete") == 1 and result.count("digit") == 9, describe([result])
    assert len(result.touches) <= budget(journey), describe([result])


@pytest.mark.parametrize(("size", "name"), hard("twins"))
def test_twins_are_asked_for_their_given_name(journeys_at, size, name):
    """Two patients with the same family name and birth date: the kiosk asks for the given
    name, in the patient's language, and checks in the one named, not the other."""
    _, result, url = journey_of(journeys_at, size, name)
    journey, block = JOURNEYS[name], block_of(name)
    language = journey.language
    asked = result.screen("given_name")
    assert asked.language == language
    assert translate(texts.GIVEN_TITLE, language) in asked.texts, asked.texts
    assert result.outcome == "checked_in", result.answers
    tag = short(block.language)
    assert len(visits_for(url, f"a-h-{tag}-twin-a")) == 1
    assert visits_for(url, f"a-h-{tag}-twin-b") == []
    in_language(result.answers[-1], language)
    assert journey.greeting in result.answers[-1].title, result.answers[-1].title
    assert len(result.touches) <= budget(journey), describe([result])


@pytest.mark.parametrize(("size", "name"), hard("late"))
def test_a_late_patient_is_checked_in_and_sent_to_reception(journeys_at, size, name):
    """30 minutes after the appointment (more than 15 late): checked in, flagged, and told in
    their language to see reception."""
    _, result, url = journey_of(journeys_at, size, name)
    journey, block = JOURNEYS[name], block_of(name)
    answer = result.answers[-1]
    assert (answer.outcome, answer.reason) == ("see_reception", "late"), result.answers
    visits = visits_for(url, f"a-h-{short(block.language)}-late")
    assert [visit.arrived_late for visit in visits] == [True]
    in_language(answer, journey.language)
    assert answer.shows(message(Outcome.SEE_RECEPTION, journey.language, Reason.LATE))
    assert journey.greeting in answer.title
    assert len(result.touches) <= budget(journey), describe([result])


@pytest.mark.parametrize(("size", "name"), hard("early"))
def test_too_early_says_when_check_in_opens(journeys_at, size, name):
    """Two hours before the appointment: not checked in, told when check-in opens (an hour
    before it), the time written as the patient's language writes it (2:00 PM, 14:00)."""
    _, result, url = journey_of(journeys_at, size, name)
    journey, block = JOURNEYS[name], block_of(name)
    answer = result.answers[-1]
    assert answer.outcome == "too_early", result.answers
    assert visits_for(url, f"a-h-{short(block.language)}-early") == []
    opens = block.at(120 - Settings().checkin_opens_minutes)
    assert answer.opens_at is not None and \
        datetime.fromisoformat(answer.opens_at) == opens, answer
    in_language(answer, journey.language)
    written = format_time(opens.astimezone(TZ), journey.language)
    assert answer.shows(written), (written, answer.texts)
    assert answer.shows(message(Outcome.TOO_EARLY, journey.language, opens_at=opens)), \
        answer.texts
    if journey.language == "en":
        assert answer.shows(f"{opens.hour % 12 or 12}:{opens.minute:02d}\u202f"
                            f"{'PM' if opens.hour >= 12 else 'AM'}"), answer.texts
    assert len(result.touches) <= budget(journey), describe([result])


@pytest.mark.parametrize(("size", "name"), hard("timeout"))
def test_walking_away_clears_everything(journeys_at, size, name):
    """The patient leaves after the name and five date digits. After the kiosk's 45 s the
    warning comes, in their language; 20 s later the welcome screen is back in the default
    language, every field empty, the name nowhere in the window, nobody checked in."""
    _, result, url = journey_of(journeys_at, size, name)
    journey, block = JOURNEYS[name], block_of(name)
    language = journey.language
    seen = result.timeout
    assert seen is not None, describe([result])
    assert (seen["idle_seconds"], seen["warning_seconds"]) == (45, 20)
    warning = seen["warning"]
    assert warning["language"] == language
    assert translate(texts.TIMEOUT_TITLE, language) in warning["texts"], warning
    assert translate(texts.MORE_TIME, language) in warning["texts"], warning
    assert translate(texts.TIMEOUT_BODY, language, seconds=20) in warning["texts"], warning
    assert result.screen("timeout").language == language
    after = seen["after"]
    assert after["step"] == "welcome" and after["language"] == DEFAULT, after
    assert after["fields"] and not any(after["fields"].values()), after["fields"]
    assert after["typed_left"] == [] and after["family"] is None and \
        after["birth_date"] is None, after
    assert translate(texts.WELCOME_NAME, DEFAULT) in after["texts"], after["texts"]
    assert visits_for(url, f"a-h-{short(block.language)}-timeout") == []
    assert result.answers == ()
    assert len(result.touches) <= len(journey.keys) + 5 + 2, describe([result])


@pytest.mark.parametrize(("size", "name"), hard("paused"))
def test_five_failures_pause_names_and_the_next_patient_scans(journeys_at, size, name):
    """One person tries a name and date that find no one five times (Try again twice; then the
    kiosk stops offering it and they start over twice): name check-in pauses on the kiosk for
    2 minutes. The next patient, with the right name and date, reads in their language that
    it is paused, until when (in their time format), and that scanning works; they scan their
    code and are checked in, still in their language."""
    run, result, url = journey_of(journeys_at, size, name)
    journey, block = JOURNEYS[name], block_of(name)
    language = journey.language
    fails = run.journey(name.replace("-paused", "-fails"))
    assert fails.error is None, fails.error
    outcomes = [(a.outcome, a.reason) for a in fails.answers]
    assert outcomes == [("not_found", None), ("not_found", None), ("not_found", "tries_used"),
                        ("not_found", "tries_used"), ("locked", None)], describe([fails])
    first, third = fails.answers[0], fails.answers[2]
    assert translate(texts.TRY_AGAIN, language) in first.buttons
    assert translate(texts.TRY_AGAIN, language) not in third.buttons, third.buttons
    assert third.shows(message(Outcome.NOT_FOUND, language, Reason.TRIES_USED)), third.texts
    paused_at = block.at(MINUTE["fails"])
    until = paused_at + PAUSE
    assert pauses(url).get(paused_at) == PAUSE.total_seconds() // 60, pauses(url)

    told, scanned = result.answers
    assert (told.outcome, told.via) == ("locked", "touch"), result.answers
    assert told.retry_at is not None and datetime.fromisoformat(told.retry_at) == until
    in_language(told, language)
    assert told.shows(format_time(until.astimezone(TZ), language)), told.texts
    assert told.shows(message(Outcome.LOCKED, language, retry_at=until)), told.texts
    assert len(result.touches) <= budget(journey), describe([result])
    assert (scanned.outcome, scanned.via) == ("checked_in", "scan"), result.answers
    in_language(scanned, language)
    assert journey.greeting in scanned.title
    visits = visits_for(url, f"a-h-{short(block.language)}-paused")
    assert [(visit.method.value, visit.language) for visit in visits] == [("qr", language)]


def test_a_new_patient_finds_no_toggle_under_the_enter_key(journeys_at):
    """The welcome screen as each patient finds it: the keyboard focus is not on a language
    button or a display switch, which an Enter would press."""
    run, _ = journeys_at((1280, 800))
    toggles = [(journey.name, journey.screens[0].focus) for journey in run.journeys
               if journey.screens and journey.screens[0].step == "welcome"
               and journey.screens[0].focus_toggles]
    assert toggles == []


def test_a_greeting_keeps_its_own_height_after_a_long_message(journeys_at):
    """A greeting is one line at 1280 x 800: its box stays under two lines' height whatever
    the page showed before (the pause message takes four lines in Arabic)."""
    run, _ = journeys_at((1280, 800))
    boxes = [(journey.name, answer.title_box) for journey in run.journeys
             for answer in journey.answers
             if answer.outcome == "checked_in" and answer.title_box]
    assert boxes and [(name, box) for name, box in boxes if box["height"] > 100] == []


@pytest.mark.parametrize("size", [pytest.param(size, id=f"{size[0]}x{size[1]}")
                                  for size in RUNS])
def test_the_locked_down_kiosk_covers_the_screen(journeys_at, size):
    """As `kiosk run` leaves it (before the runner would set the screen's geometry itself), X
    must report the window at 0,0 with the screen's size, also where the screen is not the
    1280 x 800 `kiosk run` gives the window before locking it down. (Before the lockdown set
    the geometry itself, X reported 0,0 1280x800 on 1920 x 1080 and on 1080 x 1920 screens:
    under X without a window manager showFullScreen() sets a state, not a size.)"""
    run, _ = journeys_at(size)
    measured = run.kiosk_run
    assert run.fitted is None  # the runner had nothing to mend
    assert measured["x"] == measured["screen"], (
        f"X reports the window at {measured['x']} (Qt: {measured['qt']}, isFullScreen "
        f"{measured['is_full_screen']}) on a screen of {measured['screen']}")
