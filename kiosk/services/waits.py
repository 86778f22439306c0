"""Wait models fed from the database, and the record of their accuracy.

* :class:`WaitModel` is what the queue asks (the whole lobby's :class:`LobbyDay` in, a
  :class:`~kiosk.domain.results.Wait` per visit out); :func:`wait_model_for` picks the one the
  settings name: :class:`EtaWaitModel` (the estimator of :mod:`kiosk.domain.eta`) or
  :class:`SimpleWaitModel`.
* :class:`EtaWaitModel` turns the lobby's day (every provider's appointment book, check-ins,
  calls, finished consultations) into estimator events for one replay of the whole lobby,
  with each provider's history of consultation times; it is the app's wait model (the
  kiosk's confirmation, the queue, reception, the board), and its result is computed once
  per lobby change and shared (:class:`~kiosk.store.models.LobbyEstimate`).
* Every estimate shown to a patient at check-in is recorded (:func:`record_shown`); the
  actual wait is the visit's ``called_at`` less the moment it was shown
  (:func:`actual_minutes`), so an undone or moved call never leaves a stale one.
  :func:`accuracy` summarises the practice's own record (``kiosk eta-report``), and
  :func:`calibration` derives a correction from it that the model applies from its start
  (recalibration on every start of the app, nightly on a kiosk restarted each night).
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kiosk.base.clock import local_day_bounds
from kiosk.domain.eta import QueueEvent, WaitEstimator
from kiosk.domain.results import Wait
from kiosk.store.changes import mark_waits_changed
from kiosk.store.dialect import upsert_for
from kiosk.store.errors import DatabaseUnavailable
from kiosk.store.models import (
    Appointment,
    AppointmentStatus,
    LobbyEstimate,
    Visit,
    VisitStatus,
    WaitEstimateRecord,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QueuedVisit:
    visit_id: int
    provider_id: int
    status: VisitStatus
    queue_at: datetime
    ticket_number: int
    appointment_start: datetime | None
    started_at: datetime | None


@dataclass(frozen=True)
class LobbyDay:
    """The whole lobby today, every provider's queue, as a wait model sees it (with the
    session to look further: the appointment book, history). ``fresh``: replay it now (the
    writer of a change does, after its commit), rather than read the shared estimate."""

    session: Session
    ctx: SiteContext
    day: date
    waiting: Sequence[QueuedVisit]       # in queue order
    in_progress: Sequence[QueuedVisit]   # called or in the room
    now: datetime
    fresh: bool = False  # replay now (after a change), not the shared estimate
    changed: frozenset[int] | None = None  # with fresh: the providers whose line changed


class WaitModel(Protocol):
    """Estimates the waits of everyone waiting in the lobby (:class:`EtaWaitModel`, or the
    simple model below)."""

    def waits(self, lobby: LobbyDay) -> dict[int, Wait]: ...


class SimpleWaitModel:
    """Place in line times a typical consultation, never before the appointment time.

    The bound grows with the square root of the patients ahead, as the spread of a sum of
    independent consultation times does.
    """

    def __init__(self, consultation_minutes: float) -> None:
        self.minutes = consultation_minutes

    def waits(self, lobby: LobbyDay) -> dict[int, Wait]:
        now = lobby.now
        busy: dict[int, float] = {}
        for visit in lobby.in_progress:
            elapsed = (now - visit.started_at).total_seconds() / 60 if visit.started_at else 0.0
            busy[visit.provider_id] = max(busy.get(visit.provider_id, 0.0),
                                          self.minutes - elapsed, self.minutes * 0.25)
        result = {}
        ahead_of: dict[int, int] = {}
        for visit in lobby.waiting:  # each provider's line, in queue order
            ahead = ahead_of.get(visit.provider_id, 0)
            ahead_of[visit.provider_id] = ahead + 1
            median = busy.get(visit.provider_id, 0.0) + ahead * self.minutes
            if visit.appointment_start is not None:
                median = max(median, (visit.appointment_start - now).total_seconds() / 60)
            spread = max(5.0, 0.35 * self.minutes * math.sqrt(ahead + 1))
            result[visit.visit_id] = Wait(round(median), round(median + spread))
        return result


def wait_model_for(ctx: SiteContext) -> WaitModel:
    """The wait model the settings choose."""
    if ctx.settings.wait_model == "eta":
        return EtaWaitModel()
    return SimpleWaitModel(ctx.settings.consultation_minutes)


HISTORY_DAYS = 60
ENOUGH_HISTORY = 5  # consultations of this provider, before a number is shown to patients
CALIBRATION_DAYS = 30


@dataclass(frozen=True)
class Calibration:
    """Corrections learned from the practice's own record of estimates and actual waits."""

    bias_minutes: float = 0.0   # added to every median
    spread: float = 1.0         # multiplies the distance from the median to the upper bound
    records: int = 0


