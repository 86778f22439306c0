"""Camera QR decoding: frames pushed into a QVideoSink (no camera here), decoded off the GUI
thread, throttled, and a new code routed to check-in once."""

from __future__ import annotations

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
