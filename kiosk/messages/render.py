"""What a message to a patient says: pure rendering, no database, no network.

The contract between the outbox (which decides what to send to whom, and when) and the content
(the words, in the patient's language). ``render_email`` builds the whole MIME message;
``render_sms`` the text of a text message about an appointment, ``render_queue_sms`` the texts
about the queue (next, called, and the answers to a patient's own text). Nothing clinical is
ever in a message: the practice, the day and time, the provider and the place, the check-in
code, the ticket and the wait. Only what the facts hold can appear; the tests hold the facts'
fields to that list.

The words are in their own gettext domain, ``messages`` (marked ``M_``); sentences the kiosk's
screen already says (too early, late, cancelled, the wait) are the kiosk's own, from its domain,
so a patient reads the same words on the phone and at the kiosk.
"""

from __future__ import annotations

import enum
import html
import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from kiosk.base.clock import SystemClock
from kiosk.base.i18n import DOMAIN as KIOSK_DOMAIN
from kiosk.base.i18n import format_time, is_right_to_left, translate
from kiosk.domain import texts
from kiosk.domain.results import MESSAGES, CheckinResult, Outcome, Reason
from kiosk.domain.tokens import qr_code

DOMAIN = "messages"


def M_(message: str) -> str:
    """Mark a message to patients for the ``messages`` catalog; translated where rendered."""
    return message


class MessageKind(enum.StrEnum):
    CONFIRMATION = "confirmation"  # an appointment first seen, booked ahead
    REMINDER = "reminder"          # reminder_hours before
    RESCHEDULED = "rescheduled"    # a new day or time: a new code
    CANCELLED = "cancelled"        # no code
    NEXT = "next"                  # the patient asked to be texted: they are next
    CALLED = "called"              # ... and now called, with the room
    REPLY = "reply"                # an answer to a text the patient sent (HERE, STOP, unknown)


APPOINTMENT_KINDS = frozenset({MessageKind.CONFIRMATION, MessageKind.REMINDER,
                               MessageKind.RESCHEDULED, MessageKind.CANCELLED})
# Without an end from the schedule, the calendar entry is given this length.
DEFAULT_LENGTH = timedelta(minutes=30)


@dataclass(frozen=True)
class AppointmentFacts:
    """Everything an appointment message may say. ``starts_at`` is aware, in the site's zone."""

    kind: MessageKind
    language: str            # a shipped language code (en, ar, zh_Hans, ...)
    practice: str            # the site's name
    starts_at: datetime
    provider: str            # the provider's display name
    place: str               # the location's name
    token: str | None        # the QR check-in code; None for a cancellation
    uid: str                 # stable calendar UID: the same for a rescheduled appointment
    sequence: int = 0        # calendar SEQUENCE: bumped on each reschedule and the cancellation
    ends_at: datetime | None = None  # the calendar entry's end (else DEFAULT_LENGTH after)
    # The patient also gets the email with the code: the text message may point to it.
    code_by_email: bool = True


class QueueReply(enum.StrEnum):
    """What the answer to a patient's text says (MessageKind.REPLY)."""

    CHECKED_IN = "checked_in"
    ALREADY_CHECKED_IN = "already_checked_in"
    LATE = "late"                  # checked in, but late: see reception (the kiosk's words)
    TOO_EARLY = "too_early"        # with opens_at (the kiosk's words)
    CANCELLED = "cancelled"        # the kiosk's words
    CLOSED = "closed"              # no-show or already seen (the kiosk's words)
    SEE_RECEPTION = "see_reception"  # anything else the kiosk sends to reception
    NOT_FOUND = "not_found"        # an unknown number, or no appointment today: one answer
    WHICH_PATIENT = "which_patient"  # twins sharing a number: with choices
    OPTED_OUT = "opted_out"        # after STOP
    NOT_UNDERSTOOD = "not_understood"


