"""The first screen: scan the appointment code, or check in by name; the languages below."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QWidget

from kiosk.domain import texts
from ui.kiosk.host import PageHost
from ui.kiosk.language_grid import fill_language_grid
from ui.kiosk.pages.base import Page
from ui.widgets.text import WrapButton, column, label


class WelcomePage(Page):
    def __init__(self, host: PageHost) -> None:
        super().__init__(host)
        self.title = label("title")
        self.scan_card = QFrame()
        self.scan_card.setProperty("role", "card")
        self.scan = label("lead")
        self.scan_hint = label("hint")
        self.camera_hint = label("hint")
        self.camera_hint.hide()
        card = column(self.scan, self.scan_hint, self.camera_hint, spacing=8)
        self.card_row = QHBoxLayout()
        self.card_row.setContentsMargins(24, 18, 24, 18)
        self.card_row.addLayout(card, 1)
        self.scan_card.setLayout(self.card_row)
        self.camera: QWidget | None = None
        self.by_name = WrapButton("primary")
        self.by_name.clicked.connect(host.flow.start_name_entry)
        self.languages = QGridLayout()
        self.languages.setSpacing(10)
        self.language_buttons: dict[str, QPushButton] = {}
        self.set_languages(host.flow.languages)
        # The practice's note (site-wide setting), as staff wrote it.
        self.note = label("lead")
        self.note.setObjectName("welcome-note")
        layout = column(self.title, self.scan_card, self.by_name, self.note)
        layout.addStretch(1)
        layout.addLayout(self.languages)
        self.setLayout(layout)

    def set_languages(self, codes: tuple[str, ...]) -> None:
        self.language_buttons = fill_language_grid(
            self.languages, self.language_buttons, codes, columns=5,
            choose=self.host.flow.choose_language, checkable=True)

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def attach_camera(self, preview: QWidget) -> None:
        """A live camera picture beside the scan instructions (only when a camera exists)."""
        self.camera = preview
        preview.setFixedSize(240, 180)
        preview.setAccessibleName("camera")
        self.card_row.addWidget(preview)
        self.camera_hint.show()

    def retranslate(self) -> None:
        self.title.setText(self.tr(texts.WELCOME_TITLE))
        self.scan.setText(self.tr(texts.WELCOME_SCAN))
        self.scan_hint.setText(self.tr(texts.WELCOME_SCAN_HINT))
        self.camera_hint.setText(self.tr(texts.WELCOME_CAMERA_HINT))
        self.by_name.setText(self.tr(texts.WELCOME_NAME))
        for code, choice in self.language_buttons.items():
            choice.setChecked(code == self.host.flow.language)
            # With larger text the grid does not fit a small screen: the language button
            # in the top bar opens the same choice.
            choice.setVisible(not self.host.larger_text)
