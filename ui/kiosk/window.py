"""The patient kiosk window: renders kiosk.domain.flow.KioskFlow and turns touches into its calls.

Screens hold no state of their own beyond what they show; on every reset each field is cleared
(see ``_forget``) so nothing of one patient is left for the next.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import (
    date_field_order,
    is_right_to_left,
    native_name,
    translate,
)
from kiosk.base.settings import Settings
from kiosk.domain import texts
from kiosk.domain.flow import CheckinRequest, KioskFlow, Step
from kiosk.domain.results import CheckinResult, Outcome, Wait
from ui.theme import CALM, HIGH_CONTRAST, stylesheet
from ui.widgets.faces import face_icon
from ui.widgets.icons import contrast_icon, larger_text_icon
from ui.widgets.keyboard import Keyboard, Keypad
from ui.worker import Worker

log = logging.getLogger(__name__)

BUSY_AFTER_MS = 300
Runner = Callable[[CheckinRequest], CheckinResult]


class WrappingLabel(QLabel):
    """A word-wrapped label that claims the height its text needs at its current width.

    Nested layouts do not always ask a wrapped label for its height-for-width, and a long
    translation (or a taller CJK font) would then be cut off."""

    laid_out = False

    def resizeEvent(self, event: Any) -> None:
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

    def _claim(self) -> None:
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

    def setText(self, text: str) -> None:  # type: ignore[override]
        self.caption.setText(text)
        self.setAccessibleName(text)

    def text(self) -> str:  # type: ignore[override]
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


class Page(QWidget):
    def __init__(self, window: KioskWindow) -> None:
        super().__init__()
        self.window_ = window

    def tr(self, message: str, **values: Any) -> str:  # type: ignore[override]
        return self.window_.tr(message, **values)

    def retranslate(self) -> None: ...

    def spoken(self) -> str:
        """What spoken guidance reads on this page: its heading and instructions."""
        parts = [getattr(self, name).text() for name in ("title", "hint", "scan", "body")
                 if hasattr(self, name) and getattr(self, name).isVisibleTo(self)]
        return " ".join(part for part in parts if part)

    def forget(self) -> None: ...

    def shown(self) -> None: ...


def fill_language_grid(grid: QGridLayout, old: dict[str, QPushButton], codes: tuple[str, ...],
                       *, columns: int, choose: Callable[[str], None],
                       checkable: bool = False) -> dict[str, QPushButton]:
    """One button per language, by its own name, in ``columns`` columns (replacing ``old``):
    the welcome screen's grid and the language chooser's."""
    for choice in old.values():
        grid.removeWidget(choice)
        choice.deleteLater()
    buttons: dict[str, QPushButton] = {}
    for index, code in enumerate(codes):
        # Narrow padding: five columns of native names fit a 1024-pixel-wide screen.
        choice = button("language")
        choice.setText(native_name(code))
        choice.setAccessibleName(native_name(code))
        choice.setCheckable(checkable)
        choice.clicked.connect(lambda _=False, c=code: choose(c))
        grid.addWidget(choice, index // columns, index % columns)
        buttons[code] = choice
    return buttons


class WelcomePage(Page):
    def __init__(self, window: KioskWindow) -> None:
        super().__init__(window)
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
        self.by_name.clicked.connect(window.flow.start_name_entry)
        self.languages = QGridLayout()
        self.languages.setSpacing(10)
        self.language_buttons: dict[str, QPushButton] = {}
        self.set_languages(window.flow.languages)
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
            choose=self.window_.flow.choose_language, checkable=True)

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
            choice.setChecked(code == self.window_.flow.language)
            # With larger text the grid does not fit a small screen: the language button
            # in the top bar opens the same choice.
            choice.setVisible(not self.window_.larger_text)


class NamePage(Page):
    """Family name, or the given name when the engine asks for it."""

    def __init__(self, window: KioskWindow, *, given: bool) -> None:
        super().__init__(window)
        self.given = given
        self.title = label("title")
        self.hint = label("hint")
        self.field = private_field()
        self.field.setMaxLength(120)
        self.field.returnPressed.connect(self.submit)
        self.field.textChanged.connect(lambda _text: window.flow.touch())
        self.problem = label("problem")
        self.back = button()
        self.back.clicked.connect(window.flow.back)
        self.next = button("primary")
        self.next.clicked.connect(self.submit)
        self.keyboard = Keyboard(lambda message: self.tr(message), before=self.back,
                                 after=self.next)
        self.keyboard.target = self.field
        layout = column(self.title, self.hint, self.field, self.problem, spacing=8)
        layout.addStretch(1)
        layout.addWidget(self.keyboard)
        self.setLayout(layout)

    def submit(self) -> None:
        flow = self.window_.flow
        if self.given:
            self.window_.run(flow.submit_given(self.field.text()))
        else:
            flow.submit_family(self.field.text())

    def retranslate(self) -> None:
        flow = self.window_.flow
        self.title.setText(self.tr(texts.GIVEN_TITLE if self.given else texts.FAMILY_TITLE))
        self.hint.setText(self.tr(texts.GIVEN_HINT if self.given else texts.FAMILY_HINT))
        self.field.setPlaceholderText(self.tr(texts.GIVEN_FIELD if self.given
                                              else texts.FAMILY_FIELD))
        self.field.setAccessibleName(self.field.placeholderText())
        self.back.setText(self.tr(texts.BACK))
        self.next.setText(self.tr(texts.NEXT))
        problem = flow.problem if flow.step == (Step.GIVEN_NAME if self.given
                                                else Step.FAMILY_NAME) else None
        self.problem.setText(self.tr(texts.PROBLEMS[problem]) if problem else "")
        self.keyboard.set_language(flow.language)
        self.keyboard.show_keys(not self.window_.hardware_keyboard)

    def shown(self) -> None:
        self.field.setFocus()

    def forget(self) -> None:
        self.field.setText("")  # unlike clear(), leaves nothing to undo
        self.problem.clear()


class BirthDatePage(Page):
    def __init__(self, window: KioskWindow) -> None:
        super().__init__(window)
        self.title = label("title")
        self.fields = {name: private_field() for name in ("day", "month", "year")}
        self.captions = {name: label("hint", wrap=False) for name in self.fields}
        for name, field in self.fields.items():
            field.setMaxLength(4 if name == "year" else 2)
            field.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
            field.setAlignment(Qt.AlignmentFlag.AlignCenter)
            field.textEdited.connect(lambda _text, n=name: self._advance(n))
            field.textChanged.connect(lambda _text: window.flow.touch())
            field.returnPressed.connect(self.submit)
        self.row = QHBoxLayout()
        self.row.setSpacing(16)
        self.holders: dict[str, QWidget] = {}
        for name in self.fields:
            box = QVBoxLayout()
            box.addWidget(self.captions[name])
            box.addWidget(self.fields[name])
            holder = QWidget()
            holder.setLayout(box)
            self.holders[name] = holder
        self.problem = label("problem")
        self.keypad = Keypad(self._digit, self._delete)
        self.back = button()
        self.back.clicked.connect(window.flow.back)
        self.check_in = button("primary")
        self.check_in.clicked.connect(self.submit)
        layout = column(self.title, spacing=12)
        layout.addLayout(self.row)
        layout.addWidget(self.problem)
        # Back and Check in flank the keypad, on its bottom line, to keep the page short.
        keypad_row = QHBoxLayout()
        keypad_row.addWidget(self.back, 1, Qt.AlignmentFlag.AlignBottom)
        keypad_row.addStretch(1)
        keypad_row.addWidget(self.keypad, 3)
        keypad_row.addStretch(1)
        keypad_row.addWidget(self.check_in, 1, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(keypad_row)
        layout.addStretch(1)
        self.setLayout(layout)
        self._order: tuple[str, ...] = ()

    def _arrange(self, order: tuple[str, ...]) -> None:
        """Day, month and year in the order the patient's language writes dates."""
        if order == self._order:
            return
        self._order = order
        for name in order:  # the same three holders, moved, never rebuilt
            self.row.removeWidget(self.holders[name])
        for name in order:
            self.row.addWidget(self.holders[name], 2 if name == "year" else 1)

    def _current(self) -> QLineEdit:
        """The field the keypad types into: the focused one, else the first not yet full."""
        for field in self.fields.values():
            if field.hasFocus():
                return field
        ordered = [self.fields[name] for name in self._order] or [self.fields["day"]]
        return next((f for f in ordered if len(f.text()) < f.maxLength()), ordered[-1])

    def _digit(self, digit: str) -> None:
        field = self._current()
        field.insert(digit)
        self._advance(next(name for name, f in self.fields.items() if f is field))

    def _delete(self) -> None:
        field = self._current()
        if not field.text() and self._order:
            index = [self.fields[n] for n in self._order].index(field)
            if index:
                field = self.fields[self._order[index - 1]]
                field.setFocus()
        field.backspace()

    def _advance(self, name: str) -> None:
        field = self.fields[name]
        self.window_.flow.touch()
        if len(field.text()) >= field.maxLength() and name in self._order:
            index = self._order.index(name)
            if index + 1 < len(self._order):
                self.fields[self._order[index + 1]].setFocus()

    def submit(self) -> None:
        values = {name: field.text() for name, field in self.fields.items()}
        self.window_.run(self.window_.flow.submit_birth_date(
            values["day"], values["month"], values["year"]))

    def retranslate(self) -> None:
        flow = self.window_.flow
        self._arrange(date_field_order(flow.language))
        self.title.setText(self.tr(texts.BIRTH_TITLE))
        for name, caption in (("day", texts.DAY), ("month", texts.MONTH), ("year", texts.YEAR)):
            self.captions[name].setText(self.tr(caption))
            self.fields[name].setAccessibleName(self.tr(caption))
        problem = flow.problem if flow.step == Step.BIRTH_DATE else None
        self.problem.setText(self.tr(texts.PROBLEMS[problem]) if problem else "")
        self.back.setText(self.tr(texts.BACK))
        self.check_in.setText(self.tr(texts.CHECK_IN))
        self.keypad.delete.setAccessibleName(self.tr(texts.KEY_DELETE))

    def shown(self) -> None:
        if self._order:
            self.fields[self._order[0]].setFocus()

    def forget(self) -> None:
        for field in self.fields.values():
            field.setText("")  # unlike clear(), leaves nothing to undo
        self.problem.clear()