# Segments of the record, calibrated each on its own: walk-in or booked, and the band of the
# wait the model predicted (errors of opposite sign in different segments would cancel in one
# global correction, and correct nothing).
PREDICTED_BANDS = ((0, 10), (10, 20), (20, 40), (40, 10_000))
RECALIBRATE_EVERY = timedelta(minutes=15)  # refitted during the day, as actual waits arrive


def segment_of(walk_in: bool, predicted_minutes: float) -> str:
    kind = "walk_in" if walk_in else "booked"
    for low, high in PREDICTED_BANDS:
        if low <= predicted_minutes < high:
            return f"{kind} {low}-{high}" if high < 10_000 else f"{kind} {low}+"
    return f"{kind} 0-10"  # a negative prediction (a slot in the past, rounded)


@dataclass(frozen=True)
class SegmentCalibration:
    """A calibration per segment, with the kind's (walk-in or booked) and the whole record's
    to fall back on where a segment has too few records yet."""

    overall: Calibration = field(default_factory=Calibration)
    by_kind: dict[str, Calibration] = field(default_factory=dict)
    by_segment: dict[str, Calibration] = field(default_factory=dict)

    def for_visit(self, walk_in: bool, predicted_minutes: float) -> Calibration:
        segment = segment_of(walk_in, predicted_minutes)
        kind = segment.split()[0]
        for found in (self.by_segment.get(segment), self.by_kind.get(kind)):
            if found is not None and found.records >= ENOUGH_RECORDS:
                return found
        return self.overall


SHARED_FOR = timedelta(seconds=60)  # a shared estimate is replayed again after this long


