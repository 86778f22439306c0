"""Reception while the database is away, on real databases (no mock of the database): the
window's calls into the core run off the GUI thread, so a call waiting out its timeout leaves
the window painting and answering clicks; afterwards staff read why, in their own language,
and nothing was half-written.

* SQLite: another process holds the write lock (``BEGIN IMMEDIATE``) and the window's write
  waits out its busy timeout (short here: ``BUSY_MS``). A QTimer ticking on the GUI thread
  must keep firing at its interval meanwhile, and the status line keep repainting. Were the
  call made on the GUI thread, the click itself would take the busy timeout and the timer
  would stop for as long: the test fails then (tried).
* PostgreSQL: a private server of this test's own (not the session's shared one) is stopped
  under the signed-in window, then started again.

The staff language is Spanish: the reception catalog has ar, es and zh_Hans (no German)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QWidget
from sqlalchemy import select

from kiosk.base.clock import FixedClock
from kiosk.base.i18n import staff_translate
from kiosk.services.checkin import CheckinService
from kiosk.services.staff import add_staff
from kiosk.store.db import Database
from kiosk.store.models import AuditEvent, Visit, VisitStatus
from kiosk.store.site import SiteContext
from tests.support.pg_server import PostgresUnavailable, TempPostgres, create_database
from tests.support.site import load_day, make_settings, unavailable

PIN = "2468"
LANGUAGE = "es"
BUSY_MS = 1500  # SQLite's busy timeout here (the kiosk's default is 5 s)
TICK_MS = 20  # the GUI thread's heartbeat in these tests
LONGEST_GAP_S = 0.4  # a healthy GUI thread's worst gap between two ticks, on a slow machine
NOTHING_CHANGED = "The database cannot be reached: nothing was changed."
UNREACHABLE = "The database cannot be reached; see the log."

# Holds SQLite's write lock from another process until its stdin closes.
HOLD_WRITE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


class Chime:
    def __init__(self) -> None:
        self.played = 0

    def play(self) -> None:
        self.played += 1


class Heartbeat(QObject):
    """A QTimer on the GUI thread that notes when it fires and asks ``widget`` to repaint,
    and an event filter that notes when ``widget`` paints."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.widget = widget
        self.ticks: list[float] = []
        self.paints: list[float] = []
        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        widget.installEventFilter(self)

    def _tick(self) -> None:
        self.ticks.append(time.monotonic())
        self.widget.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.widget and event.type() == QEvent.Type.Paint:
            self.paints.append(time.monotonic())
        return False

    def start(self) -> float:
        self.timer.start()
        return time.monotonic()

    def stop(self) -> None:
        self.timer.stop()
        self.widget.removeEventFilter(self)

    def longest_gap(self, start: float, end: float) -> float:
        """The longest time in [start, end] without a tick."""
        moments = [start, *(t for t in self.ticks if start < t < end), end]
        return max(b - a for a, b in itertools.pairwise(moments))

    @staticmethod
    def within(moments: list[float], start: float, end: float) -> int:
        return sum(1 for t in moments if start <= t <= end)


