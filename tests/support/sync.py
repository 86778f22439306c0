"""A site that syncs with the FHIR server on loopback, and a check-in at the desk."""

from __future__ import annotations

from kiosk.services.checkin import CheckinService
from tests.support.site import make_ctx, make_settings


def sync_ctx(url: str, clock, base_url: str, **overrides):
    settings = {"fhir_base_url": base_url, "fhir_page_size": 7, "fhir_timeout_seconds": 2.0,
                **overrides}
    return make_ctx(make_settings(url, **settings), clock)


def check_in(ctx, external_id: str):
    return CheckinService(ctx).by_staff(external_id, actor="test")
