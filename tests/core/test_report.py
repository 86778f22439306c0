"""The day report, against a day scripted minute by minute and figures worked out by hand."""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from kiosk.domain import tokens
from kiosk.domain.results import Wait
from kiosk.services.checkin import CheckinService
from kiosk.services.lobby import record_feedback
from kiosk.services.queue import QueueService
from kiosk.services.report import TOTAL, DayReport, day_report
from kiosk.services.waits import LobbyDay
from kiosk.store.models import Appointment, AppointmentStatus
from tests.support.site import DAY, PEOPLE, at

OKAFOR, GOLDBERG, CHEN = "Dr. Amara Okafor", "Dr. Sarah Goldberg", "Dr. Wei Chen"  # p1, p3, p2
WALK_IN_NAMES = ("Rosa Delgado", "Piet Janssen")  # what reception types: patient data too


class ShownWaits:
    """A wait model showing whatever the test chose: the report is under test here, not the
    estimator, so the numbers a patient saw are known exactly."""

    def __init__(self) -> None:
        self.next: Wait | None = None

    def waits(self, queue: LobbyDay) -> dict[int, Wait]:
        return {visit.visit_id: self.next for visit in queue.waiting} if self.next else {}


def script_day(ctx, clock, day) -> None:
    """The day of the fixture practice, as in the table below (times local, Europe/Berlin).

    ticket  who       provider  method    lang     checked in  called  then        wait
    K-1     muller    p1        qr        en       08:50       09:02   done        12
    K-2     hashemi   p2        name_dob  ar       08:52       09:01   done         9
    K-3     wang      p2        qr        zh_Hans  08:55       09:21   done        26
    K-4     garcia    p1        name_dob  es       09:05       09:16   in room     11
    K-5     twin_a    p3        staff     en       09:10       09:30   called      20
    K-6     walk-in   p3        staff     vi       09:12       -       left 09:40   -
    K-7     nguyen    p1        qr        vi       09:20       09:58   done        38
    K-8     walk-in   p2        staff     es       09:40       09:45*  done         5
    K-9     ivanova   p1        qr        en       09:50       -       waiting      -
    (* taken straight into the room: the start is the call)

    Never checked in: late (p1, 08:00), annex (p1, 09:00, the other location), oneil (p2,
    09:30, marked no-show upstream), twin_b (p3, 09:15): no-shows by 10:30. Not no-shows:
    cancelled (p1, cancelled), early (p1, 15:00, still to come), tomorrow (another day).
    """
    shown = ShownWaits()
    checkin = CheckinService(ctx, model=shown)
    queue = QueueService(ctx)

    def scan(who: str, language: str, wait: Wait) -> None:
        shown.next = wait
        token = tokens.issue(ctx.qr_secret, "main", day[who].appointment, DAY)
        assert checkin.by_qr(token, language=language).succeeded

    def by_name(who: str, language: str, wait: Wait) -> None:
        shown.next = wait
        assert checkin.by_name(day[who].family, day[who].birth_date,
                               language=language).succeeded

    def act(hour: int, minute: int, ticket: str, action: str) -> None:
        clock.set(at(hour, minute))
        queue.act(ticket, action, actor="anna")

    with ctx.db.write() as session:
        session.execute(update(Appointment).where(Appointment.external_id == "a-oneil")
                        .values(status=AppointmentStatus.NOSHOW))

    clock.set(at(8, 50))
    scan("muller", "en", Wait(10, 15))                    # K-1
    clock.set(at(8, 52))
    by_name("hashemi", "ar", Wait(8, 13))                 # K-2
    clock.set(at(8, 55))
    scan("wang", "zh_Hans", Wait(20, 27))                 # K-3
    act(9, 1, "K-2", "call")
    act(9, 2, "K-1", "call")
    act(9, 2, "K-2", "start")
    act(9, 3, "K-1", "start")
    clock.set(at(9, 5))
    by_name("garcia", "es", Wait(13, 18))                 # K-4
    clock.set(at(9, 10))
    shown.next = Wait(5, 10, known=False)                 # no number shown: not counted
    assert checkin.by_staff("a-twin_a", actor="anna", language="en").succeeded  # K-5
    clock.set(at(9, 12))
    assert queue.walk_in("p3", actor="anna", name=WALK_IN_NAMES[0], language="vi") == "K-6"
    act(9, 15, "K-1", "finish")
    act(9, 16, "K-4", "call")
    act(9, 17, "K-4", "start")
    clock.set(at(9, 20))
    scan("nguyen", "vi", Wait(12, 17))                    # K-7
    act(9, 20, "K-2", "finish")
    act(9, 21, "K-3", "call")
    act(9, 22, "K-3", "start")
    act(9, 30, "K-5", "call")
    act(9, 35, "K-3", "finish")
    act(9, 40, "K-6", "left")
    assert queue.walk_in("p2", actor="anna", name=WALK_IN_NAMES[1], language="es") == "K-8"
    act(9, 45, "K-8", "start")
    clock.set(at(9, 50))
    scan("ivanova", "en", Wait(19, 26))                   # K-9
    act(9, 58, "K-7", "call")
    act(10, 0, "K-7", "start")
    act(10, 0, "K-8", "finish")
    act(10, 10, "K-7", "finish")

    # Feedback keeps only the day; one answer from the day before must not count.
    for score, language in ((5, "en"), (4, "es"), (2, "ar"), (4, "vi")):
        record_feedback(ctx, "kiosk-1", score, language, "qr")
    clock.set(at(18, 0, DAY - timedelta(days=1)))
    record_feedback(ctx, "kiosk-1", 1, "en", "qr")
    clock.set(at(10, 30))


