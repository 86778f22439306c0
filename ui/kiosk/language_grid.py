"""The grid of languages, each by its own name: the welcome screen's and the language chooser's."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QGridLayout, QPushButton

from kiosk.base.i18n import native_name
from ui.widgets.text import button


def fill_language_grid(grid: QGridLayout, old: dict[str, QPushButton], codes: tuple[str, ...],
                       *, columns: int, choose: Callable[[str], None],
                       checkable: bool = False) -> dict[str, QPushButton]:
    """One button per language, by its own name, in ``columns`` columns (replacing ``old``):
    the welcome screen's grid and the language chooser's."""
    for choice in old.values():
        grid.removeWidget(choice)
        choice.deleteLater()
    buttons: dict[str, QPushButton] = {}
    for index, code in enumerate(codes):
        # Narrow padding: five columns of native names fit a 1024-pixel-wide screen.
        choice = button("language")
        choice.setText(native_name(code))
        choice.setAccessibleName(native_name(code))
        choice.setCheckable(checkable)
        choice.clicked.connect(lambda _=False, c=code: choose(c))
        grid.addWidget(choice, index // columns, index % columns)
        buttons[code] = choice
    return buttons
