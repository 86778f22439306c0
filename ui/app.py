"""Qt applications behind the CLI: the patient kiosk, reception's window and the lobby board."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from PySide6.QtCore import (
    QEvent,
    QMessageLogContext,
    QObject,
    Qt,
    QTimer,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QWidget

from kiosk.base.clock import Clock
from kiosk.base.settings import Settings
from kiosk.domain.flow import CheckinRequest, KioskFlow, Step, Timing
from kiosk.domain.results import CheckinResult
from ui.kiosk.window import KioskWindow
from ui.scanner import ScannerFilter
from ui.worker import Worker

# The database, the services and the sync load after the kiosk's first frame (see
# run_windows): a kiosk restarted after a fault shows its welcome screen sooner.
if TYPE_CHECKING:
    from kiosk.store.site import SiteContext
    from ui.lockdown import Lockdown

log = logging.getLogger(__name__)

CAMERA_AFTER_MS = 800
OPEN_RETRY_MS = 10_000  # the site's database away at start: try again this often
OPEN_ANYWAY_MS = 5_000  # open the site even if the first frame never came by then
EXIT_SITE_FAILED = 70  # EX_SOFTWARE: the site could not open for a reason not an outage
SITE_SETTINGS_POLL_MS = 30_000
PURGE_EVERY_MS = 3_600_000
SCREEN_PULSE_MS = 5_000


def guide(engine: str | None) -> Any:
    from ui.speech import Guide  # QtTextToSpeech loads only where guidance is switched on

    with qt_messages_without_python():  # its plugins load too
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


class SiteSource(Protocol):
    """Where the windows find their site: the settings and the clock at once, the open site
    (database, migrations checked, site row read) when first asked; the CLI's Runtime."""

    settings: Settings
    clock: Clock

    @property
    def ctx(self) -> SiteContext: ...


def build_kiosk(
    ctx: SiteContext, timing: Timing | None = None, speech_engine: str | None = None
) -> KioskWindow:
    """The patient kiosk window on an open site, wired to the engine."""
    window = kiosk_window(ctx.settings, ctx.clock, lambda: ctx, timing, speech_engine)
    serve_kiosk(ctx, window)
    return window


def kiosk_window(
    settings: Settings,
    clock: Clock,
    site: Callable[[], SiteContext],
    timing: Timing | None = None,
    speech_engine: str | None = None,
) -> KioskWindow:
    """The patient kiosk window, built from the settings alone: its first frame needs no
    database. ``site()`` gives the open site (opening it if start-up has not yet) and is only
    called off the GUI thread, for a patient's request: a database away at that moment is
    the patient's "please see reception" answer. The scanner filter is installed too."""
    app = application()
    kiosk_id = settings.kiosk_id
    tz = ZoneInfo(settings.timezone)
    flow = KioskFlow(clock, settings.default_language, settings.languages, timing, tz=tz)
    worker = Worker()
    checkin: list[Any] = []  # the CheckinService, made on the first request
    making = threading.Lock()

    def answer(request: CheckinRequest) -> CheckinResult:
        from kiosk.services.checkin import CheckinService

        ctx = site()
        with making:
            if not checkin or checkin[0].ctx is not ctx:
                checkin[:] = [CheckinService(ctx)]
            service = checkin[0]
        result: CheckinResult = service.answer(request, kiosk_id)
        return result

    def feedback(score: int, current: KioskFlow) -> None:
        from kiosk.services.lobby import record_feedback

        method = "qr" if current.family is None else "name_dob"
        language = current.language
        worker.run(
            lambda: record_feedback(site(), kiosk_id, score, language, method),
            lambda _: None,
            lambda _: None,
        )

    def text_me(visit_id: int) -> bool:
        from kiosk.services.checkin import CheckinService

        return CheckinService(site()).text_me(visit_id)

    window = KioskWindow(
        flow,
        answer,
        on_feedback=feedback,
        on_text_me=text_me,
        worker=worker,
        reach_layout=settings.reach_layout,
        guide=guide(speech_engine) if settings.speak_guidance else None,
    )
    worker.setParent(window)

    def help_asked(step: str, visit_id: int | None) -> None:
        from kiosk.services.lobby import request_help

        worker.run(
            lambda: request_help(site(), kiosk_id, step, visit_id=visit_id),
            lambda _: None,
            lambda _: None,
        )

    flow.on_help(help_asked)
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
    return window


