"""Email to patients against a real SMTP server on loopback (aiosmtpd) with TLS and sign-in:
STARTTLS and SMTPS, one connection per pass, refusals; a day synced from the real FHIR server,
its confirmations sent, the QR code decoded from a received email and checked in at the kiosk;
and a sender killed between the server's acceptance and its own record, which sends nothing
twice.

Until the message content lands, the email is written by a stand-in (tests/support/smtp.py):
what is tested here is the outbox and the delivery, not the words."""

from __future__ import annotations

import io
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from kiosk.messages.delivery import Outgoing, PermanentFailure, TemporaryFailure
from kiosk.messages.email import SmtpTransport
from kiosk.messages.outbox import set_opt_out, status
from kiosk.messages.render import AppointmentFacts, MessageKind
from kiosk.messages.sender import INTERRUPTED, MessageSenderPass
from kiosk.services.checkin import CheckinService
from kiosk.store.models import MessageState, PatientMessage
from kiosk.sync.client import FhirClient
from kiosk.sync.pull import pull
from tests.support.fhir_server import FhirServer, practice_day
from tests.support.site import DAY, at, make_settings
from tests.support.smtp import SmtpServer, stand_in_email, use_stand_in_content
from tests.support.sync import sync_ctx

REPOSITORY = Path(__file__).resolve().parents[2]
PATIENTS = 6
# aiosmtpd counts only STARTTLS as TLS; with TLS from the first byte it warns needlessly.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(autouse=True)
def content() -> None:
    use_stand_in_content()


@pytest.fixture(params=["starttls", "smtps"])
def smtp(request: pytest.FixtureRequest, tmp_path: Path):
    server = SmtpServer(tmp_path, implicit=request.param == "smtps").start()
    yield server
    server.stop()


def an_email(to: str, n: int) -> Outgoing:
    facts = AppointmentFacts(MessageKind.REMINDER, "en", "Practice", at(9), "Dr. A", "Main",
                             "LK1TEST", f"uid-{n}")
    return Outgoing(n, to, email=stand_in_email(facts, sender="desk@practice.example.org",
                                                recipient=to, message_id=f"<m{n}@x>"))


def test_email_goes_over_tls_with_sign_in_on_one_connection(smtp, sqlite_url):
    settings = make_settings(sqlite_url, **smtp.settings())
    transport = SmtpTransport(settings)
    try:
        for n in range(3):
            transport.send(an_email(f"patient{n}@example.org", n))
    finally:
        transport.close()
    assert transport.connections == 1  # one connection for the whole pass
    assert [r.recipients for r in smtp.mailbox.received] == [
        [f"patient{n}@example.org"] for n in range(3)]
    assert smtp.mailbox.received[0].email["Message-ID"] == "<m0@x>"


def test_an_untrusted_certificate_or_a_wrong_password_sends_nothing(smtp, sqlite_url):
    untrusted = make_settings(sqlite_url, **{**smtp.settings(), "smtp_ca_file": ""})
    with pytest.raises(TemporaryFailure, match="not trusted") as failure:
        SmtpTransport(untrusted).send(an_email("a@example.org", 1))
    assert failure.value.server_down
    wrong = make_settings(sqlite_url, **{**smtp.settings(), "smtp_password": "wrong"})
    with pytest.raises(TemporaryFailure, match="sign-in refused"):
        SmtpTransport(wrong).send(an_email("a@example.org", 1))
    assert smtp.mailbox.received == []


def test_refusals_for_one_recipient_are_told_apart_and_keep_no_address(tmp_path, sqlite_url):
    server = SmtpServer(tmp_path).start()
    server.mailbox.refuse = {"gone@example.org": "550 5.1.1 <gone@example.org>: no such user",
                             "full@example.org": "452 4.2.2 mailbox full"}
    transport = SmtpTransport(make_settings(sqlite_url, **server.settings()))
    try:
        with pytest.raises(PermanentFailure) as refused:
            transport.send(an_email("gone@example.org", 1))
        assert "550" in str(refused.value) and "gone@" not in str(refused.value)
        with pytest.raises(TemporaryFailure, match="452") as later:
            transport.send(an_email("full@example.org", 2))
        assert not later.value.server_down
        transport.send(an_email("fine@example.org", 3))  # the same connection goes on
    finally:
        transport.close()
        server.stop()
    assert transport.connections == 1
    assert [r.recipients for r in server.mailbox.received] == [["fine@example.org"]]


