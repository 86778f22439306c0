"""Bring the core's change watcher to a Qt window: its thread's callback becomes a queued
signal, and a burst of changes becomes one refresh."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.changes import ChangeWatcher
from kiosk.site import SiteContext

COALESCE_MS = 30


class LiveUpdates(QObject):
    """Calls ``refresh`` on the GUI thread soon after any lobby change anywhere; ``stop()``
    ends the watching (the owning window calls it when it closes)."""

    _changed = Signal()

    def __init__(self, ctx: SiteContext, refresh: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.refreshes = 0
        self._refresh = refresh
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(COALESCE_MS)
        self._timer.timeout.connect(self._run)
        self._changed.connect(self._timer.start)  # queued: emitted from the watcher thread
        self.watcher = ChangeWatcher(ctx.db, ctx.settings.site_id, self._changed.emit).start()

    def _run(self) -> None:
        self.refreshes += 1
        self._refresh()

    def stop(self) -> None:
        self.watcher.stop()
