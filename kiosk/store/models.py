"""The data model (SQLAlchemy 2.x). Every timestamp is timezone-aware and stored in UTC.

Schema changes go through Alembic (kiosk/migrations); a test proves the two agree.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every database (SQLite has no zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), date: Date(),
                                                     float: Float()}


class AppointmentStatus(enum.StrEnum):
    """FHIR R4 Appointment.status codes the kiosk acts on."""

    BOOKED = "booked"
    ARRIVED = "arrived"
    CHECKED_IN = "checked-in"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    FULFILLED = "fulfilled"


class VisitStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    IN_ROOM = "in_room"
    DONE = "done"
    LEFT = "left"


class CheckinMethod(enum.StrEnum):
    QR = "qr"
    NAME_DOB = "name_dob"
    STAFF = "staff"
    TEXT = "text"  # a text message from the number on record (HERE, from the car park)


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings (the values) with a CHECK constraint; no native PG enum type,
    # so adding a member is a one-line migration.
    return Enum(kind, name=name, native_enum=False, create_constraint=True, length=20,
                values_callable=lambda members: [m.value for m in members])


class Site(Base):
    __tablename__ = "site"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Signs QR codes. Generated once per site, shared by every kiosk on the same database.
    qr_secret: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_at: Mapped[datetime]


class SiteSetting(Base):
    """A site-wide setting every kiosk of the site shares, set by an admin at reception; it
    overrides the same setting of each kiosk's config file."""

    __tablename__ = "site_setting"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64))


class LobbyEstimate(Base):
    """The waits of one provider's line, replayed once after a change and read by every
    window instead of replaying it again (kiosk.services.waits.EtaWaitModel); ``rule`` is
    the calling rule it was replayed under."""

    __tablename__ = "lobby_estimate"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    provider_id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime]
    waits: Mapped[Any] = mapped_column(JSON)  # {visit id: [median, upper, known, model...]}


class Location(Base):
    __tablename__ = "location"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))


class Provider(Base):
    __tablename__ = "provider"
    __table_args__ = (UniqueConstraint("site_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    # What patients see ("Dr. Okafor"): never more than the practice chooses to show.
    display_name: Mapped[str] = mapped_column(String(200))


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id"),
        Index("ix_patient_birth_date", "birth_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    # As the practice records them, in any script.
    given_name: Mapped[str] = mapped_column(String(200))
    family_name: Mapped[str] = mapped_column(String(200))
    given_key: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date]
    preferred_language: Mapped[str | None] = mapped_column(String(16))
    # Where messages to the patient go (kiosk.messages), as the practice system records them;
    # deleted with the name by retention.
    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(32))  # E.164 when the source gives it
    # The patient asked for no more messages (reception's flag, or a reply STOP). Kept here,
    # not upstream: a sync never clears it.
    messages_opt_out: Mapped[bool] = mapped_column(Boolean, default=False,
                                                   server_default=false())


class PatientNameKey(Base):
    """Folded keys under which a patient's family name is found (kiosk.domain.names.name_keys)."""

    __tablename__ = "patient_name_key"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), primary_key=True)


