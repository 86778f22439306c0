"""ui.worker.CoreOps, the staff screens' way into the core: the call runs off the GUI thread,
its answer or its failure (in the staff's words) comes back on it, the widgets that started
it wait for it, the same key does not start twice, and a bug still surfaces."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from kiosk.base.i18n import StaffWord, staff_translate
from kiosk.services.queue import STATUS_NAMES, InvalidTransition
from kiosk.store.db import DatabaseUnavailable
from kiosk.store.models import VisitStatus
from ui.worker import NOTHING_CHANGED, UNREACHABLE, CoreOps, Failure, staff_message


def test_the_call_runs_off_the_gui_thread_and_answers_on_it(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    ops = CoreOps(window, "es")
    gui = QThread.currentThread()
    seen: dict[str, object] = {}

    def call() -> int:
        seen["call"] = QThread.currentThread()
        return 42

    def done(value: int) -> None:
        seen["answer"], seen["done"] = value, QThread.currentThread()

    assert ops.run(call, done, lambda failure: None)
    qtbot.waitUntil(lambda: ops.idle, timeout=5000)
    assert seen["answer"] == 42
    assert seen["call"] is not gui and seen["done"] is gui


def test_a_failure_comes_back_in_the_staff_language(qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    ops = CoreOps(window, "es")
    failures: list[Failure] = []

    def away() -> None:
        raise DatabaseUnavailable("database is locked")

    ops.run(away, lambda _: None, failures.append, unreachable=NOTHING_CHANGED)
    ops.run(away, lambda _: None, failures.append)  # a read: "see the log"
    qtbot.waitUntil(lambda: len(failures) == 2, timeout=5000)
    assert failures[0].unreachable
    assert failures[0].message == staff_translate(NOTHING_CHANGED, "es") != NOTHING_CHANGED
    assert failures[1].message == staff_translate(UNREACHABLE, "es")
    # A core error with a template, in Arabic with the mark that keeps it right to left.
    refused = InvalidTransition("{ticket} cannot be finished: the patient is {status}.",
                                ticket="K-1",
                                status=StaffWord(STATUS_NAMES[VisitStatus.WAITING]))
    said = staff_message(refused, "ar")
    assert said.startswith("\u200f") and "K-1" in said and "cannot" not in said


def test_the_same_key_does_not_start_twice_and_its_button_waits(qtbot):
    window = QWidget()
    button = QPushButton("Call", window)
    qtbot.addWidget(window)
    ops = CoreOps(window, "en")
    release = threading.Event()
    answers: list[str] = []
    assert ops.run(lambda: release.wait(5) and "done", answers.append, lambda _: None,
                   key="queue", disable=[button])
    assert not button.isEnabled() and ops.running("queue")
    assert not ops.run(lambda: "again", answers.append, lambda _: None, key="queue")
    assert ops.run(lambda: "other", answers.append, lambda _: None, key="report")
    release.set()
    qtbot.waitUntil(lambda: ops.idle, timeout=5000)
    assert answers == ["done", "other"]  # in the order asked, on one thread
    assert button.isEnabled() and not ops.running("queue")
    ops.close()
    assert not ops.run(lambda: "late", answers.append, lambda _: None)  # closing: no more


def test_a_bug_in_a_call_is_raised_on_the_gui_thread(qtbot):
    window = QWidget()
    button = QPushButton("Save", window)
    qtbot.addWidget(window)
    ops = CoreOps(window, "en")
    failures: list[Failure] = []
    with qtbot.captureExceptions() as raised:
        ops.run(lambda: 1 // 0, lambda _: None, failures.append, disable=[button])
        qtbot.waitUntil(lambda: ops.idle, timeout=5000)
        QApplication.processEvents()
    assert [type(error) for _kind, error, _trace in raised] == [ZeroDivisionError]
    assert failures == [] and button.isEnabled()
