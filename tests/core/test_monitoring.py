"""Monitoring: /healthz and /metrics served over real HTTP from a real database, and the log
options (JSON lines, files rotated by size, exception messages withheld)."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from kiosk.base import logs
from kiosk.base.metrics import Metrics
from kiosk.base.settings import SettingsError
from kiosk.domain.tokens import issue
from kiosk.ops.monitor import SCREEN_STALE_SECONDS, serve
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import QueueService
from kiosk.store.db import Database
from kiosk.store.models import Appointment, OutboxItem, SyncStatus
from kiosk.store.site import SiteContext
from tests.support.site import DAY, load_day, make_settings


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples}


def healthz(port: int) -> tuple[int, dict]:
    answer = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    return answer.status_code, answer.json()


def serving(ctx: SiteContext):
    """The endpoint on a free port (``monitor_address`` port 0)."""
    ctx.settings = ctx.settings.replace(monitor_address="127.0.0.1:0")
    server = serve(ctx)
    assert server is not None
    return server


@pytest.fixture
def monitored(ctx: SiteContext):
    """The day's site, on SQLite and PostgreSQL, with the endpoint."""
    server = serving(ctx)
    yield ctx, server.port
    server.stop()


def test_metrics_count_outcomes_and_read_the_site_from_the_database(monitored, clock):
    ctx, port = monitored
    people = load_day(ctx)
    service = CheckinService(ctx)
    muller = people["muller"]
    code = issue(ctx.qr_secret, ctx.settings.site_id, muller.appointment, DAY)
    clock.set(muller.start - timedelta(minutes=10))
    ticket = service.by_qr(code).ticket
    assert ticket is not None
    assert service.by_qr("not a code").outcome.value == "invalid_code"
    garcia = people["garcia"]
    assert not service.by_name(garcia.family, garcia.birth_date.replace(day=3)).succeeded
    assert service.by_name(garcia.family, garcia.birth_date).succeeded
    logging.getLogger("kiosk.test").error("an error for the count")

    clock.advance(minutes=20)  # both have now waited 20 minutes, past the 15-minute target
    seen = scrape(port)
    attempts = "lobby_kiosk_checkin_attempts_total"
    assert seen[(attempts, (("method", "qr"), ("outcome", "checked_in"), ("reason", "")))] == 1
    assert seen[(attempts, (("method", "qr"), ("outcome", "invalid_code"), ("reason", "")))] == 1
    assert seen[(attempts, (("method", "name_dob"), ("outcome", "not_found"),
                            ("reason", "")))] == 1
    assert seen[("lobby_kiosk_checkins_today", (("method", "qr"),))] == 1
    assert seen[("lobby_kiosk_checkins_today", (("method", "name_dob"),))] == 1
    assert seen[("lobby_kiosk_visits_today", (("status", "waiting"),))] == 2
    assert seen[("lobby_kiosk_waiting_past_target", ())] == 2
    assert seen[("lobby_kiosk_longest_wait_seconds", ())] == 20 * 60
    assert seen[("lobby_kiosk_log_records_total", (("level", "ERROR"),))] >= 1
    assert seen[("lobby_kiosk_database_up", ())] == 1
    assert seen[("lobby_kiosk_sync_configured", ())] == 0
    assert ("lobby_kiosk_build_info", (("kiosk", "kiosk-1"), ("site", "main"),
                                       ("version", __import__("kiosk").__version__))) in seen

    QueueService(ctx).act(ticket, "call", actor="reception")
    assert scrape(port)[("lobby_kiosk_visits_today", (("status", "called"),))] == 1
    assert scrape(port)[("lobby_kiosk_waiting_past_target", ())] == 1


def test_nothing_served_names_a_patient(monitored, clock):
    ctx, port = monitored
    people = load_day(ctx)
    for person in people.values():
        CheckinService(ctx).by_name(person.family, person.birth_date, given=person.given)
    served = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text + \
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).text
    for person in people.values():
        for value in (person.given, person.family, person.birth_date.isoformat()):
            assert value not in served


