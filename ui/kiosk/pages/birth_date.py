"""The date of birth: day, month and year in the order the patient's language writes dates,
typed on a phone-style keypad or a keyboard.

The rules, the same for a finger on the keypad and for a keyboard's digits and Backspace:

1. **Always one active field.** The keypad types into the active field, which has the focus
   frame. On entering the page it is the first field not yet full, in the language's order.
   Keys, Back and Check in never take the focus, so a tap on them never leaves the patient
   without a field; if something else took the focus, the next key gives it back (and a
   change of language, which Qt would end in another field, keeps it). A keyboard types
   into the field that has the focus, which Tab moves, selecting its digits as a tap does.
2. **Tapping a field selects it for retyping.** The tapped field becomes active with all its
   digits selected. Nothing puts the caret between digits: a tap, a drag or a double tap
   selects all; arrow keys do nothing.
3. **A digit goes at the end of the active field.** If the field's digits are selected, or the
   field is full (two digits for day and month, four for the year), the digit starts the
   field afresh: typing into a full field is retyping it, so "14" then 2, 3 gives "23". A
   digit is never dropped.
4. **A full field moves on.** When the active field becomes full, the next field after it in
   the language's order that is not yet full becomes active (caret at its end); if there is
   none, the field stays active, so that ⌫ takes back what was just typed.
5. **⌫ deletes the last digit of the active field**, also when its digits are selected (only
   the last one goes). In an empty field, ⌫ moves back to the previous field and deletes its
   last digit: as if the three fields were one line, each ⌫ takes away exactly the digit
   before the caret, and no other.
6. **A problem points at its field.** Check in with a problem makes the field it is about
   active with its digits selected (the day of "31 February", a month of 13, a year in the
   future, too old, or of two digits that could be two years; the first empty field when one
   is empty): the next digit retypes it, ⌫ deletes its last digit. The message goes as soon as
   the patient edits (a digit or ⌫).
7. **The keypad stays put.** The message line always keeps the room of the longest date
   message in the patient's language, shown or not, so the keypad does not move when a message
   appears or goes, nor from one patient to the next.

Each field shows what it wants, in the patient's language ("DD", "MM", "YYYY"; "JJ MM AAAA" in
French). In Persian the date may be typed in the Solar Hijri or the Gregorian calendar (the
year says which: kiosk.domain.flow.validate_birth_date), and a line under the title says so.

The keypad and the fields show the digits of the patient's language: Arabic-Indic (٠١٢٣) in
Arabic, Extended Arabic-Indic (۰۱۲۳) in Persian, with the Western digit small in each key's
corner; a change of language rewrites the digits already typed. What is checked in is the same
date whatever digits showed it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import QEvent, QRect, Qt
from PySide6.QtGui import QKeyEvent, QMouseEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from kiosk.base.i18n import birth_calendars, date_field_order, is_right_to_left
from kiosk.domain import texts
from kiosk.domain.flow import InputProblem, Step
from ui.kiosk.host import PageHost
from ui.kiosk.pages.base import Page
from ui.widgets.keyboard import WESTERN_DIGITS, Keypad, digits_for
from ui.widgets.text import button, column, label

DIGITS = {"day": 2, "month": 2, "year": 4}
DATE_PROBLEMS = tuple(problem for problem in InputProblem if problem.name.startswith("DATE_"))


def western(text: str) -> str:
    """Digits of any script as 0-9 (the fields show the patient's own: ٣ in Arabic)."""
    return "".join(str(int(character)) for character in text)


class DateField(QLineEdit):
    """One of the three fields: it holds digits only and hands every edit to the page, so that
    touches, the keypad and a keyboard follow the same rules."""

    def __init__(self, digits: int, *, tapped: Callable[[], None],
                 digit: Callable[[str], None], delete: Callable[[], None]) -> None:
        super().__init__()
        self._tapped, self._digit, self._delete = tapped, digit, delete
        self.setMaxLength(digits)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)  # no copy, paste, undo
        self.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self.align(right_to_left=False)

    def align(self, *, right_to_left: bool) -> None:
        """At the reading edge of the patient's language, caret, digits and placeholder alike
        (Qt would put left-to-right digits at the left of a right-to-left field). Not centred:
        Qt hides a centred field's placeholder while it has the focus, and the active field is
        the one whose "DD" the patient most needs to read."""
        edge = Qt.AlignmentFlag.AlignRight if right_to_left else Qt.AlignmentFlag.AlignLeft
        self.setAlignment(edge | Qt.AlignmentFlag.AlignAbsolute | Qt.AlignmentFlag.AlignVCenter)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        event.accept()
        self._tapped()  # not QLineEdit's: it would put the caret where the finger landed

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        event.accept()
        self._tapped()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        event.accept()  # no dragging a selection over part of the digits

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if len(text) == 1 and text.isdecimal():
            self._digit(str(int(text)))  # any script's digit (Persian ۵) is typed as 5
        elif event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self._delete()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            super().keyPressEvent(event)  # returnPressed: check in
        else:
            event.ignore()  # letters, arrows, shortcuts (paste, undo): nothing here


