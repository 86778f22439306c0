"""A soft chime for calls and help requests. The sound is made here (two sine tones with a
gentle fade, a WAV written once to the cache folder) rather than shipped as a binary asset.

Where no sound device exists (a test machine), Qt plays nothing and says so once in the log;
``played`` still counts, which is what the tests look at."""

from __future__ import annotations

import logging
import math
import struct
import tempfile
import wave
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QUrl

if TYPE_CHECKING:  # for the annotation only: QtMultimedia loads on the first chime
    from PySide6.QtMultimedia import QSoundEffect

log = logging.getLogger(__name__)

RATE = 22050


def chime_file() -> Path:
    path = Path(tempfile.gettempdir()) / "lobby-kiosk-chime.wav"
    if path.exists():
        return path
    frames = bytearray()
    for frequency, seconds in ((880.0, 0.35), (660.0, 0.55)):
        count = int(RATE * seconds)
        for n in range(count):
            fade = min(1.0, n / (RATE * 0.02)) * (1 - n / count) ** 2
            sample = 0.35 * fade * math.sin(2 * math.pi * frequency * n / RATE)
            frames += struct.pack("<h", int(sample * 32767))
    partial = path.with_suffix(".part")
    with wave.open(str(partial), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(bytes(frames))
    partial.replace(path)
    return path


class Chime(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.played = 0
        self._effect: QSoundEffect | None = None

    def play(self) -> None:
        self.played += 1
        if self._effect is None:
            from PySide6.QtMultimedia import QSoundEffect  # loaded on the first chime only

            self._effect = QSoundEffect(self)
            self._effect.setSource(QUrl.fromLocalFile(str(chime_file())))
            self._effect.setVolume(0.6)
        self._effect.play()
