"""`kiosk run`: the kiosk window locked down, offscreen, on a real SQLite file: the window
covers its screen (measured, and kept so when it moves or the screen changes size), the keys
that leave a window do nothing, closing is refused, staff leave by the corner gesture and a
PIN, and an unexpected error goes back to the welcome screen without logging what was typed.
(Under a real X server and under cage: tests/system/test_journeys.py, test_cage.py.)"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.domain.flow import Step
from kiosk.services.staff import add_staff
from kiosk.store.site import SiteContext

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the marker's time (any will do)

REPOSITORY = Path(__file__).resolve().parents[2]


class Exits:
    """Stands in for QApplication.exit: the code the kiosk would have exited with."""

    def __init__(self) -> None:
        self.codes: list[int] = []

    def __call__(self, code: int) -> None:
        self.codes.append(code)


@pytest.fixture
def locked(qtbot, sqlite_ctx: SiteContext) -> Iterator:
    from ui.app import build_kiosk
    from ui.lockdown import Lockdown

    add_staff(sqlite_ctx, "Rosa", "2580")
    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    exits = Exits()
    lockdown = Lockdown(sqlite_ctx.settings, sqlite_ctx.clock, window, on_reset=window.flow.reset,
                        staff_site=lambda: sqlite_ctx, quit_app=exits,
                        escape_allowed=window.languages.isVisible)
    lockdown.apply()
    lockdown.exits = exits  # type: ignore[attr-defined]
    qtbot.waitExposed(window)
    yield window, lockdown
    app = QApplication.instance()
    app.removeEventFilter(lockdown)
    while QApplication.overrideCursor() is not None:
        QApplication.restoreOverrideCursor()
    lockdown.may_close = True
    window.close()


def covers_its_screen(window) -> bool:
    return window.geometry() == window.screen().geometry()


def test_full_screen_frameless_and_on_top(locked):
    window, _lockdown = locked
    flags = window.windowFlags()
    assert flags & Qt.WindowType.FramelessWindowHint
    assert flags & Qt.WindowType.WindowStaysOnTopHint
    assert window.isFullScreen()
    assert covers_its_screen(window)  # measured: under X without a window manager the
    # full-screen state alone leaves the window at 1280 x 800 (tests/system/test_journeys.py)


def test_the_log_says_what_was_measured(qtbot, sqlite_ctx, caplog):
    from ui.app import build_kiosk
    from ui.lockdown import Lockdown

    caplog.set_level(logging.INFO, logger="ui.lockdown")
    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)  # as `kiosk run` does before locking down
    lockdown = Lockdown(sqlite_ctx.settings, sqlite_ctx.clock, window,
                        on_reset=window.flow.reset, staff_site=lambda: sqlite_ctx,
                        quit_app=Exits())
    try:
        lockdown.apply()
        screen = window.screen().geometry()
        size = f"{screen.width()}x{screen.height()}"
        qtbot.waitUntil(lambda: lockdown.covers is True, timeout=3000)
        said = [record.getMessage() for record in caplog.records]
        assert any(line.startswith("the kiosk window covers its screen")
                   and line.count(f"0,0 {size}") == 2 for line in said), said
    finally:
        QApplication.instance().removeEventFilter(lockdown)
        lockdown.may_close = True
        window.close()


def test_the_watchdog_compares_geometries_not_the_full_screen_flag(qtbot, locked, caplog,
                                                                  monkeypatch):
    """As under X without a window manager: the window says it is full screen while it
    covers less than its screen (here the screen grows, and says nothing). The watchdog
    measures, and gives the window the screen's geometry within a second or so."""
    window, lockdown = locked
    assert window.isFullScreen() and covers_its_screen(window)
    bigger = QRect(0, 0, 1280, 1024)
    monkeypatch.setattr(QScreen, "geometry", lambda _screen: QRect(bigger))
    assert window.isFullScreen() and window.geometry() != bigger  # the flag says nothing
    with caplog.at_level(logging.INFO, logger="ui.lockdown"):
        qtbot.waitUntil(lambda: window.geometry() == bigger, timeout=3000)
        qtbot.waitUntil(lambda: lockdown.covers is True, timeout=3000)
    said = "\n".join(record.getMessage() for record in caplog.records)
    assert "does not cover its screen" in said and "screen 0,0 1280x1024" in said, said
    assert "the kiosk window covers its screen" in said, said


