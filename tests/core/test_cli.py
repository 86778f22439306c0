"""The CLI contract that others script against: commands, JSON fields and exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ops.cli import main

REPOSITORY = Path(__file__).resolve().parents[2]

NOW = "2026-11-23T08:50"


@pytest.fixture
def kiosk(db_url, capsys, monkeypatch):
    """Run `kiosk` in-process on the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("KIOSK_TIMEZONE", "Europe/Berlin")
    for name in [n for n in os.environ if n.startswith("KIOSK_") and n != "KIOSK_TIMEZONE"]:
        monkeypatch.delenv(name)

    def run(*args: str, now: str = NOW):
        code = main(["--db", db_url, "--now", now, *args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


@pytest.fixture
def demo_day(kiosk):
    code, out, _ = kiosk("demo-data", "--date", "2026-11-23", "--appointments", "40")
    assert code == 0, out
    return out


def test_demo_data_and_appointments_json(kiosk, demo_day):
    assert "51 appointments" in demo_day  # 40 plus the eleven showcase patients
    code, out, _ = kiosk("appointments", "--date", "2026-11-23", "--json")
    listing = json.loads(out)
    assert code == 0 and len(listing) == 51
    assert set(listing[0]) == {"id", "start", "provider", "status", "patient"}
    assert set(listing[0]["patient"]) == {"given", "family", "birth_date"}
    assert listing[0]["start"].endswith("+01:00")
    families = {item["patient"]["family"] for item in listing}
    assert {"Müller", "García-López", "O'Neil", "الهاشمي", "王", "Иванова", "Nguyễn",
            "Okafor", "김", "कपूर"} <= families
    # Loading the same day again adds nothing.
    assert "(0 new)" in kiosk("demo-data", "--date", "2026-11-23", "--appointments", "40")[1]


def test_checkin_json_contract_and_exit_codes(kiosk, demo_day):
    code, out, _ = kiosk("checkin", "--family", "garcia lopez", "--dob", "1984-07-02", "--json",
                         now="2026-11-23T08:10")
    result = json.loads(out)
    assert code == 0
    assert {"outcome", "ticket", "provider", "position", "wait", "reason", "message"} <= set(result)
    assert result["outcome"] == "checked_in" and result["ticket"] == "K-1"
    assert set(result["wait"]) == {"median", "upper"}
    code, out, _ = kiosk("checkin", "--family", "García-López", "--dob", "1984-07-02", "--json",
                         now="2026-11-23T08:10")
    assert (code, json.loads(out)["outcome"]) == (0, "already_checked_in")
    code, out, _ = kiosk("checkin", "--family", "okafor", "--dob", "2015-06-01", "--json")
    assert (code, json.loads(out)["outcome"]) == (1, "need_given_name")
    code, out, _ = kiosk("checkin", "--family", "nobody", "--dob", "2015-06-01", "--json")
    assert (code, json.loads(out)["outcome"]) == (1, "not_found")
    code, out, _ = kiosk("checkin", "--qr", "https://example.org", "--json")
    assert (code, json.loads(out)["outcome"]) == (1, "invalid_code")


def test_qr_make_issues_a_code_that_checks_in(kiosk, demo_day, tmp_path):
    code, out, _ = kiosk("qr", "make", "--appointment", "appt-2026-11-23-pat-wang",
                         "--png", str(tmp_path / "c.png"), "--svg", str(tmp_path / "c.svg"))
    token = out.strip()
    assert code == 0 and token.startswith("LK1")
    assert (tmp_path / "c.png").stat().st_size > 100 and (tmp_path / "c.svg").exists()
    code, out, _ = kiosk("checkin", "--qr", token, "--json", "--kiosk", "lobby-2")
    assert (code, json.loads(out)["outcome"]) == (0, "checked_in")
    code, out, _ = kiosk("queue", "--json")
    queue = json.loads(out)
    assert [row["ticket"] for row in queue] == ["K-1"]
    assert set(queue[0]) == {"ticket", "provider", "position", "status", "checked_in_at", "wait"}
    assert kiosk("qr", "make", "--appointment", "nope")[0] == 1


def test_reception_commands(kiosk, demo_day):
    assert kiosk("walk-in", "--provider", "prov-001")[1].strip() == "K-1"
    assert kiosk("visit", "call", "K-1", "--room", "3")[0] == 0
    code, _, err = kiosk("visit", "finish", "K-7")
    assert code == 1 and "K-7" in err


def test_usage_and_configuration_errors_exit_2(kiosk, tmp_path, monkeypatch, capsys):
    code, _, err = kiosk("checkin", "--family", "x", "--dob", "2026-02-30")
    assert code == 2 and "real date" in err
    assert "2026-02-30" not in err  # a date of birth is never echoed
    code, _, err = kiosk("checkin", "--family", "x")
    assert code == 2 and "--dob" in err
    monkeypatch.setenv("KIOSK_LATE_AFTER_MINUTES", "late")
    code, _, err = kiosk("config", "show")
    assert code == 2 and "late_after_minutes" in err and "whole number" in err


def as_unprivileged(command: list[str]) -> list[str]:
    """Root reads any file; without the capabilities that let it, root meets file modes as
    any user does (a kiosk's IT runs commands as root, and as the kiosk user)."""
    if os.geteuid() != 0:
        return command
    dropped = "-dac_override,-dac_read_search"
    return ["setpriv", "--bounding-set", dropped, "--inh-caps", dropped, *command]


@pytest.mark.parametrize("problem", ["unreadable", "a folder"])
def test_a_config_file_that_cannot_be_read_is_a_message_not_a_traceback(tmp_path, problem):
    config = tmp_path / "kiosk.toml"
    if problem == "a folder":
        config.mkdir()
    else:
        config.write_text('site_id = "north"\n')
        config.chmod(0)
    env = {**os.environ, "KIOSK_CONFIG": str(config)}
    for args, code in ((["queue"], 2), (["doctor"], 1)):
        done = subprocess.run(as_unprivileged([sys.executable, "-m", "ui.launcher", *args]),
                              capture_output=True, text=True, env=env, timeout=120,
                              cwd=REPOSITORY)
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        expected = "cannot be read by this user" if problem == "unreadable" else "is a folder"
        assert expected in done.stderr + done.stdout


def test_config_show_masks_secrets(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("KIOSK_QR_SECRET", "very-secret-value-1234")
    config = tmp_path / "k.toml"
    config.write_text('database_url = "postgresql://kiosk:pw@db.example/kiosk"\n')
    assert main(["--config", str(config), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "very-secret-value-1234" not in out and "pw@" not in out
    assert 'qr_secret = "********"' in out


def test_db_upgrade_and_unavailable_database(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/k.sqlite3"
    assert main(["--db", url, "db", "upgrade"]) == 0
    assert sqlite3.connect(tmp_path / "k.sqlite3").execute(
        "PRAGMA journal_mode").fetchone() == ("wal",)
    code = main(["--db", f"sqlite:///{tmp_path}/missing/dir/k.sqlite3", "queue"])
    assert code == 3
    assert "database is unavailable" in capsys.readouterr().err


def test_the_installed_entry_point_runs(tmp_path):
    from pathlib import Path

    script = Path(sys.executable).with_name("kiosk")
    assert script.exists(), "the `kiosk` entry point is installed next to the interpreter"
    done = subprocess.run(
        [str(script), "--db", f"sqlite:///{tmp_path}/k.sqlite3", "queue", "--json"],
        capture_output=True, text=True, check=False, env={**os.environ, "KIOSK_CONFIG": ""})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_demo_headless_loads_today_and_prints_patients_and_codes(tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    code = main(["--db", f"sqlite:///{tmp_path}/k.sqlite3", "--now", "2026-11-23T08:00",
                 "demo", "--headless", "--codes", str(tmp_path / "codes")])
    out = capsys.readouterr().out
    assert code == 0
    assert "Demo data for 2026-11-23" in out and "Demo data for 2026-11-24" in out
    assert "García-López" in out and "QR LK1" in out
    assert len(list((tmp_path / "codes").glob("*.png"))) == 4


def test_the_demo_gives_providers_a_history_so_waits_have_numbers(tmp_path, capsys,
                                                                  monkeypatch):
    monkeypatch.delenv("KIOSK_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path}/k.sqlite3"
    args = ["--db", url, "--now", "2026-11-23T08:05"]
    assert main([*args, "demo", "--headless", "--codes", str(tmp_path / "c")]) == 0
    assert main([*args, "demo", "--headless", "--codes", str(tmp_path / "c")]) == 0  # again
    capsys.readouterr()
    assert main([*args, "qr", "make", "--appointment", "appt-2026-11-23-pat-garcia"]) == 0
    token = capsys.readouterr().out.strip()
    assert main([*args, "checkin", "--qr", token]) == 0
    out = capsys.readouterr().out
    assert "wait about" in out and "at most" in out


def test_without_qt_the_windows_and_doctor_say_what_to_install(tmp_path):
    """As a machine where Qt is missing or cannot load: a plain message naming the module
    and the install command, never a traceback or a withheld 'unexpected' error."""
    hide_qt = ("import sys; sys.modules['PySide6'] = None; from ui.launcher import main; "
               "sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "KIOSK_CONFIG": "", "DISPLAY": ":404"}
    db = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    for args, code in ((["--db", db, "run"], 1), (["--db", db, "demo"], 1),
                       (["--db", db, "doctor"], 1)):
        done = subprocess.run([sys.executable, "-c", hide_qt, *args], capture_output=True,
                              text=True, env=env, timeout=120, cwd=REPOSITORY)
        out = done.stdout + done.stderr
        assert done.returncode == code, out
        assert "Traceback" not in out and "withheld" not in out, out
        assert "PySide6" in out and "pip install --upgrade lobby-kiosk" in out, out


def test_an_argument_that_is_not_utf8_is_a_usage_error_that_does_not_echo_it(tmp_path):
    db = f"sqlite:///{tmp_path / 'k.sqlite3'}"
    done = subprocess.run([sys.executable, "-m", "ui.launcher", "--db", db, "checkin",
                           "--family", "Muller", "--dob", "1980-01-01", "--kiosk", b"k\xff1"],
                          capture_output=True, env={**os.environ, "KIOSK_CONFIG": ""},
                          timeout=120, cwd=REPOSITORY)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == b"kiosk: --kiosk is not valid UTF-8 text"
