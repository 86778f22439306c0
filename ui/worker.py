"""Run core calls (database, engine) off the GUI thread and hand the answer back to it."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Job(QRunnable):
    def __init__(self, job_id: int, call: Callable[[], Any], worker: Worker) -> None:
        super().__init__()
        self.job_id = job_id
        self.call = call
        self.worker = worker

    def run(self) -> None:
        try:
            result = self.call()
        except Exception as error:  # any failure goes back to the screen as "see reception"
            log.error("background job failed: %s", type(error).__name__)
            self.worker.finished.emit(self.job_id, False, error)
        else:
            self.worker.finished.emit(self.job_id, True, result)


class Worker(QObject):
    """``run(call, on_done, on_failed)``: ``call`` runs on a pool thread; the callbacks run on
    the GUI thread. The signal is emitted from the pool thread and received by this object,
    which lives on the GUI thread, so Qt queues it there."""

    finished = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None, threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads)
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[Exception], None]]] = {}
        self.finished.connect(self._deliver)

    def run(self, call: Callable[[], Any], on_done: Callable[[Any], None],
            on_failed: Callable[[Exception], None]) -> None:
        job_id = next(self._ids)
        self._callbacks[job_id] = (on_done, on_failed)
        self.pool.start(_Job(job_id, call, self))

    @Slot(int, bool, object)
    def _deliver(self, job_id: int, ok: bool, value: Any) -> None:
        on_done, on_failed = self._callbacks.pop(job_id)
        (on_done if ok else on_failed)(value)

    @property
    def busy(self) -> bool:
        return bool(self._callbacks)

    def wait(self, msecs: int = 5000) -> bool:
        return self.pool.waitForDone(msecs)
