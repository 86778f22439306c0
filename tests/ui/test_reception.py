"""Reception's window and the lobby board, offscreen, on real databases: staff PINs, every
action, help alerts, the board's privacy and languages, and changes made by another process
arriving live (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel
from sqlalchemy import select

from kiosk.base.i18n import staff_translate, translate
from kiosk.domain.texts import BOARD_SPOKEN_CALL
from kiosk.services.checkin import CheckinService
from kiosk.services.lobby import heartbeat, open_help_requests, request_help
from kiosk.services.queue import QueueService
from kiosk.services.staff import MAX_FAILURES, StaffError, add_staff, sign_in
from kiosk.store.models import (
    AuditEvent,
    HelpRequest,
    MessageChannel,
    MessageState,
    PatientMessage,
    StaffMember,
    Visit,
    VisitStatus,
)
from kiosk.store.site import SiteContext
from tests.support.site import PEOPLE

PIN = "2468"
REPOSITORY = Path(__file__).resolve().parents[2]


class Chime:
    """Stands in for the sound card: counts what would have been played."""

    def __init__(self) -> None:
        self.played = 0

    def play(self) -> None:
        self.played += 1


@pytest.fixture
def staffed(ctx: SiteContext, day) -> SiteContext:
    add_staff(ctx, "Rosa", PIN)
    return ctx


@pytest.fixture
def reception(qtbot, staffed: SiteContext) -> Iterator:
    from ui.reception.window import ReceptionWindow

    window = ReceptionWindow(staffed, chime=Chime())
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    yield window
    window.close()


def settle(qtbot, window) -> None:
    """Until every core call the window made (off the GUI thread) has answered, and the
    background read after a change or an action has been shown."""
    qtbot.waitUntil(lambda: window.settled, timeout=5000)


def sign_in_window(qtbot, window, pin: str = PIN) -> None:
    settle(qtbot, window)  # the staff names are read off the GUI thread too
    window.sign_in_page.who.setCurrentText("Rosa")
    window.sign_in_page.pin.setText(pin)
    window.sign_in_page.submit()
    settle(qtbot, window)


def act(qtbot, window, action: str) -> None:
    """A queue action, and its answer (the write runs off the GUI thread)."""
    window.queue_tab.do(action)
    settle(qtbot, window)


def check_in(ctx: SiteContext, who: str, language: str = "en") -> str:
    result = CheckinService(ctx).by_staff(f"a-{who}", actor="test", language=language)
    assert result.ticket is not None
    return result.ticket


def tickets(window) -> list[str]:
    return [row.ticket for row in window.model.rows]


def visit(ctx: SiteContext, ticket: str) -> Visit:
    with ctx.db.read() as session:
        return session.scalars(select(Visit).where(Visit.ticket_code == ticket)).one()


# -- staff -----------------------------------------------------------------------------------

def test_pins_are_kept_as_slow_hashes_and_guessing_locks(ctx: SiteContext, clock):
    add_staff(ctx, "Rosa", PIN)
    with ctx.db.read() as session:
        stored = session.scalars(select(StaffMember.pin_hash)).one()
    assert stored.startswith("scrypt$16384$8$1$") and PIN not in stored
    assert sign_in(ctx, "Rosa", PIN, where="test").name == "Rosa"
    with pytest.raises(StaffError, match="Wrong name or PIN"):
        sign_in(ctx, "Nobody", PIN, where="test")
    for _ in range(MAX_FAILURES):
        with pytest.raises(StaffError, match="Wrong name or PIN"):
            sign_in(ctx, "Rosa", "9999", where="test")
    with pytest.raises(StaffError, match="Too many wrong PINs"):
        sign_in(ctx, "Rosa", PIN, where="test")  # even the right PIN, for a while
    clock.advance(minutes=6)
    assert sign_in(ctx, "Rosa", PIN, where="test").name == "Rosa"
    with pytest.raises(StaffError, match="4 to 8 digits"):
        add_staff(ctx, "Sam", "12")
    with pytest.raises(StaffError, match="not all one digit"):
        add_staff(ctx, "Sam", "1234")


def test_staff_command_reads_the_pin_from_stdin(ctx: SiteContext):
    done = subprocess.run(
        [sys.executable, "-m", "ui.launcher", "--db", ctx.settings.database_url,
         "staff", "add", "Lee", "--admin"], input="7391\n", capture_output=True, text=True,
        cwd=REPOSITORY, env={**os.environ, "KIOSK_TIMEZONE": "Europe/Berlin"}, check=False)
    assert done.returncode == 0, done.stderr
    assert "7391" not in done.stdout + done.stderr
    assert sign_in(ctx, "Lee", "7391", where="test").is_admin


# -- the reception window --------------------------------------------------------------------

def test_sign_in_wrong_pin_then_right_then_the_idle_lock(qtbot, reception, staffed):
    check_in(staffed, "muller")
    sign_in_window(qtbot, reception, "1357")
    assert reception.stack.currentWidget() is reception.sign_in_page
    assert reception.sign_in_page.problem.text() == "Wrong name or PIN."
    assert reception.model.rows == []  # nothing of the lobby before signing in
    sign_in_window(qtbot, reception)
    assert reception.stack.currentWidget() is reception.main_page
    assert tickets(reception) == ["K-1"]
    assert reception.model.rows[0].patient_name == "Jürgen Müller"
    reception.idle.setInterval(100)  # the setting is minutes; the timer is the same
    reception.idle.start()
    qtbot.waitUntil(lambda: reception.stack.currentWidget() is reception.sign_in_page,
                    timeout=3000)
    assert reception.model.rows == [] and reception.member is None


def test_every_action_is_one_touch_and_audited_with_the_staff_member(
        qtbot, reception, staffed, clock):
    first, second, third = (check_in(staffed, who) for who in ("muller", "garcia", "ivanova"))
    sign_in_window(qtbot, reception)
    queue = reception.queue_tab
    assert queue.select_ticket(first)
    queue.room.setText("Room 3")
    qtbot.mouseClick(queue.buttons["call"], Qt.MouseButton.LeftButton)
    settle(qtbot, reception)
    assert visit(staffed, first).status == VisitStatus.CALLED
    assert visit(staffed, first).room == "Room 3"
    assert "called to Room 3" in reception.status.text()
    act(qtbot, reception, "undo")
    assert visit(staffed, first).status == VisitStatus.WAITING
    assert visit(staffed, first).called_at is None
    queue.select_ticket(first)
    act(qtbot, reception, "call")  # the room is remembered per provider
    assert visit(staffed, first).room == "Room 3"
    queue.select_ticket(first)
    act(qtbot, reception, "start")
    queue.select_ticket(first)
    act(qtbot, reception, "finish")
    assert visit(staffed, first).status == VisitStatus.DONE
    assert first not in tickets(reception)
    queue.select_ticket(second)
    act(qtbot, reception, "left")
    assert visit(staffed, second).status == VisitStatus.LEFT
    clock.advance(seconds=61)
    act(qtbot, reception, "undo")
    assert "nothing to undo" in reception.status.text().lower()
    queue.select_ticket(third)
    queue.move_to.setCurrentText("Dr. Wei Chen")
    act(qtbot, reception, "move")
    moved = next(row for row in reception.model.rows if row.ticket == third)
    assert moved.provider == "Dr. Wei Chen"
    with staffed.db.read() as session:
        actors = {(e.actor, e.action) for e in session.scalars(select(AuditEvent))}
    for action in ("call", "undo", "start", "finish", "left", "move"):
        assert ("Rosa", action) in actors
    # An action that does not fit says so and changes nothing.
    queue.select_ticket(third)
    act(qtbot, reception, "finish")
    assert reception.status.text() == "K-3 cannot be finished: the patient is waiting."


def test_desk_check_in_walk_in_and_the_ticket_again(qtbot, reception, staffed):
    sign_in_window(qtbot, reception)
    desk_tab = reception.desk_tab
    reception.tabs.setCurrentWidget(desk_tab)
    settle(qtbot, reception)  # the list is read off the GUI thread
    desk = desk_tab.desk
    shown = [desk.item(i).text() for i in range(desk.count())]
    assert any("Lena Spät" in line for line in shown)  # late: the kiosk sent her here
    assert not any("Tom Morrow" in line for line in shown)  # tomorrow's
    desk_tab.search.setText("spät")
    visible = [desk.item(i) for i in range(desk.count()) if not desk.item(i).isHidden()]
    assert len(visible) == 1
    desk.setCurrentItem(visible[0])
    desk_tab.check_in_selected()
    settle(qtbot, reception)
    assert "Checked in: ticket K-1" in reception.status.text()
    desk_tab.walk_name.setText("Ana Walker")
    desk_tab.walk_provider.setCurrentText("Dr. Sarah Goldberg")
    desk_tab.add_walk_in()
    settle(qtbot, reception)
    assert "Walk-in added: ticket K-2" in reception.status.text()
    assert desk_tab.walk_name.text() == ""
    reception.tabs.setCurrentIndex(0)
    settle(qtbot, reception)
    names = {row.ticket: row.patient_name for row in reception.model.rows}
    assert names == {"K-1": "Lena Spät", "K-2": "Ana Walker"}
    reception.queue_tab.select_ticket("K-1")
    act(qtbot, reception, "ticket")
    dialog = reception.queue_tab.ticket_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.qr.pixmap().isNull()
    dialog.close()


def test_names_in_other_scripts_show_their_latin_spelling_and_their_own_order(
        qtbot, reception, staffed):
    check_in(staffed, "wang", "zh_Hans")
    check_in(staffed, "ivanova", "ru")
    check_in(staffed, "muller")
    sign_in_window(qtbot, reception)
    names = {reception.model.data(reception.model.index(row, 1))
             for row in range(reception.model.rowCount())}
    # Family name first for a name in characters; a Latin spelling staff can say aloud.
    assert names == {"王伟 · Wang Wei", "Анна Иванова · Anna Ivanova", "Jürgen Müller"}


def test_waiting_past_the_target_stands_out_and_is_counted(qtbot, reception, staffed, clock):
    check_in(staffed, "muller")
    clock.advance(minutes=5)
    check_in(staffed, "garcia")
    sign_in_window(qtbot, reception)
    assert "past" not in reception.counts.text()
    clock.advance(minutes=11)  # the first has waited 16 minutes, the second 11
    reception.model.tick(clock.now())
    reception._show_counts()
    first, second = reception.model.rows
    assert reception.model.past_target(first) and not reception.model.past_target(second)
    assert "Past the 15-minute target: 1." in reception.counts.text()
    index = reception.model.index(0, 8)
    assert reception.model.data(index) == "past target, arrived late" or \
        reception.model.data(index).startswith("past target")
    assert reception.model.data(index, 8) is not None  # BackgroundRole: highlighted


def test_a_help_request_chimes_until_acknowledged(qtbot, reception, staffed):
    sign_in_window(qtbot, reception)
    played = reception.chime.played
    alert = reception.help_alert
    request_help(staffed, "kiosk-2", "date_of_birth")  # any kiosk, through the database
    qtbot.waitUntil(lambda: alert.isVisible(), timeout=5000)
    assert "kiosk-2" in alert.text.text()
    assert reception.chime.played == played + 1
    assert alert.timer.isActive()  # it chimes again until someone goes
    alert.acknowledge()
    settle(qtbot, reception)
    assert "Help request acknowledged" in reception.status.text()
    assert not alert.isVisible() and not alert.timer.isActive()
    assert open_help_requests(staffed) == []
    with staffed.db.read() as session:
        assert session.scalars(select(HelpRequest.acknowledged_by)).one() == "Rosa"


def test_help_asked_after_checking_in_flags_the_patients_row(qtbot, reception, staffed):
    sign_in_window(qtbot, reception)
    ticket = check_in(staffed, "muller")
    qtbot.waitUntil(lambda: tickets(reception) == [ticket], timeout=5000)
    row = next(r for r in reception.model.rows if r.ticket == ticket)
    request_help(staffed, "kiosk-1", "result", visit_id=row.visit_id)
    qtbot.waitUntil(lambda: reception.help_alert.isVisible(), timeout=5000)
    assert f"kiosk-1, ticket {ticket}" in reception.help_alert.text.text()
    flags = reception.model.index(0, 8)
    assert "help requested" in reception.model.data(flags)
    reception.help_alert.acknowledge()
    settle(qtbot, reception)
    assert "help requested" not in reception.model.data(reception.model.index(0, 8))


@pytest.mark.parametrize("language", ["ar", "zh_Hans"])
def test_reception_reads_in_the_staff_language(qtbot, staffed, language):
    from ui.reception.window import ReceptionWindow

    staffed.settings = staffed.settings.replace(staff_language=language)
    window = ReceptionWindow(staffed, chime=Chime())
    qtbot.addWidget(window)
    window.show()
    page, t = window.sign_in_page, window.t
    assert page.button.text() == t("Sign in") and "Sign in" not in t("Sign in")
    settle(qtbot, window)
    page.who.setCurrentText("Rosa")
    page.pin.setText("0000")
    page.submit()
    settle(qtbot, window)
    assert page.problem.text() == t("Wrong name or PIN.")
    sign_in_window(qtbot, window)
    ticket = check_in(staffed, "muller")
    qtbot.waitUntil(lambda: tickets(window) == [ticket], timeout=5000)
    model = window.model
    assert model.headerData(0, Qt.Orientation.Horizontal) == t("Ticket")
    assert model.data(model.index(0, 6)) == t("waiting (#{place})", place=1)
    assert window.queue_tab.select_ticket(ticket)
    assert window.queue_tab.selected_ticket() == ticket
    act(qtbot, window, "finish")  # refused: the patient is waiting, said in the staff language
    refused = window.status.text()
    assert ticket in refused and staff_translate("waiting", language) in refused
    assert not any(word in refused for word in ("cannot", "patient", "waiting"))
    window.tabs.setCurrentWidget(window.report_tab)
    settle(qtbot, window)
    report = window.report_tab.report.toHtml()
    assert staff_translate("Longest waits", language) in report
    rtl = language == "ar"
    assert (window.layoutDirection() == Qt.LayoutDirection.RightToLeft) is rtl
    window.close()


def test_kiosk_health_shows_online_offline_and_the_outbox(qtbot, reception, staffed, clock):
    heartbeat(staffed, "kiosk-1", clock.now(), "0.1.0")
    heartbeat(staffed, "kiosk-2", clock.now(), "0.1.0")
    clock.advance(minutes=2)
    heartbeat(staffed, "kiosk-1", clock.now(), "0.1.0")
    sign_in_window(qtbot, reception)
    reception.tabs.setCurrentIndex(2)
    health = reception.kiosks_tab.health
    qtbot.waitUntil(lambda: health.count() == 2, timeout=5000)  # read off the GUI thread
    lines = [health.item(i).text() for i in range(health.count())]
    assert lines[0].startswith("kiosk-1: online")
    assert lines[1].startswith("kiosk-2: OFFLINE")
    assert reception.tabs.tabText(2) == "Kiosks (1 offline)"
    assert "Check-ins waiting to be sent: 0" in reception.kiosks_tab.sync_line.text()
    assert "Messages to patients" not in reception.kiosks_tab.sync_line.text()  # none yet


@pytest.mark.parametrize("language", ["en", "ar", "zh_Hans"])
def test_the_kiosks_tab_counts_messages_to_patients(qtbot, staffed, clock, language,
                                                    tmp_path):
    from ui.reception.window import ReceptionWindow

    with staffed.db.write() as session:
        for n, state in enumerate([MessageState.SENT] * 3 + [MessageState.PENDING,
                                                             MessageState.PARKED]):
            session.add(PatientMessage(
                site_id=staffed.settings.site_id, key=f"m{n}", kind="confirmation",
                channel=MessageChannel.EMAIL, language="en", created_at=clock.now(),
                due_at=clock.now(), state=state, attempts=1, next_attempt_at=clock.now()))
    staffed.settings = staffed.settings.replace(staff_language=language)
    window = ReceptionWindow(staffed, chime=Chime())
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    sign_in_window(qtbot, window)
    window.tabs.setCurrentWidget(window.kiosks_tab)
    expected = window.t("Messages to patients: {sent} sent, {pending} waiting, {parked} "
                        "parked (need a look).", sent=3, pending=1, parked=1)
    qtbot.waitUntil(lambda: expected in window.kiosks_tab.sync_line.text(), timeout=5000)
    if os.environ.get("SCREENSHOTS_DIR"):  # to look at: SCREENSHOTS_DIR=folder
        window.grab().save(str(Path(os.environ["SCREENSHOTS_DIR"])
                               / f"reception-kiosks-messages-{language}.png"))
    window.close()


def test_a_check_in_by_another_process_appears_live(qtbot, reception, staffed):
    """The CLI in a separate process checks a patient in; the open window shows it without
    being asked (SQLite file watch, PostgreSQL LISTEN/NOTIFY)."""
    sign_in_window(qtbot, reception)
    refreshes = reception.live.refreshes
    muller = next(p for p in PEOPLE if p[0] == "muller")
    done = subprocess.run(
        [sys.executable, "-m", "ui.launcher", "--db", staffed.settings.database_url,
         "--now", "2026-11-23T08:50", "checkin", "--family", muller[2],
         "--dob", muller[3].isoformat()],
        capture_output=True, text=True, cwd=REPOSITORY,
        env={**os.environ, "KIOSK_TIMEZONE": "Europe/Berlin"}, check=False)
    assert done.returncode == 0, done.stderr
    qtbot.waitUntil(lambda: tickets(reception) == ["K-1"], timeout=5000)
    assert reception.live.refreshes > refreshes


# -- the lobby board -------------------------------------------------------------------------

@pytest.fixture
def board(qtbot, staffed: SiteContext) -> Iterator:
    from ui.board.window import BoardWindow

    window = BoardWindow(staffed, chime=Chime())
    qtbot.addWidget(window)
    window.resize(1600, 900)
    window.show()
    yield window
    window.close()


def board_text(window) -> str:
    return "\n".join(label.text() for label in window.findChildren(QLabel))


def test_the_board_shows_calls_and_places_without_names(qtbot, board, staffed):
    first, second = check_in(staffed, "muller", "ar"), check_in(staffed, "garcia")
    qtbot.waitUntil(lambda: board.state is not None and len(board.state.waiting) == 2,
                    timeout=5000)
    assert "Place 1" in board_text(board) and "Place 2" in board_text(board)
    QueueService(staffed).act(first, "call", actor="Rosa", room="Room 2")
    qtbot.waitUntil(lambda: board.calling_ticket.text() == first, timeout=5000)
    assert board.chime.played == 1
    assert board.calling_room.text() == "Please go to: Room 2"
    text = board_text(board)
    assert second in text
    for _, given, family, *_ in PEOPLE:  # no one's name on a public screen
        assert given not in text and family not in text
    # Headings rotate through the lobby's languages (English, then Arabic here).
    assert board.state is not None and board.state.languages == ["en", "ar"]
    board.next_language()
    assert board.calling_heading.text() == "يُنادى الآن"
    assert board.layoutDirection().name == "RightToLeft"


def test_places_on_the_board_say_whose_line_they_are_in(qtbot, board, staffed):
    # Müller and García wait for Dr. Okafor (places 1 and 2), Wang for Dr. Chen (place 1):
    # "Place 1" twice without a provider sent patients to the desk to ask.
    for who in ("muller", "garcia", "wang"):
        check_in(staffed, who)
    qtbot.waitUntil(lambda: board.state is not None and len(board.state.waiting) == 3,
                    timeout=5000)
    places = sorted(place.text() for _, place, _ in board.lines if place.text())
    assert places == ["Place 1 · Dr. Amara Okafor", "Place 1 · Dr. Wei Chen",
                      "Place 2 · Dr. Amara Okafor"]


def test_with_one_provider_a_place_needs_no_name(qtbot, board, staffed):
    for who in ("muller", "garcia"):
        check_in(staffed, who)
    qtbot.waitUntil(lambda: board.state is not None and len(board.state.waiting) == 2,
                    timeout=5000)
    assert sorted(place.text() for _, place, _ in board.lines if place.text()) == [
        "Place 1", "Place 2"]


@pytest.mark.parametrize("announce", [True, False])
def test_the_board_speaks_each_call_in_the_patients_language(qtbot, staffed, announce):
    """Qt's "mock" speech engine (no sound card here) runs the real QTextToSpeech path. It
    has English voices only: the Arabic-speaking patient's call falls back to English."""
    from ui.board.window import BoardWindow
    from ui.speech import Guide

    staffed.settings = staffed.settings.replace(board_announce=announce)
    speaker = Guide("mock")
    window = BoardWindow(staffed, chime=Chime(), speaker=speaker)
    qtbot.addWidget(window)
    settle(qtbot, window)
    english, arabic = check_in(staffed, "garcia"), check_in(staffed, "muller", "ar")
    queue = QueueService(staffed)
    queue.act(english, "call", actor="Rosa", room="Room 2")
    qtbot.waitUntil(lambda: window.calling_ticket.text() == english, timeout=5000)
    queue.act(arabic, "call", actor="Rosa", room="Room 3")
    qtbot.waitUntil(lambda: window.calling_ticket.text() == arabic, timeout=5000)
    assert window.chime.played == 2  # the chime sounds either way
    expected = [("en", f"Ticket {english}. Please go to: Room 2."),
                ("en", f"Ticket {arabic}. Please go to: Room 3.")]
    assert list(speaker.spoken) == (expected if announce else [])
    window.close()


