"""Text messages through real gateways: Kannel (bearerbox, smsbox, fakesmsc as the SMS centre,
tests/support/kannel.py) both ways, and the Twilio driver and webhook against a small local
server that answers as Twilio does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes

import pytest
import requests

from kiosk.base.clock import FixedClock
from kiosk.base.settings import SettingsError, load_settings
from kiosk.messages.inbound import InboundSms, RateLimit, twilio_signature
from kiosk.messages.sms import (
    InvalidNumber,
    KannelGateway,
    Refused,
    TemporaryFailure,
    TwilioGateway,
    gateway_from_settings,
    is_gsm7,
    normalise_number,
)
from tests.support.kannel import (
    SENDSMS_PASSWORD,
    SENDSMS_USER,
    Kannel,
    KannelUnavailable,
    kannel_get_url,
)
from tests.support.site import at, unavailable

SECRET = "inbound-secret-0123456789"
PRACTICE = "+441632960000"
PATIENT = "+447700900123"
OTHER_PATIENT = "+447700900456"


class Recorder:
    """The inbound handler: what it was given, and a reply in the sender's script."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, sender: str, text: str) -> str | None:
        with self.lock:
            self.calls.append((sender, text))
        if text.strip().lower() == "quiet":
            return None
        if text == "هنا":
            return "تم تسجيل وصولك: K12"
        return f"Checked in: K12 ({text})"


def start_kannel(get_url: str) -> Kannel:
    try:
        return Kannel(get_url).start()
    except KannelUnavailable as why:
        unavailable(str(why))


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def inbound(recorder: Recorder) -> Iterator[InboundSms]:
    # A clock that stands still: the rate limit is exercised on its own endpoint below.
    server = InboundSms(recorder, clock=FixedClock(at(9, 0)), kannel_secret=SECRET,
                        per_minute=100).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def kannel(inbound: InboundSms) -> Iterator[Kannel]:
    running = start_kannel(kannel_get_url(inbound.base_url, SECRET))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def gateway(kannel: Kannel) -> Iterator[KannelGateway]:
    sender = KannelGateway(kannel.sendsms_url, SENDSMS_USER, SENDSMS_PASSWORD, PRACTICE,
                           timeout=5)
    yield sender
    sender.close()


def replies_to(kannel: Kannel, number: str, count: int) -> list[str]:
    return [text.text for text in kannel.texts_to(number, count, timeout=5)]


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for a condition another process brings about (never for the clock)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


# -- Kannel, outgoing --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "coding"), [
    ("Your appointment: Tue 3 Dec, 09:30, Main St. Reply HERE from the car park.", "text"),
    ("موعدك: الثلاثاء ٣ ديسمبر، ٠٩:٣٠. أرسل هنا من موقف السيارات.", "ucs-2"),
    ("您的预约：12月3日 09:30。到停车场后回复 HERE。", "ucs-2"),
])
def test_a_text_reaches_the_sms_centre_with_its_number_and_words(
        kannel: Kannel, gateway: KannelGateway, text: str, coding: str) -> None:
    """English goes as GSM 7-bit, Arabic and Chinese as UCS-2; each arrives whole, to the
    patient's number, from the practice's."""
    before = len(kannel.texts)
    assert gateway.send(PATIENT, text, "outbox-1") == ""  # Kannel gives no message id
    received = kannel.wait_texts(before + 1, timeout=5)[before]
    assert (received.sender, received.receiver) == (PRACTICE, PATIENT)
    assert received.kind == coding
    assert received.text == text


def test_a_long_arabic_text_goes_in_parts_and_arrives_whole(
        kannel: Kannel, gateway: KannelGateway) -> None:
    """More than 70 UCS-2 characters: Kannel splits it into concatenated parts (UDH); the
    phone joins them into the same text."""
    text = "تذكير من العيادة: موعدك غدا الساعة التاسعة والنصف صباحا مع الطبيبة في المبنى الرئيسي."
    assert len(text) > 70 and not is_gsm7(text)
    before = len(kannel.texts)
    gateway.send(PATIENT, text, "outbox-2")
    received = kannel.wait_texts(before + 1, timeout=5)[before]
    assert received.parts == 2
    assert received.text == text


