"""Messages to patients: every kind in every language, in the patient's words and format; texts
within two parts; the email parses back with its parts, a QR image that decodes to the code and
a calendar entry with the right times across a change of clocks; nothing beyond the facts."""

from __future__ import annotations

import dataclasses
import email
import html
import io
import re
from datetime import date, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.pofile import read_po

from kiosk.base.i18n import translate
from kiosk.base.settings import Settings
from kiosk.domain import texts, tokens
from kiosk.domain.results import CheckinResult, Outcome, Reason, Wait
from kiosk.messages import render
from kiosk.messages.render import (
    AppointmentFacts,
    MessageKind,
    QueueFacts,
    QueueReply,
    here_word,
    here_words,
    render_email,
    render_queue_sms,
    render_sms,
    reply_word,
    sms_encoding,
    sms_segments,
    stop_words,
)

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = list(Settings().languages)
TRANSLATED = [code for code in LANGUAGES if code != "en"]
ZONE = ZoneInfo("America/New_York")
STARTS = datetime(2026, 12, 3, 14, 5, tzinfo=ZONE)
TOKEN = tokens.issue(b"s" * 32, "main", "appt-42", STARTS.date())
APPOINTMENT_KINDS = [MessageKind.CONFIRMATION, MessageKind.REMINDER, MessageKind.RESCHEDULED,
                     MessageKind.CANCELLED]
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE)
SENDER = "Riverside Clinic <appointments@riverside.example>"
RECIPIENT = "patient@example.org"


def facts(kind: MessageKind = MessageKind.CONFIRMATION, language: str = "en",
          **changes: object) -> AppointmentFacts:
    base = AppointmentFacts(
        kind=kind, language=language, practice="Riverside Clinic", starts_at=STARTS,
        provider="Dr. Ana Ruiz", place="Main Street",
        token=None if kind == MessageKind.CANCELLED else TOKEN, uid="appt-42@riverside.example",
        sequence=2, ends_at=STARTS + timedelta(minutes=20))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def queue_variants(language: str) -> list[QueueFacts]:
    practice = "Riverside Clinic"
    reply = dict(kind=MessageKind.REPLY, language=language, practice=practice)
    return [
        QueueFacts(MessageKind.NEXT, language, practice, ticket="K-12"),
        QueueFacts(MessageKind.CALLED, language, practice, ticket="K-12", room="Room 3"),
        QueueFacts(MessageKind.CALLED, language, practice, ticket="K-12"),
        *(QueueFacts(**reply, reply=kind, ticket="K-12", position=3, wait_median=12,  # type: ignore[arg-type]
                     wait_upper=25, texted_when_next=True)
          for kind in (QueueReply.CHECKED_IN, QueueReply.ALREADY_CHECKED_IN, QueueReply.LATE)),
        QueueFacts(**reply, reply=QueueReply.CHECKED_IN, ticket="K-12", position=1),  # type: ignore[arg-type]
        QueueFacts(**reply, reply=QueueReply.TOO_EARLY, opens_at=STARTS),  # type: ignore[arg-type]
        *(QueueFacts(**reply, reply=kind)  # type: ignore[arg-type]
          for kind in (QueueReply.CANCELLED, QueueReply.CLOSED, QueueReply.SEE_RECEPTION,
                       QueueReply.NOT_FOUND, QueueReply.OPTED_OUT, QueueReply.NOT_UNDERSTOOD)),
        QueueFacts(**reply, reply=QueueReply.WHICH_PATIENT, choices=("Anna", "Ben")),  # type: ignore[arg-type]
    ]


def parts(message: EmailMessage) -> dict[str, str | bytes]:
    """The parts of a sent-and-received email by content type (parsed back from bytes)."""
    received = email.message_from_bytes(message.as_bytes(policy=policy.SMTP),
                                        policy=policy.default)
    found: dict[str, str | bytes] = {"subject": str(received["Subject"])}
    for part in received.walk():
        if not part.is_multipart():
            found[part.get_content_type()] = part.get_content()  # type: ignore[attr-defined]
    found["received"] = received  # type: ignore[assignment]
    return found


