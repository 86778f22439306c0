"""The answer: the ticket and the wait, or what to do instead; a rating of the visit."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy

from kiosk.domain import texts
from kiosk.domain.results import CheckinResult, Outcome, Reason, Wait
from ui.kiosk.host import PageHost
from ui.kiosk.pages.base import Page
from ui.widgets.faces import face_icon
from ui.widgets.text import button, column, label


class ResultPage(Page):
    def __init__(self, host: PageHost) -> None:
        super().__init__(host)
        self.title = label("title")
        # What to do instead, when no ticket was given: several sentences are read more
        # easily in the lead style than as a bold title.
        self.answer = label("lead")
        self.ticket_caption = label("hint")
        self.ticket = label("ticket")
        self.details = label()
        self.message = label()
        self.feedback_question = label("hint")
        self.faces = QHBoxLayout()
        self.face_buttons: list[QPushButton] = []
        for score in range(1, 6):
            choice = button()
            choice.setIcon(face_icon(score))
            choice.setIconSize(QSize(48, 48))
            choice.clicked.connect(lambda _=False, s=score: host.feedback(s))
            self.faces.addWidget(choice)
            self.face_buttons.append(choice)
        # The queue on the patient's phone: one touch, to the number on record (only its
        # last two digits are shown).
        self.text_me = button()
        self.text_me.clicked.connect(host.text_me)
        self.text_me.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.text_me_note = label("hint")
        self._text_me_for: CheckinResult | None = None
        self.try_again = button()
        self.try_again.clicked.connect(host.flow.start_name_entry)
        self.done = button("primary")
        self.done.clicked.connect(host.flow.done)
        # The ticket on the leading side, what it means beside it; the faces, Try again and
        # Done share the bottom row. Compact enough for larger text on a 1280 x 800 screen.
        ticket = column(self.ticket_caption, self.ticket, spacing=0)
        ticket.addStretch(1)
        middle = QHBoxLayout()
        middle.setSpacing(36)
        middle.addLayout(ticket)
        middle.addLayout(column(self.details, self.message, self.text_me, self.text_me_note,
                                spacing=8), 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.try_again)
        bottom.addLayout(self.faces, 1)
        bottom.addStretch(0)
        bottom.addWidget(self.done)
        for end in (self.try_again, self.done):  # a lone Done stays a button, not a bar
            end.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        layout = column(self.title, self.answer, spacing=10)
        layout.addLayout(middle)
        layout.addStretch(1)
        layout.addWidget(self.feedback_question)
        layout.addLayout(bottom)
        self.setLayout(layout)

    def retranslate(self) -> None:
        flow = self.host.flow
        result = flow.result
        language = flow.language
        self.done.setText(self.tr(texts.DONE))
        self.try_again.setText(self.tr(texts.TRY_AGAIN))
        for choice, name in zip(self.face_buttons, texts.FEEDBACK_SCORES, strict=True):
            choice.setAccessibleName(self.tr(name))
        if result is None:
            self.forget()
            return
        placed = result.ticket is not None
        greeting = result.greeting(language)  # 王伟 in Chinese, the given name where usual
        self.title.setText(self.tr(texts.GREETING, name=greeting) if placed and greeting
                           else "")
        self.title.setVisible(placed)
        self.answer.setText("" if placed else result.message(language))
        self.answer.setVisible(not placed)
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
        # One instruction, and the one that matters last: a late patient is sent to reception,
        # not also told to wait for the ticket to be called.
        seated = result.outcome in (Outcome.CHECKED_IN, Outcome.ALREADY_CHECKED_IN)
        self.message.setText(
            result.message(language) + (" " + self.tr(texts.TAKE_A_SEAT) if seated else "")
            if placed else "")
        self._text_me_for = result if seated and placed else None
        self._show_text_me(self._text_me_for)
        self.feedback_question.setText(self.tr(texts.FEEDBACK_THANKS if self.host.feedback_given
                                               else texts.FEEDBACK_QUESTION))
        self.fit()
        self.try_again.setVisible(result.outcome in (Outcome.NOT_FOUND, Outcome.INVALID_CODE)
                                  and result.reason is not Reason.TRIES_USED)

    def _show_text_me(self, result: CheckinResult | None) -> None:
        """Offered to a seated patient with a mobile on record; then what was set up."""
        digits = result.mobile_ending if result is not None else None
        asked = self.host.texts_asked
        self.text_me.setText(self.tr(texts.TEXT_ME))
        self.text_me.setVisible(digits is not None and asked is None)
        if digits is None:
            note = ""
        elif asked is None:
            note = self.tr(texts.TEXT_ME_HINT, digits=digits)
        else:
            note = self.tr(texts.TEXT_ME_DONE if asked else texts.TEXT_ME_FAILED, digits=digits)
        self.text_me_note.setText(note)
        self.text_me_note.setVisible(bool(note))

    def fit(self) -> None:
        """The rating row is offered after a check-in, unless the answer needs its room: with
        larger text in a long language on a small screen, what the patient must read (the
        provider, the place, the wait, where to go) comes before asking how it went."""
        result = self.host.flow.result
        offered = result is not None and result.outcome is Outcome.CHECKED_IN
        self._show_feedback(offered)
        self._show_text_me(self._text_me_for if result is not None else None)
        # A page of the stack has the stack's size also before it comes to the front.
        if self.height() <= 0:
            return
        if offered and self._needed_height() > self.height():
            self._show_feedback(False)
        # Then the "text me" offer's explanation, then the offer itself: optional both.
        if self.text_me_note.isVisible() and self.text_me.isVisible() \
                and self._needed_height() > self.height():
            self.text_me_note.setVisible(False)
        if self.text_me.isVisible() and self._needed_height() > self.height():
            self.text_me.setVisible(False)

    def _show_feedback(self, shown: bool) -> None:
        rated = self.host.feedback_given
        self.feedback_question.setVisible(shown)
        for choice in self.face_buttons:
            choice.setVisible(shown and not rated)

    def _needed_height(self) -> int:
        layout = self.layout()
        assert layout is not None
        for _ in range(4):  # wrapped labels claim their height at the new width first
            if not layout.activate():
                break
        needed = layout.minimumSize().height()
        if layout.hasHeightForWidth():  # wrapped lines: their height at this page's width
            needed = max(needed, layout.heightForWidth(self.width()))
        return needed

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.host.flow.result is not None:
            self.fit()

    def shown(self) -> None:
        self.fit()
        self.done.setFocus()

    def spoken(self) -> str:
        # Not the greeting: a patient's name is not read aloud in a lobby.
        return " ".join(part for part in (self.answer.text(), self.details.text(),
                                          self.message.text()) if part)

    def forget(self) -> None:
        for widget in (self.title, self.answer, self.ticket, self.details, self.message,
                       self.text_me_note):
            widget.clear()
        self._text_me_for = None
        self.text_me.hide()


def wait_text(wait: Wait, tr: Callable[..., str]) -> str:
    """The wait in plain words: a range, "less than 5 minutes", or no number at all."""
    if not wait.known:
        return tr(texts.WAIT_UNKNOWN)
    if wait.upper < 5:
        return tr(texts.WAIT_SOON)
    return tr(texts.WAIT_LINE, median=wait.median, upper=wait.upper)

