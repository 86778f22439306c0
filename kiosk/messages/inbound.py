"""Texts patients send to the practice's number, received on a local HTTP endpoint.

Two doors, one handler:

- ``GET /sms/kannel?secret=S&from=%p&text=%b&coding=%c&charset=%C``: Kannel's smsbox calls it
  for every incoming text (an ``sms-service`` with this ``get-url``). The answer's body is the
  reply: ``text/plain; charset=UTF-8``, with ``X-Kannel-Coding: 2`` when it needs UCS-2 (the
  service must have ``accept-x-kannel-headers = true``); an empty body sends nothing (with
  ``omit-empty = true``).
- ``POST /sms/twilio`` (form fields From, Body): Twilio's webhook, signed with the account's
  auth token (``X-Twilio-Signature``). The answer is TwiML, ``<Response><Message>``.

The handler, given at construction, takes ``(sender in E.164, text)`` and returns the reply or
None. A request without the right secret or signature gets 403; a malformed one (bad
encoding, too long, fields missing) 400; a sender over ``per_minute`` texts a minute gets no
answer. Each gets a log line without the number or the text. Binds 127.0.0.1 by default:
Kannel runs beside the kiosk; Twilio reaches it through the practice's TLS proxy.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import hmac
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

from kiosk.base.clock import Clock
from kiosk.base.settings import Settings
from kiosk.messages.sms import InvalidNumber, is_gsm7, normalise_number

log = logging.getLogger(__name__)

Handler = Callable[[str, str], str | None]

KANNEL_PATH = "/sms/kannel"
TWILIO_PATH = "/sms/twilio"
# A text is at most a few hundred characters (Twilio: 1,600); anything far larger is not one.
MAX_TEXT_CHARS = 1600
MAX_BODY_BYTES = 16 * 1024
# Seconds a client may take to send its request: a slow or silent one does not hold a thread.
REQUEST_TIMEOUT = 10.0
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


class BadRequest(ValueError):
    """Why a request is not a text we can read; safe to log."""


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Twilio's request signature: HMAC-SHA1, keyed with the auth token, of the full URL
    followed by each POST parameter's name and value, sorted by name; base64."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class RateLimit:
    """At most ``per_minute`` texts per sender in any minute, by the injected clock."""

    def __init__(self, clock: Clock, per_minute: int) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self._seen: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, sender: str) -> bool:
        now = self.clock.now()
        with self._lock:
            recent = self._seen[sender]
            while recent and recent[0] <= now - timedelta(minutes=1):
                recent.popleft()
            if len(recent) >= self.per_minute:
                return False
            recent.append(now)
            if len(self._seen) > 10_000:  # forget senders quiet for a minute
                for quiet in [key for key, times in self._seen.items()
                              if times[-1] <= now - timedelta(minutes=1)]:
                    del self._seen[quiet]
            return True


class InboundSms:
    """The endpoint: :meth:`start` serves on a thread, :meth:`stop` ends it."""

    def __init__(self, handler: Handler, *, clock: Clock, host: str = "127.0.0.1",
                 port: int = 0, kannel_secret: str = "", twilio_token: str = "",
                 public_url: str = "", default_country_code: str = "",
                 per_minute: int = 5) -> None:
        self.handler = handler
        self.kannel_secret = kannel_secret
        self.twilio_token = twilio_token
        self.public_url = public_url
        self.default_country_code = default_country_code
        self.limit = RateLimit(clock, per_minute)
        self.host = host
        self.server = ThreadingHTTPServer((host, port), _make_request_handler(self))
        self.server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, settings: Settings, handler: Handler, clock: Clock) -> InboundSms:
        host, _, port = settings.sms_inbound_address.rpartition(":")
        return cls(handler, clock=clock, host=host or "127.0.0.1", port=int(port or 0),
                   kannel_secret=settings.sms_inbound_secret,
                   twilio_token=settings.sms_password if settings.sms_gateway == "twilio"
                   else "", public_url=settings.sms_inbound_public_url,
                   default_country_code=settings.sms_default_country_code,
                   per_minute=settings.sms_inbound_per_minute)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> InboundSms:
        # A short poll: stop() answers within a tenth of a second.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.1,),
                                        name="inbound-sms", daemon=True)
        self._thread.start()
        log.info("receiving texts on %s (%s, %s)", self.base_url, KANNEL_PATH, TWILIO_PATH)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    # -- what each door does, once the request is read ------------------------------------

    def sender(self, raw: str) -> str:
        try:
            return normalise_number(raw, self.default_country_code)
        except InvalidNumber as why:
            raise BadRequest(f"sender: {why.reason}") from None

    def reply_to(self, sender: str, text: str, door: str) -> str | None:
        if not self.limit.allow(sender):
            log.warning("incoming text by %s over the limit of %d a minute: no answer", door,
                        self.limit.per_minute)
            return None
        reply = self.handler(sender, text)
        log.info("incoming text by %s answered%s", door, "" if reply else " with nothing")
        return reply


def _decode(raw: bytes, coding: str, charset: str) -> str:
    """The text of a Kannel request: UCS-2 (coding 2) is UTF-16BE; else the charset Kannel
    names (UTF-8 with ``mo-recode``), UTF-8 when it names none."""
    encoding = "utf-16-be" if coding == "2" else (charset or "utf-8")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise BadRequest("unknown charset") from None
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise BadRequest(f"text is not valid {encoding}") from None


def _make_request_handler(endpoint: InboundSms) -> type[BaseHTTPRequestHandler]:

    class RequestHandler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT
        server_version = "kiosk-sms"
        sys_version = ""

        # The standard access log writes the request line: the query holds the sender's
        # number and the text. Our own lines say what happened instead.
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            try:
                path = urlsplit(self.path).path
                if path == KANNEL_PATH and method == "GET":
                    self._kannel()
                elif path == TWILIO_PATH and method == "POST":
                    self._twilio()
                elif path in (KANNEL_PATH, TWILIO_PATH):
                    self._answer(HTTPStatus.METHOD_NOT_ALLOWED)
                else:
                    self._answer(HTTPStatus.NOT_FOUND)
            except BadRequest as why:
                log.warning("incoming text refused (400): %s", why)
                self._answer(HTTPStatus.BAD_REQUEST)
            except Exception as error:  # one bad request never stops the server
                log.error("incoming text failed (500): %s.%s", type(error).__module__,
                          type(error).__qualname__)
                self._answer(HTTPStatus.INTERNAL_SERVER_ERROR)

        def _kannel(self) -> None:
            # Values read as bytes (Latin-1 maps each byte to one character): the text's
            # encoding is known only from coding and charset.
            query = urlsplit(self.path).query
            if len(query) > MAX_BODY_BYTES:
                raise BadRequest("request too long")
            fields = dict(parse_qsl(query, keep_blank_values=True, encoding="latin-1"))
            secret = fields.get("secret", "").encode("latin-1")
            if not endpoint.kannel_secret or not hmac.compare_digest(
                    secret, endpoint.kannel_secret.encode()):
                log.warning("incoming text by Kannel refused (403): %s",
                            "no sms_inbound_secret set" if not endpoint.kannel_secret
                            else "wrong or missing secret")
                self._answer(HTTPStatus.FORBIDDEN)
                return
            if "from" not in fields or "text" not in fields:
                raise BadRequest("'from' or 'text' missing (check the get-url)")
            sender = endpoint.sender(_decode(fields["from"].encode("latin-1"), "0", "utf-8"))
            text = _decode(fields["text"].encode("latin-1"), fields.get("coding", "0"),
                           fields.get("charset", ""))
            if len(text) > MAX_TEXT_CHARS:
                raise BadRequest(f"text of {len(text)} characters")
            reply = endpoint.reply_to(sender, text, "Kannel") or ""
            headers = {"Content-Type": "text/plain; charset=UTF-8"}
            if reply and not is_gsm7(reply):
                headers["X-Kannel-Coding"] = "2"
            self._answer(HTTPStatus.OK, reply.encode(), headers)

        def _twilio(self) -> None:
            body = self._body()
            try:
                params = parse_qsl(body.decode("utf-8", errors="strict"),
                                   keep_blank_values=True, strict_parsing=bool(body),
                                   errors="strict")
            except (UnicodeDecodeError, ValueError):
                raise BadRequest("form is not valid UTF-8 form data") from None
            host = self.headers.get("Host") or endpoint.base_url.removeprefix("http://")
            url = endpoint.public_url or f"http://{host}{self.path}"
            given = self.headers.get("X-Twilio-Signature", "")
            expected = twilio_signature(endpoint.twilio_token, url, params)
            if not endpoint.twilio_token or not hmac.compare_digest(given.encode(),
                                                                   expected.encode()):
                log.warning("incoming text by Twilio refused (403): %s",
                            "no Twilio auth token set (sms_gateway is not 'twilio')"
                            if not endpoint.twilio_token else "wrong or missing signature")
                self._answer(HTTPStatus.FORBIDDEN)
                return
            fields = dict(params)
            if "From" not in fields or "Body" not in fields:
                raise BadRequest("'From' or 'Body' missing")
            if len(fields["Body"]) > MAX_TEXT_CHARS:
                raise BadRequest(f"text of {len(fields['Body'])} characters")
            reply = endpoint.reply_to(endpoint.sender(fields["From"]), fields["Body"], "Twilio")
            twiml = (EMPTY_TWIML if not reply else
                     '<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
                     f"{escape(reply)}</Message></Response>")
            self._answer(HTTPStatus.OK, twiml.encode(),
                         {"Content-Type": "text/xml; charset=UTF-8"})

        def _body(self) -> bytes:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise BadRequest("bad Content-Length") from None
            if not 0 <= length <= MAX_BODY_BYTES:
                raise BadRequest(f"body of {length} bytes")
            return self.rfile.read(length)

        def _answer(self, status: HTTPStatus, body: bytes = b"",
                    headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {"Content-Type": "text/plain"}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return RequestHandler