class EtaWaitModel:
    """The estimator of :mod:`kiosk.domain.eta`, replaying the lobby once per change for the
    site, shared by every window.

    * Each provider's line is replayed on its own: every visit here has a provider, so no
      walk-in links lines (the estimator could take walk-ins for anyone; the app makes
      none). A change replays only the lines it touched (a check-in at a 140-provider
      hospital does not replay 139 other lines).
    * Whoever makes a change (a kiosk's check-in, reception's call, move, undo, walk-in)
      replays it right after committing (``fresh``), outside its transaction, and stores
      the result, one row per provider (:class:`~kiosk.store.models.LobbyEstimate`, with the
      calling rule used); storing it moves the lobby's change counter on, so every window
      refreshes.
    * Every reception window, board and kiosk reads the stored rows, for the visits still
      waiting, instead of replaying; a line whose row is older than :data:`SHARED_FOR`, was
      made under another calling rule, or is missing, is replayed by the first window that
      needs it.
    """

    def __init__(self) -> None:
        self._history: dict[int, list[float]] | None = None
        self._habits: Habits | None = None
        self._calibration: SegmentCalibration | None = None
        self._calibrated_at: datetime | None = None
        self.replays = 0  # how many times this process replayed (a part of) the lobby
        self.unsaved: list[dict[str, Any]] | None = None  # replayed: save_shared() stores
        self._stored: dict[int, StoredLine] = {}  # the lines' stored rows last read, decoded

    def waits(self, lobby: LobbyDay) -> dict[int, Wait]:
        if not lobby.waiting:
            return {}
        session, ctx, now = lobby.session, lobby.ctx, lobby.now
        rule = ctx.settings.calling_rule
        waiting = {visit.visit_id for visit in lobby.waiting}
        lines = {visit.provider_id for visit in lobby.waiting}
        found: dict[int, Wait] = {}
        local: set[int] = set()  # lines replayed for this process only (see below)
        if lobby.fresh:
            stale = set(lobby.changed) if lobby.changed is not None else set(lines)
        else:
            stale = set(lines)
            line_of = {visit.visit_id: visit.provider_id for visit in lobby.waiting}
            aged: list[tuple[StoredLine, dict[int, Wait]]] = []
            for row in self._stored_lines(session, ctx.settings.site_id, lines):
                if row.rule != rule:
                    # Another calling rule (this process has not yet taken an admin's
                    # change, or its config differs): replayed here, not stored, or two
                    # processes would overwrite each other's rows for ever.
                    local.add(row.provider_id)
                    continue
                # Only the visits still in this line. One just checked in may not be in it
                # yet: its kiosk stores the line right after, and that signals every window
                # again (an older replay never overwrites a newer one: save_shared).
                mine = {visit_id: wait for visit_id, wait in row.waits.items()
                        if line_of.get(visit_id) == row.provider_id}
                if timedelta(0) <= now - row.computed_at < SHARED_FOR:
                    stale.discard(row.provider_id)
                    found.update(mine)
                else:
                    aged.append((row, mine))
            if aged:  # one window replays them; the others show them meanwhile
                claimed = _claim(ctx, [row.provider_id for row, _ in aged], now)
                for row, mine in aged:
                    if row.provider_id not in claimed:
                        stale.discard(row.provider_id)
                        found.update(mine)
        if stale:
            events, ids, finished = lobby_day_events(session, ctx, lobby.day, stale)
            # The book is known in advance, and so are cancellations and no-shows marked
            # (whatever slot time they carry); the rest only once it has happened.
            known_now = [event for event in events
                         if event.at <= now or event.kind in ("session", "booked",
                                                               "cancelled", "no_show")]
            waits = self._replay(session, ctx, lobby.day, known_now, ids, finished, now)
            by_provider: dict[int, dict[int, Wait]] = {provider: {} for provider in stale}
            for visit in lobby.waiting:
                if visit.provider_id in by_provider and visit.visit_id in waits:
                    by_provider[visit.provider_id][visit.visit_id] = waits[visit.visit_id]
            self.unsaved = [{"site_id": ctx.settings.site_id, "provider_id": provider,
                             "rule": rule, "computed_at": now, "waits": _encoded(part_waits)}
                            for provider, part_waits in sorted(by_provider.items())
                            if provider not in local] or None
            found.update(waits)
        return {visit_id: wait for visit_id, wait in found.items() if visit_id in waiting}

    def _stored_lines(self, session: Session, site_id: str, lines: set[int]
                      ) -> list[StoredLine]:
        """The stored rows of ``lines``, their waits decoded; a row this process has read
        before (same computed_at) is not fetched nor decoded again: on a change, one line's
        row is new and a hospital lobby has 40."""
        heads = session.execute(
            select(LobbyEstimate.provider_id, LobbyEstimate.rule, LobbyEstimate.computed_at)
            .where(LobbyEstimate.site_id == site_id, LobbyEstimate.provider_id.in_(lines))).all()
        known = self._stored
        new = [provider for provider, rule, computed_at in heads
               if (provider not in known or known[provider].computed_at != computed_at
                   or known[provider].rule != rule)]
        if new:
            for provider, rule, computed_at, waits in session.execute(
                    select(LobbyEstimate.provider_id, LobbyEstimate.rule,
                           LobbyEstimate.computed_at, LobbyEstimate.waits)
                    .where(LobbyEstimate.site_id == site_id,
                           LobbyEstimate.provider_id.in_(new))):
                known[provider] = StoredLine(provider, rule, computed_at, _decoded(waits))
        return [known[provider] for provider, _rule, _at in heads if provider in known]

    def _replay(self, session: Session, ctx: SiteContext, day: date,
                events: Sequence[QueueEvent], ids: dict[str, int], finished: dict[int, int],
                now: datetime) -> dict[int, Wait]:
        self.replays += 1
        history, habits = self._learned(session, ctx, day)
        calibrations = self._calibration_of(session, ctx, now)
        estimator = WaitEstimator({str(provider): minutes
                                   for provider, minutes in history.items()},
                                  late_after_minutes=ctx.settings.late_after_minutes,
                                  slot_minutes=ctx.settings.consultation_minutes,
                                  calling_rule=ctx.settings.calling_rule,
                                  **habits.settings())
        for event in events:
            estimator.observe(event)
        waits = {}
        for key, estimate in estimator.estimate(now).items():
            visit_id = ids.get(key)
            if visit_id is None:
                continue
            provider_id = int(estimator.visits[key].provider_id or 0)
            known = len(history.get(provider_id, [])) + finished.get(provider_id, 0) \
                >= ENOUGH_HISTORY
            calibration = calibrations.for_visit(key.startswith("w"), estimate.median_minutes)
            median = max(0.0, estimate.median_minutes + calibration.bias_minutes)
            upper = median + (estimate.upper_minutes - estimate.median_minutes) \
                * calibration.spread
            waits[visit_id] = Wait(round(median), max(round(upper), round(median)), known,
                                   model=(estimate.median_minutes, estimate.upper_minutes))
        return waits

    def _learned(self, session: Session, ctx: SiteContext, day: date
                 ) -> tuple[dict[int, list[float]], Habits]:
        if self._history is None or self._habits is None:  # once per process: "on start"
            self._history = provider_history(session, ctx, day)
            self._habits = practice_habits(session, ctx, day)
        return self._history, self._habits

    def _calibration_of(self, session: Session, ctx: SiteContext, now: datetime
                        ) -> SegmentCalibration:
        """Fitted on start and again every RECALIBRATE_EVERY, today's waits included."""
        if self._calibration is None or self._calibrated_at is None or \
                not timedelta(0) <= now - self._calibrated_at < RECALIBRATE_EVERY:
            self._calibration = segment_calibration(
                _records(session, ctx, CALIBRATION_DAYS, model=True))
            self._calibrated_at = now
        return self._calibration


