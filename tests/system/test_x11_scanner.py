"""The kiosk in a real X window (Xvfb), a scanner played by xdotool typing at 8 ms a key, and
the check-in seen in the database: the whole path a lobby scanner takes, outside the test
process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kiosk.base.clock import FixedClock
from kiosk.domain import tokens
from kiosk.store.db import Database
from kiosk.store.models import Appointment, Visit
from kiosk.store.site import SiteContext
from tests.support.site import DAY, at, make_settings
from tests.support.x11 import XServer, require_tools

pytestmark = [pytest.mark.gui, pytest.mark.slow]


def wait_until(check, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_a_scanner_typing_into_the_real_window_checks_the_patient_in(tmp_path):
    require_tools(("Xvfb", "xdotool"))
    xvfb = XServer(1280, 800)
    url = f"sqlite:///{tmp_path}/kiosk.sqlite3"
    env = xvfb.env(KIOSK_TIMEZONE="Europe/Berlin", KIOSK_CONFIG="")
    kiosk = None
    try:
        script = Path(sys.executable).with_name("kiosk")
        kiosk = subprocess.Popen(
            [str(script), "--db", url, "--now", "2026-11-23T08:05", "demo", "--codes",
             str(tmp_path / "codes")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        window = subprocess.run(["xdotool", "search", "--sync", "--name", "Lobby"],
                                env=env, capture_output=True, text=True, timeout=60)
        assert window.returncode == 0, kiosk.stderr.read() if kiosk.poll() else window.stderr
        seen: dict[str, object] = {}

        def focused() -> bool:
            # Every window titled Lobby (the kiosk may map more than one while it starts): give
            # each the focus until one keeps it.
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Lobby"],
                                   env=env, capture_output=True, text=True, check=False)
            ids = found.stdout.split()
            for window_id in ids:
                subprocess.run(["xdotool", "windowfocus", window_id], env=env, timeout=20,
                               check=False, capture_output=True)
            now = subprocess.run(["xdotool", "getwindowfocus"], env=env, timeout=20,
                                 capture_output=True, text=True, check=False)
            seen.update(windows=ids, focus=now.stdout.strip())
            return now.stdout.strip() in ids
        assert wait_until(focused), f"the kiosk window never took the keyboard focus: {seen}"
        database = Database(url)
        ctx = SiteContext.open(make_settings(url), database, FixedClock(at(8, 5)))
        with database.read() as session:
            garcia = session.scalars(select(Appointment.external_id).where(
                Appointment.external_id.like("%pat-garcia"),
                Appointment.external_id.like("appt-2026-11-23-%"))).one()
        token = tokens.issue(ctx.qr_secret, "main", garcia, ctx.today())
        time.sleep(1.5)  # the window settles (the camera stack loads after the first frame)

        def scan() -> None:
            subprocess.run(["xdotool", "type", "--delay", "8", token], env=env, check=True,
                           timeout=20)
            subprocess.run(["xdotool", "key", "Return"], env=env, check=True, timeout=20)

        def checked_in() -> bool:  # today's visits (the demo also adds past ones: history)
            with database.read() as session:
                return session.scalar(select(func.count()).select_from(Visit).where(
                    Visit.service_date == DAY)) == 1
        scan()
        # On a loaded test machine xdotool's keys can arrive with gaps a scanner never has;
        # like a patient, scan once more (a second scan of a checked-in code is harmless).
        if not wait_until(checked_in, seconds=8):
            scan()
        if not wait_until(checked_in):
            kiosk.terminate()
            _, err = kiosk.communicate(timeout=20)
            pytest.fail(f"the scan did not check the patient in; kiosk said:\n{err[-3000:]}")
        with database.read() as session:
            visit = session.scalars(select(Visit).where(Visit.service_date == DAY)).one()
        assert visit.method.value == "qr" and visit.kiosk_id == "kiosk-1"
    finally:
        if kiosk is not None:
            kiosk.terminate()
            kiosk.wait(timeout=20)
        xvfb.stop()
