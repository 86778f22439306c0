"""Screenshots of the appointment email as a mail reader shows it (HTML part, inline QR image),
to look at: ``.venv/bin/python bench/message_screens.py [OUT_DIR] [LANGUAGE ...]`` (by
default into message-screens/ in the temporary folder, in English, Arabic and Chinese).

Renders with Chromium (QtWebEngine) offscreen, at a phone's width and a desktop reader's, the
inline image given as the ``cid:`` part it is in the message. Also prints each language's text
messages with their length and parts. Not a test: the pictures are for people to look at.
"""

from __future__ import annotations

import base64
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Chromium refuses to start as root without this; nothing here loads anything remote.
os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", "--no-sandbox --disable-gpu")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QEventLoop, QTimer, QUrl
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication

from kiosk.domain import tokens
from kiosk.messages.render import (
    AppointmentFacts,
    MessageKind,
    render_email,
    render_sms,
    sms_encoding,
    sms_segments,
)

ZONE = ZoneInfo("America/New_York")
STARTS = datetime(2026, 12, 3, 14, 5, tzinfo=ZONE)
WIDTHS = {"phone": 390, "desktop": 820}


def facts(language: str, kind: MessageKind) -> AppointmentFacts:
    token = tokens.issue(b"s" * 32, "main", "appt-42", STARTS.date())
    return AppointmentFacts(
        kind=kind, language=language, practice="Riverside Family Practice",
        starts_at=STARTS, provider="Dr. Amelia Hernández", place="Main Street, 2nd floor",
        token=None if kind == MessageKind.CANCELLED else token,
        uid="appt-42@riverside.example", sequence=1, ends_at=STARTS + timedelta(minutes=20))


def page_with_images(language: str, kind: MessageKind) -> str:
    """The HTML part with each cid: image replaced by its bytes (a browser has no message)."""
    message = render_email(facts(language, kind), sender="Riverside <a@riverside.example>",
                           recipient="patient@example.org", message_id="<m1@riverside.example>",
                           now=STARTS - timedelta(days=2))
    page = ""
    images: dict[str, bytes] = {}
    for part in message.walk():
        if part.get_content_type() == "text/html":
            page = part.get_content()  # type: ignore[attr-defined]
        elif part.get_content_type() == "image/png":
            images[part["Content-ID"].strip("<>")] = part.get_content()  # type: ignore[attr-defined]
    for content_id, data in images.items():
        page = page.replace(f"cid:{content_id}",
                            "data:image/png;base64," + base64.b64encode(data).decode())
    return page


def shoot(view: QWebEngineView, page: str, width: int, path: Path) -> None:
    loop = QEventLoop()
    view.loadFinished.connect(loop.quit)
    view.resize(width, 600)
    view.setHtml(page, QUrl("about:blank"))
    loop.exec()
    view.loadFinished.disconnect(loop.quit)
    height = []
    view.page().runJavaScript("document.documentElement.scrollHeight", 0,
                              lambda value: (height.append(int(value)), loop.quit()))
    loop.exec()
    view.resize(width, height[0])
    QTimer.singleShot(600, loop.quit)  # let Chromium paint at the new size
    loop.exec()
    view.grab().save(str(path))


def main() -> None:
    arguments = sys.argv[1:]
    out = Path(arguments.pop(0)) if arguments and "/" in arguments[0] else \
        Path(tempfile.gettempdir()) / "message-screens"
    languages = arguments or ["en", "ar", "zh_Hans"]
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    view = QWebEngineView()
    view.show()
    for language in languages:
        for kind in (MessageKind.CONFIRMATION, MessageKind.CANCELLED):
            page = page_with_images(language, kind)
            for name, width in WIDTHS.items():
                path = out / f"email-{language}-{kind.value}-{name}.png"
                shoot(view, page, width, path)
                print(path)
            text = render_sms(facts(language, kind))
            print(f"  sms {kind.value}: {len(text)} characters, {sms_encoding(text)}, "
                  f"{sms_segments(text)} part(s): {text}")
    del app


if __name__ == "__main__":
    main()