def test_healthz_fails_when_the_screen_hangs_or_the_database_is_gone(sqlite_url, clock):
    ticks = [100.0]
    metrics = Metrics(monotonic=lambda: ticks[0])
    settings = make_settings(sqlite_url, monitor_address="127.0.0.1:0")
    db = Database(settings.database_url)
    db.upgrade()
    ctx = SiteContext.open(settings, db, clock, metrics)
    server = serve(ctx)
    assert server is not None
    try:
        status, body = healthz(server.port)
        assert (status, body["status"]) == (200, "ok") and "screen" not in body["checks"]

        metrics.screen_alive()
        ticks[0] += SCREEN_STALE_SECONDS - 1
        assert healthz(server.port)[1]["checks"]["screen"]["status"] == "ok"
        ticks[0] += 2  # the event loop has not answered for longer than allowed
        status, body = healthz(server.port)
        assert (status, body["status"]) == (503, "failing")
        assert body["checks"]["screen"] == {"status": "fail",
                                            "silent_seconds": SCREEN_STALE_SECONDS + 1}
        assert scrape(server.port)[("lobby_kiosk_screen_silence_seconds", ())] == \
            SCREEN_STALE_SECONDS + 1
        metrics.screen_alive()

        # The database file's folder disappears under the running kiosk.
        db.dispose()
        ctx.db = Database("sqlite:////nonexistent-folder/kiosk.sqlite3")
        status, body = healthz(server.port)
        assert (status, body["status"]) == (503, "failing")
        assert body["checks"]["database"] == {"status": "fail"}
        assert scrape(server.port)[("lobby_kiosk_database_up", ())] == 0
    finally:
        server.stop()


def test_healthz_degrades_when_the_practice_system_is_out_of_step(ctx, clock):
    ctx.settings = ctx.settings.replace(monitor_address="127.0.0.1:0",
                                        fhir_base_url="http://127.0.0.1:9/fhir",
                                        fhir_poll_seconds=60)
    people = load_day(ctx)
    server = serve(ctx)
    assert server is not None
    try:
        status, body = healthz(server.port)  # never synced
        assert (status, body["status"]) == (200, "degraded")
        assert body["checks"]["sync"] == {"status": "warn", "lag_seconds": None,
                                          "last_pass_failed": False}
        with ctx.db.write() as session:
            session.add(SyncStatus(site_id=ctx.settings.site_id, last_success_at=ctx.now(),
                                   last_attempt_at=ctx.now()))
        clock.advance(minutes=4)
        status, body = healthz(server.port)
        assert (status, body["status"]) == (200, "ok")
        assert scrape(server.port)[("lobby_kiosk_sync_lag_seconds", ())] == 240

        clock.advance(minutes=2)  # more than three missed passes (and five minutes)
        assert healthz(server.port)[1]["checks"]["sync"]["status"] == "warn"

        # A check-in waits to be written back; refused ones need a person.
        muller = people["muller"]
        with ctx.db.write() as session:  # as if pulled from the practice system
            session.execute(update(Appointment).values(upstream_version="1"))
        clock.set(muller.start)
        assert CheckinService(ctx).by_name(muller.family, muller.birth_date).succeeded
        clock.advance(minutes=16)
        with ctx.db.write() as session:
            session.execute(update(SyncStatus).values(last_success_at=ctx.now()))
        status, body = healthz(server.port)
        assert body["checks"]["outbox"] == {"status": "warn", "pending": 1, "parked": 0,
                                            "parked_last_day": 0,
                                            "oldest_pending_seconds": 16 * 60}
        assert scrape(server.port)[("lobby_kiosk_outbox_items", (("state", "pending"),))] == 1
        with ctx.db.write() as session:  # refused by the server, as the outbox records it
            session.execute(update(OutboxItem).values(state="parked", done_at=ctx.now()))
        status, body = healthz(server.port)
        assert (status, body["checks"]["outbox"]["parked_last_day"]) == (200, 1)
        assert body["status"] == "degraded"
        clock.advance(hours=24, minutes=1)  # a day later it no longer degrades the kiosk...
        with ctx.db.write() as session:
            session.execute(update(SyncStatus).values(last_success_at=ctx.now()))
        status, body = healthz(server.port)
        assert (body["status"], body["checks"]["outbox"]["parked"]) == ("ok", 1)
        # ...but the gauge keeps counting it.
        assert scrape(server.port)[("lobby_kiosk_outbox_items", (("state", "parked"),))] == 1
    finally:
        server.stop()


def test_a_failure_that_is_not_the_database_answers_failing_and_logs_no_message(
        monitored, monkeypatch, capfd, caplog):
    _ctx, port = monitored

    def broken(_ctx, **_options):
        raise ValueError("patient Müller 1956-03-14")  # as a corrupt file's error might
    monkeypatch.setattr("kiosk.ops.monitor.read_figures", broken)
    status, body = healthz(port)
    assert (status, body["checks"]["database"]) == (503, {"status": "fail"})
    assert scrape(port)[("lobby_kiosk_database_up", ())] == 0

    def crash(_ctx):
        raise KeyError("Jürgen Müller")
    monkeypatch.setattr("kiosk.ops.monitor.health", crash)  # an error in the handler itself
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert "monitor: unexpected KeyError while answering" in caplog.text
    assert "Müller" not in capfd.readouterr().err  # not the standard library's traceback
    formatted = "\n".join(logs.TextFormatter().format(record) for record in caplog.records)
    assert "Müller" not in formatted and "reading the site's figures failed: ValueError" \
        in formatted


