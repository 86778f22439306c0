"""Patient kiosk window, offscreen: start-up, scan-to-confirmation latency, memory over cycles.

Three figures, on a SQLite file seeded with ``kiosk.ops.demo.generate_day`` (by default 5,000
appointments and 20,000 patients, Europe/Berlin):

1. Start to first frame with everything loaded first (``kiosk run`` shows its first frame
   before the database and the engine: ``bench/footprint.py`` measures that, as a ratio to a
   bare window). ``--starts`` fresh interpreters each import this module (the kiosk's
   own imports: PySide6, ``ui.app``, the engine), open the database (settings, migration
   check), build the window with ``ui.app.build_kiosk``, show it at 1280x800 and exit at once
   when the welcome page receives its first Paint event. The figure is the wall time the
   parent measures around the whole process; the child's own split (imports, database,
   build, show to paint) is printed next to it. Target: median <= 1.0 s.
2. Scan to confirmation. A scan is a burst of key events (one per character of a signed QR
   token, then Return) sent through the application-wide scanner filter, as a keyboard-wedge
   scanner types; the check-in runs on the worker thread. The latency runs from just before
   the Return key is sent to the end of the paint pass in which the result page receives its
   first Paint event with the flow at ``Step.RESULT``. Waiting is a ``QEventLoop``, as in the
   running kiosk. Each scan is on a fresh booked appointment at "main", in the day's order,
   with the clock five minutes before it (so every outcome should be ``checked_in``).
   Target: p95 <= 150 ms, over every cycle.
3. Memory. The same ``--cycles`` cycles (scan, confirmation painted, ``flow.done()``, welcome
   painted): resident memory (VmRSS, so Linux only) after a warm-up of 50 cycles and at the
   end, each after ``gc.collect()``. Target: growth <= 20 MB.

This prints figures; it does not pass or fail. Run from the repository root:

    .venv/bin/python bench/ui.py [--appointments N] [--cycles N] [--starts N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before PySide6 is imported
# The repository root first: tests/ is a package there, and this file's own name is "ui".
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import PySide6
from PySide6.QtCore import (
    QEvent,
    QEventLoop,
    QObject,
    Qt,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from sqlalchemy import select

from kiosk.base.clock import FixedClock, local_day_bounds
from kiosk.base.settings import load_settings
from kiosk.domain import tokens
from kiosk.domain.flow import Step
from kiosk.domain.results import Outcome
from kiosk.store.db import Database
from kiosk.store.models import Appointment, AppointmentStatus, Location
from kiosk.store.site import SiteContext
from ui.app import CAMERA_AFTER_MS, application, build_kiosk
from ui.kiosk.window import KioskWindow

ROOT = Path(__file__).resolve().parent.parent
TIMEZONE = "Europe/Berlin"
MORNING = datetime(2026, 3, 2, 7, 0, tzinfo=ZoneInfo(TIMEZONE))  # a Monday, far from DST
DAY = MORNING.date()
ARRIVE_EARLY = timedelta(minutes=5)
PATIENTS = 20_000
WARMUP = 50
WAIT_MS = 10_000
START_TARGET_S, SCAN_P95_TARGET_MS, RSS_GROWTH_TARGET_MB = 1.0, 150.0, 20.0
SETTLED = frozenset(Step) - {Step.WELCOME, Step.WORKING}  # where a scan can end up

# The child: the clock starts before this module (and so PySide6 and the kiosk) is imported.
CHILD = ("import sys, time; began = time.perf_counter(); sys.path.insert(0, sys.argv[1]); "
         "from bench.ui import first_frame; first_frame(sys.argv[2], began)")


class PaintWatch(QObject):
    """Runs an event loop until a page is painted while the flow is on that page's step."""

    def __init__(self, window: KioskWindow) -> None:
        super().__init__(window)
        self.window = window
        self.loop = QEventLoop(self)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.loop.quit)
        self.wanted: frozenset[Step] = frozenset()
        self.seen: Step | None = None
        window.build_pages()  # as `kiosk run` does after its first frame
        for page in window.pages.values():
            page.installEventFilter(self)

    def expect(self, steps: frozenset[Step]) -> None:
        """Call before the action, so a paint cannot be missed."""
        self.wanted, self.seen = steps, None

    def wait(self) -> Step | None:
        """The step whose page was painted, or None after ``WAIT_MS``."""
        if self.seen is None:
            self.timer.start(WAIT_MS)
            self.loop.exec()  # returns once the whole paint pass is done
            self.timer.stop()
        self.wanted = frozenset()
        return self.seen

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        step = self.window.flow.step
        if (event.type() == QEvent.Type.Paint and self.seen is None and step in self.wanted
                and watched is self.window.pages[step]):
            self.seen = step
            self.loop.quit()
        return False


