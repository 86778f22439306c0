"""The estimator inside the app: fed from the database, its estimates recorded against the
waits that followed, and a report of its accuracy."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from kiosk.domain import tokens
from kiosk.domain.eta import QueueEvent, WaitEstimator
from kiosk.ops.cli import main
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import QueueService
from kiosk.services.report import day_report
from kiosk.services.waits import _records, actual_minutes, calibration
from kiosk.store.models import Visit, VisitStatus, WaitEstimateRecord
from tests.support.site import DAY, at, make_ctx


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
        called_at = session.get(Visit, record.visit_id).called_at
    assert (record.median, record.upper) == (first.wait.median, first.wait.upper)
    assert actual_minutes(record.shown_at, called_at) == 12.0  # the actual wait


def test_a_call_taken_back_and_made_again_counts_the_second_one(ctx, clock, day,
                                                               monkeypatch):
    monkeypatch.setattr("kiosk.services.waits.ENOUGH_HISTORY", 0)  # a wait with a number is shown
    first = scan(ctx, day, "muller")
    queue = QueueService(ctx)
    clock.advance(minutes=5)
    queue.act(first.ticket, "call", actor="anna")
    clock.advance(seconds=10)
    assert queue.undo_last(actor="anna") == first.ticket  # the wrong patient was called
    clock.advance(minutes=30)
    queue.act(first.ticket, "call", actor="anna")
    with ctx.db.read() as session:
        (_, _, actual), = _records(session, ctx, 30, model=False)
    assert actual == pytest.approx(35 + 10 / 60)
    assert day_report(ctx, DAY).total.estimates.with_actual == 1


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
    # a number is shown from the start
    monkeypatch.setattr("kiosk.services.waits.ENOUGH_HISTORY", 0)
    first = scan(ctx, day, "muller")
    clock.advance(minutes=7)
    QueueService(ctx).act(first.ticket, "call", actor="anna")
    url = ctx.settings.database_url
    now = clock.now().isoformat()
    assert main(["--db", url, "--now", now, "eta-report", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["overall"]["records"] == 1
    assert found["today"]["records"] == 1
    assert found["segments"]["booked 0-10"]["today"]["records"] == 1
    assert main(["--db", url, "--now", now, "eta-report"]) == 0
    out = capsys.readouterr().out
    assert "within 5" in out and "By segment" in out and "booked 0-10" in out


def test_each_segment_is_calibrated_on_its_own_and_its_bound_keeps_the_promise():
    """Walk-ins wait longer than modelled, booked patients shorter: one global correction
    would split the difference and correct neither (issue 18, item 3)."""
    from kiosk.services.waits import Record, segment_calibration

    walk_ins = [Record(10.0, 15.0, 12.0 + (n % 7) * 2, True) for n in range(60)]
    booked = [Record(12.0, 16.0, 8.0 + (n % 5), False) for n in range(60)]
    fitted = segment_calibration(walk_ins + booked)
    assert fitted.for_visit(True, 10).bias_minutes == 8.0
    assert fitted.for_visit(False, 12).bias_minutes == -2.0
    for records, walk_in in ((walk_ins, True), (booked, False)):
        past = 0
        for median, upper, actual in records:
            cal = fitted.for_visit(walk_in, median)
            new_median = median + cal.bias_minutes
            bound = new_median + (upper - median) * cal.spread
            past += actual > bound + 5
        assert past / len(records) <= 0.10  # at most one in ten waits 5 min past "at most N"
    # A segment with too few records uses its kind's, then the whole record's.
    assert fitted.for_visit(True, 50) == fitted.by_kind["walk_in"]


def test_the_calibration_is_refitted_during_the_day(ctx, clock, day, monkeypatch):
    from kiosk.services import waits

    fits = []
    real = waits.segment_calibration
    monkeypatch.setattr(waits, "segment_calibration",
                        lambda records: fits.append(len(records)) or real(records))
    clock.set(at(9, 0))
    model = waits.EtaWaitModel()
    kiosk = CheckinService(ctx, model)
    kiosk.by_qr(tokens.issue(ctx.qr_secret, "main", day["muller"].appointment, DAY))
    clock.advance(minutes=5)
    kiosk.by_qr(tokens.issue(ctx.qr_secret, "main", day["garcia"].appointment, DAY))
    assert len(fits) == 1  # fitted once, then kept
    clock.advance(minutes=waits.RECALIBRATE_EVERY.seconds // 60)
    QueueService(ctx, model).act("K-1", "call", actor="anna")
    assert len(fits) == 2  # fitted again, today's waits included


def test_cancelled_appointments_ahead_do_not_lengthen_a_wait(ctx, clock, day):
    from sqlalchemy import delete

    from kiosk.store.models import Appointment

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
    monkeypatch.setattr("kiosk.services.waits.ENOUGH_HISTORY", 0)
    first = scan(ctx, day, "muller")
    clock.advance(minutes=9)
    QueueService(ctx).act(first.ticket, "call", actor="anna")
    with ctx.db.read() as session:
        record = session.scalars(select(WaitEstimateRecord)).one()
        model = _records(session, ctx, 30, model=True)
        shown = _records(session, ctx, 30, model=False)
    assert model == [(record.model_median, record.model_upper, 9.0)]
    assert shown == [(record.median, record.upper, 9.0)]


def _two_providers(**settings) -> WaitEstimator:
    start = at(9, 0)
    estimator = WaitEstimator({"p": [15.0] * 50, "q": [15.0] * 50}, runs=1000, seed=3,
                              late_start_minutes=0, **settings)
    for provider in ("p", "q"):
        estimator.observe(QueueEvent("session", at(8, 0), provider_id=provider,
                                     session_end=at(12, 0)))
    estimator.observe(QueueEvent("walk_in", start, visit_id="long", provider_id="p"))
    estimator.observe(QueueEvent("called", start, visit_id="long", provider_id="p"))
    return estimator


def test_a_walk_in_for_anyone_goes_to_whoever_is_free_first():
    estimator = _two_providers()
    now = at(9, 1)
    estimator.observe(QueueEvent("called", at(8, 55), visit_id="other", provider_id="q"))
    estimator.observe(QueueEvent("finished", now, visit_id="other", provider_id="q"))
    estimator.observe(QueueEvent("walk_in", now, visit_id="anyone", provider_id=None))
    estimator.observe(QueueEvent("walk_in", now, visit_id="for-p", provider_id="p"))
    waits = estimator.estimate(now)
    # q is free now, so the walk-in for anyone is seen at once; p is in a consultation.
    assert waits["anyone"].median_minutes == 0.0
    assert waits["for-p"].median_minutes > 5


def test_a_provider_not_started_yet_is_expected_a_little_late():
    def wait(late_start: float) -> float:
        estimator = WaitEstimator({"p": [15.0] * 50}, runs=2000, seed=1,
                                  late_start_minutes=late_start)
        estimator.observe(QueueEvent("session", at(8, 0), provider_id="p",
                                     session_end=at(12, 0)))
        estimator.observe(QueueEvent("walk_in", at(7, 50), visit_id="w", provider_id="p"))
        return estimator.estimate(at(7, 50))["w"].median_minutes

    assert wait(0) == 10.0
    assert 10.0 < wait(6) < 20.0


def test_walk_ins_still_to_come_queue_ahead_of_a_later_slot():
    """At 08:00 a patient booked for 09:00 is here; a busy walk-in hour before their slot
    means a longer wait than a quiet one."""
    def wait(rate: float) -> float:
        estimator = WaitEstimator({"p": [10.0] * 50}, runs=2000, seed=1, late_start_minutes=0,
                                  walk_in_rates={"p": [rate] * 24})
        estimator.observe(QueueEvent("session", at(8, 0), provider_id="p",
                                     session_end=at(12, 0)))
        estimator.observe(QueueEvent("booked", at(7, 30), visit_id="b", provider_id="p",
                                     scheduled_start=at(9, 0)))
        estimator.observe(QueueEvent("checked_in", at(8, 0), visit_id="b"))
        return estimator.estimate(at(8, 0))["b"].median_minutes

    quiet, busy = wait(0.0), wait(6.0)
    assert quiet == 45.0  # called up to 15 minutes before the slot
    assert busy > quiet + 5


def test_a_booked_patient_long_overdue_no_longer_holds_their_slot():
    """Someone 20 minutes past their slot and not here would queue at arrival, if at all:
    they barely delay the patient who is here for the next slot."""
    def wait(now_minute: int) -> float:
        estimator = WaitEstimator({"p": [15.0] * 50}, runs=2000, seed=1, late_start_minutes=0,
                                  late_after_minutes=5)
        estimator.observe(QueueEvent("session", at(9, 0), provider_id="p",
                                     session_end=at(12, 0)))
        estimator.observe(QueueEvent("booked", at(7, 30), visit_id="gone", provider_id="p",
                                     scheduled_start=at(9, 0)))
        estimator.observe(QueueEvent("booked", at(7, 30), visit_id="here", provider_id="p",
                                     scheduled_start=at(9, 30)))
        estimator.observe(QueueEvent("called", at(9, 0), visit_id="x", provider_id="p"))
        estimator.observe(QueueEvent("finished", at(9, now_minute), visit_id="x",
                                     provider_id="p"))
        estimator.observe(QueueEvent("checked_in", at(9, now_minute), visit_id="here"))
        return estimator.estimate(at(9, now_minute))["here"].median_minutes

    # At 09:02 the 09:00 patient may well still come (most are early, a few late).
    # At 09:20 they would be late and queue behind: the provider calls the 09:30 patient.
    assert wait(20) == 0.0
    assert wait(2) > 0.0


def test_the_practice_habits_are_learned_from_past_days(ctx, day):
    from kiosk.ops.demo import seed_history
    from kiosk.services.waits import practice_habits

    added = seed_history(ctx, DAY, days=3, per_day=14)
    assert added > 0 and seed_history(ctx, DAY, days=3, per_day=14) == 0  # idempotent
    with ctx.db.read() as session:
        habits = practice_habits(session, ctx, DAY)
    # seed_history: 90% of appointments kept, arrivals 8 minutes early (SD 8), two walk-ins
    # a provider a day, a late start of 4 minutes on average.
    assert habits.show_rate is not None and 0.8 <= habits.show_rate <= 0.97
    assert habits.arrival_offset_mean is not None and -12 <= habits.arrival_offset_mean <= -4
    assert habits.arrival_offset_sd is not None and 4 <= habits.arrival_offset_sd <= 12
    assert habits.late_start_minutes is not None and 0 <= habits.late_start_minutes <= 15
    assert habits.walk_in_rates
    for hourly in habits.walk_in_rates.values():
        # Two a day, whatever the hour they fell in.
        assert len(hourly) == 24 and sum(hourly) == pytest.approx(2.0)
    settings = habits.settings()
    assert set(settings) == {"show_rate", "arrival_offset_mean", "arrival_offset_sd",
                             "late_start_minutes", "walk_in_rates"}


def test_the_lobby_is_replayed_once_per_change_and_every_window_reads_it(ctx, clock, day):
    """Issue 18, item 4: a check-in (or a reception action) replays the whole lobby in its own
    transaction and stores the result; reception windows and the board, each with a model of
    its own (another process), read it instead of replaying it again."""
    from kiosk.services.waits import SHARED_FOR, EtaWaitModel

    clock.set(at(9, 0))
    kiosk = CheckinService(ctx)
    first = kiosk.by_qr(tokens.issue(ctx.qr_secret, "main", day["muller"].appointment, DAY))
    second = kiosk.by_qr(tokens.issue(ctx.qr_secret, "main", day["garcia"].appointment, DAY))
    assert kiosk.model.replays == 2  # one per check-in, all providers together
    windows = [QueueService(ctx, EtaWaitModel()) for _ in range(3)]
    shown = [{row.ticket: row.wait for row in window.rows()} for window in windows]
    assert [window.model.replays for window in windows] == [0, 0, 0]
    assert shown[0] == shown[1] == shown[2]
    assert shown[0][second.ticket] == second.wait  # what the patient read, reception reads

    windows[0].act(first.ticket, "call", actor="anna")  # replayed once, in the action
    assert windows[0].model.replays == 1
    after = [{row.ticket: row.wait for row in window.rows()} for window in windows[1:]]
    assert [window.model.replays for window in windows[1:]] == [0, 0]
    assert after[0] == after[1] and first.ticket not in {t for t, w in after[0].items() if w}

    clock.advance(seconds=SHARED_FOR.total_seconds() + 1)  # consultations go on: replay again
    windows[1].rows()
    assert windows[1].model.replays == 1
    windows[2].rows()  # and the first window to replay stored it for the others
    assert windows[2].model.replays == 0
    # An admin changes how patients are called: the same lobby is replayed by the new rule.
    ctx.settings = ctx.settings.replace(calling_rule="arrival")
    windows[2].rows()
    assert windows[2].model.replays == 1


def test_a_change_made_outside_the_services_shows_the_shared_waits_of_those_still_waiting(
        ctx, clock, day):
    """A sync pass or another tool changes the lobby without replaying it: windows keep
    the shared estimate (at most a minute old) for the patients still waiting, and nobody
    else's; the next change through the services, or the minute, replays it."""
    from kiosk.services.waits import SHARED_FOR, EtaWaitModel

    clock.set(at(9, 0))
    muller = scan(ctx, day, "muller")
    garcia = scan(ctx, day, "garcia")
    window = QueueService(ctx, EtaWaitModel())
    with ctx.db.write() as session:  # as a sync pass or another tool might
        session.get(Visit, garcia.visit_id).status = VisitStatus.LEFT
        session.get(Visit, garcia.visit_id).finished_at = at(9, 0)
    rows = {row.ticket: row for row in window.rows()}
    assert window.model.replays == 0 and garcia.ticket not in rows
    assert rows[muller.ticket].wait is not None
    clock.advance(seconds=SHARED_FOR.total_seconds())
    window.rows()
    assert window.model.replays == 1