@dataclass(frozen=True)
class QueueFacts:
    """Everything a text about the queue may say."""

    kind: MessageKind        # NEXT, CALLED or REPLY
    language: str
    practice: str
    ticket: str | None = None
    position: int | None = None      # place in line, 1 = next
    wait_median: int | None = None   # minutes; None: too little history to say
    wait_upper: int | None = None
    room: str | None = None          # CALLED: where to go (None: reception)
    reply: QueueReply | None = None  # REPLY: which answer
    opens_at: datetime | None = None  # TOO_EARLY: when check-in opens (aware, site's zone)
    # WHICH_PATIENT: how each patient on the number is named to them (given names), in the
    # order their reply number picks them (1, 2, ...).
    choices: tuple[str, ...] = ()
    texted_when_next: bool = False   # CHECKED_IN: the patient will get the NEXT text

    @classmethod
    def from_result(cls, result: CheckinResult, *, language: str, practice: str,
                    texted_when_next: bool = False) -> QueueFacts:
        """The reply to a text check-in, from what the kiosk's engine answered."""
        wait = result.wait if result.wait is not None and result.wait.known else None
        return cls(MessageKind.REPLY, language, practice, ticket=result.ticket,
                   position=result.position,
                   wait_median=wait.median if wait else None,
                   wait_upper=wait.upper if wait else None,
                   reply=_REPLY_FOR.get((result.outcome, result.reason),
                                        QueueReply.SEE_RECEPTION),
                   opens_at=result.opens_at, texted_when_next=texted_when_next)


_REPLY_FOR = {
    (Outcome.CHECKED_IN, None): QueueReply.CHECKED_IN,
    (Outcome.ALREADY_CHECKED_IN, None): QueueReply.ALREADY_CHECKED_IN,
    (Outcome.SEE_RECEPTION, Reason.LATE): QueueReply.LATE,
    (Outcome.TOO_EARLY, None): QueueReply.TOO_EARLY,
    (Outcome.SEE_RECEPTION, Reason.CANCELLED): QueueReply.CANCELLED,
    (Outcome.SEE_RECEPTION, Reason.CLOSED): QueueReply.CLOSED,
    (Outcome.NOT_FOUND, None): QueueReply.NOT_FOUND,
}

# -- The words ------------------------------------------------------------------------------

# Every text message starts with who sends it ("【{practice}】{text}" in Chinese).
SMS_FROM = M_("{practice}: {text}")
SMS_APPOINTMENT = {
    MessageKind.CONFIRMATION: M_(
        "Your appointment is booked for {day} at {time} with {provider}, {place}."),
    MessageKind.REMINDER: M_(
        "Reminder: your appointment is on {day} at {time} with {provider}, {place}."),
    MessageKind.RESCHEDULED: M_(
        "Your appointment has moved to {day} at {time} with {provider}, {place}."),
    MessageKind.CANCELLED: M_(
        "Your appointment on {day} at {time} with {provider} is cancelled."),
}
SMS_CHECK_IN = M_("When you arrive, reply {here} to check in from the car park, or scan the "
                  "code from your email at the kiosk.")
# When the longer one does not fit two text messages, or there is no email with the code.
SMS_CHECK_IN_SHORT = M_("When you arrive, reply {here} to check in.")
BOOK_AGAIN = M_("To book again, please call the practice.")

SMS_NEXT = M_("Ticket {ticket}: you are next. Please come to the waiting room.")
SMS_CALLED = M_("Ticket {ticket}: it is your turn. Please go to: {room}.")
SMS_CALLED_RECEPTION = M_("Ticket {ticket}: it is your turn. Please come to reception.")
SMS_CHECKED_IN = M_("You are checked in.")
SMS_ALREADY_CHECKED_IN = M_("You are already checked in.")
SMS_TICKET_PLACE = M_("Ticket: {ticket}. Place in line: {position}.")
SMS_TEXTED_WHEN_NEXT = M_("We will text you when you are next.")
SMS_NOT_FOUND = M_("We could not find an appointment today for this phone number. Please "
                   "check in at the kiosk or at reception.")
SMS_WHICH_PATIENT = M_("More than one patient with this phone number has an appointment "
                       "today. Please reply with the number of the patient who is here:")
SMS_OPTED_OUT = M_("You will get no more text messages from us.")
SMS_NOT_UNDERSTOOD = M_("Sorry, we did not understand. When you arrive, reply {here} to check "
                        "in. To stop these texts, reply {stop}.")

