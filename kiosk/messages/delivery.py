"""What the outbox asks of a channel's transport (email over SMTP, text messages through a
gateway), and the three ways a hand-over can fail. A transport is used for one send pass: it
may keep a connection open between messages, and is closed at the end of the pass."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message, rendered, for a transport: ``email`` for the email channel, ``text`` for
    a text message. ``message_id`` is the outbox row's, for log lines."""

    message_id: int
    recipient: str
    email: EmailMessage | None = None
    text: str | None = None


class DeliveryError(Exception):
    """The message was not delivered. The text is safe for a log line and for reception: a
    status code and the server's reason, never an address or a body."""


class TemporaryFailure(DeliveryError):
    """Not delivered, and worth trying again later (a server down or busy, a 4xx).
    ``server_down``: the rest of this pass's messages on the channel would fail the same way."""

    def __init__(self, reason: str, *, server_down: bool = False) -> None:
        super().__init__(reason)
        self.server_down = server_down


class PermanentFailure(DeliveryError):
    """Refused for good (a 5xx for that recipient): parked with the reason, never retried."""


class MaybeDelivered(DeliveryError):
    """The connection broke after the message was handed over and before the server said
    whether it took it: it may have been delivered. Parked, never sent again."""


class Transport(Protocol):
    def send(self, message: Outgoing) -> None:
        """Hand one message over; raises a :class:`DeliveryError` when it was not taken."""

    def close(self) -> None:
        """End the pass: close any connection (never raises)."""
