"""Camera QR decoding: frames pushed into a QVideoSink (no camera here), decoded off the GUI
thread, throttled, and a new code routed to check-in once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QVideoFrame, QVideoSink

from kiosk.domain import tokens
from kiosk.domain.flow import Step
from tests.support.site import DAY


def qr_frame(tmp_path, text: str) -> QVideoFrame:
    tokens.write_png(text, tmp_path / "code.png")
    image = QImage(str(tmp_path / "code.png")).convertToFormat(QImage.Format.Format_RGB32)
    return QVideoFrame(image)


def test_a_code_shown_to_the_camera_is_decoded_once(qtbot, tmp_path):
    from ui.camera import CameraScanner

    sink = QVideoSink()
    scans: list[str] = []
    scanner = CameraScanner(sink, scans.append, interval_ms=0)
    token = "LK1AETF75XMDLIDEAJ7ZO5T2T22SYOWLQKV54"
    sink.setVideoFrame(qr_frame(tmp_path, token))
    qtbot.waitUntil(lambda: scans == [token], timeout=5000)
    for _ in range(5):  # the patient keeps holding it up: new frames, no second check-in
        qtbot.waitUntil(lambda: not scanner._decoding, timeout=5000)
        sink.setVideoFrame(qr_frame(tmp_path, token))
        qtbot.wait(20)
    qtbot.waitUntil(lambda: not scanner._decoding, timeout=5000)
    assert scanner.frames_decoded == 6
    assert scans == [token]


def test_frames_are_throttled_and_blank_frames_are_ignored(qtbot, tmp_path):
    from ui.camera import CameraScanner

    sink = QVideoSink()
    scans: list[str] = []
    scanner = CameraScanner(sink, scans.append, interval_ms=10_000)
    for shade in range(20):  # distinct frames, with the event loop running between them
        blank = QImage(320, 240, QImage.Format.Format_RGB32)
        blank.fill(0xFFFFFF - shade)
        sink.setVideoFrame(QVideoFrame(blank))
        qtbot.wait(10)
    qtbot.waitUntil(lambda: not scanner._decoding, timeout=5000)
    assert scanner.frames_seen == 20 and scanner.frames_decoded == 1
    assert scans == []


def test_camera_scan_checks_in_through_the_kiosk(qtbot, tmp_path, sqlite_ctx, sqlite_day):
    from PySide6.QtWidgets import QApplication

    from ui.app import build_kiosk
    from ui.camera import CameraScanner

    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    window.show()
    sink = QVideoSink()
    CameraScanner(sink, lambda text: window.run(window.flow.scanned(text)), interval_ms=0,
                  parent=window)
    token = tokens.issue(sqlite_ctx.qr_secret, "main", sqlite_day["oneil"].appointment, DAY)
    sink.setVideoFrame(qr_frame(tmp_path, token))
    qtbot.waitUntil(lambda: window.flow.step == Step.RESULT, timeout=5000)
    assert window.flow.result.given_name == "Siobhán"
    QApplication.instance().removeEventFilter(window.scanner)
    window.worker.wait()


def test_without_a_camera_the_welcome_screen_shows_the_scanner_hint_only(qtbot, sqlite_ctx):
    from PySide6.QtWidgets import QApplication

    from ui.app import build_kiosk
    from ui.camera import camera_available

    assert not camera_available()  # this machine has none
    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    window.show()
    welcome = window.pages[Step.WELCOME]
    assert welcome.camera is None and not welcome.camera_hint.isVisible()
    assert welcome.scan_hint.isVisible()
    QApplication.instance().removeEventFilter(window.scanner)


def test_with_no_video_device_the_camera_stack_is_not_even_loaded(tmp_path):
    """Linux names every camera /dev/videoN: with none, QtMultimedia, FFmpeg and the decoder
    stay out of the kiosk's memory (the check above, with the stack loaded, is for other
    systems and for a device that is not a camera)."""
    from ui.app import no_video_device

    assert no_video_device(str(tmp_path / "video*"))
    (tmp_path / "video0").touch()
    assert not no_video_device(str(tmp_path / "video*"))
    probe = ("import sys, ui.app; ui.app.no_video_device = lambda: True; "
             "ui.app.attach_camera(None, None); "
             "print(sorted(m for m in ('PySide6.QtMultimedia', 'ui.camera', 'zxingcpp') "
             "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, timeout=120,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]", done.stdout
