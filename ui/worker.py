"""Run core calls (database, engine) off the GUI thread and hand the answer back to it.

Two levels:

* :class:`Worker` runs a callable on a pool thread and calls ``on_done(result)`` or
  ``on_failed(error)`` on the GUI thread (the patient kiosk, the camera).
* :class:`CoreOps` is what the staff screens use, in the spirit of Anki's ``QueryOp`` and
  ``CollectionOp``: a window's calls into the core run one after another on its own thread;
  a failure comes back as a :class:`Failure` whose ``message`` is already in the staff's
  language; the widgets that started a call stay disabled until it answers, and a call with
  a ``key`` does not start again while the same key is still running (a second click does not
  write twice). The window stays responsive meanwhile: a database away costs its timeout on
  the worker thread, never on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import QWidget

from kiosk.base.i18n import S_, Explained, is_right_to_left, staff_translate
from kiosk.store.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# What staff read when the database is away: a read, or a write that changed nothing (every
# write is one transaction, rolled back when it fails).
UNREACHABLE = S_("The database cannot be reached; see the log.")
NOTHING_CHANGED = S_("The database cannot be reached: nothing was changed.")
# A right-to-left sentence that starts with a Latin name would otherwise be laid out left to
# right (as ui.staff_text.StaffText does it).
RTL_MARK = "\u200f"


class _Job(QRunnable):
    def __init__(self, job_id: int, call: Callable[[], Any], worker: Worker) -> None:
        super().__init__()
        self.job_id = job_id
        self.call = call
        self.worker = worker

    def run(self) -> None:
        try:
            result = self.call()
        except Exception as error:  # any failure goes back to the GUI thread
            if self.worker.log_failures:
                log.error("background job failed: %s", type(error).__name__)
            self._answer(False, error)
        else:
            self._answer(True, result)

    def _answer(self, ok: bool, value: Any) -> None:
        try:
            self.worker.finished.emit(self.job_id, ok, value)
        except RuntimeError:  # the window that asked was deleted meanwhile: nobody to tell
            log.debug("background job %d answered after its worker was deleted", self.job_id)


class Worker(QObject):
    """``run(call, on_done, on_failed)``: ``call`` runs on a pool thread; the callbacks run on
    the GUI thread. The signal is emitted from the pool thread and received by this object,
    which lives on the GUI thread, so Qt queues it there."""

    finished = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None, threads: int = 2, *,
                 log_failures: bool = True) -> None:
        super().__init__(parent)
        self.log_failures = log_failures
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


@dataclass(frozen=True)
class Failure:
    """A core call that did not succeed: the error, and what staff read about it."""

    error: Exception
    message: str  # in the staff's language

    @property
    def unreachable(self) -> bool:
        """The database was away (locked too long, gone, refused)."""
        return isinstance(self.error, DatabaseUnavailable)


def staff_message(error: Exception, language: str, unreachable: str = UNREACHABLE) -> str:
    """An error as reception reads it: the database away in ``unreachable``'s words, a core
    error with a template (:class:`~kiosk.base.i18n.Explained`) translated, any other the
    English text it carries."""
    mark = RTL_MARK if is_right_to_left(language) else ""
    if isinstance(error, DatabaseUnavailable):
        return mark + staff_translate(unreachable, language)
    if isinstance(error, Explained):
        return mark + error.translated(language)
    return str(error)


class CoreOps(QObject):
    """A window's calls into the core, off the GUI thread, one at a time and in order.

    :meth:`run` takes the call, ``on_done(result)`` and ``on_failed(failure)``; both run on
    the GUI thread. The database away (:class:`~kiosk.store.db.DatabaseUnavailable`), a core
    error meant for staff (:class:`~kiosk.base.i18n.Explained`) and the kinds named in
    ``expected`` go to ``on_failed`` as a :class:`Failure` with the staff's words; any other
    error is a bug and is raised again on the GUI thread, as if the call had been made there
    (after the widgets are enabled again). ``language``: the staff's (``staff_language``)."""

    def __init__(self, parent: QObject | None = None, language: str = "en", *,
                 threads: int = 1) -> None:
        super().__init__(parent)
        self.language = language
        # One thread: a window's calls never race each other (an action and the read that
        # follows it; a service object shared by both), and a database away holds up only
        # this thread.
        self.worker = Worker(self, threads=threads, log_failures=False)
        self._running: set[str] = set()  # the keys of calls not answered yet
        self._disabled: dict[QWidget, int] = {}  # widget -> calls that disabled it
        self._pending = 0
        self._busy_cursor = False
        self._closed = False

    @property
    def idle(self) -> bool:
        """Nothing asked that has not answered (for tests and screenshots)."""
        return self._pending == 0

    def running(self, key: str) -> bool:
        return key in self._running

    def run(self, call: Callable[[], T], on_done: Callable[[T], None],
            on_failed: Callable[[Failure], None], *, key: str | None = None,
            disable: Iterable[QWidget] = (), unreachable: str = UNREACHABLE,
            expected: tuple[type[Exception], ...] = ()) -> bool:
        """Start ``call``; False (and nothing started) while a call with the same ``key`` has
        not answered, or once the window is closing (:meth:`close`). The ``disable`` widgets
        (the button that started it) are disabled until it answers; ``unreachable`` is what
        staff read if the database is away."""
        if self._closed or (key is not None and key in self._running):
            return False
        widgets = list(disable)
        self._hold(key, widgets)

        def done(result: Any) -> None:
            self._release(key, widgets)
            on_done(result)

        def failed(error: Exception) -> None:
            self._release(key, widgets)
            if not isinstance(error, (DatabaseUnavailable, Explained, *expected)):
                raise error  # a bug: to sys.excepthook, as on the GUI thread
            on_failed(Failure(error, staff_message(error, self.language, unreachable)))

        self.worker.run(call, done, failed)
        return True

    def _hold(self, key: str | None, widgets: list[QWidget]) -> None:
        self._pending += 1
        if key is not None:
            self._running.add(key)
        for widget in widgets:
            count = self._disabled.get(widget, 0)
            if count == 0:
                widget.setEnabled(False)
            self._disabled[widget] = count + 1
        window = self.parent()
        if widgets and isinstance(window, QWidget):
            # Words-free: the window is working, and may still be used meanwhile.
            window.setCursor(Qt.CursorShape.BusyCursor)
            self._busy_cursor = True

    def _release(self, key: str | None, widgets: list[QWidget]) -> None:
        self._pending -= 1
        if key is not None:
            self._running.discard(key)
        for widget in widgets:
            count = self._disabled.pop(widget, 1) - 1
            if count > 0:
                self._disabled[widget] = count
            else:
                widget.setEnabled(True)
        window = self.parent()
        if self._busy_cursor and not self._disabled and isinstance(window, QWidget):
            window.unsetCursor()
            self._busy_cursor = False

    def wait(self, msecs: int = 5000) -> bool:
        """Until the thread has nothing left to run; the answers are then delivered by the
        event loop."""
        return self.worker.wait(msecs)

    def close(self, msecs: int = 5000) -> bool:
        """The window is closing: nothing new starts (an answer still on its way may want to
        read again), and what runs is waited for."""
        self._closed = True
        return self.worker.wait(msecs)