@pytest.fixture
def report(ctx, clock, day) -> DayReport:
    script_day(ctx, clock, day)
    return day_report(ctx, DAY)


def figures_of(report: DayReport):
    return {figures.provider: figures for figures in (*report.providers, report.total)}


def test_patients_by_status_and_no_shows(report):
    assert [figures.provider for figures in report.providers] == [OKAFOR, GOLDBERG, CHEN]
    counts = {name: (f.checked_in, f.seen, f.in_room, f.called, f.waiting, f.left, f.no_shows)
              for name, f in figures_of(report).items()}
    assert counts == {
        OKAFOR: (4, 2, 1, 0, 1, 0, 2),      # no-shows: late (08:00), annex (09:00)
        GOLDBERG: (2, 0, 0, 1, 0, 1, 1),    # twin_b
        CHEN: (3, 3, 0, 0, 0, 0, 1),        # oneil, marked no-show upstream
        TOTAL: (9, 5, 1, 1, 1, 1, 4),       # not: cancelled, early at 15:00, tomorrow
    }


def test_an_appointment_still_to_come_becomes_a_no_show_once_its_time_has_passed(
        ctx, clock, day, report):
    assert report.total.no_shows == 4
    clock.set(at(15, 1))  # Erin Bird's 15:00 appointment has come and gone
    assert figures_of(day_report(ctx, DAY))[OKAFOR].no_shows == 3


def test_waits_median_p90_and_share_within_target(report):
    waits = {name: (f.waits.count, f.waits.median_minutes, f.waits.p90_minutes,
                    f.waits.within_target, f.waits.share_within_target)
             for name, f in figures_of(report).items()}
    # Linear interpolation: P90 of n sorted waits sits at rank 0.9 * (n - 1).
    assert waits == {
        OKAFOR: (3, 12.0, 32.8, 2, 0.667),     # 11 12 38: 12 + 0.8 * (38 - 12)
        GOLDBERG: (1, 20.0, 20.0, 0, 0.0),     # 20
        CHEN: (3, 9.0, 22.6, 2, 0.667),        # 5 9 26: 9 + 0.8 * (26 - 9)
        TOTAL: (7, 12.0, 30.8, 4, 0.571),      # 5 9 11 12 20 26 38: 26 + 0.4 * (38 - 26)
    }
    assert report.target_wait_minutes == 15


