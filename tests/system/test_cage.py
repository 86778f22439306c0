"""`kiosk run` as the cage unit runs it (packaging/linux/lobby-kiosk-session.service): the
PyInstaller bundle under cage, the Wayland kiosk compositor, as an unprivileged user, on
cage's headless output (1280 x 720, a common 720p panel). Measured twice, independently: what
the kiosk logs (its window's geometry against its screen's, as the compositor configured
them), and a screenshot of the output taken inside the session (grim): the kiosk's
background must reach every edge (a smaller window leaves black there) and nothing may run
off the bottom (the welcome screen fits).

Needs cage, Xwayland (cage 0.1.4 does not start without it) and grim (Debian: cage xwayland
grim; ./dev test installs them); without them the test fails in CI and is skipped elsewhere.
cage refuses to run as root: as root the test runs it as an unprivileged system user of its
own (TEST_USER, created when missing, no home, no login shell), and the bundle is run from a
folder that user can reach.

On the headless backend cage 0.1.4 hands a client's buffer of exactly the output's size to
the output as it is ("direct scan-out") instead of drawing it, and grim then sees the last
frame cage drew itself (the first, laid out before the compositor said the size), or black.
The output is therefore turned half a turn (``-r -r``): still 1280 x 720, but cage draws
every frame, and grim gives the picture a person would see (upright). On a real screen
(DRM) cage draws a shared-memory buffer as usual.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.support.site import unavailable
from tests.system.test_bundle import ROOT, _build, _inputs_key

pytestmark = [pytest.mark.gui, pytest.mark.slow]

TOOLS = {"cage": "cage", "Xwayland": "xwayland", "grim": "grim"}
TEST_USER = "lobby-kiosk-test"
OUTPUT = (1280, 720)  # cage's headless output
BACKGROUND = (0xF4, 0xF7, 0xF6)  # ui.theme.CALM.background, the kiosk window's own colour
HELP_RED = (0x9B, 0x1C, 0x1C)  # ui.theme.CALM.danger: the "I need help" button's frame
COVERS = re.compile(r"the kiosk window covers its screen '[^']*': window (\S+ \S+), "
                    r"screen (\S+ \S+)")
START_SECONDS = 60.0  # the frozen program starting, and cage with it (a few seconds here)
EXIT_AFTER_SECONDS = 6  # `kiosk run --exit-after`: measured well before that, after it shows


@dataclass
class Session:
    """A cage session: who runs it, its runtime folder (Wayland socket), its log."""

    user: str | None  # None: this (unprivileged) process's own user
    runtime: Path
    work: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> str:
        return (self.work / "kiosk.log").read_text(encoding="utf-8", errors="replace")

    def as_user(self, *command: str) -> list[str]:
        return ["runuser", "-u", self.user, "--", *command] if self.user else list(command)

    def socket(self) -> str | None:
        found = sorted(p.name for p in self.runtime.glob("wayland-*") if not p.suffix)
        return found[0] if found else None

    def screenshot(self, path: Path) -> None:
        """grim, as a client of this session (as its user, on its socket)."""
        env = ["env", "-i", "PATH=/usr/bin:/bin", f"XDG_RUNTIME_DIR={self.runtime}",
               f"WAYLAND_DISPLAY={self.socket()}"]
        done = subprocess.run(self.as_user(*env, "grim", str(path)), capture_output=True,
                              text=True, timeout=30, check=False)
        assert done.returncode == 0, f"grim failed: {done.stderr}\n{self.log}"


def require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing.append("runuser")
    if missing:
        packages = " ".join(sorted({TOOLS.get(tool, "util-linux") for tool in missing}))
        unavailable(f"{', '.join(missing)} not installed (Debian: {packages}; "
                    "./dev test installs them)")


def unprivileged_user() -> str | None:
    """TEST_USER when this process is root (created if missing); None otherwise."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        if shutil.which("useradd") is None:
            unavailable("running as root without useradd: no unprivileged user for cage")
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home",
                        "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                        TEST_USER], check=True, capture_output=True, timeout=30)
    return TEST_USER


