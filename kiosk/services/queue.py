"""The lobby queue: tickets, positions, and reception's operations on it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kiosk.base.i18n import S_, Explained, StaffWord
from kiosk.base.logs import where
from kiosk.domain.names import full_name, latin_name
from kiosk.domain.names import short_name as short_name_of
from kiosk.domain.results import Wait
from kiosk.services.queue_texts import queue_changed
from kiosk.services.waits import LobbyDay, QueuedVisit, WaitModel, save_shared, wait_model_for
from kiosk.store.audit import audit
from kiosk.store.dialect import upsert_for
from kiosk.store.errors import DatabaseUnavailable
from kiosk.store.models import (
    Appointment,
    AuditEvent,
    CheckinMethod,
    Patient,
    Provider,
    SiteChange,
    TicketCounter,
    Visit,
    VisitStatus,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

ACTIVE = (VisitStatus.WAITING, VisitStatus.CALLED, VisitStatus.IN_ROOM)


def ticket_code(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


def next_ticket_number(session: Session, site_id: str, day: date) -> int:
    """Increment the day's counter in one statement that locks its row: concurrent check-ins
    get distinct numbers, the first of the day creates the counter."""
    insert = upsert_for(session)
    statement = insert(TicketCounter).values(site_id=site_id, service_date=day, last_number=1)
    number = session.scalar(statement.on_conflict_do_update(
        index_elements=[TicketCounter.site_id, TicketCounter.service_date],
        set_={"last_number": TicketCounter.last_number + 1},
    ).returning(TicketCounter.last_number))
    assert number is not None
    return int(number)


# What a queue row shows of a visit besides QueuedVisit's columns, in _lobby's order.
_ROW_COLUMNS = (Visit.ticket_code, Visit.checked_in_at, Visit.arrived_late, Visit.method,
                Visit.walk_in_name, Visit.called_at, Visit.room, Visit.cancelled_upstream,
                Visit.language, Provider.display_name, Patient.given_name, Patient.family_name,
                Patient.preferred_language)


def _active_visits_query(site_id: str, day: date) -> Select[*tuple[Any, ...]]:
    """Today's visits in the lobby or with a provider, in queue order: QueuedVisit's columns."""
    return (
        select(Visit.id, Visit.provider_id, Visit.status, Visit.queue_at, Visit.ticket_number,
               Appointment.start, Visit.started_at)
        .outerjoin(Appointment, Appointment.id == Visit.appointment_id)
        .where(Visit.site_id == site_id, Visit.service_date == day, Visit.status.in_(ACTIVE))
        .order_by(Visit.queue_at, Visit.ticket_number)
    )


def _active_visits(session: Session, site_id: str, day: date,
                   provider_id: int | None = None) -> list[QueuedVisit]:
    query = _active_visits_query(site_id, day)
    if provider_id is not None:
        query = query.where(Visit.provider_id == provider_id)
    return [QueuedVisit(*row) for row in session.execute(query)]


@dataclass(frozen=True)
class PlaceInQueue:
    position: int | None
    wait: Wait | None


def place_of(session: Session, ctx: SiteContext, visit: Visit) -> PlaceInQueue:
    """The visit's place in its provider's line (its wait comes after the change is committed:
    :func:`refresh_waits`)."""
    if visit.status != VisitStatus.WAITING:
        return PlaceInQueue(None, None)
    visits = _active_visits(session, ctx.settings.site_id, visit.service_date,
                            visit.provider_id)
    ids = [v.visit_id for v in visits if v.status == VisitStatus.WAITING]
    return PlaceInQueue(ids.index(visit.id) + 1, None)


def refresh_waits(ctx: SiteContext, model: WaitModel, day: date, changed: set[int],
                  also: Callable[[Session, dict[int, Wait]], None] | None = None
                  ) -> dict[int, Wait]:
    """After a change to the lines of ``changed`` providers is committed: replay them once,
    outside the change's transaction (no other kiosk waits for it), and store them for every
    window, ``also`` (given the waits) in the same write. The database away: no waits,
    nothing stored."""
    try:
        with ctx.db.read() as session:
            active = _active_visits(session, ctx.settings.site_id, day)
            waits = model.waits(LobbyDay(
                session, ctx, day, [v for v in active if v.status == VisitStatus.WAITING],
                [v for v in active if v.status != VisitStatus.WAITING], ctx.now(),
                fresh=True, changed=frozenset(changed)))
        save_shared(ctx, model, None if also is None else lambda session: also(session, waits))
    except DatabaseUnavailable as problem:
        log.warning("the lobby's waits could not be replayed: %s", problem)
        return {}
    except Exception as error:  # the change is committed: it must not be reported failed
        log.error("the lobby's waits could not be replayed: %s at %s", type(error).__name__,
                  where(error.__traceback__))
        return {}
    return waits


@dataclass(frozen=True)
class QueueRow:
    visit_id: int
    ticket: str
    provider: str
    provider_id: int
    position: int | None
    status: VisitStatus
    checked_in_at: datetime
    wait: Wait | None
    arrived_late: bool
    method: CheckinMethod
    # For staff only (reception's window): never on the board or in logs.
    patient_name: str = ""
    appointment_start: datetime | None = None
    called_at: datetime | None = None
    room: str | None = None
    cancelled_upstream: bool = False
    language: str = "en"
    short_name: str = ""  # given name and family initial, for boards set to show them
    latin_name: str | None = None  # the name in Latin letters when written otherwise (staff)

    def waiting_minutes(self, now: datetime) -> float:
        """From check-in to being called (or to now, while still waiting)."""
        end = self.called_at or now
        return max(0.0, (end - self.checked_in_at).total_seconds() / 60)

    def as_json(self) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "provider": self.provider,
            "position": self.position,
            "status": self.status.value,
            "checked_in_at": self.checked_in_at.isoformat(),
            "wait": self.wait.as_json() if self.wait else None,
        }


class InvalidTransition(Explained, ValueError):
    """A reception action that does not fit the visit's state (say, finishing a waiting one)."""


