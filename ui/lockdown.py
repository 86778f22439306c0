"""The production kiosk (`kiosk run`) locked down for a public room.

* Frameless, full screen and on top; the keys that close or leave a window (Alt+F4, Ctrl+Q,
  Ctrl+W, Escape, Alt+Tab, F11, the Windows key) do nothing, and closing is refused.
* Full screen is measured, not assumed: X without a window manager (the X11 unit) ignores
  ``showFullScreen()``, so the window is also given its screen's geometry, and a watchdog
  compares the two each second and whenever the screen changes size (a monitor rotated or
  replaced), and sets the screen's geometry again when they differ. The log says what it
  measured.
* The mouse cursor hides on a touch screen (``hide_cursor``), and the screen does not blank.
* Staff leave it by a hidden gesture (five taps in the top corner where the language button
  is not, within three seconds) and a staff PIN; the process then writes a marker file for
  the service unit (:func:`mark_staff_exit`) and exits with :data:`EXIT_STAFF`: the unit
  does not start the kiosk again, whatever exit status cage or xinit pass on.
* An unexpected exception is logged (its type and where, never its message: that may hold
  what a patient typed) and the kiosk goes back to the welcome screen. Too many in a short
  while and the process exits, for the service manager to start it afresh.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt, QTimer
from PySide6.QtGui import (
    QCursor,
    QGuiApplication,
    QInputDevice,
    QKeyEvent,
    QMouseEvent,
    QScreen,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import S_
from kiosk.base.logs import UNEXPECTED, where
from ui.staff_text import StaffText
from ui.widgets.keyboard import Keypad

if TYPE_CHECKING:  # the database machinery loads after the first frame
    from kiosk.base.clock import Clock
    from kiosk.base.settings import Settings
    from kiosk.services.staff import SignedIn
    from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

# The exit status of a staff exit (the units' RestartPreventExitStatus=64, for a cage that
# passes it on; cage 0.1.4 and xinit exit 0 whatever the kiosk's status).
EXIT_STAFF = 64
# So the marker as well: systemd sets RUNTIME_DIRECTORY for a unit with RuntimeDirectory=
# (/run/lobby-kiosk, emptied by a reboot), and the units' ExecCondition= refuses the next
# start while STAFF_EXIT_MARKER is there (and removes it, so `systemctl start` works).
RUNTIME_DIRECTORY = "RUNTIME_DIRECTORY"
STAFF_EXIT_MARKER = "staff-exit"
# Exit (and be restarted by the service manager) after this many unexpected errors ...
CRASH_LIMIT = 5
# ... within this long.
CRASH_WINDOW = timedelta(minutes=2)
FULL_SCREEN_CHECK_MS = 1000
# After this many corrections in a row that did not take, the log says so once (as an error);
# the watchdog keeps trying.
FULL_SCREEN_TRIES = 10
GESTURE_TAPS = 5
GESTURE_SECONDS = 3.0
GESTURE_CORNER_PX = 96

ALT, CTRL = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier
# (key, modifier that must be held; NoModifier: the key alone or with anything)
BLOCKED_KEYS = (
    (Qt.Key.Key_F4, ALT), (Qt.Key.Key_Q, CTRL), (Qt.Key.Key_W, CTRL), (Qt.Key.Key_Tab, ALT),
    (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Meta, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Super_L, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Super_R, Qt.KeyboardModifier.NoModifier),
    (Qt.Key.Key_Close, Qt.KeyboardModifier.NoModifier),
)


def is_blocked(event: QKeyEvent) -> bool:
    key, held = event.key(), event.modifiers()
    return any(key == blocked and (needed == Qt.KeyboardModifier.NoModifier or held & needed)
               for blocked, needed in BLOCKED_KEYS)


def on_wayland() -> bool:
    return QGuiApplication.platformName().startswith("wayland")


def rect_text(rect: QRect) -> str:
    return f"{rect.x()},{rect.y()} {rect.width()}x{rect.height()}"


def has_touch_screen() -> bool:
    return any(device.type() == QInputDevice.DeviceType.TouchScreen
               for device in QInputDevice.devices())


class Lockdown(QObject):
    """Locks ``window`` down and watches the whole application for the ways out."""

    def __init__(self, settings: Settings, clock: Clock, window: QWidget, *,
                 on_reset: Callable[[], None], staff_site: Callable[[], SiteContext | None],
                 quit_app: Callable[[int], None] | None = None,
                 escape_allowed: Callable[[], bool] = lambda: False) -> None:
        """``settings`` and ``clock`` are known before the first frame; ``staff_site`` gives
        the site once it is open (staff sign in against its database), None before."""
        super().__init__(window)
        self.settings, self.clock = settings, clock
        self.staff_site = staff_site
        self.window = window
        self.on_reset = on_reset
        self.quit_app = quit_app or (lambda code: QApplication.exit(code))
        self.escape_allowed = escape_allowed  # an overlay of the kiosk's own (languages)
        self.may_close = False
        self.taps: deque[datetime] = deque(maxlen=GESTURE_TAPS)
        self.errors: deque[datetime] = deque(maxlen=CRASH_LIMIT)
        self.blocked = 0  # keys swallowed, for tests and drills
        self.exit_dialog: StaffExitDialog | None = None
        self.cursor_hidden = False
        self._last_press: tuple[int, QPoint] | None = None
        self.covers: bool | None = None  # the window covers its screen, as last measured
        self.corrections = 0  # geometry set again since it last covered the screen
        self._screen: QScreen | None = None  # whose geometryChanged the watchdog follows

    # -- setting up ------------------------------------------------------------------------

    def apply(self) -> None:
        """Frameless, on top, full screen, cursor rule, no blanking, exception hook."""
        window = self.window
        window.setWindowFlags(window.windowFlags() | Qt.WindowType.FramelessWindowHint
                              | Qt.WindowType.WindowStaysOnTopHint)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        app.installEventFilter(self)
        window.installEventFilter(self)
        rule = self.settings.hide_cursor
        if rule == "always" or (rule == "touch" and has_touch_screen()):
            app.setOverrideCursor(QCursor(Qt.CursorShape.BlankCursor))
            self.cursor_hidden = True
        keep_screen_on()
        sys.excepthook = self.on_exception
        # A window manager (and cage) honours the full-screen state; X without one does not
        # (the window would keep the size it had): there the screen's geometry is set too.
        # Not under Wayland, where the compositor sizes the window (and where a window that
        # had the output's size before cage 0.1.4 first configured it was never drawn).
        screen = window.screen()
        if not on_wayland():
            window.setGeometry(screen.geometry())
        window.showFullScreen()
        log.info("kiosk locked down (cursor %s) on its screen %r, %s",
                 "hidden" if self.cursor_hidden else "shown", screen.name(),
                 rect_text(screen.geometry()))
        # Whatever leaves the window smaller or elsewhere than its screen (a window manager's
        # key, a screen that changed size) is undone within a second, and at once when the
        # screen says it changed. The first measurement is now, and it is logged.
        self.full_screen_timer = QTimer(self)
        self.full_screen_timer.setInterval(FULL_SCREEN_CHECK_MS)
        self.full_screen_timer.timeout.connect(self._keep_full_screen)
        self.full_screen_timer.start()
        handle = window.windowHandle()
        if handle is not None:
            handle.screenChanged.connect(self._follow)
        self._follow(handle.screen() if handle is not None else screen)

    # -- the ways out ----------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride) and \
                isinstance(event, QKeyEvent) and is_blocked(event):
            if event.key() == Qt.Key.Key_Escape and (self.escape_allowed()
                                                     or self._in_exit_dialog(watched)):
                return False
            if kind == QEvent.Type.KeyPress:
                self.blocked += 1
            event.accept()
            return True
        if watched is self.window and kind == QEvent.Type.Close and not self.may_close:
            event.ignore()
            return True
        if kind == QEvent.Type.MouseButtonPress and isinstance(event, QMouseEvent):
            # A press a child ignores reaches its parents too: count each press once.
            press = (event.timestamp(), event.globalPosition().toPoint())
            if press != self._last_press:
                self._last_press = press
                self._tap(press[1])
        return False

    def _follow(self, screen: QScreen | None) -> None:
        """Watch the screen the window is on (it changes when a monitor is replaced)."""
        if self._screen is not None:
            self.covers = None  # so that the log says what is measured on the new one
            # A screen that is gone took its signal with it.
            with contextlib.suppress(RuntimeError, TypeError):
                self._screen.geometryChanged.disconnect(self._screen_changed)
        self._screen = screen
        if screen is not None:
            screen.geometryChanged.connect(self._screen_changed)
            self._keep_full_screen()

    def _screen_changed(self, geometry: QRect) -> None:
        log.info("the kiosk's screen changed to %s", rect_text(geometry))
        self.covers = None  # so that the log says what is measured next
        self._keep_full_screen()

    def _keep_full_screen(self) -> None:
        """Compares the window's geometry with its screen's (not the full-screen flag, which
        X without a window manager sets without resizing anything) and, when they differ,
        sets the screen's geometry and the full-screen state again."""
        window, handle = self.window, self.window.windowHandle()
        # Measured once shown: before, a Wayland compositor has not yet said the size.
        if self.may_close or handle is None or not handle.isExposed():
            return
        screen = window.screen()
        target, seen = screen.geometry(), window.geometry()
        if seen == target:
            if self.covers is not True:
                log.info("the kiosk window covers its screen %r: window %s, screen %s "
                         "(full-screen state %s)", screen.name(), rect_text(seen),
                         rect_text(target), "on" if window.isFullScreen() else "off")
                self._check_fit(target)
            self.covers, self.corrections = True, 0
            return
        self.corrections += 1
        if self.corrections == 1:
            log.warning("the kiosk window does not cover its screen %r: window %s, screen %s; "
                        "set to the screen's geometry", screen.name(), rect_text(seen),
                        rect_text(target))
        elif self.corrections == FULL_SCREEN_TRIES:
            log.error("the kiosk window still does not cover its screen %r after %d tries: "
                      "window %s, screen %s", screen.name(), FULL_SCREEN_TRIES,
                      rect_text(seen), rect_text(target))
        self.covers = False
        window.setGeometry(target)
        window.showFullScreen()  # for a window manager: setting the geometry clears the state

    def _check_fit(self, screen: QRect) -> None:
        """The window's content (its largest screen: the pages share one stack) must fit the
        screen, or part of it is cut off whatever the window's size."""
        needed = self.window.minimumSizeHint()
        if needed.width() > screen.width() or needed.height() > screen.height():
            log.warning("the kiosk's screens need at least %dx%d, more than the screen's %dx%d: "
                        "some of them are cut off", needed.width(), needed.height(),
                        screen.width(), screen.height())

    def _in_exit_dialog(self, watched: QObject) -> bool:
        dialog = self.exit_dialog
        return dialog is not None and isinstance(watched, QWidget) and \
            (watched is dialog or dialog.isAncestorOf(watched))

    def _tap(self, where: QPoint) -> None:
        """Five quick taps in the top corner away from the language button open the staff
        exit (the trailing corner: top right, or top left when right to left)."""
        local = self.window.mapFromGlobal(where)
        width = self.window.width()
        corner_x = local.x() <= GESTURE_CORNER_PX if self.window.isRightToLeft() \
            else local.x() >= width - GESTURE_CORNER_PX
        if not (corner_x and 0 <= local.y() <= GESTURE_CORNER_PX):
            self.taps.clear()
            return
        now = self.clock.now()
        self.taps.append(now)
        if len(self.taps) == GESTURE_TAPS and \
                (now - self.taps[0]).total_seconds() <= GESTURE_SECONDS:
            self.taps.clear()
            self.open_staff_exit()

    def open_staff_exit(self) -> None:
        if self.exit_dialog is not None and self.exit_dialog.isVisible():
            return
        ctx = self.staff_site()
        if ctx is None:  # the site is not open yet (its database away at start)
            log.warning("kiosk %s: staff exit asked before the site opened: no PIN can be "
                        "checked yet", self.settings.kiosk_id)
            return
        self.exit_dialog = StaffExitDialog(ctx, self.window, on_exit=self.staff_exit)
        self.exit_dialog.show()

    def staff_exit(self, name: str) -> None:
        log.warning("kiosk %s: staff member left kiosk mode (signed in as %s)",
                    self.settings.kiosk_id, name)
        # Before exiting: the unit looks for it.
        mark_staff_exit(self.settings.kiosk_id, self.clock.now())
        self.may_close = True
        self.window.close()
        self.quit_app(EXIT_STAFF)

    # -- unexpected errors -----------------------------------------------------------------

    def on_exception(self, kind: type[BaseException], error: BaseException,
                     trace: TracebackType | None) -> None:
        """Log where it happened (not the message: it may hold patient input) and go back
        to the welcome screen; a burst of them ends the process for a clean restart."""
        # File, line and function only: not even the source line, let alone the message.
        logging.getLogger(UNEXPECTED).error(
            "unexpected %s at %s; the kiosk returns to the welcome screen", kind.__name__,
            where(trace, depth=4))
        now = self.clock.now()
        self.errors.append(now)
        if len(self.errors) == CRASH_LIMIT and now - self.errors[0] <= CRASH_WINDOW:
            log.critical("%d unexpected errors within %s: exiting for a restart",
                         CRASH_LIMIT, CRASH_WINDOW)
            self.may_close = True
            self.quit_app(70)  # EX_SOFTWARE; the service manager restarts the kiosk
            return
        try:
            self.on_reset()
        except Exception as again:  # the reset itself failed: let the restart mend it
            log.critical("the kiosk could not return to welcome (%s): exiting for a restart",
                         type(again).__name__)
            self.may_close = True
            self.quit_app(70)


