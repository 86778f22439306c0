"""Site-wide settings: the ones every kiosk, reception window and board of a site share
(languages offered, the welcome note, the target wait...). An admin sets them at reception;
they live in the database and override the same keys of each machine's config file, so one
change reaches every kiosk without touching a file."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kiosk.base.settings import Settings, SettingsError
from kiosk.store.audit import audit
from kiosk.store.changes import mark_changed
from kiosk.store.models import SiteSetting, StaffRole
from kiosk.store.site import SiteContext, ensure_site

log = logging.getLogger(__name__)

SITE_WIDE = ("languages", "default_language", "welcome_message", "target_wait_minutes",
             "late_after_minutes", "checkin_opens_minutes", "board_names", "calling_rule")


def stored(ctx: SiteContext) -> dict[str, Any]:
    with ctx.db.read() as session:
        return _stored(session, ctx.settings.site_id)


def _stored(session: Session, site_id: str) -> dict[str, Any]:
    return {name: value for name, value in session.execute(
        select(SiteSetting.name, SiteSetting.value).where(SiteSetting.site_id == site_id))}


def version(ctx: SiteContext) -> datetime | None:
    """When the site's settings last changed: a cheap question a kiosk asks now and then."""
    with ctx.db.read() as session:
        return session.scalar(select(func.max(SiteSetting.updated_at)).where(
            SiteSetting.site_id == ctx.settings.site_id))


class Follower:
    """For a window that keeps running while an admin changes things: :meth:`changed` asks
    the cheap question (:func:`version`) and reads the settings only when they changed since
    it last looked (the first time, always). Called off the GUI thread."""

    def __init__(self, ctx: SiteContext) -> None:
        self.ctx = ctx
        self.seen: Any = object()  # nothing seen yet

    def changed(self) -> Settings | None:
        """The site-wide settings laid over this machine's, when they changed; else None."""
        current = version(self.ctx)
        if current == self.seen:
            return None
        fresh = effective(self.ctx.settings, stored(self.ctx))
        self.seen = current
        return fresh


def effective(settings: Settings, values: dict[str, Any]) -> Settings:
    """``settings`` with the site-wide ``values`` laid over them. A stored value this release
    cannot use (written by a newer one, say) is logged and left out, not fatal."""
    usable = {name: value for name, value in values.items() if name in SITE_WIDE}
    try:
        return settings.replace(**usable)
    except SettingsError as whole:
        kept: dict[str, Any] = {}
        for name, value in usable.items():
            try:
                settings.replace(**kept, **{name: value})
            except SettingsError as problem:
                log.error("site-wide setting %s ignored: %s", name, problem)
                continue
            kept[name] = value
        log.error("site-wide settings partly ignored (%s)", whole)
        return settings.replace(**kept)


def apply(ctx: SiteContext) -> Settings:
    """Read the site-wide settings and make them ``ctx``'s; returns the new settings."""
    ctx.settings = effective(ctx.settings, stored(ctx))
    return ctx.settings


def save(ctx: SiteContext, changes: dict[str, Any], *, actor: str, role: StaffRole) -> Settings:
    """An admin changes site-wide settings; each is validated as the config file's would be
    (:class:`SettingsError` names the first bad one) and audited."""

    if role is not StaffRole.ADMIN:
        raise PermissionError("only an admin changes the site-wide settings")
    unknown = sorted(set(changes) - set(SITE_WIDE))
    if unknown:
        raise SettingsError(f"not a site-wide setting: {', '.join(unknown)}")
    now = ctx.now()
    with ctx.db.write() as session:  # read, check and write in one transaction
        merged = {**_stored(session, ctx.settings.site_id), **changes}
        checked = ctx.settings.replace(**merged)
        ensure_site(session, ctx.settings, now)
        for name in changes:
            value = getattr(checked, name)
            value = list(value) if isinstance(value, tuple) else value
            row = session.get(SiteSetting, (ctx.settings.site_id, name))
            if row is None:
                session.add(SiteSetting(site_id=ctx.settings.site_id, name=name, value=value,
                                        updated_at=now, updated_by=actor))
            else:
                row.value, row.updated_at, row.updated_by = value, now, actor
        audit(session, ctx, actor, "site_settings", names=sorted(changes))
        mark_changed(session, ctx.settings.site_id)
    log.info("site-wide settings %s changed by %s", ", ".join(sorted(changes)), actor)
    ctx.settings = checked
    return checked