def open_site(url: str, clock: FixedClock) -> SiteContext:
    """As the kiosk starts: settings, database (migrated if needed), site context."""
    settings = load_settings(environ={}, overrides={"database_url": url, "timezone": TIMEZONE})
    db = Database(url)
    db.upgrade()
    return SiteContext.open(settings, db, clock)


def show(ctx: SiteContext) -> tuple[QApplication, KioskWindow, PaintWatch]:
    app = application()
    window = build_kiosk(ctx)
    watch = PaintWatch(window)
    watch.expect(frozenset({Step.WELCOME}))
    window.resize(1280, 800)
    window.show()
    return app, window, watch


def first_frame(url: str, began: float) -> None:
    """Child process: open the kiosk, exit as soon as the welcome page is painted."""
    imported = time.perf_counter()
    ctx = open_site(url, FixedClock(MORNING))
    opened = time.perf_counter()
    _app, _window, watch = show(ctx)
    built = time.perf_counter()
    if watch.wait() is not Step.WELCOME:
        print("the welcome page was never painted", file=sys.stderr, flush=True)
        os._exit(1)
    painted = time.perf_counter()
    print(json.dumps({"imports": imported - began, "database": opened - imported,
                      "build": built - opened, "paint": painted - built,
                      "total": painted - began}), flush=True)
    os._exit(0)  # right after the first frame: no teardown in the figure


def measure_starts(url: str, runs: int) -> None:
    command = [sys.executable, "-c", CHILD, str(ROOT), url]
    walls: list[float] = []
    parts: dict[str, list[float]] = {}
    for _ in range(runs):
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - began)
        if done.returncode != 0:
            raise SystemExit(f"start-up run failed ({done.returncode}):\n{done.stderr}")
        for name, value in json.loads(done.stdout.splitlines()[-1]).items():
            parts.setdefault(name, []).append(value)
    median = statistics.median(walls)
    print(f"\n1. start to first frame with everything loaded first (the database, the "
          f"engine, every page: the demo's and the tests' path; `kiosk run` shows its first "
          f"frame before them, measured against a bare window by bench/footprint.py), "
          f"fresh interpreter, {runs} runs")
    print(f"   wall: median {median:.3f} s, min {min(walls):.3f}, max {max(walls):.3f}  "
          f"(median <= {START_TARGET_S:.1f} s: {_verdict(median <= START_TARGET_S)})")
    print("   runs: " + " ".join(f"{wall:.3f}" for wall in walls))
    print("   child, medians: " + ", ".join(
        f"{name} {statistics.median(values):.3f} s" for name, values in parts.items()))
    print("   (wall - child total = interpreter start-up and exit)")


def seed(url: str, appointments: int) -> tuple[SiteContext, FixedClock]:
    from kiosk.ops.demo import generate_day
    from tests.support.site import make_ctx, make_settings

    clock = FixedClock(MORNING)
    ctx = make_ctx(make_settings(url), clock)
    began = time.perf_counter()
    summary = generate_day(ctx, DAY, appointments=appointments, seed=1, patients=PATIENTS)
    print(f"seeded {summary.appointments:,} appointments, {summary.patients:,} patients, "
          f"{summary.providers} providers in {time.perf_counter() - began:.1f} s")
    return ctx, clock


def plan_scans(ctx: SiteContext, count: int) -> list[tuple[datetime, str]]:
    """``count`` booked appointments at "main", in the day's order, with their QR tokens."""
    day_start, day_end = local_day_bounds(DAY, ctx.tz)
    with ctx.db.read() as session:
        rows = session.execute(
            select(Appointment.start, Appointment.external_id)
            .join(Location, Location.id == Appointment.location_id)
            .where(Appointment.start >= day_start, Appointment.start < day_end,
                   Appointment.status == AppointmentStatus.BOOKED,
                   Location.external_id == "main")).all()
    if len(rows) < count:
        print(f"note: only {len(rows)} booked appointments at 'main'; using them all")
    chosen = sorted(random.Random(7).sample(list(rows), k=min(count, len(rows))))
    secret, site = ctx.qr_secret, ctx.settings.site_id
    return [(start, tokens.issue(secret, site, external_id, DAY)) for start, external_id in chosen]


def scan(window: KioskWindow, token: str) -> float:
    """Type the token as a scanner does; return the time just before its Return key."""
    target = window.pages[Step.WELCOME]
    for char in token:
        key = Qt.Key(ord(char.upper())) if char.isascii() and char.isalnum() else Qt.Key.Key_unknown
        QApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, key,
                                                 Qt.KeyboardModifier.NoModifier, char))
    began = time.perf_counter()
    QApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return,
                                             Qt.KeyboardModifier.NoModifier, "\r"))
    return began


