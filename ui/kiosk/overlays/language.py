"""The language chooser, over any screen; what was entered stays."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QGridLayout, QPushButton, QWidget

from kiosk.domain import texts
from ui.kiosk.host import PageHost
from ui.kiosk.language_grid import fill_language_grid
from ui.kiosk.overlays.base import Overlay
from ui.widgets.text import button, column, label


class LanguageOverlay(Overlay):
    """The language chooser, over any screen; what was entered stays."""

    def __init__(self, host: PageHost, parent: QWidget) -> None:
        self.host = host
        self.title = label("title")
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        self.buttons: dict[str, QPushButton] = {}
        self.close_button = button()
        inner = column(self.title)
        inner.addLayout(self.grid)
        inner.addWidget(self.close_button, alignment=Qt.AlignmentFlag.AlignTrailing)
        super().__init__(parent, inner, margin=40)
        self.close_button.clicked.connect(self.hide)
        self.set_languages(host.flow.languages)

    def set_languages(self, codes: tuple[str, ...]) -> None:
        self.buttons = fill_language_grid(self.grid, self.buttons, codes, columns=3,
                                          choose=self.choose)

    def open(self) -> None:
        self.host.flow.touch()
        self.title.setText(self.host.tr(texts.LANGUAGE_LABEL))
        self.close_button.setText(self.host.tr(texts.BACK))
        self.cover()
        self.show()
        self.buttons[self.host.flow.language].setFocus()

    def choose(self, language: str) -> None:
        self.hide()
        self.host.flow.choose_language(language)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
        else:
            super().keyPressEvent(event)
