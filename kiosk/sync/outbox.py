"""Check-ins written back to the practice system, from a durable outbox.

A check-in adds an :class:`~kiosk.store.models.OutboxItem` in its own transaction
(:func:`kiosk.store.outbox.enqueue`),
so it survives restarts and outages. :func:`drain` sends what is due: the Appointment as last
pulled, with ``status`` = ``arrived``, by PUT (or JSON Patch) with ``If-Match: W/"<version>"``.
On 412 it re-reads: if the appointment is already arrived, checked in or closed upstream it is
left alone (a cancellation flags the visit for reception); otherwise the change is re-applied on
the fresh copy. A write whose answer was lost is retried the same way, so nothing is written
twice. Timeouts, connection errors, 5xx and 429 retry with exponential backoff and jitter
(honouring Retry-After); any other 4xx parks the item with the server's OperationOutcome.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from kiosk.store.models import Appointment, OutboxItem, OutboxState
from kiosk.store.outbox import ARRIVED
from kiosk.store.site import SiteContext
from kiosk.sync.client import (
    BadAnswer,
    FhirClient,
    Refused,
    Response,
    SyncError,
    Unavailable,
)
from kiosk.sync.pull import flag_cancelled_upstream

log = logging.getLogger(__name__)

LEAVE_ALONE = {"arrived", "checked-in", "fulfilled", "cancelled", "noshow", "entered-in-error"}
BACKOFF_FIRST = 2.0    # seconds before the first retry
BACKOFF_LONGEST = 300.0
BATCH = 100
_jitter = random.Random()


@dataclass
class DrainResult:
    sent: int = 0
    skipped: int = 0
    parked: int = 0
    retrying: int = 0
    unavailable: str | None = None  # why the drain stopped early


def backoff(attempts: int, retry_after: float | None) -> float:
    delay = min(BACKOFF_LONGEST, BACKOFF_FIRST * 2 ** max(0, attempts - 1))
    delay *= _jitter.uniform(0.5, 1.5)
    return float(max(delay, retry_after or 0.0))


def drain(ctx: SiteContext, client: FhirClient, *, limit: int | None = None) -> DrainResult:
    """Send every due item (up to ``limit``); stops at the first sign the server is down."""
    result = DrainResult()
    done = 0
    failed: set[int] = set()
    while limit is None or done < limit:
        with ctx.db.read() as session:
            due = session.execute(
                select(OutboxItem.id, OutboxItem.attempts, Appointment.external_id,
                       Appointment.upstream_json, Appointment.upstream_version)
                .join(Appointment, Appointment.id == OutboxItem.appointment_id)
                .where(OutboxItem.site_id == ctx.settings.site_id,
                       OutboxItem.state == OutboxState.PENDING,
                       OutboxItem.next_attempt_at <= ctx.now(),
                       OutboxItem.id.not_in(failed or {0}))
                .order_by(OutboxItem.id).limit(BATCH)).all()
        if not due:
            return result
        for item_id, attempts, external_id, stored, version in due:
            if limit is not None and done >= limit:
                return result
            done += 1
            try:
                outcome, fresh = _deliver(client, ctx, external_id, stored, version)
            except Unavailable as error:
                _retry_later(ctx, item_id, attempts, error, error.retry_after)
                result.retrying += 1
                result.unavailable = str(error)
                log.warning("sync: write-back of outbox item %d postponed: %s", item_id, error)
                return result  # the server is down or busy: the rest waits too
            except BadAnswer as error:
                _retry_later(ctx, item_id, attempts, error, None)
                failed.add(item_id)
                result.retrying += 1
                log.warning("sync: write-back of outbox item %d: %s", item_id, error)
                continue
            except Refused as error:
                _finish(ctx, item_id, OutboxState.PARKED, str(error))
                result.parked += 1
                log.error("sync: write-back of outbox item %d refused, parked for reception "
                          "and IT: %s", item_id, error)
                continue
            state = OutboxState.SENT if outcome == ARRIVED else OutboxState.SKIPPED
            _finish(ctx, item_id, state, None if state == OutboxState.SENT
                    else f"left alone: upstream status {outcome}", fresh=fresh,
                    cancelled=outcome in ("cancelled", "entered-in-error"))
            if state == OutboxState.SENT:
                result.sent += 1
            else:
                result.skipped += 1
    return result


def _deliver(client: FhirClient, ctx: SiteContext, external_id: str, stored: str | None,
             version: str | None) -> tuple[str, Response | None]:
    """Write ``arrived``; returns (the status upstream now has, the server's answer to the
    write: the resource as written and its new version)."""
    settings = ctx.settings
    path = f"Appointment/{external_id}"
    resource: dict[str, Any] | None = json.loads(stored) if stored else None
    if resource is None or version is None:
        reply = client.get(path)
        resource, version = reply.resource, reply.version
    for _ in range(5):
        current = str(resource.get("status"))
        if current in LEAVE_ALONE:
            if current == ARRIVED and settings.fhir_create_encounter:
                # Perhaps our own write, from a worker that died before creating the
                # Encounter: create it now (conditional on none existing, so never twice).
                _create_encounter(client, external_id)
            return current, None
        try:
            if settings.fhir_write_mode == "patch":
                reply = client.request(
                    "PATCH", path, body=[{"op": "test", "path": "/status", "value": current},
                                         {"op": "replace", "path": "/status", "value": ARRIVED}],
                    headers={"If-Match": f'W/"{version}"'},
                    content_type="application/json-patch+json")
            else:
                reply = client.request("PUT", path, body={**resource, "status": ARRIVED},
                                       headers={"If-Match": f'W/"{version}"'})
        except Refused as error:
            if error.status not in (409, 412):
                raise
            fresh = client.get(path)  # changed upstream since our copy: look again
            resource, version = fresh.resource, fresh.version
            continue
        if settings.fhir_create_encounter:
            _create_encounter(client, external_id)
        return ARRIVED, reply
    raise Unavailable(f"Appointment kept changing upstream while writing {ARRIVED}")


def _create_encounter(client: FhirClient, external_id: str) -> None:
    reference = f"Appointment/{external_id}"
    client.request("POST", "Encounter", body={
        "resourceType": "Encounter", "status": "arrived",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                  "code": "AMB", "display": "ambulatory"},
        "appointment": [{"reference": reference}]},
        headers={"If-None-Exist": f"appointment={reference}"})


def _retry_later(ctx: SiteContext, item_id: int, attempts: int, error: SyncError,
                 retry_after: float | None) -> None:
    with ctx.db.write() as session:
        item = session.get(OutboxItem, item_id)
        if item is None:
            return
        item.attempts = attempts + 1
        item.next_attempt_at = ctx.now() + timedelta(seconds=backoff(item.attempts, retry_after))
        item.last_error = str(error)[:1000]


def _finish(ctx: SiteContext, item_id: int, state: OutboxState, error: str | None, *,
            fresh: Response | None = None, cancelled: bool = False) -> None:
    with ctx.db.write() as session:
        item = session.get(OutboxItem, item_id)
        if item is None:
            return
        now: datetime = ctx.now()
        item.state, item.done_at, item.attempts = state, now, item.attempts + 1
        item.last_error = error[:1000] if error else None
        appointment = session.get(Appointment, item.appointment_id)
        if appointment is not None and fresh is not None:
            appointment.upstream_json = json.dumps(fresh.resource, separators=(",", ":"))
            # From the ETag or meta.versionId, as the client read it.
            appointment.upstream_version = fresh.version or appointment.upstream_version
        if cancelled:
            flag_cancelled_upstream(session, ctx, Appointment.id == item.appointment_id)
