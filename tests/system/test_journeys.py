"""Patients checking in by name and date of birth with nothing but taps on the on-screen keys,
in the real kiosk window on a real X screen (Xvfb), each tap a real pointer click (xdotool) at
a key found by its letter: the path offscreen tests did not walk, where users found bugs.

Each patient's record is kept in another script than the one they type (王 typed WANG, Ivanova
typed Иванова, إبراهيم typed without its hamza, کريمي with Arabic yeh typed with Persian
letters), or with accents they leave out (Müller typed MULLER). Each journey must end checked in
(one visit in the database for that appointment), greeted on the result screen, within the
touch budget, with a screenshot of every screen. One Xvfb and one runner process per screen
size (tests/support/journeys.py, tests/support/journey_runner.py); the screenshots' folder is
printed at the start, with a summary-<size>.txt per screen size.

One finding is kept as a strict expected failure, in a test of its own so that the check-ins
are asserted whatever it says: the touch budget (OVER_BUDGET). When the kiosk is fixed, the
strict mark turns into a failure that asks for its removal. The locked-down window must cover
the screen at every size, as X reports it (test_the_locked_down_kiosk_covers_the_screen).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from kiosk.base.clock import FixedClock
from kiosk.store.db import Database
from kiosk.store.models import Appointment, Visit
from tests.support.journeys import (
    Journey,
    RunResult,
    RunSpec,
    budget,
    describe,
    run_journeys,
)
from tests.support.site import DAY, at, book, load_day, make_ctx, make_settings
from tests.support.x11 import XServer, require_tools

pytestmark = [pytest.mark.gui, pytest.mark.slow]

NOW = at(8, 50)
OTHER_TOUCHES = 3  # the budget beyond letters and digits: language, script switch, Next...
CURRENT_OTHER_TOUCHES = 4  # what the kiosk needs today (see OVER_BUDGET): a regression guard

# The journeys' patients, on top of the fixture day (tests/support/site.py: Jürgen Müller and
# 王伟 come from there, and its Иванова in Cyrillic, born another day, stays as a near miss).
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
]
APPOINTMENTS = {"en": "a-muller", "zh": "a-wang", "ru": "a-j-ivanova", "ar": "a-j-ibrahim",
                "fa": "a-j-karimi", "ko": "a-j-kim", "hi": "a-j-kapoor"}

JOURNEYS = {journey.name: journey for journey in (
    # Accents left out: Müller typed on the Latin keys as MULLER (two taps on L in a row).
    Journey.typing("en", "en", "MULLER", "1956-03-14", greeting="Jürgen", typed="MULLER"),
    # 王 found by its Pinyin, typed on the Latin keys.
    Journey.typing("zh", "zh_Hans", "WANG", "1968-01-08", greeting="伟", typed="WANG"),
    # A record in Latin letters found by the name typed on the Cyrillic keys.
    Journey.typing("ru", "ru", "Иванова", "1987-02-19", greeting="Anna", typed="ИВАНОВА"),
    # Typed without the hamza: Arabic matches in its own script, normalised.
    Journey.typing("ar", "ar", "\u0627\u0628\u0631\u0627\u0647\u064a\u0645", "1975-12-03",
                   greeting="خالد"),
    # کریمی typed with Persian yeh (U+06CC) finds the record written with Arabic yeh.
    Journey.typing("fa", "fa", "\u06a9\u0631\u06cc\u0645\u06cc", "1991-06-27",
                   greeting="مريم"),
)}

# ---- Korean and Hindi ----------------------------------------------------------------------
# Their keyboards compose: Hangul syllables from jamo keys, Devanagari from consonant and
# vowel-sign keys, so a journey lists the keys to tap (found by their labels) and the text the
# field must then show. The keyboards arrived (ui/widgets/keyboard.py: "ko", "hi") while these
# tests were written; their patients and appointments are in PATIENTS and APPOINTMENTS.
COMPOSED_JOURNEYS = (
    Journey("ko", "ko", ("ㄱ", "ㅣ", "ㅁ"), "1982-10-05", greeting="Minjun", typed="김"),
    Journey("hi", "hi", ("क", "प", "ू", "र"), "1979-04-12", greeting="Priya", typed="कपूर"),
)
JOURNEYS.update((journey.name, journey) for journey in COMPOSED_JOURNEYS)

# Screen size -> journeys run in one runner process on one Xvfb.
RUNS: dict[tuple[int, int], tuple[str, ...]] = {
    (1920, 1080): ("en", "zh", "ru", "ar", "fa", "ko", "hi"),
    (1280, 720): ("en", "zh", "ar", "ko"),  # the 720p panel cage's headless output mirrors
    (1080, 1920): ("en", "zh", "ar"),
}

# Measured (see the report of this change): every language but the default needs a fourth
# touch besides letters and digits: the language, "with my name", Next, Check in.
OVER_BUDGET = pytest.mark.xfail(
    strict=True, reason="4 touches besides letters and digits (the language, 'with my name', "
    "Next, Check in) where the budget allows 3")
def cases(mark: Callable[[tuple[int, int], str], bool] = lambda size, name: False,
          marks: pytest.MarkDecorator | None = None) -> list[Any]:
    return [pytest.param(size, name, id=f"{size[0]}x{size[1]}-{name}",
                         marks=[marks] if marks is not None and mark(size, name) else [])
            for size, names in RUNS.items() for name in names]


def seed(url: str) -> None:
    """A fresh database: the fixture day and the journeys' patients, through the real core."""
    ctx = make_ctx(make_settings(url), FixedClock(NOW))
    try:
        load_day(ctx)
        book(ctx, [(*patient, "main", "booked") for patient in PATIENTS])
    finally:
        ctx.db.dispose()


