"""Entry point of the frozen `kiosk` executable (PyInstaller): the same as the `kiosk` command
installed by pip (`ui.launcher:main`). Kept apart from ui/launcher.py so that the bundle's
__main__ is not a module of the package."""

import sys

from ui.launcher import main

if __name__ == "__main__":
    sys.exit(main())