class MessagePage(Page):
    """Working, help and error: a title and a few calm lines."""

    def __init__(self, window: KioskWindow, title: str, body: str | None,
                 with_done: bool) -> None:
        super().__init__(window)
        self.title_text, self.body_text = title, body
        self.title = label("title")
        self.body = label()
        self.done = button("primary")
        self.done.clicked.connect(window.flow.done)
        self.done.setVisible(with_done)
        layout = column(self.title, self.body)
        layout.addStretch(1)
        layout.addWidget(self.done, alignment=Qt.AlignmentFlag.AlignHCenter)
        self.setLayout(layout)

    def retranslate(self) -> None:
        self.title.setText(self.tr(self.title_text))
        self.body.setText(self.tr(self.body_text) if self.body_text else "")
        self.done.setText(self.tr(texts.DONE))


class ResultPage(Page):
    def __init__(self, window: KioskWindow) -> None:
        super().__init__(window)
        self.title = label("title")
        self.ticket_caption = label("hint")
        self.ticket = label("ticket")
        self.details = label()
        self.message = label()
        self.feedback_question = label("hint")
        self.faces = QHBoxLayout()
        self.face_buttons = []
        for score in range(1, 6):
            choice = button()
            choice.setIcon(face_icon(score))
            choice.setIconSize(QSize(48, 48))
            choice.clicked.connect(lambda _=False, s=score: window.feedback(s))
            self.faces.addWidget(choice)
            self.face_buttons.append(choice)
        self.try_again = button()
        self.try_again.clicked.connect(window.flow.start_name_entry)
        self.done = button("primary")
        self.done.clicked.connect(window.flow.done)
        # The ticket on the leading side, what it means beside it; the faces, Try again and
        # Done share the bottom row. Compact enough for larger text on a 1280 x 800 screen.
        ticket = column(self.ticket_caption, self.ticket, spacing=0)
        ticket.addStretch(1)
        middle = QHBoxLayout()
        middle.setSpacing(36)
        middle.addLayout(ticket)
        middle.addLayout(column(self.details, self.message, spacing=8), 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.try_again)
        bottom.addLayout(self.faces, 1)
        bottom.addStretch(0)
        bottom.addWidget(self.done)
        for end in (self.try_again, self.done):  # a lone Done stays a button, not a bar
            end.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        layout = column(self.title, spacing=10)
        layout.addLayout(middle)
        layout.addStretch(1)
        layout.addWidget(self.feedback_question)
        layout.addLayout(bottom)
        self.setLayout(layout)

    def retranslate(self) -> None:
        flow = self.window_.flow
        result = flow.result
        language = flow.language
        self.done.setText(self.tr(texts.DONE))
        self.try_again.setText(self.tr(texts.TRY_AGAIN))
        self.feedback_question.setText(self.tr(texts.FEEDBACK_QUESTION))
        for choice, name in zip(self.face_buttons, texts.FEEDBACK_SCORES, strict=True):
            choice.setAccessibleName(self.tr(name))
        if result is None:
            self.forget()
            return
        placed = result.ticket is not None
        self.title.setText(self.tr(texts.GREETING, name=result.given_name)
                           if placed and result.given_name
                           else result.message(language))
        self.ticket_caption.setVisible(placed)
        self.ticket_caption.setText(self.tr(texts.TICKET_LABEL))
        self.ticket.setText(result.ticket or "")
        self.ticket.setVisible(placed)
        lines = []
        if placed:
            lines.append(self.tr(texts.PROVIDER_LINE, provider=result.provider))
            if result.position:
                lines.append(self.tr(texts.POSITION_LINE, position=result.position))
            if result.wait is not None:
                lines.append(wait_text(result.wait, self.tr))
        self.details.setText("\n".join(lines))
        self.message.setText(
            (result.message(language) + " " + self.tr(texts.TAKE_A_SEAT)) if placed else "")
        asked = result.outcome is Outcome.CHECKED_IN and not self.window_.feedback_given
        self.feedback_question.setVisible(asked)
        for choice in self.face_buttons:
            choice.setVisible(asked)
        self.try_again.setVisible(result.outcome in (Outcome.NOT_FOUND, Outcome.INVALID_CODE))

    def shown(self) -> None:
        self.done.setFocus()

    def spoken(self) -> str:
        # Not the greeting: a patient's name is not read aloud in a lobby.
        return " ".join(part for part in (self.details.text(), self.message.text()) if part)

    def forget(self) -> None:
        for widget in (self.title, self.ticket, self.details, self.message):
            widget.clear()