def test_sending_logs_neither_the_number_nor_the_text_nor_the_password(
        kannel: Kannel, gateway: KannelGateway, caplog: pytest.LogCaptureFixture) -> None:
    """Even at DEBUG, where HTTP libraries print each request line: the driver uses Kannel's
    POST form, so the number, the words and the password are in headers and the body, never
    in a URL."""
    number = "+447700900555"
    # urllib3's own level too: the kiosk's log set-up (run by other tests first) quiets it.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="urllib3"):
        gateway.send(number, "Private words", "outbox-14")
    assert kannel.texts_to(number)[0].text == "Private words"
    assert "outbox-14" in caplog.text and "/cgi-bin/sendsms" in caplog.text
    for secret in ("900555", "Private", SENDSMS_PASSWORD):
        assert secret not in caplog.text


# -- Kannel, incoming --------------------------------------------------------------------------

def test_an_incoming_text_reaches_the_handler_and_its_reply_goes_back(
        kannel: Kannel, recorder: Recorder) -> None:
    """A patient texts HERE (in English, and هنا in Arabic, which the phone sends as UCS-2):
    smsbox calls the kiosk's endpoint with the secret, the handler gets the sender in E.164
    and the words, and its reply reaches the sender's phone; the Arabic reply as UCS-2."""
    english, arabic = "+447700900111", "+447700900222"
    kannel.inject(english, PRACTICE, "HERE")
    kannel.inject(arabic, PRACTICE, "هنا")
    assert replies_to(kannel, english, 1) == ["Checked in: K12 (HERE)"]
    assert replies_to(kannel, arabic, 1) == ["تم تسجيل وصولك: K12"]
    reply = kannel.texts_to(arabic)[0]
    assert reply.kind == "ucs-2" and reply.sender == PRACTICE
    assert (english, "HERE") in recorder.calls
    assert (arabic, "هنا") in recorder.calls


def test_no_reply_from_the_handler_sends_nothing(kannel: Kannel, recorder: Recorder) -> None:
    number = "+447700900789"
    kannel.inject(number, PRACTICE, "quiet")
    kannel.inject(number, PRACTICE, "HERE")
    assert replies_to(kannel, number, 1) == ["Checked in: K12 (HERE)"]
    # smsbox may hand the two over on two threads, in either order: both must be handled.
    until(lambda: len([text for sender, text in recorder.calls if sender == number]) == 2)
    assert sorted(text for sender, text in recorder.calls if sender == number) == \
        ["HERE", "quiet"]
    assert len([text for text in kannel.texts if text.receiver == number]) == 1


def test_a_get_url_with_the_wrong_secret_is_refused(
        inbound: InboundSms, recorder: Recorder, caplog: pytest.LogCaptureFixture) -> None:
    """A Kannel configured with another secret (or anyone else on the machine) gets 403: the
    handler never sees the text, the sender gets nothing back (smsbox's reply-couldnotfetch
    is empty), and the log line names neither the number nor the text."""
    number = "+447700900321"
    impostor = start_kannel(kannel_get_url(inbound.base_url, "not-the-secret-0123456"))
    try:
        with caplog.at_level(logging.WARNING, logger="kiosk.messages.inbound"):
            impostor.inject(number, PRACTICE, "HERE")
            until(lambda: "refused (403)" in caplog.text)
        with pytest.raises(AssertionError):
            impostor.wait_texts(1, timeout=0.5)
    finally:
        impostor.stop()
    assert "wrong or missing secret" in caplog.text
    assert number not in caplog.text and "900321" not in caplog.text
    assert all(sender != number for sender, _ in recorder.calls)