def mark_staff_exit(kiosk_id: str, now: datetime) -> Path | None:
    """Writes the staff-exit marker into the service's runtime folder, atomically (a file
    renamed into place); None outside such a service, or when it cannot be written (logged:
    the unit may then start the kiosk again)."""
    folder = os.environ.get(RUNTIME_DIRECTORY, "").split(":")[0]
    if not folder:
        return None
    target = Path(folder) / STAFF_EXIT_MARKER
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{STAFF_EXIT_MARKER}.")
        with os.fdopen(handle, "w", encoding="utf-8") as marker:
            marker.write(f"kiosk {kiosk_id} left by staff at "
                         f"{now.isoformat(timespec='seconds')} "
                         f"(pid {os.getpid()})\n")
            marker.flush()
            os.fsync(marker.fileno())
        os.replace(temporary, target)
    except OSError as error:
        log.error("cannot write %s (%s): the service may start the kiosk again", target,
                  error.strerror or type(error).__name__)
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        return None
    log.info("wrote %s: the service keeps the kiosk stopped until it is started again",
             target)
    return target


def keep_screen_on() -> None:
    """Under X, switch off the screen saver and power saving (xset). Under a Wayland kiosk
    compositor (cage) nothing blanks the screen unless configured to (and the kernel's
    console blanking does not apply while cage holds the terminal in graphics mode)."""
    if os.environ.get("DISPLAY") and shutil.which("xset") and \
            not os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        for args in (["s", "off"], ["s", "noblank"], ["-dpms"]):
            done = subprocess.run(["xset", *args], capture_output=True, check=False,
                                  timeout=5)
            if done.returncode != 0:
                log.warning("xset %s failed: the screen may blank", " ".join(args))


