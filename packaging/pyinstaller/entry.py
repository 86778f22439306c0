"""Entry point of the frozen `kiosk` executable (PyInstaller): the same as the `kiosk` command
installed by pip (`ui.launcher:main`). Kept apart from ui/launcher.py so that the bundle's
__main__ is not a module of the package.

The production bundle leaves out Faker, which only the demo practice's names need
(packaging/build-bundle.sh --with-demo puts it in): there `kiosk demo` and `kiosk demo-data`
say so and how to get demo data, with exit code 2, rather than fail on the missing module."""

import contextlib
import importlib.util
import io
import sys
from collections.abc import Sequence

from ui.launcher import main

DEMO_COMMANDS = ("demo", "demo-data")
EXIT_USAGE = 2
NO_DEMO_DATA = """\
kiosk {command}: this build of the kiosk has no demo data (the production bundle leaves out
Faker, which the demo practice's names come from). To get demo data, either
  - build the bundle with it: packaging/build-bundle.sh --with-demo
  - or load it into this kiosk's database from a checkout of the project (./dev setup):
      .venv/bin/kiosk --db URL demo-data --date YYYY-MM-DD --appointments N
"""


def demo_command(argv: Sequence[str]) -> str | None:
    """The demo command `argv` asks for, if any (the kiosk's own parser reads the line)."""
    from kiosk.ops.cli import build_parser

    quiet = io.StringIO()
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            args, _ = build_parser().parse_known_args(argv)
    except SystemExit:  # usage errors, --help, --version: the kiosk answers them itself
        return None
    command = getattr(args, "command", None)
    return command if command in DEMO_COMMANDS else None


def frozen_main(argv: Sequence[str]) -> int:
    if importlib.util.find_spec("faker") is None:
        command = demo_command(argv)
        if command is not None:
            print(NO_DEMO_DATA.format(command=command), end="", file=sys.stderr)
            return EXIT_USAGE
    return main(argv)


if __name__ == "__main__":
    sys.exit(frozen_main(sys.argv[1:]))