def test_where_a_voice_speaks_the_patients_language_the_call_is_in_it(qtbot, staffed):
    from ui.board.window import BoardWindow

    class EveryVoice:  # a speech engine with every language (none such runs here)
        def __init__(self) -> None:
            self.spoken: list[tuple[str, str]] = []

        def say(self, text: str, language: str) -> bool:
            self.spoken.append((language, text))
            return True

    staffed.settings = staffed.settings.replace(board_announce=True)
    speaker = EveryVoice()
    window = BoardWindow(staffed, chime=Chime(), speaker=speaker)
    qtbot.addWidget(window)
    settle(qtbot, window)
    ticket = check_in(staffed, "muller", "ar")
    QueueService(staffed).act(ticket, "call", actor="Rosa", room="3")
    qtbot.waitUntil(lambda: speaker.spoken != [], timeout=5000)
    assert speaker.spoken == [("ar", translate(BOARD_SPOKEN_CALL, "ar", ticket=ticket,
                                               room="3"))]
    assert speaker.spoken[0][1] != f"Ticket {ticket}. Please go to: 3."
    window.close()


def test_the_board_can_show_given_name_and_initial(qtbot, staffed):
    from ui.board.window import BoardWindow

    staffed.settings = staffed.settings.replace(board_names="initials")
    check_in(staffed, "muller")
    window = BoardWindow(staffed, chime=Chime())
    qtbot.addWidget(window)
    settle(qtbot, window)
    assert "K-1  Jürgen M." in board_text(window)
    assert "Müller" not in board_text(window)
    window.close()


