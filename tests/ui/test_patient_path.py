"""What a patient keeps and loses along the way: one touch from their language to their name,
their display choices kept when they start over, and an honest end to trying by name."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QPushButton

from kiosk.domain.flow import Step
from tests.support.qt import click, wait_for
from tests.ui.test_kiosk import visible_text


def test_tapping_a_language_on_the_welcome_screen_opens_name_entry_in_it(qtbot, window):
    click(qtbot, window.welcome.language_buttons["ar"])
    assert (window.flow.step, window.flow.language) == (Step.FAMILY_NAME, "ar")


def test_start_over_keeps_larger_text_and_contrast_and_done_resets_them(qtbot, window):
    click(qtbot, window.welcome.language_buttons["ru"])
    click(qtbot, window.larger)
    click(qtbot, window.contrast)
    click(qtbot, window.start_over)  # fixing a typo: the same patient, the same display
    assert window.flow.step is Step.WELCOME
    assert window.larger.isChecked() and window.contrast.isChecked()
    assert window.larger_text and window.high_contrast and window.flow.language == "ru"
    window.flow.start_name_entry()
    window.flow.submit_family("Nobody")
    window.run(window.flow.submit_birth_date("1", "1", "1980"))
    wait_for(qtbot, window, Step.RESULT)
    click(qtbot, window.pages[Step.RESULT].done)  # finished: the next patient starts afresh
    assert not window.larger.isChecked() and not window.contrast.isChecked()
    assert window.flow.language == "en"


def test_after_three_tries_try_again_gives_way_to_the_code_and_reception(qtbot, window):
    page = window.pages[Step.RESULT]
    for attempt in range(3):
        window.flow.start_name_entry()
        window.flow.submit_family("Nobody")
        window.run(window.flow.submit_birth_date("1", "1", "1980"))
        wait_for(qtbot, window, Step.RESULT)
        if attempt < 2:
            click(qtbot, page.try_again)
    assert not page.try_again.isVisible()
    shown = visible_text(page)
    assert "We still could not find your appointment" in shown
    assert "scan the code from your appointment message" in shown


def test_the_next_patient_finds_no_button_holding_the_keyboard_focus(qtbot, window):
    window.activateWindow()
    click(qtbot, window.welcome.language_buttons["ar"])
    window.pages[Step.FAMILY_NAME].setFocus()
    window.welcome.language_buttons["ar"].setFocus()  # as a tap leaves it
    window.flow.done()  # the patient walks away: the next one comes
    assert not isinstance(QApplication.focusWidget(), QPushButton), \
        QApplication.focusWidget()


def test_a_label_gives_back_the_height_a_longer_text_took(qtbot, window):
    from ui.widgets.text import label

    shown = label("title")
    qtbot.addWidget(shown)
    shown.setText("one line")
    shown.show()
    shown.resize(600, 40)  # laid out at a real width: from here the label claims its height
    QApplication.processEvents()
    short = shown.minimumHeight()
    shown.setText(" ".join(["a much longer message that wraps"] * 8))
    assert shown.minimumHeight() > 2 * short
    shown.setText("one line")
    assert shown.minimumHeight() == short


def test_an_answer_without_a_ticket_is_lead_text_and_is_spoken(qtbot, window):
    window.flow.start_name_entry()
    window.flow.submit_family("Nobody")
    window.run(window.flow.submit_birth_date("1", "1", "1980"))
    wait_for(qtbot, window, Step.RESULT)
    page = window.pages[Step.RESULT]
    assert not page.title.isVisible() and page.answer.isVisible()
    assert page.answer.property("role") == "lead"
    assert "We could not find your appointment" in page.spoken()
