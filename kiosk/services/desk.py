"""What reception's desk reads besides the queue: today's appointments not checked in yet, a
patient's ticket card again (with their QR code), and the site's providers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from kiosk.base.clock import local_day_bounds
from kiosk.base.i18n import S_
from kiosk.domain import tokens
from kiosk.services.queue import NotFound
from kiosk.store.models import Appointment, Patient, Provider, Visit
from kiosk.store.site import SiteContext


@dataclass(frozen=True)
class DeskAppointment:
    """An appointment of today not checked in yet, for reception to check in at the desk."""

    external_id: str
    start: datetime
    patient_name: str
    provider: str
    status: str


def appointments_to_check_in(ctx: SiteContext) -> list[DeskAppointment]:
    start, end = local_day_bounds(ctx.today(), ctx.tz)
    with ctx.db.read() as session:
        rows = session.execute(
            select(Appointment.external_id, Appointment.start, Patient.given_name,
                   Patient.family_name, Provider.display_name, Appointment.status)
            .join(Patient, Patient.id == Appointment.patient_id)
            .join(Provider, Provider.id == Appointment.provider_id)
            .outerjoin(Visit, Visit.appointment_id == Appointment.id)
            .where(Appointment.site_id == ctx.settings.site_id, Appointment.start >= start,
                   Appointment.start < end, Visit.id.is_(None))
            .order_by(Appointment.start, Provider.display_name)).all()
    return [DeskAppointment(external_id, at, f"{given} {family}", provider, str(status.value))
            for external_id, at, given, family, provider, status in rows]


@dataclass(frozen=True)
class TicketCard:
    """A patient's ticket shown again at the desk: and their appointment's QR code, so they
    can scan it at the kiosk later to see their place."""

    ticket: str
    provider: str
    qr_token: str | None


def ticket_card(ctx: SiteContext, visit_id: int) -> TicketCard:
    with ctx.db.read() as session:
        row = session.execute(
            select(Visit.ticket_code, Provider.display_name, Appointment.external_id,
                   Appointment.start)
            .join(Provider, Provider.id == Visit.provider_id)
            .outerjoin(Appointment, Appointment.id == Visit.appointment_id)
            .where(Visit.id == visit_id, Visit.site_id == ctx.settings.site_id)).one_or_none()
    if row is None:
        raise NotFound(S_("That visit no longer exists."))
    ticket, provider, external_id, start = row
    token = None if external_id is None else tokens.issue(
        ctx.qr_secret, ctx.settings.site_id, external_id, ctx.local(start).date())
    return TicketCard(ticket, provider, token)


def providers(ctx: SiteContext) -> list[tuple[int, str, str]]:
    """(id, external id, name) of the site's providers, by name."""
    with ctx.db.read() as session:
        return [(pid, external, name) for pid, external, name in session.execute(
            select(Provider.id, Provider.external_id, Provider.display_name)
            .where(Provider.site_id == ctx.settings.site_id).order_by(Provider.display_name))]