def _key(appointment_id: int | None, visit_id: int | None) -> str:
    return f"a{appointment_id}" if appointment_id is not None else f"w{visit_id}"


def save_shared(ctx: SiteContext, model: WaitModel,
                also: Callable[[Session], None] | None = None) -> None:
    """Store the lobby's estimate the model just replayed, for every window, and move the
    lobby's change counter on so that they refresh (and ``also`` in the same transaction).
    A failure (the database away) only means the windows replay the lobby themselves."""
    rows = getattr(model, "unsaved", None)
    if not rows and also is None:
        return
    if rows:
        model.unsaved = None  # type: ignore[attr-defined]
    try:
        with ctx.db.write() as session:
            for row in rows or ():  # in provider order: two writers lock rows alike
                # One statement each: kiosks and windows elsewhere may store at once; an
                # older replay stored late never overwrites a newer one.
                statement = upsert_for(session)(LobbyEstimate).values(**row)
                session.execute(statement.on_conflict_do_update(
                    index_elements=[LobbyEstimate.site_id, LobbyEstimate.provider_id],
                    set_={name: row[name] for name in ("rule", "computed_at", "waits")},
                    where=LobbyEstimate.computed_at <= statement.excluded.computed_at))
            if rows:
                mark_waits_changed(session, ctx.settings.site_id)
            if also is not None:
                also(session)
    except DatabaseUnavailable as problem:
        log.warning("the lobby's wait estimates could not be stored: %s", problem)


@dataclass(frozen=True)
class StoredLine:
    """A line's stored estimate (a LobbyEstimate row) as read, its waits decoded."""

    provider_id: int
    rule: str
    computed_at: datetime
    waits: dict[int, Wait]


def _encoded(waits: dict[int, Wait]) -> dict[str, list[Any]]:
    return {str(visit_id): [wait.median, wait.upper, wait.known,
                            *(wait.model or (wait.median, wait.upper))]
            for visit_id, wait in waits.items()}


def _decoded(stored: dict[str, list[Any]]) -> dict[int, Wait]:
    return {int(visit_id): Wait(int(median), int(upper), bool(known),
                                model=(float(model_median), float(model_upper)))
            for visit_id, (median, upper, known, model_median, model_upper) in stored.items()}


def _claim(ctx: SiteContext, providers: list[int], now: datetime) -> set[int]:
    """The lines of ``providers`` whose stored waits are still old, marked as being replayed
    by this window (one statement: of many windows refreshing at once, one gets each)."""
    try:
        with ctx.db.write() as session:
            return set(session.scalars(
                update(LobbyEstimate)
                .where(LobbyEstimate.site_id == ctx.settings.site_id,
                       LobbyEstimate.provider_id.in_(providers),
                       LobbyEstimate.computed_at <= now - SHARED_FOR)
                .values(computed_at=now)
                .returning(LobbyEstimate.provider_id)))
    except DatabaseUnavailable:
        return set()


