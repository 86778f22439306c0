"""The site row: created on first start, holding the secret that signs QR codes."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from functools import cached_property
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kiosk.clock import Clock
from kiosk.db import Database
from kiosk.models import Site
from kiosk.monitor import Metrics
from kiosk.settings import Settings

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
    from kiosk.models import Appointment
    from kiosk.tokens import appointment_tag

    rows = session.execute(select(Appointment.id, Appointment.external_id).where(
        Appointment.site_id == site.id)).all()
    session.execute(update(Appointment), [
        {"id": row_id, "token_tag": appointment_tag(site.qr_secret, site.id, external_id)}
        for row_id, external_id in rows])


class SiteContext:
    """What every service needs: settings, database, clock, and the site's secret and zone."""

    def __init__(self, settings: Settings, db: Database, clock: Clock,
                 metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.db = db
        self.clock = clock
        self.tz = ZoneInfo(settings.timezone)
        self.metrics = metrics or Metrics()

    @cached_property
    def qr_secret(self) -> bytes:
        """The site's secret, from the database; a configured ``qr_secret`` replaces it there
        (and re-keys every appointment's QR tag), so all kiosks and ``qr make`` agree."""
        with self.db.write() as session:
            site = ensure_site(session, self.settings, self.clock.now())
            configured = self.settings.qr_secret.encode()
            if configured and site.qr_secret != configured:
                site.qr_secret = configured
                rekey_appointments(session, site)
                log.warning("site %s: QR secret replaced from the settings; codes issued "
                            "before no longer check in", site.id)
            return site.qr_secret

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.clock.now().astimezone(self.tz).date()

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.tz)