class NotFound(Explained, LookupError):
    """No such ticket today, provider or action to undo."""


# What reception calls each status (the reception catalog translates them).
STATUS_NAMES = {VisitStatus.WAITING: S_("waiting"), VisitStatus.CALLED: S_("called"),
                VisitStatus.IN_ROOM: S_("in the room"), VisitStatus.DONE: S_("finished"),
                VisitStatus.LEFT: S_("gone (left without being seen)")}
REFUSED = {"call": S_("{ticket} cannot be called: the patient is {status}."),
           "start": S_("{ticket} cannot go into the room: the patient is {status}."),
           "finish": S_("{ticket} cannot be finished: the patient is {status}."),
           "left": S_("{ticket} cannot be marked as left: the patient is {status}.")}


# Which statuses each reception action may start from, and where it leads.
TRANSITIONS: dict[str, tuple[tuple[VisitStatus, ...], VisitStatus]] = {
    "call": ((VisitStatus.WAITING, VisitStatus.CALLED), VisitStatus.CALLED),
    "start": ((VisitStatus.WAITING, VisitStatus.CALLED), VisitStatus.IN_ROOM),
    "finish": ((VisitStatus.IN_ROOM, VisitStatus.CALLED), VisitStatus.DONE),
    "left": ((VisitStatus.WAITING, VisitStatus.CALLED), VisitStatus.LEFT),
}
STAMPS = {"call": "called_at", "start": "started_at", "finish": "finished_at",
          "left": "finished_at"}


_LOBBY_KEPT_AT_MOST = timedelta(seconds=30)


def _with_wait(row: QueueRow, wait: Wait | None) -> QueueRow:
    """``dataclasses.replace(row, wait=wait)`` at a tenth of its cost (it checks every field
    again: 10 ms for a hospital lobby's 500 rows, on every change, in every window)."""
    copy = object.__new__(QueueRow)
    copy.__dict__.update(row.__dict__, wait=wait)
    return copy


@dataclass(frozen=True)
class _Lobby:
    """What a window read of today's visits, and at which value of the change counter."""

    seq: int
    day: date
    read_at: datetime
    rows: list[QueueRow]            # without their waits
    waiting: list[QueuedVisit]
    others: list[QueuedVisit]       # with a provider