def lobby_day_events(session: Session, ctx: SiteContext, day: date,
                     providers: set[int] | None = None
                     ) -> tuple[list[QueueEvent], dict[str, int], dict[int, int]]:
    """The lobby's day (``providers``' lines only, if given: every visit here has a provider,
    so no walk-in links their lines to others) as estimator events (in time order), the map
    from event visit ids to queue entries, and how many consultations each provider
    finished."""
    start, end = local_day_bounds(day, ctx.tz)
    # A booked patient is in the line of the provider their visit is with now (reception
    # may have moved them); the provider's book (their session) stays the appointment's.
    line = func.coalesce(Visit.provider_id, Appointment.provider_id)
    booked = (select(Appointment.id, Appointment.provider_id, line.label("line"),
                     Appointment.start, Appointment.status)
              .outerjoin(Visit, Visit.appointment_id == Appointment.id)
              .where(Appointment.site_id == ctx.settings.site_id,
                     Appointment.start >= start, Appointment.start < end)
              .order_by(Appointment.start, Appointment.id))
    here = (select(Visit.id, Visit.provider_id, Visit.appointment_id, Visit.checked_in_at,
                   Visit.called_at, Visit.finished_at, Visit.status)
            .where(Visit.site_id == ctx.settings.site_id, Visit.service_date == day)
            .order_by(Visit.id))
    if providers is not None:
        booked = booked.where(or_(Appointment.provider_id.in_(providers), line.in_(providers)))
        here = here.where(Visit.provider_id.in_(providers))
    appointments = session.execute(booked).all()
    visits = session.execute(here).all()
    events: list[QueueEvent] = []
    sessions: dict[int, list[datetime]] = {}
    for row in appointments:
        if providers is None or row.provider_id in providers:
            sessions.setdefault(row.provider_id, []).append(row.start)
    for provider_id, starts in sorted(sessions.items()):
        events.append(QueueEvent("session", min(starts), provider_id=str(provider_id),
                                 session_end=max(starts)))
    appointments = [row for row in appointments if providers is None or row.line in providers]
    for row in appointments:
        events.append(QueueEvent("booked", start, visit_id=_key(row.id, None),
                                 provider_id=str(row.line), scheduled_start=row.start))
    timed: list[QueueEvent] = []
    for row in appointments:
        if row.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NOSHOW):
            kind = "cancelled" if row.status == AppointmentStatus.CANCELLED else "no_show"
            timed.append(QueueEvent(kind, row.start, visit_id=_key(row.id, None)))
    ids: dict[str, int] = {}
    finished: dict[int, int] = {}
    for visit in visits:
        key = _key(visit.appointment_id, visit.id)
        ids[key] = visit.id
        provider = str(visit.provider_id)
        if visit.appointment_id is None:
            timed.append(QueueEvent("walk_in", visit.checked_in_at, visit_id=key,
                                    provider_id=provider))
        timed.append(QueueEvent("checked_in", visit.checked_in_at, visit_id=key))
        if visit.called_at is not None:
            timed.append(QueueEvent("called", visit.called_at, visit_id=key,
                                    provider_id=provider))
        if visit.finished_at is not None:
            if visit.status == VisitStatus.LEFT:  # gone, called or not: no consultation
                timed.append(QueueEvent("cancelled", visit.finished_at, visit_id=key))
            else:
                timed.append(QueueEvent("finished", visit.finished_at, visit_id=key))
                finished[visit.provider_id] = finished.get(visit.provider_id, 0) + 1
    timed.sort(key=lambda event: event.at)  # stable: same-time events keep the order above
    return events + timed, ids, finished


@dataclass(frozen=True)
class Habits:
    """How the practice's patients and providers behaved over past days, for the estimator:
    None (or no rates) where the record is too thin and the estimator's defaults stand."""

    show_rate: float | None = None
    arrival_offset_mean: float | None = None   # minutes, arrival minus slot
    arrival_offset_sd: float | None = None
    late_start_minutes: float | None = None    # first call after the first slot, on average
    walk_in_rates: dict[int, list[float]] = field(default_factory=dict)  # per hour of day

    def settings(self) -> dict[str, Any]:
        """The estimator's keyword arguments for the whole lobby."""
        settings: dict[str, Any] = {
            name: value for name, value in (
                ("show_rate", self.show_rate),
                ("arrival_offset_mean", self.arrival_offset_mean),
                ("arrival_offset_sd", self.arrival_offset_sd),
                ("late_start_minutes", self.late_start_minutes)) if value is not None}
        if self.walk_in_rates:
            settings["walk_in_rates"] = {str(provider_id): rates
                                         for provider_id, rates in self.walk_in_rates.items()}
        return settings


ENOUGH_APPOINTMENTS = 30  # past appointments before show rate and punctuality are learned
ENOUGH_SESSIONS = 5       # past provider-days before their usual late start is learned


