"""The wait estimator's calling rule and its lobby-wide replay (kiosk.domain.eta)."""

from __future__ import annotations

import pytest

from kiosk.base.settings import SettingsError, load_settings
from kiosk.domain.eta import QueueEvent, WaitEstimator
from tests.support.site import at


def _one_provider(rule: str, *, late_booking: bool = False) -> WaitEstimator:
    """At 09:00 provider p (12-minute consultations) is with a patient; two walk-ins wait
    (08:58, 08:59) and three booked patients are here early for 09:05, 09:15 and 09:25; with
    ``late_booking`` a fourth, booked at 09:35, is not here yet (and always comes)."""
    estimator = WaitEstimator({"p": [12.0] * 50}, calling_rule=rule, runs=1000, seed=5,
                              late_start_minutes=0, show_rate=1.0, arrival_offset_mean=-8,
                              arrival_offset_sd=2)
    estimator.observe(QueueEvent("session", at(8, 0), provider_id="p", session_end=at(12, 0)))
    slots = [(9, 5), (9, 15), (9, 25)] + ([(9, 35)] if late_booking else [])
    for hour, minute in slots:
        estimator.observe(QueueEvent("booked", at(7, 30), visit_id=f"b{hour}{minute}",
                                     provider_id="p", scheduled_start=at(hour, minute)))
    for hour, minute in slots[:3]:
        estimator.observe(QueueEvent("checked_in", at(8, 55), visit_id=f"b{hour}{minute}"))
    estimator.observe(QueueEvent("walk_in", at(8, 50), visit_id="in-room", provider_id="p"))
    estimator.observe(QueueEvent("called", at(9, 0), visit_id="in-room", provider_id="p"))
    for name, minute in (("w1", 58), ("w2", 59)):
        estimator.observe(QueueEvent("walk_in", at(8, minute), visit_id=name, provider_id="p"))
    return estimator


def test_booked_patients_falling_due_go_ahead_of_waiting_walk_ins():
    booked_first = _one_provider("booked_first").estimate(at(9, 0))
    arrival = _one_provider("arrival").estimate(at(9, 0))
    # One line: the walk-ins came before the slots, so they are next (12 and 24 minutes).
    assert arrival["w1"].median_minutes < 18 < arrival["w2"].median_minutes < 30
    assert arrival["w1"].median_minutes < arrival["b95"].median_minutes
    # Booked first: each booked patient falls due before the provider is free again (09:12,
    # 09:24, 09:36), so all three go ahead of both walk-ins: about 48 and 60 minutes.
    assert booked_first["b925"].median_minutes < booked_first["w1"].median_minutes
    assert 40 <= booked_first["w1"].median_minutes <= 56
    assert 52 <= booked_first["w2"].median_minutes <= 68
    assert booked_first["w1"].upper_minutes >= booked_first["w1"].median_minutes


def test_a_booked_patient_not_here_yet_who_falls_due_also_goes_ahead_of_walk_ins():
    without = _one_provider("booked_first").estimate(at(9, 0))
    with_later = _one_provider("booked_first", late_booking=True).estimate(at(9, 0))
    # The 09:35 patient comes around 09:27 and is due at 09:35, while both walk-ins wait.
    assert with_later["w1"].median_minutes >= without["w1"].median_minutes + 7
    # Under one line they stand behind the walk-ins: no change.
    arrival = _one_provider("arrival", late_booking=True).estimate(at(9, 0))
    assert arrival["w1"].median_minutes == _one_provider("arrival").estimate(
        at(9, 0))["w1"].median_minutes


@pytest.mark.parametrize("rule", ["booked_first", "arrival"])
def test_a_booked_patient_not_here_does_not_keep_a_free_provider_waiting(rule):
    """At 08:58 the 09:00 patient is not here (they may still come); the 09:10 patient is: a
    free provider calls them now rather than wait for someone who may not come."""
    estimator = WaitEstimator({"p": [15.0] * 50}, calling_rule=rule, runs=1000, seed=2,
                              late_start_minutes=0, show_rate=0.95, late_after_minutes=5)
    estimator.observe(QueueEvent("session", at(8, 0), provider_id="p", session_end=at(12, 0)))
    for name, minute in (("absent", 0), ("here", 10)):
        estimator.observe(QueueEvent("booked", at(7, 30), visit_id=name, provider_id="p",
                                     scheduled_start=at(9, minute)))
    estimator.observe(QueueEvent("called", at(8, 30), visit_id="before", provider_id="p"))
    estimator.observe(QueueEvent("finished", at(8, 50), visit_id="before", provider_id="p"))
    estimator.observe(QueueEvent("checked_in", at(8, 50), visit_id="here"))
    assert estimator.estimate(at(8, 58))["here"].median_minutes == 0.0


@pytest.mark.parametrize("rule", ["booked_first", "arrival"])
def test_a_walk_in_for_anyone_goes_to_the_provider_free_first(rule):
    """p and q are both with a patient (20-minute consultations): q since 08:50, p since
    09:00. A walk-in for anyone is seen by q, about 10 minutes from now; one for p waits
    about 20."""
    estimator = WaitEstimator({"p": [20.0] * 50, "q": [20.0] * 50}, calling_rule=rule,
                              runs=1000, seed=4, late_start_minutes=0)
    for provider, minute in (("p", 0), ("q", 50)):
        estimator.observe(QueueEvent("session", at(8, 0), provider_id=provider,
                                     session_end=at(12, 0)))
        hour = 9 if provider == "p" else 8
        estimator.observe(QueueEvent("called", at(hour, minute), visit_id=f"with-{provider}",
                                     provider_id=provider))
    estimator.observe(QueueEvent("walk_in", at(9, 0), visit_id="anyone", provider_id=None))
    estimator.observe(QueueEvent("walk_in", at(9, 0), visit_id="for-p", provider_id="p"))
    waits = estimator.estimate(at(9, 0))
    assert 5 <= waits["anyone"].median_minutes <= 13
    assert 15 <= waits["for-p"].median_minutes <= 25


def test_the_calling_rule_is_checked():
    assert WaitEstimator().calling_rule == "booked_first"
    assert WaitEstimator(calling_rule="arrival").calling_rule == "arrival"
    with pytest.raises(ValueError, match="calling_rule"):
        WaitEstimator(calling_rule="fifo")


def test_the_calling_rule_setting_validates():
    assert load_settings(environ={}).calling_rule == "booked_first"
    assert load_settings(environ={"KIOSK_CALLING_RULE": "arrival"}).calling_rule == "arrival"
    with pytest.raises(SettingsError, match="calling_rule"):
        load_settings(environ={"KIOSK_CALLING_RULE": "walk-ins first"})