def test_counters_of_sync_passes_and_unexpected_errors(monitored):
    from kiosk.sync.worker import SyncWorker

    ctx, port = monitored
    before = scrape(port)
    assert before[("lobby_kiosk_sync_passes_total", (("result", "failed"),))] == 0
    assert before[("lobby_kiosk_log_records_total", (("level", "ERROR"),))] == 0
    ctx.settings = ctx.settings.replace(fhir_base_url="http://127.0.0.1:9/fhir",
                                        fhir_timeout_seconds=1.0)
    assert not SyncWorker(ctx).run_once().ok  # nothing listens there
    logging.getLogger(logs.UNEXPECTED).error("unexpected KeyError at somewhere.py:1")
    after = scrape(port)
    assert after[("lobby_kiosk_sync_passes_total", (("result", "failed"),))] == 1
    assert after[("lobby_kiosk_sync_passes_total", (("result", "ok"),))] == 0
    assert after[("lobby_kiosk_unexpected_errors_total", ())] == 1
    assert after[("lobby_kiosk_log_records_total", (("level", "ERROR"),))] == 1
    assert not [name for name, _ in after if name.endswith("_created")]


def test_a_database_that_is_down_is_not_logged_at_every_scrape(sqlite_url, clock, caplog):
    settings = make_settings(sqlite_url, monitor_address="127.0.0.1:0")
    db = Database(settings.database_url)
    db.upgrade()
    ctx = SiteContext.open(settings, db, clock)
    server = serve(ctx)
    assert server is not None
    try:
        db.dispose()
        ctx.db = Database("sqlite:////nonexistent-folder/kiosk.sqlite3")
        for _ in range(3):
            assert healthz(server.port)[0] == 503
            scrape(server.port)
        # Logged once, when it went away: not at every one of the eight reads.
        assert scrape(server.port)[("lobby_kiosk_log_records_total", (("level", "ERROR"),))] == 1
    finally:
        server.stop()


def test_a_port_in_use_is_logged_and_the_kiosk_runs_on(sqlite_ctx, caplog):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sqlite_ctx.settings = sqlite_ctx.settings.replace(monitor_address=f"127.0.0.1:{port}")
        with caplog.at_level(logging.ERROR):
            assert serve(sqlite_ctx) is None
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text


def test_the_sync_service_listens_on_the_next_port(sqlite_ctx):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sqlite_ctx.settings = sqlite_ctx.settings.replace(monitor_address=f"127.0.0.1:{port}")
    server = serve(sqlite_ctx, port_offset=1)
    assert server is not None
    try:
        assert server.port == port + 1
        assert requests.get(f"http://127.0.0.1:{port + 1}/nothing", timeout=5).status_code == 404
    finally:
        server.stop()


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1:", ":9464", "127.0.0.1:99999",
                                   "a b:1", "127.0.0.1:x", "[::1]:9464"])
def test_a_bad_monitor_address_is_refused(sqlite_url, value):
    with pytest.raises(SettingsError, match="monitor_address"):
        make_settings(sqlite_url, monitor_address=value)


# -- logs ---------------------------------------------------------------------------------------

