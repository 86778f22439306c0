"""The kiosk's weight on kiosk hardware, against a bare PySide6 window measured in the same run.

Kiosks run on low-power boxes, and a kiosk restarted after a fault shows a black screen until its
first frame. An absolute target hides the machine: each figure here is a ratio to a bare window
(one QLabel in a QWidget, 1280 x 800) started the same way, alternately, in the same run.

1. Start to first frame: a fresh interpreter runs ``kiosk run --windowed`` exactly as the CLI
   does (``ui.launcher.main``: settings, database, migration check, site, window) on a seeded
   SQLite file, and exits at the first Paint event of the welcome page. The bare window exits at
   its first Paint event. Wall time around each process. Target: kiosk <= 2x bare (median).
2. Resident memory at that first frame (VmRSS). Target: kiosk <= 2.5x bare.
3. Modules loaded at the first frame that it does not need (Alembic, numpy, requests, Faker,
   the camera's and speech's Qt modules): listed; the target is none.
4. With ``--bundle DIR`` (a folder made by packaging/build-bundle.sh): its size by component.
   Target: <= 250 MB.

Both children run with PYTHONDONTWRITEBYTECODE=1: start-up must not depend on compiling source
(./dev setup, the bundle and the .deb compile bytecode when installing).

    .venv/bin/python bench/footprint.py [--starts N] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_RATIO, RSS_RATIO, BUNDLE_MB = 2.0, 2.5, 250.0
NOT_FOR_THE_FIRST_FRAME = ("alembic", "numpy", "requests", "faker", "PySide6.QtMultimedia",
                           "PySide6.QtTextToSpeech", "zxingcpp", "fhirpy")

# Exits at the first paint of the watched widget, printing the figures as one JSON line.
FIRST_PAINT = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

def rss_mb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

class FirstPaint(QObject):
    def __init__(self, wanted):
        super().__init__()
        self.wanted = wanted
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint and self.wanted(watched):
            import json
            print(json.dumps({"rss_mb": rss_mb(), "modules": sorted(sys.modules)}), flush=True)
            os._exit(0)
        return False
"""

BARE = FIRST_PAINT + """
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget
app = QApplication(sys.argv[:1])
window = QWidget()
label = QLabel("Welcome", window)
QVBoxLayout(window).addWidget(label)
watch = FirstPaint(lambda widget: widget is window)
app.installEventFilter(watch)
window.resize(1280, 800)
window.show()
app.exec()
"""

KIOSK = FIRST_PAINT + """
sys.path.insert(0, sys.argv[1])
app = QApplication(sys.argv[:1])  # ui.app.application() takes this one
watch = FirstPaint(lambda widget: type(widget).__name__ == "WelcomePage")
app.installEventFilter(watch)
from ui.launcher import main
main(["--db", sys.argv[2], "--now", sys.argv[3], "run", "--windowed", "--exit-after", "60"])
"""


def child_env() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIOSK_")}
    return {**env, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1",
            "KIOSK_CONFIG": "", "KIOSK_TIMEZONE": "Europe/Berlin"}


def run_child(code: str, *args: str) -> tuple[float, dict[str, object]]:
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=child_env(), timeout=120, check=False)
    wall = time.perf_counter() - began
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"a child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return wall, json.loads(lines[-1])


def seeded_database(folder: Path) -> tuple[str, str]:
    sys.path.insert(0, str(ROOT))
    from kiosk.base.clock import FixedClock
    from kiosk.ops.demo import generate_day
    from tests.support.site import DAY, at, make_ctx, make_settings

    url = f"sqlite:///{folder / 'kiosk.sqlite3'}"
    ctx = make_ctx(make_settings(url), FixedClock(at(7, 0)))
    try:
        generate_day(ctx, DAY, appointments=2000, seed=1, patients=8000)
    finally:
        ctx.db.dispose()
    return url, at(8, 0).isoformat()


def measure(starts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        url, now = seeded_database(Path(folder))
        bare: list[tuple[float, float]] = []
        kiosk: list[tuple[float, float]] = []
        loaded: set[str] = set()
        for _ in range(starts):  # alternately, so that both meet the same machine
            wall, figures = run_child(BARE)
            bare.append((wall, float(figures["rss_mb"])))  # type: ignore[arg-type]
            wall, figures = run_child(KIOSK, str(ROOT), url, now)
            kiosk.append((wall, float(figures["rss_mb"])))  # type: ignore[arg-type]
            loaded |= set(figures["modules"])  # type: ignore[arg-type]
    bare_start = statistics.median(wall for wall, _ in bare)
    kiosk_start = statistics.median(wall for wall, _ in kiosk)
    bare_rss = statistics.median(rss for _, rss in bare)
    kiosk_rss = statistics.median(rss for _, rss in kiosk)
    start_ratio, rss_ratio = kiosk_start / bare_start, kiosk_rss / bare_rss
    print(f"1. start to first frame, median of {starts} (fresh interpreters, no .pyc written)")
    print(f"   bare PySide6 window {bare_start:.3f} s, kiosk {kiosk_start:.3f} s: "
          f"{start_ratio:.2f}x (target <= {START_RATIO}x: {verdict(start_ratio <= START_RATIO)})")
    print("   runs, bare:  " + " ".join(f"{wall:.2f}" for wall, _ in bare))
    print("   runs, kiosk: " + " ".join(f"{wall:.2f}" for wall, _ in kiosk))
    print("2. resident memory at the first frame")
    print(f"   bare {bare_rss:.0f} MB, kiosk {kiosk_rss:.0f} MB: {rss_ratio:.2f}x "
          f"(target <= {RSS_RATIO}x: {verdict(rss_ratio <= RSS_RATIO)})")
    needless = sorted(name for name in NOT_FOR_THE_FIRST_FRAME if name in loaded)
    print("3. loaded before the first frame without being needed for it: "
          + (", ".join(needless) if needless else "none"))
    return {"start_ratio": start_ratio, "rss_ratio": rss_ratio}


# The bundle's parts, by the path prefix (inside _internal/) that holds them.
COMPONENTS = {
    "PySide6 (Qt)": ("PySide6", "shiboken6"),
    "babel locale data": ("babel",),
    "numpy": ("numpy", "numpy.libs"),
    "Pillow": ("PIL", "pillow.libs"),
    "Faker (demo data)": ("faker",),
    "cryptography": ("cryptography",),
    "psycopg": ("psycopg", "psycopg_binary", "psycopg_binary.libs"),
    "SQLAlchemy": ("sqlalchemy",),
    "the kiosk (code, locales, assets)": ("kiosk", "ui", "locales", "assets"),
}


def bundle_sizes(folder: Path) -> float:
    inside = folder / "_internal" if (folder / "_internal").is_dir() else folder
    sizes: dict[str, int] = {name: 0 for name in COMPONENTS}
    other = 0
    for path in inside.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        top = path.relative_to(inside).parts[0]
        for name, prefixes in COMPONENTS.items():
            if top in prefixes:
                sizes[name] += path.stat().st_size
                break
        else:
            other += path.stat().st_size
    total = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"4. bundle {folder}: {total / 1e6:.0f} MB "
          f"(target <= {BUNDLE_MB:.0f} MB: {verdict(total / 1e6 <= BUNDLE_MB)})")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"   {size / 1e6:7.1f} MB  {name}")
    print(f"   {other / 1e6:7.1f} MB  everything else (Python, other libraries)")
    return total / 1e6


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=7)
    parser.add_argument("--bundle", type=Path, help="a bundle folder to weigh")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    measure(args.starts)
    if args.bundle:
        bundle_sizes(args.bundle)


if __name__ == "__main__":
    main()
