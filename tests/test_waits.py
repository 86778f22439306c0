"""The estimator inside the app: fed from the database, its estimates recorded against the
waits that followed, and a report of its accuracy."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from kiosk import tokens
from kiosk.checkin import CheckinService
from kiosk.cli import main
from kiosk.eta import QueueEvent, WaitEstimator
from kiosk.models import WaitEstimateRecord
from kiosk.queue import QueueService
from kiosk.waits import calibration
from tests.conftest import DAY, at


def scan(ctx, day, who):
    token = tokens.issue(ctx.qr_secret, "main", day[who].appointment, DAY)
    return CheckinService(ctx).by_qr(token)


def test_estimates_shown_are_recorded_with_the_wait_that_followed(ctx, clock, day):
    first = scan(ctx, day, "muller")
    assert first.wait is not None
    clock.advance(minutes=12)
    QueueService(ctx).act(first.ticket, "call", actor="anna", room="3")
    with ctx.db.read() as session:
        record = session.scalars(select(WaitEstimateRecord)).one()
    assert (record.median, record.upper) == (first.wait.median, first.wait.upper)
    assert record.actual == 12.0


def test_a_patient_behind_a_long_consultation_waits_longer(ctx, clock, day):
    """The estimator sees the consultation in progress and the patients ahead."""
    clock.set(at(9, 0))
    muller = scan(ctx, day, "muller")          # p1, 09:00
    QueueService(ctx).act(muller.ticket, "call", actor="anna")
    garcia = scan(ctx, day, "garcia")          # p1, 09:15, behind Müller's consultation
    ivanova = scan(ctx, day, "ivanova")        # p1, 09:45
    assert garcia.wait is not None and ivanova.wait is not None
    assert 0 < garcia.wait.median < ivanova.wait.median
    assert garcia.wait.upper >= garcia.wait.median


def test_the_estimator_conditions_on_time_already_spent():
    start = at(9, 0)
    estimator = WaitEstimator({"p": [10.0] * 50 + [30.0] * 50}, runs=2000, seed=1)
    estimator.observe(QueueEvent("session", start, provider_id="p",
                                 session_end=start + timedelta(hours=4)))
    for visit in ("a", "b"):
        estimator.observe(QueueEvent("walk_in", start, visit_id=visit, provider_id="p"))
    estimator.observe(QueueEvent("called", start, visit_id="a", provider_id="p"))
    just_started = estimator.estimate(start + timedelta(minutes=1))["b"]
    long_running = estimator.estimate(start + timedelta(minutes=25))["b"]
    # 25 minutes in, this is one of the long ones: less of it is left than at the start.
    assert long_running.median_minutes < just_started.median_minutes


def test_calibration_removes_a_bias_and_fits_the_bound():
    records = [(10.0, 15.0, 16.0 + (n % 5)) for n in range(100)]
    result = calibration(records)
    assert result.bias_minutes == 8.0 and result.records == 100
    assert calibration(records[:10]).records == 10  # too few: no correction


def test_eta_report_command(ctx, clock, day, capsys, monkeypatch):
    monkeypatch.setattr("kiosk.waits.ENOUGH_HISTORY", 0)  # a number is shown from the start
    first = scan(ctx, day, "muller")
    clock.advance(minutes=7)
    QueueService(ctx).act(first.ticket, "call", actor="anna")
    url = ctx.settings.database_url
    now = clock.now().isoformat()
    assert main(["--db", url, "--now", now, "eta-report", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["overall"]["records"] == 1
    assert main(["--db", url, "--now", now, "eta-report"]) == 0
    assert "within 5" in capsys.readouterr().out


def test_cancelled_appointments_ahead_do_not_lengthen_a_wait(ctx, clock, day):
    from sqlalchemy import delete

    from kiosk.models import Appointment

    clock.set(at(8, 20))
    scan(ctx, day, "garcia")  # p1 at 09:15; Voss's 09:00 on p1 is cancelled
    before = {row.ticket: row.wait for row in QueueService(ctx).rows()}
    with ctx.db.write() as session:
        session.execute(delete(Appointment).where(Appointment.external_id == "a-cancelled"))
    after = {row.ticket: row.wait for row in QueueService(ctx).rows()}
    assert before == after


def test_a_patient_called_then_gone_teaches_no_pace_and_frees_the_provider():
    start = at(9, 0)
    estimator = WaitEstimator({"p": [15.0] * 20})
    estimator.observe(QueueEvent("walk_in", start, visit_id="a", provider_id="p"))
    estimator.observe(QueueEvent("called", start, visit_id="a", provider_id="p"))
    estimator.observe(QueueEvent("cancelled", start + timedelta(minutes=1), visit_id="a"))
    estimator.observe(QueueEvent("walk_in", start + timedelta(minutes=2), visit_id="b",
                                 provider_id="p"))
    provider = estimator.providers["p"]
    assert provider.today == [] and provider.current is None
    assert estimator.estimate(start + timedelta(minutes=2))["b"].median_minutes == 0.0


def test_calibration_learns_from_the_models_own_numbers(ctx, clock, day, monkeypatch):
    from kiosk.waits import _records

    monkeypatch.setattr("kiosk.waits.ENOUGH_HISTORY", 0)
    first = scan(ctx, day, "muller")
    clock.advance(minutes=9)
    QueueService(ctx).act(first.ticket, "call", actor="anna")
    with ctx.db.read() as session:
        record = session.scalars(select(WaitEstimateRecord)).one()
        model = _records(session, ctx, 30, model=True)
        shown = _records(session, ctx, 30, model=False)
    assert model == [(record.model_median, record.model_upper, 9.0)]
    assert shown == [(record.median, record.upper, 9.0)]
