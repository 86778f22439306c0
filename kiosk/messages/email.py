"""Email to patients over SMTP (``smtplib``): one connection for a whole send pass.

``smtp_url`` is ``smtp://[user@]host[:port]`` (default port 587; STARTTLS when the server
offers it, and required unless ``smtp_require_tls`` is off) or ``smtps://[user@]host[:port]``
(default 465; TLS from the first byte). The user signs in with the secret ``smtp_password``,
only over TLS. The server's certificate is verified against ``smtp_ca_file`` or the system's
CAs, and its name against the host in the URL.

The hand-over is done step by step (MAIL, RCPT, DATA) so that a failure says how far it got:
before the end of the data the message was not delivered (a 4xx, a refused or broken
connection: try again later; a 5xx for the recipient or the content: refused for good); after
the end of the data and before the server's answer, it may have been (:class:`MaybeDelivered`).
Reasons keep the server's code and words, with any address in them masked.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from kiosk.base.settings import Settings
from kiosk.messages.delivery import (
    MaybeDelivered,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
)

DEFAULT_PORTS = {"smtp": 587, "smtps": 465}
_ADDRESS = re.compile(r"<?[^\s<>@]+@[^\s<>]+>?")
_LINE_ENDS = re.compile(rb"\r\n|\n|\r")
_LEADING_DOT = re.compile(rb"(?m)^\.")


def message_id_header(settings: Settings, message_id: int) -> str:
    """A Message-ID per outbox row: the same on every try, so a receiving system that saw it
    once can tell."""
    domain = settings.message_from.rpartition("@")[2] or "lobby-kiosk.invalid"
    return f"<message-{message_id}.{settings.site_id}@{domain}>"


def masked(text: str) -> str:
    """A server's words without any address in them (they often quote the recipient)."""
    return _ADDRESS.sub("<address>", " ".join(text.split()))[:300]