def serve_kiosk(ctx: SiteContext, window: KioskWindow) -> None:
    """The open site behind a kiosk window: its site-wide settings (an admin's, applied at
    once when they differ from the file's the first frame was built with) and followed."""
    follower = SiteSettingsFollower(ctx, window, window.worker)
    window.site_settings = follower
    if window.settings_shown != ctx.settings:
        follower.pending = ctx.settings
        follower.apply_when_idle()


class SiteSettingsFollower(QObject):
    """Follows the site-wide settings an admin changes at reception: asks the database every
    :data:`SITE_SETTINGS_POLL_MS` (one small query, off the GUI thread) and applies a
    change between patients, never in front of one."""

    def __init__(self, ctx: SiteContext, window: KioskWindow, worker: Worker) -> None:
        from kiosk.services import site_settings

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


def no_video_device(devices: str = "/dev/video*") -> bool:
    """On Linux a camera is a /dev/video device: with none, the camera stack (QtMultimedia,
    FFmpeg, numpy, the decoder: about 40 MB resident) is not loaded at all."""
    import glob

    return sys.platform.startswith("linux") and not glob.glob(devices)


def attach_camera(window: KioskWindow, flow: KioskFlow) -> None:
    if no_video_device():
        log.info("no camera: QR codes by scanner only")
        return
    from ui.camera import camera_preview

    with qt_messages_without_python():
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


@contextlib.contextmanager
def qt_messages_without_python() -> Iterator[None]:
    """Qt's messages go to stderr, not through Python, while the camera stack loads: its
    plugins warn from inside the dynamic loader (missing optional libraries), and a Python
    message handler there waits for the interpreter lock while another Python thread, in an
    import of its own, waits for the loader (seen: the kiosk hung at start)."""
    previous = qInstallMessageHandler(None)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


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


def run_windows(site: SiteSource, which: str, *, exit_after: float | None = None) -> int:
    """Open ``which`` ("run": the locked-down kiosk; "kiosk": the same in a window;
    "reception", "board", "board-windowed", or "demo": kiosk, reception and board side by
    side) and run until the main one is closed. ``exit_after`` seconds: quit cleanly then.

    The kiosk ("run", "kiosk") shows its welcome screen first, from the settings alone, and
    opens the site after that first frame, off the GUI thread (:class:`SiteOpening`)."""
    app = application()
    route_qt_messages()
    windows: list[QWidget] = []
    lockdown: Lockdown | None = None
    services = Services()
    if which in ("run", "kiosk"):
        kiosk = kiosk_window(site.settings, site.clock, lambda: site.ctx)
        kiosk.resize(1280, 800)
        windows.append(kiosk)
        opening = SiteOpening(site, kiosk, lambda ctx: services.start_kiosk(ctx, kiosk))
        if which == "run":
            lockdown = lock_down(site.settings, site.clock, kiosk, lambda: opening.opened)
        else:
            kiosk.show()
    else:
        ctx = site.ctx
        if which == "demo":
            kiosk = kiosk_window(ctx.settings, ctx.clock, lambda: ctx)
            kiosk.resize(1024, 700)
            windows.append(kiosk)
            services.start_kiosk(ctx, kiosk, purge=False)  # the demo keeps its made-up history
        if which in ("reception", "demo"):
            reception = build_reception(ctx)
            reception.resize(1280, 720)
            windows.append(reception)
        if which in ("board", "board-windowed", "demo"):
            board = build_board(ctx)
            board.resize(1280, 720)
            windows.append(board)
        services.start_monitor(ctx, windows[0])
        if which == "board":
            windows[0].showFullScreen()
        else:
            for offset, window in enumerate(windows):
                window.move(40 * offset, 40 * offset)
                window.show()
    # Closing the first window (the kiosk in the demo) ends the program.
    app.setQuitOnLastWindowClosed(False)
    windows[0].destroyed.connect(app.quit)
    windows[0].setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
    QTimer.singleShot(
        0,
        lambda: log.info(
            "%s shown", "welcome screen" if which in ("run", "kiosk", "demo") else f"{which} window"
        ),
    )
    if exit_after is not None:
        QTimer.singleShot(int(exit_after * 1000), lambda: _close_all(windows, lockdown))
    try:
        return app.exec()
    finally:
        services.stop()


