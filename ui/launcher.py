"""The `kiosk` command: the core's CLI, with the Qt windows plugged in.

PySide6 is imported only when a window is opened, so headless commands stay light.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kiosk.base.settings import Settings
from kiosk.ops.cli import main as cli_main

if TYPE_CHECKING:
    from ui.app import SiteSource


def show_window(site: SiteSource, which: str, *, exit_after: float | None = None) -> int:
    import os

    if exit_after is not None and not os.environ.get("DISPLAY") and \
            not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a smoke test without a screen
    try:
        from ui.app import has_display, run_windows
    except ImportError as missing:
        print(missing_part(missing), file=sys.stderr)
        return 1

    if not has_display() and exit_after is None:
        print("No display found (DISPLAY or WAYLAND_DISPLAY): the window cannot open.",
              file=sys.stderr)
        return 0
    return run_windows(site, which, exit_after=exit_after)


def missing_part(error: ImportError) -> str:
    """What to tell IT when a part of the kiosk is not installed (a module's name holds no
    patient data: it is said in full)."""
    return (f"The kiosk's screens need the Python module {error.name or 'PySide6'!r}, which "
            "is not installed here (or cannot load one of its system libraries: "
            f"{error}). Install it with: pip install --upgrade lobby-kiosk "
            "(in a checkout: ./dev setup).")


def screen_checks(settings: Settings) -> list[Any]:
    try:
        from ui.doctor import checks
    except ImportError as missing:
        from kiosk.ops.doctor import FAIL, Check

        return [Check("screens", FAIL, missing_part(missing))]
    return checks(settings)


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, show_window=show_window, screen_checks=screen_checks)


if __name__ == "__main__":
    sys.exit(main())
