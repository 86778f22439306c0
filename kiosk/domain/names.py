"""Matching keys for names in any script.

A patient types their name on a kiosk; the practice recorded it, perhaps with accents, hyphens,
apostrophes or in another script. Both sides are reduced to a *key* and keys are compared:

* Unicode compatibility normalisation (NFKC: full-width letters, ligatures) and case folding;
* accents and other combining marks dropped where the script uses them as optional decoration
  (Latin, Greek, Cyrillic, Arabic and Hebrew points): "Müller" = "Muller", "Nguyễn" = "Nguyen";
  in scripts where marks are letters in their own right (Devanagari, Thai...) they are kept;
* a few letters that carry no decomposition folded by hand: đ, ł, ø, æ, œ, ß, þ, ı;
* Arabic letter variants that people type interchangeably (hamza forms of alef, waw and yeh,
  alef maqsura, taa marbuta, Persian yeh and keheh, tatweel) unified;
* everything that is not a letter or a digit (spaces, hyphens, apostrophes, dots) removed:
  "garcia lopez" = "García-López", "ONeil" = "O'Neil".

Names typed exactly as recorded always match: the key of a string never depends on anything
but that string.

Across scripts, a name also has *loose* keys (``~`` and the loose form of each Latin spelling,
kiosk.domain.romanize): 高 is found as ``GAO``, कपूर as ``Kapoor`` or ``Kapur``, ``Ivanova`` as
``Иванова`` and the other way round. A record stores all its keys (:func:`name_keys`); what a
patient types is looked up under its own (:func:`search_keys`). The birth date stays an exact
second factor, so a wider key never finds a patient alone.

Keys are stored with each patient; a release that changes these rules rebuilds them in a
migration (as 0009 does).
"""

from __future__ import annotations

import functools
import re
import unicodedata

from kiosk.domain.romanize import KOREAN_FAMILY_NAMES, family_romanizations, loose, romanizations

# Marks on these scripts' letters are optional to a person typing the name.
_DROP_MARKS_AFTER = re.compile(
    "[\u0000-\u024f"   # Latin (basic, Latin-1, extended A and B)
    "\u1e00-\u1eff"    # Latin extended additional (Vietnamese)
    "\u0370-\u03ff"    # Greek
    "\u0400-\u052f"    # Cyrillic
    "\u0590-\u05ff"    # Hebrew
    "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff"  # Arabic
    "]"
)

_LETTER_FOLDS = str.maketrans({
    "đ": "d", "ð": "d", "ł": "l", "ø": "o", "æ": "ae", "œ": "oe", "þ": "th", "ı": "i",
    "ħ": "h", "ŀ": "l", "ŧ": "t",
    # Arabic: hamza-carrying alefs and madda, alef maqsura, taa marbuta, Persian yeh and keheh
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك",
    "ؤ": "و", "ئ": "ي",
    "ـ": None,  # tatweel (kashida) is only stretching
})

# Longest name a kiosk accepts; anything longer cannot be a name and is not folded at all.
MAX_NAME_LENGTH = 200


def name_key(text: str) -> str:
    """The matching key of a name: equal keys mean "the same name" to the kiosk."""
    if len(text) > MAX_NAME_LENGTH:
        return ""
    text = unicodedata.normalize("NFKC", text).casefold()
    decomposed = unicodedata.normalize("NFD", text)
    kept: list[str] = []
    base = ""
    for char in decomposed:
        if unicodedata.combining(char):
            if _DROP_MARKS_AFTER.match(base or "a"):
                continue
        else:
            base = char
        kept.append(char)
    folded = unicodedata.normalize("NFC", "".join(kept)).translate(_LETTER_FOLDS)
    return "".join(char for char in folded if _is_name_char(char))


def _is_name_char(char: str) -> bool:
    category = unicodedata.category(char)
    # Letters, digits and the combining marks kept above (spacing marks of Indic scripts too).
    return category[0] in ("L", "N", "M")


LOOSE = "~"  # the prefix of a loose key; an exact key holds letters, digits and marks only
# Loose keys cross scripts and only that: a key made from a name in Latin letters ("~L") is
# looked up for a name typed in another script, and one made from a name in another script
# ("~X") for a name typed in Latin letters. Within one script names match exactly (as folded
# by name_key): loosening there would make different people's names meet (Lee and Li, Wu and
# Vu, 王 and 汪), and with the birth date the wrong patient could be found alone.
FROM_LATIN, FROM_OTHER = LOOSE + "L", LOOSE + "X"
_PARTS = re.compile(r"[\s\-‐‑–—_/.,]+")


def _parts(name: str) -> list[str]:
    """The parts of a multi-part name that may be typed alone (two or more letters)."""
    parts = [part for part in _PARTS.split(name) if len(name_key(part)) >= 2]
    return parts if len(parts) > 1 else []


def _latin(name: str) -> bool:
    return all(not char.isalpha() or unicodedata.name(char, "").startswith("LATIN")
               for char in name)


def _loose_keys(name: str, *, family: bool, prefix: str) -> set[str]:
    """The loose key of each Latin spelling of at least two letters (a single letter is no
    name: "Y" must not find 이)."""
    spell = family_romanizations if family else romanizations
    return {prefix + folded for spelling in spell(name)
            if len(spelling) >= 2 and (folded := loose(spelling))}


