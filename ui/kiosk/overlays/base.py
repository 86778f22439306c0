"""A dimmed layer over the whole window, with one card in its middle."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget


class Overlay(QFrame):
    """A dimmed layer over all of ``parent``, with one card in its middle."""

    def __init__(self, parent: QWidget, inner: QVBoxLayout, margin: int) -> None:
        super().__init__(parent)
        self.covers = parent
        self.setProperty("role", "overlay")
        card = QFrame()
        card.setProperty("role", "card")
        inner.setContentsMargins(28, 28, 28, 28)
        card.setLayout(inner)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        outer.addWidget(card)
        outer.addStretch(1)
        outer.setContentsMargins(margin, margin, margin, margin)
        self.hide()

    def cover(self) -> None:
        self.setGeometry(self.covers.rect())
        self.raise_()