# -- the day from the FHIR server, to a patient checked in ------------------------------------

def day_with_contacts() -> list[dict]:
    resources = practice_day(DAY.isoformat(), appointments=PATIENTS, patients=PATIENTS,
                             practitioners=2)
    for resource in resources:
        if resource["resourceType"] == "Patient":
            n = resource["id"].split("-")[1]
            resource["telecom"] = [
                {"system": "phone", "value": "+49 30 1234567", "use": "home"},
                {"system": "email", "value": f"old-{n}@example.org", "use": "old"},
                {"system": "email", "value": f"patient-{n}@example.org"}]
            resource["communication"] = [
                {"language": {"coding": [{"code": "fr"}]}},
                {"language": {"coding": [{"code": "ar"}]}, "preferred": True}]
    return resources


@pytest.fixture
def synced_day(fhir: FhirServer, tmp_path: Path, clock):
    fhir.reset()
    fhir.put_all(day_with_contacts())
    server = SmtpServer(tmp_path).start()
    clock.set(at(10, 0, DAY - timedelta(days=1)))  # the day before, in office hours
    # Reminders 20 hours before: the day before at 12:00-13:15, after this sync.
    ctx = sync_ctx(f"sqlite:///{tmp_path}/kiosk.sqlite3", clock, fhir.url, reminder_hours=20,
                   **server.settings())
    yield ctx, server, fhir
    ctx.db.dispose()
    server.stop()


def decode_qr(received) -> str:
    images = [part for part in received.email.walk() if part.get_content_type() == "image/png"]
    assert images, "no QR image in the email"
    pixels = np.asarray(Image.open(io.BytesIO(images[0].get_content())).convert("L"))
    found = zxingcpp.read_barcodes(pixels)
    assert [code.format for code in found] == [zxingcpp.BarcodeFormat.QRCode]
    return found[0].text


def test_a_synced_day_gets_its_confirmations_and_a_qr_code_from_an_email_checks_in(
        synced_day, clock):
    ctx, server, _fhir = synced_day
    result = pull(ctx, FhirClient(ctx.settings))
    assert result.new == PATIENTS
    with ctx.db.read() as session:
        messages = session.scalars(select(PatientMessage)).all()
    kinds = Counter((m.kind, m.state.value, m.language) for m in messages)
    # A confirmation now and a reminder due 24 hours before, in each patient's preferred one.
    assert kinds == {("confirmation", "pending", "ar"): PATIENTS,
                     ("reminder", "pending", "ar"): PATIENTS}
    assert {m.recipient for m in messages} == {f"patient-{n}@example.org"
                                               for n in range(PATIENTS)}

    sent = MessageSenderPass(ctx).send_once()
    assert (sent.sent, sent.parked, sent.retrying) == (PATIENTS, 0, 0)
    again = MessageSenderPass(ctx).send_once()  # a second pass sends nothing twice
    assert again.sent == 0 and len(server.mailbox.received) == PATIENTS
    pull(ctx, FhirClient(ctx.settings), full=True)  # the same day seen again: nothing new
    assert MessageSenderPass(ctx).send_once().sent == 0

    mine = next(r for r in server.mailbox.received if r.recipients == ["patient-0@example.org"])
    code = decode_qr(mine)
    clock.set(at(7, 45))  # the day itself, when check-in opens for the 08:00 appointment
    checked = CheckinService(ctx).by_qr(code, kiosk_id="k1")
    assert checked.outcome.value == "checked_in" and checked.ticket