def reachable(path: Path, user: str | None) -> bool:
    if user is None:
        return os.access(path, os.X_OK)
    return subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(path)],
                          capture_output=True, timeout=30, check=False).returncode == 0


@pytest.fixture
def session_dir() -> Iterator[Path]:
    """A folder under the system's temporary folder that another user can enter (pytest's
    own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="lobby-kiosk-cage-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def cached_bundle() -> Path:
    """The bundle where test_bundle.py's fixture keeps it outside CI: build/bundle-cache,
    built when its inputs (sources, catalogs, packaging, installed packages) changed, under
    the same lock, so that a test run builds it once. (In CI test_bundle.py builds a fresh
    one of its own; sharing one fixture would need it in a conftest.py.)"""
    if importlib.util.find_spec("PyInstaller") is None:
        unavailable("PyInstaller is not installed (pip install -e '.[dev]'; ./dev does)")
    if shutil.which("objdump") is None:
        unavailable("objdump is not installed (Debian: binutils; ./dev test adds it)")
    cache = ROOT / "build" / "bundle-cache"
    cache.mkdir(parents=True, exist_ok=True)
    folder = cache / "dist" / "lobby-kiosk"
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # test_bundle.py's fixture may be building it
        key = _inputs_key()
        stamp = cache / "inputs.sha256"
        if not (stamp.is_file() and stamp.read_text() == key and (folder / "kiosk").is_file()):
            stamp.unlink(missing_ok=True)
            shutil.rmtree(cache / "dist", ignore_errors=True)
            _build(cache / "dist", cache / "work")
            stamp.write_text(key)
    return folder


@pytest.fixture
def program(cached_bundle: Path, session_dir: Path) -> tuple[Path, str | None]:
    """The bundled `kiosk`, where the session's user can run it, and that user."""
    require_tools()
    bundle = cached_bundle
    user = unprivileged_user()
    kiosk = bundle / "kiosk"
    if not reachable(kiosk, user):  # e.g. a bundle built under pytest's private folder
        copy = session_dir / "lobby-kiosk"
        linked = subprocess.run(["cp", "-al", str(bundle), str(copy)], capture_output=True,
                                timeout=120, check=False)
        if linked.returncode != 0:  # another file system: a real copy
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(bundle, copy, symlinks=True)
        kiosk = copy / "kiosk"
        assert reachable(kiosk, user), f"{user} cannot run {kiosk}"
    return kiosk, user


