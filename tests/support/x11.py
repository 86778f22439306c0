"""A real X server for tests: Xvfb at a chosen screen size on a display number it picks itself
(``-displayfd``: no guessed number, no fixed sleep), and the X tools a test drives it with.

    with XServer(1080, 1920) as x:
        subprocess.run(["xdotool", "getmouselocation"], env=x.env(), check=True)

A missing tool is :func:`tests.support.site.unavailable`: a failure in CI, a skip elsewhere.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType

from tests.support.site import unavailable

XVFB_TOOLS = ("Xvfb", "xdotool")
DEBIAN_PACKAGES = {"Xvfb": "xvfb", "xdotool": "xdotool", "xwininfo": "x11-utils",
                   "xdpyinfo": "x11-utils"}
START_SECONDS = 30.0
STOP_SECONDS = 10.0


class XServerError(RuntimeError):
    """Xvfb did not start (or said why not)."""


def require_tools(tools: Iterable[str] = XVFB_TOOLS) -> None:
    """Every tool on PATH, or :func:`unavailable` naming the missing ones and their packages."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(tool, tool) for tool in missing})
        unavailable(f"{', '.join(missing)} not installed (Debian: {' '.join(packages)}; "
                    "./dev test installs them; "
                    "Qt's xcb plugin also needs libxcb-cursor0 libxcb-icccm4 libxcb-image0 "
                    "libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0)")


@dataclass(frozen=True)
class WindowGeometry:
    """Where X says a window is (``xdotool getwindowgeometry``), in screen pixels."""

    x: int
    y: int
    width: int
    height: int

    def covers(self, width: int, height: int) -> bool:
        return (self.x, self.y) == (0, 0) and (self.width, self.height) == (width, height)


class XServer:
    """Xvfb with one screen of ``width`` x ``height`` x ``depth``; :meth:`stop` (or leaving
    the ``with`` block) ends it and waits for it. :attr:`display` is ``":N"``."""

    def __init__(self, width: int, height: int, depth: int = 24, *,
                 start_seconds: float = START_SECONDS) -> None:
        require_tools(("Xvfb",))
        self.width, self.height, self.depth = width, height, depth
        # What Xvfb says goes to a file: a pipe nobody reads could fill up and stall it.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (open while Xvfb runs)
        self._said = ""
        read_end, write_end = os.pipe()
        try:
            # -displayfd: Xvfb takes the first free display number and writes it to the
            # pipe once it accepts connections. -nolisten tcp: local clients only.
            self.process = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_end), "-screen", "0",
                 f"{width}x{height}x{depth}", "-nolisten", "tcp", "-noreset"],
                pass_fds=(write_end,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=self._log)
        finally:
            os.close(write_end)
        try:
            number = _read_display_number(read_end, self.process, start_seconds)
        except XServerError as problem:
            self.stop()
            raise XServerError(f"{problem}; Xvfb said: {self.said()[-2000:]}") from None
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(read_end)
        self.display = f":{number}"

    def env(self, base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
        """An environment for a client of this server: DISPLAY set, Qt on its xcb plugin."""
        env = dict(os.environ if base is None else base)
        env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb", **extra)
        env.pop("WAYLAND_DISPLAY", None)
        return env

    def run(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
        """An X tool against this server (``xdotool``, ``xwininfo``...), output captured."""
        return subprocess.run(list(args), env=self.env(), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def window_geometry(self, window_id: int) -> WindowGeometry:
        return window_geometry(window_id, self.env())

    def said(self) -> str:
        """What Xvfb wrote to its standard error so far."""
        if not self._log.closed:
            self._log.seek(0)
            self._said = self._log.read().decode(errors="replace")
        return self._said

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_SECONDS)
        self.said()
        self._log.close()

    def __enter__(self) -> XServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"XServer({self.display}, {self.width}x{self.height}x{self.depth})"


def window_geometry(window_id: int, env: Mapping[str, str] | None = None) -> WindowGeometry:
    """What X itself says about a window (``xdotool getwindowgeometry``), on the display in
    ``env`` (default: this process's). Qt's own idea can differ: under X without a window
    manager ``showFullScreen()`` changes the window's state, not its size."""
    done = subprocess.run(["xdotool", "getwindowgeometry", "--shell", str(window_id)],
                          env=None if env is None else dict(env), capture_output=True,
                          text=True, timeout=20, check=False)
    values = dict(line.split("=", 1) for line in done.stdout.split() if "=" in line)
    if done.returncode != 0 or not {"X", "Y", "WIDTH", "HEIGHT"} <= values.keys():
        raise XServerError(f"xdotool getwindowgeometry {window_id}: {done.stderr.strip()}")
    return WindowGeometry(int(values["X"]), int(values["Y"]), int(values["WIDTH"]),
                          int(values["HEIGHT"]))


def _read_display_number(fd: int, process: subprocess.Popen[bytes], seconds: float) -> int:
    """The number Xvfb writes to ``fd`` (a line of digits) when it is ready; bounded."""
    deadline = time.monotonic() + seconds
    data = b""
    while not data.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise XServerError(f"Xvfb gave no display number within {seconds:.0f} s")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:  # the pipe closed: Xvfb is gone
                break
            data += chunk
        elif process.poll() is not None:
            break
    if not data.strip().isdigit():
        raise XServerError(f"Xvfb did not start (exit status {process.poll()})")
    return int(data.strip())