def test_the_eta_report_says_which_calling_rule_the_record_fits(ctx, clock, day, capsys):
    """A walk-in came at 8:55; Müller (9:00, here at 8:58) was due while the walk-in waited
    and was called first: the record's one contest went to the booked patient."""
    from kiosk.services.waits import calling_evidence

    queue = QueueService(ctx)
    clock.set(at(8, 55))
    walk_in = queue.walk_in("p1", actor="anna")
    clock.set(at(8, 58))
    muller = scan(ctx, day, "muller")
    clock.set(at(9, 2))
    queue.act(muller.ticket, "call", actor="anna")
    clock.set(at(9, 20))
    queue.act(walk_in, "call", actor="anna")
    with ctx.db.read() as session:
        evidence = calling_evidence(session, ctx, 30)
    assert (evidence.contests, evidence.booked_first) == (1, 1)
    assert evidence.fits is None  # one moment says nothing yet
    assert main(["--db", ctx.settings.database_url, "--now", clock.now().isoformat(),
                 "eta-report"]) == 0
    out = capsys.readouterr().out
    assert "1 times a booked patient who was due waited while a walk-in" in out
    assert "Too few such moments yet" in out


def test_an_old_line_is_replayed_by_one_window_while_the_others_show_it(ctx, clock, day):
    """Many windows refreshing at once on a line whose stored waits are old: one claims it
    (one statement) and replays it; the others show the old waits until it is stored."""
    from kiosk.services.waits import SHARED_FOR, EtaWaitModel, _claim

    clock.set(at(9, 0))
    muller = scan(ctx, day, "muller")
    clock.advance(seconds=SHARED_FOR.total_seconds())
    with ctx.db.read() as session:
        line = [session.get(Visit, muller.visit_id).provider_id]
    assert _claim(ctx, line, clock.now()) == set(line)
    assert _claim(ctx, line, clock.now()) == set()  # already taken
    other = QueueService(ctx, EtaWaitModel())
    rows = {row.ticket: row for row in other.rows()}
    assert other.model.replays == 0 and rows[muller.ticket].wait == muller.wait