@contextmanager
def write_lock_held(path: str) -> Iterator[None]:
    """Another process holds SQLite's write lock while the block runs."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITE_LOCK, path],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def open_site(url: str, clock: FixedClock, **db_options: Any) -> SiteContext:
    settings = make_settings(url, staff_language=LANGUAGE)
    db = Database(settings.database_url, **db_options)
    db.upgrade()
    ctx = SiteContext.open(settings, db, clock)
    load_day(ctx)
    add_staff(ctx, "Rosa", PIN)
    for who in ("muller", "garcia"):
        CheckinService(ctx).by_staff(f"a-{who}", actor="test")
    return ctx


def settle(qtbot: Any, window: Any) -> None:
    qtbot.waitUntil(lambda: window.settled, timeout=10_000)


def open_reception(qtbot: Any, ctx: SiteContext) -> Any:
    from ui.reception.window import ReceptionWindow

    window = ReceptionWindow(ctx, chime=Chime())
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    qtbot.waitExposed(window)
    settle(qtbot, window)
    window.sign_in_page.who.setCurrentText("Rosa")
    window.sign_in_page.pin.setText(PIN)
    window.sign_in_page.submit()
    settle(qtbot, window)
    assert window.member is not None and [row.ticket for row in window.model.rows] == \
        ["K-1", "K-2"]
    return window


def visit(ctx: SiteContext, ticket: str) -> Visit:
    with ctx.db.read() as session:
        return session.scalars(select(Visit).where(Visit.ticket_code == ticket)).one()


def audited(ctx: SiteContext, action: str) -> int:
    with ctx.db.read() as session:
        return len(session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


def counting(service: Any, method: str) -> list[tuple[Any, ...]]:
    """Notes each call of ``service.method`` (which still runs, on the real database)."""
    calls: list[tuple[Any, ...]] = []
    real = getattr(service, method)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    setattr(service, method, spy)
    return calls


def click_tab(qtbot: Any, window: Any, tab: QWidget) -> None:
    bar = window.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton,
                     pos=bar.tabRect(window.tabs.indexOf(tab)).center())


def call_back_when_reachable(qtbot: Any, window: Any, ctx: SiteContext) -> None:
    """The database back: the same click calls the patient (the window recovered)."""
    queue = window.queue_tab
    assert queue.select_ticket("K-1")
    qtbot.mouseClick(queue.buttons["call"], Qt.MouseButton.LeftButton)
    settle(qtbot, window)
    assert visit(ctx, "K-1").status == VisitStatus.CALLED
    assert visit(ctx, "K-1").room == "Room 3"
    assert "K-1" in window.status.text() and audited(ctx, "call") == 1


# -- SQLite: the write lock held by another process -------------------------------------------

@pytest.fixture
def locked_site(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[SiteContext, str]]:
    path = str(tmp_path / "kiosk.sqlite3")
    ctx = open_site(f"sqlite:///{path}", clock, busy_timeout_ms=BUSY_MS)
    yield ctx, path
    ctx.db.dispose()


def test_a_call_waiting_on_a_locked_database_leaves_the_desk_working(qtbot, locked_site):
    ctx, path = locked_site
    window = open_reception(qtbot, ctx)
    queue = window.queue_tab
    assert queue.select_ticket("K-1")
    queue.room.setText("Room 3")
    writes = counting(window.queue, "act")
    beat = Heartbeat(window.status)
    with write_lock_held(path):
        started = beat.start()
        qtbot.mouseClick(queue.buttons["call"], Qt.MouseButton.LeftButton)
        click_took = time.monotonic() - started
        # The write waits on the worker thread; the button waits for its answer, and the
        # same write asked again meanwhile does not start (a second click, or in code).
        waiting = window.ops.running("queue") and not queue.buttons["call"].isEnabled()
        qtbot.mouseClick(queue.buttons["call"], Qt.MouseButton.LeftButton)
        queue.do("call")
        # Other clicks are answered meanwhile: the tabs switch, there and back.
        click_tab(qtbot, window, window.kiosks_tab)
        assert window.tabs.currentWidget() is window.kiosks_tab
        click_tab(qtbot, window, window.queue_tab)
        assert window.tabs.currentWidget() is window.queue_tab
        switched_while_waiting = window.ops.running("queue")
        qtbot.waitUntil(lambda: not window.ops.running("queue"), timeout=BUSY_MS * 4)
        answered = time.monotonic()
    beat.stop()
    waited = answered - started
    print(f"click returned after {click_took * 1000:.0f} ms; the answer came after "
          f"{waited * 1000:.0f} ms; {beat.within(beat.ticks, started, answered)} ticks of "
          f"{TICK_MS} ms and {beat.within(beat.paints, started, answered)} paints meanwhile; "
          f"longest gap {beat.longest_gap(started, answered) * 1000:.0f} ms")
    assert click_took < 0.3 * BUSY_MS / 1000  # the click came straight back
    # The call did wait out the busy timeout, and meanwhile the GUI thread kept its timer's
    # pace and repainted.
    assert waited >= 0.8 * BUSY_MS / 1000
    assert beat.longest_gap(started, answered) < LONGEST_GAP_S
    assert beat.within(beat.ticks, started, answered) >= waited / (TICK_MS / 1000) / 3
    assert beat.within(beat.paints, started, answered) >= 10
    assert waiting and switched_while_waiting
    assert len(writes) == 1  # one write tried, not two
    # The failure said in the staff's language; the button back; nothing written.
    said = window.status.text()
    assert said == staff_translate(NOTHING_CHANGED, LANGUAGE) and said != NOTHING_CHANGED
    assert said.startswith("No se puede acceder a la base de datos")
    assert queue.buttons["call"].isEnabled()
    called = visit(ctx, "K-1")
    assert called.status == VisitStatus.WAITING
    assert called.called_at is None and called.room is None
    assert audited(ctx, "call") == 0
    settle(qtbot, window)
    call_back_when_reachable(qtbot, window, ctx)
    window.close()


def test_a_pin_checked_while_the_database_is_locked_leaves_the_sign_in_working(
        qtbot, locked_site):
    """The sign-in's slow hash and its write (the attempt is recorded) run off the GUI thread
    too: the form waits, the window does not."""
    from ui.reception.window import ReceptionWindow

    ctx, path = locked_site
    window = ReceptionWindow(ctx, chime=Chime())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    settle(qtbot, window)
    page = window.sign_in_page
    page.who.setCurrentText("Rosa")
    beat = Heartbeat(page.problem)
    with write_lock_held(path):
        started = beat.start()
        page.pin.setText(PIN)
        page.submit()
        assert time.monotonic() - started < 0.3 * BUSY_MS / 1000
        assert not page.button.isEnabled() and not page.pin.isEnabled()
        page.submit()  # a second submit meanwhile does nothing
        qtbot.waitUntil(lambda: window.ops.idle, timeout=BUSY_MS * 4)
        answered = time.monotonic()
    beat.stop()
    assert answered - started >= 0.8 * BUSY_MS / 1000
    assert beat.longest_gap(started, answered) < LONGEST_GAP_S
    assert page.problem.text() == staff_translate(UNREACHABLE, LANGUAGE)
    assert page.button.isEnabled() and window.member is None
    assert audited(ctx, "staff_signed_in") == 0
    window.close()


# -- PostgreSQL: a private server stopped, then started again --------------------------------

def pg_ctl(server: TempPostgres, *args: str) -> None:
    assert server.bindir is not None and server.dir is not None
    done = subprocess.run([*server._as, str(server.bindir / "pg_ctl"), "-D",
                           str(server.dir / "data"), "-w", *args],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def own_server() -> Iterator[TempPostgres]:
    """This test's own server: stopping it disturbs no other test."""
    try:
        server = TempPostgres().start()
    except PostgresUnavailable as why:
        unavailable(f"PostgreSQL unavailable: {why}")
    yield server
    server.stop()