def measure_cycles(ctx: SiteContext, clock: FixedClock, cycles: int) -> None:
    plan = plan_scans(ctx, cycles)
    app, window, watch = show(ctx)
    if watch.wait() is not Step.WELCOME:
        raise SystemExit("the welcome page was never painted")
    # Let start-up finish (the camera stack loads shortly after the first frame) so that
    # what is measured below is the cost of check-ins, not of loading libraries.
    settle = QEventLoop()
    QTimer.singleShot(CAMERA_AFTER_MS + 500, settle.quit)
    settle.exec()
    none_refs = sys.getrefcount(None)
    refs_before = sys.getrefcount(None)
    gc.collect()
    rss_start = rss_mb()
    warmup = min(WARMUP, len(plan) // 2)
    rss_warm = rss_start
    latencies: list[float] = []
    handler: list[float] = []
    outcomes: Counter[str] = Counter()
    for number, (start, token) in enumerate(plan, 1):
        clock.set(start - ARRIVE_EARLY)
        watch.expect(SETTLED)
        began = scan(window, token)
        handler.append((time.perf_counter() - began) * 1000)
        step = watch.wait()
        latencies.append((time.perf_counter() - began) * 1000)
        result = window.flow.result
        outcomes[result.outcome.value if step is Step.RESULT and result else str(step)] += 1
        watch.expect(frozenset({Step.WELCOME}))
        window.flow.done()
        if watch.wait() is not Step.WELCOME:
            outcomes["welcome not painted"] += 1
        if number == warmup:
            gc.collect()
            rss_warm = rss_mb()
    gc.collect()
    rss_end = rss_mb()
    lost = (refs_before - sys.getrefcount(None)) / len(plan)

    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    p95 = cuts[94]
    print(f"\n2. scan (Return key) to confirmation painted, SQLite, n={len(latencies)}")
    print(f"   median {statistics.median(latencies):.1f} ms, p95 {p95:.1f}, p99 {cuts[98]:.1f}, "
          f"max {max(latencies):.1f}, first {latencies[0]:.1f}  "
          f"(p95 <= {SCAN_P95_TARGET_MS:.0f} ms: {_verdict(p95 <= SCAN_P95_TARGET_MS)})")
    print(f"   of which handling the Return key itself: median {statistics.median(handler):.1f} "
          f"ms, max {max(handler):.1f}")
    print(f"   outcomes: {', '.join(f'{name}={n}' for name, n in outcomes.most_common())}")
    checked_in = outcomes[Outcome.CHECKED_IN.value]
    if checked_in < len(plan):
        print(f"   WARNING: {len(plan) - checked_in} of {len(plan)} cycles were not checked_in")

    growth = rss_end - rss_warm
    print(f"\n3. memory over {len(plan)} check-in cycles (VmRSS)")
    print(f"   window shown {rss_start:.1f} MB; after {warmup} warm-up cycles {rss_warm:.1f} MB; "
          f"after {len(plan)} cycles {rss_end:.1f} MB")
    print(f"   growth after warm-up {growth:+.1f} MB "
          f"(<= {RSS_GROWTH_TARGET_MB:.0f} MB: {_verdict(growth <= RSS_GROWTH_TARGET_MB)})")

    if lost > 0:
        print(f"\n   WARNING: {lost:.0f} references to None lost per cycle (PySide6 "
              f"{PySide6.__version__}, Python {platform.python_version()}); with the "
              f"{none_refs:,} it had, this process would have aborted (\"deallocating None\") "
              f"after about {none_refs / lost:.0f} cycles (see tests/ui/test_memory.py)")
    window.close()
    app.removeEventFilter(window.scanner)  # type: ignore[attr-defined]
    window.worker.wait()


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _quiet_offscreen(kind: QtMsgType, _context: object, message: str) -> None:
    # The offscreen platform cannot resize windows to hints; harmless, and only offscreen.
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--appointments", type=int, default=5000)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=7)
    args = parser.parse_args()

    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}, PySide6 {PySide6.__version__}, "
          f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}")
    print(f"day: {DAY} ({TIMEZONE}); {args.appointments:,} appointments, {PATIENTS:,} patients")
    qInstallMessageHandler(_quiet_offscreen)
    with tempfile.TemporaryDirectory(prefix="kiosk-bench-ui-") as folder:
        url = f"sqlite:///{folder}/kiosk.sqlite3"
        ctx, clock = seed(url, args.appointments)
        try:
            measure_starts(url, args.starts)
            measure_cycles(ctx, clock, args.cycles)
        finally:
            ctx.db.dispose()


if __name__ == "__main__":
    main()
