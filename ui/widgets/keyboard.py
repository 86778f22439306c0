"""A large on-screen keyboard: Latin letters with the accents names need, and the alphabet of
the patient's language where names are recorded in it (Arabic, Persian, Cyrillic).

Keys take focus from Tab (switch users step through them) but not from a touch, so a touch
never moves the caret out of the field being typed in."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from kiosk.domain import texts

LATIN = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM", "ÁÉÍÓÚÑÜÖÄÇ'-")
ALPHABETS = {
    "ar": ("ضصثقفغعهخحج", "شسيبلاتنمكط", "ئءؤرىةوزظدذ"),
    "fa": ("ضصثقفغعهخحجچ", "شسیبلاتنمکگ", "ظطزرذدپوژآ"),
    "ru": ("ЙЦУКЕНГШЩЗХЪ", "ФЫВАПРОЛДЖЭ", "ЯЧСМИТЬБЮЁ-"),
}
ALPHABET_NAMES = {"ar": "أ ب ت", "fa": "ا ب پ", "ru": "А Б В"}


class Keyboard(QWidget):
    def __init__(self, tr: Callable[[str], str], *, before: QWidget | None = None,
                 after: QWidget | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tr_ = tr
        self.target: QLineEdit | None = None
        self.language = "en"
        self.script = "latin"
        self.setObjectName("keyboard")
        # Keys keep their order whatever the layout direction: they mirror a physical keyboard.
        self.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.grid = QGridLayout()
        self.grid.setSpacing(5)
        outer.addLayout(self.grid)
        bottom = QHBoxLayout()
        self.switch = QPushButton()
        self.switch.clicked.connect(self._switch_script)
        self.space = QPushButton()
        self.space.clicked.connect(lambda: self._type(" "))
        self.delete = QPushButton()
        self.delete.clicked.connect(self._backspace)
        for button in (self.switch, self.space, self.delete):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.setAutoDefault(True)
        # The page's own buttons (Back, Next) share the bottom row, to save a row of height.
        for widget in (before, self.switch, self.space, self.delete, after):
            if widget is not None:
                bottom.addWidget(widget, 3 if widget is self.space else 1)
        outer.addLayout(bottom)
        self._keys: list[QPushButton] = []
        self._rows: tuple[str, ...] = ()
        self._keys_shown = True
        self.set_language("en")

    def show_keys(self, visible: bool) -> None:
        """Hide the keys (not the page's own buttons) when a hardware keyboard is in use."""
        self._keys_shown = visible
        for widget in (*self._keys, self.space, self.delete):
            widget.setVisible(visible)
        self.switch.setVisible(visible and self.language in ALPHABETS)

    def set_language(self, language: str) -> None:
        self.language = language
        if language not in ALPHABETS:
            self.script = "latin"
        elif self.script != "latin":
            self.script = language
        self._build()
        self.retranslate()
        self.show_keys(self._keys_shown)

    def retranslate(self) -> None:
        self.space.setText(self.tr_(texts.KEY_SPACE))
        self.delete.setText("⌫ " + self.tr_(texts.KEY_DELETE))
        self.delete.setAccessibleName(self.tr_(texts.KEY_DELETE))
        self.switch.setVisible(self.language in ALPHABETS)
        self.switch.setText("A B C" if self.script != "latin"
                            else ALPHABET_NAMES.get(self.language, ""))

    def _switch_script(self) -> None:
        self.script = self.language if self.script == "latin" else "latin"
        self._build()
        self.retranslate()

    def _build(self) -> None:
        rows = LATIN if self.script == "latin" else ALPHABETS[self.script]
        if rows == self._rows:
            return  # the same letters: nothing to rebuild
        self._rows = rows
        for key in self._keys:
            self.grid.removeWidget(key)
            key.hide()
            key.deleteLater()
        self._keys = []
        for row_number, row in enumerate(rows):
            for column, letter in enumerate(row):
                key = QPushButton(letter)
                key.setProperty("role", "key")
                key.setAccessibleName(letter)
                key.setFocusPolicy(Qt.FocusPolicy.TabFocus)
                key.setAutoDefault(True)  # Enter presses a focused key, as Space does
                key.clicked.connect(lambda _=False, text=letter: self._type(text))
                self.grid.addWidget(key, row_number, column)
                self._keys.append(key)

    def _type(self, text: str) -> None:
        if self.target is not None:
            self.target.insert(text)

    def _backspace(self) -> None:
        if self.target is not None:
            self.target.backspace()


class Keypad(QWidget):
    """Digits for the date of birth, phone-style: 1 2 3 / 4 5 6 / 7 8 9 / ⌫ 0."""

    def __init__(self, on_digit: Callable[[str], None], on_delete: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        for index, digit in enumerate("123456789"):
            grid.addWidget(self._key(digit, partial(on_digit, digit)), index // 3, index % 3)
        self.delete = self._key("⌫", on_delete)
        grid.addWidget(self.delete, 3, 0)
        grid.addWidget(self._key("0", partial(on_digit, "0")), 3, 1)

    def _key(self, text: str, action: Callable[[], None]) -> QPushButton:
        key = QPushButton(text)
        key.setProperty("role", "key")
        key.setAccessibleName(text)
        key.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        key.setAutoDefault(True)
        key.clicked.connect(lambda _checked=False: action())
        return key
