"""The warning before an idle kiosk starts over, with a button for more time."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QWidget

from kiosk.domain import texts
from ui.kiosk.host import PageHost
from ui.kiosk.overlays.base import Overlay
from ui.widgets.text import WrapButton, column, label


class TimeoutOverlay(Overlay):
    def __init__(self, host: PageHost, parent: QWidget) -> None:
        self.host = host
        self.title = label("title")
        self.body = label()
        self.more = WrapButton("primary")
        super().__init__(parent, column(self.title, self.body, self.more), margin=60)
        self.more.clicked.connect(host.flow.more_time)
        self.returns_focus_to: QWidget | None = None

    def warn(self, seconds: int) -> None:
        """Show (or update) the warning: ``seconds`` left before the kiosk starts over."""
        tr = self.host.tr
        self.title.setText(tr(texts.TIMEOUT_TITLE))
        self.body.setText(tr(texts.TIMEOUT_BODY, seconds=seconds))
        self.more.setText(tr(texts.MORE_TIME))
        self.cover()
        if not self.isVisible():
            self.returns_focus_to = QApplication.focusWidget()
            self.show()
            self.more.setFocus()

    def close_warning(self) -> None:
        """Hide, and give the focus back to where the patient was (not to Start over)."""
        if not self.isVisible():
            return
        self.hide()
        previous = self.returns_focus_to
        if previous is not None and previous.isVisible():
            previous.setFocus()
