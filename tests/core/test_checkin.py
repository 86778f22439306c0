"""The check-in rules, on a SQLite file and on PostgreSQL, with the clock fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from kiosk.base.clock import FixedClock
from kiosk.domain import tokens
from kiosk.domain.names import name_key
from kiosk.domain.results import Outcome, Reason
from kiosk.services.checkin import CheckinService
from kiosk.store.models import Appointment, AppointmentStatus, AuditEvent, Visit
from kiosk.store.site import SiteContext
from tests.support.site import DAY, Person, at


def qr_for(ctx: SiteContext, person: Person, day=DAY) -> str:
    return tokens.issue(ctx.qr_secret, ctx.settings.site_id, person.appointment, day)


@pytest.fixture
def service(ctx: SiteContext) -> CheckinService:
    return CheckinService(ctx)


def test_qr_checks_in_and_gives_ticket_place_and_wait(ctx, day, service):
    result = service.by_qr(qr_for(ctx, day["muller"]), kiosk_id="k1", language="de")
    assert result.outcome is Outcome.CHECKED_IN
    assert result.ticket == "K-1"
    assert result.provider == "Dr. Amara Okafor"
    assert result.position == 1
    assert result.wait is not None and result.wait.upper >= result.wait.median >= 0
    assert result.given_name == "Jürgen"
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
        assert (visit.method.value, visit.language, visit.kiosk_id) == ("qr", "de", "k1")
        assert visit.checked_in_at == ctx.now()
        appointment = session.get_one(Appointment, visit.appointment_id)
        assert appointment.status is AppointmentStatus.ARRIVED
        audit = session.scalars(select(AuditEvent)).one()
        assert (audit.actor, audit.action, audit.visit_id) == ("k1", "check_in", visit.id)


@pytest.mark.parametrize(("typed", "who"), [
    ("Muller", "muller"), ("MÜLLER", "muller"), ("garcia lopez", "garcia"),
    ("Garcia-Lopez", "garcia"), ("ONeil", "oneil"), ("o neil", "oneil"),
    ("الهاشمي", "hashemi"), ("王", "wang"), ("иванова", "ivanova"), ("Nguyễn", "nguyen"),
    ("nguyen", "nguyen"),
])
def test_name_matching_folds_case_accents_and_punctuation(day, service, typed, who):
    result = service.by_name(typed, day[who].birth_date)
    assert result.outcome is Outcome.CHECKED_IN, typed
    assert result.given_name == day[who].given


def test_one_part_of_a_multi_part_family_name_is_enough(day, service):
    assert service.by_name("Garcia", day["garcia"].birth_date).outcome is Outcome.CHECKED_IN


def test_twins_are_asked_for_their_given_name(day, service):
    twins_born = day["twin_a"].birth_date
    assert service.by_name("okafor", twins_born).outcome is Outcome.NEED_GIVEN_NAME
    chidi = service.by_name("okafor", twins_born, given="CHIDI")
    assert chidi.outcome is Outcome.CHECKED_IN
    assert chidi.given_name == "Chidi"
    wrong = service.by_name("okafor", twins_born, given="Zara")
    assert wrong.outcome is Outcome.NOT_FOUND


def test_not_found_looks_the_same_whether_name_or_date_was_wrong(ctx, day, service):
    """Same result, same message and the same database work: nothing tells the two apart."""
    statements: list[str] = []

    def count(*args):
        statements.append(args[2])

    event.listen(ctx.db.engine, "before_cursor_execute", count)
    try:
        wrong_name = service.by_name("Mueller-Smith", day["muller"].birth_date)
        work_wrong_name = list(statements)
        statements.clear()
        wrong_date = service.by_name("Müller", day["muller"].birth_date + timedelta(days=1))
        work_wrong_date = list(statements)
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", count)
    assert wrong_name == wrong_date
    assert wrong_name.outcome is Outcome.NOT_FOUND
    assert wrong_name.message() == wrong_date.message()
    assert work_wrong_name == work_wrong_date


def test_five_failures_lock_the_kiosk_for_two_minutes_but_not_qr(ctx, clock, day, service):
    person = day["muller"]
    for _ in range(4):
        assert service.by_name("Nobody", person.birth_date, kiosk_id="k1").outcome \
            is Outcome.NOT_FOUND
        clock.advance(seconds=30)
    assert service.by_name("Nobody", person.birth_date, kiosk_id="k1").outcome is Outcome.LOCKED
    # Even the right answer is refused while locked; another kiosk is not affected.
    assert service.by_name("Müller", person.birth_date, kiosk_id="k1").outcome is Outcome.LOCKED
    assert service.by_name("Nobody", person.birth_date, kiosk_id="k2").outcome \
        is Outcome.NOT_FOUND
    # QR codes cannot be guessed, so a locked kiosk still takes them.
    assert service.by_qr(qr_for(ctx, day["oneil"]), kiosk_id="k1").outcome is Outcome.CHECKED_IN
    clock.advance(minutes=1, seconds=59)
    assert service.by_name("Müller", person.birth_date, kiosk_id="k1").outcome is Outcome.LOCKED
    clock.advance(seconds=2)
    assert service.by_name("Müller", person.birth_date, kiosk_id="k1").outcome \
        is Outcome.CHECKED_IN


def fail_until_paused(service: CheckinService, person: Person, clock: FixedClock):
    for _ in range(4):
        assert service.by_name("Nobody", person.birth_date, kiosk_id="k1").outcome \
            is Outcome.NOT_FOUND
    paused = service.by_name("Nobody", person.birth_date, kiosk_id="k1")
    assert paused.outcome is Outcome.LOCKED
    return paused


def test_a_pause_says_until_when_and_that_codes_work_and_grows_while_guessing_goes_on(
        ctx, clock, day, service):
    person = day["muller"]
    first = fail_until_paused(service, person, clock)
    assert first.retry_at == ctx.local(at(8, 52))  # two minutes from the fixed 08:50
    text = first.message("en")
    assert "8:52\u202fAM" in text and "scan the code" in text
    # The honest next patient hears the same reason and time, not a bare "see reception".
    refused = service.by_name("Müller", person.birth_date, kiosk_id="k1")
    assert (refused.outcome, refused.retry_at) == (Outcome.LOCKED, first.retry_at)
    # Guessing on after each pause: 2, 4, 8, then 15 minutes (the ceiling), never longer.
    lengths = [2]
    for _ in range(4):
        clock.set(first.retry_at)
        paused = fail_until_paused(service, person, clock)
        lengths.append(round((paused.retry_at - ctx.now()).total_seconds() / 60))
        first = paused
    assert lengths == [2, 4, 8, 15, 15]
    # An hour without a pause: the next one is short again.
    clock.set(first.retry_at + timedelta(hours=1, minutes=1))
    again = fail_until_paused(service, person, clock)
    assert again.retry_at - ctx.now() == timedelta(minutes=2)
    with ctx.db.read() as session:
        minutes = [event.detail["minutes"] for event in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "kiosk_locked")
            .order_by(AuditEvent.id))]
    assert minutes == [2, 4, 8, 15, 15, 2]


def test_a_caller_that_changes_its_kiosk_id_at_every_try_meets_a_pause_for_the_site(
        ctx, clock, day, service):
    born = day["muller"].birth_date
    for kiosk in range(4):  # honest traffic: four kiosks, four failures each, no pause
        for _ in range(4):
            assert service.by_name("Nobody", born, kiosk_id=f"k{kiosk}").outcome \
                is Outcome.NOT_FOUND
    assert service.by_name("Nobody", born, kiosk_id="fresh-1").outcome is Outcome.NOT_FOUND
    assert service.by_name("Nobody", born, kiosk_id="fresh-2").outcome is Outcome.NOT_FOUND
    assert service.by_name("Nobody", born, kiosk_id="fresh-3").outcome is Outcome.NOT_FOUND
    paused = service.by_name("Nobody", born, kiosk_id="fresh-4")  # 20 within ten minutes
    assert paused.outcome is Outcome.LOCKED
    assert service.by_name("Müller", born, kiosk_id="never-seen").outcome is Outcome.LOCKED
    assert service.by_qr(qr_for(ctx, day["oneil"]), kiosk_id="k9").outcome \
        is Outcome.CHECKED_IN
    clock.set(paused.retry_at)
    assert service.by_name("Müller", born, kiosk_id="k1").outcome is Outcome.CHECKED_IN


def test_failures_spread_beyond_the_window_do_not_lock(clock, day, service):
    for _ in range(8):  # never five within ten minutes
        assert service.by_name("Nobody", day["muller"].birth_date).outcome is Outcome.NOT_FOUND
        clock.advance(minutes=2, seconds=30)


def test_too_early_says_when_check_in_opens(clock, day, service):
    result = service.by_name("Bird", day["early"].birth_date)
    assert result.outcome is Outcome.TOO_EARLY
    assert result.opens_at == at(14, 0)
    assert "2:00\u202fPM" in result.message()  # as English writes a time of day
    assert "14:00" in result.message("de")
    clock.set(at(13, 59))
    assert service.by_name("Bird", day["early"].birth_date).outcome is Outcome.TOO_EARLY
    clock.set(at(14, 0))
    assert service.by_name("Bird", day["early"].birth_date).outcome is Outcome.CHECKED_IN


def test_more_than_15_minutes_late_checks_in_but_sends_to_reception(ctx, clock, day, service):
    clock.set(at(8, 15))  # the 08:00 appointment, exactly 15 minutes late: still on time
    assert service.by_name("Spät", day["late"].birth_date).outcome is Outcome.CHECKED_IN
    clock.set(at(9, 16))  # Müller's 09:00 appointment, 16 minutes late
    result = service.by_name("Muller", day["muller"].birth_date)
    assert (result.outcome, result.reason) == (Outcome.SEE_RECEPTION, Reason.LATE)
    assert result.ticket is not None
    with ctx.db.read() as session:
        late_visit = session.scalars(select(Visit).where(Visit.ticket_code == result.ticket)).one()
        assert late_visit.arrived_late
        assert late_visit.queue_at == at(9, 16)  # behind those who came on time


def test_cancelled_other_location_and_other_day_go_to_reception(ctx, day, service):
    cancelled = service.by_name("Voss", day["cancelled"].birth_date)
    assert (cancelled.outcome, cancelled.reason) == (Outcome.SEE_RECEPTION, Reason.CANCELLED)
    annex = service.by_qr(qr_for(ctx, day["annex"]))
    assert (annex.outcome, annex.reason) == (Outcome.SEE_RECEPTION, Reason.OTHER_LOCATION)
    assert "Annex" in annex.message()
    tomorrow = service.by_name("Morrow", day["tomorrow"].birth_date)
    assert (tomorrow.outcome, tomorrow.reason) == (Outcome.SEE_RECEPTION, Reason.OTHER_DAY)
    assert tomorrow.appointment_day == DAY + timedelta(days=1)
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == 0


def test_rescheduled_after_the_code_was_issued_goes_to_reception(ctx, day, service):
    token = qr_for(ctx, day["muller"])
    with ctx.db.write() as session:
        appointment = session.scalars(select(Appointment).where(
            Appointment.external_id == day["muller"].appointment)).one()
        appointment.start += timedelta(days=2)
        appointment.end += timedelta(days=2)
    result = service.by_qr(token)
    assert (result.outcome, result.reason) == (Outcome.SEE_RECEPTION, Reason.OTHER_DAY)


def test_checking_in_twice_returns_the_same_ticket(day, service, ctx):
    first = service.by_qr(qr_for(ctx, day["wang"]))
    again_by_qr = service.by_qr(qr_for(ctx, day["wang"]))
    again_by_name = service.by_name("王", day["wang"].birth_date)
    assert first.outcome is Outcome.CHECKED_IN
    assert again_by_qr.outcome is again_by_name.outcome is Outcome.ALREADY_CHECKED_IN
    assert first.ticket == again_by_qr.ticket == again_by_name.ticket


def test_tickets_are_short_unique_and_positions_follow_appointment_times(day, service, clock):
    results = [service.by_name(family, day[who].birth_date) for who, family in [
        ("garcia", "garcia"), ("muller", "muller"), ("ivanova", "иванова")]]
    assert [r.ticket for r in results] == ["K-1", "K-2", "K-3"]
    # Same provider: Müller (09:00) is ahead of García (09:15) and Ivanova (09:45).
    assert [r.position for r in results] == [1, 1, 3]


@pytest.mark.parametrize("scanned", [
    "", "LK1", "https://example.org/checkin?id=42", "x" * 10_000, "\x00\xff" * 20,
    "LK1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
])
def test_anything_but_a_valid_code_is_invalid_code(day, service, scanned):
    assert service.by_qr(scanned).outcome is Outcome.INVALID_CODE


def test_another_days_and_another_sites_codes_are_invalid(ctx, day, service):
    yesterday = qr_for(ctx, day["muller"], DAY - timedelta(days=1))
    assert service.by_qr(yesterday).outcome is Outcome.INVALID_CODE
    other_site = tokens.issue(b"another site's secret", "main", day["muller"].appointment, DAY)
    assert service.by_qr(other_site).outcome is Outcome.INVALID_CODE
    other_site_id = tokens.issue(ctx.qr_secret, "elsewhere", day["muller"].appointment, DAY)
    assert service.by_qr(other_site_id).outcome is Outcome.INVALID_CODE


def test_a_code_read_in_lower_case_or_with_spaces_still_works(ctx, day, service):
    token = qr_for(ctx, day["oneil"])
    assert service.by_qr(f"  {token.lower()}\n").outcome is Outcome.CHECKED_IN


def test_absurd_input_is_not_found_and_counts_as_a_failure(day, service):
    assert service.by_name("x" * 10_000, day["muller"].birth_date).outcome is Outcome.NOT_FOUND
    assert service.by_name("", day["muller"].birth_date).outcome is Outcome.NOT_FOUND
    assert service.by_name("'; DROP TABLE patient; --", day["muller"].birth_date).outcome \
        is Outcome.NOT_FOUND
    assert service.by_name("Müller", day["muller"].birth_date).outcome is Outcome.CHECKED_IN


def test_staff_check_in_overrides_timing_rules(ctx, day, service):
    result = service.by_staff(day["early"].appointment, actor="anna")
    assert result.outcome is Outcome.CHECKED_IN
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
        assert visit.method.value == "staff"


def test_logs_carry_no_patient_data(ctx, day, service, caplog):
    caplog.set_level("DEBUG")
    for person in day.values():
        service.by_name(person.family, person.birth_date, given=person.given)
        service.by_name(person.family + "x", person.birth_date)
        service.by_qr(qr_for(ctx, person))
    text = caplog.text
    assert "check" in text  # the log does say what happened
    for person in day.values():
        for secret in (person.given, person.family, person.birth_date.isoformat(),
                       name_key(person.family), qr_for(ctx, person)):
            assert secret.lower() not in text.lower()


def test_the_clock_decides_what_today_is(ctx, day, service):
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    clock.set(at(9, 0) + timedelta(days=1))
    result = service.by_name("Morrow", day["tomorrow"].birth_date)
    assert result.outcome is Outcome.CHECKED_IN


def add_appointment(ctx, patient: str, external_id: str, start, provider="p2"):
    from kiosk.store.models import Location, Patient, Provider
    from kiosk.store.schedule import AppointmentRecord, upsert_appointments

    with ctx.db.write() as session:
        patients = {p.external_id: p.id for p in session.scalars(select(Patient))}
        providers = {p.external_id: p.id for p in session.scalars(select(Provider))}
        locations = {loc.external_id: loc.id for loc in session.scalars(select(Location))}
        upsert_appointments(session, "main", ctx.qr_secret, [AppointmentRecord(
            external_id, patient, provider, "main", start, start + timedelta(minutes=15))],
            patients=patients, providers=providers, locations=locations)


def test_a_second_appointment_the_same_day_is_checked_in_on_its_own(ctx, clock, day, service):
    add_appointment(ctx, "muller", "a-muller-afternoon", at(14, 0))
    morning = service.by_name("Müller", day["muller"].birth_date)
    assert (morning.outcome, morning.provider) == (Outcome.CHECKED_IN, "Dr. Amara Okafor")
    clock.set(at(13, 40))
    afternoon = service.by_name("Müller", day["muller"].birth_date)
    assert (afternoon.outcome, afternoon.provider) == (Outcome.CHECKED_IN, "Dr. Wei Chen")
    assert afternoon.ticket != morning.ticket
    again = service.by_name("Müller", day["muller"].birth_date)
    assert (again.outcome, again.ticket) == (Outcome.ALREADY_CHECKED_IN, afternoon.ticket)


def test_missed_morning_appointment_does_not_capture_the_afternoon_one(ctx, clock, day,
                                                                       service):
    add_appointment(ctx, "muller", "a-muller-afternoon", at(14, 0))
    clock.set(at(13, 40))
    result = service.by_name("Müller", day["muller"].birth_date)
    assert (result.outcome, result.provider) == (Outcome.CHECKED_IN, "Dr. Wei Chen")


def test_a_twin_without_an_appointment_today_is_still_asked_for_a_given_name(ctx, day,
                                                                             service):
    with ctx.db.write() as session:
        appointment = session.scalars(select(Appointment).where(
            Appointment.external_id == day["twin_b"].appointment)).one()
        appointment.start += timedelta(days=1)
        appointment.end += timedelta(days=1)
    born = day["twin_a"].birth_date
    assert service.by_name("Okafor", born).outcome is Outcome.NEED_GIVEN_NAME
    chidi = service.by_name("Okafor", born, given="Chidi")
    assert (chidi.outcome, chidi.reason) == (Outcome.SEE_RECEPTION, Reason.OTHER_DAY)
    assert service.by_name("Okafor", born, given="Amina").outcome is Outcome.CHECKED_IN


def test_one_of_several_given_names_is_enough(day, service):
    assert service.by_name("García-López", day["garcia"].birth_date,
                           given="maria").outcome is Outcome.CHECKED_IN


def test_tickets_stay_consecutive(ctx, day, service):
    tickets = [service.by_qr(qr_for(ctx, day[who])).ticket
               for who in ("muller", "garcia", "oneil", "wang")]
    tickets.append(service.by_qr(qr_for(ctx, day["muller"])).ticket)  # again: same ticket
    assert tickets == ["K-1", "K-2", "K-3", "K-4", "K-1"]


def test_database_errors_carry_no_patient_data(ctx, day, service):
    """A failing statement's parameters (name keys, birth dates) stay out of the error."""
    with ctx.db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE patient_name_key")
    with pytest.raises(Exception) as caught:
        service.by_name("Müller", day["muller"].birth_date)
    chain, error = [], caught.value
    while error is not None:
        chain.append(str(error))
        error = error.__cause__ or error.__context__
    text = " ".join(chain)
    assert "muller" not in text.lower() and "1956" not in text
    assert "parameters" not in text or "hidden" in text


