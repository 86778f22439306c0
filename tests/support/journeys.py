"""Patient journeys through the real kiosk window under a real X server, described as data.

A :class:`Journey` says what a patient does, starting from the welcome screen: the language
they choose, the on-screen keys they tap for their family name (key labels, found by their
text: ``W A N G``, or ``ㄱ ㅣ ㅁ`` for a keyboard that composes 김), their date of birth (typed
on the date keypad in the order the screen asks for it) and what the result screen should
greet them with. :func:`run_journeys` hands a list of them to ``python -m
tests.support.journey_runner`` in its own process (the test process renders offscreen; the
runner's window lives on the X server's screen) and returns what it saw: every touch, the
texts of each screen, screenshots, the window's geometry against the screen's, timing.

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
# my name", Next, Check in (the brief's budget is 3; what the kiosk needs is measured).
OTHER_KINDS = ("language", "switch", "button")


class JourneyRunnerError(RuntimeError):
    """The runner process failed before it could write its result."""


@dataclass(frozen=True)
class Journey:
    name: str                       # short and file-name safe: "zh", "ar-portrait"
    language: str                   # the language button the patient taps ("en": none)
    keys: tuple[str, ...]           # labels of the keys tapped for the family name, in order
    birth_date: str                 # ISO date, typed as 8 digits on the keypad
    greeting: str                   # text the result screen's title must contain
    typed: str | None = None        # what the name field must show after the taps
    given_keys: tuple[str, ...] = ()  # if the kiosk asks for the given name too
    language_label: str | None = None  # the language button's text (default: its own name)

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
        return cls(**{**data, "keys": tuple(data["keys"]),
                      "given_keys": tuple(data.get("given_keys", ()))})


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
    kind: str        # letter, digit, language, switch, button
    label: str       # the text of what was touched
    x: int
    y: int           # screen coordinates of the tap
    step: str        # the kiosk's step when it was touched
    seconds: float   # from tap to the effect seen


@dataclass(frozen=True)
class JourneyResult:
    name: str
    outcome: str | None            # CheckinResult.outcome, or None (never reached a result)
    final_step: str
    greeting: str                  # the result screen's title
    typed: str                     # the family-name field after the last key
    touches: tuple[Touch, ...]     # from the welcome screen to the result
    after: tuple[Touch, ...]       # Done, back to the welcome screen for the next patient
    screens: Mapping[str, list[str]]  # step -> the texts it showed (labels, buttons, fields)
    screenshots: tuple[str, ...]
    seconds: float
    error: str | None

    def count(self, *kinds: str) -> int:
        return sum(1 for touch in self.touches if touch.kind in kinds)

    @property
    def others(self) -> tuple[str, ...]:
        """The touches that were neither letters nor digits, by label."""
        return tuple(f"{t.kind}:{t.label}" for t in self.touches if t.kind in OTHER_KINDS)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JourneyResult:
        return cls(**{**data,
                      "touches": tuple(Touch(**t) for t in data["touches"]),
                      "after": tuple(Touch(**t) for t in data["after"]),
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

    def journey(self, name: str) -> JourneyResult:
        for journey in self.journeys:
            if journey.name == name:
                return journey
        raise KeyError(f"no journey {name!r} in the {self.label} run: "
                       f"{[j.name for j in self.journeys]}; runner said:\n{self.stderr}")


def run_journeys(x: XServer, spec: RunSpec, *, extra_env: Mapping[str, str] | None = None,
                 ) -> RunResult:
    """Runs ``spec`` in a runner process on ``x``'s screen and returns what it saw. A runner
    that wrote no result (it crashed, or its watchdog fired) raises
    :class:`JourneyRunnerError` with what it said."""
    out = Path(spec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec.spec_path.write_text(json.dumps(spec.to_json(), ensure_ascii=False, indent=1),
                              encoding="utf-8")
    spec.result_path.unlink(missing_ok=True)
    env = x.env(KIOSK_CONFIG="", PYTHONPATH=str(ROOT), **(extra_env or {}))
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", RUNNER, str(spec.spec_path)], cwd=ROOT,
                              env=env, capture_output=True, text=True,
                              timeout=spec.watchdog_seconds + 30)
    except subprocess.TimeoutExpired as late:
        said = late.stderr.decode(errors="replace") if isinstance(late.stderr, bytes) \
            else (late.stderr or "")
        raise JourneyRunnerError(f"the runner for {spec.label} outlived its own watchdog "
                                 f"({spec.watchdog_seconds:.0f} s):\n{said[-4000:]}") from None
    seconds = time.monotonic() - started
    if not spec.result_path.exists():
        raise JourneyRunnerError(
            f"the runner for {spec.label} exited {done.returncode} without a result:\n"
            f"{done.stderr[-6000:]}")
    data = json.loads(spec.result_path.read_text(encoding="utf-8"))
    if data.get("watchdog"):
        raise JourneyRunnerError(
            f"the runner for {spec.label} hung; its watchdog fired after "
            f"{spec.watchdog_seconds:.0f} s with {len(data['journeys'])} of "
            f"{len(spec.journeys)} journeys done:\n{done.stderr[-6000:]}")
    return RunResult(
        label=spec.label, screen=data["screen"], kiosk_run=data["kiosk_run"],
        fitted=data.get("fitted"),
        journeys=tuple(JourneyResult.from_json(j) for j in data["journeys"]),
        exceptions=tuple(data["exceptions"]), qt_warnings=tuple(data["qt_warnings"]),
        startup_seconds=data["startup_seconds"], seconds=seconds,
        returncode=done.returncode, stderr=done.stderr[-6000:])


def digits(birth_date: str) -> int:
    """How many digits a patient types for ``birth_date`` (two for day and month, four for
    the year: a leading zero is typed, as the fields ask for)."""
    return 8 if len(birth_date) == 10 else sum(ch.isdigit() for ch in birth_date)


def budget(journey: Journey, others: int = 3) -> int:
    """The most touches a journey may take from the welcome screen: its keys, 8 date digits,
    ``others`` more (the language, the script switch, Next, ...)."""
    return len(journey.keys) + len(journey.given_keys) + digits(journey.birth_date) + others


def describe(results: Sequence[JourneyResult]) -> str:
    """One line per journey, for a report: touches by kind and the other touches by name."""
    lines = []
    for r in results:
        lines.append(f"{r.name}: {len(r.touches)} touches (letters {r.count('letter')}, "
                     f"digits {r.count('digit')}, other {len(r.others)}: "
                     f"{', '.join(r.others)}), {r.seconds:.1f} s, outcome {r.outcome}")
    return "\n".join(lines)
