"""The family name, or the given name when the flow asks for it, on an on-screen keyboard."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QSizePolicy

from kiosk.domain import texts
from kiosk.domain.flow import Step
from ui.kiosk.host import PageHost
from ui.kiosk.pages.base import Page
from ui.widgets.keyboard import ALPHABETS, Keyboard
from ui.widgets.text import button, column, label, private_field


def family_hints(language: str) -> tuple[str, ...]:
    """What the hint under the family name says, truthfully for the keyboard shown."""
    if language in ("zh_Hans", "zh_Hant"):
        return (texts.HINT_PINYIN,)  # Chinese names are typed in Pinyin on the Latin keys
    if language in ALPHABETS:
        return (texts.FAMILY_HINT, texts.HINT_OWN_LETTERS)
    return (texts.FAMILY_HINT, texts.HINT_ACCENTS)


class NamePage(Page):
    """Family name, or the given name when the engine asks for it."""

    def __init__(self, host: PageHost, *, given: bool) -> None:
        super().__init__(host)
        self.given = given
        self.title = label("title")
        self.hint = label("hint")
        self.field = private_field()
        self.field.setMaxLength(120)
        self.field.returnPressed.connect(self.submit)
        # An edit takes a problem away (it spoke of what is no longer there), and the hint
        # comes back in its place.
        self.field.textChanged.connect(lambda _text: host.flow.correcting())
        self.problem = label("problem")
        self.back = button()
        self.back.clicked.connect(host.flow.back)
        self.next = button("primary")
        self.next.clicked.connect(self.submit)
        self.keyboard = Keyboard(lambda message: self.tr(message), before=self.back,
                                 after=self.next)
        self.keyboard.target = self.field
        # Clear at the end of the field (mirrored in right-to-left languages), as tall as it.
        entry = QHBoxLayout()
        entry.setSpacing(8)
        entry.addWidget(self.field, 1)
        entry.addWidget(self.keyboard.clear_all)
        # As tall as the field: a button's fixed height would cap the row's (and the field's).
        self.keyboard.clear_all.setSizePolicy(QSizePolicy.Policy.Maximum,
                                              QSizePolicy.Policy.Preferred)
        layout = column(self.title, self.hint, spacing=8)
        layout.addLayout(entry)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.keyboard)
        self.setLayout(layout)

    def submit(self) -> None:
        flow = self.host.flow
        if self.given:
            self.host.run(flow.submit_given(self.field.text()))
        else:
            flow.submit_family(self.field.text())

    def retranslate(self) -> None:
        flow = self.host.flow
        self.title.setText(self.tr(texts.GIVEN_TITLE if self.given else texts.FAMILY_TITLE))
        self.hint.setText(self.tr(texts.GIVEN_HINT) if self.given else
                          " ".join(self.tr(hint) for hint in family_hints(flow.language)))
        self.field.setPlaceholderText(self.tr(texts.GIVEN_FIELD if self.given
                                              else texts.FAMILY_FIELD))
        self.field.setAccessibleName(self.field.placeholderText())
        self.back.setText(self.tr(texts.BACK))
        self.next.setText(self.tr(texts.NEXT))
        problem = flow.problem if flow.step == (Step.GIVEN_NAME if self.given
                                                else Step.FAMILY_NAME) else None
        self.problem.setText(self.tr(texts.PROBLEMS[problem]) if problem else "")
        # A problem takes the hint's place, so that the page never grows when one appears
        # (larger text leaves no room for both above a keyboard).
        self.problem.setVisible(problem is not None)
        self.hint.setVisible(problem is None)
        self.keyboard.set_language(flow.language)
        self.keyboard.show_keys(not self.host.hardware_keyboard)

    def shown(self) -> None:
        self.field.setFocus()

    def forget(self) -> None:
        self.field.setText("")  # unlike clear(), leaves nothing to undo
        self.problem.clear()
        self.keyboard.reset()