# -- English pieces: what must not be left in a translated message -------------------------

def english_pieces() -> set[str]:
    """Every stretch of three words or more of the English messages a render may use."""
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        messages = [m.id for m in read_po(handle) if m.id]
    messages += [texts.WAIT_LINE, texts.WAIT_SOON, texts.WAIT_UNKNOWN, texts.ERROR_BODY,
                 texts.PROVIDER_LINE, *render.MESSAGES.values()]
    pieces = set()
    for message in messages:
        for piece in re.split(r"\{\w+\}", message):
            words = piece.strip(" .,:;!?")
            if len(words.split()) >= 3:
                pieces.add(words)
    return pieces


ENGLISH = english_pieces()


def shown(value: str, text: str, language: str) -> bool:
    """``value`` is in the text as written, or without accents when they cost a part."""
    folded = render.gsm_folded(value, every_accent=language == "vi")
    return value in text or (folded is not None and folded in text)


def english_left(text: str) -> list[str]:
    return sorted(piece for piece in ENGLISH if piece in text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_renders_in_every_language_in_its_words(language):
    """Proves each message exists in each shipped language, carries the facts written the
    patient's way, and has no English sentence left (a missing translation would show one)."""
    rendered = []
    for kind in APPOINTMENT_KINDS:
        appointment = facts(kind, language)
        text = render_sms(appointment)
        assert "Riverside Clinic" in text and "Dr. Ana Ruiz" in text
        assert shown(render.clock_time(STARTS, language), text, language)
        assert shown(render.short_day(STARTS, language), text, language)
        if kind != MessageKind.CANCELLED:
            assert here_word(language) in text
        found = parts(render_email(appointment, sender=SENDER, recipient=RECIPIENT,
                                   message_id="<m1@riverside.example>", now=NOW))
        plain, page = found["text/plain"], found["text/html"]
        assert isinstance(plain, str) and isinstance(page, str)
        assert render.long_day(STARTS, language) in plain
        assert "Main Street" in plain and "Main Street" in page
        assert (TOKEN in plain) == (kind != MessageKind.CANCELLED)
        rendered += [text, plain, html.unescape(page), str(found["subject"])]
    for queue in queue_variants(language):
        rendered.append(render_queue_sms(queue))
    if language == "en":
        assert any("car park" in text for text in rendered)
        return
    for text in rendered:
        assert english_left(text) == [], text


def test_the_reply_from_the_engine_says_what_the_kiosk_says():
    """Too early, late and cancelled read as on the kiosk's own screen, in the language."""
    for language in ("en", "ar", "zh_Hans", "ru"):
        early = CheckinResult(Outcome.TOO_EARLY, opens_at=datetime(2026, 12, 3, 13, 35,
                                                                   tzinfo=ZONE))
        late = CheckinResult(Outcome.SEE_RECEPTION, Reason.LATE, ticket="K-4", position=2)
        cancelled = CheckinResult(Outcome.SEE_RECEPTION, Reason.CANCELLED)
        for result in (early, late, cancelled):
            reply = render_queue_sms(QueueFacts.from_result(
                result, language=language, practice="Riverside Clinic"))
            assert result.message(language).replace("\u202f", " ") in reply
        checked = CheckinResult(Outcome.CHECKED_IN, ticket="K-7", position=3,
                                wait=Wait(median=12, upper=25))
        reply = render_queue_sms(QueueFacts.from_result(checked, language=language,
                                                        practice="Riverside Clinic"))
        assert "K-7" in reply and "12" in reply and "25" in reply
        assert translate(texts.WAIT_LINE, language, median=12, upper=25) in reply
    which = render_queue_sms(QueueFacts(MessageKind.REPLY, "en", "Riverside Clinic",
                                        reply=QueueReply.WHICH_PATIENT,
                                        choices=("Anna", "Ben")))
    assert which.endswith(":\n1 Anna\n2 Ben")


# -- Text message length ------------------------------------------------------------------

def test_parts_are_counted_as_networks_count_them():
    assert sms_segments("a" * 160) == 1 and sms_segments("a" * 161) == 2
    assert sms_segments("a" * 306) == 2 and sms_segments("a" * 307) == 3
    assert sms_segments("€" * 80) == 1 and sms_segments("€" * 81) == 2  # two septets each
    assert sms_encoding("Hernández") == "ucs2" and sms_encoding("Hernandez é") == "gsm7"
    assert sms_segments("ж" * 70) == 1 and sms_segments("ж" * 71) == 2
    assert sms_segments("ж" * 134) == 2 and sms_segments("ж" * 135) == 3
    assert sms_segments("😀" * 35) == 1 and sms_segments("😀" * 36) == 2  # UTF-16 pairs


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_fit_two_parts(language):
    """With usual names, every text is at most two parts, in GSM-7 or UCS-2 (70 a part in
    Arabic, Chinese, Russian...); a reply is too."""
    texts_sent = [render_sms(facts(kind, language)) for kind in APPOINTMENT_KINDS]
    texts_sent += [render_sms(facts(kind, language, code_by_email=False))
                   for kind in APPOINTMENT_KINDS]
    texts_sent += [render_queue_sms(queue) for queue in queue_variants(language)]
    too_long = {text: sms_segments(text) for text in texts_sent if sms_segments(text) > 2}
    assert too_long == {}


def test_one_accent_in_a_name_does_not_cost_a_part():
    """"á" alone would send an English text in UCS-2 (three parts here); the text goes
    without the accent in two, and keeps it when it fits anyway."""
    long_names = facts(practice="Riverside Family Practice", provider="Dr. Amelia Hernández",
                       place="Main Street, 2nd floor")
    text = render_sms(long_names)
    assert sms_encoding(text) == "gsm7" and sms_segments(text) == 2
    assert "Hernandez" in text and "car park" in text
    short = render_queue_sms(QueueFacts(MessageKind.NEXT, "en", "Clínica Sur", ticket="A-1"))
    assert "Clínica Sur" in short  # one part either way: left as written
    vietnamese = render_sms(dataclasses.replace(long_names, language="vi"))
    if sms_encoding(vietnamese) == "gsm7":  # folded: then no tone mark at all is left
        assert not re.search(r"[à-ÿÀ-ß]", vietnamese)


def test_without_an_email_the_text_does_not_point_to_one():
    text = render_sms(facts(code_by_email=False))
    assert "email" not in text and "reply HERE" in text


# -- Words patients text back --------------------------------------------------------------

def test_here_and_stop_words():
    everyone_here = set().union(*(here_words(language) for language in LANGUAGES))
    everyone_stop = set().union(*(stop_words(language) for language in LANGUAGES))
    assert everyone_here.isdisjoint(everyone_stop)  # no reply means both, in any language
    for language in LANGUAGES:
        assert "HERE" in here_words(language) and "STOP" in stop_words(language)
        assert reply_word(here_word(language)) in here_words(language)
        assert reply_word(render.stop_word(language)) in stop_words(language)
    assert reply_word("  here! ") == "HERE" and reply_word("Aquí.") in here_words("es")
    assert reply_word("aqui") in here_words("es") and reply_word("Đến") in here_words("vi")
    assert reply_word("ｓｔｏｐ") == "STOP"  # full-width, as some phones type it
    assert reply_word("到了！") in here_words("zh_Hans")
    assert here_words("de") == {"HERE"}  # a language without words of its own: English


# -- The email ------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "ar", "zh_Hans"])
def test_the_email_parses_back_with_text_html_an_image_that_decodes_and_a_calendar(language):
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp ships with the gui extra")
    from PIL import Image

    message = render_email(facts(language=language), sender=SENDER, recipient=RECIPIENT,
                           message_id="m1@riverside.example", now=NOW)
    found = parts(message)
    received = found["received"]
    assert received.get_content_type() == "multipart/mixed"  # type: ignore[union-attr]
    kinds = [part.get_content_type() for part in received.walk()]  # type: ignore[union-attr]
    assert kinds == ["multipart/mixed", "multipart/alternative", "text/plain",
                     "multipart/related", "text/html", "image/png", "text/calendar"]
    assert received["Message-ID"] == "<m1@riverside.example>"  # type: ignore[index]
    assert received["Content-Language"] == language.replace("_", "-")  # type: ignore[index]
    assert email.utils.parsedate_to_datetime(received["Date"]) == NOW  # type: ignore[index]
    assert str(found["subject"]).strip() == render._tr(
        render.EMAIL_SUBJECT[MessageKind.CONFIRMATION], language, practice="Riverside Clinic",
        day=render.short_day(STARTS, language), time=render.clock_time(STARTS, language))

    page = found["text/html"]
    assert isinstance(page, str)
    image = next(part for part in received.walk()  # type: ignore[union-attr]
                 if part.get_content_type() == "image/png")
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in page
    assert f'alt="{html.escape(render._tr(render.QR_ALT, language))}"' in page
    assert TOKEN in page  # the code in text, under the image
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())).convert("L"))
    assert [code.text for code in decoded] == [TOKEN]
    direction = "rtl" if language == "ar" else "ltr"
    assert f'<html lang="{language.replace("_", "-")}" dir="{direction}">' in page
    # No external resource, no tracking: the only source is the inline image.
    assert re.findall(r'(?:src|href)="([^"]*)"', page) == [f"cid:{content_id}"]
    assert "http" not in page.replace('http-equiv', '') and "<script" not in page
    assert found["text/calendar"]
    assert balanced(page)


