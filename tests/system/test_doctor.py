"""`kiosk doctor` against real parts: a SQLite file (migrated or not), the real FHIR server
on loopback, a server whose clock is wrong, a config that is not valid."""

from __future__ import annotations

import email.utils
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kiosk.base.settings import load_settings
from kiosk.ops import doctor
from kiosk.store.db import Database, upgrade
from tests.support.site import doctor_rows

REPOSITORY = Path(__file__).resolve().parents[2]


def run_doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ui.launcher", *args, "doctor"],
                          capture_output=True, text=True, cwd=REPOSITORY, check=False,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})},
                          timeout=120)


@pytest.fixture
def migrated(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'kiosk.store.db'}"
    db = Database(url)
    upgrade(db.engine)
    db.dispose()
    return url


def test_a_healthy_kiosk_with_its_fhir_server(migrated, fhir):
    done = run_doctor("--db", migrated, env={"KIOSK_FHIR_BASE_URL": fhir.url})
    table = doctor_rows(done.stdout)
    for name in ("config", "translations", "database", "outbox", "fhir", "clock", "fhir auth",
                 "disk", "scanner", "fonts", "camera", "speech"):
        assert name in table, (name, done.stdout)
    assert table["database"][0] == "ok" and table["fhir"][0] == "ok"
    assert table["fhir auth"][0] == "ok" and table["clock"][0] == "ok"
    assert table["fonts"][0] == "ok"  # fonts-noto-core and -cjk: every language has one
    failed = [name for name, (status, _) in table.items() if status == "FAIL"]
    assert done.returncode == (1 if failed else 0) and failed == [], done.stdout


def test_an_old_schema_an_unreachable_server_and_a_missing_catalog_fail(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    upgrade(db.engine, "0005")
    db.dispose()
    done = run_doctor("--db", url, env={"KIOSK_FHIR_BASE_URL": "http://127.0.0.1:9",
                                        "KIOSK_FHIR_TIMEOUT_SECONDS": "1",
                                        "KIOSK_LANGUAGES": "en,de"})
    table = doctor_rows(done.stdout)
    assert done.returncode == 1
    assert table["database"][0] == "FAIL" and "schema 0005" in table["database"][1]
    assert table["fhir"][0] == "FAIL" and "not reachable" in table["fhir"][1]
    assert table["translations"] == ("FAIL", "no compiled catalog for de")


def test_a_bad_config_is_the_first_failure(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text('target_wait_minutes = "soon"\n', encoding="utf-8")
    done = run_doctor("--config", str(config))
    assert done.returncode == 1
    assert done.stdout.startswith("config  FAIL  setting 'target_wait_minutes'")


class LateClock(BaseHTTPRequestHandler):
    """A server five minutes behind: enough to break signed sign-in assertions."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.end_headers()
        self.wfile.write(b'{"resourceType": "CapabilityStatement"}')

    def date_time_string(self, timestamp: float | None = None) -> str:  # the Date header
        return email.utils.formatdate(time.time() - 300, usegmt=True)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def late_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LateClock)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    server.shutdown()


def test_clock_skew_against_the_server_fails(late_server):
    settings = load_settings(overrides={"fhir_base_url": late_server}, environ={})
    checks = {check.name: check for check in doctor.fhir(settings)}
    assert checks["clock"].status == doctor.FAIL
    assert checks["clock"].detail.startswith("+30")


def test_logs_and_the_running_kiosks_health(tmp_path, migrated):
    from kiosk.base.clock import SystemClock
    from kiosk.ops.monitor import serve
    from kiosk.store.site import SiteContext

    blocked = tmp_path / "a-file"
    blocked.write_text("")
    settings = load_settings(environ={}, overrides={
        "database_url": migrated, "log_dir": str(blocked / "logs"),
        "monitor_address": "127.0.0.1:0"})
    assert doctor.logs(settings)[0].status == "FAIL"
    fine = settings.replace(log_dir=str(tmp_path / "logs"), log_format="json")
    assert doctor.logs(fine)[0].status == "ok" and "json files in" in doctor.logs(fine)[0].detail

    nobody = settings.replace(monitor_address="127.0.0.1:9")
    assert doctor.monitor(nobody)[0].status == "warn"  # not running: a warning, not a failure
    db = Database(migrated)
    server = serve(SiteContext(settings, db, SystemClock()))
    assert server is not None
    try:
        running = settings.replace(monitor_address=f"127.0.0.1:{server.port}")
        check, = doctor.monitor(running)
        assert (check.status, check.detail) == ("ok", f"http://127.0.0.1:{server.port}"
                                                "/healthz: ok")
    finally:
        server.stop()
        db.dispose()
    assert doctor.monitor(settings.replace(monitor_address="")) == []