def test_a_screen_that_changes_size_is_covered_at_once(qtbot, locked, monkeypatch):
    """A monitor rotated or replaced: the screen says so (geometryChanged) and the window
    follows at once, not at the watchdog's next turn."""
    window, lockdown = locked
    lockdown.full_screen_timer.stop()  # so that only the screen's signal can do it
    portrait = QRect(0, 0, 1080, 1920)
    monkeypatch.setattr(QScreen, "geometry", lambda _screen: QRect(portrait))
    window.screen().geometryChanged.emit(portrait)
    assert window.geometry() == portrait


@pytest.mark.parametrize(("key", "modifier"), [
    (Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
    (Qt.Key.Key_Tab, Qt.KeyboardModifier.AltModifier),
    (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Meta, Qt.KeyboardModifier.NoModifier),
])
def test_the_keys_that_leave_a_window_do_nothing(qtbot, locked, key, modifier):
    window, lockdown = locked
    window.flow.start_name_entry()
    qtbot.keyClick(window, key, modifier)
    assert lockdown.blocked == 1
    assert window.isVisible()
    assert window.isFullScreen() and covers_its_screen(window)
    assert window.flow.step is Step.FAMILY_NAME  # and the patient's place is kept


def test_typing_and_escape_in_the_language_list_still_work(qtbot, locked):
    window, lockdown = locked
    window.flow.start_name_entry()
    field = window.pages[Step.FAMILY_NAME].field
    field.setFocus()
    qtbot.keyClicks(field, "Okafor", delay=120)  # a person types, not a scanner
    assert field.text() == "Okafor" and lockdown.blocked == 0
    window.languages.open()
    qtbot.keyClick(window.languages, Qt.Key.Key_Escape)
    assert not window.languages.isVisible() and lockdown.blocked == 0


def test_closing_is_refused(qtbot, locked):
    window, _lockdown = locked
    assert window.close() is False
    assert window.isVisible()
    # A window manager's "restore" to a smaller window: back to the screen's geometry (and
    # the full-screen state, for a window manager that honours it).
    window.showNormal()
    window.setGeometry(QRect(40, 40, 640, 480))
    assert not window.isFullScreen() and not covers_its_screen(window)
    qtbot.waitUntil(lambda: covers_its_screen(window) and window.isFullScreen(), timeout=3000)


def tap_corner(qtbot, window, times: int, *, x: int | None = None) -> None:
    corner = QPoint(window.width() - 20 if x is None else x, 20)
    for _ in range(times):
        qtbot.mouseClick(window, Qt.MouseButton.LeftButton, pos=corner)


def test_staff_leave_by_the_corner_gesture_and_a_pin(qtbot, locked, sqlite_ctx, tmp_path,
                                                     monkeypatch):
    from ui.lockdown import STAFF_EXIT_MARKER

    # As under the units: systemd names their RuntimeDirectory= in RUNTIME_DIRECTORY.
    runtime = tmp_path / "run"
    runtime.mkdir()
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(runtime))
    marker = runtime / STAFF_EXIT_MARKER
    window, lockdown = locked
    marked_at_exit: list[bool] = []
    exits = lockdown.exits
    lockdown.quit_app = lambda code: (marked_at_exit.append(marker.exists()), exits(code))
    tap_corner(qtbot, window, 4)
    assert lockdown.exit_dialog is None  # four taps are not enough
    tap_corner(qtbot, window, 1)
    dialog = lockdown.exit_dialog
    assert dialog is not None and dialog.isVisible()
    # The names and the PIN's slow hash are read and checked off the GUI thread.
    qtbot.waitUntil(lambda: dialog.ops.idle, timeout=5000)
    assert dialog.who.currentText() == "Rosa"
    dialog.pin.setFocus()
    dialog.pin.setText("1111")
    dialog.submit()
    assert not dialog.form.isEnabled()  # until the hash answers: no second submit
    qtbot.waitUntil(lambda: dialog.ops.idle, timeout=5000)
    assert dialog.form.isEnabled() and dialog.pin.hasFocus()  # ready for the next try
    assert dialog.isVisible() and dialog.problem.text() == "Wrong name or PIN."
    assert lockdown.exits.codes == [] and window.isVisible()
    for digit in "2580":  # the on-screen keypad: a kiosk may have no keyboard
        next(key for key in dialog.findChildren(QPushButton) if key.text() == digit).click()
    assert dialog.pin.text() == "2580"
    assert not marker.exists()
    dialog.submit()
    qtbot.waitUntil(lambda: lockdown.exits.codes == [64], timeout=5000)
    assert not window.isVisible()
    # The marker that keeps the service from starting the kiosk again was there before the
    # exit, complete (renamed into place: no temporary file left).
    assert marked_at_exit == [True]
    assert marker.read_text().startswith(f"kiosk {sqlite_ctx.settings.kiosk_id} left by staff")
    assert [p.name for p in runtime.iterdir()] == [STAFF_EXIT_MARKER]