def test_kannel_down_is_a_temporary_failure_and_its_refusals_are_sorted() -> None:
    """smsbox answering, then gone: connection refused is TemporaryFailure; Kannel's own
    answers are sorted too: our credentials refused (a setting IT fixes) is temporary, a
    number it will never route is Refused. No reason quotes the number or the text."""
    running = start_kannel("http://127.0.0.1:9/sms/kannel")
    url = running.sendsms_url
    try:
        wrong = KannelGateway(url, SENDSMS_USER, "not-the-password", PRACTICE, timeout=5)
        with pytest.raises(TemporaryFailure, match="Authorization failed"):
            wrong.send(PATIENT, "hello", "outbox-3")
        right = KannelGateway(url, SENDSMS_USER, SENDSMS_PASSWORD, PRACTICE, timeout=5)
        with pytest.raises(Refused) as refused:
            right.send("not-a-number", "hello", "outbox-4")
        assert "400" in refused.value.reason and "not-a-number" not in refused.value.reason
        running.stop_process("fakesmsc")
        # The SMS centre away: Kannel keeps the text and sends it later; that is success.
        assert right.send(PATIENT, "hello", "outbox-5") == ""
    finally:
        running.stop()
    with pytest.raises(TemporaryFailure, match="cannot connect") as down:
        right.send(PATIENT, "secret words", "outbox-6")
    assert PATIENT not in down.value.reason and "secret" not in down.value.reason


# -- the endpoint alone: bad requests, the rate limit ------------------------------------------

@pytest.fixture
def endpoint() -> Iterator[tuple[InboundSms, Recorder, FixedClock]]:
    clock = FixedClock(at(9, 0))
    recorder = Recorder()
    server = InboundSms(recorder, clock=clock, kannel_secret=SECRET, twilio_token="t" * 32,
                        default_country_code="44", per_minute=5).start()
    yield server, recorder, clock
    server.stop()


def kannel_get(server: InboundSms, query: str) -> requests.Response:
    return requests.get(f"{server.base_url}/sms/kannel?{query}", timeout=5)


def test_bad_requests_get_400_and_the_endpoint_keeps_serving(
        endpoint: tuple[InboundSms, Recorder, FixedClock],
        caplog: pytest.LogCaptureFixture) -> None:
    """Garbled encodings, a 10,000-character text, missing fields, a sender that is no number,
    a body too large: each a 400 with a log line, never a crash, and the next good request is
    answered. No log line holds the number or the text."""
    server, recorder, _ = endpoint
    good = f"secret={SECRET}&from=%2B447700900123"
    bad = {
        "not UTF-8": f"{good}&text=%FF%FEHERE&charset=UTF-8",
        "odd UCS-2": f"{good}&text=%06%2D%06&coding=2",
        "unknown charset": f"{good}&text=HERE&charset=no-such-charset",
        "10,000 characters": f"{good}&text={'A' * 10_000}",
        "no text": good,
        "no sender": f"secret={SECRET}&text=HERE",
        "not a number": f"secret={SECRET}&from=HERE-ST&text=HERE",
    }
    with caplog.at_level(logging.INFO, logger="kiosk.messages.inbound"):
        for why, query in bad.items():
            assert kannel_get(server, query).status_code == 400, why
        oversized = requests.post(f"{server.base_url}/sms/twilio", data=b"x" * 100_000,
                                  timeout=5)
        assert oversized.status_code == 400
        assert requests.get(f"{server.base_url}/elsewhere", timeout=5).status_code == 404
        answer = kannel_get(server, f"{good}&text=HERE")
    assert answer.status_code == 200 and answer.text == "Checked in: K12 (HERE)"
    assert recorder.calls == [("+447700900123", "HERE")]
    assert caplog.text.count("refused (400)") == len(bad) + 1
    assert "900123" not in caplog.text and "AAAA" not in caplog.text


def test_a_national_number_is_read_in_the_practice_country_and_ucs2_is_decoded(
        endpoint: tuple[InboundSms, Recorder, FixedClock]) -> None:
    server, recorder, _ = endpoint
    text = quote_from_bytes("هنا".encode("utf-16-be"))
    answer = kannel_get(server, f"secret={SECRET}&from=07700900123&text={text}&coding=2")
    assert answer.status_code == 200
    assert recorder.calls == [("+447700900123", "هنا")]
    assert answer.headers["X-Kannel-Coding"] == "2"  # the Arabic reply needs UCS-2
    assert answer.content.decode("utf-8") == "تم تسجيل وصولك: K12"


