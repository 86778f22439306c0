"""The checks of ``kiosk doctor`` that need Qt: a font for every language offered, the
camera, and a text-to-speech engine. Runs offscreen; needs no display."""

from __future__ import annotations

import os

from PySide6.QtGui import QFontDatabase
from PySide6.QtMultimedia import QMediaDevices
from PySide6.QtTextToSpeech import QTextToSpeech

from kiosk.base.settings import Settings
from kiosk.ops.doctor import FAIL, OK, WARN, Check
from ui.app import application


def checks(settings: Settings) -> list[Check]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before the application starts
    application()
    return [*fonts(settings, QFontDatabase), camera(), speech(settings)]


def fonts(settings: Settings, database: type[QFontDatabase]) -> list[Check]:
    system = database.WritingSystem
    writing = {"ar": system.Arabic, "fa": system.Arabic, "zh_Hans": system.SimplifiedChinese,
               "zh_Hant": system.TraditionalChinese, "ko": system.Korean,
               "hi": system.Devanagari, "ru": system.Cyrillic, "vi": system.Vietnamese}
    missing = [code for code in settings.languages
               if not database.families(writing.get(code, system.Latin))]
    if missing:
        return [Check("fonts", FAIL, "no font for " + ", ".join(missing)
                      + " (Debian: fonts-noto-core fonts-noto-cjk)")]
    return [Check("fonts", OK, f"a font for each of {len(settings.languages)} languages")]


def camera() -> Check:
    cameras = QMediaDevices.videoInputs()
    if not cameras:
        return Check("camera", WARN, "none: QR codes by scanner only")
    return Check("camera", OK, ", ".join(camera.description() for camera in cameras[:2]))


def speech(settings: Settings) -> Check:
    engines = [name for name in QTextToSpeech.availableEngines() if name != "mock"]
    wanted = settings.speak_guidance or settings.board_announce
    if not engines:
        return Check("speech", FAIL if wanted else OK,
                     "no text-to-speech engine" + (" but speak_guidance or board_announce is "
                                                   "on" if wanted else " (not asked for)"))
    return Check("speech", OK, ", ".join(engines))
