"""The pages that only say something: working, help and error."""

from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.domain import texts
from ui.kiosk.host import PageHost
from ui.kiosk.pages.base import Page
from ui.widgets.text import button, column, label


class MessagePage(Page):
    """Working, help and error: a title and a few calm lines."""

    def __init__(self, host: PageHost, title: str, body: str | None,
                 with_done: bool) -> None:
        super().__init__(host)
        self.title_text, self.body_text = title, body
        self.title = label("title")
        self.body = label()
        self.done = button("primary")
        self.done.clicked.connect(host.flow.done)
        layout = column(self.title, self.body)
        layout.addStretch(1)
        layout.addWidget(self.done, alignment=Qt.AlignmentFlag.AlignHCenter)
        self.setLayout(layout)
        # Once it has a parent: a parentless widget made visible is a window of its own.
        self.done.setVisible(with_done)

    def retranslate(self) -> None:
        self.title.setText(self.tr(self.title_text))
        self.body.setText(self.tr(self.body_text) if self.body_text else "")
        self.done.setText(self.tr(texts.DONE))