VOID = {"meta", "img", "hr", "br"}


def balanced(page: str) -> bool:
    """Every element the HTML opens is closed, in order (a reader forgives less than a
    browser)."""
    from html.parser import HTMLParser

    open_tags: list[str] = []
    mismatched: list[str] = []

    class Checker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in VOID:
                open_tags.append(tag)

        def handle_endtag(self, tag):
            if not open_tags or open_tags.pop() != tag:
                mismatched.append(tag)

    Checker().feed(page)
    return not open_tags and not mismatched


def test_a_cancellation_has_no_code_and_cancels_the_calendar_entry():
    found = parts(render_email(facts(MessageKind.CANCELLED), sender=SENDER,
                               recipient=RECIPIENT, message_id="<m2@x>", now=NOW))
    assert "image/png" not in found and "LK1" not in str(found["text/plain"])
    assert "call the practice" in str(found["text/plain"])
    calendar = ical(found["text/calendar"])
    assert calendar["METHOD"] == "CANCEL" and calendar["STATUS"] == "CANCELLED"
    assert calendar["UID"] == "appt-42@riverside.example" and calendar["SEQUENCE"] == "2"


# -- The calendar entry ---------------------------------------------------------------------

def ical(data: str | bytes) -> dict[str, str]:
    """The properties of a one-event calendar (RFC 5545: CRLF lines of at most 75 octets,
    folded with a space), by name; parameters dropped."""
    raw = data if isinstance(data, bytes) else data.encode()
    text = raw.decode("utf-8")
    physical = text.split("\r\n")
    assert physical[-1] == "" and all(len(line.encode()) <= 75 for line in physical)
    assert "\n" not in text.replace("\r\n", "")
    lines = text.replace("\r\n ", "").split("\r\n")[:-1]
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    properties: dict[str, str] = {}
    for line in lines:
        name_and_parameters, value = re.match(r'((?:[^:"]|"[^"]*")*):(.*)', line).groups()  # type: ignore[union-attr]
        properties.setdefault(name_and_parameters.split(";")[0], value)
    return properties


