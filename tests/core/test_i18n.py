"""Every message in every language: translated, not fuzzy, placeholders intact, and the
template up to date with the code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.base.i18n import (
    STAFF_LANGUAGES,
    date_field_order,
    is_right_to_left,
    native_name,
    translate,
)
from kiosk.base.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"
TRANSLATED = [code for code in Settings().languages if code != "en"]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalog(path: Path):
    with path.open("rb") as handle:
        return read_po(handle)


# (domain, the keywords that mark its messages, the languages it must be complete in)
DOMAINS = {"kiosk": (["-k", "N_", "-k", "_"], TRANSLATED),
           "reception": (["--no-default-keywords", "-k", "S_"],
                         [code for code in STAFF_LANGUAGES if code != "en"]),
           # what patients read outside the lobby: emails and text messages
           "messages": (["--no-default-keywords", "-k", "M_"], TRANSLATED)}


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_template_holds_every_message_the_code_marks(tmp_path, domain):
    fresh = tmp_path / f"{domain}.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "babel.cfg"), *DOMAINS[domain][0], "--no-location", "-o",
                    str(fresh), "kiosk", "ui"], cwd=ROOT, check=True, capture_output=True)
    in_code = {m.id for m in catalog(fresh) if m.id}
    in_template = {m.id for m in catalog(LOCALES / f"{domain}.pot") if m.id}
    assert in_code and in_code == in_template, "run: pybabel extract (see README, Translations)"


@pytest.mark.parametrize(("domain", "language"), [
    (domain, language) for domain, (_keywords, languages) in DOMAINS.items()
    for language in languages])
def test_every_message_is_translated_with_its_placeholders(domain, language):
    template = {m.id for m in catalog(LOCALES / f"{domain}.pot") if m.id}
    translations = catalog(LOCALES / language / "LC_MESSAGES" / f"{domain}.po")
    problems = []
    for msgid in sorted(template):
        message = translations.get(msgid)
        if message is None or not message.string:
            problems.append(f"missing: {msgid}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid}")
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(message.string)):
            problems.append(f"placeholders differ: {msgid}")
    assert problems == []


def test_staff_errors_read_in_the_staff_language():
    from kiosk.base.i18n import StaffWord
    from kiosk.services.queue import REFUSED, STATUS_NAMES, InvalidTransition
    from kiosk.store.models import VisitStatus

    error = InvalidTransition(REFUSED["finish"], ticket="K-3",
                              status=StaffWord(STATUS_NAMES[VisitStatus.WAITING]))
    assert str(error) == "K-3 cannot be finished: the patient is waiting."
    for language in ("ar", "es", "zh_Hans"):
        shown = error.translated(language)
        assert "K-3" in shown and "waiting" not in shown and "finished" not in shown


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalogs_are_used(language):
    text = translate("You are checked in. Please take a seat.", language)
    assert text and text != "You are checked in. Please take a seat."


def test_language_facts_come_from_the_locale_data():
    assert native_name("es") == "Español" and native_name("ar") == "العربية"
    assert is_right_to_left("ar") and is_right_to_left("fa") and not is_right_to_left("ru")
    assert date_field_order("en") == ("month", "day", "year")
    assert date_field_order("de") == ("day", "month", "year")
    assert date_field_order("zh_Hans") == ("year", "month", "day")


def test_the_native_names_written_out_are_cldrs():
    from kiosk.base.i18n import SHIPPED_NATIVE_NAMES, cldr_native_name

    assert {code: cldr_native_name(code) for code in SHIPPED_NATIVE_NAMES} == \
        SHIPPED_NATIVE_NAMES
    assert set(SHIPPED_NATIVE_NAMES) | {"tl", "zh_Hans", "zh_Hant"} >= set(Settings().languages)


def test_the_shipped_right_to_left_languages_are_cldr_s():
    from kiosk.base.i18n import SHIPPED_NATIVE_NAMES, SHIPPED_RIGHT_TO_LEFT, cldr_right_to_left

    shipped = set(SHIPPED_NATIVE_NAMES) | {"tl", "zh_Hans", "zh_Hant"}
    assert {code for code in shipped if cldr_right_to_left(code)} == SHIPPED_RIGHT_TO_LEFT
    assert is_right_to_left("he") and not is_right_to_left("de")  # beyond them: CLDR's word


def test_a_regional_code_reads_its_language_s_catalog():
    assert translate("Welcome", "pt_BR") == translate("Welcome", "pt") != "Welcome"