def visits_for(url: str, appointment: str) -> int:
    database = Database(url)
    try:
        with database.read() as session:
            return session.scalar(
                select(func.count()).select_from(Visit).join(
                    Appointment, Visit.appointment_id == Appointment.id).where(
                    Appointment.external_id == appointment, Visit.service_date == DAY)) or 0
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


@pytest.fixture(scope="module")
def journeys_at(shots: Path) -> Callable[[tuple[int, int]], tuple[RunResult, str]]:
    """The run for a screen size (started on first use, once; a failed start fails each test
    of that size without starting again): its result and database URL."""
    require_tools(("Xvfb", "xdotool"))
    done: dict[tuple[int, int], tuple[RunResult, str] | Exception] = {}

    def get(size: tuple[int, int]) -> tuple[RunResult, str]:
        if size not in done:
            label = f"{size[0]}x{size[1]}"
            url = f"sqlite:///{shots / f'kiosk-{label}.sqlite3'}"
            spec = RunSpec(label=label, database_url=url, now=NOW.isoformat(),
                           out_dir=str(shots), journeys=tuple(JOURNEYS[n] for n in RUNS[size]))
            try:
                seed(url)
                with XServer(*size) as x:
                    run = run_journeys(x, spec)
            except Exception as problem:
                done[size] = problem
            else:
                done[size] = run, url
                (shots / f"summary-{label}.txt").write_text(
                    f"{describe(run.journeys)}\nkiosk run: {run.kiosk_run}\n"
                    f"fitted: {run.fitted}\nstartup {run.startup_seconds} s, whole run "
                    f"{run.seconds:.1f} s\n", encoding="utf-8")
        found = done[size]
        if isinstance(found, Exception):
            raise found
        return found

    return get


@pytest.mark.parametrize(("size", "name"), cases())
def test_a_patient_checks_in_by_tapping_the_on_screen_keys(journeys_at, size, name):
    """From the welcome screen to the greeting, by real clicks on the keys: checked in once."""
    run, url = journeys_at(size)
    journey = JOURNEYS[name]
    result = run.journey(name)
    print(describe([result]))
    assert result.error is None, f"{name} at {run.label}: {result.error}\n{run.stderr}"
    assert not run.exceptions, run.exceptions
    assert (run.fitted or run.kiosk_run)["covers"], "the journey ran in a window that did " \
        f"not cover the screen: {run.kiosk_run} {run.fitted}"
    assert result.outcome == "checked_in", (result.outcome, result.screens)
    assert visits_for(url, APPOINTMENTS[name]) == 1
    assert journey.greeting in result.greeting, (result.greeting, result.screens.get("result"))
    assert result.count("letter") == len(journey.keys), describe([result])
    assert result.count("digit") == 8, describe([result])
    # No touch beyond today's path (language, with my name, Next, Check in) crept in.
    assert len(result.touches) <= budget(journey, CURRENT_OTHER_TOUCHES), describe([result])
    assert [Path(shot).name.split("-")[-1] for shot in result.screenshots] == \
        ["welcome.png", "family_name.png", "birth_date.png", "result.png", "screen.png"]
    for shot in result.screenshots:
        assert Path(shot).stat().st_size > 1000, shot


@pytest.mark.parametrize(("size", "name"), cases(
    lambda size, name: JOURNEYS[name].language != "en", OVER_BUDGET))
def test_the_journey_fits_the_touch_budget(journeys_at, size, name):
    """Letters typed, 8 date digits and at most 3 other touches, from the welcome screen."""
    run, _ = journeys_at(size)
    result = run.journey(name)
    assert result.error is None, result.error
    assert len(result.touches) <= budget(JOURNEYS[name], OTHER_TOUCHES), describe([result])


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
