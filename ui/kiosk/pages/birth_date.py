"""The date of birth: day, month and year in the order the patient's language writes dates,
typed on a phone-style keypad or a keyboard."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from kiosk.base.i18n import date_field_order
from kiosk.domain import texts
from kiosk.domain.flow import Step
from ui.kiosk.host import PageHost
from ui.kiosk.pages.base import Page
from ui.widgets.keyboard import Keypad
from ui.widgets.text import button, column, label, private_field


class BirthDatePage(Page):
    def __init__(self, host: PageHost) -> None:
        super().__init__(host)
        self.title = label("title")
        self.fields = {name: private_field() for name in ("day", "month", "year")}
        self.captions = {name: label("hint", wrap=False) for name in self.fields}
        for name, field in self.fields.items():
            field.setMaxLength(4 if name == "year" else 2)
            field.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
            field.setAlignment(Qt.AlignmentFlag.AlignCenter)
            field.textEdited.connect(lambda _text, n=name: self._advance(n))
            field.textChanged.connect(lambda _text: host.flow.touch())
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
        self.back.clicked.connect(host.flow.back)
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
        self.host.flow.touch()
        if len(field.text()) >= field.maxLength() and name in self._order:
            index = self._order.index(name)
            if index + 1 < len(self._order):
                self.fields[self._order[index + 1]].setFocus()

    def submit(self) -> None:
        values = {name: field.text() for name, field in self.fields.items()}
        self.host.run(self.host.flow.submit_birth_date(
            values["day"], values["month"], values["year"]))

    def retranslate(self) -> None:
        flow = self.host.flow
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