def wait_text(wait: Wait, tr: Callable[..., str]) -> str:
    """The wait in plain words: a range, "less than 5 minutes", or no number at all."""
    if not wait.known:
        return tr(texts.WAIT_UNKNOWN)
    if wait.upper < 5:
        return tr(texts.WAIT_SOON)
    return tr(texts.WAIT_LINE, median=wait.median, upper=wait.upper)


class Overlay(QFrame):
    """A dimmed layer over the whole window, with one card in its middle."""

    def __init__(self, window: KioskWindow, inner: QVBoxLayout, margin: int) -> None:
        super().__init__(window)
        self.window_ = window
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
        self.setGeometry(self.window_.rect())
        self.raise_()


class LanguageOverlay(Overlay):
    """The language chooser, over any screen; what was entered stays."""

    def __init__(self, window: KioskWindow) -> None:
        self.title = label("title")
        self.grid = QGridLayout()
        self.grid.setSpacing(10)
        self.buttons: dict[str, QPushButton] = {}
        self.close_button = button()
        inner = column(self.title)
        inner.addLayout(self.grid)
        inner.addWidget(self.close_button, alignment=Qt.AlignmentFlag.AlignTrailing)
        super().__init__(window, inner, margin=40)
        self.close_button.clicked.connect(self.hide)
        self.set_languages(window.flow.languages)

    def set_languages(self, codes: tuple[str, ...]) -> None:
        self.buttons = fill_language_grid(self.grid, self.buttons, codes, columns=3,
                                          choose=self.choose)

    def open(self) -> None:
        self.window_.flow.touch()
        self.title.setText(self.window_.tr(texts.LANGUAGE_LABEL))
        self.close_button.setText(self.window_.tr(texts.BACK))
        self.cover()
        self.show()
        self.buttons[self.window_.flow.language].setFocus()

    def choose(self, language: str) -> None:
        self.hide()
        self.window_.flow.choose_language(language)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
        else:
            super().keyPressEvent(event)


