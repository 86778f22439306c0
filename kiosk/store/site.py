"""The site row: created on first start, holding the secret that signs QR codes."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.base.clock import Clock
from kiosk.base.metrics import Metrics
from kiosk.base.settings import Settings
from kiosk.domain.tokens import appointment_tag
from kiosk.store.db import Database
from kiosk.store.models import Appointment, Site

log = logging.getLogger(__name__)


def ensure_site(session: Session, settings: Settings, now: datetime) -> Site:
    site = session.get(Site, settings.site_id)
    if site is None:
        site = Site(id=settings.site_id, name=settings.site_name,
                    qr_secret=secrets.token_bytes(32), created_at=now)
        session.add(site)
        session.flush()
    return site


def rekey_appointments(session: Session, site: Site) -> None:

    rows = session.execute(select(Appointment.id, Appointment.external_id).where(
        Appointment.site_id == site.id)).all()
    session.execute(update(Appointment), [
        {"id": row_id, "token_tag": appointment_tag(site.qr_secret, site.id, external_id)}
        for row_id, external_id in rows])


class SiteNotReady(RuntimeError):
    """A service asked for the site's secret before start-up prepared the site."""


class SiteContext:
    """What every service needs: settings, database, clock, and the site's secret and zone.

    Building one writes nothing. :meth:`prepare` (or :meth:`open`, which builds and prepares)
    makes start-up's writes explicitly, before the first patient: the site row, its QR secret
    and, when the settings name one, the re-keying of every appointment's QR tag. A scan then
    only reads."""

    def __init__(self, settings: Settings, db: Database, clock: Clock,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.metrics = metrics or Metrics()
        self._qr_secret: bytes | None = None

    @classmethod
    def open(cls, settings: Settings, db: Database, clock: Clock,
             metrics: Metrics | None = None) -> SiteContext:
        """A context for a process that serves the site (the schema is migrated already)."""
        ctx = cls(settings, db, clock, metrics)
        ctx.prepare()
        return ctx

    def prepare(self) -> None:
        """Create the site row on first start and load its secret; a configured ``qr_secret``
        replaces the stored one (and re-keys every appointment's QR tag), so all kiosks and
        ``qr make`` agree. Safe to repeat: a site that is ready is only read, so that many
        processes starting at once (a burst of CLI check-ins) do not queue for the write
        lock before doing their work."""
        configured = self.settings.qr_secret.encode()
        with self.db.read() as session:
            site = session.get(Site, self.settings.site_id)
            if site is not None and (not configured or site.qr_secret == configured):
                self._qr_secret = site.qr_secret
                return
        with self.db.write() as session:
            site = ensure_site(session, self.settings, self.clock.now())
            configured = self.settings.qr_secret.encode()
            if configured and site.qr_secret != configured:
                site.qr_secret = configured
                rekey_appointments(session, site)
                log.warning("site %s: QR secret replaced from the settings; codes issued "
                            "before no longer check in", site.id)
            self._qr_secret = site.qr_secret

    @property
    def qr_secret(self) -> bytes:
        """The site's secret, as :meth:`prepare` loaded it."""
        if self._qr_secret is None:
            raise SiteNotReady("the site was not prepared: start-up calls SiteContext.prepare()")
        return self._qr_secret

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)
