"""Check-in by text and the queue on the patient's phone, through a real Kannel (bearerbox,
smsbox and its fake SMS centre) and the kiosk's incoming endpoint: a patient texts HERE from
the car park and gets the ticket back; twins on one number are asked which; STOP ends the
messages; an unknown number gets one answer; a patient who asked is texted when next and
when called, by the messages outbox's sender. Each test is bounded to a few seconds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from kiosk.messages.answering import TextAnswerer
from kiosk.messages.inbound import InboundSms
from kiosk.messages.sender import MessageSenderPass
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import QueueService
from kiosk.store.models import (
    CheckinMethod,
    MessageState,
    Patient,
    PatientMessage,
    Visit,
)
from kiosk.store.site import SiteContext
from tests.support.kannel import (
    SENDSMS_PASSWORD,
    SENDSMS_USER,
    Kannel,
    KannelUnavailable,
    kannel_get_url,
)
from tests.support.site import Person, at, make_ctx, unavailable

SECRET = "inbound-secret-0123456789"
PRACTICE = "+441632960000"
MULLER, TWINS, HASHEMI, STRANGER = ("+447700900101", "+447700900202", "+447700900303",
                                    "+447700900999")


@pytest.fixture
def texting(sqlite_ctx: SiteContext, sqlite_day: dict[str, Person]
            ) -> Iterator[tuple[SiteContext, Kannel]]:
    """The site with the SMS gateway on (Kannel), mobiles on record, the incoming endpoint
    answering with the kiosk's TextAnswerer."""
    clock = sqlite_ctx.clock
    clock.set(at(8, 50))  # type: ignore[attr-defined]
    with sqlite_ctx.db.write() as session:
        for external_id, mobile in (("muller", MULLER), ("twin_a", TWINS), ("twin_b", TWINS),
                                    ("hashemi", "07700900303")):  # national, as the sync keeps it
            session.execute(update(Patient).where(Patient.external_id == external_id)
                            .values(mobile=mobile))
        session.execute(update(Patient).where(Patient.external_id == "hashemi")
                        .values(preferred_language="ar"))
    inbound = InboundSms(TextAnswerer(sqlite_ctx), clock=clock, kannel_secret=SECRET).start()
    try:
        kannel = Kannel(kannel_get_url(inbound.base_url, SECRET)).start()
    except KannelUnavailable as why:
        inbound.stop()
        unavailable(str(why))
    settings = sqlite_ctx.settings.replace(
        sms_gateway="kannel", sms_url=kannel.sendsms_url, sms_username=SENDSMS_USER,
        sms_password=SENDSMS_PASSWORD, sms_from=PRACTICE, sms_default_country_code="44")
    sqlite_ctx.settings = settings
    try:
        yield sqlite_ctx, kannel
    finally:
        kannel.stop()
        inbound.stop()


def answers(kannel: Kannel, number: str, count: int = 1) -> list[str]:
    return [text.text for text in kannel.texts_to(number, count, timeout=10)]


def test_here_from_the_car_park_checks_in_and_called_is_texted_with_the_room(texting):
    ctx, kannel = texting
    kannel.inject(MULLER, PRACTICE, "here ")  # as typed on a phone
    [answer] = answers(kannel, MULLER)
    assert "K-1" in answer and "1" in answer, answer
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
    assert visit.method == CheckinMethod.TEXT and visit.text_when_next
    # Next in line at once (nobody ahead): the sender texts it; then reception calls.
    QueueService(ctx).act("K-1", "call", actor="Rosa", room="3")
    sent = MessageSenderPass(ctx).send_once()
    assert sent.sent == 2, sent
    texts = answers(kannel, MULLER, 3)[1:]
    assert any("K-1" in text and "3" in text for text in texts), texts
    # A second pass sends nothing twice.
    assert MessageSenderPass(ctx).send_once().sent == 0
    assert len(kannel.texts_to(MULLER, 3)) == 3


def test_twins_on_one_number_are_asked_which_and_the_reply_checks_that_one_in(texting):
    ctx, kannel = texting
    kannel.inject(TWINS, PRACTICE, "HERE")
    [question] = answers(kannel, TWINS)
    assert "1 Amina" in question and "2 Chidi" in question, question
    kannel.inject(TWINS, PRACTICE, "2")
    answer = answers(kannel, TWINS, 2)[1]
    assert "K-1" in answer
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
        chidi = session.scalar(select(Patient.id).where(Patient.external_id == "twin_b"))
    assert visit.patient_id == chidi


def test_a_national_number_in_arabic_and_stop_ends_the_messages(texting):
    ctx, kannel = texting
    kannel.inject(HASHEMI, PRACTICE, "هنا")
    [answer] = answers(kannel, HASHEMI)
    assert "K-1" in answer and any("\u0600" <= ch <= "\u06ff" for ch in answer), answer
    kannel.inject(HASHEMI, PRACTICE, "STOP")
    answers(kannel, HASHEMI, 2)
    with ctx.db.read() as session:
        assert session.scalar(select(Patient.messages_opt_out)
                              .where(Patient.external_id == "hashemi"))
    # Called now: no text to a patient who opted out.
    QueueService(ctx).act("K-1", "call", actor="Rosa", room="2")
    with ctx.db.read() as session:
        pending = session.scalars(select(PatientMessage.kind).where(
            PatientMessage.state == MessageState.PENDING)).all()
    assert "called" not in pending


def test_an_unknown_number_gets_one_polite_answer_and_then_nothing(texting):
    _ctx, kannel = texting
    kannel.inject(STRANGER, PRACTICE, "HERE")
    [answer] = answers(kannel, STRANGER)
    kannel.inject(STRANGER, PRACTICE, "HERE")
    kannel.inject(MULLER, PRACTICE, "hello")  # answered: the stranger's second was handled
    answers(kannel, MULLER)
    assert len(kannel.texts_to(STRANGER, 1)) == 1 and answer


def test_the_kiosks_text_me_touch_asks_for_the_texts(sqlite_ctx, sqlite_day):
    """At the kiosk: the result carries the last two digits of the mobile (nothing more), and
    the touch sets the visit's flag; the next-in-line text is written with it."""
    ctx = make_ctx(sqlite_ctx.settings.replace(sms_gateway="kannel",
                                               sms_url="http://127.0.0.1:9/cgi-bin/sendsms"),
                   sqlite_ctx.clock)  # type: ignore[arg-type]
    sqlite_ctx.clock.set(at(8, 50))  # type: ignore[attr-defined]
    with ctx.db.write() as session:
        session.execute(update(Patient).where(Patient.external_id == "muller")
                        .values(mobile=MULLER))
    person = sqlite_day["muller"]
    result = CheckinService(ctx).by_name(person.family, person.birth_date, kiosk_id="k1")
    assert result.mobile_ending == "01"
    assert CheckinService(ctx).text_me(result.visit_id)
    with ctx.db.read() as session:
        kinds = session.scalars(select(PatientMessage.kind)).all()
    assert kinds == ["next"]
    ctx.db.dispose()