def test_a_patient_moved_to_another_provider_is_estimated_in_the_new_line(ctx, clock, day):
    """Reception moves the last of three patients waiting for one provider to a provider
    with nobody waiting: their wait is the new line's, not the old one's."""
    from kiosk.store.models import Provider

    clock.set(at(9, 0))
    for who in ("muller", "garcia", "nguyen"):
        scan(ctx, day, who)
    ivanova = scan(ctx, day, "ivanova")
    with ctx.db.read() as session:
        free = session.scalar(select(Provider.id).where(Provider.external_id == "p3"))
    queue = QueueService(ctx)
    queue.move(ivanova.ticket, free, actor="anna")
    rows = {row.ticket: row for row in QueueService(ctx).rows()}
    moved = rows[ivanova.ticket].wait
    assert moved is not None and ivanova.wait is not None
    assert moved.median < ivanova.wait.median  # nobody ahead now


def test_an_older_replay_stored_late_never_overwrites_a_newer_one(ctx, clock, day):
    from kiosk.services.waits import EtaWaitModel, save_shared
    from kiosk.store.models import LobbyEstimate

    clock.set(at(9, 0))
    muller = scan(ctx, day, "muller")
    with ctx.db.read() as session:
        row = session.scalars(select(LobbyEstimate)).one()
        stored = (row.provider_id, row.computed_at, row.waits)
    late = EtaWaitModel()
    late.unsaved = [{"site_id": ctx.settings.site_id, "provider_id": stored[0],
                     "rule": ctx.settings.calling_rule,
                     "computed_at": stored[1] - timedelta(seconds=5), "waits": {}}]
    save_shared(ctx, late)
    with ctx.db.read() as session:
        row = session.scalars(select(LobbyEstimate)).one()
    assert row.waits == stored[2] and str(muller.visit_id) in row.waits


