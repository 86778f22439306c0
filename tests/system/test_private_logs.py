"""A scripted practice day, then every log of it searched for every seeded patient's names and
birth date. The day runs the real commands (in this process, so ``log_dir`` gets a JSON file
per command) against a real FHIR server on loopback, a misbehaving one for the bad answers,
the kiosk screen driven with pytest-qt, and ``kiosk run`` as a separate process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.base.clock import FixedClock
from kiosk.base.logs import TextFormatter
from kiosk.base.settings import load_settings
from kiosk.domain.flow import Step
from kiosk.domain.names import name_key
from kiosk.ops.monitor import serve
from tests.support.qt import click, press_enter, press_keys, type_on_screen, wait_for
from tests.support.site import DAY, PEOPLE, at, make_ctx

pytestmark = [pytest.mark.gui, pytest.mark.slow]

PROVIDERS = {"p1": ("Amara", "Okafor"), "p2": ("Wei", "Chen"), "p3": ("Sarah", "Goldberg")}
LOCATIONS = {"main": "Main building", "annex": "Annex"}
# Staff and place names of the fixture that share a word with a patient (Dr. Okafor and the
# Okafor twins, the Annex and Anne Annex): taken out of the logs before the search.
NOT_PATIENTS = [f"Dr. {given} {family}" for given, family in PROVIDERS.values()] + \
    [f"Location/{key}" for key in LOCATIONS] + list(LOCATIONS.values())


def practice_as_fhir() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Location", "id": key, "name": name, "status": "active"}
        for key, name in LOCATIONS.items()]
    resources += [{"resourceType": "Practitioner", "id": key,
                   "name": [{"prefix": ["Dr."], "given": [given], "family": family}]}
                  for key, (given, family) in PROVIDERS.items()]
    for key, given, family, born, start, provider, location, status in PEOPLE:
        resources.append({"resourceType": "Patient", "id": key, "birthDate": born.isoformat(),
                          "name": [{"use": "official", "family": family,
                                    "given": given.split()}]})
        resources.append({
            "resourceType": "Appointment", "id": f"a-{key}", "status": status,
            "start": start.isoformat(), "end": (start + timedelta(minutes=15)).isoformat(),
            "participant": [
                {"actor": {"reference": f"Patient/{key}", "display": f"{given} {family}"},
                 "status": "accepted"},
                {"actor": {"reference": f"Practitioner/{provider}"}, "status": "accepted"},
                {"actor": {"reference": f"Location/{location}"}, "status": "accepted"}]})
    return resources


class Misbehaving(BaseHTTPRequestHandler):
    """Reads fail (500, or JSON cut short with a name in it); writes are refused with an
    OperationOutcome whose free text quotes the patient, as a validating server may."""

    mode = "500"

    def do_GET(self) -> None:
        if self.mode == "malformed":
            self._send(200, b'{"resourceType": "Bundle", "entry": [{"resource": '
                            b'{"resourceType": "Patient", "name": [{"family": "M\xc3\xbcller"')
        else:
            self._send(500, b'{"resourceType": "OperationOutcome", "issue": [{"severity": '
                            b'"fatal", "code": "exception", "diagnostics": "NullPointer in '
                            b'Patient M\xc3\xbcller 1956-03-14"}]}')

    def do_PUT(self) -> None:
        outcome = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "invariant", "expression": ["Appointment.participant"],
            "diagnostics": f"participant display '{' '.join(PEOPLE[6][1:3])}' born "
                           f"{PEOPLE[6][3].isoformat()} does not match"}]}
        self._send(422, json.dumps(outcome, ensure_ascii=False).encode())

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def upstream(fhir):
    fhir.reset()
    fhir.put_all(practice_as_fhir())
    return fhir


@pytest.fixture
def broken():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Misbehaving)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def needles() -> list[tuple[str, re.Pattern[str]]]:
    """Every way a seeded patient's data could show up: names whole and word by word, their
    search keys, and the birth date in the usual spellings."""
    found: list[tuple[str, re.Pattern[str]]] = []
    for key, given, family, born, *_ in PEOPLE:
        words = {given, family, *given.split(), *re.split(r"[-\s]", family)}
        words |= {name_key(word) for word in list(words)}
        for word in sorted(w for w in words if len(w) >= 2 or not w.isascii()):
            pattern = rf"(?<![\w]){re.escape(word)}(?![\w])" if word.isascii() \
                else re.escape(word)
            found.append((f"{key}: name {word!r}", re.compile(pattern, re.IGNORECASE)))
        for form in ("%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y%m%d"):
            found.append((f"{key}: birth date", re.compile(re.escape(born.strftime(form)))))
    return found


@pytest.mark.qt_no_exception_capture  # the kiosk's own hook must see the exception
def test_a_scripted_day_leaves_no_patient_data_in_any_log(
        tmp_path, upstream, broken, qtbot, monkeypatch, caplog, capfd):
    from ui.launcher import main

    caplog.set_level("DEBUG")
    logs_dir = tmp_path / "logs"
    config = tmp_path / "kiosk.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path}/kiosk.sqlite3"\n'
        f'timezone = "Europe/Berlin"\nfhir_base_url = "{upstream.url}"\n'
        f'fhir_timeout_seconds = 2.0\nlog_dir = "{logs_dir}"\nlog_format = "json"\n'
        'log_level = "DEBUG"\nhide_cursor = "never"\n', encoding="utf-8")
    for name in [n for n in os.environ if n.startswith("KIOSK_")]:
        monkeypatch.delenv(name)
    outputs: list[str] = []

    def kiosk(*args: str, when: str = "08:55", day: int = 0) -> int:
        hour, minute = map(int, when.split(":"))
        moment = at(hour, minute, DAY + timedelta(days=day)).isoformat()
        code = main(["--config", str(config), "--now", moment, *args])
        outputs.append(capfd.readouterr().out)
        return code

    def people(key: str) -> tuple[str, str, str]:
        _, given, family, born, *_ = next(p for p in PEOPLE if p[0] == key)
        return given, family, born.isoformat()

    # Morning: the schedule arrives; patients check in by QR and by name, some fail.
    assert kiosk("sync", "--full", when="07:30") == 0
    assert kiosk("appointments", "--date", DAY.isoformat()) == 0
    assert kiosk("qr", "make", "--appointment", "a-muller") == 0
    code = outputs[-1].strip()
    assert kiosk("checkin", "--qr", code) == 0
    assert kiosk("checkin", "--qr", code[:-3] + "Müller 1956-03-14") != 0  # garbled
    given, family, born = people("garcia")
    assert kiosk("checkin", "--family", family, "--dob", born[:-1] + "3") != 0  # wrong date
    assert kiosk("checkin", "--family", family, "--dob", born) == 0
    given, family, born = people("twin_b")
    assert kiosk("checkin", "--family", family, "--dob", born) != 0  # twins: which one?
    assert kiosk("checkin", "--family", family, "--dob", born, "--given", given) == 0
    assert kiosk("checkin", "--family", "Иванова" * 1400, "--dob", "1995-09-17") != 0
    for key in ("early", "cancelled", "tomorrow", "annex"):
        _, family, born = people(key)
        assert kiosk("checkin", "--family", family, "--dob", born) != 0
    _, family, born = people("late")
    kiosk("checkin", "--family", family, "--dob", born, when="08:40")
    assert "[see_reception / late]" in outputs[-1]
    assert kiosk("walk-in", "--provider", "p2", "--name", "Siobhán O'Neil") == 0
    assert kiosk("queue") == 0
    for action in ("call", "start", "finish"):
        assert kiosk("visit", action, "K-1", *(["--room", "3"] if action == "call" else []),
                     when="09:05") == 0
    assert kiosk("sync", when="09:06") == 0  # check-ins written back

    # The kiosk screen: typed names, a wrong date, a garbled scan, a paste, an exception.
    ctx = make_ctx(load_settings(config, environ={}), FixedClock(at(9, 10)))
    from ui.app import build_kiosk

    window = build_kiosk(ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    given, family, born = people("nguyen")
    window.flow.start_name_entry()
    window.pages[Step.FAMILY_NAME].field.insert(family * 2000)  # a 10,000-character paste
    window.pages[Step.FAMILY_NAME].field.clear()
    for digits in ("04261988", "04251988"):  # month, day, year: wrong, then right
        window.flow.reset()
        window.flow.start_name_entry()
        type_on_screen(qtbot, window, "NGUYEN")
        click(qtbot, window.pages[Step.FAMILY_NAME].next)
        page = window.pages[Step.BIRTH_DATE]
        keypad = {key.text(): key for key in page.keypad.findChildren(QPushButton)}
        for digit in digits:
            click(qtbot, keypad[digit])
        click(qtbot, page.check_in)
        wait_for(qtbot, window, Step.RESULT)
    window.flow.reset()
    press_keys(window.pages[Step.WELCOME], "HTTPS://EXAMPLE.ORG/MÜLLER-1956-03-14")
    press_enter(window.pages[Step.WELCOME])
    wait_for(qtbot, window, Step.RESULT)

    def fails_with_a_name() -> None:
        raise KeyError(f"{given} {family} {born}")
    QTimer.singleShot(0, fails_with_a_name)
    qtbot.wait(50)
    window.worker.wait()
    QApplication.instance().removeEventFilter(window.scanner)
    window.close()
    ctx.settings = ctx.settings.replace(monitor_address="127.0.0.1:0")
    monitor = serve(ctx)
    assert monitor is not None
    served = "".join(requests.get(f"http://127.0.0.1:{monitor.port}/{path}", timeout=5).text
                     for path in ("metrics", "healthz"))
    monitor.stop()
    assert 'lobby_kiosk_checkins_today{method="name_dob"}' in served

    # Noon: the practice system misbehaves; a check-in is refused with the patient quoted.
    monkeypatch.setenv("KIOSK_FHIR_BASE_URL", f"http://127.0.0.1:{broken.server_address[1]}")
    Misbehaving.mode = "500"
    assert kiosk("sync", when="12:00") != 0
    Misbehaving.mode = "malformed"
    assert kiosk("sync", "--full", when="12:02") != 0
    _, family, born = people("oneil")
    assert kiosk("checkin", "--family", family, "--dob", born, when="09:25") == 0
    # Reads answer (badly) but the server is up: the write-back is tried, refused (422) and
    # parked. (After a 500 the pass does not write back: the server is down.)
    Misbehaving.mode = "malformed"
    assert kiosk("sync", when="12:05") != 0
    monkeypatch.delenv("KIOSK_FHIR_BASE_URL")

    # Evening: reports, the health check, the purge two days later; and `kiosk run`.
    for args in (("report",), ("eta-report",), ("sync", "--status"), ("purge", "--dry-run")):
        assert kiosk(*args, when="18:00") == 0
    kiosk("doctor", when="18:00")  # some checks fail here (no camera): the table is logged
    run = subprocess.run(
        [sys.executable, "-m", "ui.launcher", "--config", str(config), "run", "--exit-after",
         "4"], env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, capture_output=True,
        text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    assert kiosk("purge", when="23:00", day=2) == 0

    # Every log: the JSON files, what the harness caught in this process, `kiosk run`'s stderr.
    files = sorted(logs_dir.glob("*.log*"))
    entries = [json.loads(line) for path in files
               for line in path.read_text(encoding="utf-8").splitlines()]
    assert {path.name for path in files} >= {"sync.log", "checkin.log", "visit.log",
                                             "walk-in.log", "run.log", "doctor.log",
                                             "purge.log", "report.log"}
    messages = "\n".join(entry["message"] + " " + entry.get("exception", "")
                         for entry in entries)
    for sign in ("QR code rejected", "name check-in not found", "checked_in",
                 "needs the given name", "schedule pull failed", "parked for reception",
                 "unexpected KeyError", "welcome screen shown", "kiosk locked down"):
        assert sign in messages, f"the day did not happen as scripted: no {sign!r}"
    haystacks = {
        **{path.name: path.read_text(encoding="utf-8") for path in files},
        "decoded JSON": messages,
        # Every record of this process, as the stderr handler writes it in text format.
        "this process's records": "\n".join(TextFormatter().format(record)
                                             for record in caplog.records),
        "stderr": capfd.readouterr().err,
        "kiosk run stderr": run.stderr,
        "served by the monitor": served,
    }
    assert not leaks_in(haystacks), "\n".join(leaks_in(haystacks)[:20])
    assert len(entries) > 50
    # The search itself finds what it looks for: each patient planted in a line of log.
    for _key, given, family, born, *_ in PEOPLE:
        for planted in (f"x {family} y", f"x {given} y", f"x {born:%d.%m.%Y} y",
                        f"x {name_key(family)} y"):
            if family not in LOCATIONS.values():  # Anne Annex: the place's name is removed
                assert leaks_in({"probe": planted}), planted


def leaks_in(haystacks: dict[str, str]) -> list[str]:
    leaks = []
    for source, text in haystacks.items():
        for staff_or_place in NOT_PATIENTS:
            text = text.replace(staff_or_place, "")
        for what, pattern in needles():
            found = pattern.search(text)
            if found:
                line = text[max(0, found.start() - 80): found.end() + 80]
                leaks.append(f"{source}: {what}: ...{line}...")
    return leaks
