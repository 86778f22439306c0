"""Qt applications behind the CLI: the patient kiosk, reception's window and the lobby board."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QMessageLogContext,
    QObject,
    Qt,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.base.settings import Settings
from kiosk.domain.flow import KioskFlow, Step, Timing
from kiosk.services import site_settings
from kiosk.services.checkin import CheckinService
from kiosk.services.lobby import record_feedback, request_help
from kiosk.store.site import SiteContext
from ui.kiosk.window import KioskWindow
from ui.lockdown import Lockdown
from ui.scanner import ScannerFilter
from ui.worker import Worker

log = logging.getLogger(__name__)

CAMERA_AFTER_MS = 800
SITE_SETTINGS_POLL_MS = 30_000
PURGE_EVERY_MS = 3_600_000
SCREEN_PULSE_MS = 5_000


def guide(engine: str | None) -> Any:
    from ui.speech import Guide  # QtTextToSpeech loads only where guidance is switched on

    return Guide.create(engine)


def has_display() -> bool:
    """A screen a person can see: offscreen rendering does not count."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.startswith(("offscreen", "minimal")):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or platform)


def application() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    app = QApplication(sys.argv[:1])
    app.setApplicationName("Lobby kiosk")
    return app


def build_kiosk(
    ctx: SiteContext, timing: Timing | None = None, speech_engine: str | None = None
) -> KioskWindow:
    """The patient kiosk window wired to the engine; the scanner filter is installed too."""
    app = application()
    settings = ctx.settings
    kiosk_id = settings.kiosk_id
    flow = KioskFlow(ctx.clock, settings.default_language, settings.languages, timing, tz=ctx.tz)
    service = CheckinService(ctx)
    worker = Worker()

    def feedback(score: int, current: KioskFlow) -> None:
        method = "qr" if current.family is None else "name_dob"
        language = current.language
        worker.run(
            lambda: record_feedback(ctx, kiosk_id, score, language, method),
            lambda _: None,
            lambda _: None,
        )

    window = KioskWindow(
        flow,
        lambda request: service.answer(request, kiosk_id),
        on_feedback=feedback,
        worker=worker,
        reach_layout=settings.reach_layout,
        guide=guide(speech_engine) if settings.speak_guidance else None,
    )
    worker.setParent(window)
    flow.on_help(
        lambda step, visit_id: worker.run(
            lambda: request_help(ctx, kiosk_id, step, visit_id=visit_id),
            lambda _: None,
            lambda _: None,
        )
    )
    # The camera (QtMultimedia, FFmpeg, the decoder) loads after the first frame is shown:
    # the welcome screen appears sooner, and scanners work meanwhile.
    QTimer.singleShot(CAMERA_AFTER_MS, window, lambda: attach_camera(window, flow))
    scanner = ScannerFilter(
        on_scan=lambda payload: window.run(flow.scanned(payload)),
        on_typing=lambda: window.note_hardware_key(None),
        parent=window,
    )
    app.installEventFilter(scanner)
    window.scanner = scanner
    window.setWindowTitle(settings.site_name)
    window.apply_site_settings(settings)
    window.site_settings = SiteSettingsFollower(ctx, window, worker)
    return window


