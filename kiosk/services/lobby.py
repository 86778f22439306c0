"""What a kiosk tells the practice besides check-ins: help requests, anonymous feedback and
that it is alive; and what reception sees of it (open help requests, each kiosk's health)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.base.clock import local_day_bounds
from kiosk.store.audit import audit
from kiosk.store.dialect import upsert_for
from kiosk.store.models import Feedback, HelpRequest, KioskHeartbeat, SyncStatus
from kiosk.store.outbox import counts, message_counts
from kiosk.store.site import SiteContext, ensure_site

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20
# A kiosk that has not been heard from for three heartbeats is shown as offline.
OFFLINE_AFTER = timedelta(seconds=3 * HEARTBEAT_SECONDS)


def request_help(ctx: SiteContext, kiosk_id: str, step: str, *,
                 visit_id: int | None = None) -> None:
    """A patient pressed "I need help": reception hears it until someone acknowledges.
    ``visit_id`` when they had checked in: reception's row for them is flagged too."""
    with ctx.db.write() as session:
        ensure_site(session, ctx.settings, ctx.now())
        session.add(HelpRequest(site_id=ctx.settings.site_id, kiosk_id=kiosk_id, step=step,
                                visit_id=visit_id, at=ctx.now()))
        audit(session, ctx, kiosk_id, "help_requested", step=step, visit_id=visit_id)
    log.warning("kiosk %s: a patient asked for help (on %s)", kiosk_id, step)


@dataclass(frozen=True)
class OpenHelp:
    id: int
    kiosk_id: str
    step: str
    at: datetime
    visit_id: int | None


def open_help_requests(ctx: SiteContext) -> list[OpenHelp]:
    with ctx.db.read() as session:
        return [OpenHelp(*row) for row in session.execute(
            select(HelpRequest.id, HelpRequest.kiosk_id, HelpRequest.step, HelpRequest.at,
                   HelpRequest.visit_id)
            .where(HelpRequest.site_id == ctx.settings.site_id,
                   HelpRequest.acknowledged_at.is_(None))
            .order_by(HelpRequest.at))]


def acknowledge_help(ctx: SiteContext, request_id: int, *, actor: str) -> None:
    with ctx.db.write() as session:
        request = session.get(HelpRequest, request_id)
        if request is None or request.site_id != ctx.settings.site_id:
            raise LookupError(f"no help request {request_id}")
        if request.acknowledged_at is None:
            request.acknowledged_at, request.acknowledged_by = ctx.now(), actor
            audit(session, ctx, actor, "help_acknowledged", help_request_id=request_id)


def heartbeat(ctx: SiteContext, kiosk_id: str, started_at: datetime, version: str) -> None:
    """Record that ``kiosk_id`` is alive (every :data:`HEARTBEAT_SECONDS`)."""
    with ctx.db.write() as session:
        ensure_site(session, ctx.settings, ctx.now())
        insert = upsert_for(session)
        values = {"site_id": ctx.settings.site_id, "kiosk_id": kiosk_id,
                  "last_seen": ctx.now(), "started_at": started_at, "version": version}
        session.execute(insert(KioskHeartbeat).values(**values).on_conflict_do_update(
            index_elements=[KioskHeartbeat.site_id, KioskHeartbeat.kiosk_id],
            set_={"last_seen": values["last_seen"], "started_at": started_at,
                  "version": version}))


@dataclass(frozen=True)
class KioskHealth:
    kiosk_id: str
    online: bool
    last_seen: datetime
    version: str


@dataclass(frozen=True)
class SiteHealth:
    kiosks: list[KioskHealth]
    last_sync: datetime | None     # last successful schedule sync; None: never (or no sync)
    last_attempt: datetime | None
    sync_error: str | None
    lease_holder: str | None       # the sync worker active for the site
    outbox: dict[str, int]         # write-backs by state (pending, sent, skipped, parked)
    messages: dict[str, int]       # messages to patients by state (pending, sent, parked...)

    @property
    def outbox_pending(self) -> int:
        return self.outbox["pending"]

    @property
    def outbox_parked(self) -> int:
        return self.outbox["parked"]


def site_health(ctx: SiteContext) -> SiteHealth:
    with ctx.db.read() as session:
        return read_site_health(session, ctx)


def read_site_health(session: Session, ctx: SiteContext) -> SiteHealth:

    now = ctx.now()
    site_id = ctx.settings.site_id
    kiosks = [KioskHealth(kiosk_id, now - last_seen <= OFFLINE_AFTER, last_seen, version)
              for kiosk_id, last_seen, version in session.execute(
                  select(KioskHeartbeat.kiosk_id, KioskHeartbeat.last_seen,
                         KioskHeartbeat.version)
                  .where(KioskHeartbeat.site_id == site_id)
                  .order_by(KioskHeartbeat.kiosk_id))]
    status = session.get(SyncStatus, site_id)
    return SiteHealth(kiosks, status.last_success_at if status else None,
                      status.last_attempt_at if status else None,
                      status.last_error if status else None,
                      status.lease_holder if status else None, counts(session, site_id),
                      message_counts(session, site_id))


def record_feedback(ctx: SiteContext, kiosk_id: str, score: int, language: str,
                    method: str | None) -> None:
    if not 1 <= score <= 5:
        raise ValueError("feedback scores run from 1 to 5")
    # Only the day is kept: an exact time could be matched to a check-in, and so to a patient.
    day_start, _ = local_day_bounds(ctx.today(), ctx.tz)
    with ctx.db.write() as session:
        session.add(Feedback(at=day_start, score=score, language=language, method=method,
                             kiosk_id=kiosk_id))
