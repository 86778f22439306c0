"""The Latin spellings a name in another script is typed as, and one loose form of each.

A practice may record 高莉 and the patient type ``GAO``; record ``Ivanova`` and the patient type
``Иванова``; record कपूर and the patient type ``Kapoor`` or ``Kapur``. :func:`romanizations`
lists the Latin spellings a person is likely to use for a name (several where a script has
several customs); :func:`loose` folds a Latin spelling so that the common variants of one name
meet (``Kapoor`` and ``Kapur``, ``Sharma`` and ``Sarma``, ``Dmitriy`` and ``Dmitrii``).

* **Chinese** (simplified and traditional): Pinyin without tones, every reading of a character
  that has several (单: dan, shan, chan), from pypinyin's dictionary.
* **Korean**: Revised Romanization, and the older spellings people carry in passports
  (initial k, t, p, ch; u for eo and eu); for family names, the customary spellings of the
  common ones (이: Lee, Yi, Rhee; 박: Park, Pak; 김: Kim...).
* **Devanagari**: a Hindi reading (inherent vowel dropped at the end of a word).
* **Cyrillic**: the passport transliteration (ISO 9 with Russian customs), whose variants
  :func:`loose` brings together (zh/j, kh/h, ts/c, y/i, doubled letters).
* **Arabic script**: none. Arabic and Persian names have no one Latin spelling (محمد is
  Mohammed, Muhammad, Mohamad...), and guessing would find the wrong patient; they match
  in their own script, normalised (kiosk.domain.names).
* Any other script (Greek, Thai, Hebrew, kana...): one transliteration from anyascii.

Pure functions, no I/O; pypinyin and anyascii load on first use of a name that needs them.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

# At most this many spellings of one name (a long name of characters with several readings
# each would otherwise multiply out).
MAX_SPELLINGS = 64

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_DEVANAGARI = re.compile(r"[\u0900-\u097f]")
_CYRILLIC = re.compile(r"[\u0400-\u052f]")
_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


def romanizations(name: str) -> list[str]:
    """Latin spellings of ``name`` (lower case, letters only), the name itself if it is
    Latin already; none for Arabic script."""
    if not name or _ARABIC.search(name):
        return []
    if _HAN.search(name):
        spellings = _pinyin(name)
    elif _HANGUL.search(name):
        spellings = _korean(name)
    elif _DEVANAGARI.search(name):
        spellings = _hindi(name)
    elif _CYRILLIC.search(name):
        spellings = _cyrillic(name)
    else:
        spellings = [_ascii(name)]
    return [spelling for spelling in dict.fromkeys(_letters(s) for s in spellings) if spelling]


def family_romanizations(name: str) -> list[str]:
    """As :func:`romanizations`, and for a Korean family name its customary spellings too."""
    found = romanizations(name)
    customary = KOREAN_FAMILY_NAMES.get(name.strip())
    if customary:
        found += [spelling for spelling in customary if spelling not in found]
    return found


def _letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if "a" <= char <= "z")


def _ascii(name: str) -> str:
    if name.isascii():
        return name
    from anyascii import anyascii  # loaded on the first name in a script without rules of its own

    return str(anyascii(name))


# -- Chinese ------------------------------------------------------------------------------------

def _pinyin(name: str) -> list[str]:
    from pypinyin import Style, pinyin  # its dictionary loads on the first Chinese name

    readings = pinyin(name, style=Style.NORMAL, heteronym=True, v_to_u=True, errors="default")
    # ü is written u, yu as Chinese passports do, or v on a keyboard (吕: Lu, Lyu, Lv).
    return _products([list(dict.fromkeys(
        spelling for reading in options if reading
        for spelling in (reading, reading.replace("ü", "yu"), reading.replace("ü", "v"))))
        for options in readings])


def _products(choices: Iterable[list[str]]) -> list[str]:
    return ["".join(parts) for parts in
            itertools.islice(itertools.product(*(c for c in choices if c)), MAX_SPELLINGS)]


# -- Korean -------------------------------------------------------------------------------------

# Revised Romanization (2000), and the older spellings in use (McCune-Reischauer without marks,
# and passports): initial consonants unvoiced, eo and eu as u or o.
_INITIALS = [["g", "k"], ["kk", "gg"], ["n"], ["d", "t"], ["tt"], ["r", "l"], ["m"], ["b", "p"],
             ["pp"], ["s"], ["ss"], [""], ["j", "ch"], ["jj"], ["ch"], ["k"], ["t"], ["p"],
             ["h"]]
# (oo for u, ee for i, a final h are left to loose(), which folds them anyway.)
_VOWELS = [["a"], ["ae", "e"], ["ya"], ["yae"], ["eo", "u", "o"], ["e"], ["yeo", "yu"], ["ye"],
           ["o"], ["wa"], ["wae"], ["oe", "oi"], ["yo"], ["u"], ["wo"], ["we"], ["wi"], ["yu"],
           ["eu", "u"], ["ui", "eui"], ["i"]]
_FINALS = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "p", "l", "m",
           "p", "p", "t", "t", "ng", "t", "t", "k", "t", "p", "t"]


def _korean(name: str) -> list[str]:
    syllables: list[list[str]] = []
    for char in name:
        code = ord(char) - 0xAC00
        if not 0 <= code < 11172:
            syllables.append([char])
            continue
        initial, vowel, final = code // 588, (code % 588) // 28, code % 28
        syllables.append([i + v + _FINALS[final]
                          for i in _INITIALS[initial] for v in _VOWELS[vowel]])
    return _products(syllables)


# The spellings Koreans use for the common family names, beside the romanizations above
# (National Institute of Korean Language surveys; passports).
KOREAN_FAMILY_NAMES: dict[str, tuple[str, ...]] = {
    "김": ("kim", "gim"), "이": ("lee", "yi", "rhee", "ri", "rhie", "i"),
    "박": ("park", "pak", "bak"), "최": ("choi", "choe", "chey"),
    "정": ("jung", "jeong", "chung", "cheong"), "강": ("kang", "gang"), "조": ("cho", "jo"),
    "윤": ("yoon", "yun"), "장": ("jang", "chang"), "임": ("lim", "im", "rim"),
    "한": ("han",), "오": ("oh", "o"), "서": ("seo", "suh"), "신": ("shin", "sin"),
    "권": ("kwon", "gwon"), "황": ("hwang",), "안": ("ahn", "an"), "송": ("song",),
    "류": ("ryu", "yu", "yoo", "ryoo", "lyu"), "유": ("yoo", "yu", "you"),
    "전": ("jeon", "jun", "chun", "chon"), "홍": ("hong",), "고": ("ko", "go"),
    "문": ("moon", "mun"), "양": ("yang",), "손": ("son", "sohn"), "배": ("bae", "pae"),
    "백": ("baek", "paik", "baik", "paek"), "허": ("heo", "hur", "huh"),
    "노": ("noh", "no", "roh"), "남": ("nam",), "심": ("shim", "sim"), "하": ("ha",),
    "곽": ("kwak", "gwak"), "성": ("sung", "seong"), "차": ("cha",), "주": ("joo", "ju", "chu"),
    "우": ("woo", "u"), "구": ("koo", "gu", "ku"), "민": ("min",), "나": ("na", "ra"),
    "진": ("jin", "chin"), "지": ("ji", "chi"), "엄": ("eom", "um"), "채": ("chae",),
    "원": ("won",), "천": ("cheon", "chun"), "방": ("bang",), "공": ("kong", "gong"),
    "현": ("hyun", "hyeon"), "함": ("ham",), "변": ("byun", "byeon"), "염": ("yeom", "yum"),
    "여": ("yeo", "yuh"), "추": ("choo", "chu"), "도": ("do", "doh"), "석": ("seok", "suk"),
    "선": ("sun", "seon"), "설": ("seol", "sul"), "길": ("gil", "kil"),
    "연": ("yeon", "yun"), "위": ("wi", "wee"), "표": ("pyo",), "명": ("myung", "myeong"),
    "기": ("ki", "gi"), "라": ("ra", "la"), "금": ("keum", "geum"), "국": ("kook", "guk"),
    "은": ("eun",), "경": ("kyung", "gyeong"), "황보": ("hwangbo",), "남궁": ("namgung",),
    "선우": ("sunwoo", "seonu"), "제갈": ("jegal",), "독고": ("dokgo",),
}


# -- Devanagari (Hindi) -------------------------------------------------------------------------

_DEVANAGARI_CONSONANTS = dict(zip(
    "कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसह",
    ["k", "kh", "g", "gh", "n", "ch", "chh", "j", "jh", "n", "t", "th", "d", "dh", "n", "t",
     "th", "d", "dh", "n", "p", "ph", "b", "bh", "m", "y", "r", "l", "v", "sh", "sh", "s",
     "h"], strict=True))
_DEVANAGARI_NUKTA = {"क": "q", "ख": "kh", "ग": "g", "ज": "z", "फ": "f", "ड": "r", "ढ": "rh"}
_DEVANAGARI_VOWELS = dict(zip(
    "अआइईउऊऋएऐओऔ", ["a", "aa", "i", "ee", "u", "oo", "ri", "e", "ai", "o", "au"], strict=True))
_DEVANAGARI_SIGNS = dict(zip(
    "ािीुूृेैोौ", ["aa", "i", "ee", "u", "oo", "ri", "e", "ai", "o", "au"], strict=True))
_VIRAMA, _NUKTA = "\u094d", "\u093c"


def _hindi(name: str) -> list[str]:
    """Hindi readings: each consonant carries "a" unless a vowel sign or virama follows. Where
    spellings differ, both: the "a" at the end of a word is often not said nor written (कपूर:
    Kapoor) but sometimes is (कृष्ण: Krishn, Krishna); a cluster is sometimes written with a
    vowel between, or a vowel inside a word not said (अग्रवाल: Agrawal, Agarwal); a nasal
    before a consonant is n, ng or m (सिंह: Sinh, Singh)."""
    text = unicodedata.normalize("NFD", name)
    pieces: list[list[str]] = []
    pending_a = False
    voiced = False  # a vowel was said already in this word: a later inherent one may not be

    def end_of_word() -> None:
        if pending_a:
            pieces.append(["", "a"])

    for index, char in enumerate(text):
        following = text[index + 1] if index + 1 < len(text) else ""
        if char in _DEVANAGARI_CONSONANTS:
            if pending_a:
                pieces.append(["a", ""] if voiced else ["a"])
                voiced = True
            nukta = following == _NUKTA
            pieces.append([_DEVANAGARI_NUKTA.get(char, "") if nukta else
                           _DEVANAGARI_CONSONANTS[char]])
            pending_a = True
        elif char == _NUKTA:
            continue
        elif char == _VIRAMA:
            pending_a = False
            if following in _DEVANAGARI_CONSONANTS:
                pieces.append(["", "a"])
        elif char in _DEVANAGARI_SIGNS:
            pieces.append([_DEVANAGARI_SIGNS[char]])
            pending_a, voiced = False, True
        elif char in _DEVANAGARI_VOWELS:
            if pending_a:
                pieces.append(["a"])
            pieces.append([_DEVANAGARI_VOWELS[char]])
            pending_a, voiced = False, True
        elif char in "\u0902\u0901":  # anusvara, candrabindu: a nasal
            if pending_a:
                pieces.append(["a"])
            pieces.append(["n", "ng", "m"] if following in _DEVANAGARI_CONSONANTS else ["n"])
            pending_a = False
        else:  # a space or hyphen ends a word
            end_of_word()
            pending_a = voiced = False
            pieces.append([char])
    end_of_word()
    return _products(pieces)


# -- Cyrillic -----------------------------------------------------------------------------------

_CYRILLIC_LETTERS = dict(zip(
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўј",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
     "i", "yi", "ye", "g", "u", "j"], strict=True))


def _cyrillic(name: str) -> list[str]:
    """The passport spelling, and where passports differ both: ё as e or yo, ь before a vowel
    as nothing or y (Соловьёв: Solovev, Solovyov), г as g or, in Ukrainian, h."""
    text = name.casefold()
    pieces: list[list[str]] = []
    for index, char in enumerate(text):
        following = text[index + 1] if index + 1 < len(text) else ""
        if char == "ё":
            pieces.append(["e", "yo"])
        elif char == "ь" and following in "аеёиоуыэюя":
            pieces.append(["", "y"])
        elif char == "г":  # Ukrainian passports write h (Григоренко: Hryhorenko)
            pieces.append(["g", "h"])
        else:
            pieces.append([_CYRILLIC_LETTERS.get(char, char)])
    return _products(pieces)


# -- the loose form -----------------------------------------------------------------------------

# In this order: longer spellings first, then letters alone.
_LOOSE_SPELLINGS = [
    ("shch", "s"), ("sch", "s"), ("tch", "ch"), ("chh", "ch"), ("zh", "j"), ("kh", "k"),
    ("ph", "f"), ("bh", "b"), ("dh", "d"), ("gh", "g"), ("jh", "j"), ("th", "t"), ("sh", "s"),
    ("ts", "c"), ("tz", "c"), ("ck", "k"), ("oo", "u"), ("ee", "i"), ("w", "v"), ("y", "i"),
]
_REPEATS = re.compile(r"(.)\1+")


def loose(spelling: str) -> str:
    """One form for the common Latin spellings of a name: Kapoor and Kapur, Sharma and Sarma,
    Dmitriy and Dmitrii, Zhang and Jang, Walia and Valia all meet. Applied alike to what is
    recorded and what is typed, so it never needs to guess which is which."""
    text = _letters(spelling)
    if text.startswith("ye"):  # Yevgeny, Yelena: Е at the start of a word
        text = text[1:]
    for spelling_of, as_ in _LOOSE_SPELLINGS:
        text = text.replace(spelling_of, as_)
    text = _REPEATS.sub(r"\1", text)
    if len(text) > 2 and text.endswith("h"):  # Shah and Sha, Suh and Su
        text = text[:-1]
    return text
