"""The result screen says one thing to do and thanks a patient who rated their check-in; the
forward button keeps its side between screens in right-to-left languages."""

from __future__ import annotations

import pytest

from kiosk.domain import tokens
from kiosk.domain.flow import Step
from tests.support.qt import click, wait_for
from tests.support.site import DAY, at


@pytest.mark.parametrize("language", ["en", "ar", "zh_Hans"])
def test_a_late_patient_is_told_one_thing_and_it_is_the_last(qtbot, window, language):
    window.flow.clock.set(at(9, 20))
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    window.flow.submit_family("Müller")
    window.run(window.flow.submit_birth_date("14", "3", "1956"))
    wait_for(qtbot, window, Step.RESULT)
    page = window.pages[Step.RESULT]
    result = window.flow.result
    # Before: "...arrived late. Please see reception." then "Your ticket number will be shown
    # on the screen when it is your turn.": go, or sit?
    assert page.message.text() == result.message(language)
    assert page.ticket.text() == "K-1"


def test_a_patient_who_rates_the_check_in_is_thanked(qtbot, window, sqlite_ctx):
    window.run(window.flow.scanned(tokens.issue(sqlite_ctx.qr_secret, "main", "a-wang", DAY)))
    wait_for(qtbot, window, Step.RESULT)
    page = window.pages[Step.RESULT]
    assert page.feedback_question.text() == "How was checking in today?"
    click(qtbot, page.face_buttons[3])
    assert not any(face.isVisible() for face in page.face_buttons)
    assert page.feedback_question.isVisible()
    assert page.feedback_question.text() == "Thank you!"
    window.flow.choose_language("ar")  # and in the language the patient reads
    assert page.feedback_question.text() not in ("Thank you!", "")


@pytest.mark.parametrize("language", ["ar", "fa"])
def test_next_stays_on_the_same_side_from_the_name_to_the_date_in_right_to_left(
        qtbot, window, language):
    # The name keyboard's action row was kept left to right while the date screen mirrored:
    # "Next" jumped from one side to the other between two consecutive screens.
    window.flow.choose_language(language)
    window.flow.start_name_entry()
    qtbot.wait(50)
    name_next = window.pages[Step.FAMILY_NAME].next
    name_side = name_next.mapTo(window, name_next.rect().center()).x() < window.width() / 2
    window.flow.submit_family("Okafor")
    qtbot.wait(50)
    date_next = window.pages[Step.BIRTH_DATE].check_in
    date_side = date_next.mapTo(window, date_next.rect().center()).x() < window.width() / 2
    assert name_side and date_side  # both on the left, the end of a right-to-left line
    # The letters themselves keep the order of a physical keyboard.
    keyboard = window.pages[Step.FAMILY_NAME].keyboard
    assert keyboard.layoutDirection().name == "LeftToRight"
