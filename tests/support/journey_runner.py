"""The kiosk window on a real X screen, tapped like a patient taps it.

    DISPLAY=:N QT_QPA_PLATFORM=xcb python -m tests.support.journey_runner SPEC.json

SPEC.json is a :class:`tests.support.journeys.RunSpec`. The runner opens the prepared database
with the spec's fixed clock, builds the real window (``ui.app.build_kiosk``), locks it down as
``kiosk run`` does (resized to 1280 x 800, then ``ui.app.lock_down``: frameless, on top,
``showFullScreen``), measures what X says the window covers, and, if it does not cover the
screen and the spec allows, sets its geometry to the screen's so the journeys can go on (the
measurement before is kept: the tests judge it). Then, for each journey, from the welcome
screen: the language button (which opens the name screen in that language) or, in the default
language, "Check in with your name"; the family name key by key (switching the keyboard's
script when a key is not shown), Next, the date digits, Check in; the given name if asked; at
the result, Done for the next patient. A patient with a code scans it instead: ``xdotool
type`` plays a keyboard-wedge scanner's burst of keys (8 ms a key, then Enter) into the window,
which the kiosk's scanner filter must tell from a person typing.

Every touch is a real X pointer click (``xdotool mousemove --sync X Y click 1``) at the centre
of a widget found in the widget tree by its text (never a fixed pixel), after checking that
the widget is on the screen and is what lies at that point; then Qt runs until the touch's
effect shows, for at most ``tap_seconds``.

Time: the runner owns the kiosk's clock (a ``FixedClock``, as ``kiosk --now`` owns a drill's).
A journey may set it (:attr:`Journey.clock`: a patient who comes late, or early). A patient who
walks away (:attr:`Journey.walk_away`) is not waited for in real time: the runner moves the
clock on by the kiosk's own ``Timing.idle_seconds`` (45 s), lets the window's once-a-second
tick raise the warning, then by ``Timing.warning_seconds`` (20 s) and lets it clear the screen.
The kiosk has no setting for these times (``ui.app.build_kiosk`` takes a ``Timing`` in code
only, and the warning may not be shorter than 20 s); moving the clock exercises the real ones
in about a second.

The result (SPEC's ``result_path``) lists every touch, every answer the kiosk gave, the texts
and a screenshot of each screen, the geometries and the timing. Exit status: 0 all journeys
ran without error, 1 a journey failed (the result says which and why), 2 bad invocation, 3 the
watchdog fired (a hang: every thread's traceback is on standard error).
"""

from __future__ import annotations

import faulthandler
import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
import unicodedata
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QMessageLogContext, QPoint, QRect, QtMsgType
from PySide6.QtCore import qInstallMessageHandler as install_message_handler
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from kiosk.base.clock import FixedClock
from kiosk.base.i18n import is_right_to_left, native_name, translate
from kiosk.domain import texts
from kiosk.domain.flow import Step
from kiosk.domain.results import Outcome
from kiosk.store.db import Database
from kiosk.store.site import SiteContext
from tests.support.journeys import DELETE_KEY, Journey, RunSpec
from tests.support.site import make_settings
from tests.support.x11 import XServerError, window_geometry
from ui.app import build_kiosk, lock_down

EXIT_FAILED, EXIT_USAGE, EXIT_WATCHDOG = 1, 2, 3
KIOSK_RUN_SIZE = (1280, 800)   # what `kiosk run` resizes the window to before locking it down
SETTLE_SECONDS = 3.0           # for the window to take the screen (lockdown re-checks each 1 s)
EXPOSE_SECONDS = 20.0
ANSWER_SECONDS = 30.0          # Check in: the engine answers on a worker thread
SCAN_SECONDS = 8.0             # a scan's answer; after that the code is scanned once more
SCAN_KEY_DELAY_MS = 8          # between a scanner's keys (seen: 7-16 ms)
TICK_SECONDS = 5.0             # for the window's once-a-second tick to act on the clock
XDOTOOL_SECONDS = 10.0
SETTLE_TAP_SECONDS = 3.0       # for a widget about to be tapped to stop moving
ANSWERED = (Step.RESULT, Step.GIVEN_NAME, Step.ERROR)


class JourneyFailed(Exception):
    """A touch had no effect, or what was to be touched is not on the screen."""


def fold(text: str) -> str:
    """For comparing a key's label with the letter asked for: case and composition aside, and
    without the dotted circle a vowel-sign key may show its mark on (◌ू)."""
    return unicodedata.normalize("NFC", text.replace("\u25cc", "")).casefold()


def digit_value(text: str) -> int | None:
    """The value of a key showing one digit of any script (5, ٥, ۵), else None."""
    text = text.strip()
    return unicodedata.decimal(text) if len(text) == 1 and text.isdecimal() else None


