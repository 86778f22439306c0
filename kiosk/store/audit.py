"""The audit trail: who did what to which visit or appointment, and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kiosk.store.models import AuditEvent
from kiosk.store.site import SiteContext


def audit(session: Session, ctx: SiteContext, actor: str, action: str, *,
          visit_id: int | None = None, appointment_id: int | None = None,
          **detail: Any) -> None:
    """Record who did what. ``detail`` takes codes and ids only, never patient data."""
    session.add(AuditEvent(at=ctx.now(), actor=actor, action=action, visit_id=visit_id,
                           appointment_id=appointment_id, detail=detail))
