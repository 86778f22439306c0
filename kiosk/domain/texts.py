"""Every sentence the patient kiosk shows, in English, marked for translation.

The screens translate them with :func:`kiosk.base.i18n.translate` in the patient's language. Plain,
short, calm words: patients may be unwell, anxious or reading a language not their own.
Numbers sit where no plural form depends on them ("Expected wait (minutes): ..."), so one
sentence fits every language's grammar.
"""

from __future__ import annotations

from kiosk.base.i18n import N_
from kiosk.domain.flow import InputProblem

WELCOME_TITLE = N_("Welcome")
WELCOME_SCAN = N_("Scan the code from your appointment message")
WELCOME_SCAN_HINT = N_("Hold the code under the scanner light.")
WELCOME_CAMERA_HINT = N_("Or hold it in front of the camera.")
WELCOME_NAME = N_("Check in with your name and date of birth")
HELP_BUTTON = N_("I need help")
LANGUAGE_LABEL = N_("Language")
LARGER_TEXT = N_("Larger text")
HIGH_CONTRAST = N_("High contrast")

FAMILY_TITLE = N_("What is your family name?")
FAMILY_HINT = N_("Type it as it is written on your appointment.")
# Shown under it in languages written in Latin letters.
HINT_ACCENTS = N_("Accents are optional.")
# Instead of it in Chinese: names are typed on the Latin keys.
HINT_PINYIN = N_(
    "Type your name in Pinyin, for example WANG, or as it is written on your appointment.")
# Under it in languages with letters of their own (the keyboard opens in them).
HINT_OWN_LETTERS = N_("You can type it in your own letters or in Latin letters (A B C).")
FAMILY_FIELD = N_("Family name")
GIVEN_TITLE = N_("What is your given name?")
GIVEN_HINT = N_("We found more than one appointment with this name and date.")
GIVEN_FIELD = N_("Given name")
NEXT = N_("Next")
BACK = N_("Back")
START_OVER = N_("Start over")

BIRTH_TITLE = N_("What is your date of birth?")
DAY = N_("Day")
MONTH = N_("Month")
YEAR = N_("Year")
# Shown greyed in the empty fields: one letter per digit wanted, as forms in the language
# write them ("JJ", "MM", "AAAA" in French).
DAY_DIGITS = N_("DD")
MONTH_DIGITS = N_("MM")
YEAR_DIGITS = N_("YYYY")
# Under the title where a language's patients may know their date of birth in another
# calendar too (Persian: Solar Hijri, and Gregorian). Keyed by kiosk.base.i18n's calendars.
CALENDAR_HINTS: dict[tuple[str, ...], str] = {
    ("solar_hijri", "gregorian"): N_(
        "Type it in the Solar Hijri calendar (for example 1363) or in the Gregorian calendar "
        "(for example 1984)."),
}
CHECK_IN = N_("Check in")

WORKING = N_("One moment, please…")

GREETING = N_("Hello, {name}.")
TICKET_LABEL = N_("Your ticket")
PROVIDER_LINE = N_("You will see {provider}.")
POSITION_LINE = N_("Your place in the queue: {position}")
WAIT_LINE = N_("Expected wait (minutes): about {median}, at most {upper}")
WAIT_SOON = N_("Expected wait: less than 5 minutes.")
# Too little history for an honest number (a new provider, a new practice): no fake figure.
WAIT_UNKNOWN = N_("We cannot yet say how long the wait will be. Reception will keep you "
                  "informed.")
TAKE_A_SEAT = N_("Your ticket number will be shown on the screen when it is your turn.")
# The queue on the patient's phone (only with a mobile number on record; only its last two
# digits are ever shown).
TEXT_ME = N_("Text me when it is my turn")
TEXT_ME_HINT = N_("To the mobile number ending in {digits}.")
TEXT_ME_DONE = N_("We will text the number ending in {digits} when you are next, and when you "
                  "are called.")
TEXT_ME_FAILED = N_("Sorry, we cannot text you. Please watch the screen for your ticket number.")
TRY_AGAIN = N_("Try again")
DONE = N_("Done")

FEEDBACK_QUESTION = N_("How was checking in today?")
FEEDBACK_THANKS = N_("Thank you!")
FEEDBACK_SCORES = (N_("Very bad"), N_("Bad"), N_("Okay"), N_("Good"), N_("Very good"))

HELP_TITLE = N_("Help is on the way")
HELP_BODY = N_("Reception has been told. A member of staff will come to you.")

ERROR_TITLE = N_("Sorry, something went wrong")
ERROR_BODY = N_("Please see reception. They will check you in.")

TIMEOUT_TITLE = N_("Do you need more time?")
TIMEOUT_BODY = N_("For your privacy, this screen will clear in {seconds} seconds.")
MORE_TIME = N_("I need more time")

KEY_SPACE = N_("Space")
KEY_DELETE = N_("Delete")
KEY_CLEAR = N_("Clear")  # the name keyboard's key that empties the whole field

PROBLEMS = {
    InputProblem.NAME_EMPTY: N_("Please type your name."),
    InputProblem.NAME_TOO_LONG: N_("That is too long for a name. Please check it."),
    InputProblem.DATE_INCOMPLETE: N_("Please fill in the day, the month and the year."),
    InputProblem.DATE_IMPOSSIBLE: N_("That date does not exist. Please check it."),
    InputProblem.DATE_FUTURE: N_("That date is in the future. Please check it."),
    InputProblem.DATE_TOO_OLD: N_("Please check the year of your birth."),
    InputProblem.DATE_YEAR_DIGITS: N_(
        "Please enter the year with four digits, for example 1984."),
}

# The lobby board (a public screen; headings rotate through the lobby's languages).
BOARD_NOW_CALLING = N_("Now calling")
BOARD_RECENT = N_("Called before")
BOARD_WAITING = N_("Waiting: place in line and expected wait")
BOARD_ROOM = N_("Please go to: {room}")
BOARD_PLACE = N_("Place {place}")
BOARD_MINUTES = N_("about {low} min (at most {high})")
BOARD_WAITING_EMPTY = N_("No one is waiting.")
BOARD_SPOKEN_CALL = N_("Ticket {ticket}. Please go to: {room}.")