def practice_habits(session: Session, ctx: SiteContext, day: date) -> Habits:
    """Show rate, punctuality, providers' late starts and walk-ins by hour, from the
    ``HISTORY_DAYS`` days before ``day`` (booked appointments and the visits they became)."""
    start, _ = local_day_bounds(day - timedelta(days=HISTORY_DAYS), ctx.tz)
    end, _ = local_day_bounds(day, ctx.tz)
    site = ctx.settings.site_id
    booked = session.execute(
        select(Appointment.start, Appointment.provider_id, Visit.checked_in_at)
        .outerjoin(Visit, Visit.appointment_id == Appointment.id)
        .where(Appointment.site_id == site, Appointment.start >= start,
               Appointment.start < end,
               Appointment.status != AppointmentStatus.CANCELLED)).all()
    visits = session.execute(
        select(Visit.service_date, Visit.provider_id, Visit.appointment_id,
               Visit.checked_in_at, Visit.called_at)
        .where(Visit.site_id == site, Visit.checked_in_at >= start,
               Visit.checked_in_at < end)).all()

    show_rate = offset_mean = offset_sd = late_start = None
    if len(booked) >= ENOUGH_APPOINTMENTS:
        show_rate = sum(row.checked_in_at is not None for row in booked) / len(booked)
        offsets = [max(-90.0, min(60.0, (row.checked_in_at - row.start).total_seconds() / 60))
                   for row in booked if row.checked_in_at is not None]
        if len(offsets) >= ENOUGH_APPOINTMENTS:
            offset_mean = statistics.fmean(offsets)
            offset_sd = max(3.0, statistics.pstdev(offsets))

    # A provider-day starts with its first slot; its first call shows how late it began.
    first_slot: dict[tuple[int, date], datetime] = {}
    for slot in booked:
        key = (slot.provider_id, ctx.local(slot.start).date())
        first_slot[key] = min(first_slot.get(key, slot.start), slot.start)
    first_call: dict[tuple[int, date], datetime] = {}
    worked: dict[int, set[date]] = {}
    walk_ins: dict[int, list[float]] = {}
    for visit in visits:
        worked.setdefault(visit.provider_id, set()).add(visit.service_date)
        if visit.called_at is not None:
            key = (visit.provider_id, visit.service_date)
            first_call[key] = min(first_call.get(key, visit.called_at), visit.called_at)
        if visit.appointment_id is None:
            hourly = walk_ins.setdefault(visit.provider_id, [0.0] * 24)
            hourly[ctx.local(visit.checked_in_at).hour] += 1
    delays = [max(0.0, (first_call[key] - first_slot[key]).total_seconds() / 60)
              for key in first_call.keys() & first_slot.keys()]
    if len(delays) >= ENOUGH_SESSIONS:
        late_start = statistics.fmean(min(delay, 60.0) for delay in delays)
    rates = {provider_id: [count / len(worked[provider_id]) for count in hourly]
             for provider_id, hourly in walk_ins.items()}
    return Habits(show_rate, offset_mean, offset_sd, late_start, rates)


def provider_history(session: Session, ctx: SiteContext, day: date) -> dict[int, list[float]]:
    """Each provider's consultation times (minutes) over the days before ``day``."""
    start, _ = local_day_bounds(day - timedelta(days=HISTORY_DAYS), ctx.tz)
    end, _ = local_day_bounds(day, ctx.tz)
    rows = session.execute(
        select(Visit.provider_id, Visit.called_at, Visit.started_at, Visit.finished_at)
        .where(Visit.site_id == ctx.settings.site_id, Visit.status == VisitStatus.DONE,
               Visit.finished_at >= start, Visit.finished_at < end)).all()
    history: dict[int, list[float]] = {}
    for provider_id, called, started, finished in rows:
        began = called or started  # from the call, as the estimator counts today's
        if began is None or finished is None:
            continue
        minutes = (finished - began).total_seconds() / 60
        if 1 <= minutes <= 120:
            history.setdefault(provider_id, []).append(minutes)
    return history


# -- the record of estimates shown and waits that followed -----------------------------------

def record_shown(session: Session, visit_id: int, provider_id: int, shown_at: datetime,
                 wait: Wait | None) -> None:
    if wait is None:
        return
    model_median, model_upper = wait.model or (wait.median, wait.upper)
    session.add(WaitEstimateRecord(visit_id=visit_id, provider_id=provider_id,
                                   shown_at=shown_at, median=wait.median, upper=wait.upper,
                                   model_median=model_median, model_upper=model_upper,
                                   known=wait.known))


def actual_minutes(shown_at: datetime, called_at: datetime | None) -> float | None:
    """How long the patient waited after the estimate was shown; None until called."""
    if called_at is None:
        return None
    return max(0.0, (called_at - shown_at).total_seconds() / 60)


