"""Where the project's data folders (locales/, assets/) are: next to the package in a checkout
or an editable install, or under ``<prefix>/share/lobby-kiosk`` when installed from a wheel."""

from __future__ import annotations

import sys
from pathlib import Path

SHARE = Path("share") / "lobby-kiosk"


def data_dir(name: str) -> Path:
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    installed = Path(sys.prefix) / SHARE / name
    return installed if installed.is_dir() else checkout
