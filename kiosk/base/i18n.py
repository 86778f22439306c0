"""Languages and translated messages (gettext catalogs in locales/, compiled with babel).

Messages are marked with ``N_`` where they are declared and translated where they are shown,
in the language of the patient in front of the kiosk.
"""

from __future__ import annotations

import functools
import gettext
from datetime import date, datetime
from pathlib import Path

from babel import Locale

from kiosk.base.paths import data_dir

# babel's dates and support modules and jdatetime load when first used, not at import: the
# kiosk's first frame needs only the catalogs and the languages' names and directions.

DOMAIN = "kiosk"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated later, when shown."""
    return message


def locales_dir() -> Path:
    return data_dir("locales")


@functools.cache
def translations(language: str, domain: str = DOMAIN) -> gettext.NullTranslations:
    """The compiled catalog locales/<language>/LC_MESSAGES/<domain>.mo, read with the
    standard library's gettext (babel compiles it); none: the messages as written."""
    # A regional code (pt_BR, es_MX) reads its language's catalog when it has none of its own.
    for code in dict.fromkeys((language, language.split("_")[0])):
        catalog = locales_dir() / code / "LC_MESSAGES" / f"{domain}.mo"
        try:
            with catalog.open("rb") as file:
                return gettext.GNUTranslations(file)
        except FileNotFoundError:
            continue
    return gettext.NullTranslations()


def translate(message: str, language: str, domain: str = DOMAIN, **values: object) -> str:
    text = translations(language, domain).gettext(message)
    return text.format(**values) if values else text


# Names people look for; CLDR's own names for these read oddly on a language button.
_NATIVE_NAMES = {"tl": "Tagalog", "zh_Hans": "简体中文", "zh_Hant": "繁體中文"}
# CLDR's names of the other languages the kiosk ships, written out: reading them from babel
# loads a locale's data each (0.14 s before the first frame). A test holds them to CLDR.
SHIPPED_NATIVE_NAMES = {
    "en": "English", "es": "Español", "vi": "Tiếng Việt", "ko": "한국어", "ar": "العربية",
    "ru": "Русский", "fr": "Français", "ht": "Kreyòl Ayisyen", "pt": "Português",
    "hi": "हिन्दी", "fa": "فارسی", "pl": "Polski"}


@functools.cache
def native_name(language: str) -> str:
    """The language's name in itself, as patients look for it ("Español", "العربية")."""
    if language in _NATIVE_NAMES:
        return _NATIVE_NAMES[language]
    if language in SHIPPED_NATIVE_NAMES:
        return SHIPPED_NATIVE_NAMES[language]
    return cldr_native_name(language)


def cldr_native_name(language: str) -> str:
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]


# The shipped languages written right to left; asking babel loads a locale's data (0.03 s
# before the first frame). A test holds this to CLDR for every shipped language.
SHIPPED_RIGHT_TO_LEFT = frozenset({"ar", "fa"})


@functools.cache
def is_right_to_left(language: str) -> bool:
    if language in SHIPPED_NATIVE_NAMES or language in _NATIVE_NAMES:
        return language in SHIPPED_RIGHT_TO_LEFT
    return cldr_right_to_left(language)


def cldr_right_to_left(language: str) -> bool:
    return bool(Locale.parse(language).character_order == "right-to-left")


@functools.cache
def date_field_order(language: str) -> tuple[str, ...]:
    """("day", "month", "year") in the order the language writes a short date."""
    from babel.dates import get_date_format

    pattern = get_date_format("short", locale=Locale.parse(language)).pattern
    positions = {field: pattern.find(letter) for field, letter in
                 (("day", "d"), ("month", "M"), ("year", "y"))}
    return tuple(sorted(positions, key=positions.__getitem__))


# -- Calendars of birth dates ---------------------------------------------------------------
# The calendars a patient may type a date of birth in, the first being the one the language's
# dates are usually written in. Many older Iranian patients know only their Solar Hijri
# (Persian, "shamsi") birth date; the Gregorian one stays available. The two never overlap for
# a living person (Solar Hijri years 1285-1405 are Gregorian 1906-2026), so the year typed
# says which calendar is meant and the patient chooses nothing.

GREGORIAN = "gregorian"
SOLAR_HIJRI = "solar_hijri"
_BIRTH_CALENDARS = {"fa": (SOLAR_HIJRI, GREGORIAN)}


def birth_calendars(language: str) -> tuple[str, ...]:
    """The calendars a patient reading ``language`` may type their date of birth in."""
    return _BIRTH_CALENDARS.get(language, (GREGORIAN,))


def calendar_date(calendar: str, year: int, month: int, day: int) -> date:
    """The Gregorian date of a day written in ``calendar``; ValueError if there is no such day
    (30 Esfand of a common year, 31 February).

    Solar Hijri dates are converted by jdatetime (its 33-year leap cycle agrees with the
    astronomical calendar Iran publishes for every year from 1178 to 1633)."""
    if calendar == GREGORIAN:
        try:
            return date(year, month, day)
        except OverflowError as error:  # a day or month of 19 digits and more
            raise ValueError(str(error)) from error
    if calendar == SOLAR_HIJRI:
        import jdatetime  # type: ignore[import-untyped]

        try:
            converted: date = jdatetime.date(year, month, day).togregorian()
        except OverflowError as error:  # beyond what either calendar can hold
            raise ValueError(str(error)) from error
        return converted
    raise ValueError(f"unknown calendar {calendar!r}")


def to_calendar(calendar: str, value: date) -> tuple[int, int, int]:
    """(year, month, day) of a Gregorian date in ``calendar``."""
    if calendar == GREGORIAN:
        return value.year, value.month, value.day
    if calendar == SOLAR_HIJRI:
        import jdatetime

        converted = jdatetime.date.fromgregorian(date=value)
        return int(converted.year), int(converted.month), int(converted.day)
    raise ValueError(f"unknown calendar {calendar!r}")


def format_time(value: datetime, language: str) -> str:
    """A time of day as the language writes it: 2:05 PM in English, 14:05 in German."""
    from babel.dates import format_time as babel_format_time

    return babel_format_time(value, "short", locale=Locale.parse(language))


def format_day(value: date, language: str) -> str:
    from babel.dates import format_skeleton

    return format_skeleton("yMMMMd", value, locale=Locale.parse(language))


# -- Staff screens (reception, the day report) ---------------------------------------------
# A second catalog: staff read far more words than patients, in one language per site, and
# a staff sentence should not hold back a patient language that is still being reviewed.

STAFF_DOMAIN = "reception"
STAFF_LANGUAGES = ("en", "ar", "es", "zh_Hans")


def S_(message: str) -> str:
    """Mark a staff-facing message for the reception catalog; translated where shown."""
    return message


def staff_translate(message: str, language: str, **values: object) -> str:
    return translate(message, language, STAFF_DOMAIN, **values)


class StaffWord(str):
    """A value inside an :class:`Explained` message that is itself translated (a status)."""

    __slots__ = ()


class Explained(Exception):
    """An error reception can show in its own language: an ``S_``-marked template and the
    values that fill it. ``str(error)`` is the English sentence, for logs and the CLI."""

    def __init__(self, message: str, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values

    def translated(self, language: str) -> str:
        values = {key: staff_translate(value, language) if isinstance(value, StaffWord)
                  else value for key, value in self.values.items()}
        return staff_translate(self.message, language, **values)
