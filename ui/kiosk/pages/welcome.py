"""The first screen: scan the appointment code, or check in by name; the languages below."""

from __future__ import annotations

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QPushButton, QWidget

from kiosk.domain import texts
from ui.kiosk.host import PageHost
from ui.kiosk.language_grid import fill_language_grid
from ui.kiosk.pages.base import Page
from ui.widgets.text import WrapButton, column, label

# The camera picture beside the scan instructions: CAMERA_WIDTH_PX wide (the instructions'
# width never depends on it), as tall as the instructions (so that it never makes the card
# taller), and up to 4:3 where the page has room. The picture keeps its aspect ratio inside.
CAMERA_WIDTH_PX = 240
CAMERA_HEIGHT_PX = 180
CAMERA_MIN_HEIGHT_PX = 120
# Between the parts of the page and between the language buttons: as designed, and where the
# page is short of height (see WelcomePage.fit).
SPACING_PX, GRID_SPACING_PX = 18, 10
TIGHT_SPACING_PX, TIGHT_GRID_SPACING_PX = 10, 6


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
        self.card_text = column(self.scan, self.scan_hint, self.camera_hint, spacing=8)
        self.card_row = QHBoxLayout()
        self.card_row.setContentsMargins(24, 18, 24, 18)
        self.card_row.addLayout(self.card_text, 1)
        self.scan_card.setLayout(self.card_row)
        self.camera: QWidget | None = None
        self.by_name = WrapButton("primary")
        self.by_name.clicked.connect(host.flow.start_name_entry)
        self.languages = QGridLayout()
        self.languages.setSpacing(GRID_SPACING_PX)
        self.language_buttons: dict[str, QPushButton] = {}
        self.set_languages(host.flow.languages)
        # The practice's note (site-wide setting), as staff wrote it.
        self.note = label("lead")
        self.note.setObjectName("welcome-note")
        layout = column(self.title, self.scan_card, self.by_name, self.note,
                        spacing=SPACING_PX)
        layout.addStretch(1)
        layout.addLayout(self.languages)
        self.setLayout(layout)
        self.page_layout = layout

    def set_languages(self, codes: tuple[str, ...]) -> None:
        self.language_buttons = fill_language_grid(
            self.languages, self.language_buttons, codes, columns=5,
            choose=self.host.flow.start_in, checkable=True)
        if self.layout() is not None:  # not while the page is being built
            self.fit()  # more or fewer rows of languages

    def set_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))
        self.fit()

    def attach_camera(self, preview: QWidget) -> None:
        """A live camera picture beside the scan instructions (only when a camera exists)."""
        self.camera = preview
        preview.setAccessibleName("camera")
        self.card_row.addWidget(preview)
        preview.show()  # now, not at the next turn of the event loop: fit() measures it
        self.camera_hint.show()
        self.fit()

    def fit(self) -> None:
        """Fits the page to its height, measured (a long translation, a camera picture, a
        practice's note or a 720-pixel screen can each make it taller): the camera picture
        is as tall as the instructions beside it; if the page is still too tall the gaps
        between its parts shrink, and then the greeting (the title) makes way. The
        instructions, the button and every language stay. Room left over makes the camera
        picture taller, up to 4:3."""
        preview = self.camera
        text = 0
        if preview is not None:
            self._settle()
            self.card_text.invalidate()  # a nested layout: activate() may have kept its cache
            text = min(CAMERA_HEIGHT_PX,
                       max(CAMERA_MIN_HEIGHT_PX, self.card_text.minimumSize().height()))
            preview.setFixedSize(CAMERA_WIDTH_PX, text)
        spare = 0
        for spacing, grid in ((SPACING_PX, GRID_SPACING_PX),
                              (TIGHT_SPACING_PX, TIGHT_GRID_SPACING_PX)):
            if self.page_layout.spacing() != spacing:
                self.page_layout.setSpacing(spacing)
                self.languages.setSpacing(grid)
            spare = self.height() - self._needed_with_title()
            if spare >= 0:
                break
        show_title = spare >= 0
        if not show_title:
            spare += self._title_room()
        if self.title.isHidden() == show_title:
            self.title.setVisible(show_title)
        if preview is not None and spare > 0 and text < CAMERA_HEIGHT_PX:
            preview.setFixedHeight(min(CAMERA_HEIGHT_PX, text + spare))

    def _settle(self) -> None:
        """Lays the page out now rather than at the next turn of the event loop, so that
        wrapped text has claimed the height it needs at its new width before it is measured."""
        for _ in range(4):
            redone = False
            for part in (self.scan_card, self.by_name):  # their own layouts first
                inner = part.layout()
                redone |= inner is not None and inner.activate()
            if not (self.page_layout.activate() | redone):
                break

    def _needed_with_title(self) -> int:
        self._settle()
        needed = self.page_layout.minimumSize().height()
        return needed + (self._title_room() if self.title.isHidden() else 0)

    def _title_room(self) -> int:
        """The height the title takes when shown, with the gap under it."""
        margins = self.page_layout.contentsMargins()
        width = self.width() - margins.left() - margins.right()
        return self.title.heightForWidth(width) + self.page_layout.spacing()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.fit()

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
        self.fit()