def test_a_board_in_its_own_process_follows_an_admins_change(qtbot, staffed, clock):
    """The board runs with its own settings (its own process): an admin's change of what it
    shows reaches it with the next lobby change, without a restart."""
    from kiosk.services import site_settings
    from kiosk.store.models import StaffRole
    from tests.support.site import make_ctx
    from ui.board.window import BoardWindow

    own = make_ctx(staffed.settings, clock)
    check_in(staffed, "muller")
    window = BoardWindow(own, chime=Chime())
    qtbot.addWidget(window)
    settle(qtbot, window)
    assert "K-1" in board_text(window) and "Jürgen M." not in board_text(window)
    site_settings.save(staffed, {"board_names": "initials"}, actor="Ines",
                       role=StaffRole.ADMIN)
    qtbot.waitUntil(lambda: "K-1  Jürgen M." in board_text(window), timeout=5000)
    assert own.settings.board_names == "initials"
    window.close()
    own.db.dispose()


def test_a_second_scan_shows_the_current_place(staffed, day):
    from kiosk.domain import tokens

    person = day["garcia"]
    check_in(staffed, "muller")
    token = tokens.issue(staffed.qr_secret, staffed.settings.site_id, person.appointment,
                         person.start.date())
    service = CheckinService(staffed)
    assert service.by_qr(token, kiosk_id="k1").position == 2
    QueueService(staffed).act("K-1", "call", actor="Rosa")
    again = service.by_qr(token, kiosk_id="k1")
    assert again.outcome.value == "already_checked_in" and again.position == 1
    assert again.wait is not None


