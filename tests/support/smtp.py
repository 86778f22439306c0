"""A real SMTP server on loopback (aiosmtpd) with TLS: STARTTLS or TLS from the first byte,
with sign-in, a throwaway self-signed certificate made here; and, until the message content
lands (kiosk/messages/render.py), a stand-in for the email's rendering."""

from __future__ import annotations

import datetime as dt
import io
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.messages import render
from tests.support.fhir_server import free_port

USER, PASSWORD = "kiosk", "correct horse battery"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate, key) PEM files.
    The certificate is its own CA: the kiosk trusts it with smtp_ca_file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def email(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """What the server took; ``refuse`` maps a recipient to an SMTP reply for RCPT; ``on_data``
    runs before the server answers the message data (to hold it there); ``accepted`` is set
    once the server has sent its 250 for a message."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    on_data: Any = None
    accepted: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or b"")))
        if self.on_data is not None:
            self.on_data(self.received[-1])
        return "250 Message accepted for delivery"


def _authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


class _Answering(SMTP):
    """aiosmtpd's server, telling the mailbox when it has answered a message with 250."""

    async def push(self, status: Any) -> None:
        await super().push(status)
        if str(status).startswith("250 Message accepted"):
            self.event_handler.accepted.set()


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Answering(self.handler, **self.SMTP_kwargs)


class SmtpServer:
    """aiosmtpd on 127.0.0.1: ``implicit`` TLS (smtps) or STARTTLS (required), sign-in
    required. ``url`` is what smtp_url takes."""

    def __init__(self, folder: Path, *, implicit: bool = False, auth: bool = True,
                 tls: bool = True) -> None:
        self.cert, self.key = make_certificate(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        self.mailbox = Mailbox()
        self.port = free_port()
        self.implicit = implicit
        options: dict[str, Any] = {}
        if implicit:
            options["ssl_context"] = context
        elif tls:
            options.update(tls_context=context, require_starttls=True)
        if auth:
            # With TLS from the first byte aiosmtpd does not count the connection as TLS
            # for its own check (it looks at STARTTLS only); it is TLS either way.
            options.update(authenticator=_authenticate, auth_require_tls=not implicit,
                           auth_required=True)
        self.controller = _Controller(self.mailbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **options)
        self.auth = auth

    @property
    def url(self) -> str:
        user = f"{USER}@" if self.auth else ""
        return f"{'smtps' if self.implicit else 'smtp'}://{user}127.0.0.1:{self.port}"

    def settings(self) -> dict[str, Any]:
        return {"smtp_url": self.url, "smtp_password": PASSWORD if self.auth else "",
                "smtp_ca_file": str(self.cert), "message_from": "desk@practice.example.org"}

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller._thread is not None:  # stopped already (a test stops it early)
            self.controller.stop()


# -- a stand-in for the content, until kiosk/messages/render.py is filled ---------------------

def stand_in_email(facts: render.AppointmentFacts, *, sender: str, recipient: str,
                   message_id: str) -> EmailMessage:
    """Plain and HTML parts and the QR code inline: what the tests read back, nothing more."""
    from kiosk.domain import tokens

    message = EmailMessage()
    message["From"], message["To"], message["Message-ID"] = sender, recipient, message_id
    message["Subject"] = f"{facts.kind.value} {facts.starts_at:%Y-%m-%d %H:%M}"
    message.set_content(f"{facts.practice} {facts.starts_at.isoformat()} {facts.provider} "
                        f"{facts.place} {facts.token or ''}")
    if facts.token:
        png = io.BytesIO()
        tokens.qr_code(facts.token).make_image().save(png)
        message.add_alternative(f'<p>{facts.place}</p><img src="cid:qr" alt="{facts.token}">',
                                subtype="html")
        message.get_payload()[1].add_related(png.getvalue(), "image", "png", cid="<qr>")
    return message


def stand_in_sms(facts: render.AppointmentFacts) -> str:
    return f"{facts.practice} {facts.starts_at:%Y-%m-%d %H:%M} {facts.place}"


def content_is_there() -> bool:
    try:
        render.render_sms(render.AppointmentFacts(
            render.MessageKind.REMINDER, "en", "P", dt.datetime.now(dt.UTC), "D", "R", None,
            "u"))
    except NotImplementedError:
        return False
    return True


def use_stand_in_content() -> None:
    """Until the content lands: the sender and the CLI render with the stand-ins."""
    if content_is_there():
        return
    from kiosk.messages import sender
    from kiosk.ops import cli  # noqa: F401  (imports render lazily: patch the module itself)

    render.render_email = stand_in_email  # type: ignore[assignment]
    render.render_sms = stand_in_sms  # type: ignore[assignment]
    sender.render_email = stand_in_email  # type: ignore[assignment]
    sender.render_sms = stand_in_sms  # type: ignore[assignment]