class SiteSettingsFollower(QObject):
    """Follows the site-wide settings an admin changes at reception: asks the database every
    :data:`SITE_SETTINGS_POLL_MS` (one small query, off the GUI thread) and applies a
    change between patients, never in front of one."""

    def __init__(self, ctx: SiteContext, window: KioskWindow, worker: Worker) -> None:
        super().__init__(window)
        self.ctx, self.window, self.worker = ctx, window, worker
        self.site = site_settings.Follower(ctx)
        self.pending: Settings | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(SITE_SETTINGS_POLL_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        if self.pending is None:  # database away: next time
            self.worker.run(self.site.changed, self._read, lambda _: None)
        else:
            self.apply_when_idle()

    def _read(self, settings: Settings | None) -> None:
        if settings is not None:
            self.pending = settings
            self.apply_when_idle()

    def apply_when_idle(self) -> None:
        flow, settings = self.window.flow, self.pending
        if settings is None or not flow.idle_at_welcome:
            return
        self.pending = None
        self.ctx.settings = settings
        self.window.apply_site_settings(settings)
        log.info("site-wide settings applied")


def attach_camera(window: KioskWindow, flow: KioskFlow) -> None:
    from ui.camera import camera_preview

    preview = camera_preview(on_scan=lambda payload: window.run(flow.scanned(payload)))
    if preview is not None:
        window.welcome.attach_camera(preview)
        flow.subscribe(
            lambda current: setattr(preview.scanner, "enabled", current.step == Step.WELCOME)
        )


def start_heartbeat(ctx: SiteContext, window: QWidget, worker: Worker) -> QTimer:
    """The kiosk tells reception it is alive, now and every HEARTBEAT_SECONDS, off the GUI
    thread; a failure (database gone) is logged by the database layer and tried again."""
    from kiosk import __version__
    from kiosk.services.lobby import HEARTBEAT_SECONDS, heartbeat

    started = ctx.now()
    kiosk_id = ctx.settings.kiosk_id

    def beat() -> None:
        worker.run(
            lambda: heartbeat(ctx, kiosk_id, started, __version__), lambda _: None, lambda _: None
        )

    timer = QTimer(window)
    timer.setInterval(HEARTBEAT_SECONDS * 1000)
    timer.timeout.connect(beat)
    timer.start()
    beat()
    return timer


def route_qt_messages() -> None:
    """Qt's own warnings go through logging too (the "qt" logger), so they reach the log file,
    in JSON when so configured, and the monitor's warning count. Any handler already there
    (a test harness's) still receives them."""
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }
    qt_log = logging.getLogger("qt")
    previous: Any = None

    def handler(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
        category = context.category or "default"
        logger = logging.getLogger(category) if category.startswith("qt.") else qt_log
        logger.log(levels.get(kind, logging.WARNING), "%s", message)
        if previous is not None:
            previous(kind, context, message)

    previous = qInstallMessageHandler(handler)


def start_screen_pulse(ctx: SiteContext, window: QWidget) -> QTimer:
    """The event loop tells the monitor it is alive; /healthz fails when it falls silent
    (a screen that hangs would otherwise look healthy from outside)."""
    timer = QTimer(window)
    timer.setInterval(SCREEN_PULSE_MS)
    timer.timeout.connect(ctx.metrics.screen_alive)
    timer.start()
    ctx.metrics.screen_alive()
    return timer


def start_purging(ctx: SiteContext, window: QWidget, worker: Worker) -> QTimer:
    """Patient data past ``retention_days`` is deleted at start and every hour, off the GUI
    thread (a failure is logged and tried again the next hour)."""
    from kiosk.services.retention import purge

    def run() -> None:
        worker.run(
            lambda: purge(ctx),
            lambda _: None,
            lambda error: log.error("purge failed: %s", type(error).__name__),
        )

    timer = QTimer(window)
    timer.setInterval(PURGE_EVERY_MS)
    timer.timeout.connect(run)
    timer.start()
    run()
    return timer


def build_reception(ctx: SiteContext) -> QWidget:
    from ui.reception.window import ReceptionWindow

    application()
    return ReceptionWindow(ctx)


def build_board(ctx: SiteContext) -> QWidget:
    from ui.board.window import BoardWindow

    application()
    speaker = guide(None) if ctx.settings.board_announce else None
    return BoardWindow(ctx, speaker=speaker)


def run_windows(ctx: SiteContext, which: str, *, exit_after: float | None = None) -> int:
    """Open ``which`` ("run": the locked-down kiosk; "kiosk": the same in a window;
    "reception", "board", "board-windowed", or "demo": kiosk, reception and board side by
    side) and run until the main one is closed. ``exit_after`` seconds: quit cleanly then."""
    from kiosk.ops.monitor import serve

    app = application()
    route_qt_messages()
    windows: list[QWidget] = []
    stop_sync: Callable[[], None] = lambda: None  # noqa: E731
    monitor = serve(ctx)
    if which in ("run", "kiosk", "demo"):
        kiosk = build_kiosk(ctx)
        kiosk.resize(1280, 800) if which != "demo" else kiosk.resize(1024, 700)
        start_heartbeat(ctx, kiosk, Worker(kiosk))
        if which != "demo":  # the demo keeps its made-up history
            start_purging(ctx, kiosk, Worker(kiosk))
        stop_sync = start_background_sync(ctx)
        windows.append(kiosk)
        if which == "run":
            lock_down(ctx, kiosk)
    if which in ("reception", "demo"):
        reception = build_reception(ctx)
        reception.resize(1280, 720)
        windows.append(reception)
    if which in ("board", "board-windowed", "demo"):
        board = build_board(ctx)
        board.resize(1280, 720)
        windows.append(board)
    if which == "board":
        windows[0].showFullScreen()
    elif which == "run":
        pass  # the lockdown showed it full screen
    else:
        for offset, window in enumerate(windows):
            window.move(40 * offset, 40 * offset)
            window.show()
    # Closing the first window (the kiosk in the demo) ends the program.
    app.setQuitOnLastWindowClosed(False)
    windows[0].destroyed.connect(app.quit)
    windows[0].setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    if monitor is not None:
        start_screen_pulse(ctx, windows[0])
    QTimer.singleShot(
        0,
        lambda: log.info(
            "%s shown", "welcome screen" if which in ("run", "kiosk", "demo") else f"{which} window"
        ),
    )
    if exit_after is not None:
        QTimer.singleShot(int(exit_after * 1000), lambda: _close_all(windows))
    try:
        return app.exec()
    finally:
        stop_sync()
        if monitor is not None:
            monitor.stop()


def _close_all(windows: list[QWidget]) -> None:
    for window in reversed(windows):
        lockdown = window.findChild(Lockdown)
        if lockdown is not None:
            lockdown.may_close = True
        window.close()


def lock_down(ctx: SiteContext, kiosk: KioskWindow) -> Lockdown:
    """`kiosk run`: the kiosk window frameless, full screen, on top, keys and closing
    refused, the cursor hidden on touch screens, errors sent back to the welcome screen."""
    lockdown = Lockdown(
        ctx, kiosk, on_reset=kiosk.flow.reset, escape_allowed=kiosk.languages.isVisible
    )
    lockdown.apply()
    return lockdown


def start_background_sync(ctx: SiteContext) -> Callable[[], None]:
    """On the single-machine default the kiosk process syncs the schedule itself, in a
    background thread (the lease lets a ``kiosk sync --watch`` service take over instead).
    Returns the function that stops it."""
    if not ctx.settings.fhir_base_url:
        return lambda: None
    from kiosk.sync.worker import SyncWorker

    stop = threading.Event()
    thread = threading.Thread(
        target=SyncWorker(ctx).watch, args=(stop,), name="schedule-sync", daemon=True
    )
    thread.start()

    def stopper() -> None:
        stop.set()
        thread.join(timeout=ctx.settings.fhir_timeout_seconds + 5)

    return stopper