class Services:
    """What runs beside the windows once the site is open: the kiosk's heartbeat, hourly
    purge and schedule sync, and the monitoring endpoint with its screen pulse."""

    def __init__(self) -> None:
        self.monitor: Any = None
        self.monitoring = False
        self.stop_sync: Callable[[], None] = lambda: None

    def start_kiosk(self, ctx: SiteContext, kiosk: KioskWindow, *, purge: bool = True) -> None:
        serve_kiosk(ctx, kiosk)
        start_heartbeat(ctx, kiosk, Worker(kiosk))
        if purge:
            start_purging(ctx, kiosk, Worker(kiosk))
        self.stop_sync = start_background_sync(ctx)
        self.start_monitor(ctx, kiosk)

    def start_monitor(self, ctx: SiteContext, window: QWidget) -> None:
        from kiosk.ops.monitor import serve

        if self.monitoring:
            return
        self.monitoring = True
        self.monitor = serve(ctx)
        if self.monitor is not None:
            start_screen_pulse(ctx, window)

    def stop(self) -> None:
        self.stop_sync()
        if self.monitor is not None:
            self.monitor.stop()


class SiteOpening(QObject):
    """Opens the site once the kiosk's first frame is painted, off the GUI thread, then calls
    ``on_open(ctx)`` on it; a database away is logged and tried again every
    :data:`OPEN_RETRY_MS` (meanwhile a patient's request tries too, and hears "please see
    reception" if it fails), so the kiosk recovers without a restart."""

    def __init__(self, site: SiteSource, kiosk: KioskWindow,
                 on_open: Callable[[SiteContext], None]) -> None:
        super().__init__(kiosk)
        self.site, self.kiosk, self.on_open = site, kiosk, on_open
        self.opened: SiteContext | None = None
        self.tries = 0
        self.painted = False
        kiosk.welcome.installEventFilter(self)
        # A display that never shows the window (no paint) must not keep the site closed.
        QTimer.singleShot(OPEN_ANYWAY_MS, self, self._unpainted)

    def _unpainted(self) -> None:
        if not self.painted:
            self.painted = True
            self.kiosk.welcome.removeEventFilter(self)
            self.open()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.painted:
            self.painted = True
            self.kiosk.welcome.removeEventFilter(self)
            QTimer.singleShot(0, self, self.kiosk.build_pages)
            QTimer.singleShot(0, self, self.open)
        return False

    def open(self) -> None:
        self.tries += 1
        self.kiosk.worker.run(lambda: self.site.ctx, self._opened, self._failed)

    def _opened(self, ctx: SiteContext) -> None:
        self.opened = ctx
        self.on_open(ctx)
        log.info("site open%s", f" after {self.tries} tries" if self.tries > 1 else "")

    def _failed(self, error: Exception) -> None:
        from kiosk.store.errors import DatabaseUnavailable

        if not isinstance(error, DatabaseUnavailable):
            # Not an outage (a schema newer than this software after a rollback, a refused
            # permission): the kiosk cannot serve; exit, so the service manager restarts it
            # and IT sees it, rather than stay half alive.
            log.critical("the site cannot open: %s; exiting for a restart",
                         type(error).__name__)
            QApplication.exit(EXIT_SITE_FAILED)
            return
        log.error("the site cannot open: the database is unavailable (%s); trying again "
                  "in %d s", error, OPEN_RETRY_MS // 1000)
        QTimer.singleShot(OPEN_RETRY_MS, self, self.open)


def _close_all(windows: list[QWidget], lockdown: Lockdown | None) -> None:
    if lockdown is not None:
        lockdown.may_close = True
    for window in reversed(windows):
        window.close()


def lock_down(settings: Settings, clock: Clock, kiosk: KioskWindow,
              staff_site: Callable[[], SiteContext | None]) -> Lockdown:
    """`kiosk run`: the kiosk window frameless, full screen, on top, keys and closing
    refused, the cursor hidden on touch screens, errors sent back to the welcome screen."""
    from ui.lockdown import Lockdown

    lockdown = Lockdown(settings, clock, kiosk, on_reset=kiosk.flow.reset,
                        staff_site=staff_site, escape_allowed=kiosk.languages.isVisible)
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