class TimeoutOverlay(Overlay):
    def __init__(self, window: KioskWindow) -> None:
        self.title = label("title")
        self.body = label()
        self.more = WrapButton("primary")
        super().__init__(window, column(self.title, self.body, self.more), margin=60)
        self.more.clicked.connect(window.flow.more_time)

    def render(self, seconds: int) -> None:
        tr = self.window_.tr
        self.title.setText(tr(texts.TIMEOUT_TITLE))
        self.body.setText(tr(texts.TIMEOUT_BODY, seconds=seconds))
        self.more.setText(tr(texts.MORE_TIME))
        self.cover()
        if not self.isVisible():
            self.returns_focus_to = QApplication.focusWidget()
            self.show()
            self.more.setFocus()

    def close_warning(self) -> None:
        """Hide, and give the focus back to where the patient was (not to Start over)."""
        if not self.isVisible():
            return
        self.hide()
        previous = getattr(self, "returns_focus_to", None)
        if previous is not None and previous.isVisible():
            previous.setFocus()


class KioskWindow(QWidget):
    """``run_checkin`` answers a request (on a worker thread); ``on_feedback(score, result)``
    stores a rating; ``on_help(step)`` alerts reception."""

    def __init__(self, flow: KioskFlow, run_checkin: Runner, *,
                 on_feedback: Callable[[int, KioskFlow], None] | None = None,
                 worker: Worker | None = None, tick_ms: int = 1000,
                 reach_layout: bool = False, guide: Any = None) -> None:
        super().__init__()
        self.setObjectName("kiosk")
        self.flow = flow
        self.guide = guide
        self._spoken_for: tuple[Step, str] | None = None
        self.run_checkin = run_checkin
        self.on_feedback = on_feedback
        self.worker = worker or Worker(self)
        self.hardware_keyboard = False
        self.feedback_given = False
        self.high_contrast = False
        self.larger_text = False
        self._language: str | None = None
        self._step: Step | None = None
        self._generation: int | None = None

        # The top bar keeps its size with larger text: five controls must fit across.
        self.language_button = button("bar")
        self.language_button.clicked.connect(lambda: self.languages.open())
        self.larger = button("bar")
        self.larger.setCheckable(True)
        self.larger.toggled.connect(self._set_larger)
        self.contrast = button("bar")
        self.contrast.setCheckable(True)
        self.contrast.toggled.connect(self._set_contrast)
        self.help = button("help")
        self.help.clicked.connect(flow.request_help)
        self.start_over = button("bar")
        self.start_over.clicked.connect(flow.done)
        top = QHBoxLayout()
        top.addWidget(self.start_over)
        top.addWidget(self.language_button)
        top.addStretch(1)
        top.addWidget(self.larger)
        top.addWidget(self.contrast)
        top.addWidget(self.help)

        self.pages: dict[Step, Page] = {
            Step.WELCOME: WelcomePage(self),
            Step.FAMILY_NAME: NamePage(self, given=False),
            Step.GIVEN_NAME: NamePage(self, given=True),
            Step.BIRTH_DATE: BirthDatePage(self),
            Step.WORKING: MessagePage(self, texts.WORKING, None, with_done=False),
            Step.RESULT: ResultPage(self),
            Step.HELP: MessagePage(self, texts.HELP_TITLE, texts.HELP_BODY, with_done=True),
            Step.ERROR: MessagePage(self, texts.ERROR_TITLE, texts.ERROR_BODY, with_done=True),
        }
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)
        self.top = QWidget()
        self.top.setLayout(top)
        top.setContentsMargins(0, 0, 0, 0)
        self.reach = QWidget()  # the empty upper part of a tall screen in the reach layout
        self.reach.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 20, 32, 20)
        layout.setSpacing(16)
        layout.addWidget(self.reach)
        layout.addWidget(self.top)
        layout.addWidget(self.stack, 1)
        self.main_layout = layout
        self.reach_layout = reach_layout
        self.overlay = TimeoutOverlay(self)
        self.languages = LanguageOverlay(self)

        self.busy_timer = QTimer(self)
        self.busy_timer.setSingleShot(True)
        self.busy_timer.timeout.connect(self._show_busy)
        self.ticker = QTimer(self)
        self.ticker.timeout.connect(flow.tick)
        self.ticker.start(tick_ms)
        flow.subscribe(lambda _flow: self.render())
        for switch in (self.larger, self.contrast):
            switch.setIconSize(QSize(40, 40))
        self._restyle()

    # -- helpers for pages -------------------------------------------------------------

    def tr(self, message: str, **values: Any) -> str:  # type: ignore[override]
        return translate(message, self.flow.language, **values)

    def apply_site_settings(self, settings: Settings) -> None:
        """The site-wide settings (languages offered, default language, the welcome note):
        at start, and when an admin changes them, between patients."""
        flow = self.flow
        if (flow.languages, flow.default_language) != (settings.languages,
                                                       settings.default_language):
            flow.configure(settings.default_language, settings.languages)
            self.pages[Step.WELCOME].set_languages(settings.languages)  # type: ignore[attr-defined]
            self.languages.set_languages(settings.languages)
        self.pages[Step.WELCOME].set_note(settings.welcome_message)  # type: ignore[attr-defined]
        self.render()

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
        self.render()

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
                                      larger=self.larger_text))
        palette = HIGH_CONTRAST if self.high_contrast else CALM
        # Drawn in the text colour; a switch that is on shows the primary colour's text.
        self.larger.setIcon(larger_text_icon(
            palette.primary_text if self.larger_text else palette.text))
        self.contrast.setIcon(contrast_icon(
            palette.primary_text if self.high_contrast else palette.text))
        self.render()

    # -- rendering ---------------------------------------------------------------------

    def render(self) -> None:
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
            self.setLocale(flow.language)
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
            self.overlay.render(seconds)

    def setLocale(self, language: str) -> None:  # type: ignore[override]
        from PySide6.QtCore import QLocale

        super().setLocale(QLocale(language))

    def _speak(self, page: Page) -> None:
        """Read a page aloud once when it appears (or its language changes)."""
        shown = (self.flow.step, self.flow.language)
        if self.guide is None or shown == self._spoken_for or self.flow.step == Step.WORKING:
            return
        self._spoken_for = shown
        text = page.spoken()
        if text:
            self.guide.say(text, self.flow.language)

    def _align_labels(self, right_to_left: bool) -> None:
        """Align every label to the reading edge of the patient's language, also when its text
        starts in another script ("K-12", a doctor's Latin name): Qt would otherwise follow
        the text's own direction."""
        edge = Qt.AlignmentFlag.AlignRight if right_to_left else Qt.AlignmentFlag.AlignLeft
        for widget in self.findChildren(QLabel):
            if widget.alignment() & Qt.AlignmentFlag.AlignHCenter:
                continue
            widget.setAlignment(edge | Qt.AlignmentFlag.AlignAbsolute |
                                Qt.AlignmentFlag.AlignVCenter)

    def _forget(self) -> None:
        """Clear every widget that showed or held a patient's data."""
        for page in self.pages.values():
            page.forget()
        self.feedback_given = False
        self.hardware_keyboard = False
        self.languages.hide()
        QApplication.clipboard().clear()
        if self.guide is not None:
            self.guide.forget()
        if self.larger.isChecked():
            self.larger.setChecked(False)
        if self.contrast.isChecked():
            self.contrast.setChecked(False)

    # -- input -------------------------------------------------------------------------

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        for overlay in (self.overlay, self.languages):
            if overlay.isVisible():
                overlay.setGeometry(self.rect())
        self._arrange_for_reach()

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
            self.render()
