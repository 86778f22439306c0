"""One send pass over the messages outbox, under a per-site lease (one sender per site).

**Exactly once.** Each message is marked ``sending`` and committed *before* it is handed to the
server, and marked ``sent`` after the server took it. A message a later pass finds still
``sending`` was left so by a sender that died in between (killed, power cut): the server may
have taken it or not, and nothing here can tell. It is parked with the reason
:data:`INTERRUPTED` and never sent again. That one window chooses at-most-once over
at-least-once: a patient who misses one reminder is better off than one who gets every
message twice whenever the sender restarts. Everywhere else nothing is lost: a message is
committed with the change that causes it, and a temporary failure (connection refused, a
timeout, a 4xx) is retried with backoff; a permanent refusal (a 5xx for that recipient) parks
it with the server's reason.

Log lines carry the message's id, kind, channel and the reason; never an address or a body.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kiosk.base import holders
from kiosk.messages.delivery import (
    MaybeDelivered,
    Outgoing,
    PermanentFailure,
    TemporaryFailure,
    Transport,
)
from kiosk.messages.email import SmtpTransport, message_id_header
from kiosk.messages.outbox import (
    ABOUT_APPOINTMENT,
    QUIET_KINDS,
    after_quiet_hours,
    facts_from_json,
)
from kiosk.messages.render import (
    MessageKind,
    QueueFacts,
    render_email,
    render_queue_sms,
    render_sms,
)
from kiosk.messages.sms import SmsTransport, gateway_from_settings
from kiosk.store.db import DatabaseUnavailable
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    MessageChannel,
    MessageSender,
    MessageState,
    Patient,
    PatientMessage,
    Visit,
    VisitStatus,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted while sending: it may have been delivered"
BACKOFF_FIRST = 60.0     # seconds before the first retry
BACKOFF_LONGEST = 3600.0
MAX_ATTEMPTS = 12        # about half a day of retries, then parked for IT
BATCH = 200
_jitter = random.Random()

TransportFactory = Callable[[], Transport]


class LeaseHeld(Exception):
    """Another message sender is active for this site."""


_MessageInContext = tuple[PatientMessage, bool | None, datetime | None,
                          AppointmentStatus | None, str | None, VisitStatus | None,
                          date | None]  # the opt-out, the appointment's start and status,
# the patient's address on record now, the visit's status and day (queue texts)


@dataclass(frozen=True)
class _Prepared:
    """A message read and rendered: to send (``outgoing``), to postpone to the end of
    quiet hours, not to be written (``failure``), or, with none of these, not wanted."""

    outgoing: Outgoing | None = None
    channel: MessageChannel | None = None
    kind: str = ""
    quiet_until: datetime | None = None
    failure: str | None = None


class _LeaseLost(Exception):
    """This pass's lease went to another sender (it was too slow): it must stop."""


@dataclass
class SendResult:
    sent: int = 0
    retrying: int = 0
    parked: int = 0
    withdrawn: int = 0
    interrupted: int = 0     # found ``sending`` from a pass that died: parked, not resent
    standing_by: str | None = None  # another sender holds the lease: this pass did nothing


