"""A large on-screen keyboard: Latin letters with the accents names need, and the letters of
the patient's language where names are written in them (Arabic, Persian, Cyrillic, Korean
Hangul composed into syllables as on any Korean keyboard, Devanagari). It opens in the
patient's own letters, with Latin letters one key away; Chinese names are typed in Pinyin on
the Latin keys.

Keys take focus from Tab (switch users step through them) but not from a touch, so a touch
never moves the caret out of the field being typed in."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TypeVar

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import is_right_to_left
from kiosk.domain import hangul, texts

LATIN = ("QWERTYUIOP", "ASDFGHJKL", "ZXCVBNM", "ÁÉÍÓÚÑÜÖÄÇ'-")
ALPHABETS = {
    "ar": ("ضصثقفغعهخحج", "شسيبلاتنمكط", "ئءؤرىةوزظدذ"),
    "fa": ("ضصثقفغعهخحجچ", "شسیبلاتنمکگ", "ظطزرذدپوژآ"),
    "ru": ("ЙЦУКЕНГШЩЗХЪ", "ФЫВАПРОЛДЖЭ", "ЯЧСМИТЬБЮЁ-"),
    "ko": hangul.LAYOUT,
    # Vowels, the consonants in the order of the alphabet, then virama, nukta and the vowel
    # signs that follow a consonant (क then ा is का). ङ, ञ and ँ, rare in names, are left out
    # so that four rows fit a 1024-pixel screen.
    "hi": ("अआइईउऊऋएऐओऔं-", "कखगघचछजझटठडढणत", "थदधनपफबभमयरलवश",
           "षसह\u094d\u093c\u093e\u093f\u0940\u0941\u0942\u0943\u0947\u0948\u094b\u094c"),
}
# Keyboards with the most keys: smaller keys, so that they fit a 1024 x 768 screen.
DENSE = ("ko", "hi")
ALPHABET_NAMES = {"ar": "أ ب ت", "fa": "ا ب پ", "ru": "А Б В", "ko": "한글", "hi": "अ आ इ"}


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
        # The action row (Back, the script switch, Space, Delete, Next) reads in the patient's
        # direction, as the date screen's does: Next stays on the same side between screens.
        self.action_row = QWidget()
        bottom = QHBoxLayout(self.action_row)
        bottom.setContentsMargins(0, 0, 0, 0)
        self.switch = QPushButton()
        self.switch.setObjectName("keyboard-switch")
        self.switch.clicked.connect(self._switch_script)
        self.space = QPushButton()
        self.space.clicked.connect(lambda: self._type(" "))
        self.delete = QPushButton()
        self.delete.clicked.connect(self._backspace)
        # Clear: the whole name at once, a syllable being composed with it. The page puts it at
        # the end of the field (there is no room for a sixth button in the action row), where
        # a search field has its ✕; it stays when a hardware keyboard hides the keys.
        self.clear_all = QPushButton()
        self.clear_all.setObjectName("keyboard-clear")
        self.clear_all.setProperty("role", "clear")
        self.clear_all.clicked.connect(self._clear)
        for button in (self.switch, self.space, self.delete, self.clear_all):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            button.setAutoDefault(True)
        # The page's own buttons (Back, Next) share the bottom row, to save a row of height.
        for widget in (before, self.switch, self.space, self.delete, after):
            if widget is not None:
                bottom.addWidget(widget, 3 if widget is self.space else 1)
        outer.addWidget(self.action_row)
        self._keys: list[QPushButton] = []
        self._rows: tuple[str, ...] = ()
        self._keys_shown = True
        # Korean: the jamo tapped since the syllables being composed began, and their text.
        self._jamo: list[str] = []
        self._composed = ""
        self.language = ""
        self.set_language("en")

    def show_keys(self, visible: bool) -> None:
        """Hide the keys (not the page's own buttons) when a hardware keyboard is in use."""
        self._keys_shown = visible
        for widget in (*self._keys, self.space, self.delete):
            widget.setVisible(visible)
        self.switch.setVisible(visible and self.language in ALPHABETS)

    def set_language(self, language: str) -> None:
        """A new language opens the keyboard in its own letters (Latin one key away); the same
        language again keeps what the patient chose."""
        self.action_row.setLayoutDirection(Qt.LayoutDirection.RightToLeft
                                        if is_right_to_left(language)
                                        else Qt.LayoutDirection.LeftToRight)
        if language != self.language:
            self.language = language
            self.script = language if language in ALPHABETS else "latin"
            self._jamo, self._composed = [], ""
        self._build()
        self.retranslate()
        self.show_keys(self._keys_shown)

    def reset(self) -> None:
        """The next patient: their own letters first again."""
        self.script = self.language if self.language in ALPHABETS else "latin"
        self._jamo, self._composed = [], ""
        self._build()
        self.retranslate()

    def retranslate(self) -> None:
        self.space.setText(self.tr_(texts.KEY_SPACE))
        self.delete.setText("⌫ " + self.tr_(texts.KEY_DELETE))
        self.delete.setAccessibleName(self.tr_(texts.KEY_DELETE))
        self.clear_all.setText("✕ " + self.tr_(texts.KEY_CLEAR))
        self.clear_all.setAccessibleName(self.tr_(texts.KEY_CLEAR))
        self.switch.setVisible(self.language in ALPHABETS)
        self.switch.setText("A B C" if self.script != "latin"
                            else ALPHABET_NAMES.get(self.language, ""))

    def _switch_script(self) -> None:
        self.script = self.language if self.script == "latin" else "latin"
        self._jamo, self._composed = [], ""
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
                key.setProperty("script", self.script)
                key.setProperty("dense", self.script in DENSE)
                key.setAccessibleName(letter)
                key.setFocusPolicy(Qt.FocusPolicy.TabFocus)
                key.setAutoDefault(True)  # Enter presses a focused key, as Space does
                key.clicked.connect(lambda _=False, text=letter: self._type(text))
                self.grid.addWidget(key, row_number, column)
                self._keys.append(key)

    def _type(self, text: str) -> None:
        target = self.target
        if target is None:
            return
        if self.script == "ko" and hangul.is_jamo(text):
            self._compose([*self._composing(target), text])
            return
        self._jamo, self._composed = [], ""
        target.insert(text)

    def _backspace(self) -> None:
        target = self.target
        if target is None:
            return
        jamo = self._composing(target)
        if jamo:  # take back the last letter tapped: 김 becomes 기, as on a phone
            self._compose(jamo[:-1])
            return
        target.backspace()

    def _clear(self) -> None:
        """The whole field, and the syllable being composed: the patient starts again."""
        self._jamo, self._composed = [], ""
        if self.target is not None:
            self.target.setText("")  # unlike clear(), leaves nothing to undo

    def _composing(self, target: QLineEdit) -> list[str]:
        """The jamo still being composed: none once the patient moved the caret or edited
        the field some other way (the syllables before are then final)."""
        before_caret = target.text()[:target.cursorPosition()]
        if self._jamo and before_caret.endswith(self._composed) and not target.hasSelectedText():
            return self._jamo
        self._jamo, self._composed = [], ""
        return []

    def _compose(self, jamo: list[str]) -> None:
        assert self.target is not None
        for _ in self._composed:
            self.target.backspace()
        self._jamo, self._composed = jamo, hangul.compose(jamo)
        self.target.insert(self._composed)


# The digits a language writes, where they are not 0-9: the keypad shows them, and the date
# fields show what was typed in them (kiosk.domain.flow.validate_birth_date reads digits of any
# script).
NATIVE_DIGITS = {"ar": "٠١٢٣٤٥٦٧٨٩", "fa": "۰۱۲۳۴۵۶۷۸۹"}
WESTERN_DIGITS = "0123456789"
Key = TypeVar("Key", bound=QPushButton)


def digits_for(language: str) -> str:
    """The ten digits, 0 to 9, as ``language`` writes them."""
    return NATIVE_DIGITS.get(language, WESTERN_DIGITS)


class DigitKey(QPushButton):
    """A keypad key: the digit in the patient's script and, where that is not 0-9, the Western
    digit small in its lower corner (patients who learned those, and whoever helps them, find
    the key too). Named ``digit-N`` after its Western digit, whatever it shows."""

    def __init__(self, digit: str) -> None:
        super().__init__(digit)
        self.digit = digit
        self.setObjectName(f"digit-{digit}")
        self.setProperty("digit", digit)
        self.western = QLabel(digit, self)
        self.western.setProperty("role", "western-digit")
        self.western.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.western.hide()

    def show_in(self, digits: str) -> None:
        shown = digits[int(self.digit)]
        self.setText(shown)
        self.setAccessibleName(shown)
        self.western.setVisible(shown != self.digit)
        self._place()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._place()  # larger text: a larger small digit

    def _place(self) -> None:
        """In the lower right corner, clear of the border (the keypad is never mirrored)."""
        self.western.ensurePolished()
        self.western.adjustSize()
        inset = 8
        self.western.move(self.width() - self.western.width() - inset,
                          self.height() - self.western.height() - inset // 2)


class Keypad(QWidget):
    """Digits for the date of birth, phone-style: 1 2 3 / 4 5 6 / 7 8 9 / ⌫ 0, in the patient's
    script (``set_language``); ``on_digit`` is always given the Western digit."""

    def __init__(self, on_digit: Callable[[str], None], on_delete: Callable[[], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setLayoutDirection(Qt.LayoutDirection.LeftToRight)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        self.digits: dict[str, DigitKey] = {}
        for index, digit in enumerate("123456789"):
            self.digits[digit] = self._prepare(DigitKey(digit), partial(on_digit, digit))
            grid.addWidget(self.digits[digit], index // 3, index % 3)
        self.delete = self._prepare(QPushButton("⌫"), on_delete)
        self.delete.setAccessibleName("⌫")
        grid.addWidget(self.delete, 3, 0)
        self.digits["0"] = self._prepare(DigitKey("0"), partial(on_digit, "0"))
        grid.addWidget(self.digits["0"], 3, 1)

    def set_language(self, language: str) -> None:
        for key in self.digits.values():
            key.show_in(digits_for(language))

    def _prepare(self, key: Key, action: Callable[[], None]) -> Key:
        key.setProperty("role", "key")
        key.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        key.setAutoDefault(True)
        key.clicked.connect(lambda _checked=False: action())
        return key