def test_moves_cancellations_reminders_quiet_hours_and_opt_out(synced_day, clock):
    ctx, server, fhir = synced_day
    client = FhirClient(ctx.settings)
    pull(ctx, client)
    set_opt_out(ctx, "pat-5", actor="test")  # reception's flag: nothing more to them
    assert MessageSenderPass(ctx).send_once().sent == PATIENTS - 1

    # Appointments: ap-0 and ap-1 at 08:00, ap-2 and ap-3 at 08:15, ap-4 and ap-5 at 08:30.
    day_after = DAY + timedelta(days=1)
    moved = fhir.read("Appointment/ap-1")
    fhir.update({**moved, "start": f"{day_after}T09:00:00+01:00",
                 "end": f"{day_after}T09:15:00+01:00"})
    fhir.update({**fhir.read("Appointment/ap-2"), "status": "cancelled"})
    clock.set(at(0, 30))  # in quiet hours (21:00-08:00); the sync's window now holds the move
    pull(ctx, client, full=True)
    with ctx.db.read() as session:
        rows = session.scalars(select(PatientMessage)).all()
    kinds = Counter((m.kind, m.state.value) for m in rows)
    assert kinds[("rescheduled", "pending")] == 1 and kinds[("cancelled", "pending")] == 1
    assert kinds[("reminder", "withdrawn")] == 3  # moved, cancelled, opted out
    late = MessageSenderPass(ctx).send_once()  # the notices go at once, quiet hours or not
    assert late.sent == 2
    notices = server.mailbox.received[-2:]
    assert sorted(r.recipients[0] for r in notices) == ["patient-1@example.org",
                                                        "patient-2@example.org"]
    new_code = decode_qr(next(r for r in notices if r.recipients == ["patient-1@example.org"]))
    with ctx.db.read() as session:  # the reminders due since noon wait for the morning
        waiting = session.scalars(select(PatientMessage.next_attempt_at).where(
            PatientMessage.kind == "reminder", PatientMessage.state == MessageState.PENDING,
            PatientMessage.due_at < clock.now())).all()
    assert len(waiting) == 3 and set(waiting) == {at(8, 0)}

    clock.set(at(8, 0))  # ap-0 begins now: its reminder is pointless; ap-3's and ap-4's go
    morning = MessageSenderPass(ctx).send_once()
    assert (morning.sent, morning.withdrawn) == (2, 1)
    clock.set(at(13, 0))  # 20 hours before the moved appointment
    assert MessageSenderPass(ctx).send_once().sent == 1
    assert server.mailbox.received[-1].recipients == ["patient-1@example.org"]
    assert all(r.recipients != ["patient-5@example.org"] for r in server.mailbox.received)
    clock.set(at(8, 55, day_after))
    assert CheckinService(ctx).by_qr(new_code, kiosk_id="k1").outcome.value == "checked_in"


# -- a sender killed between the server's acceptance and its own record ------------------------

