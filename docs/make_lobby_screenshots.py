"""Renders the README's screenshots of reception's window and the lobby board, offscreen, on
a throw-away demo lobby (a morning with check-ins, calls, one help request):
``.venv/bin/python docs/make_lobby_screenshots.py [OUT_DIR]``."""

from __future__ import annotations

import os
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from docs.make_screenshots import throwaway_site
from kiosk.base.clock import FixedClock, local_day_bounds
from kiosk.ops.demo import generate_day, seed_history
from kiosk.services import site_settings
from kiosk.services.checkin import CheckinService
from kiosk.services.lobby import heartbeat, request_help
from kiosk.services.queue import QueueService
from kiosk.services.staff import add_staff
from kiosk.store.models import Appointment, StaffRole
from kiosk.store.site import SiteContext
from ui.app import application, build_kiosk
from ui.board.window import BoardWindow
from ui.lockdown import StaffExitDialog
from ui.reception.window import ReceptionWindow

DAY = date(2026, 3, 2)
TZ = ZoneInfo("Europe/Berlin")
LANGUAGES = ["en", "ar", "zh_Hans", "es", "en", "ar", "vi", "en", "zh_Hans", "en", "ru", "en"]


def lobby(ctx: SiteContext, clock: FixedClock) -> None:
    """A morning: twelve patients check in over 40 minutes, four are called."""
    generate_day(ctx, DAY, 40)
    seed_history(ctx, DAY)
    with ctx.db.read() as session:
        start, _ = local_day_bounds(DAY, TZ)
        ids = session.scalars(select(Appointment.external_id).where(Appointment.start >= start)
                              .order_by(Appointment.start).limit(len(LANGUAGES))).all()
    checkin = CheckinService(ctx)
    for external_id, language in zip(ids, LANGUAGES, strict=True):
        checkin.by_staff(external_id, actor="demo", language=language)
        clock.advance(minutes=3)
    queue = QueueService(ctx)
    rows = queue.rows()
    for row, room in zip(rows[:4], ["Room 1", "Room 2", "Room 3", "Room 4"], strict=False):
        queue.act(row.ticket, "call", actor="Reception", room=room)
        clock.advance(minutes=1)
    queue.act(rows[0].ticket, "start", actor="Reception")
    heartbeat(ctx, "kiosk-1", clock.now(), "0.1.0")
    heartbeat(ctx, "kiosk-2", clock.now(), "0.1.0")
    clock.advance(minutes=2)
    heartbeat(ctx, "kiosk-1", clock.now(), "0.1.0")
    request_help(ctx, "kiosk-1", "date_of_birth")
    request_help(ctx, "kiosk-2", "result", visit_id=rows[-1].visit_id)  # after checking in


def settle(app, widget) -> None:  # type: ignore[no-untyped-def]
    """Until every core call the window (or dialog) made off the GUI thread has answered, and
    its background read has been shown."""

    def settled() -> bool:
        if hasattr(widget, "settled"):  # reception, the board
            return bool(widget.settled)
        ops = getattr(widget, "ops", None)  # the staff exit
        return ops is None or ops.idle

    while not settled():
        app.processEvents()
        time.sleep(0.005)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    ctx, clock = throwaway_site(datetime(2026, 3, 2, 8, 0, tzinfo=TZ))
    lobby(ctx, clock)
    add_staff(ctx, "Reception", "2468")
    app = application()

    def snap(widget, name: str) -> None:  # type: ignore[no-untyped-def]
        app.processEvents()
        settle(app, widget)
        for _ in range(3):
            app.processEvents()
        widget.grab().save(str(out / f"{name}.png"))

    add_staff(ctx, "Ines (admin)", "3691", admin=True)
    site_settings.save(ctx, {"welcome_message": "Flu vaccinations today without appointment"},
                       actor="demo", role=StaffRole.ADMIN)
    english = ctx.settings
    for language in ("en", "ar", "zh_Hans"):
        ctx.settings = english.replace(staff_language=language)
        reception = ReceptionWindow(ctx)
        reception.resize(1400, 800)
        reception.show()
        snap(reception, f"{language}-reception-sign-in")  # the staff names read by now
        reception.sign_in_page.who.setCurrentText("Reception")
        reception.sign_in_page.pin.setText("2468")
        reception.sign_in_page.submit()
        settle(app, reception)
        reception.queue_tab.select_ticket(reception.model.rows[-1].ticket)
        snap(reception, f"{language}-reception-queue")
        reception.tabs.setCurrentIndex(2)
        snap(reception, f"{language}-reception-kiosks")
        reception.tabs.setCurrentIndex(3)
        snap(reception, f"{language}-reception-report")
        reception.lock()
        settle(app, reception)
        reception.sign_in_page.who.setCurrentText("Ines (admin)")
        reception.sign_in_page.pin.setText("3691")
        reception.sign_in_page.submit()
        settle(app, reception)
        reception.tabs.setCurrentWidget(reception.site_tab)
        snap(reception, f"{language}-reception-site-settings")
        reception.close()
        # The patient kiosk with the site's note, and its staff exit over it.
        kiosk = build_kiosk(ctx)
        kiosk.resize(1280, 800)
        kiosk.show()
        kiosk.flow.choose_language(language)
        snap(kiosk, f"{language}-kiosk-welcome-note")
        dialog = StaffExitDialog(ctx, kiosk, on_exit=lambda _name: None)
        dialog.show()
        settle(app, dialog)
        dialog.pin.setText("0000")  # a wrong PIN: the message must not cover the keypad
        dialog.submit()
        snap(dialog, f"{language}-kiosk-staff-exit")
        dialog.close()
        kiosk.close()
    ctx.settings = english

    board = BoardWindow(ctx)
    board.resize(1600, 900)
    board.show()
    for language in ("en", "ar", "zh_Hans"):
        board.language_index = board.state.languages.index(language) if board.state else 0
        board._render()
        snap(board, f"{language}-board")
    board.close()
    print(f"screenshots in {out}")


if __name__ == "__main__":
    main()