class QueueService:
    """The queue as reception and the lobby board see it, and reception's actions on it."""

    def __init__(self, ctx: SiteContext, model: WaitModel | None = None) -> None:
        self.ctx = ctx
        self.model = model or wait_model_for(ctx)
        self._kept: _Lobby | None = None

    def rows(self, day: date | None = None) -> list[QueueRow]:
        """Every visit still in the lobby or with a provider today, in queue order."""
        ctx = self.ctx
        day = day or ctx.today()
        now = ctx.now()
        with ctx.db.read() as session:
            lobby = self._lobby(session, day, now)
            # One estimate for the whole lobby, shared with every other window (read if one
            # of them computed it for this same lobby; else computed and stored below).
            waits = self.model.waits(LobbyDay(session, ctx, day, lobby.waiting, lobby.others,
                                              now))
        save_shared(ctx, self.model)
        return [_with_wait(row, waits.get(row.visit_id)) for row in lobby.rows]

    def _lobby(self, session: Session, day: date, now: datetime) -> _Lobby:
        """Today's visits as rows without their waits: read again only when a visit changed
        (the site's change counter moved), else kept: a change that only stored new waits
        (``waits_seq``) costs a window the waits, not its 500 rows. Read again anyway after
        ``_LOBBY_KEPT_AT_MOST``, for what changes without a lobby change (a name synced)."""
        site_id = self.ctx.settings.site_id
        # The counter first: a visit committed after it is read makes the next one differ.
        seq = session.scalar(select(SiteChange.seq).where(SiteChange.site_id == site_id)) or 0
        kept = self._kept
        if kept is not None and kept.seq == seq and kept.day == day \
                and timedelta(0) <= now - kept.read_at < _LOBBY_KEPT_AT_MOST:
            return kept
        # One query of columns, read without the ORM's objects (a hospital lobby: 500 rows).
        read = session.connection().execute(
            _active_visits_query(site_id, day).add_columns(*_ROW_COLUMNS)
            .join(Provider, Provider.id == Visit.provider_id)
            .outerjoin(Patient, Patient.id == Visit.patient_id)).all()
        active = [QueuedVisit(*row[:7]) for row in read]
        positions: dict[int, int] = {}
        in_line: dict[int, int] = {}
        for queued in active:
            if queued.status == VisitStatus.WAITING:
                in_line[queued.provider_id] = positions[queued.visit_id] = \
                    in_line.get(queued.provider_id, 0) + 1
        rows: list[QueueRow] = []
        for queued, row in zip(active, read, strict=True):
            (ticket_code, checked_in_at, arrived_late, method, walk_in_name, called_at, room,
             cancelled_upstream, visit_language, provider_name, given, family,
             language) = row[7:]
            latin = None
            if family:
                patient_name = full_name(given, family, language)
                short_name = short_name_of(given, family, language)
                latin = latin_name(given, family, language)
            else:
                patient_name = walk_in_name or ""
                parts = patient_name.split()
                short_name = " ".join(parts[:1] + [f"{p[:1]}." for p in parts[1:2]])
            rows.append(QueueRow(
                visit_id=queued.visit_id, ticket=ticket_code, provider=provider_name,
                provider_id=queued.provider_id, position=positions.get(queued.visit_id),
                status=queued.status, checked_in_at=checked_in_at, wait=None,
                arrived_late=arrived_late, method=method, patient_name=patient_name,
                appointment_start=queued.appointment_start, called_at=called_at, room=room,
                cancelled_upstream=cancelled_upstream, language=visit_language,
                short_name=short_name, latin_name=latin))
        rows.sort(key=lambda r: (r.status != VisitStatus.WAITING, r.provider, r.position or 0,
                                 r.checked_in_at))
        self._kept = _Lobby(
            seq, day, now, rows, [v for v in active if v.status == VisitStatus.WAITING],
            [v for v in active if v.status != VisitStatus.WAITING])
        return self._kept

    def walk_in(self, provider_external_id: str, *, actor: str, name: str | None = None,
                language: str | None = None) -> str:
        """Put a patient without an appointment in a provider's queue; returns the ticket."""
        ctx = self.ctx
        now, day = ctx.now(), ctx.today()
        with ctx.db.write() as session:
            provider = session.scalar(select(Provider).where(
                Provider.site_id == ctx.settings.site_id,
                Provider.external_id == provider_external_id))
            if provider is None:
                raise NotFound(S_("There is no provider with the id {provider}."),
                               provider=provider_external_id)
            number = next_ticket_number(session, ctx.settings.site_id, day)
            # A walk-in takes its place at its arrival, like a late patient: ahead of those
            # who came early for a later appointment, behind everyone due before now.
            queue_at = now
            visit = Visit(
                site_id=ctx.settings.site_id, service_date=day, provider_id=provider.id,
                ticket_number=number, ticket_code=ticket_code(ctx.settings.ticket_prefix, number),
                method=CheckinMethod.STAFF, language=language or ctx.settings.default_language,
                kiosk_id=None, queue_at=queue_at, checked_in_at=now, status=VisitStatus.WAITING,
                arrived_late=False, walk_in_name=(name or None))
            session.add(visit)
            session.flush()
            audit(session, ctx, actor, "walk_in", visit_id=visit.id)
            log.info("walk-in %s added by %s", visit.ticket_code, actor)
            ticket, line = visit.ticket_code, visit.provider_id
        refresh_waits(ctx, self.model, day, {line})  # once, for every window
        return ticket

    def act(self, ticket: str, action: str, *, actor: str, room: str | None = None) -> Visit:
        """Apply a reception action (call, start, finish, left) to today's visit ``ticket``."""
        if action not in TRANSITIONS:
            raise ValueError(f"unknown action {action!r}")
        allowed, target = TRANSITIONS[action]
        ctx = self.ctx
        with ctx.db.write() as session:
            visit = self._visit(session, ticket)
            if visit.status not in allowed:
                raise InvalidTransition(
                    REFUSED[action], ticket=visit.ticket_code,
                    status=StaffWord(STATUS_NAMES[visit.status]))
            before = _undo_state(visit)
            visit.status = target
            setattr(visit, STAMPS[action], ctx.now())
            if action == "start" and visit.called_at is None:
                visit.called_at = visit.started_at  # straight in: called and started at once
            if action == "call" and room:
                visit.room = room
            session.flush()
            queue_changed(session, ctx, {visit.provider_id},
                          called=visit if action == "call" else None)
            audit(session, ctx, actor, action, visit_id=visit.id, room=room, before=before)
            log.info("%s %s by %s", action, visit.ticket_code, actor)
        refresh_waits(ctx, self.model, visit.service_date, {visit.provider_id})
        return visit

    def move(self, ticket: str, provider_id: int, *, actor: str) -> Visit:
        """Send a waiting patient to another provider's queue; their place there follows
        their queue time, as if they had checked in for that provider."""
        ctx = self.ctx
        with ctx.db.write() as session:
            visit = self._visit(session, ticket)
            provider = session.get(Provider, provider_id)
            if provider is None or provider.site_id != ctx.settings.site_id:
                raise NotFound(S_("There is no provider with the id {provider}."),
                               provider=provider_id)
            if visit.status not in (VisitStatus.WAITING, VisitStatus.CALLED):
                raise InvalidTransition(
                    S_("{ticket} cannot move to another provider: the patient is {status}."),
                    ticket=visit.ticket_code, status=StaffWord(STATUS_NAMES[visit.status]))
            before = _undo_state(visit)
            lines = {visit.provider_id, provider.id}  # the line left and the line joined
            visit.provider_id = provider.id
            visit.status, visit.called_at, visit.room = VisitStatus.WAITING, None, None
            session.flush()
            queue_changed(session, ctx, lines)
            audit(session, ctx, actor, "move", visit_id=visit.id, provider_id=provider.id,
                  before=before)
            log.info("move %s to provider %d by %s", visit.ticket_code, provider.id, actor)
        refresh_waits(ctx, self.model, visit.service_date, lines)
        return visit

    def undo_last(self, *, actor: str) -> str:
        """Take back ``actor``'s last action (call, start, finish, left, move) if it is less
        than :data:`UNDO_SECONDS` old and nothing changed the visit since. Returns the
        ticket."""
        ctx = self.ctx
        since = ctx.now() - timedelta(seconds=UNDO_SECONDS)
        with ctx.db.write() as session:
            event = session.scalar(
                select(AuditEvent).where(AuditEvent.actor == actor,
                                         AuditEvent.action.in_(UNDOABLE), AuditEvent.at >= since)
                .order_by(AuditEvent.id.desc()).limit(1))
            if event is None or event.visit_id is None or event.detail.get("undone"):
                raise NotFound(S_("Nothing to undo from the last minute."))
            later = session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.visit_id == event.visit_id, AuditEvent.id > event.id))
            if later:
                raise InvalidTransition(
                    S_("The patient's visit changed since: nothing was undone."))
            visit = session.get_one(Visit, event.visit_id)
            before = event.detail["before"]
            lines = {visit.provider_id, before["provider_id"]}
            visit.status = VisitStatus(before["status"])
            visit.provider_id = before["provider_id"]
            visit.room = before["room"]
            for stamp in ("called_at", "started_at", "finished_at"):
                value = before[stamp]
                setattr(visit, stamp, datetime.fromisoformat(value) if value else None)
            event.detail = {**event.detail, "undone": True}
            audit(session, ctx, actor, "undo", visit_id=visit.id, undid=event.action)
            log.info("undo %s of %s by %s", event.action, visit.ticket_code, actor)
            ticket, day = visit.ticket_code, visit.service_date
        refresh_waits(ctx, self.model, day, lines)
        return ticket

    def _visit(self, session: Session, ticket: str) -> Visit:
        ctx = self.ctx
        visit = session.scalar(select(Visit).where(
            Visit.site_id == ctx.settings.site_id, Visit.service_date == ctx.today(),
            func.upper(Visit.ticket_code) == ticket.strip().upper()))
        if visit is None:
            raise NotFound(S_("There is no ticket {ticket} today."), ticket=ticket.strip()[:16])
        return visit


UNDO_SECONDS = 60
UNDOABLE = ("call", "start", "finish", "left", "move")


def _undo_state(visit: Visit) -> dict[str, Any]:
    """What undo puts back: codes and times, no patient data (it is kept in the audit)."""
    def stamp(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"status": visit.status.value, "provider_id": visit.provider_id, "room": visit.room,
            "called_at": stamp(visit.called_at), "started_at": stamp(visit.started_at),
            "finished_at": stamp(visit.finished_at)}
