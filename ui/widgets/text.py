"""Text widgets shared by the screens: labels that wrap and claim their height, buttons whose
caption wraps, a field for private data, and a plain column of widgets."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


class WrappingLabel(QLabel):
    """A word-wrapped label that claims the height its text needs at its current width.

    Nested layouts do not always ask a wrapped label for its height-for-width, and a long
    translation (or a taller CJK font) would then be cut off."""

    laid_out = False

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        # Only a width the page really gave counts (not the default size before layout).
        if self.isVisible() and self.width() >= 200:
            self.laid_out = True
            self._claim()

    def setText(self, text: str) -> None:
        super().setText(text)
        # Hidden pages change language too, and pages are cleared after each patient: the
        # claim must follow, or a stale, taller one would stretch the whole window.
        if self.laid_out or not text:
            self._claim()

    def clear(self) -> None:
        self.setText("")  # QLabel.clear() would not reach setText above: the claim must go too

    def _claim(self) -> None:
        claimed = self.minimumHeight()
        if claimed and self.text():
            # QLabel's heightForWidth never answers less than the minimum height set before:
            # without this a label would keep the height of the longest text it ever showed.
            self.setMinimumHeight(0)
        needed = max(0, self.heightForWidth(self.width())) if self.text() else 0
        if needed != self.minimumHeight():
            self.setMinimumHeight(needed)


def label(role: str | None = None, *, wrap: bool = True) -> QLabel:
    widget = WrappingLabel() if wrap else QLabel()
    widget.setWordWrap(wrap)
    # Leading edge: left in left-to-right languages, right in Arabic and Persian, whatever
    # the direction of the text itself (a ticket code, a doctor's Latin name).
    widget.setAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    if role:
        widget.setProperty("role", role)
    return widget


def button(role: str | None = None) -> QPushButton:
    widget = QPushButton()
    widget.setAutoDefault(True)  # Enter presses the focused button (keyboard and switch users)
    if role:
        widget.setProperty("role", role)
    return widget


class WrapButton(QPushButton):
    """A wide button whose words wrap onto a second line when a translation is long."""

    def __init__(self, role: str | None = None) -> None:
        super().__init__()
        if role:
            self.setProperty("role", role)
        self.setAutoDefault(True)
        self.caption = WrappingLabel()
        self.caption.setWordWrap(True)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        inner = QHBoxLayout(self)
        inner.setContentsMargins(22, 8, 22, 8)
        inner.addWidget(self.caption)

    def setText(self, text: str) -> None:
        self.caption.setText(text)
        self.setAccessibleName(text)

    def text(self) -> str:
        return self.caption.text()

    def sizeHint(self) -> QSize:
        layout = self.layout()
        return layout.sizeHint() if layout else super().sizeHint()

    def minimumSizeHint(self) -> QSize:
        layout = self.layout()
        return layout.minimumSize() if layout else super().minimumSizeHint()


def private_field() -> QLineEdit:
    """A text field for a patient's data: no context menu (no copy, paste or undo from it)."""
    field = QLineEdit()
    field.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
    return field


def column(*widgets: QWidget, spacing: int = 18) -> QVBoxLayout:
    layout = QVBoxLayout()
    layout.setSpacing(spacing)
    for widget in widgets:
        layout.addWidget(widget)
    return layout