EMAIL_SUBJECT = {
    MessageKind.CONFIRMATION: M_("Your appointment at {practice} on {day} at {time} is confirmed"),
    MessageKind.REMINDER: M_("Reminder: your appointment at {practice} on {day} at {time}"),
    MessageKind.RESCHEDULED: M_("Your appointment at {practice} has moved to {day} at {time}"),
    MessageKind.CANCELLED: M_("Your appointment at {practice} on {day} at {time} is cancelled"),
}
EMAIL_TITLE = {
    MessageKind.CONFIRMATION: M_("Your appointment is confirmed"),
    MessageKind.REMINDER: M_("A reminder of your appointment"),
    MessageKind.RESCHEDULED: M_("Your appointment has moved"),
    MessageKind.CANCELLED: M_("Your appointment is cancelled"),
}
LABEL_DAY = M_("Day")
LABEL_TIME = M_("Time")
LABEL_PROVIDER = M_("With")
LABEL_PLACE = M_("Where")
CHECK_IN_TITLE = M_("Checking in")
CHECK_IN_SCAN = M_("When you arrive, scan the code in this email at the kiosk.")
QR_ALT = M_("QR code for checking in at the kiosk")
CHECK_IN_CODE = M_("Check-in code: {code}")
CALENDAR_ADD = M_("The attached calendar file adds this appointment to your calendar.")
CALENDAR_REMOVE = M_("The attached calendar file removes this appointment from your calendar.")
FOOTER = M_("Sent by {practice} about your appointment. To stop these messages, please tell "
            "the practice.")
CALENDAR_SUMMARY = M_("Appointment at {practice}")


def _tr(message: str, language: str, **values: object) -> str:
    return translate(message, language, DOMAIN, **values)


def _kiosk(message: str, language: str, **values: object) -> str:
    return translate(message, language, KIOSK_DOMAIN, **values)


# -- Words a patient texts back ------------------------------------------------------------
# The first word of each list is the one the messages ask for; the others are accepted too
# (without accents, the other spelling people type). English HERE and STOP always work.

_HERE = {
    "en": ("HERE",),
    "ar": ("وصلت", "هنا", "وصلت."),
    "es": ("AQUI", "AQUÍ", "LLEGUE", "LLEGUÉ", "YA LLEGUE", "YA LLEGUÉ"),
    "fa": ("رسیدم", "رسيدم", "اینجا", "اينجا"),
    "fr": ("ICI", "ARRIVE", "ARRIVÉ", "ARRIVEE", "ARRIVÉE", "JE SUIS LA", "JE SUIS LÀ"),
    "hi": ("यहाँ", "यहां", "YAHAN", "YAHA", "पहुंच गया", "पहुंच गई", "पहुँच गया", "पहुँच गई"),
    "ht": ("ISIT", "MWEN LA", "M LA", "RIVE"),
    "ko": ("도착", "도착했어요", "도착했습니다", "DOCHAK"),
    "pl": ("JESTEM", "TU", "TUTAJ"),
    "pt": ("AQUI", "CHEGUEI"),
    "ru": ("ЗДЕСЬ", "ТУТ", "ПРИШЕЛ", "ПРИШЁЛ", "ПРИШЛА", "ZDES"),
    "tl": ("DITO", "NARITO", "NANDITO", "ANDITO"),
    "vi": ("DEN", "ĐẾN", "DA DEN", "ĐÃ ĐẾN", "TOI", "TỚI", "DA TOI", "ĐÃ TỚI"),
    "zh_Hans": ("到", "到了", "我到了", "已到"),
    "zh_Hant": ("到", "到了", "我到了", "已到"),
}
# Carriers' own opt-out words (CTIA) in every language, then the language's.
_STOP_EVERYWHERE = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
_STOP = {
    "en": ("STOP",),
    "ar": ("توقف", "إيقاف", "ايقاف", "الغاء", "إلغاء"),
    "es": ("ALTO", "PARAR", "BAJA"),
    "fa": ("لغو", "توقف"),
    "fr": ("STOP", "ARRET", "ARRÊT"),
    "hi": ("बंद", "रोकें", "BAND"),
    "ht": ("SISPANN", "RETE", "KANPE"),
    "ko": ("중지", "수신거부", "그만"),
    "pl": ("STOP", "KONIEC"),
    "pt": ("PARAR", "SAIR"),
    "ru": ("СТОП", "ОТПИСАТЬСЯ"),
    "tl": ("STOP", "TIGIL", "HINTO"),
    "vi": ("DUNG", "DỪNG", "NGUNG", "NGỪNG"),
    "zh_Hans": ("退订", "TD", "停止"),
    "zh_Hant": ("退訂", "TD", "停止"),
}


def _language_words(table: dict[str, tuple[str, ...]], language: str) -> tuple[str, ...]:
    return table.get(language) or table.get(language.split("_")[0]) or table["en"]


