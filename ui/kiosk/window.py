"""The patient kiosk window: renders kiosk.domain.flow.KioskFlow and turns touches into its calls.

The pages (``ui.kiosk.pages``) and overlays (``ui.kiosk.overlays``) see this window only as their
``PageHost``. Screens hold no state of their own beyond what they show; on every reset each
field is cleared (see ``_forget``) so nothing of one patient is left for the next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QLocale, QMargins, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import is_right_to_left, native_name, translate
from kiosk.base.settings import Settings
from kiosk.domain import texts
from kiosk.domain.flow import CheckinRequest, KioskFlow, Step
from kiosk.domain.results import CheckinResult
from ui.kiosk.overlays.language import LanguageOverlay
from ui.kiosk.overlays.timeout import TimeoutOverlay
from ui.kiosk.pages.base import Page
from ui.kiosk.pages.welcome import WelcomePage
from ui.scanner import ScannerFilter
from ui.theme import CALM, HIGH_CONTRAST, stylesheet
from ui.widgets.icons import contrast_icon, larger_text_icon
from ui.widgets.text import button
from ui.worker import Worker

log = logging.getLogger(__name__)

BUSY_AFTER_MS = 300
# The kiosk's design height. On a shorter screen (a 720p panel, 1024 x 768) the space around
# the pages shrinks, and buttons are lower (ui.theme), so that every screen fits: (sides, top
# and bottom, top bar to page).
DESIGN_HEIGHT_PX = 800
MARGINS_PX = (32, 20, 16)
SHORT_MARGINS_PX = (32, 10, 10)
Runner = Callable[[CheckinRequest], CheckinResult]


class Speaker(Protocol):
    """Spoken guidance (``ui.speech.Guide``): reads a page aloud in the patient's language."""

    def say(self, text: str, language: str) -> object: ...

    def forget(self) -> None: ...


class PageBook(dict[Step, Page]):
    """The kiosk's pages by step; a page not built yet is built when first asked for."""

    def __init__(self, build: Callable[[Step], Page]) -> None:
        super().__init__()
        self.build = build

    def __missing__(self, step: Step) -> Page:
        return self.build(step)


