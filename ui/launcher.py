"""The `kiosk` command: the core's CLI, with the Qt windows plugged in.

PySide6 is imported only when a window is opened, so headless commands stay light.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from kiosk.cli import main as cli_main
from kiosk.site import SiteContext


def show_window(ctx: SiteContext, which: str) -> int:
    from ui.app import has_display, run_windows

    if not has_display():
        print("No display found (DISPLAY or WAYLAND_DISPLAY): the window cannot open.",
              file=sys.stderr)
        return 0
    return run_windows(ctx, which)


def main(argv: Sequence[str] | None = None) -> int:
    return cli_main(argv, show_window=show_window)


if __name__ == "__main__":
    sys.exit(main())
