"""The patient kiosk window, offscreen, driven like a patient would, on a real SQLite file
and the real engine."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton, QWidget
from sqlalchemy import select

from kiosk.base.i18n import translate
from kiosk.base.settings import Settings
from kiosk.domain import texts, tokens
from kiosk.domain.flow import InputProblem, Step
from kiosk.store.models import AuditEvent, Feedback
from kiosk.store.site import SiteContext
from tests.support.qt import click, press_enter, press_keys, type_on_screen, wait_for
from tests.support.site import DAY, at

LANGUAGES = Settings().languages


def visible_text(widget: QWidget) -> str:
    parts = []
    for child in widget.findChildren(QWidget):
        if not child.isVisibleTo(widget):
            continue
        if isinstance(child, QLabel | QPushButton | QLineEdit):
            parts.append(child.text())
    return "\n".join(parts)


def test_name_and_date_of_birth_with_the_on_screen_keys(qtbot, window):
    click(qtbot, window.pages[Step.WELCOME].by_name)
    assert window.flow.step is Step.FAMILY_NAME
    type_on_screen(qtbot, window, "MÜLLER")
    click(qtbot, window.pages[Step.FAMILY_NAME].next)
    assert window.flow.step is Step.BIRTH_DATE
    page = window.pages[Step.BIRTH_DATE]
    # English writes month / day / year: the fields follow that order.
    assert page._order == ("month", "day", "year")
    keypad = digit_keys(page)
    for digit in "03" + "14" + "1956":
        click(qtbot, keypad[digit])
    assert (fields(page)["month"], fields(page)["day"],
            fields(page)["year"]) == ("03", "14", "1956")
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)
    text = visible_text(window.pages[Step.RESULT])
    assert "Hello, Jürgen." in text and "K-1" in text and "Dr. Amara Okafor" in text
    assert "Your place in the queue: 1" in text


def test_a_scanner_burst_checks_in_from_any_screen_and_never_lands_in_a_field(qtbot, window,
                                                                              sqlite_ctx):
    window.flow.start_name_entry()
    field = window.pages[Step.FAMILY_NAME].field
    field.setFocus()
    token = tokens.issue(sqlite_ctx.qr_secret, "main", "a-wang", DAY)
    press_keys(field, token)
    press_enter(field)
    wait_for(qtbot, window, Step.RESULT)
    assert field.text() == ""
    assert "Hello, 伟." in visible_text(window.pages[Step.RESULT])


def test_slow_typing_is_a_person_and_reaches_the_field(qtbot, window):
    window.flow.start_name_entry()
    field = window.pages[Step.FAMILY_NAME].field
    field.setFocus()
    for char in "Muller":
        press_keys(field, char)
        qtbot.wait(90)  # people type about one key every 100 ms or slower
    qtbot.waitUntil(lambda: field.text() == "Muller", timeout=2000)
    assert window.flow.step is Step.FAMILY_NAME
    assert window.hardware_keyboard  # a physical keyboard hides the on-screen keys
    assert not window.pages[Step.FAMILY_NAME].keyboard.space.isVisible()


def test_a_garbled_scan_says_so_calmly_and_offers_to_try_again(qtbot, window):
    field = window.pages[Step.WELCOME]
    press_keys(field, "HTTPS://EXAMPLE.ORG/NOT-OURS")
    press_enter(field)
    wait_for(qtbot, window, Step.RESULT)
    page = window.pages[Step.RESULT]
    assert "This code could not be used" in visible_text(page)
    assert page.try_again.isVisible()


def test_twins_are_asked_for_their_given_name(qtbot, window):
    window.flow.start_name_entry()
    window.flow.submit_family("Okafor")
    window.run(window.flow.submit_birth_date("1", "6", "2015"))
    wait_for(qtbot, window, Step.GIVEN_NAME)
    page = window.pages[Step.GIVEN_NAME]
    assert "What is your given name?" in visible_text(page)
    type_on_screen(qtbot, window, "CHIDI")
    click(qtbot, page.next)
    wait_for(qtbot, window, Step.RESULT)
    assert "Hello, Chidi." in visible_text(window.pages[Step.RESULT])


@pytest.mark.parametrize(("family", "born", "expected"), [
    ("Nobody", ("1", "1", "1980"), "We could not find your appointment"),
    ("Bird", ("1", "1", "1970"), "Check-in opens at 2:00\u202fPM"),
    ("Voss", ("3", "3", "1972"), "This appointment was cancelled"),
    ("Annex", ("4", "4", "1973"), "another location: Annex"),
])
def test_outcomes_that_send_the_patient_elsewhere_read_plainly(qtbot, window, family, born,
                                                               expected):
    window.flow.start_name_entry()
    window.flow.submit_family(family)
    window.run(window.flow.submit_birth_date(*born))
    wait_for(qtbot, window, Step.RESULT)
    assert expected in visible_text(window.pages[Step.RESULT])


def test_late_patients_are_checked_in_and_sent_to_reception(qtbot, window):
    window.flow.clock.set(at(9, 20))
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    window.run(window.flow.submit_birth_date("14", "3", "1956"))
    wait_for(qtbot, window, Step.RESULT)
    text = visible_text(window.pages[Step.RESULT])
    assert "K-1" in text and "arrived late" in text


def test_five_failures_pause_name_check_in_and_say_until_when(qtbot, window):
    for _ in range(5):
        window.flow.reset()
        window.flow.start_name_entry()
        window.flow.submit_family("Nobody")
        window.run(window.flow.submit_birth_date("1", "1", "1980"))
        wait_for(qtbot, window, Step.RESULT)
    shown = visible_text(window.pages[Step.RESULT])
    # Why, until when (two minutes on from the fixed clock's 08:50), and what works meanwhile.
    assert "paused on this kiosk after several unsuccessful tries" in shown
    assert "8:52\u202fAM" in shown
    assert "scan the code from your appointment message" in shown


def test_impossible_dates_are_explained_on_the_page(qtbot, window):
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    page = window.pages[Step.BIRTH_DATE]
    page.fields["day"].setText("31")
    page.fields["month"].setText("2")
    page.fields["year"].setText("1990")
    click(qtbot, page.check_in)
    assert window.flow.step is Step.BIRTH_DATE
    assert page.problem.text() == "That date does not exist. Please check it."


def test_help_alerts_reception(qtbot, window, sqlite_ctx):
    click(qtbot, window.help)
    assert window.flow.step is Step.HELP
    assert "Help is on the way" in visible_text(window.pages[Step.HELP])

    def recorded() -> bool:
        with sqlite_ctx.db.read() as session:
            return session.scalar(select(AuditEvent).where(
                AuditEvent.action == "help_requested")) is not None
    qtbot.waitUntil(recorded, timeout=5000)


def test_timeout_warns_gives_more_time_then_forgets_everything(qtbot, window):
    flow = window.flow
    flow.choose_language("ar")
    flow.start_name_entry()
    flow.submit_family("Müller")
    page = window.pages[Step.BIRTH_DATE]
    page.fields["day"].setText("14")
    flow.clock.advance(seconds=45)
    flow.tick()
    assert window.overlay.isVisible()
    assert "20" in window.overlay.body.text()
    click(qtbot, window.overlay.more)
    assert not window.overlay.isVisible()
    assert fields(page)["day"] == "14"
    flow.clock.advance(seconds=45)
    flow.tick()
    flow.clock.advance(seconds=20)
    flow.tick()
    assert flow.step is Step.WELCOME and flow.language == "en"
    assert not window.overlay.isVisible()
    for field in window.findChildren(QLineEdit):
        assert field.text() == ""
    assert "Müller" not in visible_text(window) and "14" not in visible_text(window)


def test_a_result_returns_to_welcome_and_leaves_nothing_behind(qtbot, window, sqlite_ctx):
    window.run(window.flow.scanned(tokens.issue(sqlite_ctx.qr_secret, "main", "a-oneil",
                                                DAY)))
    wait_for(qtbot, window, Step.RESULT)
    assert "Siobhán" in visible_text(window.pages[Step.RESULT])
    window.flow.clock.advance(seconds=20)
    window.flow.tick()
    assert window.flow.step is Step.WELCOME
    everything = "\n".join(w.text() for w in window.findChildren(QWidget)
                           if isinstance(w, QLabel | QLineEdit))
    assert "Siobhán" not in everything and "K-1" not in everything


def test_feedback_is_stored_without_patient_data(qtbot, window, sqlite_ctx):
    window.run(window.flow.scanned(tokens.issue(sqlite_ctx.qr_secret, "main", "a-wang",
                                                DAY)))
    wait_for(qtbot, window, Step.RESULT)
    page = window.pages[Step.RESULT]
    click(qtbot, page.face_buttons[4])
    assert not page.face_buttons[4].isVisible()

    def stored() -> list[tuple[int, str, str | None]]:
        with sqlite_ctx.db.read() as session:
            return [(f.score, f.language, f.method) for f in session.scalars(select(Feedback))]
    qtbot.waitUntil(lambda: stored() == [(5, "en", "qr")], timeout=5000)


def test_choosing_arabic_mirrors_the_layout(qtbot, window):
    welcome = window.pages[Step.WELCOME]
    click(qtbot, welcome.language_buttons["ar"])
    assert window.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert welcome.title.text() == "مرحبًا" or welcome.title.text() != "Welcome"
    # The on-screen keyboard keeps the order of a physical keyboard.
    window.flow.start_name_entry()
    keyboard = window.pages[Step.FAMILY_NAME].keyboard
    assert keyboard.layoutDirection() == Qt.LayoutDirection.LeftToRight
    window.flow.choose_language("en")
    assert window.layoutDirection() == Qt.LayoutDirection.LeftToRight


def overlapping(window: QWidget) -> list[str]:
    """Visible controls that cover one another, or run off the window."""
    from PySide6.QtCore import QRect

    overlay_open = any(isinstance(w, QWidget) and w.isVisible() and w.property("role") ==
                       "overlay" for w in window.children())
    controls = []
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, QLabel | QPushButton | QLineEdit):
            continue
        if not widget.isVisibleTo(window) or isinstance(widget.parent(), QPushButton):
            continue
        inside_overlay = any(p.property("role") == "overlay" for p in _ancestors(widget))
        if overlay_open != inside_overlay:
            continue  # compare the overlay's controls among themselves, the page's likewise
        controls.append((widget, QRect(widget.mapTo(window, widget.rect().topLeft()),
                                       widget.size())))
    problems = [f"{type(w).__name__} {w.text()[:30]!r} runs off the window"
                for w, rect in controls if not window.rect().contains(rect)]
    for index, (one, first) in enumerate(controls):
        for other, second in controls[index + 1:]:
            if first.intersects(second):
                problems.append(f"{one.text()[:20]!r} overlaps {other.text()[:20]!r}")
    return problems


def _ancestors(widget: QWidget) -> list[QWidget]:
    found, parent = [], widget.parentWidget()
    while parent is not None:
        found.append(parent)
        parent = parent.parentWidget()
    return found


def clipped(window: QWidget) -> list[str]:
    """Visible labels and buttons given less room than their text needs (per Qt's own size
    hints for their font and, for wrapped labels, their width), or covering each other."""
    problems = overlapping(window)
    for widget in window.findChildren(QWidget):
        if not isinstance(widget, QLabel | QPushButton | QLineEdit):
            continue
        if not widget.isVisibleTo(window):
            continue
        widget.ensurePolished()
        least = widget.minimumSizeHint().expandedTo(widget.minimumSize())
        if widget.height() < least.height() - 8 or widget.width() < least.width() - 8:
            # Squeezed well under its minimum: it overlaps its neighbours. (A few pixels
            # under is Qt's own rounding between size hints and style sheet minimums.)
            problems.append(f"{type(widget).__name__} {widget.text()[:30]!r} squeezed to "
                            f"{widget.width()}x{widget.height()}, needs {least.width()}x"
                            f"{least.height()}")
            continue
        if isinstance(widget, QLineEdit) or not widget.text():
            continue
        if isinstance(widget, QLabel) and widget.wordWrap():
            needed = widget.heightForWidth(widget.width())
            if needed > widget.height():
                problems.append(f"label {widget.text()[:40]!r}: needs {needed} px high, "
                                f"has {widget.height()}")
        elif isinstance(widget, QPushButton):
            # The text must fit across; a button a few pixels under its preferred height
            # still shows its line of text whole.
            hint = widget.sizeHint()
            if hint.width() > widget.width() or \
                    widget.height() < widget.fontMetrics().height() + 8:
                problems.append(f"button {widget.text()[:40]!r}: needs "
                                f"{hint.width()}x{widget.fontMetrics().height() + 8}, has "
                                f"{widget.width()}x{widget.height()}")
        else:
            hint = widget.sizeHint()
            if hint.width() > widget.width() or hint.height() > widget.height() + 1:
                problems.append(f"{type(widget).__name__} {widget.text()[:40]!r}: needs "
                                f"{hint.width()}x{hint.height()}, has "
                                f"{widget.width()}x{widget.height()}")
    return problems


def fit_case(language: str, size: tuple[int, int], larger: bool) -> object:
    return pytest.param(language, size, larger,
                        id=f"{language}-{size[0]}x{size[1]}" + ("-larger" if larger else ""))


@pytest.mark.parametrize(("language", "size", "larger"), [
    # 1280 x 720: a common 720p panel, and the output cage shows the kiosk on when headless.
    *[fit_case(language, size, False) for language in LANGUAGES
      for size in ((1280, 800), (1280, 720), (1080, 1920))],
    # A 1080p screen has more room than all of these: the longest words and both directions.
    *[fit_case(language, (1920, 1080), False) for language in ("en", "tl", "ar", "zh_Hans", "hi")],
    # An older 1024 x 768 kiosk screen.
    *[fit_case(language, (1024, 768), False) for language in LANGUAGES],
    # Larger text (titles, the top bar and the keys larger too) and high contrast, on every
    # screen size, in the longest words, right to left, the tallest scripts and the densest
    # keyboards.
    *[fit_case(language, size, True)
      for language in ("en", "tl", "ar", "fa", "zh_Hans", "hi", "ko")
      for size in ((1280, 800), (1280, 720), (1024, 768), (1920, 1080), (1080, 1920))],
    fit_case("ru", (1280, 800), True),
])
def test_every_language_fits_every_screen(qtbot, window, language, size, larger):
    window.setFixedSize(*size)  # as full screen: the content must fit, the window cannot grow
    window.larger.setChecked(larger)
    window.contrast.setChecked(larger)
    flow = window.flow
    flow.choose_language(language)
    screens = []

    def look(name: str) -> None:
        qtbot.waitUntil(lambda: not window.worker.busy, timeout=5000)
        QApplication.processEvents()
        assert window.size() == QSize(*size), f"{name} does not fit {size}"
        screens.extend(f"{name}: {problem}" for problem in clipped(window))

    look("welcome")
    flow.start_name_entry()
    look("family name")
    flow.submit_family("")
    assert flow.problem is InputProblem.NAME_EMPTY
    look("family name, with a problem")
    flow.submit_family("Okafor")
    look("date of birth")
    window.run(flow.submit_birth_date("1", "6", "2015"))
    wait_for(qtbot, window, Step.GIVEN_NAME)
    look("given name")
    window.run(flow.submit_given("Amina"))
    wait_for(qtbot, window, Step.RESULT)
    look("checked in")
    flow.clock.advance(seconds=25)
    flow.tick()
    flow.choose_language(language)
    window.larger.setChecked(larger)
    window.contrast.setChecked(larger)
    flow.start_name_entry()
    flow.clock.advance(seconds=45)
    flow.tick()
    look("timeout warning")
    assert screens == []


@pytest.mark.parametrize(("language", "size"), [
    # Every language at the shortest and the narrowest screens; the roomier ones in the
    # longest words, right to left and the tallest scripts (the suite's time is bounded).
    *[pytest.param(language, size, id=f"{language}-{size[0]}x{size[1]}")
      for language in LANGUAGES for size in ((1280, 720), (1024, 768))],
    *[pytest.param(language, (1280, 800), id=f"{language}-1280x800")
      for language in ("en", "tl", "ar", "zh_Hans", "hi")],
    *[pytest.param(language, size, id=f"{language}-{size[0]}x{size[1]}")
      for language in ("en", "tl", "ar", "zh_Hans") for size in ((1920, 1080), (1080, 1920))],
])
def test_the_welcome_screen_fits_with_a_camera_picture(qtbot, window, language, size):
    """With a camera the scan card holds its picture and one more line: the page still fits
    (the picture is as tall as the text beside it, and taller only where there is room;
    then the gaps shrink, then the title makes way). Was: with a camera the welcome screen
    did not fit even 1280 x 800, and every language overlapped at 720 px."""
    from ui.kiosk.pages.welcome import CAMERA_HEIGHT_PX, CAMERA_MIN_HEIGHT_PX

    window.setFixedSize(*size)
    window.flow.choose_language(language)
    QApplication.processEvents()
    camera = QWidget()  # stands in for the camera's QVideoWidget
    page = window.welcome
    page.attach_camera(camera)
    QApplication.processEvents()
    assert clipped(window) == []
    assert CAMERA_MIN_HEIGHT_PX <= camera.height() <= CAMERA_HEIGHT_PX
    card = page.scan_card.rect()
    assert card.contains(QRect(camera.mapTo(page.scan_card, QPoint(0, 0)), camera.size()))
    if language == "en" or size[1] >= 1080:  # room enough: nothing gave way
        assert page.title.isVisible()
    if size[1] >= 1080:
        assert camera.height() == CAMERA_HEIGHT_PX


def test_a_short_screen_has_lower_buttons_and_the_design_size_the_designed_ones(qtbot, window):
    """Below the design height (800 px) buttons are 68 px high instead of 80 (the touch
    floor is 60), and the margins shrink; at 800 px and above nothing changes."""
    help_button = window.help
    for height, button_px, short in ((800, 80, False), (720, 68, True), (1920, 80, False)):
        window.setFixedSize(1280 if height < 1920 else 1080, height)
        QApplication.processEvents()
        assert window.short is short
        assert window.welcome.by_name.height() >= button_px
        assert window.start_over.minimumHeight() == button_px
        assert help_button.height() >= 60


def test_the_language_can_be_changed_on_any_screen_keeping_what_was_typed(qtbot, window):
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    page = window.pages[Step.BIRTH_DATE]
    page.fields["day"].setText("14")
    click(qtbot, window.language_button)
    assert window.languages.isVisible()
    click(qtbot, window.languages.buttons["zh_Hans"])
    assert not window.languages.isVisible()
    assert window.flow.step is Step.BIRTH_DATE and fields(page)["day"] == "14"
    assert page.title.text() != "What is your date of birth?"
    assert page._order == ("year", "month", "day")  # Chinese writes the year first


def test_keyboard_users_move_with_tab_and_press_with_enter(qtbot, window):
    welcome = window.pages[Step.WELCOME]
    welcome.by_name.setFocus()
    QApplication.sendEvent(welcome.by_name, QKeyEvent(
        QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier, "\r"))
    qtbot.waitUntil(lambda: window.flow.step is Step.FAMILY_NAME, timeout=2000)
    names = [w.accessibleName() or w.text() for w in window.findChildren(QPushButton)
             if w.isVisibleTo(window)]
    assert all(names), "every visible control has an accessible name"


def test_reach_layout_keeps_controls_in_the_lower_part_of_a_tall_screen(qtbot, sqlite_ctx,
                                                                       sqlite_day):
    from ui.app import build_kiosk

    settings = sqlite_ctx.settings.replace(reach_layout=True)
    tall = build_kiosk(SiteContext.open(settings, sqlite_ctx.db, sqlite_ctx.clock))
    qtbot.addWidget(tall)
    tall.resize(1080, 1920)
    tall.show()
    QApplication.processEvents()
    QApplication.instance().removeEventFilter(tall.scanner)
    controls = [w for w in tall.findChildren(QPushButton) if w.isVisibleTo(tall)]
    tops = [w.mapTo(tall, w.rect().topLeft()).y() for w in controls]
    assert min(tops) >= 1920 * 0.3, "no control in the upper part of the screen"


def test_switching_through_every_language_never_stretches_the_window(qtbot, window):
    """Hidden pages follow each language too; a stale claim would grow the window."""
    flow = window.flow
    flow.start_name_entry()
    flow.submit_family("Müller")
    for language in (*LANGUAGES, *reversed(LANGUAGES)):
        flow.choose_language(language)
        QApplication.processEvents()
        assert window.size().height() == 800, language
        assert clipped(window) == [], language


def test_one_window_through_many_patients_and_languages_keeps_its_size(qtbot, window):
    """Pages cleared after a patient give back the room their texts took."""
    flow = window.flow
    for language in LANGUAGES:
        flow.reset()
        flow.choose_language(language)
        window.run(flow.scanned("NOT-A-CODE-" + language))
        wait_for(qtbot, window, Step.RESULT)
        QApplication.processEvents()
        flow.start_name_entry()
        QApplication.processEvents()
        assert window.size().height() == 800, language
        assert clipped(window) == [], language


def test_spoken_guidance_reads_each_screen_in_the_patients_language(qtbot, sqlite_ctx,
                                                                   sqlite_day):
    from ui.app import build_kiosk

    settings = sqlite_ctx.settings.replace(speak_guidance=True)
    kiosk = build_kiosk(SiteContext.open(settings, sqlite_ctx.db, sqlite_ctx.clock),
                        speech_engine="mock")
    qtbot.addWidget(kiosk)
    kiosk.show()
    QApplication.instance().removeEventFilter(kiosk.scanner)
    guide = kiosk.guide
    assert guide is not None
    kiosk.flow.start_name_entry()
    assert guide.spoken[-1] == ("en", "What is your family name? Type it as it is written on "
                                      "your appointment. Accents are optional.")
    kiosk.flow.tick()
    assert len(guide.spoken) == 2  # welcome and family name, each once: not on every tick
    # The mock engine has English and Nordic voices only: Spanish stays silent rather than
    # being read in an English voice.
    assert guide.voice_for("es") is None
    kiosk.flow.choose_language("es")
    assert [language for language, _ in guide.spoken] == ["en", "en"]


def test_a_database_failure_sends_the_patient_to_reception_and_logs_it(qtbot, window,
                                                                       sqlite_ctx, caplog):
    with sqlite_ctx.db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE visit")
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    window.run(window.flow.submit_birth_date("14", "3", "1956"))
    wait_for(qtbot, window, Step.ERROR)
    assert "Please see reception" in visible_text(window.pages[Step.ERROR])
    assert "database" in caplog.text and "DatabaseUnavailable" in caplog.text
    assert "Müller" not in caplog.text and "1956" not in caplog.text


def key_event(key: Qt.Key, text: str = "", *, repeat: bool = False) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier, text, repeat)


def test_a_scanner_pressing_shift_for_capitals_is_still_a_scan(qtbot, window, sqlite_ctx):
    token = tokens.issue(sqlite_ctx.qr_secret, "main", "a-wang", DAY)
    target = window.pages[Step.WELCOME]
    for char in token:
        QApplication.sendEvent(target, key_event(Qt.Key.Key_Shift))
        press_keys(target, char)
    press_enter(target)
    wait_for(qtbot, window, Step.RESULT)
    assert window.flow.result.given_name == "伟"


def test_a_key_held_down_is_typing_not_a_scan(qtbot, window):
    window.flow.start_name_entry()
    field = window.pages[Step.FAMILY_NAME].field
    field.setFocus()
    press_keys(field, "e")
    for _ in range(12):
        QApplication.sendEvent(field, key_event(Qt.Key.Key_E, "e", repeat=True))
    qtbot.waitUntil(lambda: field.text() == "e" * 13, timeout=2000)
    assert window.flow.step is Step.FAMILY_NAME


def test_tab_never_overtakes_digits_still_held(qtbot, window):
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    page = window.pages[Step.BIRTH_DATE]
    first = page.fields[page._order[0]]
    first.setFocus()
    press_keys(first, "1")
    press_keys(first, "2")
    QApplication.sendEvent(first, key_event(Qt.Key.Key_Tab))
    assert first.text() == "12"


def test_a_giant_burst_leaves_nothing_behind_for_the_next_person(qtbot, window):
    field = window.pages[Step.WELCOME]
    press_keys(field, "X" * 4100)
    press_enter(field)
    wait_for(qtbot, window, Step.RESULT)
    window.flow.done()
    window.flow.start_name_entry()
    name = window.pages[Step.FAMILY_NAME].field
    name.setFocus()
    for char in "Kim":
        press_keys(name, char)
        qtbot.wait(60)
    qtbot.waitUntil(lambda: name.text() == "Kim", timeout=2000)


def test_a_late_answer_never_reaches_the_next_patient(qtbot, sqlite_ctx, sqlite_day):
    import threading

    from ui.app import build_kiosk

    kiosk = build_kiosk(sqlite_ctx)
    qtbot.addWidget(kiosk)
    kiosk.show()
    QApplication.instance().removeEventFilter(kiosk.scanner)
    slow = threading.Event()
    real = kiosk.run_checkin

    def first_slow(request):
        if request.family == "Müller":
            slow.wait(5)
        return real(request)
    kiosk.run_checkin = first_slow
    kiosk.flow.start_name_entry()
    kiosk.flow.submit_family("Müller")
    kiosk.run(kiosk.flow.submit_birth_date("14", "3", "1956"))
    click(qtbot, kiosk.start_over)  # patient A walks away
    kiosk.run(kiosk.flow.scanned("NOT-A-CODE"))  # patient B
    qtbot.waitUntil(lambda: kiosk.flow.step is Step.RESULT, timeout=5000)
    slow.set()
    kiosk.worker.wait()
    QApplication.processEvents()
    assert "Jürgen" not in visible_text(kiosk)
    assert kiosk.flow.result.outcome.value == "invalid_code"


def test_nothing_typed_can_be_undone_back_after_a_reset(qtbot, window):
    window.flow.start_name_entry()
    type_on_screen(qtbot, window, "OKAFOR")
    window.flow.reset()
    field = window.pages[Step.FAMILY_NAME].field
    field.undo()
    assert field.text() == ""
    assert field.contextMenuPolicy() == Qt.ContextMenuPolicy.NoContextMenu


def test_after_the_warning_focus_returns_to_the_field(qtbot, window):
    flow = window.flow
    flow.start_name_entry()
    field = window.pages[Step.FAMILY_NAME].field
    field.setFocus()
    flow.clock.advance(seconds=45)
    flow.tick()
    assert window.overlay.more.hasFocus()
    QApplication.sendEvent(window.overlay.more, key_event(Qt.Key.Key_Return, "\r"))
    assert not window.overlay.isVisible()
    assert field.hasFocus()


def test_on_screen_keys_work_with_space_and_enter_and_count_as_activity(qtbot, window):
    flow = window.flow
    flow.start_name_entry()
    page = window.pages[Step.FAMILY_NAME]
    key = {k.text(): k for k in page.keyboard._keys}["K"]
    key.setFocus()
    QApplication.sendEvent(key, key_event(Qt.Key.Key_Return, "\r"))
    QApplication.sendEvent(key, key_event(Qt.Key.Key_Space, " "))
    QApplication.sendEvent(key, QKeyEvent(QEvent.Type.KeyRelease, Qt.Key.Key_Space,
                                          Qt.KeyboardModifier.NoModifier, " "))
    qtbot.wait(80)
    assert page.field.text() == "KK"
    assert flow.step is Step.FAMILY_NAME and key.isVisible()  # not taken for a keyboard
    flow.clock.advance(seconds=40)
    click(qtbot, key)
    flow.clock.advance(seconds=40)
    flow.tick()
    assert window.flow.warning_deadline is None  # typing on screen is activity


def test_the_keypad_still_works_after_a_date_is_refused(qtbot, window):
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    page = window.pages[Step.BIRTH_DATE]
    keypad = {**digit_keys(page), "⌫": page.keypad.delete}
    for digit in "02311990":
        click(qtbot, keypad[digit])
    click(qtbot, page.check_in)
    assert page.problem.text()
    click(qtbot, keypad["⌫"])
    # ⌫ edits the field with the problem (31 February: the day), never the year unseen.
    assert (fields(page)["day"], fields(page)["year"]) == ("3", "1990")


def test_date_fields_are_moved_not_rebuilt_between_languages(qtbot, window):
    flow = window.flow
    flow.start_name_entry()
    flow.submit_family("Müller")
    counts = []
    for language in ("en", "es", "zh_Hans", "en", "es") * 4:
        flow.choose_language(language)
        counts.append(len(window.findChildren(QWidget)))
    assert len(set(counts[2:])) == 1


# -- keyboards for the scripts people type (issue: every patient can check in by name) --------

@pytest.mark.parametrize(("language", "first_key", "switch"), [
    ("ko", "ㅂ", "A B C"), ("hi", "अ", "A B C"), ("ru", "Й", "A B C"), ("ar", "ض", "A B C"),
    ("fa", "ض", "A B C"), ("zh_Hans", "Q", None), ("en", "Q", None),
])
def test_the_name_keyboard_opens_in_the_patients_letters_with_latin_one_key_away(
        qtbot, window, language, first_key, switch):
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    keyboard = window.pages[Step.FAMILY_NAME].keyboard
    keys = [key.text() for key in keyboard.findChildren(QPushButton)
            if key.property("role") == "key" and key.isVisible()]
    assert keys[0] == first_key
    assert keyboard.switch.isVisible() == (switch is not None)
    if switch:
        assert keyboard.switch.text() == switch
        click(qtbot, keyboard.switch)
        qtbot.waitUntil(lambda: "Q" in [key.text() for key in keyboard.findChildren(QPushButton)
                                        if key.property("role") == "key" and key.isVisible()])


def tap(qtbot, window, labels: str) -> None:
    keyboard = window.pages[window.flow.step].keyboard
    for label in labels:
        key = next(key for key in keyboard.findChildren(QPushButton)
                   if key.property("role") == "key" and key.text() == label and key.isVisible())
        click(qtbot, key)


def test_hangul_is_composed_as_the_patient_taps_and_deleting_takes_back_one_letter(
        qtbot, window):
    window.flow.choose_language("ko")
    window.flow.start_name_entry()
    page = window.pages[Step.FAMILY_NAME]
    tap(qtbot, window, "ㄱㅣㅁㅣ")
    assert page.field.text() == "기미"  # the final moved on when a vowel followed
    click(qtbot, page.keyboard.delete)
    assert page.field.text() == "김"
    click(qtbot, page.keyboard.delete)
    click(qtbot, page.keyboard.delete)
    assert page.field.text() == "ㄱ"
    click(qtbot, page.keyboard.space)
    tap(qtbot, window, "ㅇㅣ")
    assert page.field.text() == "ㄱ 이"  # a space ends the syllables being composed


@pytest.mark.parametrize(("language", "letters", "shown"), [
    ("ko", "ㄱㅣㅁㅣ", "기미"),  # the last syllable still being composed
    ("hi", "कप\u0942र", "कपूर"), ("ar", "ابر", "ابر"), ("ru", "ИВА", "ИВА"), ("en", "MUL", "MUL"),
])
def test_clear_empties_the_name_and_any_syllable_being_composed(qtbot, window, language,
                                                                letters, shown):
    """Issue 16, item 12: ⌫ took one letter at a time; Clear empties the field at once, and a
    syllable being composed goes with it (the next jamo starts a new one)."""
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    page = window.pages[Step.FAMILY_NAME]
    clear = page.findChild(QPushButton, "keyboard-clear")
    assert clear is not None and clear.isVisible()
    assert clear.accessibleName() == translate(texts.KEY_CLEAR, language)
    tap(qtbot, window, letters)
    assert page.field.text() == shown
    click(qtbot, clear)
    assert page.field.text() == ""
    assert page.field.hasFocus()  # the patient types on at once
    page.field.undo()
    assert page.field.text() == ""  # nothing to undo back
    if language == "ko":
        tap(qtbot, window, "ㅇㅣ")
        assert page.field.text() == "이"  # not composed with the jamo cleared away


@pytest.mark.parametrize("language", ["en", "ar"])
def test_clear_sits_at_the_end_of_the_field_in_the_patients_direction(qtbot, window, language):
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    page = window.pages[Step.FAMILY_NAME]
    QApplication.processEvents()
    field = page.field.geometry()
    clear = page.keyboard.clear_all.geometry()
    assert clear.center().y() == pytest.approx(field.center().y(), abs=2)
    if language == "ar":  # right to left: the field's end is on the left
        assert clear.right() < field.left()
    else:
        assert clear.left() > field.right()


def test_a_korean_patient_checks_in_by_tapping_hangul_for_a_record_kept_in_latin_letters(
        qtbot, window, sqlite_ctx):
    from kiosk.store.schedule import PatientRecord, upsert_patients

    with sqlite_ctx.db.write() as session:  # the record of "wang" renamed in Latin letters
        upsert_patients(session, sqlite_ctx.settings.site_id,
                        [PatientRecord("wang", "Minjun", "Kim", date(1968, 1, 8))])
    window.flow.choose_language("ko")
    window.flow.start_name_entry()
    tap(qtbot, window, "ㄱㅣㅁ")
    click(qtbot, window.pages[Step.FAMILY_NAME].next)
    window.run(window.flow.submit_birth_date("8", "1", "1968"))
    wait_for(qtbot, window, Step.RESULT)
    assert window.flow.result.outcome.value == "checked_in"
    assert window.flow.result.greeting("ko") == "Kim Minjun"


def test_hindi_is_typed_from_consonants_and_vowel_signs(qtbot, window):
    window.flow.choose_language("hi")
    window.flow.start_name_entry()
    tap(qtbot, window, "कप\u0942र")
    assert window.pages[Step.FAMILY_NAME].field.text() == "कपूर"


@pytest.mark.parametrize(("language", "says"), [
    ("zh_Hans", "拼音"), ("ko", "한글"), ("ru", "латинскими"), ("en", "Accents are optional"),
    ("es", "acentos"),
])
def test_the_hint_tells_the_truth_for_the_keyboard_shown(qtbot, window, language, says):
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    assert says in window.pages[Step.FAMILY_NAME].hint.text()


def test_the_next_patient_gets_their_own_letters_first_again(qtbot, window):
    window.flow.choose_language("ru")
    window.flow.start_name_entry()
    keyboard = window.pages[Step.FAMILY_NAME].keyboard
    click(qtbot, keyboard.switch)  # this patient types in Latin letters
    assert keyboard.script == "latin"
    window.flow.reset()
    window.flow.choose_language("ru")
    window.flow.start_name_entry()
    assert keyboard.script == "ru"


def test_a_chinese_patient_is_greeted_by_the_whole_name_in_chinese(qtbot, window):
    window.flow.choose_language("zh_Hans")
    window.flow.start_name_entry()
    tap(qtbot, window, "WANG")
    click(qtbot, window.pages[Step.FAMILY_NAME].next)
    window.run(window.flow.submit_birth_date("8", "1", "1968"))
    wait_for(qtbot, window, Step.RESULT)
    assert "王伟" in window.pages[Step.RESULT].title.text()
    window.flow.choose_language("en")  # the same patient reads it in English: the given name
    assert "伟" in window.pages[Step.RESULT].title.text()
    assert "王伟" not in window.pages[Step.RESULT].title.text()


# -- the date of birth, tapped through (issue "The patient's path, tapped through", 2, 3, 12) --
# Every test taps the on-screen keypad (clicks its QPushButtons) and the fields themselves, as
# patients do. The rules are in ui/kiosk/pages/birth_date.py's docstring.

DATE_LANGUAGES = ("en", "ar", "zh_Hans")  # month first, right to left, year first


def date_page(window, language: str, family: str = "Müller"):
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    window.flow.submit_family(family)
    page = window.pages[Step.BIRTH_DATE]
    QApplication.processEvents()
    return page


def digit_keys(page) -> dict[str, QPushButton]:
    """The keypad's digit keys by their Western digit (their objectName is digit-N), whatever
    digits they show."""
    return {key.objectName().removeprefix("digit-"): key
            for key in page.keypad.findChildren(QPushButton)
            if key.objectName().startswith("digit-")}


def tap_digits(qtbot, page, digits: str) -> None:
    keys = digit_keys(page)
    for digit in digits:
        click(qtbot, keys[digit])


def tap_delete(qtbot, page, times: int = 1) -> None:
    for _ in range(times):
        click(qtbot, page.keypad.delete)


def tap_field(qtbot, field: QLineEdit) -> None:
    """A finger in the middle of the field: between the digits, where Qt would put the caret."""
    qtbot.mouseClick(field, Qt.MouseButton.LeftButton,
                     pos=QPoint(field.width() // 2, field.height() // 2))


def fields(page) -> dict[str, str]:
    """What the fields hold, in Western digits (Arabic shows ١٤ for 14)."""
    return {name: "".join(str(int(digit)) for digit in field.text())
            for name, field in page.fields.items()}


def selected(page, name: str) -> str:
    """The selected digits of a field, in Western digits."""
    return "".join(str(int(digit)) for digit in page.fields[name].selectedText())


def active(page) -> str | None:
    return next((name for name, field in page.fields.items() if field.hasFocus()), None)


def type_date(qtbot, page, values: dict[str, str]) -> None:
    """The patient's digits in the order their language writes dates; a field that is not
    active (the one before was not filled: "56" for 1956 in Chinese) is tapped first."""
    for name in page._order:
        if values[name] and active(page) != name:
            tap_field(qtbot, page.fields[name])
        tap_digits(qtbot, page, values[name])


MULLER = {"day": "14", "month": "03", "year": "1956"}


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_retyping_a_full_field_takes_the_new_digits(qtbot, window, language):
    """Was: in a full field a new digit was dropped and the focus jumped on."""
    page = date_page(window, language)
    last = page._order[-1]
    slip = {"day": "15", "month": "04", "year": "1965"}[last]
    type_date(qtbot, page, {**MULLER, last: slip})
    assert active(page) == last  # full, and no field after it: it stays
    tap_digits(qtbot, page, MULLER[last])  # typing into the full field retypes it
    assert fields(page) == MULLER and active(page) == last
    first = page._order[0]
    tap_field(qtbot, page.fields[first])  # tapped: its digits selected, to be retyped
    assert active(page) == first and selected(page, first) == MULLER[first]
    tap_digits(qtbot, page, MULLER[first][0])
    assert fields(page)[first] == MULLER[first][0]  # replaced, not dropped
    tap_digits(qtbot, page, MULLER[first][1:])
    assert fields(page) == MULLER
    assert active(page) == first  # every other field is full: it stays, ⌫ would undo
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)
    assert "Jürgen" in visible_text(window.pages[Step.RESULT])


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_tapping_a_field_then_delete_takes_its_last_digit(qtbot, window, language):
    """Was: a tap put the caret between the digits and ⌫ deleted the wrong one."""
    page = date_page(window, language)
    type_date(qtbot, page, {**MULLER, "year": "1957"})
    tap_field(qtbot, page.fields["year"])
    assert active(page) == "year" and selected(page, "year") == "1957"
    tap_delete(qtbot, page)
    assert fields(page)["year"] == "195"  # the last digit, also when all is selected
    assert not page.fields["year"].hasSelectedText()
    tap_digits(qtbot, page, "6")
    assert fields(page) == MULLER


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_deleting_past_an_empty_field_and_retyping_loses_no_digit(qtbot, window, language):
    """Was: ⌫ past an empty field deleted wherever a tap had left the caret, and retyping
    lost a digit ("2030" became "030")."""
    page = date_page(window, language)
    first, second, third = page._order
    tap_digits(qtbot, page, MULLER[first])
    assert active(page) == second
    tap_field(qtbot, page.fields[first])  # the patient looks back at it, between its digits
    tap_field(qtbot, page.fields[second])  # and goes on to the empty field after it
    tap_delete(qtbot, page)  # past the empty field: the last digit of the one before
    assert active(page) == first and fields(page)[first] == MULLER[first][:-1]
    tap_digits(qtbot, page, MULLER[first][-1])  # retyped: full again, on to the next
    assert active(page) == second and fields(page)[first] == MULLER[first]
    tap_digits(qtbot, page, MULLER[second])
    assert active(page) == third
    tap_delete(qtbot, page, 1 + len(MULLER[second]))  # on through the second into the first
    assert active(page) == first
    assert fields(page) == {first: MULLER[first][:-1], second: "", third: ""}
    type_date(qtbot, page, {first: MULLER[first][-1], second: MULLER[second],
                            third: MULLER[third]})
    assert fields(page) == MULLER
    tap_delete(qtbot, page, 10)  # all of it, and once more: nothing breaks, focus stays
    assert fields(page) == {"day": "", "month": "", "year": ""} and active(page) == first


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_after_a_refused_date_the_field_with_the_problem_is_active(qtbot, window, language):
    """Was: after an error no field had the focus, and ⌫ silently ate the year; the error
    stayed while the patient corrected."""
    page = date_page(window, language)
    type_date(qtbot, page, {**MULLER, "day": "41"})
    click(qtbot, page.check_in)
    assert window.flow.step is Step.BIRTH_DATE
    assert page.problem.text() == window.tr(texts.PROBLEMS[InputProblem.DATE_IMPOSSIBLE])
    assert active(page) == "day" and selected(page, "day") == "41"
    tap_delete(qtbot, page)
    assert fields(page) == {**MULLER, "day": "4"}  # the day's last digit, nothing else
    assert page.problem.text() == ""  # the patient is correcting: the message goes
    tap_field(qtbot, page.fields["day"])
    tap_digits(qtbot, page, "14")  # selected: retyped
    assert fields(page) == MULLER
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)


def test_a_problem_about_the_year_or_the_month_selects_that_field(qtbot, window):
    page = date_page(window, "en")
    type_date(qtbot, page, {**MULLER, "month": "13"})
    click(qtbot, page.check_in)
    assert active(page) == "month" and selected(page, "month") == "13"
    tap_digits(qtbot, page, "03")
    type_date(qtbot, page, {"month": "", "day": "", "year": ""})
    tap_field(qtbot, page.fields["year"])
    tap_digits(qtbot, page, "2056")
    click(qtbot, page.check_in)
    assert page.problem.text() == "That date is in the future. Please check it."
    assert active(page) == "year" and selected(page, "year") == "2056"
    page.fields["day"].setText("")
    click(qtbot, page.check_in)
    assert page.problem.text() == "Please fill in the day, the month and the year."
    assert active(page) == "day"  # the empty one


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_a_two_digit_year_is_read_when_it_can_mean_one_year_only(qtbot, window, language):
    """Was: "84" was answered "That date does not exist"."""
    page = date_page(window, language)
    type_date(qtbot, page, {**MULLER, "year": "56"})  # 2056 is to come: 1956
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)
    assert "Jürgen" in visible_text(window.pages[Step.RESULT])


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_a_two_digit_year_that_could_be_two_years_asks_for_four_digits(qtbot, window,
                                                                       language):
    page = date_page(window, language, "Okafor")
    type_date(qtbot, page, {"day": "01", "month": "06", "year": "15"})  # 2015, or 1915?
    click(qtbot, page.check_in)
    assert window.flow.step is Step.BIRTH_DATE
    assert page.problem.text() == window.tr(texts.PROBLEMS[InputProblem.DATE_YEAR_DIGITS])
    if language == "en":
        assert page.problem.text() == ("Please enter the year with four digits, for example "
                                       "1984.")
    assert active(page) == "year" and selected(page, "year") == "15"
    tap_digits(qtbot, page, "2015")
    assert fields(page)["year"] == "2015" and page.problem.text() == ""
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.GIVEN_NAME)


def keypad_top(window, page) -> int:
    QApplication.processEvents()
    return page.keypad.mapTo(window, QPoint(0, 0)).y()


@pytest.mark.parametrize("language", DATE_LANGUAGES)
def test_the_keypad_stays_put_between_patients_and_when_a_message_comes_and_goes(
        qtbot, window, language):
    """Was: the keypad moved down when an error line appeared, and between visits."""
    tops = []
    for _patient in range(2):
        page = date_page(window, language)
        tops.append(keypad_top(window, page))
        type_date(qtbot, page, {**MULLER, "day": "41"})
        click(qtbot, page.check_in)
        assert page.problem.text()
        tops.append(keypad_top(window, page))
        tap_delete(qtbot, page)
        assert page.problem.text() == ""
        tops.append(keypad_top(window, page))
        window.flow.reset()
    assert len(set(tops)) == 1, tops


def test_the_message_line_keeps_the_room_of_the_longest_message_with_larger_text(qtbot,
                                                                                  window):
    window.larger.setChecked(True)
    page = date_page(window, "tl", "Okafor")  # Tagalog: the longest messages
    top = keypad_top(window, page)
    type_date(qtbot, page, {"day": "01", "month": "06", "year": ""})
    for year in ("15", "2030"):  # "four digits, for example 1984", then "in the future"
        tap_field(qtbot, page.fields["year"])
        tap_digits(qtbot, page, year)
        click(qtbot, page.check_in)
        assert page.problem.text()
        assert keypad_top(window, page) == top
        assert page.problem.heightForWidth(page.problem.width()) <= page.problem.height()
    assert clipped(window) == []


@pytest.mark.parametrize(("language", "wanted"), [
    ("en", {"month": "MM", "day": "DD", "year": "YYYY"}),
    ("fr", {"day": "JJ", "month": "MM", "year": "AAAA"}),
    ("ru", {"day": "ДД", "month": "ММ", "year": "ГГГГ"}),
    ("ar", {"day": "رقمان", "month": "رقمان", "year": "أربعة أرقام"}),
    ("zh_Hans", {"year": "四位数", "month": "两位数", "day": "两位数"}),
])
def test_each_field_says_what_it_wants_in_the_patients_language(qtbot, window, language,
                                                                 wanted):
    page = date_page(window, language)
    assert {name: field.placeholderText() for name, field in page.fields.items()} == wanted
    assert not page.hint.isVisible()  # one calendar: nothing to say about it


def test_a_persian_patient_types_the_solar_hijri_date(qtbot, window):
    page = date_page(window, "fa")
    assert page._order == ("year", "month", "day")
    # The examples in Persian digits, as the keypad shows them.
    assert page.hint.isVisible() and "۱۳۶۳" in page.hint.text() and "۱۹۸۴" in page.hint.text()
    type_date(qtbot, page, {"year": "1334", "month": "12", "day": "23"})  # 14 March 1956
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)
    assert "Jürgen" in visible_text(window.pages[Step.RESULT])


def test_a_persian_patient_may_type_the_gregorian_date_too(qtbot, window):
    page = date_page(window, "fa")
    type_date(qtbot, page, {"year": "1956", "month": "03", "day": "14"})
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)
    assert "Jürgen" in visible_text(window.pages[Step.RESULT])


def test_a_keyboard_follows_the_same_rules_and_persian_digits_count(qtbot, window):
    page = date_page(window, "fa")
    year = page.fields["year"]
    assert year.hasFocus()
    press_keys(year, "۱۳۳۴")  # Persian digits from a Persian keyboard
    qtbot.waitUntil(lambda: page.fields["month"].hasFocus(), timeout=2000)
    assert year.text() == "۱۳۳۴"  # shown in Persian digits, whatever the keyboard typed
    QApplication.sendEvent(page.fields["month"], key_event(Qt.Key.Key_Backspace))
    assert active(page) == "year" and year.text() == "۱۳۳"  # as the keypad's ⌫
    press_keys(year, "x")  # not a digit: nothing
    QApplication.sendEvent(year, key_event(Qt.Key.Key_Left))
    press_keys(year, "4")  # a Western digit from a keyboard counts too
    qtbot.waitUntil(lambda: year.text() == "۱۳۳۴", timeout=2000)


@pytest.mark.parametrize(("language", "shown"), [
    ("ar", "٠١٢٣٤٥٦٧٨٩"), ("fa", "۰۱۲۳۴۵۶۷۸۹"), ("en", "0123456789"), ("zh_Hans", "0123456789"),
])
def test_the_keypad_shows_the_digits_of_the_patients_language(qtbot, window, language, shown):
    """Issue 16, item 12: the keypad showed 0-9 in every language. In Arabic and Persian the
    keys show the language's own digits, the Western digit small in a corner (for patients who
    learned those, and for whoever helps them); the keys keep their names (digit-N)."""
    page = date_page(window, language)
    keys = digit_keys(page)
    assert {key.text() for key in keys.values()} == set(shown)
    for digit, key in keys.items():
        assert key.text() == shown[int(digit)] and key.accessibleName() == key.text()
        assert key.western.isVisibleTo(key) == (shown != "0123456789")
        if key.western.isVisibleTo(key):
            assert key.western.text() == digit
            assert key.rect().contains(key.western.geometry())
            assert key.western.font().pixelSize() < key.font().pixelSize()


def test_an_arabic_patient_sees_arabic_digits_and_checks_in_with_the_same_date(qtbot, window):
    """Fields show what the keys show (١٤, not 14); the date checked in is the same; a change
    of language rewrites the digits typed so far, keeping where the patient was."""
    page = date_page(window, "ar", "Müller")
    tap_digits(qtbot, page, "1403")
    assert page.fields["day"].text() == "١٤" and page.fields["month"].text() == "٠٣"
    tap_field(qtbot, page.fields["day"])
    window.flow.choose_language("en")
    assert page.fields["day"].text() == "14" and page.fields["month"].text() == "03"
    assert page.fields["day"].selectedText() == "14"  # still selected for retyping
    window.flow.choose_language("ar")
    assert page.fields["day"].selectedText() == "١٤"
    tap_field(qtbot, page.fields["year"])
    tap_digits(qtbot, page, "1956")
    assert page.fields["year"].text() == "١٩٥٦"
    click(qtbot, page.check_in)
    wait_for(qtbot, window, Step.RESULT)
    assert window.flow.result.outcome.value == "checked_in"


# The twins' path: welcome, the family name on the on-screen keys, the date on the keypad, the
# given name. Without a slip: 1 + 6 + 1, 8 + 1, 5 + 1 = 23 touches. With the slips patients
# made (a wrong day digit noticed in the next field, and a two-digit year), before this change
# the same taps ended with the year "1520" and "Please check the year of your birth": 38
# touches to check in at best (tapping the year field at its very end, ⌫ four times, typing
# it again), more if the tap landed between the digits.
TWINS_WITHOUT_SLIPS = ["0", "6", "0", "1", "2", "0", "1", "5", "check in"]
TWINS_WITH_SLIPS = ["0", "6", "0", "2", "⌫", "1", "1", "5", "check in",
                    "2", "0", "1", "5", "check in"]


@pytest.mark.parametrize(("date_taps", "touches"), [(TWINS_WITHOUT_SLIPS, 23),
                                                    (TWINS_WITH_SLIPS, 28)])
def test_the_twins_path_counted_in_touches(qtbot, window, date_taps, touches):
    count = 0

    def touch(button: QPushButton) -> None:
        nonlocal count
        count += 1
        click(qtbot, button)

    touch(window.pages[Step.WELCOME].by_name)
    names = window.pages[Step.FAMILY_NAME]
    keys = {key.text(): key for key in names.keyboard._keys}
    for letter in "OKAFOR":
        touch(keys[letter])
    touch(names.next)
    page = window.pages[Step.BIRTH_DATE]
    digits = {**digit_keys(page), "⌫": page.keypad.delete}
    for tap_ in date_taps:
        touch(page.check_in if tap_ == "check in" else digits[tap_])
    wait_for(qtbot, window, Step.GIVEN_NAME)
    given = window.pages[Step.GIVEN_NAME]
    keys = {key.text(): key for key in given.keyboard._keys}
    for letter in "CHIDI":
        touch(keys[letter])
    touch(given.next)
    wait_for(qtbot, window, Step.RESULT)
    assert "Hello, Chidi." in visible_text(window.pages[Step.RESULT])
    assert count == touches


def test_the_keypad_types_into_the_active_field_after_the_language_changes(qtbot, window):
    """Rule 1: a control outside the page (the language button) took the focus; the next key
    gives it back to the field the patient was in."""
    page = date_page(window, "en")
    tap_digits(qtbot, page, "03")
    assert active(page) == "day"
    click(qtbot, window.language_button)
    click(qtbot, window.languages.buttons["ar"])
    assert page._order == ("day", "month", "year")
    assert active(page) == "day"  # not where Qt put the focus when the languages closed
    tap_digits(qtbot, page, "14")
    assert fields(page) == {"day": "14", "month": "03", "year": ""}
    assert active(page) == "year"  # the first field not yet full after the day, in Arabic


def test_keys_with_no_field_to_take_them_are_counted_for_it(qtbot, window, caplog):
    """A scanner slower than the burst gap is read as a person; on the welcome screen its keys
    go nowhere, so IT gets a line saying so (how many keys, never which)."""
    page = window.pages[Step.WELCOME]
    caplog.set_level(logging.INFO, logger="ui.scanner")
    for char in "K7Q2M9X4":
        press_keys(page, char)
        qtbot.wait(60)  # slower than a scanner's burst gap
    qtbot.waitUntil(lambda: "no text field" in caplog.text, timeout=2000)
    assert "K7Q2" not in caplog.text
    assert window.flow.step is Step.WELCOME


@pytest.mark.parametrize(("language", "size", "larger"), [
    fit_case("en", (1280, 720), False), fit_case("ar", (1280, 800), True),
    fit_case("zh_Hans", (1080, 1920), False), fit_case("hi", (1024, 768), True),
    fit_case("tl", (1280, 800), False), fit_case("ru", (1024, 768), False),
    fit_case("tl", (1280, 720), True),  # no room: the offer gives way, nothing is clipped
])
def test_text_me_is_one_touch_to_the_number_on_record_and_fits(qtbot, sqlite_ctx, sqlite_day,
                                                               language, size, larger):
    """A patient with a mobile on record, at a site that sends texts: the result offers "Text
    me when it is my turn" with the number's last two digits (no more); one touch sets it up
    and says so; the screen fits before and after, in long and right-to-left languages. On a
    short screen with larger text in Tagalog the offer gives way to what must be read."""
    from sqlalchemy import update

    from kiosk.store.models import Patient, Visit
    from ui.app import build_kiosk

    sqlite_ctx.settings = sqlite_ctx.settings.replace(
        sms_gateway="kannel", sms_url="http://127.0.0.1:9/cgi-bin/sendsms")
    with sqlite_ctx.db.write() as session:
        session.execute(update(Patient).where(Patient.external_id == "twin_a")
                        .values(mobile="+447700900142"))
    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    window.setFixedSize(*size)
    window.show()
    window.build_pages()
    try:
        window.larger.setChecked(larger)
        flow = window.flow
        flow.choose_language(language)
        flow.start_name_entry()
        flow.submit_family("Okafor")
        window.run(flow.submit_birth_date("1", "6", "2015"))
        wait_for(qtbot, window, Step.GIVEN_NAME)
        window.run(flow.submit_given("Amina"))
        wait_for(qtbot, window, Step.RESULT)
        page = window.pages[Step.RESULT]
        QApplication.processEvents()
        if (language, size, larger) == ("tl", (1280, 720), True):
            # Hiding the offer lays the page out again: it settles without overlap.
            qtbot.waitUntil(lambda: clipped(window) == [], timeout=3000)
            assert not page.text_me.isVisible()
            return
        assert page.text_me.isVisible()
        assert page.text_me_note.text() == translate(texts.TEXT_ME_HINT, language, digits="42")
        assert "900142" not in visible_text(window) and clipped(window) == []
        click(qtbot, page.text_me)
        qtbot.waitUntil(lambda: window.texts_asked is True and not window.worker.busy,
                        timeout=5000)
        QApplication.processEvents()
        assert not page.text_me.isVisible()
        assert page.text_me_note.text() == translate(texts.TEXT_ME_DONE, language, digits="42")
        assert clipped(window) == []
        with sqlite_ctx.db.read() as session:
            assert session.scalars(select(Visit.text_when_next)).one()
        flow.clock.advance(seconds=25)
        flow.tick()  # the next patient sees nothing of this one
        assert window.texts_asked is None and page.text_me_note.text() == ""
    finally:
        QApplication.instance().removeEventFilter(window.scanner)
        window.worker.wait()