def name_keys(recorded: str, *, family: bool = True) -> frozenset[str]:
    """All keys under which a recorded name can be found.

    The whole name always; for multi-part names also each part of two or more letters, so that
    "Garcia" finds "García-López" and "Berg" finds "van den Berg"; and the loose key of each
    of their Latin spellings, for names typed in another script. The date of birth must match
    too, so a short part or a loose key finds nobody else's appointment.
    """
    if len(recorded) > MAX_NAME_LENGTH:
        return frozenset()
    return _name_keys(recorded, family)


# Family names repeat (a practice's 200,000 patients share far fewer names), and finding every
# Latin spelling of a name costs about 0.2 ms: each is worked out once per process.
@functools.lru_cache(maxsize=65_536)
def _name_keys(recorded: str, family: bool) -> frozenset[str]:
    prefix = FROM_LATIN if _latin(recorded) else FROM_OTHER
    keys: set[str] = set()
    for piece in [recorded, *_parts(recorded)]:
        exact = name_key(piece)
        if exact:
            keys.add(exact)
        keys |= _loose_keys(piece, family=family, prefix=prefix)
    return frozenset(key for key in keys if len(key) <= MAX_NAME_LENGTH)


def search_keys(typed: str, *, family: bool = True) -> set[str]:
    """The keys to look a typed name up under: its own, and the loose key of each of its Latin
    spellings among records kept in the other kind of script (a name typed in Latin letters
    among names kept in characters, Hangul, Devanagari or Cyrillic, and the other way round).
    A name with digits in it is looked up as typed only."""
    if len(typed) > MAX_NAME_LENGTH:
        return set()
    exact = name_key(typed)
    keys = {exact} if exact else set()
    if any(char.isdigit() for char in typed):
        return keys
    # What was typed in Latin letters meets keys made from other scripts, and the reverse.
    prefix = FROM_OTHER if _latin(typed) else FROM_LATIN
    return keys | _loose_keys(typed, family=family, prefix=prefix)


def same_name(typed: str, recorded: str, *, family: bool = False) -> bool:
    """Whether a typed name is the recorded one (or one of its parts), in any script."""
    return bool(search_keys(typed, family=family) & name_keys(recorded, family=family))


# -- names shown -------------------------------------------------------------------------------

# Languages whose speakers write the family name first (Vietnamese too, though people are
# addressed by the given name).
FAMILY_FIRST = ("zh_Hans", "zh_Hant", "ko", "vi", "ja", "hu")
# Languages in which the kiosk greets a patient by the whole name (王伟, 김민준), not the given
# name alone.
GREETED_IN_FULL = ("zh_Hans", "zh_Hant", "ko", "ja")
_WRITTEN_TOGETHER = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\uac00-\ud7a3\U00020000-\U0002ffff]+$")


def written_family_first(family: str, language: str | None = None) -> bool:
    """Whether the name is written family name first: names in Chinese characters or Hangul,
    and the names of patients whose language writes them so."""
    return bool(_WRITTEN_TOGETHER.match(family)) or language in FAMILY_FIRST


@functools.lru_cache(maxsize=4096)
def full_name(given: str, family: str, language: str | None = None) -> str:
    """The whole name as its culture writes it: 王伟, 김민준, Nguyễn Thị Mai, María García."""
    if not given:
        return family
    if written_family_first(family, language):
        together = _WRITTEN_TOGETHER.match(family) and _WRITTEN_TOGETHER.match(given)
        return f"{family}{'' if together else ' '}{given}"
    return f"{given} {family}"


def greeting_name(given: str, family: str, language: str) -> str:
    """The name the kiosk greets a patient by, in the language on screen."""
    return full_name(given, family, "zh_Hans") if language in GREETED_IN_FULL else given


# The three names of a queue row are cached: every reception window and board asks again for
# every row on every change (a hospital lobby of 400 spent a third of each refresh on them).
@functools.lru_cache(maxsize=4096)
def latin_name(given: str, family: str, language: str | None = None) -> str | None:
    """The name in Latin letters, so that staff can say it, when it is written in another
    script (Arabic script aside: its Latin spellings are too many to pick one); else None."""
    if _latin(given + family):
        return None
    latin_family = latin_family_name(family)
    given_spellings = romanizations(given) if given else [""]
    if not latin_family or not given_spellings:
        return None
    latin_given = _readable(given_spellings[0])
    if not latin_given:
        return latin_family
    first_family = written_family_first(family, language)
    return f"{latin_family} {latin_given}" if first_family else f"{latin_given} {latin_family}"


def latin_family_name(family: str) -> str | None:
    """The usual Latin spelling of a family name written in another script (Wang for 王, Kim
    for 김, Kapoor for कपूर); the name itself when Latin; None for Arabic script."""
    if _latin(family):
        return family
    customary = KOREAN_FAMILY_NAMES.get(family.strip())
    spellings = family_romanizations(family)
    return _readable(customary[0] if customary else spellings[0]) if spellings else None


def _readable(spelling: str) -> str:
    # Long vowels as one letter reads more naturally to staff: Rahul, not Raahul.
    return spelling.replace("aa", "a").title()


@functools.lru_cache(maxsize=4096)
def short_name(given: str, family: str, language: str | None = None) -> str:
    """What a board set to show initials shows: "María G.", and for names written family name
    first the family name with the rest masked, as is the custom there ("王*", "김*")."""
    if _WRITTEN_TOGETHER.match(family):
        return f"{family}*"
    if written_family_first(family, language):
        return f"{family} {given[:1]}." if given else family
    return f"{given} {family[:1]}." if given else f"{family[:1]}."