class Record(tuple[float, float, float]):
    """(median, upper, actual) minutes of an estimate shown, with its segment's facts: whether
    the patient walked in, and the model's own median (the band it falls in)."""

    walk_in: bool
    predicted: float
    shown_at: datetime

    def __new__(cls, median: float, upper: float, actual: float, walk_in: bool = False,
                predicted: float | None = None, shown_at: datetime | None = None) -> Record:
        record = super().__new__(cls, (median, upper, actual))
        record.walk_in = walk_in
        record.predicted = median if predicted is None else predicted
        record.shown_at = shown_at or datetime.min.replace(tzinfo=UTC)
        return record

    @property
    def segment(self) -> str:
        return segment_of(self.walk_in, self.predicted)


def _records(session: Session, ctx: SiteContext, days: int, *, model: bool,
             since: datetime | None = None) -> list[Record]:
    """(median, upper, actual) of this site's estimates shown with a number, over ``days``
    (or from ``since``): the model's own numbers (``model``, before calibration: what
    calibration learns from) or the numbers the patients saw."""
    since = since or ctx.now() - timedelta(days=days)
    median = WaitEstimateRecord.model_median if model else WaitEstimateRecord.median
    upper = WaitEstimateRecord.model_upper if model else WaitEstimateRecord.upper
    rows = session.execute(
        select(median, upper, WaitEstimateRecord.shown_at, Visit.called_at,
               Visit.appointment_id, WaitEstimateRecord.model_median)
        .join(Visit, Visit.id == WaitEstimateRecord.visit_id)
        .where(Visit.site_id == ctx.settings.site_id, WaitEstimateRecord.shown_at >= since,
               WaitEstimateRecord.known.is_(True), Visit.called_at.is_not(None))
    ).all()
    return [Record(float(m), float(u), actual_minutes(shown, called) or 0.0,
                   appointment is None, float(predicted), shown)
            for m, u, shown, called, appointment, predicted in rows]


ENOUGH_RECORDS = 30  # estimates with an actual wait, before a segment is calibrated
PAST_BOUND_MINUTES = 5  # the promise: at most ...
PAST_BOUND_SHARE = 0.10  # ... this share of patients waits this much longer than the bound


def calibration(records: Sequence[tuple[float, float, float]]) -> Calibration:
    """Bias and spread corrections from (median, upper, actual) records: the median error is
    removed, and the bound ("at most N minutes", as patients read it) widened or narrowed so
    that no more than one patient in ten waits more than 5 minutes past it."""
    if len(records) < ENOUGH_RECORDS:
        return Calibration(records=len(records))
    bias = statistics.median(actual - median for median, _, actual in records)
    bias = max(-10.0, min(10.0, bias))
    # How far past the (corrected) median, less the 5 minutes the promise allows, the actual
    # waits reach, against the model's own distance to its bound: the 90th percentile.
    excess = sorted((actual - PAST_BOUND_MINUTES - (median + bias)) / max(upper - median, 1.0)
                    for median, upper, actual in records)
    spread = excess[math.ceil((1 - PAST_BOUND_SHARE) * (len(excess) - 1))]
    return Calibration(round(bias, 2), round(max(0.5, min(4.0, spread)), 2), len(records))


def segment_calibration(records: Sequence[Record]) -> SegmentCalibration:
    by_kind: dict[str, list[Record]] = {}
    by_segment: dict[str, list[Record]] = {}
    for record in records:
        by_kind.setdefault("walk_in" if record.walk_in else "booked", []).append(record)
        by_segment.setdefault(record.segment, []).append(record)
    return SegmentCalibration(
        calibration(records),
        {kind: calibration(found) for kind, found in by_kind.items()},
        {segment: calibration(found) for segment, found in by_segment.items()})


@dataclass(frozen=True)
class Accuracy:
    records: int
    mean_absolute_error: float
    p90_absolute_error: float
    within_5: float
    over_upper_by_5: float


def accuracy(pairs: Sequence[tuple[float, float, float]]) -> Accuracy | None:
    """Accuracy of (median, upper, actual) records."""
    if not pairs:
        return None
    errors = sorted(abs(actual - median) for median, _, actual in pairs)
    return Accuracy(
        records=len(pairs),
        mean_absolute_error=round(statistics.fmean(errors), 1),
        p90_absolute_error=round(errors[int(0.9 * (len(errors) - 1))], 1),
        within_5=round(sum(e <= 5 for e in errors) / len(errors), 3),
        over_upper_by_5=round(sum(actual > upper + 5 for _, upper, actual in pairs)
                              / len(pairs), 3))


@dataclass(frozen=True)
class SegmentFigures:
    """One segment's accuracy on a day and over the 30 days up to it (the day report)."""

    segment: str                     # segment_of(): "walk_in 0-10", "booked 40+"...
    day: Accuracy | None
    last_30_days: Accuracy | None