def ascii_digits(text: str) -> str:
    """A field's digits as 0-9, whatever script it shows them in."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


class Runner:
    def __init__(self, spec: RunSpec, app: QApplication, window: QWidget, clock: FixedClock,
                 report: dict[str, Any]) -> None:
        self.spec, self.app, self.window, self.report = spec, app, window, report
        self.clock = clock
        self.flow = window.flow  # type: ignore[attr-defined]
        self.out = Path(spec.out_dir)
        self.touches: list[dict[str, Any]] = []
        self.pointer: tuple[int, int] | None = None
        self.shots: list[str] = []
        self.screens: list[dict[str, Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.scans = 0
        self.timeout: dict[str, Any] | None = None
        self.report_typed = ""  # the family name as the field showed it after the keys
        self.encoder = ThreadPoolExecutor(max_workers=1)
        self.saving: list[tuple[Path, Future[bool]]] = []
        self.journey: Journey | None = None

    # -- waiting and looking ---------------------------------------------------------------

    def wait_until(self, check: Callable[[], bool], seconds: float) -> bool:
        """Let Qt run (timers, the worker's answers, X events) until ``check`` holds."""
        deadline = time.monotonic() + seconds
        while True:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if check():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def page(self) -> QWidget:
        """The page on screen: the stacked widget's current one."""
        stack = self.window.findChild(QStackedWidget)
        if stack is None or stack.currentWidget() is None:
            raise JourneyFailed("the window has no stacked pages")
        return stack.currentWidget()

    def tr(self, message: str) -> str:
        return translate(message, self.flow.language)

    def buttons_shown(self, root: QWidget) -> list[str]:
        return sorted({b.text() for b in root.findChildren(QAbstractButton)
                       if b.isVisible() and b.text()})

    def button(self, text: str, what: str, root: QWidget | None = None) -> QAbstractButton:
        """The visible button on the current page (or ``root``) showing ``text``."""
        root = root or self.page()
        found = [b for b in root.findChildren(QAbstractButton)
                 if b.isVisible() and text in (b.text(), b.accessibleName())]
        if len(found) != 1:
            raise JourneyFailed(f"{len(found)} visible buttons {text!r} ({what}) on the "
                                f"{self.flow.step} screen; buttons shown: "
                                f"{self.buttons_shown(root)}")
        return found[0]

    def keyboard(self) -> QWidget:
        board = self.page().findChild(QWidget, "keyboard")
        if board is None or not board.isVisible():
            raise JourneyFailed(f"no visible keyboard (objectName 'keyboard') on the "
                                f"{self.flow.step} screen")
        return board

    def keys(self, root: QWidget) -> list[QPushButton]:
        return [key for key in root.findChildren(QPushButton)
                if key.property("role") == "key" and key.isVisible()]

    def key(self, root: QWidget, label: str) -> QPushButton | None:
        keys = self.keys(root)
        for match in (lambda k: k.text() == label, lambda k: fold(k.text()) == fold(label),
                      lambda k: fold(k.accessibleName()) == fold(label)):
            found = [key for key in keys if match(key)]
            if found:
                return found[0]
        return None

    def digit_key(self, root: QWidget, digit: str) -> QPushButton | None:
        """The keypad key for ``digit`` (0-9), whatever digits it shows (٣ in Arabic)."""
        wanted = int(digit)
        for key in self.keys(root):
            if wanted in (digit_value(key.text()), digit_value(key.accessibleName())):
                return key
        return None

    def script_switch(self, board: QWidget) -> QPushButton | None:
        """The key that toggles between the patient's letters and "A B C": the one named
        ``keyboard-switch`` if the window names it, else the one visible button of the
        keyboard that is not a letter key, Space, Delete, Back, Next or another action."""
        named = board.findChild(QPushButton, "keyboard-switch")
        if named is not None and named.isVisible():
            return named
        switch = getattr(board, "switch", None)
        if isinstance(switch, QPushButton) and switch.isVisible():
            return switch
        others = {self.tr(texts.KEY_SPACE), self.tr(texts.KEY_DELETE), self.tr(texts.BACK),
                  self.tr(texts.NEXT)}
        found = [b for b in board.findChildren(QPushButton)
                 if b.isVisible() and b.property("role") != "key" and b.text()
                 and b.accessibleName() not in others and b.text() not in others]
        return found[0] if len(found) == 1 else None

    def texts_on_screen(self) -> list[str]:
        """What the window shows now: labels, buttons and fields (not the letter keys)."""
        seen: list[str] = []
        for widget in self.window.findChildren(QWidget):
            if not widget.isVisible() or widget.property("role") == "key":
                continue
            if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
                text = " ".join(widget.text().split())
                if text and text not in seen:
                    seen.append(text)
        return seen

    def every_text(self) -> list[str]:
        """Every label's and field's text in the window, shown or hidden, every page."""
        found = []
        for widget in self.window.findChildren(QWidget):
            if isinstance(widget, QLabel | QLineEdit) and widget.text().strip():
                found.append(" ".join(widget.text().split()))
        return found

    def title_label(self) -> QLabel | None:
        """The screen's heading: its title, or on an answer without a ticket the lead text
        that says what to do instead."""
        for role in ("title", "lead"):
            for label in self.page().findChildren(QLabel):
                if label.property("role") == role and label.isVisible() and label.text():
                    return label
        return None

    def title(self) -> str:
        label = self.title_label()
        return label.text() if label is not None else ""

    def problem(self) -> str:
        return " ".join(label.text() for label in self.page().findChildren(QLabel)
                        if label.property("role") == "problem" and label.isVisible()
                        and label.text())

    def end_of_screen(self, step: str | None = None) -> None:
        """The screen is done: its texts and a screenshot of the window."""
        assert self.journey is not None
        step = step or str(self.flow.step)
        path = self.out / (f"{self.spec.label}-{self.journey.name}-{len(self.shots) + 1:02d}-"
                           f"{step}.png")
        self.save(self.window.grab().toImage(), path)
        self.shots.append(str(path))
        self.screens.append({"step": step, "language": self.flow.language,
                             "texts": self.texts_on_screen(), "screenshot": str(path),
                             **focus_of(QApplication.focusWidget())})

    def save(self, image: QImage, path: Path) -> None:
        """PNG-encoded on another thread while the patient goes on (the grab itself is
        taken now); :meth:`saved` waits for them all."""
        self.saving.append((path, self.encoder.submit(image.save, str(path))))

    def saved(self) -> None:
        failed = [str(path) for path, done in self.saving if not done.result()]
        self.saving = []
        if failed:
            raise JourneyFailed(f"could not save the screenshots {failed}")

    def screen_shot(self, name: str) -> str:
        """The whole X screen (what a patient would see, window or not)."""
        path = self.out / f"{self.spec.label}-{name}-screen.png"
        screen = self.window.screen() or QGuiApplication.primaryScreen()
        self.save(screen.grabWindow(0).toImage(), path)
        return str(path)

    # -- touching --------------------------------------------------------------------------

    def settled_centre(self, widget: QWidget) -> QPoint:
        """``widget``'s centre on the screen once layouts have settled: a page that just came
        up (or a keyboard that changed script) still moves its keys on the next pass of the
        event loop, and a tap aimed at the old place lands on a neighbour."""
        deadline = time.monotonic() + SETTLE_TAP_SECONDS
        centre = None
        while time.monotonic() < deadline:
            QApplication.sendPostedEvents()
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            now = widget.mapToGlobal(widget.rect().center())
            if now == centre:
                return now
            centre = now
            time.sleep(0.005)
        raise JourneyFailed(f"{describe(widget)} kept moving for {SETTLE_TAP_SECONDS} s")

    def tap(self, widget: QWidget, kind: str, expect: Callable[[], bool], what: str,
            seconds: float | None = None, log: list[dict[str, Any]] | None = None) -> None:
        """A real X click at ``widget``'s centre; then Qt runs until ``expect()`` holds and,
        for a button, until that very button says it was clicked (not a neighbour)."""
        label = widget.text() if isinstance(widget, QAbstractButton) else what
        centre = self.settled_centre(widget)
        x, y = centre.x(), centre.y()
        screen = self.window.screen().geometry()
        if not screen.contains(centre):
            raise JourneyFailed(f"{what} ({label!r}) is off the screen: its centre is at "
                                f"({x}, {y}), the screen {rect(screen)}")
        under = QApplication.widgetAt(centre)
        if under is None or not (under is widget or widget.isAncestorOf(under)):
            raise JourneyFailed(f"{what} ({label!r}) is covered at ({x}, {y}) by "
                                f"{describe(under)}")
        clicked: list[bool] = []
        if isinstance(widget, QAbstractButton):
            widget.clicked.connect(lambda *_: clicked.append(True))
        else:
            clicked.append(True)
        step = str(self.flow.step)
        started = time.monotonic()
        command = ["xdotool", "mousemove", "--sync", str(x), str(y), "click", "1"]
        if self.pointer == (x, y):  # already there: --sync would wait for a move
            command = ["xdotool", "click", "1"]
        done = subprocess.run(command, capture_output=True, text=True, check=False,
                              timeout=XDOTOOL_SECONDS)
        if done.returncode != 0:
            raise JourneyFailed(f"{' '.join(command)} failed: {done.stderr.strip()}")
        self.pointer = (x, y)
        touch = {"kind": kind, "label": label, "x": x, "y": y, "step": step, "seconds": 0.0}
        (self.touches if log is None else log).append(touch)
        limit = self.spec.tap_seconds if seconds is None else seconds
        if not self.wait_until(lambda: bool(clicked) and expect(), limit):
            problem = self.problem()
            raise JourneyFailed(
                f"tapped {what} ({label!r}) at ({x}, {y}) on the {step} screen: "
                + ("the button never said it was clicked" if not clicked else "nothing")
                + f" happened within {limit:.0f} s (now on {self.flow.step}"
                + (f", the screen says {problem!r}" if problem else "") + ")")
        touch["seconds"] = round(time.monotonic() - started, 3)

    def start(self, journey: Journey) -> None:
        """From the welcome screen to the name screen in the patient's language: one touch,
        their language (which opens the name screen), or in the language already shown,
        "Check in with your name"."""
        if self.flow.language == journey.language:
            self.tap(self.button(self.tr(texts.WELCOME_NAME), "with my name"), "button",
                     lambda: self.flow.step == Step.FAMILY_NAME, "with my name")
            return
        label = journey.language_label or native_name(journey.language)
        self.tap(self.button(label, "the language"), "language",
                 lambda: self.flow.language == journey.language
                 and self.flow.step == Step.FAMILY_NAME, f"the language {label}")

    def name_field(self) -> QLineEdit:
        fields = [f for f in self.page().findChildren(QLineEdit) if f.isVisible()]
        if len(fields) != 1:
            raise JourneyFailed(f"{len(fields)} visible text fields on the {self.flow.step} "
                                "screen, expected the name field alone")
        return fields[0]

    def type_name(self, keys: tuple[str, ...]) -> str:
        """Each key by its label (" " is Space); the keyboard's script switched when the key
        is not shown."""
        field = self.name_field()
        for label in keys:
            board = self.keyboard()
            if label == " ":
                key: QAbstractButton | None = self.button(self.tr(texts.KEY_SPACE), "Space",
                                                          root=board)
            else:
                key = self.key(board, label)
            if key is None:
                switch = self.script_switch(board)
                shown = "".join(k.text() for k in self.keys(board))
                if switch is None:
                    raise JourneyFailed(f"no key {label!r} on the keyboard and no script "
                                        f"switch to find it; keys shown: {shown}")
                self.tap(switch, "switch",
                         lambda before=shown, b=board: "".join(
                             k.text() for k in self.keys(b)) != before,
                         "the script switch")
                key = self.key(board, label)
                if key is None:
                    raise JourneyFailed(
                        f"no key {label!r} in either script; keys shown before: {shown}, "
                        f"after the switch: {''.join(k.text() for k in self.keys(board))}")
            before = field.text()
            self.tap(key, "letter", lambda b=before: field.text() != b, f"the key {label!r}")
        return field.text()

    def date_fields(self) -> dict[str, QLineEdit]:
        names = {self.tr(texts.DAY): "day", self.tr(texts.MONTH): "month",
                 self.tr(texts.YEAR): "year"}
        # A field's accessible name is its caption, then what it wants ("Day (DD)").
        fields = {names[caption]: f for f in self.page().findChildren(QLineEdit)
                  if f.isVisible() for caption in names
                  if f.accessibleName() == caption or f.accessibleName().startswith(caption + " (")}
        if len(fields) != 3:
            raise JourneyFailed(f"the date fields (accessible names {sorted(names)}) are not "
                                f"all shown: found {sorted(fields)}")
        return fields

    def type_date(self, born: date, keys: tuple[str, ...] = (), stop_after: int | None = None,
                  ) -> None:
        """The date digits, field by field in the order the screen reads (right to left in
        Arabic and Persian); each digit must land in the field it is meant for. With ``keys``,
        those keypad keys in that order (slips and ⌫ included), after which the fields must
        hold ``born``. ``stop_after``: the patient stops after that many digits."""
        page = self.page()
        fields = self.date_fields()
        values = {"day": f"{born.day:02d}", "month": f"{born.month:02d}",
                  "year": f"{born.year:04d}"}
        backwards = is_right_to_left(self.flow.language)
        order = sorted(fields, key=lambda n: fields[n].mapToGlobal(QPoint(0, 0)).x(),
                       reverse=backwards)
        self.report.setdefault("date_order", {})[self.flow.language] = order

        def shown() -> dict[str, str]:
            return {n: ascii_digits(f.text()) for n, f in fields.items()}

        if keys:
            for label in keys:
                before = shown()
                if label == DELETE_KEY:
                    key = self.key(page, DELETE_KEY)
                    kind, what = "delete", "the delete key"
                else:
                    key = self.digit_key(page, label)
                    kind, what = "digit", f"the digit {label}"
                if key is None:
                    raise JourneyFailed(f"no key {label!r} on the date keypad")
                self.tap(key, kind, lambda b=before: shown() != b, what)
            if shown() != values:
                raise JourneyFailed(f"the keys {' '.join(keys)} left the date fields at "
                                    f"{shown()}, not {values}")
            return
        typed = 0
        for name in order:
            field = fields[name]
            for digit in values[name]:
                if stop_after is not None and typed >= stop_after:
                    return
                before = shown()
                key = self.digit_key(page, digit)
                if key is None:
                    raise JourneyFailed(f"no key {digit!r} on the date keypad")
                try:
                    self.tap(key, "digit", lambda f=field, b=before[name]:
                             ascii_digits(f.text()) != b, f"the digit {digit} for the {name}")
                except JourneyFailed as problem:
                    raise JourneyFailed(f"{problem}; the fields went from {before} to "
                                        f"{shown()}") from None
                typed += 1
                if ascii_digits(field.text()) != before[name] + digit:
                    raise JourneyFailed(f"the digit {digit} for the {name} made it "
                                        f"{field.text()!r} (was {before[name]!r})")

    # -- scanning --------------------------------------------------------------------------

    def xdotool(self, *args: str) -> None:
        """An X tool run while Qt goes on handling what it sends."""
        process = subprocess.Popen(["xdotool", *args], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + XDOTOOL_SECONDS
        while process.poll() is None:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise JourneyFailed(f"xdotool {' '.join(args)} took over {XDOTOOL_SECONDS} s")
            time.sleep(0.002)
        if process.returncode != 0:
            said = process.stderr.read().strip() if process.stderr else ""
            raise JourneyFailed(f"xdotool {' '.join(args)} failed: {said}")

    def scan(self, token: str) -> None:
        """A keyboard-wedge scanner reads ``token``: its keys at scanner speed, then Enter,
        into the kiosk window (which has the keyboard focus, as a kiosk's only window has).
        Not a touch. On a loaded machine xdotool's keys can come with gaps a scanner never
        has (the burst is then read as typing, or as part of a code); like a patient whose
        scan did nothing or was refused, the code is scanned once more."""
        before = self.flow.result
        self.xdotool("windowfocus", "--sync", str(int(self.window.winId())))
        for attempt in range(2):
            # One process for the code and its Enter (chained commands: --args 1 ends the
            # text): a second process for the Enter would take longer to start than the gap
            # a scanner leaves before it.
            self.xdotool("type", "--delay", str(SCAN_KEY_DELAY_MS), "--args", "1", token,
                         "key", "Return")
            self.scans += 1
            if self.wait_until(lambda b=before: self.flow.step in (Step.RESULT, Step.ERROR)
                               and self.flow.result is not b, SCAN_SECONDS):
                result = self.flow.result
                split = result is not None and result.outcome is Outcome.INVALID_CODE
                if attempt or not split:
                    return
                # A gap in the keys split the burst: the kiosk read part of the code and
                # said so. The patient scans again (kept in the report, not hidden).
                self.report.setdefault("scanned_twice", []).append(
                    {"journey": self.journey.name if self.journey else "",
                     "first": result.outcome.value, "texts": self.texts_on_screen()})
                before = result
                continue
            self.report.setdefault("scanned_twice", []).append(
                {"journey": self.journey.name if self.journey else "", "first": None,
                 "texts": self.texts_on_screen()})
        raise JourneyFailed(f"the scan of {token!r} had no answer within {SCAN_SECONDS:.0f} s "
                            f"(twice); now on {self.flow.step}, the screen says "
                            f"{self.texts_on_screen()}")

    # -- answers ---------------------------------------------------------------------------

    def answer(self, via: str) -> dict[str, Any]:
        """The answer on the screen: recorded, with a screenshot."""
        if self.flow.step != Step.RESULT or self.flow.result is None:
            raise JourneyFailed(f"no answer: on {self.flow.step}, the screen says "
                                f"{self.problem() or self.texts_on_screen()}")
        self.wait_until(lambda: bool(self.title()), 5)
        result = self.flow.result
        answer = {
            "outcome": result.outcome.value,
            "reason": result.reason.value if result.reason else None,
            "language": self.flow.language, "title": self.title(),
            "texts": self.texts_on_screen(), "buttons": self.buttons_shown(self.page()),
            "retry_at": iso(getattr(result, "retry_at", None)),
            "opens_at": iso(result.opens_at), "via": via,
            # The title's box against what its text needs at its width: a box kept from a
            # longer text before shows as a gap above and below a short title.
            "title_box": self.title_box()}
        self.answers.append(answer)
        self.end_of_screen()
        return answer

    def title_box(self) -> dict[str, int]:
        label = self.title_label()
        if label is None:
            return {}
        return {"y": label.mapTo(self.window, QPoint(0, 0)).y(), "height": label.height(),
                "needed": label.heightForWidth(label.width())}

    def check_in(self, journey: Journey, first: bool) -> None:
        """On the name screen: the name (unless kept from the try before), Next, the date
        (unless kept), Check in, the given name if asked; ends on the answer."""
        field = self.name_field()
        if not field.text():
            typed = self.type_name(journey.keys)
            if journey.typed is not None and fold(typed) != fold(journey.typed):
                raise JourneyFailed(f"the keys {' '.join(journey.keys)} typed {typed!r}, "
                                    f"not {journey.typed!r}")
            if first:
                self.report_typed = typed
        self.end_of_screen()
        self.tap(self.button(self.tr(texts.NEXT), "Next"), "button",
                 lambda: self.flow.step != Step.FAMILY_NAME, "Next")
        if self.flow.step != Step.BIRTH_DATE:
            raise JourneyFailed(f"Next led to {self.flow.step}: {self.problem()!r}")
        born = date.fromisoformat(journey.birth_date)
        if journey.walk_away is not None:
            self.type_date(born, stop_after=journey.walk_away)
            self.walk_away()
            return
        kept = {name: ascii_digits(f.text()) for name, f in self.date_fields().items()}
        if not any(kept.values()):
            self.type_date(born, journey.date_keys)
        self.end_of_screen()
        self.tap(self.button(self.tr(texts.CHECK_IN), "Check in"), "button",
                 lambda: self.flow.step in ANSWERED or bool(self.problem()),
                 "Check in", seconds=ANSWER_SECONDS)
        if self.flow.step == Step.GIVEN_NAME:
            if not journey.given_keys:
                raise JourneyFailed("the kiosk asked for the given name; the journey "
                                    "has no given_keys")
            self.type_name(journey.given_keys)
            self.end_of_screen()
            self.tap(self.button(self.tr(texts.NEXT), "Next"), "button",
                     lambda: self.flow.step in (Step.RESULT, Step.ERROR)
                     or bool(self.problem()), "Next (given name)", seconds=ANSWER_SECONDS)
        elif journey.given_keys:
            raise JourneyFailed(f"the kiosk did not ask for the given name: on "
                                f"{self.flow.step}, {self.problem() or self.texts_on_screen()}")
        self.answer("touch")

    def try_again(self, journey: Journey) -> None:
        """After "not found": Try again (the name and date stay, to be checked), or where the
        kiosk no longer offers it, Start over (the patient's language stays) and the name
        screen again."""
        page = self.page()
        again = [b for b in page.findChildren(QAbstractButton)
                 if b.isVisible() and b.text() == self.tr(texts.TRY_AGAIN)]
        if again:
            self.tap(again[0], "button", lambda: self.flow.step == Step.FAMILY_NAME,
                     "Try again")
            return
        self.tap(self.button(self.tr(texts.START_OVER), "Start over", root=self.window),
                 "button", lambda: self.flow.step == Step.WELCOME, "Start over")
        if self.flow.language != journey.language:
            raise JourneyFailed(f"Start over changed the language to {self.flow.language}")
        self.end_of_screen()
        self.start(journey)

    def walk_away(self) -> None:
        """The patient leaves in the middle of the date. The clock moves on by the kiosk's
        own idle time, the warning must come in the patient's language; then by the warning's
        time, and the welcome screen must come back in the default language with nothing of
        the patient anywhere in the window."""
        timing = self.flow.timing
        overlay: QWidget = self.window.overlay  # type: ignore[attr-defined]
        typed = self.report_typed
        self.end_of_screen()
        started = time.monotonic()
        self.clock.advance(seconds=timing.idle_seconds)
        if not self.wait_until(overlay.isVisible, TICK_SECONDS):
            raise JourneyFailed(f"no warning {timing.idle_seconds:.0f} s after the last touch "
                                f"(on {self.flow.step})")
        warning = {"language": self.flow.language, "step": str(self.flow.step),
                   "seconds_left": self.flow.warning_seconds_left,
                   "texts": [" ".join(w.text().split()) for kind in (QLabel, QAbstractButton)
                             for w in overlay.findChildren(kind)
                             if w.isVisible() and w.text()],
                   "covered": QApplication.widgetAt(overlay.mapToGlobal(
                       overlay.rect().center())) is not None}
        self.end_of_screen("timeout")
        self.clock.advance(seconds=timing.warning_seconds)
        if not self.wait_until(lambda: self.flow.step == Step.WELCOME
                               and not overlay.isVisible(), TICK_SECONDS):
            raise JourneyFailed(f"still on {self.flow.step} {timing.warning_seconds:.0f} s "
                                "after the warning")
        self.wait_until(lambda: False, 0.3)  # let the page settle before it is photographed
        self.end_of_screen()
        fields = {f.accessibleName() or f.objectName(): f.text()
                  for f in self.window.findChildren(QLineEdit)}
        self.timeout = {
            "idle_seconds": timing.idle_seconds, "warning_seconds": timing.warning_seconds,
            "real_seconds": round(time.monotonic() - started, 2), "warning": warning,
            "after": {"step": str(self.flow.step), "language": self.flow.language,
                      "default_language": self.flow.default_language,
                      "texts": self.texts_on_screen(), "fields": fields,
                      "typed_left": [text for text in self.every_text()
                                     if typed and fold(typed) in fold(text)],
                      "family": self.flow.family, "birth_date": iso(self.flow.birth_date)}}

    # -- a journey -------------------------------------------------------------------------

    def run(self, journey: Journey) -> dict[str, Any]:
        self.journey, self.touches, self.shots, self.screens = journey, [], [], []
        self.answers, self.scans, self.timeout, self.report_typed = [], 0, None, ""
        after: list[dict[str, Any]] = []
        started = time.monotonic()
        error = None
        try:
            if self.flow.step != Step.WELCOME:
                raise JourneyFailed(f"the journey starts on {self.flow.step}, not welcome")
            if journey.clock is not None:
                self.clock.set(datetime.fromisoformat(journey.clock))
                self.wait_until(lambda: False, 0.05)
            self.end_of_screen()
            if journey.scan is not None:
                self.scan(journey.scan)
                self.answer("scan")
            else:
                self.start(journey)
                for attempt in range(journey.attempts):
                    if attempt:
                        self.try_again(journey)
                    self.check_in(journey, first=not attempt)
                    if self.timeout is not None:
                        break
                    if attempt + 1 < journey.attempts and self.answers[-1]["outcome"] not in (
                            "not_found", "locked"):
                        raise JourneyFailed(f"try {attempt + 1} of {journey.attempts} "
                                            f"answered {self.answers[-1]['outcome']}")
                if journey.then_scan is not None:
                    self.scan(journey.then_scan)
                    self.answer("scan")
            if self.flow.step == Step.RESULT:
                self.shots.append(self.screen_shot(journey.name))
        except JourneyFailed as problem:
            error = str(problem)
        except Exception:
            error = "runner error:\n" + traceback.format_exc()
        outcome = self.answers[-1]["outcome"] if self.answers else None
        final_step, greeting = str(self.flow.step), self.title()
        seconds = time.monotonic() - started
        if error is not None:
            path = self.out / f"{self.spec.label}-{journey.name}-failed.png"
            self.window.grab().save(str(path))
            self.shots.append(str(path))
            self.screens.append({"step": "failed", "language": self.flow.language,
                                 "texts": self.texts_on_screen(), "screenshot": str(path)})
        try:  # the next patient: Done, as a patient would; else the flow is reset
            if self.flow.step == Step.RESULT:
                self.tap(self.button(self.tr(texts.DONE), "Done"), "button",
                         lambda: self.flow.step == Step.WELCOME, "Done", log=after)
        except JourneyFailed as problem:
            error = error or f"after the result: {problem}"
        if self.flow.step != Step.WELCOME or not self.flow.new_patient:
            self.flow.reset()
            self.wait_until(lambda: self.flow.step == Step.WELCOME, 5)
        try:
            self.saved()
        except JourneyFailed as problem:
            error = error or str(problem)
        return {"name": journey.name, "outcome": outcome, "final_step": final_step,
                "greeting": greeting, "typed": self.report_typed, "touches": self.touches,
                "after": after, "answers": self.answers, "screens": self.screens,
                "screenshots": self.shots, "scans": self.scans, "timeout": self.timeout,
                "seconds": round(seconds, 2), "error": error}

    # -- the window and the screen ---------------------------------------------------------

    def measure(self) -> dict[str, Any]:
        """The window as Qt and as X see it, against the screen."""
        window = self.window
        screen = window.screen().geometry()
        try:
            seen = window_geometry(int(window.winId()))
            x_geometry = [seen.x, seen.y, seen.width, seen.height]
        except XServerError as problem:
            x_geometry = [-1, -1, -1, -1]
            self.report.setdefault("problems", []).append(str(problem))
        return {"screen": rect(screen), "qt": rect(window.geometry()), "x": x_geometry,
                "is_full_screen": window.isFullScreen(),
                "covers": x_geometry == rect(screen)}


def focus_of(widget: QWidget | None) -> dict[str, Any]:
    """The widget with the keyboard focus, and whether Enter (or Space) there would toggle
    something: a language button or a display switch."""
    return {"focus": describe(widget),
            "focus_toggles": isinstance(widget, QAbstractButton) and widget.isCheckable()}


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def describe(widget: QWidget | None) -> str:
    if widget is None:
        return "nothing of this window"
    text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
    return f"{type(widget).__name__} {widget.objectName()!r} {text!r}".strip()


def start_watchdog(seconds: float, spec: RunSpec, report: dict[str, Any]) -> threading.Timer:
    def fire() -> None:
        sys.stderr.write(f"journey runner: watchdog: still running after {seconds:.0f} s; "
                         f"every thread's traceback follows\n")
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        try:
            report["watchdog"] = True
            write(spec, report)
        finally:
            sys.stderr.flush()
            os._exit(EXIT_WATCHDOG)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    return timer


def write(spec: RunSpec, report: dict[str, Any]) -> None:
    text = json.dumps(report, ensure_ascii=False, indent=1, default=str)
    temporary = spec.result_path.with_suffix(".part")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(spec.result_path)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m tests.support.journey_runner SPEC.json", file=sys.stderr)
        return EXIT_USAGE
    spec = RunSpec.from_json(json.loads(Path(argv[1]).read_text(encoding="utf-8")))
    report: dict[str, Any] = {"label": spec.label, "screen": {}, "kiosk_run": {},
                              "fitted": None, "journeys": [], "exceptions": [],
                              "qt_warnings": [], "startup_seconds": None}
    start_watchdog(spec.watchdog_seconds, spec, report)
    if os.environ.get("QT_QPA_PLATFORM") != "xcb" or not os.environ.get("DISPLAY"):
        print("journey runner: needs DISPLAY and QT_QPA_PLATFORM=xcb (a real X server)",
              file=sys.stderr)
        return EXIT_USAGE
    started = time.monotonic()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")

    def qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        if kind != QtMsgType.QtDebugMsg and kind != QtMsgType.QtInfoMsg:
            report["qt_warnings"].append(message)
            print(f"qt: {message}", file=sys.stderr)

    install_message_handler(qt_message)
    settings = make_settings(spec.database_url, **spec.settings)
    clock = FixedClock(datetime.fromisoformat(spec.now))
    ctx = SiteContext.open(settings, Database(spec.database_url), clock)
    window = build_kiosk(ctx)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    # `kiosk run` (ui.app.run_windows): the window at 1280 x 800, then locked down.
    window.resize(*KIOSK_RUN_SIZE)
    lockdown = lock_down(ctx.settings, ctx.clock, window, lambda: ctx)
    window.build_pages()  # as `kiosk run` does right after its first frame
    kiosk_hook = sys.excepthook

    def on_exception(kind: type[BaseException], error: BaseException, trace: Any) -> None:
        report["exceptions"].append("".join(traceback.format_exception(kind, error, trace)))
        print(report["exceptions"][-1], file=sys.stderr)
        kiosk_hook(kind, error, trace)  # the lockdown's: back to the welcome screen

    sys.excepthook = on_exception
    runner = Runner(spec, app, window, clock, report)
    handle = window.windowHandle()
    if not runner.wait_until(lambda: handle is not None and handle.isExposed(),
                             EXPOSE_SECONDS):
        print(f"journey runner: the window was not shown within {EXPOSE_SECONDS:.0f} s",
              file=sys.stderr)
        write(spec, report)
        return EXIT_FAILED
    screen = window.screen().geometry()
    report["screen"] = {"width": screen.width(), "height": screen.height()}
    # As `kiosk run` leaves it: covering the screen, or not (lockdown re-checks each second).
    runner.wait_until(lambda: runner.measure()["covers"], SETTLE_SECONDS)
    report["kiosk_run"] = runner.measure()
    if not report["kiosk_run"]["covers"]:  # what a patient would see of it
        report["kiosk_run"]["screenshot"] = runner.screen_shot("kiosk-run")
    if not report["kiosk_run"]["covers"] and spec.fit_to_screen:
        window.setGeometry(screen)
        runner.wait_until(lambda: runner.measure()["covers"], SETTLE_SECONDS)
        report["fitted"] = runner.measure()
    report["startup_seconds"] = round(time.monotonic() - started, 2)
    for journey in spec.journeys:
        report["journeys"].append(runner.run(journey))
        write(spec, report)
    report["final_window"] = runner.measure()
    write(spec, report)
    failed = [j["name"] for j in report["journeys"] if j["error"]] + \
        (["exceptions"] if report["exceptions"] else [])
    for journey in report["journeys"]:
        print(f"{spec.label} {journey['name']}: {len(journey['touches'])} touches, "
              f"{journey['outcome']}, {journey['seconds']} s"
              + (f"; FAILED: {journey['error']}" if journey["error"] else ""), file=sys.stderr)
    lockdown.may_close = True
    ctx.db.dispose()
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    code = main(sys.argv)
    sys.stdout.flush()
    sys.stderr.flush()
    # No Qt teardown: the worker threads and the lockdown's refusal to close must not be
    # able to hang a test run once the result is written.
    os._exit(code)