def reply_word(text: str) -> str:
    """A patient's reply as the word lists hold it: one composed form, trimmed, upper case,
    runs of spaces as one, and the punctuation people add around a word ("Here!") dropped."""
    composed = unicodedata.normalize("NFKC", text)
    words = " ".join(composed.split())
    while words and unicodedata.category(words[-1])[0] in "PS":
        words = words[:-1].rstrip()
    while words and unicodedata.category(words[0])[0] in "PS":
        words = words[1:].lstrip()
    return words.upper()


def here_words(language: str) -> set[str]:
    """The replies that mean "I am here, check me in" (as :func:`reply_word` gives them)."""
    return {reply_word(word) for word in (*_language_words(_HERE, language), "HERE")}


def stop_words(language: str) -> set[str]:
    """The replies that mean "send me nothing more" (as :func:`reply_word` gives them)."""
    return {reply_word(word) for word in (*_language_words(_STOP, language), *_STOP_EVERYWHERE)}


def here_word(language: str) -> str:
    """The word the messages ask the patient to reply."""
    return _language_words(_HERE, language)[0]


def stop_word(language: str) -> str:
    return _language_words(_STOP, language)[0]


# -- Days and times, the patient's way ------------------------------------------------------
# CLDR has no Haitian Creole dates (babel writes "M12 3, Thu"): written out here.
_HT_MONTHS = ("janvye", "fevriye", "mas", "avril", "me", "jen", "jiyè", "out", "septanm",
              "oktòb", "novanm", "desanm")
_HT_WEEKDAYS = ("lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch")


def long_day(value: datetime, language: str) -> str:
    """Weekday, day, month and year (emails): "Thursday, December 3, 2026"."""
    if language == "ht":
        return (f"{_HT_WEEKDAYS[value.weekday()]} {value.day} {_HT_MONTHS[value.month - 1]} "
                f"{value.year}")
    from babel.dates import format_date

    return _plain_spaces(format_date(value, "full", locale=language))


def short_day(value: datetime, language: str) -> str:
    """Weekday, day and month, short (texts, subjects): "Thu, Dec 3"."""
    if language == "ht":
        return f"{_HT_WEEKDAYS[value.weekday()]} {value.day} {_HT_MONTHS[value.month - 1]}"
    from babel.dates import format_skeleton

    return _plain_spaces(format_skeleton("MMMEd", value, locale=language))


def clock_time(value: datetime, language: str) -> str:
    return _plain_spaces(format_time(value, language))


def _plain_spaces(text: str) -> str:
    # CLDR writes narrow and no-break spaces ("2:05 PM"); a text message with one is sent
    # in UCS-2 (70 characters a part instead of 160), and a plain space reads the same.
    return text.replace("\u202f", " ").replace("\u00a0", " ").replace("\u2009", " ")


# -- Text messages ------------------------------------------------------------------------

# GSM 03.38: the default alphabet (one septet each) and its extension (two septets each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVW"
    "XYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")
MAX_SEGMENTS = 2


def sms_encoding(text: str) -> str:
    """"gsm7" when every character is in the GSM default alphabet, else "ucs2"."""
    return "gsm7" if all(c in GSM_BASIC or c in GSM_EXTENSION for c in text) else "ucs2"