def calendar_of(appointment: AppointmentFacts) -> dict[str, str]:
    return ical(parts(render_email(appointment, sender=SENDER, recipient=RECIPIENT,
                                   message_id="<m3@x>", now=NOW))["text/calendar"])


def test_the_calendar_entry_has_what_calendars_need():
    entry = calendar_of(facts())
    assert entry["VERSION"] == "2.0" and entry["METHOD"] == "REQUEST"
    assert entry["UID"] == "appt-42@riverside.example" and entry["SEQUENCE"] == "2"
    assert entry["DTSTAMP"] == "20261201T140000Z"
    assert entry["DTSTART"] == "20261203T190500Z" and entry["DTEND"] == "20261203T192500Z"
    assert entry["SUMMARY"] == "Appointment at Riverside Clinic"
    assert entry["LOCATION"] == "Main Street" and entry["STATUS"] == "CONFIRMED"
    assert entry["ORGANIZER"] == "mailto:appointments@riverside.example"
    assert entry["ATTENDEE"] == "mailto:patient@example.org"
    assert entry["PRODID"]
    without_end = calendar_of(facts(ends_at=None))
    assert without_end["DTEND"] == "20261203T193500Z"  # the default length


def test_calendar_times_are_right_across_a_change_of_clocks():
    """New York moves its clocks on 8 March 2026: 9:00 is 14:00 UTC before, 13:00 after."""
    before = datetime(2026, 3, 6, 9, 0, tzinfo=ZONE)
    after = datetime(2026, 3, 9, 9, 0, tzinfo=ZONE)
    # An appointment that spans the change itself: 01:30 EST to 03:30 EDT is one hour.
    across = datetime(2026, 3, 8, 1, 30, tzinfo=ZONE)
    assert calendar_of(facts(starts_at=before, ends_at=None))["DTSTART"] == "20260306T140000Z"
    assert calendar_of(facts(starts_at=after, ends_at=None))["DTSTART"] == "20260309T130000Z"
    entry = calendar_of(facts(starts_at=across, ends_at=datetime(2026, 3, 8, 3, 30, tzinfo=ZONE)))
    assert (entry["DTSTART"], entry["DTEND"]) == ("20260308T063000Z", "20260308T073000Z")
    for starts in (before, after):  # the patient reads the local time either way
        assert "9:00 AM" in render_sms(facts(starts_at=starts))