@pytest.mark.postgres
def test_a_call_with_postgresql_stopped_says_so_and_writes_nothing(qtbot, own_server, clock):
    server = own_server
    ctx = open_site(create_database(server.url(), "outage"), clock)
    try:
        window = open_reception(qtbot, ctx)
        queue = window.queue_tab
        assert queue.select_ticket("K-1")
        queue.room.setText("Room 3")
        pg_ctl(server, "-m", "fast", "stop")
        beat = Heartbeat(window.status)
        started = beat.start()
        qtbot.mouseClick(queue.buttons["call"], Qt.MouseButton.LeftButton)
        assert time.monotonic() - started < 1.0
        click_tab(qtbot, window, window.report_tab)
        assert window.tabs.currentWidget() is window.report_tab
        qtbot.waitUntil(lambda: window.ops.idle, timeout=15_000)
        answered = time.monotonic()
        beat.stop()
        assert beat.longest_gap(started, answered) < LONGEST_GAP_S
        said = window.status.text()
        assert said == staff_translate(NOTHING_CHANGED, LANGUAGE) and said != NOTHING_CHANGED
        report = window.report_tab.report.toPlainText()  # a read: "see the log", in Spanish
        assert report == staff_translate(UNREACHABLE, LANGUAGE)
        assert queue.buttons["call"].isEnabled()
        click_tab(qtbot, window, window.queue_tab)
        pg_ctl(server, "-l", str(server.dir / "log"), "-o",
               f"-c listen_addresses=127.0.0.1 -c port={server.port} "
               f"-c unix_socket_directories={server.dir} -c fsync=off", "start")
        called = visit(ctx, "K-1")
        assert called.status == VisitStatus.WAITING and called.room is None
        assert audited(ctx, "call") == 0
        call_back_when_reachable(qtbot, window, ctx)
        window.close()
    finally:
        ctx.db.dispose()