def test_windows_release_the_application(qtbot, reception):
    reception.close()
    assert reception not in QApplication.instance().topLevelWidgets() or \
        not reception.isVisible()



def test_an_admin_chooses_how_patients_are_called(qtbot, ctx, day):
    """Issue 18, item 1: the calling rule is a site setting, chosen at reception (every wait
    estimate replays it: tests/core/test_waits.py)."""
    from kiosk.services import site_settings
    from ui.reception.window import ReceptionWindow

    add_staff(ctx, "Ines", PIN, admin=True)
    window = ReceptionWindow(ctx, chime=Chime())
    qtbot.addWidget(window)
    window.resize(1400, 800)
    window.show()
    settle(qtbot, window)
    window.sign_in_page.who.setCurrentText("Ines")
    window.sign_in_page.pin.setText(PIN)
    window.sign_in_page.submit()
    settle(qtbot, window)
    tab = window.site_tab
    assert tab.calling_rule.currentData() == "booked_first"  # the default
    assert tab.calling_rule.count() == 2 and all(tab.calling_rule.itemText(i)
                                                 for i in range(2))
    tab.calling_rule.setCurrentIndex(tab.calling_rule.findData("arrival"))
    tab.save()
    settle(qtbot, window)
    assert site_settings.stored(ctx)["calling_rule"] == "arrival"
    assert site_settings.apply(ctx).calling_rule == "arrival"
    window.close()