def test_longest_waits_are_the_top_five_across_the_site(report):
    assert [(wait.ticket, wait.provider, wait.minutes) for wait in report.longest_waits] == [
        ("K-7", OKAFOR, 38.0), ("K-3", CHEN, 26.0), ("K-5", GOLDBERG, 20.0),
        ("K-1", OKAFOR, 12.0), ("K-4", OKAFOR, 11.0)]


def test_check_ins_by_method_and_language(report):
    by_figures = figures_of(report)
    assert {name: dict(f.by_method) for name, f in by_figures.items()} == {
        OKAFOR: {"qr": 3, "name_dob": 1, "staff": 0, "text": 0},
        GOLDBERG: {"qr": 0, "name_dob": 0, "staff": 2, "text": 0},
        CHEN: {"qr": 1, "name_dob": 1, "staff": 1, "text": 0},
        TOTAL: {"qr": 4, "name_dob": 2, "staff": 3, "text": 0},
    }
    # Most used first, then by code.
    assert by_figures[TOTAL].by_language == (("en", 3), ("es", 2), ("vi", 2), ("ar", 1),
                                             ("zh_Hans", 1))
    assert by_figures[OKAFOR].by_language == (("en", 2), ("es", 1), ("vi", 1))
    assert dict(by_figures[GOLDBERG].by_language) == {"en": 1, "vi": 1}


def test_feedback_of_the_day(report):
    assert report.feedback.count == 4
    assert report.feedback.mean == 3.75
    assert report.feedback.distribution == ((1, 0), (2, 1), (3, 0), (4, 2), (5, 1))


def test_accuracy_of_the_waits_shown(report):
    estimates = {name: (f.estimates.shown, f.estimates.with_actual,
                        f.estimates.mean_absolute_error_minutes, f.estimates.within_upper,
                        f.estimates.share_within_upper)
                 for name, f in figures_of(report).items()}
    # Shown (median, upper) against the wait: K-1 (10, 15) 12, K-4 (13, 18) 11, K-7 (12, 17)
    # 38, K-9 (19, 26) still waiting; K-2 (8, 13) 9, K-3 (20, 27) 26; K-5's had no number.
    assert estimates == {
        OKAFOR: (4, 3, 10.0, 2, 0.667),        # errors 2 2 26
        GOLDBERG: (0, 0, None, 0, None),
        CHEN: (2, 2, 3.5, 2, 1.0),             # errors 1 6
        TOTAL: (6, 5, 7.4, 4, 0.8),            # errors 2 1 6 2 26
    }


def test_csv_round_trips(report, tmp_path):
    path = tmp_path / "day.csv"
    report.write_csv(path)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["section", "provider", "metric", "value"]
    assert len({(r["section"], r["provider"], r["metric"]) for r in rows}) == len(rows)
    cell = {(r["section"], r["provider"], r["metric"]): r["value"] for r in rows}
    assert cell["report", "", "day"] == "2026-11-23"
    assert cell["report", "", "percentile_method"] == "linear"
    assert cell["visits", TOTAL, "seen"] == "5"
    assert cell["visits", OKAFOR, "no_shows"] == "2"
    assert cell["waits", TOTAL, "median_minutes"] == "12.0"
    assert cell["waits", OKAFOR, "p90_minutes"] == "32.8"
    assert cell["waits", TOTAL, "share_within_target"] == "0.571"
    assert cell["method", CHEN, "staff"] == "1"
    assert cell["language", TOTAL, "zh_Hans"] == "1"
    assert cell["estimates", GOLDBERG, "mean_absolute_error_minutes"] == ""  # none to measure
    assert cell["feedback", TOTAL, "mean"] == "3.75"
    assert cell["feedback", TOTAL, "score_4"] == "2"
    longest = [(r["metric"], r["provider"], r["value"]) for r in rows
               if r["section"] == "longest_wait"]
    assert longest[:2] == [("K-7", OKAFOR, "38.0"), ("K-3", CHEN, "26.0")]
    assert len(longest) == 5