class MessageLine(QLabel):
    """A wrapped line that keeps the height of the longest text it may show, shown or not."""

    def __init__(self) -> None:
        super().__init__()
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignLeading | Qt.AlignmentFlag.AlignVCenter)
        self.setProperty("role", "problem")
        self.candidates: tuple[str, ...] = ()

    def reserve(self, candidates: tuple[str, ...]) -> None:
        self.candidates = candidates
        self._keep_room()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._keep_room()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._keep_room()  # larger text: taller lines

    def _keep_room(self) -> None:
        self.ensurePolished()
        metrics = self.fontMetrics()
        margins = self.contentsMargins()
        width = max(1, self.width() - margins.left() - margins.right() - 2 * self.margin())
        needed = max([metrics.boundingRect(QRect(0, 0, width, 100_000),
                                           Qt.TextFlag.TextWordWrap, text).height()
                      for text in (*self.candidates, self.text()) if text]
                     + [metrics.height()])
        height = needed + margins.top() + margins.bottom() + 2 * self.margin()
        if height != self.minimumHeight() or height != self.maximumHeight():
            self.setFixedHeight(height)


class BirthDatePage(Page):
    def __init__(self, host: PageHost) -> None:
        super().__init__(host)
        self.title = label("title")
        self.hint = label("hint")  # which calendars, where a language has more than one
        self.hint.hide()
        self.fields: dict[str, DateField] = {}
        for name, digits in DIGITS.items():
            field = DateField(digits, tapped=partial(self._tapped, name),
                              digit=partial(self._key_digit, name),
                              delete=partial(self._key_delete, name))
            field.textChanged.connect(lambda _text: host.flow.touch())
            field.returnPressed.connect(self.submit)
            self.fields[name] = field
        self.captions = {name: label("hint", wrap=False) for name in self.fields}
        self.active = "day"  # the field the keypad types into
        self.shown_digits = WESTERN_DIGITS  # the digits the fields show: the language's own
        self.row = QHBoxLayout()
        self.row.setSpacing(16)
        self.holders: dict[str, QWidget] = {}
        for name in self.fields:
            box = QVBoxLayout()
            box.setContentsMargins(0, 0, 0, 0)  # the room larger text needs on a short screen
            box.addWidget(self.captions[name])
            box.addWidget(self.fields[name])
            holder = QWidget(self)  # a child from the start (a parentless one is a window)
            holder.setLayout(box)
            self.holders[name] = holder
        self.problem = MessageLine()
        self.keypad = Keypad(self._digit, self._delete)
        self.back = button()
        self.back.clicked.connect(host.flow.back)
        self.check_in = button("primary")
        self.check_in.clicked.connect(self.submit)
        for control in (self.back, self.check_in):
            control.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # a tap leaves the field active
        layout = column(self.title, spacing=12)
        layout.addWidget(self.hint)
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

    # -- the rules (see the module's docstring) ------------------------------------------

    @property
    def order(self) -> tuple[str, ...]:
        return self._order or tuple(DIGITS)

    def _full(self, name: str) -> bool:
        return len(self.fields[name].text()) >= DIGITS[name]

    def _activate(self, name: str, *, select: bool) -> None:
        """Make ``name`` the active field: its digits selected (to be retyped), or the caret
        after them."""
        self.active = name
        field = self.fields[name]
        if not field.hasFocus():
            field.setFocus(Qt.FocusReason.OtherFocusReason)
        if select and field.text():
            field.selectAll()
        else:
            field.deselect()
            field.end(False)

    def _key_digit(self, name: str, digit: str) -> None:
        self.active = name  # a keyboard types where the focus is (Tab moves it)
        self._digit(digit)

    def _key_delete(self, name: str) -> None:
        self.active = name
        self._delete()

    def _keep_focus(self) -> None:
        """Qt gives the focus to the next field when an overlay over the page closes (the
        languages): it goes back to the active one."""
        focus = QApplication.focusWidget()
        if self.isVisible() and (focus is None or focus in self.fields.values()):
            self._field()

    def _tapped(self, name: str) -> None:
        self.host.flow.touch()
        self._activate(name, select=True)

    def _field(self) -> DateField:
        """The active field, given the focus back if a control outside the page took it."""
        field = self.fields[self.active]
        if not field.hasFocus():
            field.setFocus(Qt.FocusReason.OtherFocusReason)
        return field

    def _digit(self, digit: str) -> None:
        field = self._field()
        retyping = field.hasSelectedText() or self._full(self.active)
        field.setText(("" if retyping else field.text()) + self.shown_digits[int(digit)])
        self.host.flow.correcting()
        if self._full(self.active):
            following = self.order[self.order.index(self.active) + 1:]
            upcoming = next((name for name in following if not self._full(name)), None)
            if upcoming is not None:
                self._activate(upcoming, select=False)

    def _delete(self) -> None:
        field = self._field()
        if not field.text():
            index = self.order.index(self.active)
            if index == 0:
                self.host.flow.touch()
                return
            self._activate(self.order[index - 1], select=False)
            field = self.fields[self.active]
        if field.text():
            field.setText(field.text()[:-1])
            self.host.flow.correcting()
        else:
            self.host.flow.touch()

    def submit(self) -> None:
        flow = self.host.flow
        values = {name: western(field.text()) for name, field in self.fields.items()}
        request = flow.submit_birth_date(values["day"], values["month"], values["year"])
        if request is None and flow.step is Step.BIRTH_DATE and flow.problem is not None:
            name = flow.problem_field or next(
                (name for name in self.order if not self.fields[name].text()), self.order[0])
            self._activate(name, select=True)
        self.host.run(request)

    # -- what the window calls ---------------------------------------------------------

    def retranslate(self) -> None:
        flow = self.host.flow
        self._arrange(date_field_order(flow.language))
        self._show_digits(digits_for(flow.language))
        self.title.setText(self.tr(texts.BIRTH_TITLE))
        calendar_hint = texts.CALENDAR_HINTS.get(birth_calendars(flow.language))
        self.hint.setText(self.tr(calendar_hint) if calendar_hint else "")
        self.hint.setVisible(calendar_hint is not None)
        for name, caption, digits in (("day", texts.DAY, texts.DAY_DIGITS),
                                      ("month", texts.MONTH, texts.MONTH_DIGITS),
                                      ("year", texts.YEAR, texts.YEAR_DIGITS)):
            self.captions[name].setText(self.tr(caption))
            self.fields[name].setPlaceholderText(self.tr(digits))
            self.fields[name].align(right_to_left=is_right_to_left(flow.language))
            self.fields[name].setAccessibleName(f"{self.tr(caption)} ({self.tr(digits)})")
        problem = flow.problem if flow.step == Step.BIRTH_DATE else None
        self.problem.setText(self.tr(texts.PROBLEMS[problem]) if problem else "")
        self.problem.reserve(tuple(self.tr(texts.PROBLEMS[p]) for p in DATE_PROBLEMS))
        self.back.setText(self.tr(texts.BACK))
        self.check_in.setText(self.tr(texts.CHECK_IN))
        self.keypad.delete.setAccessibleName(self.tr(texts.KEY_DELETE))
        self._keep_focus()

    def _show_digits(self, digits: str) -> None:
        """The keypad's keys and the digits already typed, in the language's own digits."""
        self.keypad.set_language(self.host.flow.language)
        if digits == self.shown_digits:
            return
        self.shown_digits = digits
        for field in self.fields.values():
            if field.text():
                selected = field.hasSelectedText()
                field.setText("".join(digits[int(digit)] for digit in field.text()))
                if selected:
                    field.selectAll()

    def shown(self) -> None:
        first = next((name for name in self.order if not self._full(name)), self.order[-1])
        self._activate(first, select=False)

    def forget(self) -> None:
        for field in self.fields.values():
            field.setText("")  # unlike clear(), leaves nothing to undo
        self.problem.clear()
        self.active = self.order[0]