def test_a_sender_over_the_limit_gets_no_answer_until_the_minute_has_passed(
        endpoint: tuple[InboundSms, Recorder, FixedClock]) -> None:
    server, recorder, clock = endpoint
    query = f"secret={SECRET}&from=%2B447700900123&text=HERE"
    answers = [kannel_get(server, query).text for _ in range(7)]
    assert answers == ["Checked in: K12 (HERE)"] * 5 + ["", ""]
    assert len(recorder.calls) == 5  # the handler is not even asked
    other = kannel_get(server, f"secret={SECRET}&from=%2B447700900456&text=HERE")
    assert other.text == "Checked in: K12 (HERE)"  # the limit is per sender
    clock.advance(seconds=61)
    assert kannel_get(server, query).text == "Checked in: K12 (HERE)"


# -- Twilio: the webhook -----------------------------------------------------------------------

def twilio_post(server: InboundSms, params: dict[str, str], token: str,
                url: str | None = None) -> requests.Response:
    target = f"{server.base_url}/sms/twilio"
    signature = twilio_signature(token, url or target, list(params.items()))
    return requests.post(target, data=params, headers={"X-Twilio-Signature": signature},
                         timeout=5)


def test_twilio_signature_is_hmac_sha1_of_the_url_and_sorted_fields() -> None:
    """Worked by hand from Twilio's description: the URL, then each field's name and value
    sorted by name, HMAC-SHA1 with the auth token, base64."""
    url = "https://kiosk.example.org/sms/twilio?site=main"
    params = [("To", PRACTICE), ("From", PATIENT), ("Body", "HERE")]
    payload = f"{url}Body{'HERE'}From{PATIENT}To{PRACTICE}"
    expected = base64.b64encode(hmac.new(b"token", payload.encode(), hashlib.sha1).digest())
    assert twilio_signature("token", url, params) == expected.decode()


def test_twilio_webhook_with_a_good_signature_gets_twiml(
        endpoint: tuple[InboundSms, Recorder, FixedClock]) -> None:
    server, recorder, _ = endpoint
    params = {"MessageSid": "SM123", "From": PATIENT, "To": PRACTICE, "Body": "HERE <&>"}
    answer = twilio_post(server, params, "t" * 32)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/xml")
    assert answer.text.endswith(
        "<Response><Message>Checked in: K12 (HERE &lt;&amp;&gt;)</Message></Response>")
    quiet = twilio_post(server, {**params, "Body": "quiet"}, "t" * 32)
    assert quiet.text.endswith("<Response/>")
    assert recorder.calls == [(PATIENT, "HERE <&>"), (PATIENT, "quiet")]


def test_twilio_webhook_with_a_bad_signature_is_refused(
        endpoint: tuple[InboundSms, Recorder, FixedClock],
        caplog: pytest.LogCaptureFixture) -> None:
    """Signed with another token, signed for another URL, a field changed after signing, or
    not signed: 403 each time, and the handler never runs."""
    server, recorder, _ = endpoint
    params = {"From": PATIENT, "To": PRACTICE, "Body": "HERE"}
    target = f"{server.base_url}/sms/twilio"
    good = twilio_signature("t" * 32, target, list(params.items()))
    with caplog.at_level(logging.WARNING, logger="kiosk.messages.inbound"):
        assert twilio_post(server, params, "another-token").status_code == 403
        assert twilio_post(server, params, "t" * 32,
                           url="https://elsewhere.example/sms/twilio").status_code == 403
        tampered = requests.post(target, data={**params, "Body": "STOP"},
                                 headers={"X-Twilio-Signature": good}, timeout=5)
        assert tampered.status_code == 403
        assert requests.post(target, data=params, timeout=5).status_code == 403
    assert recorder.calls == []
    assert caplog.text.count("wrong or missing signature") == 4
    assert "900123" not in caplog.text


# -- Twilio: the driver ------------------------------------------------------------------------

