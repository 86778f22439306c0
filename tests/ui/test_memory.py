"""A kiosk runs all day: the Qt binding must not lose references with every call.

PySide6 6.12.0 on CPython 3.11 drops a reference to None on each call that returns nothing;
the process then aborts ("deallocating None") after a few hundred check-ins. This guards the
pinned version against that."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel


def test_qt_calls_keep_references_to_none(qtbot):
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(5000):
        label.setText("K-12")
        label.update()
        QApplication.processEvents()
    assert before - sys.getrefcount(None) < 50