def start_session(kiosk: Path, user: str | None, folder: Path) -> Session:
    """cage, as the unit starts it (but on the headless backend, see the module's note), with
    `kiosk run` as its one client; its settings and data in a folder of the session's own."""
    work, runtime = folder / "work", folder / "runtime"
    work.mkdir()
    runtime.mkdir(mode=0o700)
    (work / "kiosk.toml").write_text('timezone = "Europe/Berlin"\n', encoding="utf-8")
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (work, runtime, work / "kiosk.toml"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    env = [
        "env", "-i", "PATH=/usr/bin:/bin", "LANG=C.UTF-8", f"HOME={work}",
        f"XDG_RUNTIME_DIR={runtime}",
        "WLR_BACKENDS=headless", "WLR_RENDERER=pixman", "WLR_LIBINPUT_NO_DEVICES=1",
        # As lobby-kiosk-session.service sets them:
        f"KIOSK_CONFIG={work / 'kiosk.toml'}", f"XDG_DATA_HOME={work / 'data'}",
        f"XDG_CACHE_HOME={work / 'cache'}", "XDG_SESSION_TYPE=wayland",
        "QT_QPA_PLATFORM=wayland", "QT_WAYLAND_DISABLE_WINDOWDECORATION=1",
    ]
    command = [*env, "cage", "-d", "-r", "-r", "--", str(kiosk), "run",
               "--exit-after", str(EXIT_AFTER_SECONDS)]
    log = (work / "kiosk.log").open("wb")  # cage's and the kiosk's output: root reads it
    process = subprocess.Popen(
        ["runuser", "-u", user, "--", *command] if user else command, stdin=subprocess.DEVNULL,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return Session(user, runtime, work, process)


def stop(session: Session) -> None:
    """The whole session's process group (runuser, cage, the kiosk), bounded."""
    if session.process.poll() is None:
        try:
            session.process.wait(timeout=EXIT_AFTER_SECONDS + 20)  # it exits by itself
        except subprocess.TimeoutExpired:
            os.killpg(session.process.pid, signal.SIGTERM)
            try:
                session.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(session.process.pid, signal.SIGKILL)
                session.process.wait(timeout=10)


def wait_for_measurement(session: Session) -> re.Match[str]:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        found = COVERS.search(session.log)
        if found or session.process.poll() is not None:
            return found or pytest.fail(f"the session ended without the kiosk saying it "
                                        f"covers its screen:\n{session.log}")
        time.sleep(0.2)
    pytest.fail(f"no measurement logged within {START_SECONDS:.0f} s:\n{session.log}")


def rgb(path: Path) -> np.ndarray:
    """The screenshot as a height x width x 3 array (Qt decodes the PNG)."""
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert not image.isNull(), path
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    lines = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                               image.bytesPerLine())
    return lines[:, :image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def share(pixels: np.ndarray, colour: tuple[int, int, int]) -> float:
    """The share of ``pixels`` (... x 3) of ``colour``."""
    return float(np.all(pixels == np.array(colour, np.uint8), axis=-1).mean())


def test_kiosk_run_under_cage_covers_the_720p_output_and_the_welcome_screen_fits(
        program: tuple[Path, str | None], session_dir: Path, tmp_path: Path) -> None:
    kiosk, user = program
    started = time.monotonic()
    session = start_session(kiosk, user, session_dir)
    try:
        measured = wait_for_measurement(session)
        shot = session.work / "output.png"  # where the session's user may write
        time.sleep(0.5)  # a frame after the measurement
        session.screenshot(shot)
        shutil.copy(shot, tmp_path / "cage-1280x720.png")  # kept with the test's files
    finally:
        stop(session)
    log = session.log
    print(f"cage session: {time.monotonic() - started:.1f} s; screenshot "
          f"{tmp_path / 'cage-1280x720.png'}\n{log}")

    # What the kiosk measured: its window is the compositor's whole output.
    assert measured.group(1) == measured.group(2) == "0,0 1280x720", measured.group(0)
    assert "does not cover its screen" not in log, log
    assert "need at least" not in log, log  # the kiosk's screens fit its screen
    assert "Traceback" not in log and "kiosk.unexpected" not in log, log
    assert "welcome screen shown" in log, log

    # What the output shows, independently of what the kiosk says.
    pixels = rgb(tmp_path / "cage-1280x720.png")
    assert pixels.shape[:2] == (OUTPUT[1], OUTPUT[0]), pixels.shape
    # No black band: not one row or column of the output is all black, and every edge is the
    # kiosk's background (a window smaller than the output, or placed elsewhere, leaves the
    # compositor's black along the right or the bottom).
    black = np.all(pixels == 0, axis=-1)
    assert not black.all(axis=1).any() and not black.all(axis=0).any(), "a black band"
    for name, edge in (("top", pixels[0]), ("bottom", pixels[-1]),
                       ("left", pixels[:, 0]), ("right", pixels[:, -1])):
        assert share(edge, BACKGROUND) > 0.95, f"the {name} edge is not the kiosk's background"
    # The welcome screen fits: nothing runs off the bottom (the last rows are the window's
    # margin, background only), and the language grid, the lowest part of the screen, ends
    # just above that margin.
    assert share(pixels[-8:], BACKGROUND) == 1.0, "something runs off the bottom of the screen"
    background = np.all(pixels == np.array(BACKGROUND, np.uint8), axis=-1)
    lowest = int(np.flatnonzero(~background.all(axis=1)).max())
    assert OUTPUT[1] - 40 <= lowest < OUTPUT[1] - 8, lowest
    # "I need help" is on the screen, in the top right.
    assert share(pixels[:120, OUTPUT[0] // 2:], HELP_RED) > 0.005, "no help button top right"
