"""Renders the README's screenshots of the patient kiosk, offscreen, on a throw-away demo
database: ``.venv/bin/python docs/make_screenshots.py [OUT_DIR]``."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtWidgets import QPushButton
from sqlalchemy import delete

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.base.clock import FixedClock
from kiosk.base.settings import load_settings
from kiosk.domain.flow import Step
from kiosk.ops.demo import generate_day, seed_history
from kiosk.store.db import Database
from kiosk.store.models import Visit
from kiosk.store.site import SiteContext
from ui.app import application, build_kiosk
from ui.kiosk.pages.birth_date import BirthDatePage
from ui.kiosk.pages.name import NamePage

DAY = date(2026, 3, 2)
TZ = ZoneInfo("Europe/Berlin")


def throwaway_site(start: datetime) -> tuple[SiteContext, FixedClock]:
    """A site on a new SQLite file in a temporary folder, its clock fixed at ``start``."""
    url = f"sqlite:///{tempfile.mkdtemp()}/demo.sqlite3"
    settings = load_settings(environ={}, overrides={"database_url": url,
                                                    "timezone": "Europe/Berlin"})
    database = Database(url)
    database.upgrade()
    clock = FixedClock(start)
    return SiteContext.open(settings, database, clock), clock


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    ctx, clock = throwaway_site(datetime(2026, 3, 2, 8, 5, tzinfo=TZ))
    database = ctx.db
    generate_day(ctx, DAY, 40)
    seed_history(ctx, DAY)
    app = application()
    window = build_kiosk(ctx)
    window.resize(1280, 800)
    window.show()
    flow = window.flow

    def snap(name: str) -> None:
        app.processEvents()
        window.worker.wait()
        app.processEvents()
        window.grab().save(str(out / f"{name}.png"))

    for language in ("en", "ar", "zh_Hans"):
        flow.reset()
        flow.choose_language(language)
        snap(f"{language}-welcome")
        flow.start_name_entry()
        snap(f"{language}-family-name")
        flow.submit_family("García-López")
        snap(f"{language}-date-of-birth")
        window.run(flow.submit_birth_date("2", "7", "1984"))
        snap(f"{language}-checked-in")
        flow.reset()
        with database.write() as session:  # the next language's screenshot checks in anew
            session.execute(delete(Visit))
    # The keyboards of the languages whose names have letters of their own, with a name typed
    # on them as a patient would (Hangul composed from the jamo tapped).
    page = window.pages[Step.FAMILY_NAME]
    assert isinstance(page, NamePage)
    for language, taps in (("ko", "ㄱㅣㅁ"), ("hi", "कप\u0942र"), ("ru", "ИВАНОВА"),
                           ("fa", "کریمی")):
        flow.reset()
        flow.choose_language(language)
        flow.start_name_entry()
        for tap in taps:
            key = next(key for key in page.keyboard.findChildren(QPushButton)
                       if key.text() == tap)
            key.click()
        snap(f"{language}-family-name")
    # The date of birth typed on the keypad: in Persian in the Solar Hijri calendar (1 Farvardin
    # 1363 is 21 March 1984), and in English a two-digit year that could be 1915 or 2015.
    dates = window.pages[Step.BIRTH_DATE]
    assert isinstance(dates, BirthDatePage)
    keys = dates.keypad.digits  # by their Western digit, whatever digits they show
    for language, taps, name in (("fa", "136301", "fa-date-of-birth"),
                                 ("en", "060115", "en-date-of-birth-problem")):
        flow.reset()
        flow.choose_language(language)
        flow.start_name_entry()
        flow.submit_family("Okafor")
        for tap in taps:
            keys[tap].click()
        if language == "en":
            dates.check_in.click()
        snap(name)
    flow.reset()
    flow.start_name_entry()
    flow.submit_family("Okafor")
    clock.advance(seconds=46)
    flow.tick()
    snap("en-timeout-warning")
    flow.reset()
    window.contrast.setChecked(True)
    window.larger.setChecked(True)
    flow.start_name_entry()
    snap("en-high-contrast-larger-text")
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
