"""Where the project's data folders (locales/, assets/) are: next to the package in a checkout
or an editable install, or under ``<prefix>/share/lobby-kiosk`` when installed from a wheel."""

from __future__ import annotations

import os
import sys
from pathlib import Path

SHARE = Path("share") / "lobby-kiosk"


def data_dir(name: str) -> Path:
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    installed = Path(sys.prefix) / SHARE / name
    return installed if installed.is_dir() else checkout


# -- Files that hold patient data (the embedded database, logs) -----------------------------
# Readable by the kiosk's own user only, whatever the umask it was started with: 0600 files,
# and 0700 for the folders the kiosk creates for them (a folder that exists is left alone: it
# may be /tmp or an admin's choice).

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700


def private_dir(path: Path) -> None:
    """Create ``path`` and any missing parents, each 0700."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # made by another process at the same moment
            continue
        os.chmod(folder, PRIVATE_DIR)


def make_private(path: Path) -> None:
    """Take group and others' access away from a file of ours (one made under another umask
    by an older version); a file owned by someone else is left as it is."""
    try:
        mode = path.stat().st_mode
        if mode & 0o077:
            os.chmod(path, PRIVATE_FILE)
    except (FileNotFoundError, PermissionError):
        pass


def open_private(path: Path, flags: int) -> int:
    """``os.open`` for a file of patient data: created 0600, and made 0600 if it was not."""
    descriptor = os.open(path, flags | os.O_CREAT, PRIVATE_FILE)
    try:
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, PRIVATE_FILE)
    except PermissionError:
        pass
    return descriptor
