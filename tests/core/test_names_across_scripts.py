"""A name typed in one script finds the record kept in another, and only where it should.

The names are real names in their own naming conventions (not the demo's), each with the
spellings people carry in passports and practice records.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kiosk.domain.names import full_name, latin_name, same_name, search_keys
from kiosk.domain.results import Outcome
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import QueueService
from kiosk.store.schedule import PatientRecord, upsert_patients
from tests.support.site import at
from tests.support.site import book as book_at_practice

# (recorded, typed): the same family name.
SAME_FAMILY_NAME = [
    # Chinese: Pinyin with or without tones and spaces, every reading, simplified and
    # traditional characters.
    ("高", "GAO"), ("高", "Gāo"), ("张", "Zhang"), ("張", "Zhang"), ("王", "wang"),
    ("欧阳", "Ouyang"), ("欧阳", "Ou Yang"), ("单", "Shan"), ("单", "Dan"), ("曾", "Zeng"),
    ("吕", "Lü"), ("吕", "Lu"), ("吕", "Lyu"), ("诸葛", "Zhuge"), ("陳", "Chen"),
    # Korean: Revised Romanization and the customary spellings.
    ("김", "Kim"), ("김", "Gim"), ("이", "Lee"), ("이", "Yi"), ("이", "Rhee"),
    ("박", "Park"), ("박", "Pak"), ("박", "Bak"), ("최", "Choi"), ("최", "Choe"),
    ("정", "Jung"), ("정", "Jeong"), ("정", "Chung"), ("윤", "Yoon"), ("강", "Kang"),
    ("류", "Ryu"), ("류", "Yoo"), ("남궁", "Namgung"),
    ("Park", "박"), ("Lee", "이"),
    # Hindi: Devanagari and Latin, with the usual spelling variants.
    ("कपूर", "Kapoor"), ("कपूर", "Kapur"), ("शर्मा", "Sharma"), ("शर्मा", "Sarma"),
    ("सिंह", "Singh"), ("पटेल", "Patel"), ("गुप्ता", "Gupta"), ("अग्रवाल", "Agrawal"),
    ("अग्रवाल", "Agarwal"), ("मल्होत्रा", "Malhotra"), ("श्रीवास्तव", "Srivastava"),
    ("श्रीवास्तव", "Shrivastav"), ("Kapoor", "कपूर"), ("Kapur", "कपूर"),
    # Cyrillic and Latin, both ways.
    ("Иванова", "Ivanova"), ("Ivanova", "Иванова"), ("Хрущёв", "Khrushchev"),
    ("Соловьёв", "Solovyov"), ("Соловьёв", "Solovev"), ("Цой", "Tsoi"), ("Жуков", "Zhukov"),
    ("Щербаков", "Shcherbakov"), ("Шевченко", "Shevchenko"), ("Дмитриев", "Dmitriev"),
    ("Khrushchev", "Хрущёв"), ("Zhukov", "Жуков"), ("Григоренко", "Hryhorenko"),
    ("吕", "Lv"),
    # Arabic and Persian: the same script, normalised.
    ("إبراهيم", "ابراهيم"), ("مُحَمَّد", "محمد"), ("عـلي", "علي"), ("کریمی", "كريمي"),
    ("رؤوف", "رووف"), ("عبد الله", "عبدالله"),
]

SAME_GIVEN_NAME = [
    ("伟", "Wei"), ("Ana", "Ana"), ("민준", "Minjun"), ("민준", "Min-jun"), ("민준", "Minjoon"),
    ("서연", "Seoyeon"), ("서연", "Suyeon"), ("Дмитрий", "Dmitriy"), ("Дмитрий", "Dmitry"),
    ("Дмитрий", "Dmitrii"), ("Юрий", "Yuri"), ("Евгений", "Yevgeny"), ("Евгений", "Evgeniy"),
    ("कृष्ण", "Krishna"), ("Priya", "प्रिया"),
]

DIFFERENT = [
    ("高", "Guo"), ("张", "Chang"), ("王", "Huang"), ("김", "Lee"), ("박", "Park Kim"),
    ("이", "Kim"), ("Kapoor", "Kanpur"), ("Иванова", "Ivanov"), ("Li", "Lin"),
    ("Müller", "Miller"), ("محمد", "Mohammed"), ("Park", "Parks"),
    # Loose keys cross scripts only: within one script, different people's names stay apart
    # (with the birth date, a wider match could check the wrong patient in alone).
    ("Lee", "Li"), ("Vu", "Wu"), ("Vang", "Wang"), ("Khan", "Kan"), ("Smith", "Smyth"),
    ("Kapoor", "Kapur"), ("王", "汪"), ("李", "黎"), ("서연", "서윤"), ("Иванова", "Иваново"),
    # A single letter, digits or a symbol are no name.
    ("이", "Y"), ("오", "O"), ("Lee", "Lee1"), ("Kim", "Kim!!7"), ("Dragon", "🐉"),
]


@pytest.mark.parametrize(("recorded", "typed"), SAME_FAMILY_NAME)
def test_a_family_name_is_found_from_another_script(recorded, typed):
    assert same_name(typed, recorded, family=True)


@pytest.mark.parametrize(("recorded", "typed"), SAME_GIVEN_NAME)
def test_a_given_name_is_found_from_another_script(recorded, typed):
    assert same_name(typed, recorded)


@pytest.mark.parametrize(("recorded", "typed"), DIFFERENT)
def test_different_names_stay_different_across_scripts(recorded, typed):
    assert not same_name(typed, recorded, family=True)


def test_arabic_script_is_never_guessed_from_latin_letters():
    # محمد is Mohammed, Muhammad, Mohamad...: a guess could find the wrong patient.
    assert search_keys("محمد") == {"محمد"}


def test_a_paste_of_ten_thousand_characters_has_no_key():
    assert search_keys("高" * 10_000) == set()
    assert search_keys("a" * 10_000) == set()


# -- at the check-in engine --------------------------------------------------------------

BORN = date(1981, 4, 12)


def book(ctx, people):
    """people: (external id, given, family, birth date, hour), booked with Dr. Okafor."""
    book_at_practice(ctx, [(ext, given, family, born, at(hour), "p1", "main", "booked")
                           for ext, given, family, born, hour in people])


@pytest.mark.parametrize(("given", "family", "typed"), [
    ("莉", "高", "Gao"), ("민준", "김", "Kim"), ("राहुल", "कपूर", "Kapur"),
    ("Анна", "Иванова", "Ivanova"), ("Anna", "Ivanova", "Иванова"),
])
def test_a_patient_checks_in_by_a_name_typed_in_another_script(ctx, given, family, typed):
    book(ctx, [("p", given, family, BORN, 9)])
    result = CheckinService(ctx).by_name(typed, BORN, kiosk_id="kiosk-1")
    assert result.outcome is Outcome.CHECKED_IN
    assert result.given_name == given


def test_namesakes_across_scripts_are_asked_for_the_given_name_and_never_shown_each_other(ctx):
    # 王伟 is kept in characters, Fang Wang in Latin letters: the same family name, the same
    # birth date. Neither is chosen for the other; the given name tells them apart.
    book(ctx, [("wei", "伟", "王", BORN, 9), ("fang", "Fang", "Wang", BORN, 9)])
    service = CheckinService(ctx)
    asked = service.by_name("Wang", BORN, kiosk_id="kiosk-1")
    assert asked.outcome is Outcome.NEED_GIVEN_NAME
    assert asked.given_name is None and asked.ticket is None
    wei = service.by_name("Wang", BORN, given="Wei", kiosk_id="kiosk-1")
    assert (wei.outcome, wei.given_name) == (Outcome.CHECKED_IN, "伟")
    fang = service.by_name("Wang", BORN, given="Fang", kiosk_id="kiosk-2")
    assert (fang.outcome, fang.given_name) == (Outcome.CHECKED_IN, "Fang")
    nobody = service.by_name("Wang", BORN, given="Li", kiosk_id="kiosk-3")
    assert nobody.outcome is Outcome.NOT_FOUND


def test_not_found_reads_the_same_whatever_the_cause(ctx):
    book(ctx, [("gao", "莉", "高", BORN, 9)])
    service = CheckinService(ctx)
    answers = [
        service.by_name("Gao", BORN + timedelta(days=1), kiosk_id="k1"),  # wrong date
        service.by_name("Guo", BORN, kiosk_id="k2"),                      # wrong name
        service.by_name("高" * 10_000, BORN, kiosk_id="k3"),               # a paste
        service.by_name("محمد", BORN, kiosk_id="k4"),                     # nobody
    ]
    assert {answer.outcome for answer in answers} == {Outcome.NOT_FOUND}
    assert {answer.message("zh_Hans") for answer in answers} == {answers[0].message("zh_Hans")}
    assert all(answer.given_name is None and answer.ticket is None for answer in answers)


# -- names shown the way their culture writes them ------------------------------------------

@pytest.mark.parametrize(("given", "family", "language", "full", "latin"), [
    ("伟", "王", None, "王伟", "Wang Wei"),
    ("민준", "김", "ko", "김민준", "Kim Minjun"),
    ("Thị Mai", "Nguyễn", "vi", "Nguyễn Thị Mai", None),
    ("Wei", "Wang", "zh_Hans", "Wang Wei", None),
    ("Анна", "Иванова", "ru", "Анна Иванова", "Anna Ivanova"),
    ("राहुल", "शर्मा", "hi", "राहुल शर्मा", "Rahul Sharma"),
    ("فاطمة", "الهاشمي", "ar", "فاطمة الهاشمي", None),  # no guess at a Latin spelling
    ("María José", "García-López", "es", "María José García-López", None),
])
def test_names_are_written_as_their_culture_writes_them(given, family, language, full, latin):
    assert full_name(given, family, language) == full
    assert latin_name(given, family, language) == latin


def test_the_kiosk_greets_by_the_form_the_language_uses(ctx):
    book(ctx, [("wang", "伟", "王", BORN, 9)])
    result = CheckinService(ctx).by_name("Wang", BORN, kiosk_id="kiosk-1")
    assert result.greeting("zh_Hans") == "王伟"
    assert result.greeting("ko") == "王伟"
    assert result.greeting("en") == "伟"


def test_reception_sees_the_native_name_with_its_latin_spelling(ctx):
    book(ctx, [("kim", "민준", "김", BORN, 9), ("anna", "Anna", "Smith", BORN, 9)])
    service = CheckinService(ctx)
    assert service.by_name("Kim", BORN, kiosk_id="k1").succeeded
    assert service.by_name("Smith", BORN, kiosk_id="k2").succeeded
    rows = {row.patient_name: row for row in QueueService(ctx).rows()}
    assert rows["김민준"].latin_name == "Kim Minjun"
    assert rows["김민준"].short_name == "김*"
    assert rows["Anna Smith"].latin_name is None
    assert rows["Anna Smith"].short_name == "Anna S."


@pytest.mark.parametrize(("recorded", "typed"), [("薇", "伟"), ("Anna", "Ana"), ("Sarah", "Sara")])
def test_different_given_names_in_one_script_stay_different(recorded, typed):
    assert not same_name(typed, recorded)


def test_a_given_name_that_fits_two_namesakes_picks_neither(ctx):
    # 王伟 and 王薇, born the same day: "Wei" is both. Only 王薇 has an appointment today, but
    # the kiosk must not check her in for whoever typed Wei: it sends them to reception.
    book(ctx, [("wei", "伟", "王", BORN, 9)])
    with ctx.db.write() as session:
        upsert_patients(session, ctx.settings.site_id, [PatientRecord("wei2", "薇", "王", BORN)])
    service = CheckinService(ctx)
    assert service.by_name("Wang", BORN, kiosk_id="k1").outcome is Outcome.NEED_GIVEN_NAME
    answer = service.by_name("Wang", BORN, given="Wei", kiosk_id="k1")
    assert (answer.outcome, answer.ticket, answer.given_name) == (
        Outcome.SEE_RECEPTION, None, None)


def test_twins_ana_and_anna_are_told_apart_by_the_given_name(ctx):
    book(ctx, [("anna", "Anna", "Silva", BORN, 9)])
    with ctx.db.write() as session:
        upsert_patients(session, ctx.settings.site_id, [PatientRecord("ana", "Ana", "Silva", BORN)])
    # Ana has no appointment today: typing her name must not check Anna in.
    answer = CheckinService(ctx).by_name("Silva", BORN, given="Ana", kiosk_id="k1")
    assert answer.outcome is not Outcome.CHECKED_IN and answer.ticket is None
