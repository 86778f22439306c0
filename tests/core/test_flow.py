"""The patient flow as a state machine, without Qt: every path, with the clock fixed."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.base.clock import FixedClock
from kiosk.base.i18n import GREGORIAN, SOLAR_HIJRI, birth_calendars, calendar_date, to_calendar
from kiosk.domain.flow import (
    InputProblem,
    KioskFlow,
    Step,
    Timing,
    date_problem_field,
    validate_birth_date,
)
from kiosk.domain.results import CheckinResult, Outcome, Reason
from tests.support.site import TZ

LANGS = ("en", "ar", "zh_Hans")
TODAY = date(2026, 11, 23)


@pytest.fixture
def flow(clock: FixedClock) -> KioskFlow:
    return KioskFlow(clock, "en", LANGS, tz=TZ)


def test_name_path_with_given_name_then_result_then_welcome(flow, clock):
    flow.choose_language("ar")
    flow.start_name_entry()
    assert flow.submit_family("  Okafor ") is None
    assert flow.step is Step.BIRTH_DATE and flow.family == "Okafor"
    request = flow.submit_birth_date("1", "6", "2015")
    assert request is not None and flow.step is Step.WORKING
    assert (request.family, request.birth_date, request.language) == ("Okafor", date(2015, 6, 1),
                                                                      "ar")
    flow.finish(CheckinResult(Outcome.NEED_GIVEN_NAME))
    assert flow.step is Step.GIVEN_NAME
    request = flow.submit_given("Chidi")
    assert request is not None and request.given == "Chidi"
    flow.finish(CheckinResult(Outcome.CHECKED_IN, ticket="K-3"))
    assert flow.step is Step.RESULT and flow.result.ticket == "K-3"
    clock.advance(seconds=19)
    flow.tick()
    assert flow.step is Step.RESULT
    clock.advance(seconds=1)
    flow.tick()
    assert flow.step is Step.WELCOME
    assert (flow.language, flow.family, flow.birth_date, flow.given, flow.result) == (
        "en", None, None, None, None)


def test_a_scan_on_any_screen_checks_in_by_code(flow):
    flow.start_name_entry()
    flow.submit_family("Müller")
    request = flow.scanned("LK1ABC")
    assert request is not None and request.qr == "LK1ABC" and flow.family is None
    assert flow.scanned("LK1DEF") is None  # one at a time
    flow.finish(CheckinResult(Outcome.INVALID_CODE))
    assert flow.step is Step.RESULT


@pytest.mark.parametrize(("fields", "problem"), [
    (("", "6", "2015"), InputProblem.DATE_INCOMPLETE),
    (("31", "2", "1990"), InputProblem.DATE_IMPOSSIBLE),
    (("1", "13", "1990"), InputProblem.DATE_IMPOSSIBLE),
    (("x", "1", "1990"), InputProblem.DATE_IMPOSSIBLE),
    (("24", "11", "2026"), InputProblem.DATE_FUTURE),
    (("22", "11", "1906"), InputProblem.DATE_TOO_OLD),
])
def test_impossible_future_and_too_old_dates_are_explained(fields, problem):
    assert validate_birth_date(*fields, TODAY) is problem


def test_valid_dates_pass_including_leap_days_and_today():
    assert validate_birth_date("29", "2", "2000", TODAY) == date(2000, 2, 29)
    assert validate_birth_date("23", "11", "2026", TODAY) == TODAY
    assert validate_birth_date("23", "11", "1906", TODAY) == date(1906, 11, 23)


# -- two-digit years (issue "The patient's path, tapped through", item 3) ---------------------
# "84" used to be answered "That date does not exist". A two-digit year is read as the only
# year ending in those digits that gives a possible date of birth (today or before, at most
# 120 years ago); where two would, the patient is asked for four digits, never guessed for.

@pytest.mark.parametrize(("fields", "born"), [
    (("2", "7", "84"), date(1984, 7, 2)),      # 2084 is in the future, 1884 too long ago
    (("14", "3", "56"), date(1956, 3, 14)),
    (("1", "1", "90"), date(1990, 1, 1)),
    (("8", "5", "03"), date(2003, 5, 8)),      # 1903 is more than 120 years ago
    (("29", "2", "00"), date(2000, 2, 29)),    # a leap day: 1900 had none, and is too old
    (("1", "12", "26"), date(1926, 12, 1)),    # 1 December 2026 is still to come
    ((" 2", "07 ", " 84 "), date(1984, 7, 2)),
])
def test_a_two_digit_year_is_read_when_only_one_year_is_possible(fields, born):
    assert validate_birth_date(*fields, TODAY) == born


@pytest.mark.parametrize("fields", [
    ("1", "6", "15"),    # 2015 or 1915: both possible, a child or someone of 111
    ("23", "11", "26"),  # born today, or 100 years old today
    ("1", "1", "10"),
    ("2", "7", "198"),   # three digits
    ("2", "7", "7"),     # one
])
def test_a_year_that_could_be_two_years_or_is_not_four_digits_is_asked_for(fields):
    assert validate_birth_date(*fields, TODAY) is InputProblem.DATE_YEAR_DIGITS


def test_a_two_digit_year_on_a_day_that_does_not_exist_says_so():
    assert validate_birth_date("31", "2", "84", TODAY) is InputProblem.DATE_IMPOSSIBLE
    assert validate_birth_date("29", "2", "85", TODAY) is InputProblem.DATE_IMPOSSIBLE


def test_digits_of_any_script_count():
    assert validate_birth_date("١٤", "٣", "١٩٥٦", TODAY) == date(1956, 3, 14)  # Arabic-Indic
    assert validate_birth_date("۱", "۱", "۱۳۶۳", TODAY, birth_calendars("fa")) == date(
        1984, 3, 21)  # Persian


@pytest.mark.parametrize(("problem", "fields", "field"), [
    (InputProblem.DATE_IMPOSSIBLE, ("31", "2", "1990"), "day"),
    (InputProblem.DATE_IMPOSSIBLE, ("1", "13", "1990"), "month"),
    (InputProblem.DATE_IMPOSSIBLE, ("1", "00", "1990"), "month"),
    (InputProblem.DATE_FUTURE, ("24", "11", "2026"), "year"),
    (InputProblem.DATE_TOO_OLD, ("22", "11", "1906"), "year"),
    (InputProblem.DATE_YEAR_DIGITS, ("1", "6", "15"), "year"),
    (InputProblem.DATE_INCOMPLETE, ("", "6", "2015"), None),
])
def test_each_date_problem_points_at_the_field_to_correct(problem, fields, field):
    assert validate_birth_date(*fields, TODAY) is problem
    assert date_problem_field(problem, fields[0], fields[1]) == field


# -- the Solar Hijri calendar, for Persian patients -------------------------------------------

@pytest.mark.parametrize(("solar", "gregorian"), [
    ((1363, 1, 1), date(1984, 3, 21)),     # Nowruz 1363
    ((1357, 11, 22), date(1979, 2, 11)),   # 22 Bahman 1357
    ((1399, 1, 1), date(2020, 3, 20)),     # Nowruz 1399 fell on 20 March
    ((1403, 12, 30), date(2025, 3, 20)),   # 1403 was a leap year: it had a 30 Esfand
    ((1404, 1, 1), date(2025, 3, 21)),
    ((1334, 12, 23), date(1956, 3, 14)),
])
def test_solar_hijri_dates_convert_exactly(solar, gregorian):
    assert calendar_date(SOLAR_HIJRI, *solar) == gregorian
    assert to_calendar(SOLAR_HIJRI, gregorian) == solar
    assert calendar_date(GREGORIAN, gregorian.year, gregorian.month, gregorian.day) == gregorian


@pytest.mark.parametrize("solar", [(1404, 12, 30), (1363, 7, 31), (1363, 13, 1), (1363, 0, 1)])
def test_solar_hijri_days_that_do_not_exist_are_refused(solar):
    with pytest.raises(ValueError):
        calendar_date(SOLAR_HIJRI, *solar)


def test_persian_patients_may_type_either_calendar_and_only_persian_ones_solar_hijri():
    assert birth_calendars("fa") == (SOLAR_HIJRI, GREGORIAN)
    assert birth_calendars("en") == birth_calendars("ar") == (GREGORIAN,)
    persian = birth_calendars("fa")
    # The year says which calendar: Solar Hijri years of living people (1285-1405) are
    # Gregorian years of no one living, and the other way round.
    assert validate_birth_date("1", "1", "1363", TODAY, persian) == date(1984, 3, 21)
    assert validate_birth_date("21", "3", "1984", TODAY, persian) == date(1984, 3, 21)
    assert validate_birth_date("22", "11", "1357", TODAY, persian) == date(1979, 2, 11)
    assert validate_birth_date("1", "1", "1363", TODAY) is InputProblem.DATE_TOO_OLD


@pytest.mark.parametrize(("fields", "problem"), [
    (("30", "12", "1404"), InputProblem.DATE_IMPOSSIBLE),  # 1404 is not a leap year
    (("31", "7", "1363"), InputProblem.DATE_IMPOSSIBLE),   # Mehr has 30 days
    (("3", "9", "1405"), InputProblem.DATE_FUTURE),        # today is 2 Azar 1405
    (("1", "1", "1500"), InputProblem.DATE_FUTURE),        # 2121, nearer than 1500 AD
    (("1", "1", "1250"), InputProblem.DATE_TOO_OLD),
    (("1", "1", "63"), InputProblem.DATE_YEAR_DIGITS),     # 1363 or 1963
])
def test_persian_dates_that_cannot_be_a_birth_date_are_explained(fields, problem):
    assert to_calendar(SOLAR_HIJRI, TODAY) == (1405, 9, 2)
    assert validate_birth_date(*fields, TODAY, birth_calendars("fa")) is problem


def test_a_persian_patient_checks_in_with_the_solar_hijri_date(flow, clock):
    flow.languages = (*LANGS, "fa")
    flow.choose_language("fa")
    flow.start_name_entry()
    flow.submit_family("Müller")
    request = flow.submit_birth_date("23", "12", "1334")
    assert request is not None and request.birth_date == date(1956, 3, 14)


def test_a_date_problem_names_its_field_and_goes_when_the_patient_corrects(flow):
    seen = []
    flow.subscribe(lambda f: seen.append(f.problem))
    flow.start_name_entry()
    flow.submit_family("Okafor")
    assert flow.submit_birth_date("1", "6", "15") is None
    assert (flow.problem, flow.problem_field) == (InputProblem.DATE_YEAR_DIGITS, "year")
    seen.clear()
    flow.correcting()
    assert (flow.problem, flow.problem_field, seen) == (None, None, [None])
    flow.correcting()
    assert seen == [None]  # nothing left to clear: the screen is not redrawn for nothing
    assert flow.step is Step.BIRTH_DATE


def test_empty_and_absurdly_long_names_are_refused(flow):
    flow.start_name_entry()
    assert flow.submit_family("   ") is InputProblem.NAME_EMPTY
    assert flow.submit_family("x" * 10_000) is InputProblem.NAME_TOO_LONG
    assert flow.step is Step.FAMILY_NAME and flow.family is None


def test_idle_warning_counts_down_and_more_time_keeps_everything(flow, clock):
    flow.start_name_entry()
    flow.submit_family("Müller")
    clock.advance(seconds=44)
    flow.tick()
    assert flow.warning_deadline is None
    clock.advance(seconds=1)
    flow.tick()
    assert flow.warning_seconds_left == 20
    clock.advance(seconds=15)
    flow.tick()
    assert flow.warning_seconds_left == 5
    flow.more_time()
    assert flow.warning_deadline is None and flow.family == "Müller"
    assert flow.step is Step.BIRTH_DATE


def test_unanswered_warning_resets_and_forgets_the_patient(flow, clock):
    flow.choose_language("zh_Hans")
    flow.start_name_entry()
    flow.submit_family("王")
    clock.advance(seconds=45)
    flow.tick()
    clock.advance(seconds=20)
    flow.tick()
    assert flow.step is Step.WELCOME
    assert (flow.family, flow.language, flow.warning_deadline) == (None, "en", None)


def test_help_alerts_once_and_returns_to_welcome_by_itself(flow, clock):
    alerts = []
    flow.on_help(lambda step, _visit: alerts.append(step))
    flow.start_name_entry()
    flow.request_help()
    flow.request_help()
    assert flow.step is Step.HELP and alerts == ["family_name"]
    clock.advance(seconds=90)
    flow.tick()
    assert flow.step is Step.WELCOME


def test_help_after_checking_in_names_the_visit_for_reception(flow):
    alerts = []
    flow.on_help(lambda step, visit_id: alerts.append((step, visit_id)))
    flow.scanned("LK1ABC")
    flow.finish(CheckinResult(Outcome.CHECKED_IN, ticket="K-3", visit_id=42))
    flow.request_help()
    assert alerts == [("result", 42)]


def test_engine_failure_shows_error_then_welcome(flow, clock):
    flow.scanned("LK1X")
    flow.fail()
    assert flow.step is Step.ERROR
    clock.advance(seconds=20)
    flow.tick()
    assert flow.step is Step.WELCOME


def test_a_late_answer_after_a_timeout_is_ignored(flow, clock):
    flow.start_name_entry()
    flow.submit_family("Müller")
    flow.submit_birth_date("14", "3", "1956")
    flow.reset()
    flow.finish(CheckinResult(Outcome.SEE_RECEPTION, Reason.LATE, given_name="Jürgen"))
    assert flow.step is Step.WELCOME and flow.result is None


def test_back_walks_the_steps_back(flow):
    flow.start_name_entry()
    flow.submit_family("Müller")
    flow.back()
    assert flow.step is Step.FAMILY_NAME
    flow.back()
    assert flow.step is Step.WELCOME


def test_the_warning_must_give_at_least_20_seconds():
    with pytest.raises(ValueError, match="20 seconds"):
        Timing(warning_seconds=10)


def test_language_left_chosen_at_welcome_returns_to_default(flow, clock):
    flow.choose_language("ar")
    clock.advance(seconds=64)
    flow.tick()
    assert flow.language == "ar"
    clock.advance(seconds=1)
    flow.tick()
    assert flow.language == "en"


def test_an_answer_for_a_patient_who_has_gone_is_never_shown_to_the_next(flow):
    flow.start_name_entry()
    flow.submit_family("Müller")
    first = flow.submit_birth_date("14", "3", "1956")
    flow.reset()  # "Start over" while the engine works
    second = flow.scanned("LK1SOMETHING")
    assert first is not None and second is not None
    flow.finish(CheckinResult(Outcome.CHECKED_IN, given_name="Jürgen"), first.request_id)
    assert flow.step is Step.WORKING and flow.result is None
    flow.finish(CheckinResult(Outcome.INVALID_CODE), second.request_id)
    assert flow.step is Step.RESULT and flow.result.outcome is Outcome.INVALID_CODE


def test_while_the_engine_works_input_waits(flow):
    flow.start_name_entry()
    flow.submit_family("Nobody")
    assert flow.submit_birth_date("1", "1", "1980") is not None
    assert flow.submit_birth_date("1", "1", "1980") is None  # a double tap asks once
    flow.back()
    flow.start_name_entry()
    assert flow.step is Step.WORKING


def test_an_engine_that_hangs_sends_the_patient_to_reception(flow, clock):
    flow.scanned("LK1X")
    clock.advance(seconds=29)
    flow.tick()
    assert flow.step is Step.WORKING
    clock.advance(seconds=1)
    flow.tick()
    assert flow.step is Step.ERROR


def test_a_scan_after_a_check_in_is_the_next_patient_in_the_default_language(flow):
    flow.choose_language("ar")
    flow.start_name_entry()
    flow.submit_family("Okafor")
    flow.submit_birth_date("1", "6", "2015")
    flow.finish(CheckinResult(Outcome.CHECKED_IN, ticket="K-3", given_name="Amina"))
    generation = flow.generation
    request = flow.scanned("LK1NEXT")
    assert request is not None and request.language == "en"
    assert (flow.language, flow.family, flow.result) == ("en", None, None)
    assert flow.generation > generation


@pytest.mark.parametrize("before", ["not found", "help"])
def test_a_scan_after_no_check_in_keeps_the_patients_language_and_forgets_the_rest(flow, before):
    # A Russian patient not found by name (or who asked for help) scans their code instead:
    # the ticket is in Russian, and nothing typed before is kept.
    flow.choose_language("ar")
    flow.start_name_entry()
    flow.submit_family("Okafor")
    if before == "help":
        flow.request_help()
    else:
        flow.submit_birth_date("1", "6", "2015")
        flow.finish(CheckinResult(Outcome.NOT_FOUND))
    generation = flow.generation
    request = flow.scanned("LK1CODE")
    assert request is not None and request.language == "ar"
    assert (flow.language, flow.family, flow.birth_date, flow.help_requested) == (
        "ar", None, None, False)
    assert flow.generation > generation


def not_found_by_name(flow: KioskFlow) -> CheckinResult:
    flow.start_name_entry()
    flow.submit_family("Nobody")
    flow.finish(CheckinResult(Outcome.NOT_FOUND), flow.submit_birth_date("1", "1", "1980")
                .request_id)
    assert flow.result is not None
    return flow.result


def test_after_three_tries_in_one_visit_the_patient_is_sent_to_their_code_or_reception(flow):
    flow.choose_language("ar")
    assert not_found_by_name(flow).reason is None
    flow.start_over()  # the same patient: tries are theirs, not reset by starting over
    assert not_found_by_name(flow).reason is None
    flow.start_over()
    third = not_found_by_name(flow)
    assert (third.outcome, third.reason) == (Outcome.NOT_FOUND, Reason.TRIES_USED)
    assert "scan the code" in third.message("en")
    flow.done()  # the next patient starts with tries of their own
    assert not_found_by_name(flow).reason is None


def test_start_over_keeps_the_language_and_forgets_what_was_typed(flow):
    flow.start_in("zh_Hans")  # one touch on the welcome screen: language and name entry
    assert (flow.step, flow.language) == (Step.FAMILY_NAME, "zh_Hans")
    flow.submit_family("Wang")
    generation = flow.generation
    flow.start_over()
    assert (flow.step, flow.language, flow.family) == (Step.WELCOME, "zh_Hans", None)
    assert flow.generation > generation and not flow.new_patient
    assert not flow.idle_at_welcome  # a patient is still there
    flow.done()
    assert (flow.language, flow.new_patient) == ("en", True)


def test_a_patient_who_started_over_and_walked_away_is_forgotten(flow, clock):
    flow.start_in("en")
    flow.start_over()
    timing = flow.timing
    clock.advance(seconds=timing.idle_seconds + timing.warning_seconds - 1)
    flow.tick()
    assert not flow.new_patient
    clock.advance(seconds=1)
    flow.tick()
    assert flow.new_patient and flow.idle_at_welcome