def sms_segments(text: str) -> int:
    """How many parts a network sends ``text`` in: 160 septets alone or 153 a part (GSM-7),
    70 UTF-16 units alone or 67 a part (UCS-2)."""
    if sms_encoding(text) == "gsm7":
        length, single, part = sum(2 if c in GSM_EXTENSION else 1 for c in text), 160, 153
    else:
        length, single, part = len(text.encode("utf-16-le")) // 2, 70, 67
    return 1 if length <= single else -(-length // part)


def _sms(practice: str, language: str, *sentences: str) -> str:
    return _tr(SMS_FROM, language, practice=practice, text=_joined(sentences))


def _joined(sentences: tuple[str, ...] | list[str]) -> str:
    # No space after a full-width stop (Chinese "。"): one would show as a gap.
    text = ""
    for sentence in sentences:
        text += sentence if not text or text[-1] in "。！？：" else " " + sentence
    return text


# Letters that are not a base letter with accents, and typographic marks, as texters write them.
_GSM_SPELLINGS = {"đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "œ": "oe", "Œ": "OE", "ı": "i",
                  "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "«": '"', "»": '"',
                  "\u2013": "-", "\u2014": "-", "\u2026": "..."}


# Languages whose texts, once some accents must go, lose them all: Vietnamese without tone
# marks is how texts were long written; a few marks left (those GSM has) read as mistakes.
_FOLD_EVERY_ACCENT = frozenset({"vi"})


def gsm_folded(text: str, *, every_accent: bool = False) -> str | None:
    """``text`` in the GSM alphabet with the accents it lacks taken off ("Hernández" ->
    "Hernandez"), or None when some character has no such spelling (another script).
    ``every_accent``: take off the accents GSM has too ("é")."""
    folded = []
    for character in text:
        if character in GSM_EXTENSION or (character in GSM_BASIC and not (
                every_accent and character.isalpha() and not character.isascii()
                and unicodedata.decomposition(character))):
            folded.append(character)
            continue
        bare = _GSM_SPELLINGS.get(character) or "".join(
            c for c in unicodedata.normalize("NFKD", character) if not unicodedata.combining(c))
        if not bare or any(c not in GSM_BASIC for c in bare):
            return None
        folded.append(bare)
    return "".join(folded)


def _fitting(candidates: list[str], language: str) -> str:
    """The first (fullest) candidate that fits MAX_SEGMENTS parts; failing that, the first
    that fits without the accents that alone make it UCS-2 (one "á" in a name makes an
    English text's 160-character parts 70), as people text; failing that, the last
    (shortest)."""
    for candidate in candidates:
        if sms_segments(candidate) <= MAX_SEGMENTS:
            return candidate
    for candidate in candidates:
        folded = gsm_folded(candidate, every_accent=language in _FOLD_EVERY_ACCENT)
        if folded is not None and sms_segments(folded) <= MAX_SEGMENTS:
            return folded
    return candidates[-1]


def render_sms(facts: AppointmentFacts) -> str:
    """The text message: day, time, place, and how to check in from the car park."""
    if facts.kind not in APPOINTMENT_KINDS:
        raise ValueError(f"{facts.kind} is a queue text: use render_queue_sms")
    language = facts.language
    starts = facts.starts_at
    appointment = _tr(SMS_APPOINTMENT[facts.kind], language, day=short_day(starts, language),
                      time=clock_time(starts, language), provider=facts.provider,
                      place=facts.place)
    if facts.kind == MessageKind.CANCELLED:
        cancelled = _sms(facts.practice, language, appointment, _tr(BOOK_AGAIN, language))
        return _fitting([cancelled], language)
    here = here_word(language)
    short = _sms(facts.practice, language, appointment,
                 _tr(SMS_CHECK_IN_SHORT, language, here=here))
    if not facts.code_by_email:
        return _fitting([short], language)
    return _fitting([
        _sms(facts.practice, language, appointment, _tr(SMS_CHECK_IN, language, here=here)),
        short], language)


def _wait_sentence(facts: QueueFacts) -> str:
    # As the kiosk's result screen says it (ui/kiosk/pages/result.py).
    if facts.wait_median is None or facts.wait_upper is None:
        return _kiosk(texts.WAIT_UNKNOWN, facts.language)
    if facts.wait_upper < 5:
        return _kiosk(texts.WAIT_SOON, facts.language)
    return _kiosk(texts.WAIT_LINE, facts.language, median=facts.wait_median,
                  upper=facts.wait_upper) + _FULL_STOP.get(facts.language, ".")


# The kiosk's wait line is a heading on its screen; in a text it ends as a sentence does.
_FULL_STOP = {"hi": "।", "zh_Hans": "。", "zh_Hant": "。"}


def _ticket_place(facts: QueueFacts) -> list[str]:
    if facts.ticket is None or facts.position is None:
        return []
    return [_tr(SMS_TICKET_PLACE, facts.language, ticket=facts.ticket, position=facts.position)]


def render_queue_sms(facts: QueueFacts) -> str:
    """A text about the queue: next, called (with the room), or the answer to the patient's
    own text (checked in with ticket, place and wait; too early; which patient; ...)."""
    language = facts.language
    if facts.kind == MessageKind.NEXT:
        return _fitting([_sms(facts.practice, language,
                              _tr(SMS_NEXT, language, ticket=facts.ticket or ""))], language)
    if facts.kind == MessageKind.CALLED:
        if facts.room:
            called = _tr(SMS_CALLED, language, ticket=facts.ticket or "", room=facts.room)
        else:
            called = _tr(SMS_CALLED_RECEPTION, language, ticket=facts.ticket or "")
        return _fitting([_sms(facts.practice, language, called)], language)
    if facts.kind != MessageKind.REPLY or facts.reply is None:
        raise ValueError(f"{facts.kind} is an appointment message: use render_sms")
    sentences = _reply_sentences(facts)
    candidates = [sentences]
    if facts.reply in (QueueReply.CHECKED_IN, QueueReply.ALREADY_CHECKED_IN):
        # What may go when it does not fit two parts, least needed first: the promise of a
        # text, then a wait that is unknown anyway. The ticket and the place always stay.
        if facts.texted_when_next:
            candidates.append(sentences := sentences[:-1])
        if facts.wait_median is None or facts.wait_upper is None:
            candidates.append(sentences[:-1])
    return _fitting([_sms(facts.practice, language, *candidate) for candidate in candidates],
                    language)


def _reply_sentences(facts: QueueFacts) -> list[str]:
    language, reply = facts.language, facts.reply
    if reply in (QueueReply.CHECKED_IN, QueueReply.ALREADY_CHECKED_IN):
        first = SMS_CHECKED_IN if reply == QueueReply.CHECKED_IN else SMS_ALREADY_CHECKED_IN
        sentences = [_tr(first, language), *_ticket_place(facts), _wait_sentence(facts)]
        if facts.texted_when_next:
            sentences.append(_tr(SMS_TEXTED_WHEN_NEXT, language))
        return sentences
    if reply == QueueReply.LATE:
        return [_kiosk(MESSAGES[(Outcome.SEE_RECEPTION, Reason.LATE)], language),
                *_ticket_place(facts)]
    if reply == QueueReply.TOO_EARLY:
        opens_at = clock_time(facts.opens_at, language) if facts.opens_at else ""
        return [_kiosk(MESSAGES[(Outcome.TOO_EARLY, None)], language, opens_at=opens_at)]
    if reply == QueueReply.CANCELLED:
        return [_kiosk(MESSAGES[(Outcome.SEE_RECEPTION, Reason.CANCELLED)], language)]
    if reply == QueueReply.CLOSED:
        return [_kiosk(MESSAGES[(Outcome.SEE_RECEPTION, Reason.CLOSED)], language)]
    if reply == QueueReply.NOT_FOUND:
        return [_tr(SMS_NOT_FOUND, language)]
    if reply == QueueReply.WHICH_PATIENT:
        choices = "\n".join(f"{number} {name}" for number, name in
                            enumerate(facts.choices, start=1))
        return [_tr(SMS_WHICH_PATIENT, language) + "\n" + choices]
    if reply == QueueReply.OPTED_OUT:
        return [_tr(SMS_OPTED_OUT, language)]
    if reply == QueueReply.NOT_UNDERSTOOD:
        return [_tr(SMS_NOT_UNDERSTOOD, language, here=here_word(language),
                  stop=stop_word(language))]
    return [_kiosk(texts.ERROR_BODY, language)]  # SEE_RECEPTION


# -- Email ----------------------------------------------------------------------------------

def language_tag(language: str) -> str:
    """The BCP 47 tag of a shipped language code (zh_Hans -> zh-Hans)."""
    return language.replace("_", "-")


def render_email(facts: AppointmentFacts, *, sender: str, recipient: str,
                 message_id: str, now: datetime | None = None) -> EmailMessage:
    """The email: plain-text and HTML parts, the QR code inline (with alt text and the code in
    text), an .ics attachment; headers From, To, Subject, Date, Message-ID set.

    ``now`` (the outbox's clock) dates the message and the calendar entry. The structure:
    multipart/mixed [ multipart/alternative [ text/plain, multipart/related [ text/html,
    image/png ] ], text/calendar ]; a cancellation has no code and no image."""
    if facts.kind not in APPOINTMENT_KINDS:
        raise ValueError(f"{facts.kind} is not sent by email")
    if facts.kind != MessageKind.CANCELLED and not facts.token:
        raise ValueError("an appointment email needs its check-in code")
    stamped = (now or SystemClock().now()).astimezone(UTC)
    language = facts.language
    message_id = message_id if message_id.startswith("<") else f"<{message_id}>"
    words = _EmailWords.of(facts)

    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = words.subject
    message["Date"] = format_datetime(stamped)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to it

    image_id = "qr-" + message_id.strip("<>")
    message.set_content(_plain_text(facts, words))
    message.add_alternative(_html(facts, words, image_id), subtype="html")
    if facts.token:
        html_part = message.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(_qr_png(facts.token), "image", "png", cid=f"<{image_id}>",
                              disposition="inline", filename="check-in-code.png")
    method = "CANCEL" if facts.kind == MessageKind.CANCELLED else "REQUEST"
    message.add_attachment(
        calendar(facts, sender=sender, recipient=recipient, stamped=stamped),
        maintype="text", subtype="calendar", filename="appointment.ics",
        params={"method": method, "charset": "utf-8"})
    # Set last: making the message multipart moves every Content-* header into the first part.
    message["Content-Language"] = language_tag(language)
    return message


@dataclass(frozen=True)
class _EmailWords:
    """The sentences of one email, translated and filled in (not yet escaped)."""

    subject: str
    title: str
    rows: tuple[tuple[str, str], ...]
    check_in_title: str
    scan: str
    alt: str
    code_template: str  # CHECK_IN_CODE translated, {code} left in
    calendar: str
    book_again: str
    footer: str

    @classmethod
    def of(cls, facts: AppointmentFacts) -> _EmailWords:
        language, starts = facts.language, facts.starts_at
        return cls(
            subject=_tr(EMAIL_SUBJECT[facts.kind], language, practice=facts.practice,
                      day=short_day(starts, language), time=clock_time(starts, language)),
            title=_tr(EMAIL_TITLE[facts.kind], language),
            rows=((_tr(LABEL_DAY, language), long_day(starts, language)),
                  (_tr(LABEL_TIME, language), clock_time(starts, language)),
                  (_tr(LABEL_PROVIDER, language), facts.provider),
                  (_tr(LABEL_PLACE, language), facts.place)),
            check_in_title=_tr(CHECK_IN_TITLE, language),
            scan=_tr(CHECK_IN_SCAN, language),
            alt=_tr(QR_ALT, language),
            code_template=_tr(CHECK_IN_CODE, language),
            calendar=_tr(CALENDAR_REMOVE if facts.kind == MessageKind.CANCELLED else CALENDAR_ADD,
                       language),
            book_again=_tr(BOOK_AGAIN, language),
            footer=_tr(FOOTER, language, practice=facts.practice))


def _plain_text(facts: AppointmentFacts, words: _EmailWords) -> str:
    lines = [facts.practice, "", words.title, ""]
    lines += [f"{label}: {value}" for label, value in words.rows]
    lines.append("")
    if facts.kind == MessageKind.CANCELLED:
        lines += [words.book_again, ""]
    elif facts.token:
        lines += [words.check_in_title, words.scan,
                  words.code_template.format(code=facts.token), ""]
    lines += [words.calendar, "", "--", words.footer]
    return "\n".join(lines) + "\n"


# Large, plain type; styles inline (mail clients drop <style>); no external resource.
_FONT = ("font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif;"
         "color:#1a1a1a;")
_QR_PIXELS = 264  # on screen: 8 pixels a module for a 33-module code with its quiet zone


def _html(facts: AppointmentFacts, words: _EmailWords, image_id: str) -> str:
    escape = html.escape
    direction = "rtl" if is_right_to_left(facts.language) else "ltr"
    tag = language_tag(facts.language)
    rows = "".join(
        f'<tr><td style="padding:6px 0;padding-inline-end:16px;color:#4a4a4a;font-size:18px;'
        f'vertical-align:baseline">{escape(label)}</td>'
        f'<td style="padding:6px 0;font-size:22px;font-weight:bold;vertical-align:baseline">'
        f"<bdi>{escape(value)}</bdi></td></tr>"
        for label, value in words.rows)
    parts = [
        f'<p style="margin:0 0 4px 0;font-size:18px;color:#4a4a4a"><bdi>'
        f"{escape(facts.practice)}</bdi></p>",
        f'<h1 style="margin:0 0 20px 0;font-size:30px;line-height:1.25">'
        f"{escape(words.title)}</h1>",
        f'<table role="presentation" cellpadding="0" cellspacing="0" '
        f'style="border-collapse:collapse;margin:0 0 24px 0">{rows}</table>',
    ]
    if facts.kind == MessageKind.CANCELLED:
        parts.append(f'<p style="font-size:20px;margin:0 0 24px 0">'
                     f"{escape(words.book_again)}</p>")
    elif facts.token:
        code = (f'<span dir="ltr" style="font-family:Menlo,Consolas,\'DejaVu Sans Mono\','
                f'monospace;font-size:18px;display:inline-block;max-width:100%;word-break:break-all">'
                f"{escape(facts.token)}</span>")
        parts += [
            f'<h2 style="margin:0 0 8px 0;font-size:24px">{escape(words.check_in_title)}</h2>',
            f'<p style="font-size:20px;margin:0 0 12px 0">{escape(words.scan)}</p>',
            f'<p style="text-align:center;margin:0 0 8px 0"><img src="cid:{escape(image_id)}" '
            f'width="{_QR_PIXELS}" height="{_QR_PIXELS}" alt="{escape(words.alt)}" '
            f'style="border:0"></p>',
            f'<p style="font-size:18px;margin:0 0 24px 0;text-align:center">'
            f"{escape(words.code_template).format(code=code)}</p>",
        ]
    parts += [
        f'<p style="font-size:18px;margin:0 0 24px 0">{escape(words.calendar)}</p>',
        '<hr style="border:0;border-top:1px solid #cccccc;margin:0 0 12px 0">',
        f'<p style="font-size:16px;color:#4a4a4a;margin:0">{escape(words.footer)}</p>',
    ]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="{tag}" dir="{direction}">\n<head>\n'
            f'<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(words.subject)}</title>\n</head>\n"
            f'<body style="margin:0;padding:0;background:#ffffff">\n'
            f'<div lang="{tag}" dir="{direction}" style="{_FONT}font-size:20px;line-height:1.5;'
            f'max-width:600px;margin:0 auto;padding:24px">\n{body}\n</div>\n</body>\n</html>\n')


