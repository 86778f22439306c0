"""What a message to a patient says: pure rendering, no database, no network.

The contract between the outbox (which decides what to send to whom, and when) and the content
(the words, in the patient's language). ``render_email`` builds the whole MIME message;
``render_sms`` the text of a text message. Nothing clinical is ever in a message: the practice,
the day and time, the provider and the place, the check-in code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage


class MessageKind(enum.StrEnum):
    CONFIRMATION = "confirmation"  # an appointment first seen, booked ahead
    REMINDER = "reminder"          # reminder_hours before
    RESCHEDULED = "rescheduled"    # a new day or time: a new code
    CANCELLED = "cancelled"        # no code
    NEXT = "next"                  # the patient asked to be texted: they are next
    CALLED = "called"              # ... and now called, with the room
    REPLY = "reply"                # an answer to a text the patient sent (HERE, STOP, unknown)


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
    sequence: int = 0        # calendar SEQUENCE: bumped on each reschedule


def render_sms(facts: AppointmentFacts) -> str:
    """The text message: day, time, place, and how to check in from the car park."""
    raise NotImplementedError  # filled by the content work


def render_email(facts: AppointmentFacts, *, sender: str, recipient: str,
                 message_id: str) -> EmailMessage:
    """The email: plain-text and HTML parts, the QR code inline (with alt text and the code in
    text), an .ics attachment; headers From, To, Subject, Date, Message-ID set."""
    raise NotImplementedError  # filled by the content work