def test_a_sender_killed_after_the_server_took_a_message_never_sends_it_again(
        synced_day, tmp_path, clock):
    ctx, server, _fhir = synced_day
    pull(ctx, FhirClient(ctx.settings))
    database = Path(ctx.db.url.database or "")
    blocker = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
    held = threading.Event()

    def hold_the_database(_received) -> None:
        # The server has the message; before it answers, the database's write lock is taken,
        # so the sender, told 250, waits to record "sent": that is when it is killed.
        if not held.is_set():
            blocker.execute("BEGIN IMMEDIATE")
            held.set()

    server.mailbox.on_data = hold_the_database
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIOSK_")}
    env.update({"KIOSK_CONFIG": "", "KIOSK_DATABASE_URL": str(ctx.db.url),
                "KIOSK_TIMEZONE": "Europe/Berlin", "PYTHONPATH": str(REPOSITORY),
                **{f"KIOSK_{key.upper()}": value for key, value in server.settings().items()}})
    script = ("import sys; from tests.support.smtp import use_stand_in_content; "
              "use_stand_in_content(); from kiosk.ops.cli import main; "
              "sys.exit(main(sys.argv[1:]))")
    when = clock.now().isoformat()
    sender = subprocess.Popen([sys.executable, "-c", script, "messages", "send", "--now", when],
                              env=env, cwd=REPOSITORY, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    try:
        assert held.wait(60), sender.communicate(timeout=5)
        # The server has answered 250: the sender has the message accepted, and waits for
        # the database's lock to record it. Killed now.
        assert server.mailbox.accepted.wait(10)
        os.kill(sender.pid, signal.SIGKILL)
        sender.wait(10)
    finally:
        if held.is_set():
            blocker.execute("ROLLBACK")
        blocker.close()
        if sender.poll() is None:
            sender.kill()
    assert sender.returncode == -signal.SIGKILL
    assert len(server.mailbox.received) == 1
    with ctx.db.read() as session:
        assert session.scalar(select(PatientMessage.state).where(
            PatientMessage.kind == "confirmation").order_by(PatientMessage.id)) == \
            MessageState.SENDING

    after = MessageSenderPass(ctx).send_once()  # the next pass, in this process
    assert after.interrupted == 1 and after.sent == PATIENTS - 1
    assert MessageSenderPass(ctx).send_once().sent == 0
    per_patient = Counter(r.recipients[0] for r in server.mailbox.received)
    assert sorted(per_patient.values()) == [1] * PATIENTS  # every one once, none twice
    found = status(ctx)
    assert found.counts["parked"] == 1 and found.parked[0].reason == INTERRUPTED


# -- the commands ---------------------------------------------------------------------------

def test_the_commands_send_once_report_preview_and_opt_out(synced_day, monkeypatch, capsys,
                                                           tmp_path):
    from kiosk.ops.cli import main

    ctx, server, _fhir = synced_day
    pull(ctx, FhirClient(ctx.settings))
    for key, value in {"database_url": str(ctx.db.url), "timezone": "Europe/Berlin",
                       **server.settings()}.items():
        monkeypatch.setenv(f"KIOSK_{key.upper()}", str(value))
    monkeypatch.setenv("KIOSK_CONFIG", "")
    when = ctx.now().isoformat()
    assert main(["messages", "opt-out", "pat-0"]) == 0
    assert main(["messages", "opt-out", "nobody"]) == 1
    assert main(["messages", "send", "--now", when]) == 0
    assert main(["messages", "send", "--now", when]) == 0  # twice in a row: nothing twice
    out = capsys.readouterr().out
    assert f"Messages: {PATIENTS - 1} sent" in out and "Messages: 0 sent" in out
    assert len(server.mailbox.received) == PATIENTS - 1
    assert main(["messages", "status", "--json"]) == 0
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["counts"]["sent"] == PATIENTS - 1 and report["counts"]["withdrawn"] == 2
    eml = tmp_path / "preview.eml"
    assert main(["messages", "preview", "--appointment", "ap-3", "--channel", "email",
                 "--output", str(eml)]) == 0
    assert decode_qr(type(server.mailbox.received[0])("", [], eml.read_bytes()))
    assert main(["messages", "preview", "--appointment", "ap-3", "--channel", "sms",
                 "--language", "zh_Hans"]) == 0
    assert main(["messages", "preview", "--appointment", "ap-3", "--language", "xx"]) == 2
    assert len(server.mailbox.received) == PATIENTS - 1  # a preview sends nothing
    # Logs name message ids, kinds and channels, never an address.
    assert "@example.org" not in capsys.readouterr().err


def test_a_server_that_is_down_leaves_every_message_waiting(synced_day):
    ctx, server, _fhir = synced_day
    pull(ctx, FhirClient(ctx.settings))
    server.stop()  # connection refused from now on
    result = MessageSenderPass(ctx).send_once()
    assert (result.sent, result.retrying, result.parked) == (0, 1, 0)  # one tried, then waits
    found = status(ctx)
    assert found.counts["pending"] == 2 * PATIENTS and found.counts["sending"] == 0
    with ctx.db.read() as session:
        tried = session.scalars(select(PatientMessage).where(PatientMessage.attempts > 0)).all()
    assert [m.reason for m in tried] == ["SMTP server unavailable: connection refused"]
    assert tried[0].next_attempt_at > ctx.now()  # after its backoff
