"""What a kiosk tells the practice besides check-ins: help requests and anonymous feedback."""

from __future__ import annotations

import logging

from kiosk.clock import local_day_bounds
from kiosk.models import Feedback
from kiosk.queue import audit
from kiosk.site import SiteContext

log = logging.getLogger(__name__)


def request_help(ctx: SiteContext, kiosk_id: str, step: str) -> None:
    """A patient pressed "I need help"; reception's screens pick this up from the audit log."""
    with ctx.db.write() as session:
        audit(session, ctx, kiosk_id, "help_requested", step=step)
    log.warning("kiosk %s: a patient asked for help (on %s)", kiosk_id, step)


def record_feedback(ctx: SiteContext, kiosk_id: str, score: int, language: str,
                    method: str | None) -> None:
    if not 1 <= score <= 5:
        raise ValueError("feedback scores run from 1 to 5")
    # Only the day is kept: an exact time could be matched to a check-in, and so to a patient.
    day_start, _ = local_day_bounds(ctx.today(), ctx.tz)
    with ctx.db.write() as session:
        session.add(Feedback(at=day_start, score=score, language=language, method=method,
                             kiosk_id=kiosk_id))
