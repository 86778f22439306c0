"""Languages and translated messages (gettext catalogs in locales/, read with babel).

Messages are marked with ``N_`` where they are declared and translated where they are shown,
in the language of the patient in front of the kiosk.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from babel.support import NullTranslations, Translations

from kiosk.paths import data_dir

DOMAIN = "kiosk"


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated later, when shown."""
    return message


def locales_dir() -> Path:
    return data_dir("locales")


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    found = Translations.load(str(locales_dir()), [language], DOMAIN)
    return found if isinstance(found, Translations) else NullTranslations()


def translate(message: str, language: str, **values: object) -> str:
    text = translations(language).gettext(message)
    return text.format(**values) if values else text