def test_calendar_text_is_escaped_and_folded_without_breaking_a_character():
    entry = calendar_of(facts(language="zh_Hans", practice="河畔诊所, Riverside; 河畔家庭医学中心",
                              place="Main Street, 2nd floor\nEast wing"))
    assert entry["LOCATION"] == "Main Street\\, 2nd floor\\nEast wing"
    assert entry["SUMMARY"] == "河畔诊所\\, Riverside\\; 河畔家庭医学中心的预约"


# -- Nothing beyond the facts -----------------------------------------------------------------

def test_the_facts_hold_nothing_clinical():
    """A new field is a new thing patients' messages may say: review it (nothing clinical,
    no reason for the visit), then add it here."""
    assert {field.name for field in dataclasses.fields(AppointmentFacts)} == {
        "kind", "language", "practice", "starts_at", "provider", "place", "token", "uid",
        "sequence", "ends_at", "code_by_email"}
    assert {field.name for field in dataclasses.fields(QueueFacts)} == {
        "kind", "language", "practice", "ticket", "position", "wait_median", "wait_upper",
        "room", "reply", "opens_at", "choices", "texted_when_next"}


def test_the_email_says_only_its_words_and_the_facts():
    """Take every sentence of the catalog and every fact out of the plain text: no letter is
    left, so nothing else (no other field, no stray data) is in it."""
    appointment = facts()
    plain = parts(render_email(appointment, sender=SENDER, recipient=RECIPIENT,
                               message_id="<m4@x>", now=NOW))["text/plain"]
    assert isinstance(plain, str)
    with (ROOT / "locales" / "messages.pot").open("rb") as handle:
        pieces = [piece for m in read_po(handle) if m.id
                  for piece in re.split(r"\{\w+\}", m.id)]
    facts_written = [render.long_day(STARTS, "en"), render.clock_time(STARTS, "en"),
                     appointment.practice, appointment.provider, appointment.place, TOKEN]
    left = plain
    for known in sorted(facts_written + pieces, key=len, reverse=True):
        if known.strip():
            left = left.replace(known, " ")
    assert re.sub(r"[\W\d_]+", "", left) == ""
    assert date(2026, 12, 3).isoformat() not in plain
