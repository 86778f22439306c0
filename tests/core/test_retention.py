"""Retention on real databases (SQLite and PostgreSQL): a scripted day, then the purge at the
end of the next day. Names and birth dates are gone from every table; the anonymous visits,
the day report and a check-in still waiting to be sent upstream remain."""

from __future__ import annotations

from sqlalchemy import MetaData, select, text

from kiosk.services.checkin import CheckinService
from kiosk.services.queue import QueueService
from kiosk.services.report import day_report
from kiosk.services.retention import purge
from kiosk.store.models import OutboxItem, OutboxState, Patient, Visit
from kiosk.store.site import SiteContext
from tests.support.site import DAY, PEOPLE


def every_cell(ctx: SiteContext) -> str:
    """The whole database as text: what a purge must have cleaned."""
    tables = MetaData()
    with ctx.db.engine.connect() as connection:
        tables.reflect(connection)
        return "\n".join(str(row) for table in tables.sorted_tables
                         for row in connection.execute(select(table)))


def a_day(ctx: SiteContext, day) -> None:
    checkin = CheckinService(ctx)
    for who in ("muller", "garcia", "hashemi"):
        person = day[who]
        assert checkin.by_name(person.family, person.birth_date, kiosk_id="k1",
                               language="en").ticket
    queue = QueueService(ctx)
    queue.walk_in("p1", actor="Rosa", name="Walter Walk-in")
    queue.act("K-1", "call", actor="Rosa", room="2")
    queue.act("K-1", "finish", actor="Rosa")
    with ctx.db.write() as session:  # Wang's check-in is still to be sent upstream
        wang = session.scalar(select(Patient.id).where(Patient.external_id == "wang"))
        from kiosk.store.models import Appointment

        appointment = session.scalar(select(Appointment.id).where(
            Appointment.patient_id == wang))
        session.add(OutboxItem(site_id=ctx.settings.site_id, kind="arrived",
                               appointment_id=appointment, created_at=ctx.now(),
                               state=OutboxState.PENDING, attempts=3,
                               next_attempt_at=ctx.now()))


def test_patient_data_goes_at_the_end_of_the_next_day(ctx, day, clock):
    a_day(ctx, day)
    before = day_report(ctx, DAY)
    clock.advance(days=1)  # the next day: everything is still there
    assert purge(ctx).appointments == 0
    assert "Müller" in every_cell(ctx)

    clock.advance(days=1)
    done = purge(ctx)
    assert done.kept_for_outbox == 1 and done.visits_anonymised == 4
    cells = every_cell(ctx)
    with ctx.db.engine.connect() as connection:  # a provider and a location share names
        public = str(connection.execute(text("SELECT display_name FROM provider")).all()) + \
            str(connection.execute(text("SELECT name FROM location")).all())
    left = [value for key, given, family, birth, *_ in PEOPLE
            if key not in ("wang", "tomorrow")
            for value in (given, family, birth.isoformat())
            if value in cells and value not in public]
    assert left == []
    assert "Walter" not in cells
    assert "王" in cells  # waiting to be sent upstream: kept, nothing lost
    with ctx.db.read() as session:
        visits = session.scalars(select(Visit)).all()
    assert len(visits) == 4 and all(v.patient_id is None and v.walk_in_name is None
                                    for v in visits)
    after = day_report(ctx, DAY)  # the day's figures survive the purge
    assert (after.total.checked_in, after.total.seen) == (before.total.checked_in,
                                                          before.total.seen)
    assert after.total.waits == before.total.waits


def test_a_check_in_never_written_back_keeps_its_data_a_week_longer_then_not(ctx, day,
                                                                             clock):
    from kiosk.services.retention import UNSENT_GRACE
    from kiosk.store.models import AuditEvent

    a_day(ctx, day)
    clock.advance(days=2)
    purge(ctx)
    clock.advance(days=UNSENT_GRACE.days - 1)  # the practice system is still down
    assert purge(ctx).kept_for_outbox == 1 and "王" in every_cell(ctx)
    clock.advance(days=1)
    counted = purge(ctx, dry_run=True)
    assert (counted.abandoned, counted.kept_for_outbox) == (1, 0) and "王" in every_cell(ctx)
    done = purge(ctx)
    assert (done.abandoned, done.appointments, done.kept_for_outbox) == (1, 1, 0)
    cells = every_cell(ctx)
    assert "王" not in cells and "伟" not in cells
    with ctx.db.read() as session:
        assert session.scalars(select(OutboxItem)).all() == []
        given_up = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "write_back_abandoned")).one()
    assert given_up.detail == {"appointments": 1, "grace_days": UNSENT_GRACE.days}


def test_a_dry_run_counts_and_deletes_nothing(ctx, day, clock):
    a_day(ctx, day)
    clock.advance(days=2)
    counted = purge(ctx, dry_run=True)
    assert counted.appointments > 0 and counted.patients > 0
    assert "Müller" in every_cell(ctx)
    assert purge(ctx) == counted


def test_retention_is_a_setting(ctx, day, clock):
    ctx.settings = ctx.settings.replace(retention_days=0)
    a_day(ctx, day)
    clock.advance(days=1)
    assert purge(ctx).appointments > 0


def test_audit_records_hold_no_patient_data(ctx, day):
    from kiosk.store.models import AuditEvent

    a_day(ctx, day)
    with ctx.db.read() as session:
        audit = "\n".join(f"{e.actor} {e.action} {e.detail}"
                          for e in session.scalars(select(AuditEvent)))
    assert "check" in audit or "walk_in" in audit
    for _key, given, family, birth, *_ in PEOPLE:
        assert given not in audit and family not in audit and birth.isoformat() not in audit
    assert "Walter" not in audit


def test_months_of_history_purge_in_one_go(ctx, day, clock):
    """More past visits and patients than a statement may carry parameters (65,535 on
    PostgreSQL): the purge selects by subquery, not by lists of ids."""
    from datetime import timedelta

    from sqlalchemy import insert

    from kiosk.store.models import Provider

    count = 70_000
    with ctx.db.write() as session:
        provider = session.scalars(select(Provider.id)).first()
        session.execute(insert(Visit), [
            {"site_id": ctx.settings.site_id, "service_date": DAY - timedelta(days=90),
             "provider_id": provider, "ticket_number": number, "ticket_code": f"K-{number}",
             "method": "staff", "language": "en", "queue_at": clock.now(),
             "checked_in_at": clock.now(), "status": "done", "walk_in_name": "Walk In"}
            for number in range(count)])
    assert purge(ctx, dry_run=True).visits_anonymised == count
    assert purge(ctx).visits_anonymised == count
    with ctx.db.read() as session:
        assert session.scalar(select(Visit.id).where(Visit.walk_in_name.is_not(None))) is None
