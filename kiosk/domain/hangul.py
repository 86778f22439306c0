"""Hangul typed key by key on the standard two-set (dubeolsik) layout, composed into syllables.

A Korean patient taps letters (jamo): ㄱ ㅣ ㅁ. The screen should read 김, not ㄱㅣㅁ.
:func:`compose` turns the jamo typed so far into text as every Korean keyboard does: an
initial consonant and a vowel make a syllable, a following consonant becomes its final, and
when a vowel follows that final it moves on to start the next syllable (ㄱㅣㅁㅣ is 기미, not
김ㅣ). Vowels and finals that combine do (ㅗ+ㅏ is ㅘ, ㄹ+ㄱ is ㄺ). Deleting takes back the last
jamo typed, so a patient correcting 김 sees 기, as on a phone.

Pure functions over compatibility jamo (U+3131 to U+3163), the letters on the keys.
"""

from __future__ import annotations

from collections.abc import Sequence

# The standard two-set layout, with the doubled consonants and ㅒ ㅖ (the shifted keys) on a
# fourth row: a touch screen has no shift a patient would think of.
LAYOUT = ("ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔ", "ㅁㄴㅇㄹㅎㅗㅓㅏㅣ", "ㅋㅌㅊㅍㅠㅜㅡ", "ㅃㅉㄸㄲㅆㅒㅖ")

INITIALS = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
VOWELS = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
FINALS = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ",
          "ㅀ", "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")
COMPOUND_VOWELS = {("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ", ("ㅜ", "ㅓ"): "ㅝ",
                   ("ㅜ", "ㅔ"): "ㅞ", ("ㅜ", "ㅣ"): "ㅟ", ("ㅡ", "ㅣ"): "ㅢ"}
COMPOUND_FINALS = {("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ",
                   ("ㄹ", "ㅁ"): "ㄻ", ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ",
                   ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ", ("ㅂ", "ㅅ"): "ㅄ"}
_SPLIT_FINALS = {compound: parts for parts, compound in COMPOUND_FINALS.items()}


def is_jamo(char: str) -> bool:
    return len(char) == 1 and (char in INITIALS or char in VOWELS)


class _Syllable:
    __slots__ = ("final", "initial", "vowel")

    def __init__(self, initial: str = "", vowel: str = "", final: str = "") -> None:
        self.initial, self.vowel, self.final = initial, vowel, final

    def text(self) -> str:
        if self.initial and self.vowel:
            code = (INITIALS.index(self.initial) * 21 + VOWELS.index(self.vowel)) * 28 \
                + FINALS.index(self.final)
            return chr(0xAC00 + code)
        return self.initial + self.vowel  # a lone consonant or vowel stays a jamo


def compose(jamo: Sequence[str]) -> str:
    """The text a two-set keyboard shows for these jamo, typed in this order."""
    syllables: list[_Syllable] = []
    for letter in jamo:
        current = syllables[-1] if syllables else None
        if letter in VOWELS:
            if current is not None and current.initial and not current.vowel:
                current.vowel = letter
            elif current is not None and current.vowel and not current.final and \
                    (current.vowel, letter) in COMPOUND_VOWELS:
                current.vowel = COMPOUND_VOWELS[(current.vowel, letter)]
            elif current is not None and current.final:
                # The final moves on to start the next syllable (ㄺ gives up only its ㄱ).
                kept, moved = _SPLIT_FINALS.get(current.final, ("", current.final))
                current.final = kept
                syllables.append(_Syllable(moved, letter))
            else:
                syllables.append(_Syllable(vowel=letter))
        elif letter in INITIALS:
            if current is not None and current.initial and current.vowel and \
                    not current.final and letter in FINALS:
                current.final = letter
            elif current is not None and current.final and \
                    (current.final, letter) in COMPOUND_FINALS:
                current.final = COMPOUND_FINALS[(current.final, letter)]
            else:
                syllables.append(_Syllable(letter))
        else:
            raise ValueError(f"not a jamo of the two-set layout: {letter!r}")
    return "".join(syllable.text() for syllable in syllables)
