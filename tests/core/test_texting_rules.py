"""The rules of texts to patients, found wanting by a review and fixed (each test failed
before its fix): a promise of texts is kept, a second appointment the same day can be
checked in by text, queue texts never arrive after the visit, a text dropped by the gateway
after it took it is not sent twice, nothing goes to a number no longer the patient's, and a
site that only texts can run a send pass."""
from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import select, update

from kiosk.messages.answering import TextAnswerer
from kiosk.messages.render import SMS_TEXTED_WHEN_NEXT, _tr
from kiosk.messages.sender import MessageSenderPass
from kiosk.messages.sms import KannelGateway, MaybeSent
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import QueueService
from kiosk.store.models import AppointmentStatus, MessageChannel, Patient, PatientMessage, Visit
from kiosk.store.schedule import (
    AppointmentRecord,
    PatientRecord,
    upsert_appointments,
    upsert_locations,
    upsert_patients,
    upsert_providers,
)
from tests.support.site import at, make_ctx

MULLER = "+447700900101"
PROMISE = _tr(SMS_TEXTED_WHEN_NEXT, "en")


def _texting(sqlite_ctx):
    ctx = make_ctx(sqlite_ctx.settings.replace(
        sms_gateway="kannel", sms_url="http://127.0.0.1:9/cgi-bin/sendsms",
        sms_default_country_code="44"), sqlite_ctx.clock)
    sqlite_ctx.clock.set(at(8, 50))
    with ctx.db.write() as session:
        session.execute(update(Patient).where(Patient.external_id == "muller")
                        .values(mobile=MULLER))
    return ctx


def test_an_opted_out_patient_checked_in_by_text_is_promised_no_texts(sqlite_ctx, sqlite_day):
    ctx = _texting(sqlite_ctx)
    with ctx.db.write() as session:
        session.execute(update(Patient).where(Patient.external_id == "muller")
                        .values(messages_opt_out=True))
    answer = TextAnswerer(ctx)(MULLER, "HERE")
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
        messages = session.scalars(select(PatientMessage)).all()
    assert "K-1" in answer and PROMISE not in answer
    assert not visit.text_when_next and messages == []


def test_here_after_a_kiosk_check_in_sets_up_the_texts_it_promises(sqlite_ctx, sqlite_day):
    ctx = _texting(sqlite_ctx)
    person = sqlite_day["muller"]
    CheckinService(ctx).by_name(person.family, person.birth_date, kiosk_id="k1")
    answer = TextAnswerer(ctx)(MULLER, "HERE")
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
        messages = session.scalars(select(PatientMessage)).all()
    assert PROMISE in answer
    assert visit.text_when_next and [m.kind for m in messages] == ["next"]


def test_a_second_appointment_the_same_day_is_checked_in_by_text(sqlite_ctx, sqlite_day):
    ctx = _texting(sqlite_ctx)
    site = ctx.settings.site_id
    with ctx.db.write() as session:
        locations = upsert_locations(session, site, [("main", "Main building")])
        providers = upsert_providers(session, site, [("p1", "Dr. Amara Okafor")])
        patients = upsert_patients(session, site, [PatientRecord(
            "muller", sqlite_day["muller"].given, sqlite_day["muller"].family,
            sqlite_day["muller"].birth_date)])
        session.execute(update(Patient).where(Patient.external_id == "muller")
                        .values(mobile=MULLER))
        upsert_appointments(session, site, ctx.qr_secret, [AppointmentRecord(
            "a-muller-pm", "muller", "p1", "main", at(14, 0), at(14, 15),
            AppointmentStatus.BOOKED)], patients=patients, providers=providers,
            locations=locations)
    answerer = TextAnswerer(ctx)
    first = answerer(MULLER, "HERE")          # 9:00 appointment
    queue = QueueService(ctx)
    ticket = "K-1"
    for action in ("call", "finish"):
        queue.act(ticket, action, actor="Rosa", room="3")
    ctx.clock.set(at(13, 50))
    second = answerer(MULLER, "HERE")         # for the 14:00 appointment
    with ctx.db.read() as session:
        visits = session.scalars(select(Visit)).all()
    assert "K-1" in first and "K-2" in second and len(visits) == 2


def test_queue_texts_never_go_out_after_the_visit_ended(sqlite_ctx, sqlite_day):
    ctx = _texting(sqlite_ctx)
    TextAnswerer(ctx)(MULLER, "HERE")
    QueueService(ctx).act("K-1", "call", actor="Rosa", room="3")
    QueueService(ctx).act("K-1", "finish", actor="Rosa")
    sent = []

    class Capture:
        def send(self, message):
            sent.append(message.text)

        def close(self):
            pass

    ctx.clock.set(at(20, 0))  # the gateway was down all day; back in the evening
    result = MessageSenderPass(ctx, {MessageChannel.SMS: Capture}).send_once()
    assert result.sent == 0 and sent == [] and result.withdrawn == 2


def test_a_gateway_that_takes_the_text_then_drops_the_connection_is_not_sent_it_again():
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]

    def serve():
        for _ in range(1):
            conn, _ = server.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(line for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")).split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
            received.append(body)       # Kannel has queued it ...
            conn.close()                # ... and the connection drops before the 202

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    gateway = KannelGateway(f"http://127.0.0.1:{port}", "u", "p", timeout=5)
    with pytest.raises(MaybeSent):   # parked as maybe delivered: never sent twice
        gateway.send("+447700900101", "You are next", "outbox-1")
    thread.join(2)
    server.close()
    assert received == [b"You are next"]


def test_nothing_goes_to_a_number_the_record_no_longer_has(sqlite_ctx, sqlite_day):
    from datetime import date

    from kiosk.messages.outbox import AppointmentChange, appointment_changed
    from kiosk.store.models import Appointment

    ctx = _texting(sqlite_ctx)
    ctx.clock.set(at(12, 0, date(2026, 11, 22)))  # the day before
    with ctx.db.write() as session:
        appointment_id = session.scalar(select(Appointment.id).where(
            Appointment.external_id == "a-muller"))
        added = appointment_changed(session, ctx, [AppointmentChange(appointment_id)])
    assert added >= 1
    # The practice corrects the number (it was someone else's); the sync writes it.
    with ctx.db.write() as session:
        session.execute(update(Patient).where(Patient.external_id == "muller")
                        .values(mobile="+447700900555"))
    to = []

    class Capture:
        def send(self, message):
            to.append(message.recipient)

        def close(self):
            pass

    ctx.clock.set(at(12, 5, date(2026, 11, 22)))
    MessageSenderPass(ctx, {MessageChannel.SMS: Capture}).send_once()
    assert MULLER not in to


def test_a_site_that_only_texts_runs_a_send_pass(sqlite_ctx, monkeypatch, capsys):
    from kiosk.ops.cli import main

    for key, value in {"database_url": str(sqlite_ctx.db.url), "timezone": "Europe/Berlin",
                       "sms_gateway": "kannel", "sms_url": "http://127.0.0.1:9/",
                       "sms_default_country_code": "44"}.items():
        monkeypatch.setenv(f"KIOSK_{key.upper()}", str(value))
    monkeypatch.setenv("KIOSK_CONFIG", "")
    code = main(["messages", "send"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