def test_json_lines_in_a_file_per_command_and_no_exception_message(tmp_path, sqlite_url):
    settings = make_settings(sqlite_url, log_format="json", log_dir=str(tmp_path / "logs"),
                             kiosk_id="lobby-2")
    logs.configure(settings, "sync")
    logs.configure(settings, "sync")  # again: one file handler, not two
    log = logging.getLogger("kiosk.test")
    log.info("pulled %d appointments", 12)
    try:
        {"known": 1}["Jürgen Müller"]
    except KeyError:
        log.exception("lookup failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    lines = (tmp_path / "logs" / "sync.log").read_text(encoding="utf-8").splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 2
    first, second = entries
    assert first["message"] == "pulled 12 appointments"
    assert (first["level"], first["logger"], first["command"], first["kiosk"], first["site"]) \
        == ("INFO", "kiosk.test", "sync", "lobby-2", "main")
    assert first["time"].endswith("Z") and "exception" not in first
    assert second["exception"].startswith("builtins.KeyError at test_monitoring.py:")
    assert "Müller" not in lines[1] and "message withheld" in second["exception"]


def test_text_logs_withhold_the_message_too(tmp_path, sqlite_url):
    settings = make_settings(sqlite_url, log_dir=str(tmp_path))
    logs.configure(settings, "run")
    try:
        raise ValueError("family name 'García-López'")
    except ValueError:
        logging.getLogger("kiosk.test").exception("check-in failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / "run.log").read_text(encoding="utf-8")
    assert "check-in failed" in text and "builtins.ValueError at test_monitoring.py:" in text
    assert "García" not in text


def test_log_files_rotate_by_size_and_keep_the_backups_asked_for(tmp_path, sqlite_url):
    settings = make_settings(sqlite_url, log_dir=str(tmp_path), log_max_megabytes=1,
                             log_backups=2)
    logs.configure(settings, "run")
    log = logging.getLogger("kiosk.test")
    for number in range(4 * 1024):  # about 4 MB of lines
        log.info("line %05d %s", number, "x" * 1000)
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["run.log", "run.log.1", "run.log.2"]
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= 1024 * 1024
    assert "line 04095" in (tmp_path / "run.log").read_text()


def test_an_unwritable_log_folder_leaves_stderr(tmp_path, sqlite_url, restore_logging, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("")
    logs.configure(make_settings(sqlite_url, log_dir=str(blocked / "logs")), "run")
    assert "cannot write the log file" in capsys.readouterr().err


def test_uncaught_exceptions_are_logged_without_their_message(tmp_path, sqlite_url):
    import sys
    import threading

    logs.configure(make_settings(sqlite_url, log_dir=str(tmp_path)), "reception")
    try:
        raise LookupError("no patient Иванова")
    except LookupError as error:
        sys.excepthook(type(error), error, error.__traceback__)
    worker = threading.Thread(target=lambda: {}["Nguyễn"], name="worker-x")
    worker.start()
    worker.join()
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = (tmp_path / "reception.log").read_text(encoding="utf-8")
    assert "unexpected LookupError" in text and "unexpected KeyError in thread worker-x" in text
    assert "Иванова" not in text and "Nguyễn" not in text


# -- hostile clients: anyone who can reach the port --------------------------------------------
# The HTTP side is the same whatever the database: these run on SQLite only.

@pytest.fixture
def exposed(sqlite_ctx: SiteContext):
    server = serving(sqlite_ctx)
    yield sqlite_ctx, server.port
    server.stop()


def errors_logged(port: int) -> float:
    return scrape(port)[("lobby_kiosk_log_records_total", (("level", "ERROR"),))]


def test_clients_that_hang_up_or_send_garbage_are_not_the_kiosks_errors(exposed, caplog):
    _ctx, port = exposed
    caplog.set_level(logging.DEBUG)
    for _ in range(20):  # ask, then hang up hard before the answer is read
        client = socket.create_connection(("127.0.0.1", port))
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.sendall(b"GET /metrics HTTP/1.1\r\nHost: kiosk\r\n\r\n")
        client.close()
    answer = b""
    for _ in range(50):  # once the hung-up connections' threads are done (4 per address)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
            client.sendall(b"\x00\xff\xfe garbage \x1b[31m\r\n\r\n")
            answer = client.recv(1000)
        if answer:
            break
        time.sleep(0.1)
    assert b"400" in answer
    assert errors_logged(port) == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # What a client sent never reaches the log (it chooses every byte of it).
    assert not [r for r in caplog.records if "garbage" in r.getMessage()]


def test_silent_clients_are_timed_out_and_capped_and_the_endpoint_answers_again(exposed):
    import threading
    import time

    from kiosk.ops.monitor import PER_ADDRESS, REQUEST_TIMEOUT_SECONDS

    _ctx, port = exposed
    threads_before = threading.active_count()
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    try:
        time.sleep(0.5)
        assert threading.active_count() - threads_before <= PER_ADDRESS
        # The monitoring server, at another address, is answered meanwhile.
        with socket.create_connection(("127.0.0.1", port), timeout=5,
                                      source_address=("127.0.0.2", 0)) as monitor:
            monitor.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
            assert monitor.recv(100).startswith(b"HTTP/1.0 200")
        time.sleep(REQUEST_TIMEOUT_SECONDS + 1)
        assert healthz(port)[0] == 200  # the stalled ones were let go
        for client in silent:  # every silent socket was closed by the kiosk, none kept
            client.settimeout(2)
            with contextlib.suppress(ConnectionResetError):
                assert client.recv(1) == b""
    finally:
        for client in silent:
            client.close()
    assert errors_logged(port) == 0


def test_what_holds_no_patient_data_is_said_and_the_rest_withheld():
    def caught(error: BaseException) -> str:
        try:
            raise error
        except BaseException:
            import sys

            return logs.describe_exception(sys.exc_info())

    missing = caught(ModuleNotFoundError("No module named 'PySide6'", name="PySide6"))
    assert "'PySide6' is missing: pip install --upgrade lobby-kiosk" in missing
    denied = caught(PermissionError(13, "Permission denied", "/var/lib/lobby-kiosk/x.sqlite3"))
    assert "Permission denied: /var/lib/lobby-kiosk/x.sqlite3" in denied
    quoted = caught(KeyError("Müller 1956-03-14"))
    assert "Müller" not in quoted and "message withheld" in quoted
