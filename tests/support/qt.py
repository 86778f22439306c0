"""Touching a Qt window as a person would: clicks on buttons, key events one character at a
time (qtbot.keyClicks aborts on text outside Latin-1), the on-screen keyboard."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from kiosk.domain.flow import Step


def wait_for(qtbot, window, step: Step) -> None:
    qtbot.waitUntil(lambda: window.flow.step == step, timeout=5000)

def click(qtbot, button: QPushButton) -> None:
    assert button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def press_keys(widget: QWidget, text: str) -> None:
    """One QKeyEvent per character (non-ASCII key clicks abort QTest), as a scanner types."""
    for char in text:
        key = Qt.Key(ord(char.upper())) if char.isascii() and char.isalnum() else Qt.Key.Key_unknown
        QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, key,
                                                 Qt.KeyboardModifier.NoModifier, char))


def press_enter(widget: QWidget) -> None:
    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return,
                                             Qt.KeyboardModifier.NoModifier, "\r"))


def type_on_screen(qtbot, window, text: str) -> None:
    page = window.pages[window.flow.step]
    keys = {key.text(): key for key in page.keyboard._keys}
    for char in text.upper():
        click(qtbot, keys[char])
