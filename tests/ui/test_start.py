"""`kiosk run` shows the welcome screen from its settings alone and opens the site after that
first frame, off the GUI thread: a database away at start is a patient's "please see
reception", a log line and another try, never a black screen or a restart loop."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from pathlib import Path

from PySide6.QtWidgets import QApplication

from kiosk.base.clock import Clock
from kiosk.base.settings import Settings
from kiosk.domain import tokens
from kiosk.domain.flow import Step
from kiosk.store.errors import DatabaseUnavailable
from kiosk.store.site import SiteContext
from tests.support.qt import press_enter, press_keys
from tests.support.site import DAY
from tests.ui.test_kiosk import visible_text

ROOT = Path(__file__).resolve().parents[2]


class FlakySite:
    """A SiteSource (ui.app) whose database is away until ``back`` is set."""

    def __init__(self, ctx: SiteContext) -> None:
        self.settings: Settings = ctx.settings
        self.clock: Clock = ctx.clock
        self.opened = ctx
        self.back = threading.Event()
        self.asked = 0

    @property
    def ctx(self) -> SiteContext:
        self.asked += 1
        if not self.back.is_set():
            raise DatabaseUnavailable("connection refused")
        return self.opened


def test_a_scan_while_the_database_is_away_at_start_says_see_reception_then_works(
        qtbot, sqlite_ctx, sqlite_day):
    from ui.app import kiosk_window

    site = FlakySite(sqlite_ctx)
    window = kiosk_window(site.settings, site.clock, lambda: site.ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    try:
        token = tokens.issue(sqlite_ctx.qr_secret, "main", "a-wang", DAY)
        press_keys(window.welcome, token)
        press_enter(window.welcome)
        qtbot.waitUntil(lambda: window.flow.step is Step.ERROR, timeout=5000)
        assert "reception" in visible_text(window.pages[Step.ERROR]).lower()
        assert site.asked == 1

        site.back.set()  # the database is back: the next scan opens the site and checks in
        window.flow.reset()
        press_keys(window.welcome, token)
        press_enter(window.welcome)
        qtbot.waitUntil(lambda: window.flow.step is Step.RESULT, timeout=5000)
        assert "Hello, 伟." in visible_text(window.pages[Step.RESULT])
    finally:
        QApplication.instance().removeEventFilter(window.scanner)
        window.worker.wait()


def test_the_site_opens_after_the_first_frame_and_again_after_an_outage(
        qtbot, sqlite_ctx, sqlite_day, caplog, monkeypatch):
    import ui.app
    from ui.app import KioskWindow, Services, SiteOpening, kiosk_window

    monkeypatch.setattr(ui.app, "OPEN_RETRY_MS", 200)
    caplog.set_level(logging.INFO)
    site = FlakySite(sqlite_ctx)
    window = kiosk_window(site.settings, site.clock, lambda: site.ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    started: list[SiteContext] = []
    services = Services()
    monkeypatch.setattr(services, "start_kiosk",
                        lambda ctx, kiosk: started.append(ctx) if kiosk is window else None)
    opening = SiteOpening(site, window, lambda ctx: services.start_kiosk(ctx, window))
    assert site.asked == 0 and len(window.pages) == 1  # nothing opened before the frame
    window.show()
    qtbot.waitUntil(lambda: site.asked >= 2, timeout=5000)  # tried, and tried again
    assert opening.opened is None and not started
    assert "the site cannot open: the database is unavailable" in caplog.text
    assert len(window.pages) == len(Step)  # every page built once the first frame was shown
    site.back.set()
    qtbot.waitUntil(lambda: opening.opened is sqlite_ctx, timeout=5000)
    assert started == [sqlite_ctx]
    assert "site open after" in caplog.text
    assert isinstance(window, KioskWindow)
    QApplication.instance().removeEventFilter(window.scanner)
    window.worker.wait()


def test_kiosk_run_shows_the_welcome_screen_before_it_opens_the_site(tmp_path):
    """The whole start path, in its own process: the log says the order."""
    url = f"sqlite:///{tmp_path}/kiosk.sqlite3"
    env = {"QT_QPA_PLATFORM": "offscreen", "KIOSK_CONFIG": "", "KIOSK_TIMEZONE": "Europe/Berlin",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
    kiosk = [sys.executable, "-m", "ui.launcher", "--db", url]
    done = subprocess.run([*kiosk, "run", "--windowed", "--exit-after", "4"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = done.stderr.find("welcome screen shown")
    opened = done.stderr.find("site open")
    assert 0 <= shown < opened, done.stderr[-2000:]
    # And with its database away (a PostgreSQL server that does not answer): the window
    # still shows, the log says why the site cannot open, and the kiosk keeps trying.
    away = "postgresql+psycopg://kiosk@127.0.0.1:9/kiosk?connect_timeout=1"
    done = subprocess.run([sys.executable, "-m", "ui.launcher", "--db", away, "run",
                           "--windowed", "--exit-after", "4"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "welcome screen shown" in done.stderr
    assert "the site cannot open: the database is unavailable" in done.stderr


def test_pages_built_after_the_first_frame_open_no_window_of_their_own(qtbot, sqlite_ctx):
    """A parentless widget made visible is a window: one (the help page's Done button) took
    the activation from the kiosk when the pages were built after it was shown."""
    from ui.app import kiosk_window

    window = kiosk_window(sqlite_ctx.settings, sqlite_ctx.clock, lambda: sqlite_ctx)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    before = set(QApplication.topLevelWidgets())
    window.build_pages()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    assert set(QApplication.topLevelWidgets()) - before == set()
    assert len(window.pages) == len(Step)
    QApplication.instance().removeEventFilter(window.scanner)


def test_a_site_that_cannot_open_for_a_reason_not_an_outage_ends_the_kiosk(
        qtbot, sqlite_ctx, monkeypatch, caplog):
    """A schema newer than the software (after a rollback), a refused permission: no retry
    would mend it, and a kiosk half alive (no heartbeat, no sync) hides it; it exits 70 for
    the service manager to restart and IT to see."""
    import ui.app
    from ui.app import SiteOpening, kiosk_window

    class Broken(FlakySite):
        @property
        def ctx(self) -> SiteContext:
            raise RuntimeError("can't locate revision")

    exits: list[int] = []
    monkeypatch.setattr(ui.app.QApplication, "exit", staticmethod(exits.append))
    site = Broken(sqlite_ctx)
    window = kiosk_window(site.settings, site.clock, lambda: site.ctx)
    qtbot.addWidget(window)
    SiteOpening(site, window, lambda ctx: None)
    window.show()
    qtbot.waitUntil(lambda: exits == [70], timeout=8000)
    assert "the site cannot open: RuntimeError; exiting for a restart" in caplog.text
    QApplication.instance().removeEventFilter(window.scanner)
    window.worker.wait()
