"""Reception's "Day report" tab: today's figures (:func:`kiosk.services.report.day_report`)
in the staff's language, read and laid out off the GUI thread each time the tab opens."""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget

from kiosk.base.i18n import S_
from kiosk.services.report import day_report
from kiosk.services.staff import SignedIn
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText
from ui.worker import CoreOps, Failure


class ReportTab(QWidget):
    """``member`` is who is signed in (None: locked, a late answer is not shown)."""

    def __init__(self, ctx: SiteContext, t: StaffText, ops: CoreOps) -> None:
        super().__init__()
        self.ctx, self.t, self.ops = ctx, t, ops
        self.member: SignedIn | None = None
        layout = QVBoxLayout(self)
        self.report = QTextBrowser()
        self.report.setAccessibleName(t(S_("Day report")))
        layout.addWidget(self.report, 1)

    def load(self) -> None:
        ctx, day, language = self.ctx, self.ctx.today(), self.t.language
        self.ops.run(lambda: day_report(ctx, day).as_html(language), self._loaded,
                     self._failed, key="report")

    def _loaded(self, html: str) -> None:
        if self.member is not None:
            self.report.setHtml(html)

    def _failed(self, failure: Failure) -> None:
        self.report.setPlainText(failure.message)

    def clear(self) -> None:
        self.report.clear()
