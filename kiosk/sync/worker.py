"""One sync pass (pull, then write-backs), or a loop of them, under a per-site lease so that
exactly one sync worker is active per site however many kiosks and services run."""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kiosk.base import holders
from kiosk.store.db import DatabaseUnavailable
from kiosk.store.models import SyncStatus
from kiosk.store.site import SiteContext
from kiosk.sync.client import FhirClient, SyncError, Unavailable
from kiosk.sync.outbox import DrainResult, drain
from kiosk.sync.pull import PullResult, pull

log = logging.getLogger(__name__)


class LeaseHeld(SyncError):
    """Another sync worker is active for this site."""


@dataclass
class PassResult:
    pulled: PullResult | None = None
    pushed: DrainResult = field(default_factory=DrainResult)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.pushed.unavailable is None


def holder_name(ctx: SiteContext) -> str:
    return holders.holder_name(ctx.settings.kiosk_id)


class SyncWorker:
    def __init__(self, ctx: SiteContext, client: FhirClient | None = None,
                 holder: str | None = None) -> None:
        self.ctx = ctx
        self.client = client or FhirClient(ctx.settings)
        self.holder = holder or holder_name(ctx)

    @property
    def lease_seconds(self) -> float:
        return max(30.0, 3 * self.ctx.settings.fhir_poll_seconds)

    def take_lease(self) -> None:
        """Take or renew the site's lease; raises :class:`LeaseHeld` if another has it."""
        ctx, site_id = self.ctx, self.ctx.settings.site_id
        now = ctx.now()
        try:
            with ctx.db.write() as session:
                status = session.scalar(select(SyncStatus).where(
                    SyncStatus.site_id == site_id).with_for_update())
                if status is None:
                    status = SyncStatus(site_id=site_id)
                    session.add(status)
                elif (status.lease_holder not in (None, self.holder)
                      and status.lease_until is not None and status.lease_until > now):
                    if holders.holder_gone(status.lease_holder):
                        log.info("sync: taking over the lease of %s, which no longer runs",
                                 status.lease_holder)
                    else:
                        raise LeaseHeld(
                            f"sync worker {status.lease_holder} is active for this site "
                            f"(lease until {ctx.local(status.lease_until):%H:%M:%S})")
                status.lease_holder = self.holder
                status.lease_until = now + timedelta(seconds=self.lease_seconds)
        except IntegrityError:  # another worker created the row at the same moment
            raise LeaseHeld("another sync worker is starting for this site") from None

    def release_lease(self) -> None:
        with self.ctx.db.write() as session:
            status = session.get(SyncStatus, self.ctx.settings.site_id)
            if status is not None and status.lease_holder == self.holder:
                status.lease_holder, status.lease_until = None, None

    def sync_once(self, *, full: bool = False) -> PassResult:
        """One pass for a one-shot run (`kiosk sync`, cron): the lease is given back at the
        end, whatever happened, so that the next run need not wait it out."""
        try:
            return self.run_once(full=full)
        finally:
            with contextlib.suppress(DatabaseUnavailable):
                self.release_lease()

    def run_once(self, *, full: bool = False) -> PassResult:
        """Pull the schedule and send due write-backs; records the outcome for reception.
        The lease stays taken (a watching worker keeps it between passes)."""
        self.take_lease()
        result = PassResult()
        server_down = False
        try:
            result.pulled = pull(self.ctx, self.client, full=full)
        except SyncError as error:
            result.error = f"pull: {error}"
            server_down = isinstance(error, Unavailable)
            log.warning("sync: schedule pull failed, the stored schedule is unchanged: %s",
                        error)
        if not server_down:  # else writing back would only wait out another timeout
            try:
                result.pushed = drain(self.ctx, self.client)
            except SyncError as error:
                result.error = result.error or f"write-back: {error}"
        self._record(result)
        return result

    def _record(self, result: PassResult) -> None:
        self.ctx.metrics.sync_passes.labels("ok" if result.ok else "failed").inc()
        now = self.ctx.now()
        with self.ctx.db.write() as session:
            status = session.get(SyncStatus, self.ctx.settings.site_id)
            assert status is not None  # take_lease made it at the start of the pass
            status.last_attempt_at = now
            if result.ok:
                status.last_success_at, status.last_error = now, None
            else:
                status.last_error = (result.error or result.pushed.unavailable or "")[:1000]

    def watch(self, stop: threading.Event) -> None:
        """Sync every ``fhir_poll_seconds`` until ``stop`` is set; never raises."""
        interval = self.ctx.settings.fhir_poll_seconds
        while not stop.is_set():
            try:
                if self.run_once().ok:
                    log.debug("sync: pass done")
            except LeaseHeld as error:
                log.info("sync: standing by: %s", error)
            except (SyncError, DatabaseUnavailable) as error:
                log.warning("sync: pass failed: %s", error)
            except Exception:  # the loop must outlive any one bad pass
                log.exception("sync: unexpected error in a sync pass")
            stop.wait(interval)
        with contextlib.suppress(DatabaseUnavailable):
            self.release_lease()
