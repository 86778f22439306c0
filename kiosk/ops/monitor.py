"""Monitoring: ``/healthz`` and ``/metrics`` (Prometheus text format) on a local port.

Figures about the site (today's check-ins and waits, the outbox, the schedule sync, kiosks
online) are read from the database at each scrape, so every process tells the same truth and
nothing resets on a restart. Counters of this process (check-in outcomes, sync passes, log
warnings and errors) live in :class:`kiosk.base.metrics.Metrics`, one per
:class:`~kiosk.store.site.SiteContext`.
Nothing served names a patient: counts, ages and states only.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from sqlalchemy import func, select

from kiosk import __version__
from kiosk.base.metrics import PREFIX, CountingHandler
from kiosk.services.lobby import read_site_health
from kiosk.store.db import DatabaseUnavailable
from kiosk.store.models import (
    CheckinMethod,
    HelpRequest,
    OutboxItem,
    OutboxState,
    Visit,
    VisitStatus,
)
from kiosk.store.site import SiteContext

log = logging.getLogger(__name__)

# The screen's event loop beats every few seconds; silence this long means it hangs.
SCREEN_STALE_SECONDS = 30.0
# An item waiting this long to be written back is worth a look (the server may be down).
OUTBOX_STALE = timedelta(minutes=15)
# A refused write-back degrades health for a day; the gauge and the log keep it after that.
PARKED_RECENT = timedelta(hours=24)

# -- figures from the database -----------------------------------------------------------------

@dataclass
class SiteFigures:
    """What the site looks like now, as read from the database."""

    checkins_today: dict[str, int] = field(default_factory=dict)     # by method
    visits_today: dict[str, int] = field(default_factory=dict)       # by status
    waiting_past_target: int = 0
    longest_wait: float = 0.0                                        # seconds
    help_open: int = 0
    outbox: dict[str, int] = field(default_factory=dict)             # by state
    outbox_oldest_pending: float = 0.0                               # seconds
    outbox_parked_recently: int = 0                                  # within PARKED_RECENT
    messages: dict[str, int] = field(default_factory=dict)           # to patients, by state
    sync_configured: bool = False
    sync_last_success: datetime | None = None
    sync_lag: float | None = None                                    # seconds; None: never
    sync_failing: bool = False
    kiosks: dict[str, int] = field(default_factory=dict)             # online / offline


def read_figures(ctx: SiteContext, *, health_only: bool = False) -> SiteFigures:
    """Raises :class:`DatabaseUnavailable` when the database does not answer. ``health_only``:
    the outbox and the sync alone, what :func:`health` judges by."""

    site_id, today, now = ctx.settings.site_id, ctx.today(), ctx.now()
    figures = SiteFigures(sync_configured=bool(ctx.settings.fhir_base_url))
    target = timedelta(minutes=ctx.settings.target_wait_minutes)
    with ctx.db.read() as session:
        site = read_site_health(session, ctx)
        figures.outbox = site.outbox
        figures.messages = site.messages
        figures.sync_last_success = site.last_sync
        figures.sync_lag = (now - site.last_sync).total_seconds() if site.last_sync else None
        figures.sync_failing = site.sync_error is not None
        online = sum(kiosk.online for kiosk in site.kiosks)
        figures.kiosks = {"online": online, "offline": len(site.kiosks) - online}
        oldest = session.scalar(select(func.min(OutboxItem.created_at)).where(
            OutboxItem.site_id == site_id, OutboxItem.state == OutboxState.PENDING))
        figures.outbox_oldest_pending = (now - oldest).total_seconds() if oldest else 0.0
        figures.outbox_parked_recently = session.scalar(select(func.count()).where(
            OutboxItem.site_id == site_id, OutboxItem.state == OutboxState.PARKED,
            OutboxItem.done_at >= now - PARKED_RECENT)) or 0
        if health_only:
            return figures
        of_today = (Visit.site_id == site_id, Visit.service_date == today)
        by_method = dict(session.execute(select(Visit.method, func.count()).where(
            *of_today).group_by(Visit.method)).all())
        figures.checkins_today = {method.value: by_method.get(method, 0)
                                  for method in CheckinMethod}
        by_status = dict(session.execute(select(Visit.status, func.count()).where(
            *of_today).group_by(Visit.status)).all())
        figures.visits_today = {status.value: by_status.get(status, 0) for status in VisitStatus}
        waiting_since = session.scalars(select(Visit.checked_in_at).where(
            *of_today, Visit.status == VisitStatus.WAITING)).all()
        waits = [now - since for since in waiting_since]
        figures.waiting_past_target = sum(wait > target for wait in waits)
        figures.longest_wait = max((wait.total_seconds() for wait in waits), default=0.0)
        figures.help_open = session.scalar(select(func.count()).where(
            HelpRequest.site_id == site_id, HelpRequest.acknowledged_at.is_(None))) or 0
    return figures


class _SiteCollector:
    """Turns :func:`read_figures` into Prometheus gauges at each scrape."""

    def __init__(self, ctx: SiteContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:

        info = GaugeMetricFamily(PREFIX + "build_info", "Version and identity of this "
                                 "process's kiosk.", labels=["version", "site", "kiosk"])
        info.add_metric([__version__, self.ctx.settings.site_id, self.ctx.settings.kiosk_id], 1)
        yield info
        silence = self.ctx.metrics.screen_silence()
        if silence is not None:
            yield GaugeMetricFamily(PREFIX + "screen_silence_seconds", "Seconds since the "
                                    "screen's event loop last answered.", value=silence)
        figures = _figures_or_none(self.ctx)
        if figures is None:
            yield GaugeMetricFamily(PREFIX + "database_up", "1 when the database answered "
                                    "this scrape.", value=0)
            return
        yield GaugeMetricFamily(PREFIX + "database_up", "1 when the database answered this "
                                "scrape.", value=1)
        yield _labelled("checkins_today", "Patients checked in today at the site, by method "
                        "(qr, name_dob, staff, text).", "method", figures.checkins_today)
        yield _labelled("visits_today", "Today's visits at the site, by status.", "status",
                        figures.visits_today)
        yield GaugeMetricFamily(PREFIX + "waiting_past_target", "Patients waiting longer "
                                "than the target wait.", value=figures.waiting_past_target)
        yield GaugeMetricFamily(PREFIX + "longest_wait_seconds", "The longest current wait "
                                "since check-in.", value=figures.longest_wait)
        yield GaugeMetricFamily(PREFIX + "help_requests_open", "Help requests reception "
                                "has not answered.", value=figures.help_open)
        yield _labelled("outbox_items", "Check-ins to write back to the practice system, by "
                        "state (pending, sent, skipped, parked: refused, needs a person).",
                        "state", figures.outbox)
        yield GaugeMetricFamily(PREFIX + "outbox_oldest_pending_seconds", "Age of the oldest "
                                "check-in not yet written back (0: none).",
                                value=figures.outbox_oldest_pending)
        yield _labelled("patient_messages", "Messages to patients (confirmations, reminders), "
                        "by state (pending, sending, sent, parked: refused or interrupted, "
                        "needs a person; withdrawn: no longer wanted).", "state",
                        figures.messages)
        yield _labelled("kiosks", "Kiosks of the site by heartbeat (online, offline).",
                        "state", figures.kiosks)
        yield GaugeMetricFamily(PREFIX + "sync_configured", "1 when a FHIR server is "
                                "configured.", value=int(figures.sync_configured))
        if figures.sync_configured:
            success = figures.sync_last_success
            yield GaugeMetricFamily(PREFIX + "sync_failing", "1 when the last sync pass "
                                    "failed.", value=int(figures.sync_failing))
            yield GaugeMetricFamily(PREFIX + "sync_last_success_timestamp_seconds",
                                    "When the schedule last synced completely (0: never).",
                                    value=success.timestamp() if success else 0)
            if figures.sync_lag is not None:
                yield GaugeMetricFamily(PREFIX + "sync_lag_seconds", "Seconds since the "
                                        "schedule last synced completely.",
                                        value=figures.sync_lag)


def _figures_or_none(ctx: SiteContext, *, health_only: bool = False) -> SiteFigures | None:
    """The figures, or None when they cannot be read (the database layer logs an outage once;
    anything else is logged here, by type)."""
    try:
        return read_figures(ctx, health_only=health_only)
    except DatabaseUnavailable:
        return None
    except Exception as error:  # a corrupt file, a missing table: the answer says "failing"
        log.error("monitor: reading the site's figures failed: %s", type(error).__name__)
        return None


def _labelled(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(PREFIX + name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


# -- health ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Health:
    status: str                        # "ok", "degraded" (works, look soon) or "failing"
    checks: dict[str, dict[str, Any]]

    @property
    def http_status(self) -> int:
        return HTTPStatus.SERVICE_UNAVAILABLE if self.status == "failing" else HTTPStatus.OK


def health(ctx: SiteContext) -> Health:
    """Failing: the database does not answer, or the screen hangs. Degraded: the kiosk
    works but the practice system is out of step (sync lagging, check-ins piling up, or one
    refused within the last day)."""
    checks: dict[str, dict[str, Any]] = {}
    silence = ctx.metrics.screen_silence()
    if silence is not None:
        checks["screen"] = {"status": "ok" if silence <= SCREEN_STALE_SECONDS else "fail",
                            "silent_seconds": round(silence, 1)}
    figures = _figures_or_none(ctx, health_only=True)
    if figures is None:
        checks["database"] = {"status": "fail"}
        return Health("failing", checks)
    checks["database"] = {"status": "ok"}
    pending, parked = figures.outbox.get("pending", 0), figures.outbox.get("parked", 0)
    stale = figures.outbox_oldest_pending > OUTBOX_STALE.total_seconds()
    refused = figures.outbox_parked_recently
    checks["outbox"] = {"status": "warn" if refused or stale else "ok", "pending": pending,
                        "parked": parked, "parked_last_day": refused,
                        "oldest_pending_seconds": round(figures.outbox_oldest_pending)}
    if figures.sync_configured:
        checks["sync"] = _sync_check(ctx, figures)
    states = {check["status"] for check in checks.values()}
    status = "failing" if "fail" in states else "degraded" if "warn" in states else "ok"
    return Health(status, checks)


def _sync_check(ctx: SiteContext, figures: SiteFigures) -> dict[str, Any]:
    # Three missed passes (at least five minutes) before it counts as lagging.
    allowed = max(3 * ctx.settings.fhir_poll_seconds, 300)
    lag = figures.sync_lag
    lagging = lag is None or lag > allowed
    return {"status": "warn" if lagging or figures.sync_failing else "ok",
            "lag_seconds": None if lag is None else round(lag), "last_pass_failed":
            figures.sync_failing}


# -- the HTTP endpoint ------------------------------------------------------------------------

# Anyone who can reach the port is a client: each gets REQUEST_TIMEOUT_SECONDS to send its
# request and take the answer; at most PER_ADDRESS connections of one address are answered at
# once (a scraper and a health check need one or two each), MAX_CLIENTS in all; more are
# closed at once, not queued on threads. So one address holding silent connections cannot
# keep the monitoring server (another address) from its answer.
REQUEST_TIMEOUT_SECONDS = 3.0
PER_ADDRESS, MAX_CLIENTS = 4, 32
# What a client does to its own connection (hangs up, stalls): not the kiosk's error.
CLIENT_FAULTS = (ConnectionError, TimeoutError)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # On Windows SO_REUSEADDR lets a second process take a port in use: refuse instead.
    allow_reuse_address = sys.platform != "win32"
    # Connections waiting to be accepted (then answered or turned away): a burst of them is
    # not left to the client's SYN retries.
    request_queue_size = 128

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.guard = threading.Lock()
        self.open_by_address: dict[str, int] = {}
        self.turned_away = 0

    def _admit(self, address: str) -> bool:
        with self.guard:
            held = self.open_by_address.get(address, 0)
            if held >= PER_ADDRESS or sum(self.open_by_address.values()) >= MAX_CLIENTS:
                self.turned_away += 1
                return False
            self.open_by_address[address] = held + 1
            return True

    def _release(self, address: str) -> None:
        with self.guard:
            left = self.open_by_address.get(address, 1) - 1
            if left > 0:
                self.open_by_address[address] = left
            else:
                self.open_by_address.pop(address, None)

    def process_request(self, request: Any, client_address: Any) -> None:
        address = str(client_address[0]) if client_address else ""
        if not self._admit(address):
            if self.turned_away in (1, 10, 100) or self.turned_away % 1000 == 0:
                log.warning("monitor: %d connections turned away (more than %d at once from "
                            "one address, or %d in all)", self.turned_away, PER_ADDRESS,
                            MAX_CLIENTS)
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release(address)
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release(str(client_address[0]) if client_address else "")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Not the standard library's traceback on stderr: its message could quote anything.
        kind = sys.exc_info()[0]
        if kind is not None and issubclass(kind, CLIENT_FAULTS):
            log.debug("monitor: a client went away or stalled (%s)", kind.__name__)
            return
        log.error("monitor: unexpected %s while answering", kind.__name__ if kind else "error",
                  exc_info=True)


class MonitorServer:
    """``/healthz`` (JSON; 200, or 503 when failing) and ``/metrics``, in daemon threads."""

    def __init__(self, ctx: SiteContext, host: str, port: int) -> None:
        self.ctx = ctx
        self.httpd = _Server((host, port), _handler_for(ctx))
        ctx.metrics.registry.register(_SiteCollector(ctx))  # after the bind: once per ctx
        self.counting = CountingHandler(ctx.metrics)
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="monitor",
                                       daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> MonitorServer:
        logging.getLogger().addHandler(self.counting)
        self.thread.start()
        return self

    def stop(self) -> None:
        logging.getLogger().removeHandler(self.counting)
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler_for(ctx: SiteContext) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "lobby-kiosk"
        timeout = REQUEST_TIMEOUT_SECONDS  # each read and write on the client's socket

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                state = health(ctx)
                body = json.dumps({"status": state.status, "kiosk": ctx.settings.kiosk_id,
                                   "checks": state.checks}).encode()
                self._send(state.http_status, "application/json", body)
            elif path == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._send(HTTPStatus.OK, content_type, encoder(ctx.metrics.registry))
            else:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"/healthz or /metrics\n")

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Not the request line: a client chooses it (control characters, anything).
            path = getattr(self, "path", "").split("?", 1)[0]
            known = path if path in ("/healthz", "/metrics") else "another path"
            log.debug("monitor: %s answered %s", known,
                      args[1] if len(args) > 1 and str(args[1]).isdecimal() else "-")

    return Handler


def serve(ctx: SiteContext, *, port_offset: int = 0) -> MonitorServer | None:
    """Start the endpoint when ``monitor_address`` is set. The kiosk runs without it rather
    than not at all: a port in use is logged, not raised."""
    address = ctx.settings.monitor_address
    if not address:
        return None
    host, _, port_text = address.rpartition(":")
    port = int(port_text) + port_offset if int(port_text) else 0
    try:
        server = MonitorServer(ctx, host, port).start()
    except OSError as problem:
        log.error("monitor: cannot listen on %s:%d (%s); running without /healthz and "
                  "/metrics", host, port, problem.strerror)
        return None
    log.info("monitor: /healthz and /metrics on http://%s:%d", host, server.port)
    return server
