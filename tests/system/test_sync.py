"""Schedule sync against a real FHIR R4 server on loopback (tests/support/fhir_server.py), and
against a misbehaving one (a small HTTP server in this file) for the bad answers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.ops.cli import main
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    OutboxItem,
    OutboxState,
    Patient,
    SyncStatus,
    Visit,
)
from kiosk.sync.client import FhirClient
from kiosk.sync.outbox import drain
from kiosk.sync.pull import pull
from kiosk.sync.worker import LeaseHeld, SyncWorker
from tests.support.fhir_server import FhirServer, practice_day
from tests.support.site import DAY, at, start_fhir_server
from tests.support.sync import check_in, sync_ctx

APPOINTMENTS, PATIENTS, PRACTITIONERS = 30, 25, 3
REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture
def upstream(fhir: FhirServer) -> FhirServer:
    fhir.reset()
    fhir.put_all(practice_day(DAY.isoformat(), appointments=APPOINTMENTS, patients=PATIENTS,
                              practitioners=PRACTITIONERS))
    return fhir


@pytest.fixture
def ctx_up(db_url, clock, upstream):
    """A site syncing with the real server, on SQLite and on PostgreSQL."""
    context = sync_ctx(db_url, clock, upstream.url)
    yield context
    context.db.dispose()


@pytest.fixture
def lite_up(sqlite_url, clock, upstream):
    context = sync_ctx(sqlite_url, clock, upstream.url)
    yield context
    context.db.dispose()


def outbox_states(ctx) -> dict[str, int]:
    with ctx.db.read() as session:
        rows = session.execute(select(OutboxItem.state, func.count())
                               .group_by(OutboxItem.state)).all()
    return {state.value: count for state, count in rows}


def test_a_full_pull_follows_the_pages_and_fetches_people_in_batches(ctx_up):
    worker = SyncWorker(ctx_up)
    result = worker.run_once()
    assert result.ok, result.error
    assert result.pulled is not None and not result.pulled.incremental
    assert (result.pulled.appointments, result.pulled.new) == (APPOINTMENTS, APPOINTMENTS)
    assert (result.pulled.patients, result.pulled.practitioners) == (PATIENTS, PRACTITIONERS)
    requests_made = worker.client.stats.by_type
    assert requests_made["Appointment"] == 5     # 30 at 7 a page, links followed
    assert requests_made["Patient"] <= 2         # 25 ids in one batch, not 25 requests
    with ctx_up.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == APPOINTMENTS
        families = set(session.scalars(select(Patient.family_name)))
    assert {"Müller", "王", "Иванова", "هاشمی", "García-López"} <= families


def test_an_incremental_pull_brings_upstream_edits(lite_up, upstream):
    worker = SyncWorker(lite_up)
    worker.run_once()
    moved = upstream.read("Appointment/ap-3")
    upstream.update({**moved, "start": moved["start"].replace("T08:", "T11:"),
                     "end": moved["end"].replace("T08:", "T11:")})
    upstream.update({**upstream.read("Appointment/ap-4"), "status": "cancelled"})
    later = upstream.read("Appointment/ap-5")
    upstream.update({**later, "start": "2026-12-01T09:00:00+01:00",
                     "end": "2026-12-01T09:15:00+01:00"})
    before = worker.client.stats.requests
    result = worker.run_once()
    assert worker.client.stats.requests > before
    assert result.ok and result.pulled is not None and result.pulled.incremental
    # The three changed, and any others last updated in the watermark's instant (ge, at the
    # server's precision): never the whole window again.
    assert 3 <= result.pulled.appointments <= APPOINTMENTS
    with lite_up.db.read() as session:
        rows = {a.external_id: a for a in session.scalars(select(Appointment))}
    assert lite_up.local(rows["ap-3"].start).hour == 11
    assert rows["ap-4"].status == AppointmentStatus.CANCELLED
    assert lite_up.local(rows["ap-5"].start).date().isoformat() == "2026-12-01"


def test_without_last_updated_the_window_is_pulled_again(sqlite_url, clock):
    server = start_fhir_server(last_updated=False)
    try:
        server.put_all(practice_day(DAY.isoformat(), appointments=10, patients=10,
                                    practitioners=2))
        ctx = sync_ctx(sqlite_url, clock, server.url)
        worker = SyncWorker(ctx)
        worker.run_once()
        server.update({**server.read("Appointment/ap-2"), "status": "cancelled"})
        result = worker.run_once()
        assert result.pulled is not None and not result.pulled.incremental
        assert result.pulled.appointments == 10
        with ctx.db.read() as session:
            status = session.scalar(select(Appointment.status).where(
                Appointment.external_id == "ap-2"))
        assert status == AppointmentStatus.CANCELLED
    finally:
        server.stop()


def test_a_check_in_is_written_back_once(ctx_up, upstream):
    worker = SyncWorker(ctx_up)
    worker.run_once()
    check_in(ctx_up, "ap-1")
    assert outbox_states(ctx_up) == {"pending": 1}
    result = worker.run_once()
    assert result.pushed.sent == 1
    assert upstream.read("Appointment/ap-1")["status"] == "arrived"
    assert worker.run_once().pushed.sent == 0
    assert outbox_states(ctx_up) == {"sent": 1}
    assert upstream.arrived_writes() == {"ap-1": 1}


def test_an_edit_made_upstream_meanwhile_is_kept_and_the_check_in_reapplied(lite_up, upstream):
    worker = SyncWorker(lite_up)
    worker.run_once()
    edited = upstream.update({**upstream.read("Appointment/ap-2"), "comment": "bring x-rays"})
    check_in(lite_up, "ap-2")
    result = drain(lite_up, worker.client)  # the kiosk's copy is older: 412, re-read, again
    assert result.sent == 1
    now = upstream.read("Appointment/ap-2")
    assert (now["status"], now["comment"]) == ("arrived", "bring x-rays")
    assert now["meta"]["versionId"] != edited["meta"]["versionId"]
    assert worker.client.stats.by_type["Appointment"] >= 7  # pages + PUT + GET + PUT


def test_a_cancellation_upstream_is_never_overwritten_and_reception_is_told(lite_up, upstream):
    worker = SyncWorker(lite_up)
    worker.run_once()
    upstream.update({**upstream.read("Appointment/ap-6"), "status": "cancelled"})
    check_in(lite_up, "ap-6")       # here, before the kiosk heard of it
    check_in(lite_up, "ap-7")
    upstream.update({**upstream.read("Appointment/ap-7"), "status": "cancelled"})
    result = worker.run_once()
    assert upstream.read("Appointment/ap-6")["status"] == "cancelled"
    assert upstream.read("Appointment/ap-7")["status"] == "cancelled"
    assert result.pushed.sent == 0
    with lite_up.db.read() as session:
        visits = session.scalars(select(Visit).join(Appointment, Visit.appointment_id
                                                    == Appointment.id)).all()
    assert len(visits) == 2 and all(v.cancelled_upstream for v in visits)  # still queued


def test_the_server_killed_mid_push_every_check_in_arrives_exactly_once(sqlite_url, clock,
                                                                          upstream):
    clock.set(at(9, 30))
    ctx = sync_ctx(sqlite_url, clock, upstream.url)
    worker = SyncWorker(ctx)
    worker.run_once()
    for n in range(APPOINTMENTS):
        check_in(ctx, f"ap-{n}")
    upstream.update({**upstream.read("Appointment/ap-29"), "comment": "edited upstream"})
    pushing = threading.Thread(target=drain, args=(ctx, worker.client))
    pushing.start()
    deadline = time.monotonic() + 30
    while len(upstream.arrived_writes()) < 8 and time.monotonic() < deadline:
        time.sleep(0.005)
    upstream.kill()                       # mid-push: some requests in flight
    pushing.join(timeout=60)
    states = outbox_states(ctx)
    assert 0 < states.get("sent", 0) < APPOINTMENTS and states.get("pending", 0) > 0
    upstream.start()                      # back, with its data (and new version ids)
    clock.advance(minutes=10)             # past the backoff
    for _ in range(3):
        drain(ctx, worker.client)
        clock.advance(minutes=10)
    assert outbox_states(ctx) == {"sent": APPOINTMENTS}
    writes = upstream.arrived_writes()
    assert writes == {f"ap-{n}": 1 for n in range(APPOINTMENTS)}
    assert upstream.read("Appointment/ap-29")["comment"] == "edited upstream"


def test_the_server_killed_mid_sync_leaves_the_stored_schedule_as_it_was(lite_up, upstream):
    worker = SyncWorker(lite_up)
    worker.run_once(full=True)
    upstream.update({**upstream.read("Appointment/ap-8"), "status": "cancelled"})
    upstream.kill()
    result = worker.run_once(full=True)
    assert result.error is not None and "cannot connect" in result.error
    with lite_up.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Appointment)) == APPOINTMENTS
        assert session.scalar(select(Appointment.status).where(
            Appointment.external_id == "ap-8")) == AppointmentStatus.BOOKED
    upstream.start()
    assert worker.run_once(full=True).ok
    with lite_up.db.read() as session:
        assert session.scalar(select(Appointment.status).where(
            Appointment.external_id == "ap-8")) == AppointmentStatus.CANCELLED


def test_one_sync_worker_per_site(ctx_up, clock):
    first, second = SyncWorker(ctx_up, holder="a"), SyncWorker(ctx_up, holder="b")
    first.take_lease()
    with pytest.raises(LeaseHeld):
        second.take_lease()
    first.take_lease()  # renewing is fine
    clock.advance(seconds=first.lease_seconds + 1)  # a worker that died: its lease runs out
    second.take_lease()
    with pytest.raises(LeaseHeld):
        first.take_lease()


def test_sync_command_and_status(lite_up, capsys, monkeypatch):
    monkeypatch.setenv("KIOSK_FHIR_BASE_URL", lite_up.settings.fhir_base_url)
    monkeypatch.setenv("KIOSK_TIMEZONE", "Europe/Berlin")
    url = lite_up.settings.database_url
    assert main(["--db", url, "--now", "2026-11-23T08:50", "sync"]) == 0
    assert "Pulled (full window): 30 appointments (30 new)" in capsys.readouterr().out
    assert main(["--db", url, "--now", "2026-11-23T08:51", "sync", "--status"]) == 0
    out = capsys.readouterr().out
    assert "last success:       2026-11-23 08:50" in out
    assert "check-ins to send:  0" in out


def kiosk_process(url: str, *args: str, when: str = "08:50") -> list[str]:
    return [sys.executable, "-m", "ui.launcher", "--db", url, "--now", f"{DAY}T{when}", *args]


def kiosk_env(fhir_url: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIOSK_")}
    return {**env, "KIOSK_CONFIG": "", "KIOSK_FHIR_BASE_URL": fhir_url,
            "KIOSK_TIMEZONE": "Europe/Berlin", "KIOSK_FHIR_TIMEOUT_SECONDS": "2"}


def test_one_shot_syncs_back_to_back_each_give_the_lease_back(lite_up, tmp_path):
    """`kiosk sync` twice in a row (by hand, from cron, after a failed pass): the second runs
    at once, not refused by its own finished predecessor for the length of a lease."""
    url, fhir_url = lite_up.settings.database_url, lite_up.settings.fhir_base_url
    env = kiosk_env(fhir_url)
    for when in ("08:50", "08:50", "08:51"):
        done = subprocess.run(kiosk_process(url, "sync", when=when), env=env,
                              capture_output=True, text=True, timeout=120, cwd=REPOSITORY)
        assert done.returncode == 0, done.stderr
    # A pass that fails (the server cut) gives its lease back too.
    down = kiosk_env("http://127.0.0.1:9/fhir")
    failed = subprocess.run(kiosk_process(url, "sync"), env=down, capture_output=True,
                            text=True, timeout=120, cwd=REPOSITORY)
    assert failed.returncode == 3, failed.stderr
    again = subprocess.run(kiosk_process(url, "sync"), env=env, capture_output=True,
                           text=True, timeout=120, cwd=REPOSITORY)
    assert again.returncode == 0, again.stderr


def test_a_killed_watching_worker_does_not_hold_up_its_successor_on_the_same_host(lite_up):
    url, fhir_url = lite_up.settings.database_url, lite_up.settings.fhir_base_url
    env = kiosk_env(fhir_url)  # no monitor_address: no endpoint to collide with
    watcher = subprocess.Popen(kiosk_process(url, "sync", "--watch"), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               cwd=REPOSITORY)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with lite_up.db.read() as session:
                holder = session.scalar(select(SyncStatus.lease_holder))
            if holder and holder.endswith(f":{watcher.pid}"):
                break
            time.sleep(0.2)
        else:
            pytest.fail("the watching worker never took the lease")
    finally:
        watcher.kill()
        watcher.wait()
    successor = subprocess.run(kiosk_process(url, "sync"), env=env,
                               capture_output=True, text=True, timeout=120, cwd=REPOSITORY)
    assert successor.returncode == 0, successor.stderr
    with lite_up.db.read() as session:
        assert session.scalar(select(SyncStatus.lease_holder)) is None


# -- a misbehaving server --------------------------------------------------------------------

class Misbehaving(BaseHTTPRequestHandler):
    """Answers from ``server.routes``: "[METHOD ]path prefix" -> (status, content type, body,
    delay, headers)."""

    def _answer(self) -> None:
        self.server.seen.append((self.command, self.path, dict(self.headers)))  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        for prefix, (status, kind, body, delay, headers) in self.server.routes.items():  # type: ignore[attr-defined]
            method, _, path = prefix.rpartition(" ")
            if self.path.split("?")[0].startswith(path) and method in ("", self.command):
                time.sleep(delay)
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                return
        self.send_response(404)
        self.end_headers()

    do_GET = do_PUT = do_POST = do_PATCH = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def bad_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    server.routes = {}
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


FHIR = "application/fhir+json"


def bundle(*resources):
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r} for r in resources]}


def good_people():
    day = practice_day(DAY.isoformat(), appointments=3, patients=3, practitioners=1)
    by_type: dict[str, list] = {}
    for resource in day:
        by_type.setdefault(resource["resourceType"], []).append(resource)
    return by_type


def test_bad_answers_get_a_log_line_and_damage_nothing(sqlite_url, clock, bad_server, caplog):
    people = good_people()
    ok_appointment, *_ = people["Appointment"]
    no_start = {**people["Appointment"][1]}
    del no_start["start"]
    odd_status = {**people["Appointment"][2], "status": "maybe-later"}
    base = f"http://127.0.0.1:{bad_server.server_address[1]}"
    bad_server.routes = {
        "/metadata": (200, FHIR, {"resourceType": "CapabilityStatement", "rest": []}, 0, {}),
        "/Appointment": (200, FHIR, bundle(ok_appointment, no_start, odd_status), 0, {}),
        "/Patient": (200, FHIR, bundle(*people["Patient"]), 0, {}),
        "/Practitioner": (200, FHIR, bundle(*people["Practitioner"]), 0, {}),
        "/Location": (200, FHIR, people["Location"][0], 0, {}),
    }
    ctx = sync_ctx(sqlite_url, clock, base, fhir_timeout_seconds=0.5)
    client = FhirClient(ctx.settings)
    caplog.set_level(logging.INFO)
    result = pull(ctx, client)
    assert (result.appointments, result.skipped) == (1, 2)
    assert "Appointment ap-1 skipped: no start" in caplog.text
    assert "Appointment ap-2 skipped: unknown status" in caplog.text

    def stored():
        with ctx.db.read() as session:
            return session.execute(select(Appointment.external_id, Appointment.status,
                                          Appointment.start)).all()
    before = stored()
    failures = {
        "HTML error page": ((502, "text/html", "<html><body>Bad gateway</body></html>", 0, {}),
                            "HTTP 502"),
        "malformed JSON": ((200, FHIR, '{"resourceType": "Bundle", "entry": [', 0, {}),
                           "not FHIR JSON"),
        "a hang": ((200, FHIR, bundle(), 1.5, {}), "no answer within 0.5 s"),
    }
    for name, (route, expected) in failures.items():
        bad_server.routes["/Appointment"] = route
        worker = SyncWorker(ctx, client)
        outcome = worker.run_once()
        assert outcome.error is not None and expected in outcome.error, name
        assert stored() == before, name
    bad_server.routes["/Appointment"] = (200, FHIR, {"resourceType": "Bundle",
                                                     "type": "searchset"}, 0, {})
    empty = pull(ctx, client)  # a Bundle without entry: nothing new, nothing lost
    assert empty.appointments == 0 and stored() == before
    for patient in people["Patient"]:
        for part in (patient["name"][0]["family"], patient["birthDate"]):
            assert part not in caplog.text


def test_write_back_failures_retry_with_backoff_or_park(sqlite_url, clock, bad_server, caplog):
    people = good_people()
    base = f"http://127.0.0.1:{bad_server.server_address[1]}"
    bad_server.routes = {
        "/metadata": (200, FHIR, {"resourceType": "CapabilityStatement", "rest": []}, 0, {}),
        "PUT /Appointment": (503, "text/html", "<h1>down for maintenance</h1>", 0, {}),
        "/Appointment": (200, FHIR, bundle(*people["Appointment"]), 0, {}),
        "/Patient": (200, FHIR, bundle(*people["Patient"]), 0, {}),
        "/Practitioner": (200, FHIR, bundle(*people["Practitioner"]), 0, {}),
        "/Location": (200, FHIR, people["Location"][0], 0, {}),
    }
    ctx = sync_ctx(sqlite_url, clock, base)
    client = FhirClient(ctx.settings)
    # The misbehaving server gives no versions: give the pulled copies one.
    for appointment in people["Appointment"]:
        appointment["meta"] = {"versionId": "1", "lastUpdated": "2026-11-23T07:00:00Z"}
    pull(ctx, client)
    check_in(ctx, "ap-0")
    result = drain(ctx, client)
    assert (result.sent, result.retrying) == (0, 1) and "HTTP 503" in result.unavailable
    with ctx.db.read() as session:
        item = session.scalars(select(OutboxItem)).one()
    assert item.state == OutboxState.PENDING and item.attempts == 1
    assert timedelta(seconds=1) <= item.next_attempt_at - ctx.now() <= timedelta(seconds=3)
    assert drain(ctx, client).retrying == 0  # not due yet: nothing sent

    # A pass whose pull finds the server down does not also try the write-back.
    reads = bad_server.routes["/Appointment"]
    bad_server.routes["/Appointment"] = (503, "text/html", "<h1>down</h1>", 0, {})
    clock.advance(seconds=5)
    bad_server.seen.clear()
    assert not SyncWorker(ctx, client).run_once().ok
    assert [method for method, *_ in bad_server.seen if method == "PUT"] == []
    bad_server.routes["/Appointment"] = reads

    bad_server.routes["PUT /Appointment"] = (429, FHIR, {}, 0, {"Retry-After": "120"})
    clock.advance(seconds=5)
    drain(ctx, client)
    with ctx.db.read() as session:
        item = session.scalars(select(OutboxItem)).one()
    assert item.next_attempt_at - ctx.now() >= timedelta(seconds=120)

    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "business-rule", "expression": ["Appointment.status"],
         "diagnostics": "Jürgen Müller's slot is locked"}]}
    bad_server.routes["PUT /Appointment"] = (422, FHIR, outcome, 0, {})
    clock.advance(minutes=3)
    caplog.set_level(logging.INFO)
    assert drain(ctx, client).parked == 1
    with ctx.db.read() as session:
        item = session.scalars(select(OutboxItem)).one()
    assert item.state == OutboxState.PARKED
    # Severity, code and path; not the server's free text, which may quote a patient.
    assert item.last_error == "HTTP 422: error/business-rule at Appointment.status"
    assert "Müller" not in caplog.text
    assert "parked for reception and IT" in caplog.text


def test_a_bearer_token_is_sent_and_never_logged(sqlite_url, clock, bad_server, tmp_path,
                                                 caplog):
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token-value\n")
    base = f"http://127.0.0.1:{bad_server.server_address[1]}"
    bad_server.routes = {"/": (401, FHIR, {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "login"}]}, 0, {})}
    ctx = sync_ctx(sqlite_url, clock, base, fhir_auth="bearer", fhir_token_file=str(token_file))
    caplog.set_level(logging.DEBUG)
    result = SyncWorker(ctx).run_once()
    assert result.error is not None and "HTTP 401" in result.error
    assert bad_server.seen[0][2]["Authorization"] == "Bearer s3cret-token-value"
    assert "s3cret" not in caplog.text


def test_the_kiosk_process_syncs_in_the_background(lite_up, upstream):
    from ui.app import start_background_sync

    lite_up.settings = lite_up.settings.replace(fhir_poll_seconds=1)
    stop = start_background_sync(lite_up)
    try:
        deadline = time.monotonic() + 20
        count = 0
        while time.monotonic() < deadline and count < APPOINTMENTS:
            with lite_up.db.read() as session:
                count = session.scalar(select(func.count()).select_from(Appointment))
            time.sleep(0.05)
        assert count == APPOINTMENTS
        check_in(lite_up, "ap-0")
        while time.monotonic() < deadline + 10 and upstream.arrived_writes() != {"ap-0": 1}:
            time.sleep(0.1)
        assert upstream.arrived_writes() == {"ap-0": 1}  # written back by the next pass
    finally:
        stop()
    # Stopped: the lease is given back for a service to take.
    SyncWorker(lite_up, holder="service").take_lease()
