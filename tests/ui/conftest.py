"""The patient kiosk window, built as `kiosk run` builds it, on the fixture day (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from kiosk.store.site import SiteContext


@pytest.fixture
def window(qtbot, sqlite_ctx: SiteContext, sqlite_day) -> Iterator:
    from ui.app import build_kiosk

    built = build_kiosk(sqlite_ctx)
    qtbot.addWidget(built)
    built.resize(1280, 800)
    built.show()
    built.build_pages()  # as `kiosk run` does right after its first frame
    yield built
    QApplication.instance().removeEventFilter(built.scanner)
    built.worker.wait()
