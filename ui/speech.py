"""Spoken guidance: each screen read aloud in the patient's language, where a text-to-speech
engine and a voice for that language exist (QtTextToSpeech). Never in another language: a
screen with no voice for its language stays silent."""

from __future__ import annotations

import logging
from collections import deque

from PySide6.QtCore import QLocale
from PySide6.QtTextToSpeech import QTextToSpeech

log = logging.getLogger(__name__)


class Guide:
    def __init__(self, engine: str | None = None) -> None:
        self.tts = QTextToSpeech(engine) if engine else QTextToSpeech()
        # The last few things said (language, text), for drills and tests; forgotten with
        # each patient.
        self.spoken: deque[tuple[str, str]] = deque(maxlen=10)

    @classmethod
    def create(cls, engine: str | None = None) -> Guide | None:
        if not QTextToSpeech.availableEngines():
            log.info("no text-to-speech engine: spoken guidance is off")
            return None
        return cls(engine)

    def voice_for(self, language: str) -> QLocale | None:
        wanted = QLocale(language)
        for locale in self.tts.availableLocales():
            if locale.language() == wanted.language():
                return locale
        return None

    def forget(self) -> None:
        self.tts.stop()
        self.spoken.clear()

    def say(self, text: str, language: str) -> bool:
        locale = self.voice_for(language)
        if locale is None:
            return False
        self.tts.stop()
        self.tts.setLocale(locale)
        self.tts.say(text)
        self.spoken.append((language, text))
        return True