def test_a_configured_qr_secret_rekeys_the_site_so_all_codes_agree(ctx, day, clock):
    from kiosk.store.site import SiteContext

    old_token = qr_for(ctx, day["muller"])
    configured = ctx.settings.replace(qr_secret="a-configured-secret-0123456789")
    rekeyed = SiteContext.open(configured, ctx.db, clock)
    assert rekeyed.qr_secret == b"a-configured-secret-0123456789"
    service = CheckinService(rekeyed)
    assert service.by_qr(old_token).outcome is Outcome.INVALID_CODE
    assert service.by_qr(qr_for(rekeyed, day["muller"])).outcome is Outcome.CHECKED_IN


def test_a_configured_qr_secret_on_a_new_database_creates_the_site(sqlite_url, clock):
    from kiosk.store.db import Database
    from kiosk.store.site import SiteContext
    from tests.support.site import load_day, make_settings

    database = Database(sqlite_url)
    database.upgrade()
    settings = make_settings(sqlite_url, qr_secret="a-configured-secret-0123456789")
    fresh = SiteContext.open(settings, database, clock)
    people = load_day(fresh)
    token = tokens.issue(b"a-configured-secret-0123456789", "main", people["wang"].appointment,
                         DAY)
    assert CheckinService(fresh).by_qr(token).outcome is Outcome.CHECKED_IN
