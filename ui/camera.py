"""QR codes held up to the kiosk's camera: a live preview, decoded off the GUI thread.

Frames arrive on a QVideoSink (the preview's); at most one frame every ``interval_ms`` is
decoded with zxing-cpp on a worker, and only while no other decode runs, so the screen never
stutters. With no camera there is no preview and no error: the welcome screen shows the
scanner hint alone.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable

import numpy as np
import zxingcpp
from PySide6.QtCore import QObject
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import (
    QCamera,
    QMediaCaptureSession,
    QMediaDevices,
    QVideoFrame,
    QVideoSink,
)
from PySide6.QtMultimediaWidgets import QVideoWidget

from ui.worker import Worker

log = logging.getLogger(__name__)


def decode_qr(image: QImage) -> str | None:
    """The text of the first QR code in the image, if any (runs on a worker thread)."""
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(gray.constBits(), dtype=np.uint8).reshape(
        gray.height(), gray.bytesPerLine())[:, :gray.width()]
    qr_only = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    found = zxingcpp.read_barcodes(pixels, formats=qr_only)
    return found[0].text if found else None


def camera_available() -> bool:
    return bool(QMediaDevices.videoInputs())


class CameraScanner(QObject):
    """Feeds frames from ``sink`` to the decoder; calls ``on_scan`` with each new code."""

    def __init__(self, sink: QVideoSink, on_scan: Callable[[str], None], *,
                 interval_ms: int = 200, repeat_after_s: float = 5.0,
                 worker: Worker | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.on_scan = on_scan
        self.interval_ms = interval_ms
        self.repeat_after_s = repeat_after_s
        self.worker = worker or Worker(self, threads=1)
        self.enabled = True
        self._decoding = False
        self._last_frame_at = 0.0
        self._last_code: tuple[bytes, float] | None = None
        self.frames_seen = 0
        self.frames_decoded = 0
        sink.videoFrameChanged.connect(self._frame)

    def _frame(self, frame: QVideoFrame) -> None:
        self.frames_seen += 1
        now = time.monotonic()
        if not self.enabled or self._decoding or \
                (now - self._last_frame_at) * 1000 < self.interval_ms:
            return
        image = frame.toImage()
        if image.isNull():
            return
        self._last_frame_at = now
        self._decoding = True
        self.frames_decoded += 1
        self.worker.run(lambda: decode_qr(image), self._decoded, self._failed)

    def _decoded(self, text: str | None) -> None:
        self._decoding = False
        if not text or not self.enabled:
            return  # nothing seen, or the screen moved on while decoding
        now = time.monotonic()
        fingerprint = hashlib.sha256(text.encode()).digest()  # not the code itself
        seen_before = self._last_code is not None and self._last_code[0] == fingerprint and \
            now - self._last_code[1] < self.repeat_after_s
        # Every sighting restarts the wait: a code held up for a while checks in once.
        self._last_code = (fingerprint, now)
        if not seen_before:
            self.on_scan(text)

    def _failed(self, error: Exception) -> None:
        self._decoding = False
        log.warning("camera frame could not be decoded: %s", type(error).__name__)


def camera_preview(on_scan: Callable[[str], None]) -> CameraPreview | None:
    """The welcome screen's live picture, or None when the kiosk has no camera."""
    if not camera_available():
        log.info("no camera: QR codes by scanner only")
        return None
    return CameraPreview(on_scan)


class CameraPreview(QVideoWidget):
    """The live picture on the welcome screen, wired to a CameraScanner."""

    def __init__(self, on_scan: Callable[[str], None]) -> None:
        super().__init__()
        self.camera = QCamera(QMediaDevices.defaultVideoInput())
        self.session = QMediaCaptureSession(self)
        self.session.setCamera(self.camera)
        self.session.setVideoOutput(self)
        self.scanner = CameraScanner(self.videoSink(), on_scan, parent=self)
        self.camera.errorOccurred.connect(
            lambda _error, text: log.warning("camera error: %s", text))
        self.camera.start()
