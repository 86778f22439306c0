"""Patient journeys through the real kiosk window under a real X server, described as data.

A :class:`Journey` says what a patient does, starting from the welcome screen: the language
they tap (which opens the name screen in that language; a patient reading the default language
taps "Check in with your name" instead), the on-screen keys they tap for their family name (key
labels, found by their text: ``W A N G``, or ``ㄱ ㅣ ㅁ`` for a keyboard that composes 김; ``" "``
is the Space key), their date of birth (typed on the date keypad in the order the screen asks
for it, or the keypad keys they tap, mistakes and ⌫ included) and the answer the kiosk should
give. A patient with a code scans it instead (a keyboard-wedge scanner's burst of keys, played
by ``xdotool type``), on the welcome screen without a touch, or after an answer that did not
check them in. Harder paths: trying again after "not found" (:attr:`Journey.attempts`),
walking away in the middle (:attr:`Journey.walk_away`: the runner moves the kiosk's clock on by
the real idle and warning times, rather than waiting 65 s), arriving at another time of day
(:attr:`Journey.clock`).

:func:`run_journeys` hands a list of them to ``python -m tests.support.journey_runner`` in its
own process (the test process renders offscreen; the runner's window lives on the X server's
screen) and returns what it saw: every touch, every answer, the texts and a screenshot of each
screen, the window's geometry against the screen's, timing. :func:`start_journeys` starts it
without waiting, so that runs on different screens can overlap.

This module imports no Qt: the test process only writes the spec and reads the result.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tests.support.x11 import XServer

ROOT = Path(__file__).resolve().parents[2]
RUNNER = "tests.support.journey_runner"
# Touches that are neither letters nor date digits: the language, the script switch, "with
# my name", Next, Check in, Try again, Start over. The budget allows 3 of them for a patient
# who checks in by name and date (the language or "with my name", Next, Check in).
OTHER_KINDS = ("language", "switch", "button")
OTHER_TOUCHES = 3
DELETE_KEY = "⌫"


class JourneyRunnerError(RuntimeError):
    """The runner process failed before it could write its result."""


@dataclass(frozen=True)
class Journey:
    name: str                       # short and file-name safe: "zh", "ar-late"
    language: str                   # the patient's language (the default: no language tap)
    keys: tuple[str, ...] = ()      # labels of the keys tapped for the family name, in order
    birth_date: str = ""            # ISO date, typed as 8 digits on the keypad
    greeting: str = ""              # text the result screen's title must contain ("": none)
    typed: str | None = None        # what the name field must show after the taps
    given_keys: tuple[str, ...] = ()  # if the kiosk asks for the given name too
    language_label: str | None = None  # the language button's text (default: its own name)
    # Keypad keys tapped for the date instead of the birth date's 8 digits, in the order the
    # screen asks for the fields: a slip and its correction ("5", "⌫", "6"). The fields must
    # then hold the birth date.
    date_keys: tuple[str, ...] = ()
    scan: str | None = None         # a code scanned on the welcome screen, without a touch
    then_scan: str | None = None    # a code scanned on the answer's screen (not checked in)
    attempts: int = 1               # the same name and date, again after "not found"
    walk_away: int | None = None    # leaves after this many date digits: the timeout
    clock: str | None = None        # ISO instant the kiosk's clock is set to at the start

    @classmethod
    def typing(cls, name: str, language: str, text: str, birth_date: str, greeting: str,
               **more: Any) -> Journey:
        """A journey whose name is typed one key per character (upper or lower case: the
        runner finds the key whatever its case)."""
        return cls(name, language, tuple(text), birth_date, greeting, **more)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Journey:
        return cls(**{**data, **{key: tuple(data.get(key, ()))
                                 for key in ("keys", "given_keys", "date_keys")}})


@dataclass(frozen=True)
class RunSpec:
    """One runner process: one kiosk window, journeys one after another (Done between them)."""

    label: str                       # "1080x1920": names the spec, result and screenshots
    database_url: str                # a prepared database (the parent seeded it)
    now: str                         # ISO instant with offset: the kiosk's FixedClock
    out_dir: str                     # screenshots and the result JSON go here
    journeys: tuple[Journey, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)  # make_settings overrides
    fit_to_screen: bool = True       # after `kiosk run`'s lockdown, set the screen's geometry
    tap_seconds: float = 10.0        # a touch whose effect has not shown by then: failure
    watchdog_seconds: float = 150.0  # the runner exits (status 3) after this, whatever happens

    @property
    def spec_path(self) -> Path:
        return Path(self.out_dir) / f"spec-{self.label}.json"

    @property
    def result_path(self) -> Path:
        return Path(self.out_dir) / f"result-{self.label}.json"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["journeys"] = [journey.to_json() for journey in self.journeys]
        data["settings"] = dict(self.settings)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunSpec:
        return cls(**{**data, "journeys": tuple(Journey.from_json(j)
                                                for j in data["journeys"])})


@dataclass(frozen=True)
class Touch:
    kind: str        # letter, digit, delete, language, switch, button
    label: str       # the text of what was touched
    x: int
    y: int           # screen coordinates of the tap
    step: str        # the kiosk's step when it was touched
    seconds: float   # from tap to the effect seen


@dataclass(frozen=True)
class Answer:
    """What the kiosk answered, as the result screen showed it."""

    outcome: str
    reason: str | None
    language: str     # the language the screen was in
    title: str
    texts: tuple[str, ...]   # everything the window showed (labels, buttons, fields)
    buttons: tuple[str, ...]  # the buttons shown on the result page
    retry_at: str | None     # a pause's end (ISO), if the answer was one
    opens_at: str | None     # when check-in opens (ISO), if too early
    via: str                 # "touch" or "scan"
    title_box: Mapping[str, int] = field(default_factory=dict)  # y, height, needed (px)

    def shows(self, text: str) -> bool:
        flat = " ".join(text.split())
        return any(flat in shown for shown in self.texts)


@dataclass(frozen=True)
class Screen:
    step: str                # the kiosk's step, or "timeout" for the warning over a page
    language: str
    texts: tuple[str, ...]
    screenshot: str
    focus: str = ""          # the widget with the keyboard focus (where Enter would go)
    focus_toggles: bool = False  # that widget is a checkable button Enter would toggle


@dataclass(frozen=True)
class JourneyResult:
    name: str
    outcome: str | None            # the last answer's outcome, or None (never reached one)
    final_step: str
    greeting: str                  # the last result screen's title
    typed: str                     # the family-name field after the last key
    touches: tuple[Touch, ...]     # from the welcome screen to the last answer
    after: tuple[Touch, ...]       # Done, back to the welcome screen for the next patient
    answers: tuple[Answer, ...]    # every answer shown, in order
    screens: tuple[Screen, ...]    # every screen at its end, in order
    screenshots: tuple[str, ...]
    scans: int                     # codes scanned (bursts of keys, not touches)
    timeout: Mapping[str, Any] | None  # for walk_away: what was seen (see the runner)
    seconds: float
    error: str | None

    def count(self, *kinds: str) -> int:
        return sum(1 for touch in self.touches if touch.kind in kinds)

    @property
    def others(self) -> tuple[str, ...]:
        """The touches that were neither letters nor digits, by label."""
        return tuple(f"{t.kind}:{t.label}" for t in self.touches if t.kind in OTHER_KINDS)

    def screen(self, step: str) -> Screen:
        found = [screen for screen in self.screens if screen.step == step]
        if not found:
            raise KeyError(f"{self.name}: no {step} screen; seen "
                           f"{[screen.step for screen in self.screens]}")
        return found[-1]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JourneyResult:
        return cls(**{**data,
                      "touches": tuple(Touch(**t) for t in data["touches"]),
                      "after": tuple(Touch(**t) for t in data["after"]),
                      "answers": tuple(Answer(**{**a, "texts": tuple(a["texts"]),
                                                 "buttons": tuple(a["buttons"])})
                                       for a in data["answers"]),
                      "screens": tuple(Screen(**{**s, "texts": tuple(s["texts"])})
                                       for s in data["screens"]),
                      "screenshots": tuple(data["screenshots"])})


@dataclass(frozen=True)
class RunResult:
    label: str
    screen: Mapping[str, int]             # the X screen: width, height
    kiosk_run: Mapping[str, Any]          # the window as `kiosk run` left it (see runner)
    fitted: Mapping[str, Any] | None      # after setting the screen's geometry, if needed
    journeys: tuple[JourneyResult, ...]
    exceptions: tuple[str, ...]           # uncaught Python exceptions in the kiosk
    qt_warnings: tuple[str, ...]
    startup_seconds: float
    seconds: float                         # the whole process, as the parent measured it
    returncode: int
    stderr: str
    # Scans read a second time after the first had no answer or was refused as a part of a
    # code (keys from xdotool with a gap on a loaded machine): the journey, what came first.
    scanned_twice: tuple[Mapping[str, Any], ...] = ()

    def journey(self, name: str) -> JourneyResult:
        for journey in self.journeys:
            if journey.name == name:
                return journey
        raise KeyError(f"no journey {name!r} in the {self.label} run: "
                       f"{[j.name for j in self.journeys]}; runner said:\n{self.stderr}")


class PendingRun:
    """A runner process started by :func:`start_journeys`; :meth:`result` waits for it."""

    def __init__(self, x: XServer, spec: RunSpec, *,
                 extra_env: Mapping[str, str] | None = None) -> None:
        self.x, self.spec = x, spec
        out = Path(spec.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        spec.spec_path.write_text(json.dumps(spec.to_json(), ensure_ascii=False, indent=1),
                                  encoding="utf-8")
        spec.result_path.unlink(missing_ok=True)
        self.stderr_path = out / f"stderr-{spec.label}.txt"
        env = x.env(KIOSK_CONFIG="", PYTHONPATH=str(ROOT), **(extra_env or {}))
        self.started = time.monotonic()
        with self.stderr_path.open("wb") as said:  # a file: a full pipe would stall it
            self.process = subprocess.Popen(
                [sys.executable, "-m", RUNNER, str(spec.spec_path)], cwd=ROOT, env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=said)

    def result(self) -> RunResult:
        """What the runner saw; :class:`JourneyRunnerError` if it wrote no result (it crashed,
        hung, or its watchdog fired)."""
        spec = self.spec
        try:
            returncode = self.process.wait(timeout=max(
                1.0, spec.watchdog_seconds + 30 - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise JourneyRunnerError(
                f"the runner for {spec.label} outlived its own watchdog "
                f"({spec.watchdog_seconds:.0f} s):\n{self.said()[-4000:]}") from None
        seconds = time.monotonic() - self.started
        said = self.said()
        if not spec.result_path.exists():
            raise JourneyRunnerError(
                f"the runner for {spec.label} exited {returncode} without a result:\n"
                f"{said[-6000:]}")
        data = json.loads(spec.result_path.read_text(encoding="utf-8"))
        if data.get("watchdog"):
            raise JourneyRunnerError(
                f"the runner for {spec.label} hung; its watchdog fired after "
                f"{spec.watchdog_seconds:.0f} s with {len(data['journeys'])} of "
                f"{len(spec.journeys)} journeys done:\n{said[-6000:]}")
        return RunResult(
            label=spec.label, screen=data["screen"], kiosk_run=data["kiosk_run"],
            fitted=data.get("fitted"),
            journeys=tuple(JourneyResult.from_json(j) for j in data["journeys"]),
            exceptions=tuple(data["exceptions"]), qt_warnings=tuple(data["qt_warnings"]),
            startup_seconds=data["startup_seconds"], seconds=seconds,
            returncode=returncode, stderr=said[-6000:],
            scanned_twice=tuple(data.get("scanned_twice", ())))

    def said(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace") \
            if self.stderr_path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_journeys(x: XServer, spec: RunSpec, *,
                   extra_env: Mapping[str, str] | None = None) -> PendingRun:
    """Starts ``spec`` in a runner process on ``x``'s screen; ``.result()`` waits for it."""
    return PendingRun(x, spec, extra_env=extra_env)


