"""The messages outbox on real databases (SQLite and PostgreSQL): what the demo's day enqueues
(and what it does not), quiet hours in the practice's zone, the opt-out, the sender's lease,
and retention, which leaves no address or message in the database or its file."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kiosk.base.clock import FixedClock
from kiosk.messages.delivery import Outgoing, PermanentFailure, TemporaryFailure
from kiosk.messages.outbox import after_quiet_hours, set_opt_out, status
from kiosk.messages.sender import MessageSenderPass
from kiosk.ops.demo import generate_day
from kiosk.services.retention import purge
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    MessageChannel,
    MessageSender,
    PatientMessage,
)
from tests.core.test_retention import every_cell
from tests.support.site import DAY, at, make_ctx, make_settings
from tests.support.smtp import use_stand_in_content

BERLIN = ZoneInfo("Europe/Berlin")
MAIL = {"smtp_url": "smtp://127.0.0.1:1", "message_from": "desk@practice.example.org"}


@pytest.fixture(autouse=True)
def content() -> None:
    use_stand_in_content()


class Recorder:
    """A transport that keeps what it is given, or fails as told."""

    def __init__(self, fail: dict[str, Exception] | None = None) -> None:
        self.sent: list[Outgoing] = []
        self.fail = fail or {}
        self.closed = 0

    def send(self, message: Outgoing) -> None:
        if message.recipient in self.fail:
            raise self.fail[message.recipient]
        self.sent.append(message)

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def mail_ctx(db_url):
    clock = FixedClock(at(10, 0, DAY - timedelta(days=1)))
    context = make_ctx(make_settings(db_url, **MAIL), clock)
    yield context
    context.db.dispose()


def local(hour: int, minute: int = 0, day=DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def test_quiet_hours_across_midnight_and_within_a_day():
    night = "21:00-08:00"
    assert after_quiet_hours(local(20, 59), BERLIN, night) == local(20, 59)
    assert after_quiet_hours(local(21, 0), BERLIN, night) == local(8, 0, DAY + timedelta(days=1))
    assert after_quiet_hours(local(3, 0), BERLIN, night) == local(8, 0)
    assert after_quiet_hours(local(8, 0), BERLIN, night) == local(8, 0)
    assert after_quiet_hours(local(12, 30), BERLIN, "12:00-14:00") == local(14, 0)
    assert after_quiet_hours(local(3, 0), BERLIN, "") == local(3, 0)


def test_the_demo_day_enqueues_once_and_only_where_it_can_send(mail_ctx, sqlite_url, clock):
    generate_day(mail_ctx, DAY, 40)
    generate_day(mail_ctx, DAY, 40)  # loaded again: nothing twice
    with mail_ctx.db.read() as session:
        messages = session.scalars(select(PatientMessage)).all()
        starts = session.execute(select(Appointment.start, Appointment.status)).all()
    kinds = Counter(m.kind for m in messages)
    booked = [start for start, state in starts if state == AppointmentStatus.BOOKED]
    assert len(booked) < len(starts)  # the demo cancels a few: they get nothing
    assert kinds["confirmation"] == len(booked)
    # A reminder for each whose time, 24 hours before, is still ahead (10:00 the day before).
    assert kinds["reminder"] == sum(start - timedelta(hours=24) > mail_ctx.now()
                                    for start in booked) > 0
    assert all(m.recipient.endswith("@example.org") for m in messages)
    assert all(m.channel == MessageChannel.EMAIL for m in messages)
    # The confirmations are due now; the reminders 24 hours before, unless quiet hours hold them.
    for message in messages:
        if message.kind == "confirmation":
            assert message.due_at == mail_ctx.now()
        else:
            assert message.due_at == after_quiet_hours(
                message.facts and datetime.fromisoformat(message.facts["starts_at"])
                - timedelta(hours=24), BERLIN, "21:00-08:00")
    generate_day(mail_ctx, DAY - timedelta(days=1), 40)  # today: from 08:00, and it is 10:00
    with mail_ctx.db.read() as session:
        begun = session.scalars(select(PatientMessage.id).join(
            Appointment, Appointment.id == PatientMessage.appointment_id).where(
            Appointment.start <= mail_ctx.now())).all()
        today = session.scalar(select(func.count()).select_from(PatientMessage).join(
            Appointment, Appointment.id == PatientMessage.appointment_id).where(
            Appointment.start > mail_ctx.now(), Appointment.start < at(0, 0)))
    assert begun == [] and today > 0  # nothing for those already begun; the rest, yes
    no_mail = make_ctx(make_settings(sqlite_url), clock)
    try:
        generate_day(no_mail, DAY, 40)  # no smtp_url: nothing to enqueue
        with no_mail.db.read() as session:
            assert session.scalars(select(PatientMessage)).all() == []
    finally:
        no_mail.db.dispose()


def test_opt_out_withdraws_and_a_refusal_parks_while_the_rest_go(mail_ctx):
    generate_day(mail_ctx, DAY, 10)
    with mail_ctx.db.read() as session:  # three patients with a confirmation and a reminder
        quiet, refused, busy = [recipient for recipient, count in Counter(session.scalars(
            select(PatientMessage.recipient))).most_common() if count == 2][:3]
    assert set_opt_out(mail_ctx, quiet.split("@")[0], actor="test")
    assert not set_opt_out(mail_ctx, "nobody", actor="test")
    recorder = Recorder({
        refused: PermanentFailure("SMTP recipient refused: 550 <address>"),
        busy: TemporaryFailure("SMTP recipient refused for now: 452")})
    sender = MessageSenderPass(mail_ctx, {MessageChannel.EMAIL: lambda: recorder})
    result = sender.send_once()
    recipients = {m.recipient for m in recorder.sent}
    assert quiet not in recipients
    assert (result.parked, result.retrying) == (1, 1)  # their confirmations; reminders later
    assert result.sent == len(recorder.sent) == len(recipients) and recorder.closed == 1
    found = status(mail_ctx)
    assert found.counts["parked"] == 1 and "550" in found.parked[0].reason
    assert found.counts["withdrawn"] == 2  # the opted-out patient's confirmation and reminder
    # The one to retry waits for its backoff: a pass now sends nothing; later, it goes.
    assert MessageSenderPass(mail_ctx, {MessageChannel.EMAIL: lambda: recorder}
                             ).send_once().sent == 0
    recorder.fail.clear()
    mail_ctx.clock.advance(minutes=5)
    assert MessageSenderPass(mail_ctx, {MessageChannel.EMAIL: lambda: recorder}
                             ).send_once().sent == 1


def test_one_sender_per_site_and_a_dead_one_is_not_waited_for(mail_ctx):
    first = MessageSenderPass(mail_ctx, {}, holder="kiosk-1@elsewhere:1")
    first.take_lease()
    assert MessageSenderPass(mail_ctx, {}).send_once().standing_by
    with mail_ctx.db.write() as session:  # a holder on this host that no longer runs
        session.get(MessageSender, mail_ctx.settings.site_id).lease_holder = \
            "kiosk-1@" + __import__("socket").gethostname() + ":999999999"
    assert MessageSenderPass(mail_ctx, {}).send_once().standing_by is None


def test_retention_empties_messages_and_leaves_no_address_in_the_file(sqlite_url):
    clock = FixedClock(at(10, 0, DAY - timedelta(days=1)))
    ctx = make_ctx(make_settings(sqlite_url, **MAIL), clock)
    try:
        generate_day(ctx, DAY, 10)
        recorder = Recorder()
        MessageSenderPass(ctx, {MessageChannel.EMAIL: lambda: recorder}).send_once()
        assert recorder.sent
        path = Path(ctx.db.url.database or "")
        clock.set(at(10, 0, DAY + timedelta(days=2)))
        assert purge(ctx).messages > 0
        cells = every_cell(ctx)
        assert "example.org" not in cells.replace("practice.example.org", "")
        assert "LK1" not in cells  # the codes in the facts are gone too
        raw = path.read_bytes() + (path.with_name(path.name + "-wal").read_bytes()
                                   if path.with_name(path.name + "-wal").exists() else b"")
        assert b"pat-0000001@example.org" not in raw
        with ctx.db.read() as session:  # the counts remain
            left = session.scalars(select(PatientMessage)).all()
        assert left and all(m.recipient is None and m.facts is None for m in left)
        assert status(ctx).counts["sent"] == len(recorder.sent)
    finally:
        ctx.db.dispose()


def test_contacts_from_patient_telecom():
    from kiosk.sync.pull import _contacts

    assert _contacts([
        {"system": "phone", "value": "+49 30 1234567", "use": "home"},
        {"system": "phone", "value": "+44 7700 900123", "use": "mobile", "rank": 2},
        {"system": "sms", "value": "(07700) 900-456", "rank": 1},
        {"system": "email", "value": "old@example.org", "use": "old"},
        {"system": "email", "value": "not an address"},
        {"system": "email", "value": "anna@example.org"}]) == ("anna@example.org",
                                                               "07700900456")
    assert _contacts([{"system": "phone", "value": "+44 7700 900123", "use": "mobile"}]) == (
        None, "+447700900123")
    assert _contacts([{"system": "phone", "value": "call the office", "use": "mobile"},
                      {"system": "email"}, "junk"]) == (None, None)
    assert _contacts(None) == (None, None)


def test_metrics_count_messages_by_state(mail_ctx):
    from tests.core.test_monitoring import scrape, serving

    generate_day(mail_ctx, DAY, 10)
    recorder = Recorder()
    MessageSenderPass(mail_ctx, {MessageChannel.EMAIL: lambda: recorder}).send_once()
    server = serving(mail_ctx)
    try:
        seen = scrape(server.port)
    finally:
        server.stop()
    counts = status(mail_ctx).counts
    assert seen[("lobby_kiosk_patient_messages", (("state", "sent"),))] == len(recorder.sent)
    assert seen[("lobby_kiosk_patient_messages", (("state", "pending"),))] == counts["pending"]
    assert seen[("lobby_kiosk_patient_messages", (("state", "parked"),))] == 0