class KioskWindow(QWidget):
    """``run_checkin`` answers a request (on a worker thread); ``on_feedback(score, flow)``
    stores a rating. Help requests reach reception through the flow (``flow.on_help``)."""

    def __init__(self, flow: KioskFlow, run_checkin: Runner, *,
                 on_feedback: Callable[[int, KioskFlow], None] | None = None,
                 on_text_me: Callable[[int], bool] | None = None,
                 worker: Worker | None = None, tick_ms: int = 1000,
                 reach_layout: bool = False, guide: Speaker | None = None) -> None:
        super().__init__()
        self.setObjectName("kiosk")
        self.flow = flow
        self.guide = guide
        self._spoken_for: tuple[Step, str] | None = None
        self.run_checkin = run_checkin
        self.on_feedback = on_feedback
        self.on_text_me = on_text_me  # run on the worker: True when the texts are set up
        self.texts_asked: bool | None = None
        self.worker = worker or Worker(self)
        self.scanner: ScannerFilter | None = None  # set by whoever installs one (ui.app)
        self.site_settings: QObject | None = None  # what follows an admin's changes (ui.app)
        self.settings_shown: Settings | None = None
        self.hardware_keyboard = False
        self.feedback_given = False
        self.high_contrast = False
        self.larger_text = False
        self._language: str | None = None
        self._step: Step | None = None
        self._generation: int | None = None

        # The top bar keeps its size with larger text: five controls must fit across.
        self.language_button = button("bar")
        self.larger = button("bar")
        self.larger.setCheckable(True)
        self.larger.toggled.connect(self._set_larger)
        self.contrast = button("bar")
        self.contrast.setCheckable(True)
        self.contrast.toggled.connect(self._set_contrast)
        self.help = button("help")
        self.help.clicked.connect(flow.request_help)
        self.start_over = button("bar")
        self.start_over.clicked.connect(flow.start_over)
        top = QHBoxLayout()
        top.addWidget(self.start_over)
        top.addWidget(self.language_button)
        top.addStretch(1)
        top.addWidget(self.larger)
        top.addWidget(self.contrast)
        top.addWidget(self.help)

        self.stack = QStackedWidget()
        self.short = False  # shorter than the design height (see _fit_to_height)
        self._page_margins: dict[Page, QMargins] = {}
        # The welcome page now; the others when first shown, or right after the first frame
        # (build_pages): the welcome screen appears sooner after a restart.
        self.pages: dict[Step, Page] = PageBook(self._build_page)
        self.welcome = WelcomePage(self)
        self._add_page(Step.WELCOME, self.welcome)
        self.top = QWidget()
        self.top.setLayout(top)
        top.setContentsMargins(0, 0, 0, 0)
        self.reach = QWidget()  # the empty upper part of a tall screen in the reach layout
        self.reach.hide()
        layout = QVBoxLayout(self)
        # The window takes the size it is given (its screen's, locked down), never the size
        # its content asks for: a window taller than the screen is cut off at the bottom.
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetNoConstraint)
        layout.addWidget(self.reach)
        layout.addWidget(self.top)
        layout.addWidget(self.stack, 1)
        self.main_layout = layout
        self._set_margins()
        self.reach_layout = reach_layout
        self.overlay = TimeoutOverlay(self, self)
        self.languages = LanguageOverlay(self, self)
        self.language_button.clicked.connect(lambda: self.languages.open())

        self.busy_timer = QTimer(self)
        self.busy_timer.setSingleShot(True)
        self.busy_timer.timeout.connect(self._show_busy)
        self.ticker = QTimer(self)
        self.ticker.timeout.connect(flow.tick)
        self.ticker.start(tick_ms)
        flow.subscribe(lambda _flow: self.refresh())
        for switch in (self.larger, self.contrast):
            switch.setIconSize(QSize(40, 40))
        self._restyle()

    # -- pages -------------------------------------------------------------------------

    def build_pages(self) -> None:
        """Build every page not built yet (after the first frame: no tap waits for one)."""
        for step in Step:
            if step not in self.pages:
                self._build_page(step)

    def _build_page(self, step: Step) -> Page:
        from ui.kiosk.pages.birth_date import BirthDatePage
        from ui.kiosk.pages.message import MessagePage
        from ui.kiosk.pages.name import NamePage
        from ui.kiosk.pages.result import ResultPage

        makers: dict[Step, Callable[[], Page]] = {
            Step.FAMILY_NAME: lambda: NamePage(self, given=False),
            Step.GIVEN_NAME: lambda: NamePage(self, given=True),
            Step.BIRTH_DATE: lambda: BirthDatePage(self),
            Step.WORKING: lambda: MessagePage(self, texts.WORKING, None, with_done=False),
            Step.RESULT: lambda: ResultPage(self),
            Step.HELP: lambda: MessagePage(self, texts.HELP_TITLE, texts.HELP_BODY,
                                           with_done=True),
            Step.ERROR: lambda: MessagePage(self, texts.ERROR_TITLE, texts.ERROR_BODY,
                                            with_done=True),
        }
        page = makers[step]()
        self._add_page(step, page)
        return page

    def _add_page(self, step: Step, page: Page) -> None:
        dict.__setitem__(self.pages, step, page)
        self.stack.addWidget(page)
        # Styled now, with its children, not at its first show: a label's size hints,
        # measured before, would keep the unstyled font's.
        page.ensurePolished()
        own = page.layout()
        if own is not None:
            self._page_margins[page] = own.contentsMargins()
            if self.short:
                self._set_margins()
        if self._language is not None:  # a page built after the first: as the others are
            self._align_labels(is_right_to_left(self._language), page)

    # -- what pages and overlays use (ui.kiosk.host.PageHost) ----------------------------

    # Deliberately replaces Qt's tr() (whose signature takes a disambiguation and a plural
    # count): the kiosk translates with its own catalogs, in the patient's language.
    def tr(self, message: str, **values: Any) -> str:  # type: ignore[override]
        return translate(message, self.flow.language, **values)

    def apply_site_settings(self, settings: Settings) -> None:
        """The site-wide settings (languages offered, default language, the welcome note):
        at start, and when an admin changes them, between patients."""
        self.settings_shown = settings
        flow = self.flow
        if (flow.languages, flow.default_language) != (settings.languages,
                                                       settings.default_language):
            flow.configure(settings.default_language, settings.languages)
            self.welcome.set_languages(settings.languages)
            self.languages.set_languages(settings.languages)
        self.welcome.set_note(settings.welcome_message)
        self.refresh()

    def run(self, request: CheckinRequest | None) -> None:
        """Answer a check-in request off the GUI thread; the flow shows the result."""
        if request is None:
            return
        self.busy_timer.start(BUSY_AFTER_MS)
        self.worker.run(lambda: self.run_checkin(request),
                        lambda result: self._answered(request.request_id, result),
                        lambda error: self._failed(request.request_id, error))

    def _answered(self, request_id: int, result: CheckinResult) -> None:
        self.busy_timer.stop()
        self.flow.finish(result, request_id)  # dropped if that patient has gone

    def _failed(self, request_id: int, error: Exception) -> None:
        self.busy_timer.stop()
        self.flow.fail(request_id)

    def _show_busy(self) -> None:
        if self.flow.step == Step.WORKING:
            self.stack.setCurrentWidget(self.pages[Step.WORKING])

    def feedback(self, score: int) -> None:
        self.flow.touch()
        if self.on_feedback is not None and not self.feedback_given:
            self.on_feedback(score, self.flow)
        self.feedback_given = True
        self.refresh()

    def text_me(self) -> None:
        self.flow.touch()
        result, ask = self.flow.result, self.on_text_me
        if result is None or result.visit_id is None or ask is None or \
                self.texts_asked is not None:
            return
        visit_id, shown_for = result.visit_id, result
        self.texts_asked = True  # the touch shows at once; taken back if it fails

        def answered(done: bool) -> None:
            if self.flow.result is shown_for:  # still this patient's screen
                self.texts_asked = bool(done)
                self.refresh()

        self.worker.run(lambda: ask(visit_id), answered, lambda _error: answered(False))
        self.refresh()

    def _set_larger(self, on: bool) -> None:
        self.larger_text = on
        self.flow.touch()
        self._restyle()

    def _set_contrast(self, on: bool) -> None:
        self.high_contrast = on
        self.flow.touch()
        self._restyle()

    def _restyle(self) -> None:
        self.setStyleSheet(stylesheet(high_contrast=self.high_contrast,
                                      larger=self.larger_text, short=self.short))
        palette = HIGH_CONTRAST if self.high_contrast else CALM
        # Drawn in the text colour; a switch that is on shows the primary colour's text.
        self.larger.setIcon(larger_text_icon(
            palette.primary_text if self.larger_text else palette.text))
        self.contrast.setIcon(contrast_icon(
            palette.primary_text if self.high_contrast else palette.text))
        self.refresh()

    # -- rendering ---------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the flow as it is now: its page, the top bar, the timeout warning."""
        flow = self.flow
        if flow.generation != self._generation:  # a new patient: nothing of the last remains
            if self._generation is not None:
                self._forget()
            self._generation = flow.generation
        if flow.step != self._step:
            self.languages.hide()
        language_changed = flow.language != self._language
        if language_changed:
            self._language = flow.language
            self.setLayoutDirection(Qt.LayoutDirection.RightToLeft
                                    if is_right_to_left(flow.language)
                                    else Qt.LayoutDirection.LeftToRight)
            self.setLocale(QLocale(flow.language))
            self._align_labels(is_right_to_left(flow.language))
        self.language_button.setText(native_name(flow.language))
        self.language_button.setAccessibleName(
            f"{self.tr(texts.LANGUAGE_LABEL)}: {native_name(flow.language)}")
        self.language_button.setVisible(flow.step != Step.WELCOME or self.larger_text)
        for switch, name in ((self.larger, texts.LARGER_TEXT),
                             (self.contrast, texts.HIGH_CONTRAST)):
            switch.setAccessibleName(self.tr(name))
            switch.setToolTip(self.tr(name))
        self.help.setText(self.tr(texts.HELP_BUTTON))
        self.start_over.setText(self.tr(texts.START_OVER))
        self.start_over.setVisible(flow.step != Step.WELCOME)
        page = self.pages[flow.step]
        page.retranslate()
        if flow.step != Step.WORKING:
            entering = self.stack.currentWidget() is not page
            self.stack.setCurrentWidget(page)
            if entering:
                page.shown()
        self._step = flow.step
        self._speak(page)
        seconds = flow.warning_seconds_left
        if seconds is None:
            self.overlay.close_warning()
        else:
            self.overlay.warn(seconds)

    def _speak(self, page: Page) -> None:
        """Read a page aloud once when it appears (or its language changes)."""
        shown = (self.flow.step, self.flow.language)
        if self.guide is None or shown == self._spoken_for or self.flow.step == Step.WORKING:
            return
        self._spoken_for = shown
        text = page.spoken()
        if text:
            self.guide.say(text, self.flow.language)

    def _align_labels(self, right_to_left: bool, within: QWidget | None = None) -> None:
        """Align every label to the reading edge of the patient's language, also when its text
        starts in another script ("K-12", a doctor's Latin name): Qt would otherwise follow
        the text's own direction."""
        edge = Qt.AlignmentFlag.AlignRight if right_to_left else Qt.AlignmentFlag.AlignLeft
        for widget in (within or self).findChildren(QLabel):
            if widget.alignment() & Qt.AlignmentFlag.AlignHCenter:
                continue
            widget.setAlignment(edge | Qt.AlignmentFlag.AlignAbsolute |
                                Qt.AlignmentFlag.AlignVCenter)

    def _forget(self) -> None:
        """Clear every widget that showed or held a patient's data."""
        for page in self.pages.values():
            page.forget()
        self.feedback_given = False
        self.texts_asked = None
        self.hardware_keyboard = False
        self.languages.hide()
        QApplication.clipboard().clear()
        if self.guide is not None:
            self.guide.forget()
        # No button keeps the keyboard focus for the next patient (or a fresh start): an
        # Enter (the end of a scan not recognised as one) would press what was tapped before.
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        if not self.flow.new_patient:
            return  # "Start over": the same patient keeps the display they chose
        if self.larger.isChecked():
            self.larger.setChecked(False)
        if self.contrast.isChecked():
            self.contrast.setChecked(False)

    # -- input -------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Qt would give the focus to the first button (the larger-text switch), which an
        # Enter at the end of a scan not recognised as one would press.
        self.setFocus(Qt.FocusReason.OtherFocusReason)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        for overlay in (self.overlay, self.languages):
            if overlay.isVisible():
                overlay.setGeometry(self.rect())
        self._arrange_for_reach()
        self._fit_to_height()

    def _fit_to_height(self) -> None:
        """On a screen shorter than the design height: less space around the pages (the
        window's margins, the gap under the top bar, the pages' own top and bottom margins)
        and lower buttons. Text keeps its size, touch targets stay above 60 px."""
        short = self.height() < DESIGN_HEIGHT_PX
        if short != self.short:
            self.short = short
            self._set_margins()
            self._restyle()

    def _set_margins(self) -> None:
        sides, ends, gap = SHORT_MARGINS_PX if self.short else MARGINS_PX
        self.main_layout.setContentsMargins(sides, ends, sides, ends)
        self.main_layout.setSpacing(gap)
        for page, margins in self._page_margins.items():
            layout = page.layout()
            if layout is not None:
                layout.setContentsMargins(
                    margins.left(), 0 if self.short else margins.top(),
                    margins.right(), 0 if self.short else margins.bottom())

    def _arrange_for_reach(self) -> None:
        """Reach layout on a tall screen: the top bar moves under the page, and the upper
        third stays empty, so every control is within reach from a wheelchair."""
        tall = self.reach_layout and self.height() >= 1.3 * self.width()
        self.reach.setVisible(tall)
        self.reach.setFixedHeight(int(self.height() * 0.33) if tall else 0)
        index = self.main_layout.indexOf(self.top)
        wanted = self.main_layout.count() - 1 if tall else 1
        if index != wanted:
            self.main_layout.removeWidget(self.top)
            self.main_layout.insertWidget(wanted, self.top)

    def note_hardware_key(self, event: QKeyEvent | None = None) -> None:
        """A person typed on a physical keyboard: hide the on-screen one."""
        self.flow.touch()
        if not self.hardware_keyboard:
            self.hardware_keyboard = True
            self.refresh()
