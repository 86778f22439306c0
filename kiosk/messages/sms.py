"""Sending one text message through an SMS gateway: Kannel's HTTP sendsms, or Twilio's REST API
(or a provider with the same interface).

A driver answers one question for the outbox: was the text taken (the gateway's id, when it
gives one), should it be tried again later (:class:`TemporaryFailure`), or will it never go
(:class:`Refused`)? Both carry a reason safe to log: never the number, never the text.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol
from urllib.parse import urlsplit

import requests
import urllib3

from kiosk.base.settings import Settings, SettingsError
from kiosk.messages.delivery import MaybeDelivered, Outgoing, PermanentFailure
from kiosk.messages.delivery import TemporaryFailure as DeliveryTemporaryFailure

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
KANNEL_SENDSMS_PATH = "/cgi-bin/sendsms"

# The GSM 03.38 default alphabet and its extension table (the extension characters cost two
# septets but need no UCS-2). A text with anything else goes as UCS-2.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Twilio's error codes that say the number itself is the problem: not valid (21211, 21614:
# not a mobile), the patient replied STOP (21610), a region not enabled (21408), a number the
# account may not text (21612). These will not change on a retry.
TWILIO_REFUSALS = frozenset({21211, 21408, 21610, 21612, 21614})


class SmsError(Exception):
    """A text that did not go. ``reason`` is safe to log (no number, no text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemporaryFailure(SmsError):
    """Try again later: no connection, no answer in time, the gateway busy or failing (5xx),
    our credentials refused (a setting IT fixes; the text itself is fine)."""


class MaybeSent(SmsError):
    """The text was handed over and no answer came: it may be on its way. Never retried (the
    patient would get it twice)."""


class Refused(SmsError):
    """The gateway will never send this text: an invalid number, a 4xx that will not change.
    The outbox parks it with the reason."""


class InvalidNumber(Refused):
    """A number that cannot be written in E.164."""


class SmsGateway(Protocol):
    def send(self, to: str, text: str, reference: str) -> str:
        """Hand one text to the gateway. ``to`` in E.164; ``reference`` is the caller's id for
        the message (logged, never a patient's data). Returns the gateway's id for the
        message, or "" when it gives none. Raises :class:`TemporaryFailure` or
        :class:`Refused`."""
        ...

    def close(self) -> None:
        ...


def normalise_number(raw: str, default_country_code: str = "") -> str:
    """A phone number in E.164 (``+`` and 8 to 15 digits), from what a record or a gateway
    holds: spaces, dots, dashes and brackets dropped, ``00`` read as ``+``, and a number
    without either read in ``default_country_code`` (its leading 0, the national prefix,
    dropped). Raises :class:`InvalidNumber` (whose reason does not quote the number)."""
    compact = re.sub(r"[\s().\-/]", "", raw)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not compact.startswith("+"):
        if not default_country_code:
            raise InvalidNumber("number without a country code (+...) and no "
                                "sms_default_country_code set")
        compact = "+" + default_country_code + compact.removeprefix("0")
    digits = compact[1:]
    if not re.fullmatch(r"[1-9][0-9]{7,14}", digits):
        raise InvalidNumber("not a phone number in E.164 (+ and 8 to 15 digits)")
    return compact


def is_gsm7(text: str) -> bool:
    """Whether the text fits the GSM 7-bit alphabet (else it goes as UCS-2)."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def safe_reason(text: str, limit: int = 120) -> str:
    """A gateway's own words, fit for a log line: one line, long digit runs (a number it may
    quote back) masked, cut short."""
    line = " ".join(text.split())
    return re.sub(r"\+?\d{5,}", "<number>", line)[:limit]


def _request(http: requests.Session, method: str, url: str, *, timeout: float,
             data: dict[str, str] | bytes, headers: dict[str, str] | None = None,
             ) -> requests.Response:
    """One request; the transport's failures become :class:`TemporaryFailure` with a message
    that names no URL."""
    try:
        return http.request(method, url, timeout=timeout, data=data,
                            headers={**(headers or {}), "Connection": "close"})
    except requests.ConnectTimeout:
        raise TemporaryFailure(f"cannot connect to the SMS gateway within {timeout:g} s") \
            from None
    except requests.ReadTimeout:
        # The request went out: the gateway may have taken the text. Not sent again.
        raise MaybeSent(f"no answer within {timeout:g} s after the text was handed over") \
            from None
    except requests.ConnectionError as error:
        # Connected, request written, then the connection dropped ("Connection aborted",
        # RemoteDisconnected, a reset): the gateway may have taken the text. Every request
        # goes on a fresh connection (Connection: close), so this is never a stale
        # keep-alive socket that took nothing.
        if isinstance(error.args[0] if error.args else None,
                      urllib3.exceptions.ProtocolError):
            raise MaybeSent("the connection dropped after the text was handed over") \
                from None
        raise TemporaryFailure("cannot connect to the SMS gateway") from None
    except (requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError) as error:
        raise MaybeSent(f"the answer broke off after the text was handed over "
                        f"({type(error).__name__})") from None
    except requests.RequestException as error:
        raise TemporaryFailure(type(error).__name__) from None


class KannelGateway:
    """Kannel's smsbox: ``/cgi-bin/sendsms`` on its sendsms-port, in its POST form: the text
    as a ``text/plain; charset=UTF-8`` body, user, password, sender and receiver in
    ``X-Kannel-*`` headers (``X-Kannel-Coding: 2``, UCS-2, when the text is not GSM 7-bit).
    The GET form would put the password, the number and the text in a URL, which access logs
    and HTTP libraries' debug lines print. A 202 answer is taken ("0: Accepted for delivery",
    or "3: Queued for later delivery" while the SMS centre is away: Kannel keeps it and sends
    it later); Kannel gives no message id."""

    name = "kannel"

    def __init__(self, url: str, username: str, password: str, sender: str = "", *,
                 timeout: float = 10.0) -> None:
        if not urlsplit(url).path.strip("/"):
            url = url.rstrip("/") + KANNEL_SENDSMS_PATH
        self.url = url
        self.username = username
        self.password = password
        self.sender = sender
        self.timeout = timeout
        self.http = requests.Session()

    def send(self, to: str, text: str, reference: str) -> str:
        headers = {"Content-Type": "text/plain; charset=UTF-8",
                   "X-Kannel-Username": self.username, "X-Kannel-Password": self.password,
                   "X-Kannel-To": to}
        if self.sender:
            headers["X-Kannel-From"] = self.sender
        if not is_gsm7(text):
            headers["X-Kannel-Coding"] = "2"  # UCS-2: Kannel converts from the UTF-8 given
        answer = _request(self.http, "POST", self.url, timeout=self.timeout,
                          data=text.encode(), headers=headers)
        body = answer.text.strip()
        if answer.status_code in (200, 202) and body[:2] in ("0:", "3:"):
            queued = body.startswith("3:")
            log.info("text %s handed to Kannel%s", reference,
                     " (queued: the SMS centre is not connected)" if queued else "")
            return ""
        reason = f"Kannel answered {answer.status_code}: {safe_reason(body)}"
        if answer.status_code >= 500 or answer.status_code in (401, 429) or (
                answer.status_code == 403 and body.startswith("Authorization failed")):
            raise TemporaryFailure(reason)
        raise Refused(reason)

    def close(self) -> None:
        self.http.close()


class TwilioGateway:
    """Twilio's Messages resource: ``POST {base}/2010-04-01/Accounts/{sid}/Messages.json``,
    form-encoded To, From, Body, with HTTP basic auth (account SID, auth token). ``base_url``
    is settable for a provider with the same interface, or a test server."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, sender: str, *,
                 base_url: str = TWILIO_API, timeout: float = 10.0) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.sender = sender
        self.timeout = timeout
        self.http = requests.Session()
        self.http.auth = (account_sid, auth_token)

    def send(self, to: str, text: str, reference: str) -> str:
        answer = _request(self.http, "POST", self.url, timeout=self.timeout,
                              data={"To": to, "From": self.sender, "Body": text})
        try:
            payload = answer.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        if answer.status_code in (200, 201):
            sid = str(payload.get("sid") or "")
            log.info("text %s handed to Twilio as %s", reference, sid or "(no sid)")
            return sid
        # Twilio's "message" quotes the number: only the code and the status are logged.
        code = payload.get("code")
        reason = f"Twilio answered {answer.status_code}" + (
            f" with error {code}" if isinstance(code, int) else "")
        if answer.status_code >= 500 or answer.status_code in (401, 403, 429):
            raise TemporaryFailure(reason)
        if isinstance(code, int) and code in TWILIO_REFUSALS:
            reason += " (the number cannot be texted)"
        raise Refused(reason)  # any other 4xx: the same request would fail the same way

    def close(self) -> None:
        self.http.close()


