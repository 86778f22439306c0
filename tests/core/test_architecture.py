"""The core (kiosk/) never imports Qt: it runs and is tested on machines without it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "kiosk"
FORBIDDEN = ("PySide6", "shiboken6", "ui")


def test_no_core_module_imports_qt_or_the_screens():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names
                          if name.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_importing_every_core_module_loads_no_qt():
    modules = sorted(".".join(p.relative_to(CORE.parent).with_suffix("").parts)
                     for p in CORE.rglob("*.py")
                     if p.stem != "__init__" and "migrations" not in p.parts)
    assert len(modules) > 40  # every floor's modules, not an empty list
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
            "assert not bad, bad\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr


def test_the_kiosk_window_and_the_start_path_load_nothing_the_first_frame_does_not_need():
    """The start path (the CLI, ui.app and the window) loads none of what the first frame
    does not show: the database machinery, the services, the sync, the estimator, demo data,
    the camera, speech, the lockdown (`kiosk run` loads it) and the pages after the welcome
    page all load after the first frame or when used (tests/ui/test_start.py runs that)."""
    deferred = ("sqlalchemy", "alembic", "numpy", "requests", "faker", "zxingcpp",
                "PySide6.QtMultimedia", "PySide6.QtTextToSpeech", "kiosk.store.db",
                "kiosk.store.site", "kiosk.services.checkin", "kiosk.services.lobby",
                "babel.dates", "babel.support", "jdatetime", "logging.handlers", "ui.lockdown",
                "ui.kiosk.pages.name", "ui.kiosk.pages.birth_date", "ui.kiosk.pages.result")
    probe = ("import sys; import ui.launcher, ui.app, ui.kiosk.window, ui.scanner, ui.worker; "
             f"print(sorted(m for m in {deferred!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True, cwd=CORE.parent)
    assert done.stdout.strip() == "[]", done.stdout