class StaffExitDialog(QDialog):
    """Staff name and PIN (a keypad: a kiosk may have no keyboard) to leave kiosk mode."""

    def __init__(self, ctx: SiteContext, parent: QWidget,
                 on_exit: Callable[[str], None]) -> None:
        from ui.staff_sign_in import StaffSignIn  # the database's side: after the first frame

        super().__init__(parent)
        t = StaffText(ctx.settings.staff_language)
        # Styled before its children exist, so that their sizes follow the style.
        self.setStyleSheet("QWidget { font-size: 20px; } QPushButton { min-height: 56px; }")
        self.setObjectName("staff-exit")
        self.setModal(True)
        self.setWindowTitle(t(S_("Leave kiosk mode")))
        keypad = Keypad(lambda digit: self.pin.insert(digit), lambda: self.pin.backspace())
        def signed_in(member: SignedIn) -> None:
            if not self.isVisible():  # cancelled (or timed out) while the PIN was checked
                return
            self.accept()
            on_exit(member.name)
        leave = QPushButton(t(S_("Leave kiosk mode")))
        # The PIN's slow hash (and a database away) runs off the GUI thread; the form and
        # this button stay disabled until it answers.
        self.form = StaffSignIn(ctx, t, f"kiosk {ctx.settings.kiosk_id}", signed_in,
                                extra=[keypad], buttons=[leave])
        self.who, self.pin, self.problem = self.form.who, self.form.pin, self.form.problem
        self.submit = self.form.submit
        self.ops = self.form.ops
        self.problem.setStyleSheet("color: #9B1C1C; font-weight: 600;")
        leave.clicked.connect(self.submit)
        cancel = QPushButton(t(S_("Cancel")))
        cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(cancel)
        buttons.addWidget(leave)
        layout = QVBoxLayout(self)
        title = QLabel(t(S_("Staff only: sign in to leave kiosk mode.")))
        title.setWordWrap(True)
        layout.addWidget(title)
        layout.addWidget(self.form)
        layout.addLayout(buttons)
        # The wrapping labels make the layout size by height-for-width, which leaves the
        # keypad's last row out: its keys' height (the kiosk's style) is made a minimum.
        keypad.ensurePolished()
        keypad.setMinimumHeight(keypad.sizeHint().height())
        # Room for a two-line problem from the start: a window without a window manager does
        # not grow when the message appears, and the message would cover the keypad.
        self.problem.ensurePolished()
        self.problem.setMinimumHeight(2 * self.problem.fontMetrics().lineSpacing())
        layout.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        # Nobody to sign in: closes by itself after a minute rather than cover the kiosk.
        QTimer.singleShot(60_000, self, self.reject)