def gateway_from_settings(settings: Settings) -> SmsGateway | None:
    """The driver ``sms_gateway`` names, or None when texts are off ('none'). Raises
    :class:`SettingsError` when the settings it needs are missing."""
    if settings.sms_gateway == "kannel":
        if not settings.sms_url:
            raise SettingsError("sms_gateway is 'kannel' but sms_url (smsbox's sendsms URL) "
                             "is empty")
        return KannelGateway(settings.sms_url, settings.sms_username, settings.sms_password,
                             settings.sms_from, timeout=settings.sms_timeout_seconds)
    if settings.sms_gateway == "twilio":
        if not (settings.sms_username and settings.sms_password and settings.sms_from):
            raise SettingsError("sms_gateway is 'twilio': set sms_username (the account SID), "
                             "sms_password (the auth token) and sms_from")
        return TwilioGateway(settings.sms_username, settings.sms_password, settings.sms_from,
                             base_url=settings.sms_url or TWILIO_API,
                             timeout=settings.sms_timeout_seconds)
    return None


class SmsTransport:
    """The outbox's transport for text messages (:mod:`kiosk.messages.delivery`) over a
    gateway: its failures mapped to the outbox's three (retry, park, park as maybe sent)."""

    def __init__(self, gateway: SmsGateway, default_country_code: str = "") -> None:
        self.gateway = gateway
        self.default_country_code = default_country_code

    def send(self, message: Outgoing) -> None:
        try:
            # As the practice system wrote it: '+44 7700 900123', '07700 900123'.
            number = normalise_number(message.recipient, self.default_country_code)
            self.gateway.send(number, message.text or "", f"outbox-{message.message_id}")
        except MaybeSent as error:
            raise MaybeDelivered(error.reason) from None
        except Refused as error:
            raise PermanentFailure(error.reason) from None
        except TemporaryFailure as error:  # the gateway down or busy: the rest would fail too
            raise DeliveryTemporaryFailure(error.reason, server_down=True) from None

    def close(self) -> None:
        self.gateway.close()
