"""What every kiosk page has: its host, the patient's language, and the hooks the window calls."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from ui.kiosk.host import PageHost

# The labels spoken guidance reads, where a page has them: its heading and instructions.
SPOKEN = ("title", "hint", "scan", "body")


class Page(QWidget):
    def __init__(self, host: PageHost) -> None:
        super().__init__()
        self.host = host

    # The kiosk translates with its own catalogs, in the patient's language: a page's tr()
    # must never fall back to Qt's, whose signature (disambiguation, plural count) differs.
    def tr(self, message: str, **values: Any) -> str:  # type: ignore[override]
        return self.host.tr(message, **values)

    def retranslate(self) -> None:
        """Show the flow's current state in the patient's language."""

    def spoken(self) -> str:
        """What spoken guidance reads on this page: its heading and instructions."""
        parts = []
        for name in SPOKEN:
            widget = getattr(self, name, None)
            if isinstance(widget, QLabel) and widget.isVisibleTo(self) and widget.text():
                parts.append(widget.text())
        return " ".join(parts)

    def forget(self) -> None:
        """Clear whatever showed or held this patient's data."""

    def shown(self) -> None:
        """The page just came to the front."""