def test_a_staff_exit_marker_that_cannot_be_written_is_logged(tmp_path, monkeypatch, caplog):
    from ui.lockdown import mark_staff_exit

    monkeypatch.delenv("RUNTIME_DIRECTORY", raising=False)
    assert mark_staff_exit("k1", NOW) is None  # not under such a service: nothing to tell
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path / "gone"))
    assert mark_staff_exit("k1", NOW) is None
    assert "the service may start the kiosk again" in caplog.text


def test_taps_elsewhere_or_too_slow_open_nothing(qtbot, locked, clock):
    window, lockdown = locked
    tap_corner(qtbot, window, 5, x=20)  # the other corner, where the language button is
    assert lockdown.exit_dialog is None
    for _ in range(5):
        tap_corner(qtbot, window, 1)
        clock.advance(seconds=1)
    assert lockdown.exit_dialog is None


def test_an_unexpected_error_goes_back_to_welcome_and_logs_no_input(locked, caplog):
    window, lockdown = locked
    flow = window.flow
    flow.start_name_entry()
    flow.submit_family("Müller-Lüdenscheidt")
    assert flow.step is Step.BIRTH_DATE
    try:
        raise ValueError("no match for Müller-Lüdenscheidt")
    except ValueError as error:
        with caplog.at_level(logging.ERROR):
            sys.excepthook(type(error), error, error.__traceback__)
    assert sys.excepthook == lockdown.on_exception
    assert flow.step is Step.WELCOME and flow.family is None
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "unexpected ValueError" in logged and "test_lockdown.py" in logged
    assert "Müller" not in logged
    assert lockdown.exits.codes == []


def test_a_burst_of_errors_ends_the_process_for_a_restart(locked, clock):
    _window, lockdown = locked
    for _ in range(5):
        lockdown.on_exception(RuntimeError, RuntimeError(), None)
        clock.advance(seconds=10)
    assert lockdown.exits.codes == [70]


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_qt_callback_reaches_the_handler(qtbot, locked):
    from PySide6.QtCore import QTimer

    window, _lockdown = locked
    window.flow.start_name_entry()

    def broken() -> None:
        raise KeyError("boom")
    QTimer.singleShot(0, broken)
    qtbot.waitUntil(lambda: window.flow.step is Step.WELCOME, timeout=3000)


def test_the_cursor_hides_when_told(qtbot, sqlite_ctx):
    from ui.app import build_kiosk
    from ui.lockdown import Lockdown

    sqlite_ctx.settings = sqlite_ctx.settings.replace(hide_cursor="always")
    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    lockdown = Lockdown(sqlite_ctx.settings, sqlite_ctx.clock, window,
                        on_reset=window.flow.reset, staff_site=lambda: sqlite_ctx,
                        quit_app=Exits())
    lockdown.apply()
    try:
        cursor = QApplication.overrideCursor()
        assert cursor is not None and cursor.shape() == Qt.CursorShape.BlankCursor
    finally:
        QApplication.instance().removeEventFilter(lockdown)
        QApplication.restoreOverrideCursor()
        lockdown.may_close = True
        window.close()


def test_kiosk_run_starts_shows_welcome_and_exits_cleanly(tmp_path):
    """The command IT's service runs, in a process of its own (offscreen, no display)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run(
        [sys.executable, "-m", "ui.launcher", "--db", f"sqlite:///{tmp_path / 'k.db'}",
         "run", "--exit-after", "1.5"], capture_output=True, text=True, cwd=REPOSITORY,
        env={**env, "QT_QPA_PLATFORM": "offscreen"}, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "kiosk locked down" in done.stderr and "welcome screen shown" in done.stderr


def test_qt_messages_reach_the_log_and_the_harness_still_sees_them(qtbot, caplog, qtlog):
    from PySide6.QtCore import QLoggingCategory, qCInfo, qInfo, qInstallMessageHandler

    from ui.app import route_qt_messages

    caplog.set_level("DEBUG")
    route_qt_messages()
    try:
        qInfo("plain message from Qt")
        category = QLoggingCategory("qt.kiosktest")
        qCInfo(category, "categorised message")
    finally:
        qInstallMessageHandler(None)
    records = {(record.name, record.levelname, record.getMessage()) for record in caplog.records}
    assert ("qt", "INFO", "plain message from Qt") in records
    assert ("qt.kiosktest", "INFO", "categorised message") in records
    assert "plain message from Qt" in [entry.message for entry in qtlog.records]  # chained