def backoff(attempts: int) -> timedelta:
    delay = min(BACKOFF_LONGEST, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    return timedelta(seconds=delay * _jitter.uniform(0.75, 1.25))


def default_transports(ctx: SiteContext) -> dict[MessageChannel, TransportFactory]:
    """The transports the settings configure (email with ``smtp_url``, text messages with
    ``sms_gateway``)."""
    found: dict[MessageChannel, TransportFactory] = {}
    if ctx.settings.smtp_url:
        found[MessageChannel.EMAIL] = lambda: SmtpTransport(ctx.settings)
    if ctx.settings.sms_gateway != "none":
        def texts() -> Transport:
            gateway = gateway_from_settings(ctx.settings)
            assert gateway is not None
            return SmsTransport(gateway, ctx.settings.sms_default_country_code)
        found[MessageChannel.SMS] = texts
    return found


class MessageSenderPass:
    """Sends what is due. ``transports``: a factory per channel, called once per pass when
    the first message of that channel is sent; channels without one wait."""

    def __init__(self, ctx: SiteContext,
                 transports: Mapping[MessageChannel, TransportFactory] | None = None,
                 holder: str | None = None) -> None:
        self.ctx = ctx
        self.transports = dict(default_transports(ctx) if transports is None else transports)
        self.holder = holder or holders.holder_name(ctx.settings.kiosk_id)

    @property
    def lease_seconds(self) -> float:
        return max(120.0, 3.0 * self.ctx.settings.messages_poll_seconds)

    # -- the lease ---------------------------------------------------------------------------

    def take_lease(self) -> None:
        ctx, site_id = self.ctx, self.ctx.settings.site_id
        now = ctx.now()
        try:
            with ctx.db.write() as session:
                lease = session.scalar(select(MessageSender).where(
                    MessageSender.site_id == site_id).with_for_update())
                if lease is None:
                    lease = MessageSender(site_id=site_id)
                    session.add(lease)
                elif (lease.lease_holder not in (None, self.holder)
                      and lease.lease_until is not None and lease.lease_until > now):
                    if not holders.holder_gone(lease.lease_holder):
                        raise LeaseHeld(f"message sender {lease.lease_holder} is active for "
                                        "this site")
                    log.info("messages: taking over the lease of %s, which no longer runs",
                             lease.lease_holder)
                lease.lease_holder = self.holder
                lease.lease_until = now + timedelta(seconds=self.lease_seconds)
        except IntegrityError:  # another sender made the row at the same moment
            raise LeaseHeld("another message sender is starting for this site") from None

    def release_lease(self) -> None:
        with self.ctx.db.write() as session:
            lease = session.get(MessageSender, self.ctx.settings.site_id)
            if lease is not None and lease.lease_holder == self.holder:
                lease.lease_holder, lease.lease_until = None, None

    # -- a pass ------------------------------------------------------------------------------

    def send_once(self, *, limit: int | None = None) -> SendResult:
        """One pass for a one-shot run (``kiosk messages send``): the lease is given back at
        the end, so the next run need not wait it out."""
        try:
            return self.run_pass(limit=limit)
        except LeaseHeld as held:
            return SendResult(standing_by=str(held))
        finally:
            with contextlib.suppress(DatabaseUnavailable):
                self.release_lease()

    def run_pass(self, *, limit: int | None = None) -> SendResult:
        """Take the lease, park what a dead sender left ``sending``, send what is due."""
        self.take_lease()
        result = SendResult()
        result.interrupted = self._park_interrupted()
        result.parked += result.interrupted
        opened: dict[MessageChannel, Transport] = {}
        down: set[MessageChannel] = set()
        seen: set[int] = set()
        try:
            while limit is None or len(seen) < limit:
                due = [(message_id, channel) for message_id, channel in self._due(down)
                       if message_id not in seen]
                if limit is not None:
                    due = due[:limit - len(seen)]
                if not due:
                    break
                for message_id, channel in due:
                    seen.add(message_id)
                    if channel in down:
                        continue  # its server is down: the message waits for the next pass
                    if channel not in opened:  # before any message is marked sending
                        opened[channel] = self.transports[channel]()
                    if not self._send_one(message_id, self._prepare(message_id), opened, down,
                                          result):
                        return result  # the lease was lost: another sender carries on
        finally:
            for transport in opened.values():
                transport.close()
        return result

    def _park_interrupted(self) -> int:
        """Messages left ``sending`` by a sender that died (this one holds the lease now)."""
        with self.ctx.db.write() as session:
            stuck = session.scalars(select(PatientMessage).where(
                PatientMessage.site_id == self.ctx.settings.site_id,
                PatientMessage.state == MessageState.SENDING)).all()
            for message in stuck:
                message.state, message.reason = MessageState.PARKED, INTERRUPTED
                message.next_attempt_at = self.ctx.now()
                log.error("messages: message %d (%s, %s) parked: %s; not sent again",
                          message.id, message.kind, message.channel.value, INTERRUPTED)
        return len(stuck)

    def _due(self, down: set[MessageChannel]) -> list[tuple[int, MessageChannel]]:
        channels = [channel for channel in self.transports if channel not in down]
        if not channels:
            return []
        with self.ctx.db.read() as session:
            return [(row.id, row.channel) for row in session.execute(
                select(PatientMessage.id, PatientMessage.channel).where(
                    PatientMessage.site_id == self.ctx.settings.site_id,
                    PatientMessage.state == MessageState.PENDING,
                    PatientMessage.next_attempt_at <= self.ctx.now(),
                    PatientMessage.channel.in_(channels))
                .order_by(PatientMessage.next_attempt_at, PatientMessage.id).limit(BATCH))]

    def _send_one(self, message_id: int, prepared: _Prepared | None,
                  opened: dict[MessageChannel, Transport], down: set[MessageChannel],
                  result: SendResult) -> bool:
        """Claim, hand over and record one message. False when the lease was lost."""
        if prepared is None:
            return True  # sent, parked or withdrawn meanwhile
        try:
            claimed = self._claim(message_id, prepared, result)
        except _LeaseLost:
            return False
        if claimed is None:
            return True
        outgoing, channel, kind = claimed
        transport = opened[channel]
        try:
            transport.send(outgoing)
        except TemporaryFailure as failure:
            parked = self._record(message_id, MessageState.PENDING, str(failure), retry=True)
            if parked:
                result.parked += 1
            else:
                result.retrying += 1
            if failure.server_down:
                down.add(channel)
            log.warning("messages: message %d (%s, %s) %s: %s", message_id, kind,
                        channel.value, "parked after too many attempts" if parked
                        else "to retry", failure)
            return True
        except MaybeDelivered as failure:
            self._record(message_id, MessageState.PARKED, f"{INTERRUPTED} ({failure})")
            result.parked += 1
            log.error("messages: message %d (%s, %s) parked: %s (%s); not sent again",
                      message_id, kind, channel.value, INTERRUPTED, failure)
            return True
        except PermanentFailure as failure:
            self._record(message_id, MessageState.PARKED, str(failure))
            result.parked += 1
            log.error("messages: message %d (%s, %s) refused, parked: %s", message_id, kind,
                      channel.value, failure)
            return True
        except Exception as error:  # unknown: it may have gone out; never send it again
            self._record(message_id, MessageState.PARKED,
                         f"{INTERRUPTED} ({type(error).__name__})")
            result.parked += 1
            log.exception("messages: message %d (%s, %s) parked after an unexpected error",
                          message_id, kind, channel.value)
            opened.pop(channel).close()
            return True
        self._record(message_id, MessageState.SENT, None)
        result.sent += 1
        log.info("messages: message %d (%s, %s) sent", message_id, kind, channel.value)
        return True

    def _prepare(self, message_id: int) -> _Prepared | None:
        """Read the message and, if it is to go now, render it, in a read transaction (no
        write lock held while an email is drawn). None when it is no longer pending."""
        ctx = self.ctx
        now = ctx.now()
        quiet_end = after_quiet_hours(now, ctx.tz, ctx.settings.quiet_hours)
        with ctx.db.read() as session:
            found = self._with_context(session, message_id)
            if found is None or found[0].state != MessageState.PENDING:
                return None
            message = found[0]
            if message.kind in QUIET_KINDS and quiet_end > now:
                return _Prepared(quiet_until=quiet_end)
            if self._no_longer_wanted(*found, now) is not None:
                return _Prepared()  # the claim says why, in its own transaction
            try:
                return _Prepared(outgoing=self._render(message), channel=message.channel,
                                 kind=message.kind)
            except Exception as error:  # a gap in the content: IT must look
                log.exception("messages: message %d (%s, %s) could not be rendered",
                              message.id, message.kind, message.channel.value)
                return _Prepared(failure=f"could not be written: {type(error).__name__}")

    def _claim(self, message_id: int, prepared: _Prepared, result: SendResult
               ) -> tuple[Outgoing, MessageChannel, str] | None:
        """In one short write transaction: check again that the message is still pending
        and wanted, mark it ``sending`` and renew the lease. The rendered message, or None
        when it is not to be sent (postponed, withdrawn, parked, or taken meanwhile);
        :class:`_LeaseLost` when the lease is not ours any more. Rendering was done before,
        outside the write lock: a kiosk checking a patient in never waits for an email."""
        ctx = self.ctx
        now = ctx.now()
        outgoing, failure = prepared.outgoing, prepared.failure
        with ctx.db.write() as session:
            lease = session.get(MessageSender, ctx.settings.site_id)
            if lease is None or lease.lease_holder != self.holder:
                log.warning("messages: the sender's lease was taken over; this pass stops")
                raise _LeaseLost
            if lease.lease_until is None or (lease.lease_until - now).total_seconds() \
                    < self.lease_seconds / 2:
                lease.lease_until = now + timedelta(seconds=self.lease_seconds)
            if outgoing is not None:  # the common case, in one statement: still pending, and
                # the patient has not opted out since it was read (else: why, below)
                opted_out = select(Patient.id).where(Patient.id == PatientMessage.patient_id,
                                                     Patient.messages_opt_out.is_(True))
                claimed = session.execute(
                    update(PatientMessage)
                    .where(PatientMessage.id == message_id,
                           PatientMessage.state == MessageState.PENDING,
                           ~opted_out.exists())
                    .values(state=MessageState.SENDING, attempts=PatientMessage.attempts + 1),
                    execution_options={"synchronize_session": False})
                if getattr(claimed, "rowcount", 0) == 1:
                    assert prepared.channel is not None
                    return outgoing, prepared.channel, prepared.kind
            found = self._with_context(session, message_id)
            if found is None or found[0].state != MessageState.PENDING:
                return None
            message = found[0]
            if prepared.quiet_until is not None:  # due in the night: in the morning
                message.next_attempt_at = prepared.quiet_until
                return None
            why_not = self._no_longer_wanted(*found, now)  # again: an opt-out just now
            if why_not:
                message.state, message.reason = MessageState.WITHDRAWN, why_not
                result.withdrawn += 1
                log.info("messages: message %d (%s, %s) withdrawn: %s", message.id,
                         message.kind, message.channel.value, why_not)
                return None
            if failure is not None:
                message.state, message.next_attempt_at = MessageState.PARKED, now
                message.reason = failure
                result.parked += 1
                return None
            # Unwanted when read and wanted again now: the next pass sends it.
            return None

    @staticmethod
    def _with_context(session: Session, message_id: int) -> _MessageInContext | None:
        """The message with what decides whether it is still wanted, in one statement."""
        row = session.execute(
            select(PatientMessage, Patient.messages_opt_out, Appointment.start,
                   Appointment.status,
                   case((PatientMessage.channel == MessageChannel.SMS, Patient.mobile),
                        else_=Patient.email),
                   Visit.status, Visit.service_date)
            .outerjoin(Patient, Patient.id == PatientMessage.patient_id)
            .outerjoin(Appointment, Appointment.id == PatientMessage.appointment_id)
            .outerjoin(Visit, Visit.id == PatientMessage.visit_id)
            .where(PatientMessage.id == message_id)).first()
        return None if row is None else (row[0], row[1], row[2], row[3], row[4], row[5],
                                         row[6])

    def _no_longer_wanted(self, message: PatientMessage, opted_out: bool | None,
                          start: datetime | None, status: AppointmentStatus | None,
                          address: str | None, visit_status: VisitStatus | None,
                          visit_day: date | None, now: datetime) -> str | None:
        if message.recipient is None:
            return "no address"
        if opted_out:
            return "the patient opted out"
        if message.patient_id is not None and address != message.recipient:
            return "the patient's address changed"  # never to a number no longer theirs
        if message.kind in (MessageKind.NEXT, MessageKind.CALLED):
            if visit_day != self.ctx.local(now).date():
                return "the visit is over"
            if visit_status not in ((VisitStatus.WAITING, VisitStatus.CALLED)
                                    if message.kind == MessageKind.NEXT
                                    else (VisitStatus.CALLED,)):
                return "the patient's place in the queue moved on"
        if message.kind != MessageKind.REPLY and message.appointment_id is not None:
            if start is None or status is None:
                return "the appointment is gone"
            if start <= now:
                return "the appointment has begun"
            if message.kind in ABOUT_APPOINTMENT and status != AppointmentStatus.BOOKED:
                return f"the appointment is {status.value}"
        return None

    def _render(self, message: PatientMessage) -> Outgoing:
        assert message.recipient is not None
        if message.channel == MessageChannel.EMAIL:
            if message.facts is None:
                raise ValueError("an email without facts")
            facts = facts_from_json(message.facts, self.ctx.tz)
            email = render_email(facts, sender=self.ctx.settings.message_from,
                                 recipient=message.recipient,
                                 message_id=message_id_header(self.ctx.settings, message.id))
            return Outgoing(message.id, message.recipient, email=email)
        if message.body is not None:
            text = message.body
        elif message.kind in (MessageKind.NEXT, MessageKind.CALLED):  # kiosk.services.queue_texts
            stored = message.facts or {}
            text = render_queue_sms(QueueFacts(
                MessageKind(message.kind), message.language, str(stored.get("practice", "")),
                ticket=stored.get("ticket"), position=1, room=stored.get("room")))
        else:
            text = render_sms(facts_from_json(message.facts or {}, self.ctx.tz))
        return Outgoing(message.id, message.recipient, text=text)

    def _record(self, message_id: int, state: MessageState, reason: str | None, *,
                retry: bool = False) -> bool:
        """Write the outcome of a hand-over. With ``retry``: back to pending after a backoff,
        or parked when it has failed too often. True when that parked it."""
        now = self.ctx.now()
        with self.ctx.db.write() as session:
            if state == MessageState.SENT:  # the common case, in one statement
                session.execute(update(PatientMessage).where(PatientMessage.id == message_id)
                                .values(state=state, sent_at=now, next_attempt_at=now,
                                        reason=None))
                return False
            message = session.get(PatientMessage, message_id)
            assert message is not None
            message.reason = reason[:1000] if reason else None
            parked = False
            if retry:
                if message.attempts >= MAX_ATTEMPTS:
                    message.state, parked = MessageState.PARKED, True
                    message.reason = (f"still failing after {message.attempts} attempts: "
                                      f"{reason}")[:1000]
                    message.next_attempt_at = now
                else:
                    message.state = MessageState.PENDING
                    message.next_attempt_at = now + backoff(message.attempts)
            else:
                message.state, message.next_attempt_at = state, now
        return parked

    # -- the service -------------------------------------------------------------------------

    def watch(self, stop: threading.Event) -> None:
        """A pass every ``messages_poll_seconds`` until ``stop`` is set; never raises."""
        interval = self.ctx.settings.messages_poll_seconds
        while not stop.is_set():
            try:
                result = self.run_pass()
                if result.sent or result.parked:
                    log.info("messages: %d sent, %d parked, %d to retry", result.sent,
                             result.parked, result.retrying)
            except LeaseHeld as held:
                log.info("messages: standing by: %s", held)
            except DatabaseUnavailable as error:
                log.warning("messages: pass failed: %s", error)
            except Exception:  # the loop must outlive any one bad pass
                log.exception("messages: unexpected error in a send pass")
            stop.wait(interval)
        with contextlib.suppress(DatabaseUnavailable):
            self.release_lease()