class FakeTwilio:
    """Answers ``POST /2010-04-01/Accounts/{sid}/Messages.json`` as Twilio does: 201 with the
    message resource, 400 with code 21211 for an invalid 'To', 401 without the right basic
    auth; ``fail_next`` answers 500 once."""

    SID, TOKEN = "AC" + "0" * 32, "auth-token-123"

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.fail_next = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = dict(parse_qsl(self.rfile.read(length).decode()))
                expected_auth = "Basic " + base64.b64encode(
                    f"{outer.SID}:{outer.TOKEN}".encode()).decode()
                if self.path != f"/2010-04-01/Accounts/{outer.SID}/Messages.json":
                    return self.reply(404, {"code": 20404, "status": 404})
                if self.headers.get("Authorization") != expected_auth:
                    return self.reply(401, {"code": 20003, "status": 401,
                                            "message": "Authenticate"})
                if self.headers["Content-Type"] != "application/x-www-form-urlencoded":
                    return self.reply(415, {"code": 0, "status": 415})
                outer.received.append(form)
                if outer.fail_next:
                    outer.fail_next = False
                    return self.reply(500, {"code": 20500, "status": 500})
                if not form.get("To", "").startswith("+1"):
                    return self.reply(400, {
                        "code": 21211, "status": 400, "more_info":
                        "https://www.twilio.com/docs/errors/21211",
                        "message": f"The 'To' number {form.get('To')} is not a valid "
                                   "phone number."})
                return self.reply(201, {"sid": f"SM{len(outer.received):032d}",
                                        "status": "queued", "to": form["To"],
                                        "from": form["From"], "body": form["Body"]})

            def reply(self, status: int, payload: dict[str, Any]) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    server = FakeTwilio()
    yield server
    server.stop()


def test_twilio_driver_sends_the_form_with_basic_auth_and_returns_the_sid(
        twilio: FakeTwilio) -> None:
    gateway = TwilioGateway(FakeTwilio.SID, FakeTwilio.TOKEN, "+15005550006",
                            base_url=twilio.url, timeout=5)
    first = gateway.send("+14155550100", "Your appointment: 09:30", "outbox-7")
    second = gateway.send("+14155550101", "موعدك ٠٩:٣٠", "outbox-8")
    assert first.startswith("SM") and second.startswith("SM") and first != second
    assert twilio.received == [
        {"To": "+14155550100", "From": "+15005550006", "Body": "Your appointment: 09:30"},
        {"To": "+14155550101", "From": "+15005550006", "Body": "موعدك ٠٩:٣٠"}]


def test_twilio_driver_sorts_failures(twilio: FakeTwilio) -> None:
    """400 with 21211 (invalid number): Refused, its reason the code, not Twilio's message
    (which quotes the number); 500: temporary; credentials refused: temporary; nobody
    listening: temporary."""
    gateway = TwilioGateway(FakeTwilio.SID, FakeTwilio.TOKEN, "+15005550006",
                            base_url=twilio.url, timeout=5)
    with pytest.raises(Refused) as refused:
        gateway.send("+447700900123", "hello", "outbox-9")
    assert refused.value.reason == ("Twilio answered 400 with error 21211 (the number cannot "
                                    "be texted)")
    twilio.fail_next = True
    with pytest.raises(TemporaryFailure, match="500"):
        gateway.send("+14155550100", "hello", "outbox-10")
    wrong = TwilioGateway(FakeTwilio.SID, "wrong-token", "+15005550006", base_url=twilio.url,
                          timeout=5)
    with pytest.raises(TemporaryFailure, match="401"):
        wrong.send("+14155550100", "hello", "outbox-11")
    twilio.stop()
    with pytest.raises(TemporaryFailure, match="cannot connect"):
        gateway.send("+14155550100", "hello", "outbox-12")


# -- settings and numbers ----------------------------------------------------------------------