def _reply(code: int, text: bytes | str) -> str:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {masked(words)}".strip()


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Verification on: smtp_ca_file, else the system's CAs (OpenSSL's default paths)."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def _connection_failure(error: BaseException) -> TemporaryFailure:
    if isinstance(error, ssl.SSLCertVerificationError):
        why = f"TLS certificate not trusted ({error.verify_message or 'verify failed'})"
    elif isinstance(error, TimeoutError):
        why = "no answer in time"
    elif isinstance(error, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(error, smtplib.SMTPResponseException):
        why = f"server said {_reply(error.smtp_code, error.smtp_error)}"
    else:
        why = type(error).__name__
    return TemporaryFailure(f"SMTP server unavailable: {why}", server_down=True)


class SmtpTransport:
    """Email for one send pass: connects on the first message, reuses the connection for
    the next ones, reconnects once if the server closed an idle one."""

    def __init__(self, settings: Settings) -> None:
        parts = urlsplit(settings.smtp_url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("smtp_url is not smtp://host[:port] or smtps://host[:port]")
        self.settings = settings
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or DEFAULT_PORTS[parts.scheme]
        self.user = unquote(parts.username) if parts.username else None
        self.sender = settings.message_from
        self._connection: smtplib.SMTP | None = None
        self.connections = 0  # opened in this pass (a figure for tests and the benchmark)

    # -- the connection ----------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        settings, context = self.settings, tls_context(self.settings)
        timeout = settings.smtp_timeout_seconds
        connection: smtplib.SMTP | None = None
        try:
            if self.implicit_tls:
                connection = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout,
                                              context=context)
                connection.ehlo()
            else:
                connection = smtplib.SMTP(self.host, self.port, timeout=timeout)
                connection.ehlo()
                if connection.has_extn("starttls"):
                    connection.starttls(context=context)
                    connection.ehlo()
                elif settings.smtp_require_tls or self.user:
                    raise TemporaryFailure(
                        "SMTP server offers no STARTTLS: nothing is sent without TLS "
                        "(smtp_require_tls)" if settings.smtp_require_tls else
                        "SMTP server offers no STARTTLS: the password is never sent "
                        "without TLS", server_down=True)
            if self.user:
                connection.login(self.user, settings.smtp_password)
        except TemporaryFailure:
            self._drop(connection)
            raise
        except smtplib.SMTPAuthenticationError as error:
            self._drop(connection)
            raise TemporaryFailure(f"SMTP sign-in refused: "
                                   f"{_reply(error.smtp_code, error.smtp_error)}",
                                   server_down=True) from None
        except (OSError, smtplib.SMTPException) as error:
            self._drop(connection)
            raise _connection_failure(error) from None
        self.connections += 1
        return connection

    @staticmethod
    def _drop(connection: smtplib.SMTP | None) -> None:
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.close()

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            self._drop(connection)

    # -- one message -------------------------------------------------------------------------

    def send(self, message: Outgoing) -> None:
        if message.email is None:
            raise PermanentFailure("not an email")
        data = self._wire_bytes(message.email)
        reused = self._connection is not None
        if self._connection is None:
            self._connection = self._connect()
        try:
            self._hand_over(self._connection, message.recipient, data)
        except _Dropped:
            self._drop(self._connection)
            self._connection = None
            if not reused:
                raise TemporaryFailure("SMTP server closed the connection",
                                       server_down=True) from None
            # An idle connection the server closed since the last message: once more, anew.
            self._connection = self._connect()
            try:
                self._hand_over(self._connection, message.recipient, data)
            except _Dropped:
                self._drop(self._connection)
                self._connection = None
                raise TemporaryFailure("SMTP server closed the connection",
                                       server_down=True) from None

    @staticmethod
    def _wire_bytes(email: EmailMessage) -> bytes:
        data = email.as_bytes(policy=email.policy.clone(linesep="\r\n"))
        data = _LINE_ENDS.sub(b"\r\n", data)
        data = _LEADING_DOT.sub(b"..", data)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        return data + b".\r\n"

    def _hand_over(self, connection: smtplib.SMTP, recipient: str, data: bytes) -> None:
        """MAIL, RCPT, DATA; raises what the outbox records. :class:`_Dropped`: the
        connection broke before the data was complete (nothing delivered)."""
        options: list[str] = []
        if not (recipient.isascii() and self.sender.isascii()):
            if not connection.has_extn("smtputf8"):
                raise PermanentFailure("the address is not ASCII and the SMTP server does "
                                       "not take SMTPUTF8")
            options = ["SMTPUTF8", "BODY=8BITMIME"]
            connection.command_encoding = "utf-8"
        try:
            code, text = connection.mail(self.sender, options)
            if code != 250:
                self._reset(connection)
                # The sender refused: every message would be; wait, do not park this one.
                raise TemporaryFailure(f"SMTP server refused the sender: {_reply(code, text)}",
                                       server_down=code >= 500 or code == 421)
            code, text = connection.rcpt(recipient)
            if code not in (250, 251):
                self._reset(connection)
                self._refused("recipient", code, text)
            code, text = connection.docmd("data")
            if code != 354:
                self._reset(connection)
                self._refused("data", code, text)
        except (OSError, smtplib.SMTPServerDisconnected):
            raise _Dropped from None
        try:
            connection.send(data)
        except (OSError, smtplib.SMTPServerDisconnected):
            # The final dot did not get through whole: the server discards the message.
            raise _Dropped from None
        try:
            code, text = connection.getreply()
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self._drop(connection)
            self._connection = None
            raise MaybeDelivered(f"no answer after the message data ({type(error).__name__})"
                                 ) from None
        if code != 250:
            self._refused("message", code, text)

    @staticmethod
    def _refused(stage: str, code: int, text: bytes) -> None:
        if 400 <= code < 500:
            raise TemporaryFailure(f"SMTP {stage} refused for now: {_reply(code, text)}",
                                   server_down=code == 421)
        raise PermanentFailure(f"SMTP {stage} refused: {_reply(code, text)}")

    @staticmethod
    def _reset(connection: smtplib.SMTP) -> None:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            connection.rset()


class _Dropped(Exception):
    """The connection broke before the end of the message data: nothing was delivered."""
