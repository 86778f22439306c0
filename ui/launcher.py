"""The `kiosk` command: the core's CLI, with the Qt windows plugged in.

PySide6 is imported only when a window is opened, so headless commands stay light.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from kiosk.base.settings import Settings
from kiosk.ops.cli import main as cli_main
from kiosk.store.site import SiteContext


def show_window(ctx: SiteContext, which: str, *, exit_after: float | None = None) -> int:
    import os

    if exit_after is not None and not os.environ.get("DISPLAY") and \
            not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # a smoke test without a screen
    from ui.app import has_display, run_windows

    if not has_display() and exit_after is None:
        print("No display found (DISPLAY or WAYLAND_DISPLAY): the window cannot open.",
              file=sys.stderr)
        return 0
    return run_windows(ctx, which, exit_after=exit_after)


def screen_checks(settings: Settings) -> list[Any]:
    from ui.doctor import checks

    return checks(settings)


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, show_window=show_window, screen_checks=screen_checks)


if __name__ == "__main__":
    sys.exit(main())