def test_windows_on_different_calling_rules_do_not_overwrite_each_other(ctx, clock, day):
    """A board whose config says 'arrival' and a kiosk on the default: the board replays
    for itself and stores nothing (else each would replay and signal the other for ever)."""
    from kiosk.services.waits import EtaWaitModel
    from kiosk.store.models import SiteChange

    clock.set(at(9, 0))
    scan(ctx, day, "muller")
    board_ctx = make_ctx(ctx.settings.replace(calling_rule="arrival"), clock)
    board = QueueService(board_ctx, EtaWaitModel())
    with ctx.db.read() as session:
        before = session.get(SiteChange, ctx.settings.site_id).seq
    board.rows()
    board.rows()
    with ctx.db.read() as session:
        after = session.get(SiteChange, ctx.settings.site_id).seq
    assert after == before  # nothing stored, nobody told to refresh
    reception = QueueService(ctx, EtaWaitModel())
    reception.rows()
    assert reception.model.replays == 0  # the kiosk's rows stand
    board_ctx.db.dispose()


def test_a_failing_replay_never_fails_a_committed_check_in(ctx, clock, day, monkeypatch,
                                                          caplog):
    from kiosk.services.waits import EtaWaitModel

    def broken(*_args, **_kwargs):
        raise RuntimeError("a defect in the estimator")

    monkeypatch.setattr(EtaWaitModel, "_replay", broken)
    clock.set(at(9, 0))
    result = scan(ctx, day, "muller")
    assert result.succeeded and result.ticket == "K-1" and result.wait is None
    assert "RuntimeError" in caplog.text and "a defect" not in caplog.text