def _qr_png(token: str) -> bytes:
    buffer = io.BytesIO()
    qr_code(token, quick=True).make_image().save(buffer, format="PNG")
    return buffer.getvalue()


# -- The calendar entry (RFC 5545, iTIP methods of RFC 5546) --------------------------------

def calendar(facts: AppointmentFacts, *, sender: str, recipient: str,
             stamped: datetime) -> bytes:
    """The .ics: one VEVENT, METHOD:REQUEST (add or move it) or METHOD:CANCEL. Times in UTC,
    so no VTIMEZONE is needed and a day that changes clocks is no special case."""
    cancelled = facts.kind == MessageKind.CANCELLED
    ends_at = facts.ends_at or facts.starts_at + DEFAULT_LENGTH
    organizer_name, organizer = parseaddr(sender)
    _recipient_name, attendee = parseaddr(recipient)
    language = facts.language
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Lobby Kiosk//Appointment messages//EN",
        "CALSCALE:GREGORIAN",
        f"METHOD:{'CANCEL' if cancelled else 'REQUEST'}",
        "BEGIN:VEVENT",
        f"UID:{_ical_text(facts.uid)}",
        f"SEQUENCE:{facts.sequence}",
        f"DTSTAMP:{_ical_utc(stamped)}",
        f"DTSTART:{_ical_utc(facts.starts_at)}",
        f"DTEND:{_ical_utc(ends_at)}",
        f"SUMMARY;LANGUAGE={language_tag(language)}:"
        + _ical_text(_tr(CALENDAR_SUMMARY, language, practice=facts.practice)),
        f"LOCATION:{_ical_text(facts.place)}",
        f"DESCRIPTION;LANGUAGE={language_tag(language)}:"
        + _ical_text(_kiosk(texts.PROVIDER_LINE, language, provider=facts.provider)),
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        "TRANSP:OPAQUE",
        f'ORGANIZER;CN="{_ical_param(organizer_name or facts.practice)}":mailto:{organizer}',
        f"ATTENDEE;ROLE=REQ-PARTICIPANT;RSVP=FALSE:mailto:{attendee}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


def _ical_utc(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("calendar times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _ical_text(value: str) -> str:
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def _ical_param(value: str) -> str:
    # A quoted parameter value may hold anything but a double quote and control characters.
    return "".join(c for c in value.replace('"', "'") if c >= " ")


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued with a space; never inside a UTF-8 character."""
    pieces, current, size, limit = [], "", 0, 75
    for character in line:
        width = len(character.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, 74  # continuation lines begin with a space
        current += character
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)