def test_json_is_plain_and_agrees(report):
    found = json.loads(json.dumps(report.as_json()))
    assert found == report.as_json()
    assert found["day"] == "2026-11-23" and found["as_of"].startswith("2026-11-23T10:30")
    assert found["total"]["waits"]["p90_minutes"] == 30.8
    assert found["total"]["visits"]["left"] == 1
    assert [p["provider"] for p in found["providers"]] == [OKAFOR, GOLDBERG, CHEN]
    assert found["feedback"]["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1}
    assert found["longest_waits"][0] == {"ticket": "K-7", "provider": OKAFOR, "minutes": 38.0}


def test_no_patient_names_in_the_text_or_the_csv(report, tmp_path):
    text = report.as_text()
    path = tmp_path / "day.csv"
    report.write_csv(path)
    written = path.read_text(encoding="utf-8")
    assert "K-7" in text and OKAFOR in text and "K-7" in written
    names = {name for _, given, family, *_ in PEOPLE for name in (given, family)}
    names |= set(WALK_IN_NAMES)
    for shown in (text, written):
        # Dr. Amara Okafor shares the twins' family name: her own name may be shown.
        shown = shown.replace(OKAFOR, "")
        assert [name for name in names if name in shown] == []


def test_text_report_reads_well(report):
    text = report.as_text()
    assert text.startswith("Day report for Monday, November 23, 2026, Lobby Medical Practice")
    assert "As of 2026-11-23 10:30 (Europe/Berlin). Target wait: 15 min." in text
    lines = text.splitlines()
    total_patients = next(line for line in lines if line.startswith("Total"))
    assert total_patients.split()[1:] == ["9", "5", "1", "1", "1", "1", "4"]
    assert "K-7        38.0  Dr. Amara Okafor" in lines
    feedback = lines[lines.index("Feedback (anonymous, whole site)") + 2]
    assert feedback.split() == ["4", "3.75", "0", "1", "0", "2", "1"]


def test_a_day_with_nothing_in_it(ctx, clock):
    empty = day_report(ctx, DAY + timedelta(days=7))
    assert empty.providers == ()
    assert (empty.total.checked_in, empty.total.no_shows) == (0, 0)
    assert (empty.total.waits.median_minutes, empty.total.waits.share_within_target) == (
        None, None)
    assert empty.longest_waits == ()
    assert (empty.feedback.count, empty.feedback.mean) == (0, None)
    assert "nobody was called" in empty.as_text()
    json.dumps(empty.as_json())


def test_the_estimates_by_segment_for_the_day_and_the_month(report, tmp_path):
    """Issue 18, item 5: by walk-in or booked and the wait predicted (K-2 predicted 8 min,
    K-1, K-4 and K-7 10-19, K-3 20), the day's figures and the 30 days up to it."""
    parts = {part.segment: part for part in report.segments}
    assert list(parts) == ["booked 0-10", "booked 10-20", "booked 20-40"]
    middle = parts["booked 10-20"].day
    assert middle is not None
    assert (middle.records, middle.mean_absolute_error, middle.within_5,
            middle.over_upper_by_5) == (3, 10.0, 0.667, 0.333)  # K-7: 38 min, bound 17
    assert parts["booked 10-20"].last_30_days == middle  # nothing before the day
    path = tmp_path / "day.csv"
    report.write_csv(path)
    with path.open(newline="", encoding="utf-8") as handle:
        cell = {(r["section"], r["provider"], r["metric"]): r["value"]
                for r in csv.DictReader(handle)}
    assert cell["segments", "booked 20-40", "day_mean_absolute_error_minutes"] == "6.0"
    found = json.loads(json.dumps(report.as_json()))
    assert found["estimate_segments"][0]["day"]["called"] == 1
    text = report.as_text("es")
    assert "Estimaciones de espera por segmento" in text
    assert "Con cita, previsto de 10 a 20 min" in text
