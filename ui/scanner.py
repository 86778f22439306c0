"""Routes keyboard-wedge scanner bursts to QR check-in on any screen (see kiosk/domain/scanner.py).

Installed as an application-wide event filter: printable keys are held back for a moment and
either released to the focused widget (a person typing) or, as a burst, turned into a scan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit

from kiosk.domain.scanner import BurstDetector, Decision

ENTER_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
SHORTCUT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
# A scanner presses Shift for every capital letter: modifier keys alone are part of a burst.
MODIFIER_KEYS = (Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr,
                 Qt.Key.Key_Meta, Qt.Key.Key_CapsLock)


log = logging.getLogger(__name__)
STRAY_WINDOW_MS = 3000


def _monotonic_ms() -> float:
    return time.monotonic() * 1000


class ScannerFilter(QObject):
    def __init__(self, on_scan: Callable[[str], None], on_typing: Callable[[], None],
                 *, detector: BurstDetector | None = None,
                 now_ms: Callable[[], float] = _monotonic_ms,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_scan = on_scan
        self.on_typing = on_typing
        self.detector = detector or BurstDetector()
        self.now_ms = now_ms
        self._held: list[tuple[QObject, int, Qt.KeyboardModifier, str]] = []
        self._replaying = False
        self._stray = 0
        self._stray_since: float | None = None
        self.quiet = QTimer(self)
        self.quiet.setSingleShot(True)
        self.quiet.setTimerType(Qt.TimerType.PreciseTimer)
        self.quiet.timeout.connect(self.settle)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._replaying or event.type() != QEvent.Type.KeyPress:
            return False
        assert isinstance(event, QKeyEvent)
        if event.key() in MODIFIER_KEYS:
            return False
        if event.key() in ENTER_KEYS and not event.isAutoRepeat():
            self.quiet.stop()
            decision = self.detector.enter(self._when(event))
            self._apply(decision)
            return decision.scan is not None  # a scan's Enter is swallowed
        text = event.text()
        printable = len(text) == 1 and text.isprintable()
        if not printable or event.isAutoRepeat() or event.modifiers() & SHORTCUT:
            # Tab, Backspace, arrows, shortcuts, a key held down (auto-repeat: a person,
            # perhaps with a tremor): the held keys go first, so that nothing overtakes them.
            if self.detector.holding:
                self.quiet.stop()
                self._apply(self.detector.flush())
            if printable:
                self._typing(watched)
            return False
        self._apply(self.detector.key(text, self._when(event)))
        self._held.append((watched, event.key(), event.modifiers(), text))
        self.quiet.start(int(self.detector.max_gap_ms) + 5)
        return True

    def _when(self, event: QKeyEvent) -> float:
        """When the key was pressed: the window system's own time stamp where there is one
        (a busy moment in the kiosk must not stretch a scanner's gaps), else now."""
        stamp = event.timestamp()
        return float(stamp) if stamp else self.now_ms()

    def settle(self) -> None:
        """No key for a while: release what a person typed, or take a scan without Enter."""
        self._apply(self.detector.quiet())

    def _apply(self, decision: Decision) -> None:
        settled, self._held = self._held[:decision.consumed], self._held[decision.consumed:]
        if decision.scan is not None:
            self.on_scan(decision.scan)
        if not decision.release:
            return
        if settled and not isinstance(QApplication.focusWidget(), QLineEdit):
            self._note_stray(len(settled))
        self._replaying = True
        try:
            for target, key, modifiers, text in settled:
                receiver = QApplication.focusWidget() or target
                self._typing(receiver)
                QApplication.sendEvent(
                    receiver, QKeyEvent(QEvent.Type.KeyPress, key, modifiers, text))
                QApplication.sendEvent(
                    receiver, QKeyEvent(QEvent.Type.KeyRelease, key, modifiers, text))
        finally:
            self._replaying = False

    def _note_stray(self, count: int) -> None:
        """Keys with no field to type into: a person at a keyboard, or a scanner typing slower
        than the burst gap, whose scans then do nothing. Enough of them within a few seconds
        are worth a line for IT (the count, never the keys)."""
        now = self.now_ms()
        if self._stray_since is None or now - self._stray_since > STRAY_WINDOW_MS:
            self._stray_since, self._stray = now, 0
        self._stray += count
        if self._stray >= self.detector.min_length:
            log.info("%d keys in a row with no text field to take them: if they were a scan, "
                     "the scanner types slower than one key every %.0f ms and is read as a "
                     "person", self._stray, self.detector.max_gap_ms)
            self._stray_since, self._stray = None, 0

    def _typing(self, receiver: QObject) -> None:
        """Letters typed into a field on a physical keyboard. (Space on a focused button is
        a switch or keyboard user pressing it, not typing.)"""
        if isinstance(receiver, QLineEdit):
            self.on_typing()