class Appointment(Base):
    __tablename__ = "appointment"
    __table_args__ = (
        UniqueConstraint("site_id", "external_id"),
        UniqueConstraint("site_id", "token_tag"),
        Index("ix_appointment_patient_start", "patient_id", "start"),
        Index("ix_appointment_site_start", "site_id", "start"),
        Index("ix_appointment_provider_start", "provider_id", "start"),  # a provider's day
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    start: Mapped[datetime]
    end: Mapped[datetime]
    status: Mapped[AppointmentStatus] = mapped_column(
        _enum(AppointmentStatus, "appointment_status"))
    # Opaque lookup tag carried by QR codes (kiosk.domain.tokens); derived from the site secret.
    token_tag: Mapped[bytes] = mapped_column(LargeBinary(8))
    upstream_version: Mapped[str | None] = mapped_column(String(64))
    # The practice system's copy as last pulled (FHIR JSON): the check-in is written back onto
    # it with If-Match, so an edit made upstream since then is noticed (412), not overwritten.
    upstream_json: Mapped[str | None] = mapped_column(Text)

    patient: Mapped[Patient] = relationship(lazy="raise")
    provider: Mapped[Provider] = relationship(lazy="raise")
    location: Mapped[Location] = relationship(lazy="raise")
    # The queue entry made by checking this appointment in, if any (at most one: see Visit).
    visit: Mapped[Visit | None] = relationship(
        lazy="raise", viewonly=True, uselist=False,
        primaryjoin="Visit.appointment_id == Appointment.id")


class Visit(Base):
    """A place in the lobby queue: an appointment checked in, or a walk-in."""

    __tablename__ = "visit"
    __table_args__ = (
        # One queue entry per appointment, whatever kiosks race: the database decides.
        UniqueConstraint("appointment_id"),
        UniqueConstraint("site_id", "service_date", "ticket_number"),
        Index("ix_visit_site_day_status", "site_id", "service_date", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    service_date: Mapped[date]
    appointment_id: Mapped[int | None] = mapped_column(ForeignKey("appointment.id"))
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patient.id"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    ticket_number: Mapped[int] = mapped_column(Integer)
    ticket_code: Mapped[str] = mapped_column(String(16))
    method: Mapped[CheckinMethod] = mapped_column(_enum(CheckinMethod, "checkin_method"))
    language: Mapped[str] = mapped_column(String(16))
    kiosk_id: Mapped[str | None] = mapped_column(String(64))
    # Order in the provider's queue: the appointment time for punctual patients, the arrival
    # time for late ones and walk-ins.
    queue_at: Mapped[datetime]
    checked_in_at: Mapped[datetime]
    called_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    status: Mapped[VisitStatus] = mapped_column(_enum(VisitStatus, "visit_status"))
    arrived_late: Mapped[bool] = mapped_column(Boolean, default=False)
    room: Mapped[str | None] = mapped_column(String(32))
    # Walk-ins without a patient record: only what reception typed, shown to staff only.
    walk_in_name: Mapped[str | None] = mapped_column(String(200))

    # The appointment was cancelled in the practice system after this patient checked in:
    # reception must see it (the visit stays in the queue).
    cancelled_upstream: Mapped[bool] = mapped_column(Boolean, default=False)
    # The patient asked to be texted when they are next and when called (the kiosk's "text
    # me" touch, or a check-in by text).
    text_when_next: Mapped[bool] = mapped_column(Boolean, default=False,
                                                 server_default=false())

    appointment: Mapped[Appointment | None] = relationship(lazy="raise")
    provider: Mapped[Provider] = relationship(lazy="raise")


class TicketCounter(Base):
    """Last ticket number handed out per site and day; incremented under a row lock."""

    __tablename__ = "ticket_counter"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    service_date: Mapped[date] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class FailedAttempt(Base):
    """A failed name and date-of-birth attempt on a kiosk; holds no input, only the moment."""

    __tablename__ = "failed_attempt"
    __table_args__ = (Index("ix_failed_attempt_kiosk_at", "kiosk_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class KioskLock(Base):
    __tablename__ = "kiosk_lock"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    locked_until: Mapped[datetime]


class AuditEvent(Base):
    """Who did what, when. ``detail`` holds codes and ids only, never names or birth dates."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Feedback(Base):
    """One answer to "How was checking in today?": anonymous, no link to a visit or patient."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    score: Mapped[int] = mapped_column(Integer)  # 1 (very bad) to 5 (very good)
    language: Mapped[str] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(20))
    kiosk_id: Mapped[str] = mapped_column(String(64))


class WaitEstimateRecord(Base):
    """A wait estimate shown to a patient, and (once called) the wait that followed: the
    practice's own measure of how honest the kiosk is. No patient data: a visit id."""

    __tablename__ = "wait_estimate"
    __table_args__ = (Index("ix_wait_estimate_shown_at", "shown_at"),
                      Index("ix_wait_estimate_visit_id", "visit_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visit.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"))
    shown_at: Mapped[datetime]
    median: Mapped[int] = mapped_column(Integer)       # as shown (calibrated)
    upper: Mapped[int] = mapped_column(Integer)
    model_median: Mapped[float]                        # the estimator's, before calibration
    model_upper: Mapped[float]
    known: Mapped[bool] = mapped_column(Boolean, default=True)
    # The actual wait is not stored: Visit.called_at less shown_at
    # (kiosk.services.waits.actual_minutes).


class OutboxState(enum.StrEnum):
    PENDING = "pending"    # to send (again) from next_attempt_at
    SENT = "sent"
    SKIPPED = "skipped"    # upstream already had it (arrived, checked in) or had cancelled it
    PARKED = "parked"      # refused by the server (4xx): reception and IT must look


class OutboxItem(Base):
    """A change to write back to the practice system, committed with the change itself, so
    nothing is lost across restarts or outages. One per appointment and kind: sent at most
    once. ``last_error`` holds status codes and the server's OperationOutcome, no names."""

    __tablename__ = "outbox_item"
    __table_args__ = (UniqueConstraint("appointment_id", "kind"),
                      Index("ix_outbox_item_state_next", "state", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    kind: Mapped[str] = mapped_column(String(32))          # "arrived"
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointment.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState, "outbox_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class MessageChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessageState(enum.StrEnum):
    PENDING = "pending"      # to send from next_attempt_at (and not before due_at)
    SENDING = "sending"      # handed to the server; found so by a later pass: parked, not resent
    SENT = "sent"
    PARKED = "parked"        # refused, or interrupted while sending: IT must look (reason)
    WITHDRAWN = "withdrawn"  # no longer true or wanted: moved, cancelled, past, opted out


class PatientMessage(Base):
    """A message to a patient (kiosk.messages.outbox), committed with the change that causes
    it. ``key`` makes it unique: the same message is never enqueued twice. ``facts`` (what
    the message says, rendered when sent) or ``body`` (a text already written) and
    ``recipient`` are patient data: retention blanks them with the rest."""

    __tablename__ = "patient_message"
    __table_args__ = (UniqueConstraint("site_id", "key"),
                      Index("ix_patient_message_state_next", "state", "next_attempt_at"),
                      Index("ix_patient_message_appointment_id", "appointment_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    key: Mapped[str] = mapped_column(String(200))
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="SET NULL"))
    appointment_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="SET NULL"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))           # kiosk.messages.render.MessageKind
    channel: Mapped[MessageChannel] = mapped_column(_enum(MessageChannel, "message_channel"))
    language: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str | None] = mapped_column(String(254))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    state: Mapped[MessageState] = mapped_column(_enum(MessageState, "message_state"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)  # codes and the server's reply, no address


class MessageSender(Base):
    """The lease that keeps one message sender per site: a message found ``sending`` by the
    lease's holder was left so by a sender that died."""

    __tablename__ = "message_sender"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    lease_holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]


class SyncStatus(Base):
    """The schedule sync of one site, for reception and ``kiosk doctor``; and the lease that
    keeps exactly one sync worker active per site."""

    __tablename__ = "sync_status"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    last_success_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    last_full_pull_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    watermark: Mapped[str | None] = mapped_column(String(40))  # server's meta.lastUpdated
    window_start: Mapped[date | None]                         # the day the last full pull began
    lease_holder: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]


class StaffRole(enum.StrEnum):
    STAFF = "staff"    # reception's actions
    ADMIN = "admin"    # also the site-wide settings


class StaffMember(Base):
    """A member of staff who signs in to reception with a PIN. Only a slow hash of the PIN is
    kept (scrypt, with its own salt and cost in the string)."""

    __tablename__ = "staff_member"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    pin_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class HelpRequest(Base):
    """A patient pressed "I need help" at a kiosk: reception hears a chime until someone
    acknowledges it. Holds the kiosk and the screen, and the visit once the patient has
    checked in; never a name."""

    __tablename__ = "help_request"
    __table_args__ = (Index("ix_help_request_open", "site_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    kiosk_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    # The visit, when the patient asked after checking in (their ticket was on screen).
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))


class KioskHeartbeat(Base):
    """Each kiosk's last sign of life, for reception's health panel and monitoring."""

    __tablename__ = "kiosk_heartbeat"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seen: Mapped[datetime]
    started_at: Mapped[datetime]
    version: Mapped[str] = mapped_column(String(32))


class SiteChange(Base):
    """A counter that every change reception and the board show moves on (a check-in, a
    call, a help request), in the same transaction. Watchers on SQLite read it when the
    database file changes; PostgreSQL also sends NOTIFY with the commit."""

    __tablename__ = "site_change"

    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Moved on instead of ``seq`` when only the lobby's stored wait estimates changed: a
    # window then reads those and keeps the visits it has (a hospital lobby's 500 rows).
    waits_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
