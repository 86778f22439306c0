"""Bring the core's change watcher to a Qt window: a burst of changes becomes one refresh,
whose database reading runs off the GUI thread (through the window's
:class:`~ui.worker.CoreOps`: the window keeps painting and ticking), and whose result is
shown on the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.services.watcher import ChangeWatcher
from kiosk.store.errors import DatabaseUnavailable
from kiosk.store.site import SiteContext
from ui.worker import CoreOps, Failure

log = logging.getLogger(__name__)

COALESCE_MS = 30


class LiveUpdates(QObject):
    """``read()`` (worker thread) then ``show(result)`` (GUI thread) soon after any lobby
    change anywhere, and whenever the window asks with :meth:`refresh`. One read at a time;
    a change during a read brings one more. ``stop()`` ends the watching. ``ops``: the
    window's, so that its reads and its actions take turns on one thread (its own if None)."""

    _changed = Signal()

    def __init__(self, ctx: SiteContext, read: Callable[[], Any], show: Callable[[Any], None],
                 parent: QObject | None = None,
                 failed: Callable[[Failure], None] | None = None,
                 ops: CoreOps | None = None) -> None:
        super().__init__(parent)
        self.refreshes = 0
        self._read, self._show, self._on_failed = read, show, failed
        self._reading = self._again = False
        self.ops = ops or CoreOps(self, ctx.settings.staff_language)
        self.worker = self.ops.worker
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COALESCE_MS)
        self._timer.timeout.connect(self._run)
        self._changed.connect(self._timer.start)  # queued: emitted from the watcher thread
        self.watcher = ChangeWatcher(ctx.db, ctx.settings.site_id, self._changed.emit).start()

    def refresh(self) -> None:
        self._timer.start()

    @property
    def settled(self) -> bool:
        """Nothing asked for and not yet shown (for tests and screenshots)."""
        return not (self._reading or self._again or self._timer.isActive())

    def _run(self) -> None:
        if self._reading:
            self._again = True
            return
        self._reading = True
        # Every failure of a read comes back here (expected=Exception): the window keeps what
        # it shows, and the next change (or the watcher's safety read) tries again.
        if not self.ops.run(self._read, self._shown, self._failed, expected=(Exception,)):
            self._reading = False  # the window is closing

    def _shown(self, result: Any) -> None:
        self._reading = False
        self.refreshes += 1
        self._show(result)
        self._next()

    def _failed(self, failure: Failure) -> None:
        # DatabaseUnavailable was logged by the database layer; anything else is a fault
        # of the read, logged here (its type only: its text may hold a patient's name).
        self._reading = False
        if not isinstance(failure.error, DatabaseUnavailable):
            log.error("reading the lobby failed: %s", type(failure.error).__name__)
        if self._on_failed is not None:
            self._on_failed(failure)
        self._next()

    def _next(self) -> None:
        if self._again:
            self._again = False
            self._run()

    def stop(self) -> None:
        self.watcher.stop()
        self.ops.wait()