def test_a_window_reads_only_the_waits_when_only_the_waits_changed(ctx, clock, day):
    """A check-in moves the lobby's counter (every window reads its rows again); the waits
    stored after it move only ``waits_seq``: a window keeps the rows it has and reads the new
    waits. A hospital lobby's 500 rows were read twice per check-in by every window."""
    from sqlalchemy import event

    from kiosk.services.waits import EtaWaitModel

    clock.set(at(8, 40))
    scan(ctx, day, "muller")
    window = QueueService(ctx, EtaWaitModel())
    first = window.rows()
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(ctx.db.engine, "before_cursor_execute", listener)
    try:
        # The kiosk stores a newer replay of Müller's line: only the waits changed.
        clock.advance(seconds=10)
        kiosk = CheckinService(ctx, EtaWaitModel())
        stored = kiosk._with_wait(scan_placed(kiosk, ctx, day, "muller"))
        assert stored.wait is not None
        statements.clear()
        again = window.rows()
        assert not any("FROM visit" in statement for statement in statements), statements
        assert [row.ticket for row in again] == [row.ticket for row in first]
        assert all(row.wait is not None for row in again if row.status == VisitStatus.WAITING)
        # A lobby change (a second check-in) is read in full.
        scan(ctx, day, "nguyen")
        statements.clear()
        assert len(window.rows()) == len(first) + 1
        assert any("FROM visit" in statement for statement in statements)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", listener)


def test_a_window_reads_its_rows_again_at_least_every_half_minute(ctx, clock, day):
    """What changes without a lobby change (a patient's name corrected by the sync) reaches
    the windows within 30 s."""
    from kiosk.store.models import Patient

    clock.set(at(8, 40))
    scan(ctx, day, "muller")
    window = QueueService(ctx)
    assert "Müller" in window.rows()[0].patient_name
    with ctx.db.write() as session:  # as the sync does: a patient row, no visit touched
        session.execute(Patient.__table__.update().values(family_name="Mueller-Lüdenscheidt"))
    clock.advance(seconds=10)
    assert "Müller" in window.rows()[0].patient_name
    clock.advance(seconds=25)
    assert "Mueller-Lüdenscheidt" in window.rows()[0].patient_name


def scan_placed(service, ctx, day, who):
    """A check-in already made, asked again: the kiosk's answer before its wait is added."""
    token = tokens.issue(ctx.qr_secret, "main", day[who].appointment, DAY)
    return service._by_qr(token, kiosk_id="k1", language="en")