def run_journeys(x: XServer, spec: RunSpec, *, extra_env: Mapping[str, str] | None = None,
                 ) -> RunResult:
    """Runs ``spec`` in a runner process on ``x``'s screen and returns what it saw. A runner
    that wrote no result (it crashed, or its watchdog fired) raises
    :class:`JourneyRunnerError` with what it said."""
    return start_journeys(x, spec, extra_env=extra_env).result()


def digits(birth_date: str) -> int:
    """How many digits a patient types for ``birth_date`` (two for day and month, four for
    the year: a leading zero is typed, as the fields ask for)."""
    return 8 if len(birth_date) == 10 else sum(ch.isdigit() for ch in birth_date)


def budget(journey: Journey, others: int = OTHER_TOUCHES) -> int:
    """The most touches a journey may take from the welcome screen: its keys, the date's keys
    (8 digits, or the slips and corrections it lists), ``others`` more (the language or "with
    my name", Next, Check in; one more Next after a given name)."""
    date = len(journey.date_keys) or digits(journey.birth_date)
    return len(journey.keys) + len(journey.given_keys) + date + others + \
        (1 if journey.given_keys else 0)


def describe(results: Sequence[JourneyResult]) -> str:
    """One line per journey, for a report: touches by kind and the other touches by name."""
    lines = []
    for r in results:
        answers = ", ".join(f"{a.outcome}{'/' + a.reason if a.reason else ''} in "
                            f"{a.language} ({a.via})" for a in r.answers)
        lines.append(f"{r.name}: {len(r.touches)} touches (letters {r.count('letter')}, "
                     f"digits {r.count('digit')}, deletes {r.count('delete')}, other "
                     f"{len(r.others)}: {', '.join(r.others)}), scans {r.scans}, "
                     f"{r.seconds:.1f} s, answers: {answers or 'none'}"
                     + (f"; FAILED: {r.error}" if r.error else ""))
    return "\n".join(lines)
