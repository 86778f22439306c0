"""The patient flow as a state machine, without Qt: every path, with the clock fixed."""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.base.clock import FixedClock
from kiosk.domain.flow import InputProblem, KioskFlow, Step, Timing, validate_birth_date
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
    (("1", "1", "90"), InputProblem.DATE_IMPOSSIBLE),
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