def test_the_gateway_comes_from_the_settings() -> None:
    kannel = gateway_from_settings(load_settings(environ={}, overrides={
        "sms_gateway": "kannel", "sms_url": "http://127.0.0.1:13013",
        "sms_username": "kiosk", "sms_password": "pw", "sms_from": PRACTICE}))
    assert isinstance(kannel, KannelGateway)
    assert kannel.url == "http://127.0.0.1:13013/cgi-bin/sendsms"
    twilio = gateway_from_settings(load_settings(environ={}, overrides={
        "sms_gateway": "twilio", "sms_username": FakeTwilio.SID, "sms_password": "token",
        "sms_from": PRACTICE}))
    assert isinstance(twilio, TwilioGateway)
    assert twilio.url == ("https://api.twilio.com/2010-04-01/Accounts/"
                          f"{FakeTwilio.SID}/Messages.json")
    assert gateway_from_settings(load_settings(environ={})) is None
    with pytest.raises(SettingsError, match="sms_url"):
        gateway_from_settings(load_settings(environ={}, overrides={"sms_gateway": "kannel"}))
    shown = load_settings(environ={}, overrides={"sms_password": "pw",
                                                 "sms_inbound_secret": SECRET}).shown()
    assert shown["sms_password"] == shown["sms_inbound_secret"] == "********"


@pytest.mark.parametrize(("raw", "country", "expected"), [
    ("+44 7700 900123", "", "+447700900123"),
    ("0044 7700-900123", "", "+447700900123"),
    ("07700 900123", "44", "+447700900123"),
    ("(415) 555-0100", "1", "+14155550100"),
])
def test_numbers_are_written_in_e164(raw: str, country: str, expected: str) -> None:
    assert normalise_number(raw, country) == expected


@pytest.mark.parametrize(("raw", "country"), [
    ("07700 900123", ""), ("+44 77", ""), ("+0 7700 900123", ""), ("HERE", "44"),
    ("+44 7700 900123 ext 2", ""),
])
def test_what_is_not_a_number_is_refused_without_quoting_it(raw: str, country: str) -> None:
    with pytest.raises(InvalidNumber) as refused:
        normalise_number(raw, country)
    assert "7700" not in refused.value.reason


def test_a_silent_gateway_may_have_taken_the_text_and_it_is_never_sent_again() -> None:
    """A gateway that takes the connection and the request and never answers: after the
    timeout from the settings (not a hang) the text may be on its way, so the outbox parks
    it as maybe delivered rather than retrying it (the patient would get it twice)."""
    from kiosk.messages.delivery import MaybeDelivered, Outgoing
    from kiosk.messages.sms import MaybeSent, SmsTransport

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        gateway = KannelGateway(f"http://127.0.0.1:{port}", "kiosk", "pw", timeout=0.3)
        with pytest.raises(MaybeSent, match=r"no answer within 0\.3 s"):
            gateway.send(PATIENT, "hello", "outbox-13")
        with pytest.raises(MaybeDelivered):
            SmsTransport(gateway).send(Outgoing(13, PATIENT, text="hello"))


def test_per_minute_is_counted_by_the_clock() -> None:
    clock = FixedClock(at(9, 0))
    limit = RateLimit(clock, 2)
    assert [limit.allow("a"), limit.allow("a"), limit.allow("a")] == [True, True, False]
    clock.advance(seconds=30)
    assert limit.allow("a") is False
    clock.set(at(9, 0) + timedelta(seconds=60, microseconds=1))
    assert limit.allow("a") is True


def test_the_endpoint_comes_from_the_settings() -> None:
    """Bound where sms_inbound_address says, with the Kannel secret, the Twilio auth token
    (when Twilio is the gateway) and the practice's country for national numbers."""
    settings = load_settings(environ={}, overrides={
        "sms_gateway": "twilio", "sms_username": FakeTwilio.SID, "sms_password": "t" * 32,
        "sms_from": PRACTICE, "sms_inbound_address": "127.0.0.1:0",
        "sms_inbound_secret": SECRET, "sms_default_country_code": "44"})
    recorder = Recorder()
    server = InboundSms.from_settings(settings, recorder, FixedClock(at(9, 0))).start()
    try:
        assert server.host == "127.0.0.1" and server.port > 0
        assert kannel_get(server, f"secret={SECRET}&from=07700900123&text=HERE").ok
        signed = twilio_post(server, {"From": PATIENT, "Body": "HERE"}, "t" * 32)
        assert signed.status_code == 200
    finally:
        server.stop()
    assert recorder.calls == [("+447700900123", "HERE"), (PATIENT, "HERE")]