def segment_figures(session: Session, ctx: SiteContext, day: date) -> list[SegmentFigures]:
    """The estimates shown with a number on ``day`` and over the 30 days up to its end, by
    segment, each as :func:`accuracy` sums them up (waits whose patient was called)."""
    day_start, day_end = local_day_bounds(day, ctx.tz)
    month = [record for record in _records(session, ctx, CALIBRATION_DAYS, model=False,
                                           since=day_end - timedelta(days=CALIBRATION_DAYS))
             if record.shown_at < day_end]
    names = sorted({record.segment for record in month},
                   key=lambda name: (name.split()[0] != "walk_in",
                                     int(name.split()[1].split("-")[0].rstrip("+"))))
    return [SegmentFigures(
        name,
        accuracy([r for r in month if r.segment == name and r.shown_at >= day_start]),
        accuracy([r for r in month if r.segment == name])) for name in names]


@dataclass(frozen=True)
class CallingEvidence:
    """What the practice's own record says about how it calls patients in: the times a walk-in
    was ahead in arrival order of a booked patient who was due and here while the walk-in
    waited (same provider, same day), and how often that booked patient was called first."""

    contests: int
    booked_first: int

    @property
    def share_booked_first(self) -> float | None:
        return self.booked_first / self.contests if self.contests else None

    @property
    def fits(self) -> str | None:
        """The calling rule the record fits better (None: too few contests to say)."""
        share = self.share_booked_first
        if share is None or self.contests < 20:
            return None
        return "booked_first" if share >= 0.5 else "arrival"


def calling_evidence(session: Session, ctx: SiteContext, days: int) -> CallingEvidence:
    since = ctx.now() - timedelta(days=days)
    rows = session.execute(
        select(Visit.service_date, Visit.provider_id, Visit.appointment_id, Visit.queue_at,
               Visit.checked_in_at, Visit.called_at, Appointment.start)
        .outerjoin(Appointment, Appointment.id == Visit.appointment_id)
        .where(Visit.site_id == ctx.settings.site_id, Visit.checked_in_at >= since,
               Visit.called_at.is_not(None))).all()
    lines: dict[tuple[date, int], list[Any]] = {}
    for row in rows:
        lines.setdefault((row.service_date, row.provider_id), []).append(row)
    contests = booked_first = 0
    for line in lines.values():
        walk_ins = [row for row in line if row.appointment_id is None]
        booked = [row for row in line if row.appointment_id is not None]
        for walk_in in walk_ins:
            for patient in booked:
                # Ahead by arrival (the walk-in's queue time before the booked patient's),
                # yet the booked patient was due and here before the walk-in was called.
                if walk_in.queue_at < patient.queue_at and \
                        patient.start <= walk_in.called_at and \
                        patient.checked_in_at <= walk_in.called_at:
                    contests += 1
                    booked_first += patient.called_at < walk_in.called_at
    return CallingEvidence(contests, booked_first)


def report(session: Session, ctx: SiteContext, days: int) -> dict[str, Any]:
    """Accuracy over the last ``days`` days and today: overall, by length of the actual wait,
    and by segment (walk-in or booked, band of the predicted wait), with the calibration each
    segment gets."""
    pairs = _records(session, ctx, days, model=False)
    today_start, _ = local_day_bounds(ctx.today(), ctx.tz)
    today = _records(session, ctx, days, model=False, since=today_start)
    bands = {"0-10": (0, 10), "10-20": (10, 20), "20-40": (20, 40), "40+": (40, 10_000)}
    segments = sorted({record.segment for record in pairs},
                      key=lambda name: (name.split()[0], int(name.split()[1].split("-")[0]
                                                                .rstrip("+"))))
    calibrated = segment_calibration(_records(session, ctx, CALIBRATION_DAYS, model=True))
    return {
        "days": days,
        "overall": accuracy(pairs),
        "today": accuracy(today),
        "bands": {name: accuracy([p for p in pairs if low <= p[2] < high])
                  for name, (low, high) in bands.items()},
        "segments": {name: {"days": accuracy([p for p in pairs if p.segment == name]),
                            "today": accuracy([p for p in today if p.segment == name]),
                            "calibration": calibrated.by_segment.get(name)}
                     for name in segments},
        "calibration": calibrated.overall,
        "calling_rule": {"setting": ctx.settings.calling_rule,
                         "evidence": calling_evidence(session, ctx, days)},
    }
