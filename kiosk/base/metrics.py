"""This process's own counters (check-in outcomes, sync passes, log records, unexpected
errors) and the screen's heartbeat, in a Prometheus registry of their own.

Figures about the site are read from the database when scraped (:mod:`kiosk.ops.monitor`);
these count only what this process did, so they live with the foundations that every layer may
use, not with the HTTP server that serves them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, ProcessCollector, disable_created_metrics

from kiosk.base.logs import UNEXPECTED

PREFIX = "lobby_kiosk_"

disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created beside each counter


class Metrics:
    """This process's counters, in a registry of its own (tests get a fresh one per site)."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.registry = CollectorRegistry()
        self.monotonic = monotonic
        self.checkin_attempts = Counter(
            PREFIX + "checkin_attempts", "Check-in attempts at this kiosk, by method, "
            "outcome (checked_in, not_found, invalid_code, locked...) and reason (late, "
            "other_day...; empty: none).", ["method", "outcome", "reason"],
            registry=self.registry)
        self.sync_passes = Counter(
            PREFIX + "sync_passes", "Schedule sync passes run by this process, by result.",
            ["result"], registry=self.registry)
        self.log_records = Counter(
            PREFIX + "log_records", "Log records of WARNING and above written by this "
            "process, by level.", ["level"], registry=self.registry)
        self.unexpected_errors = Counter(
            PREFIX + "unexpected_errors", "Exceptions nothing handled; the kiosk went back to "
            "the welcome screen.", registry=self.registry)
        ProcessCollector(registry=self.registry)  # memory, CPU, start time, open files
        # Every series there from the start: rate() and increase() then see the first one.
        for result in ("ok", "failed"):
            self.sync_passes.labels(result)
        for level in ("WARNING", "ERROR", "CRITICAL"):
            self.log_records.labels(level)
        for method, outcome in (("qr", "checked_in"), ("qr", "invalid_code"),
                                ("name_dob", "checked_in"), ("name_dob", "not_found")):
            self.checkin_attempts.labels(method, outcome, "")
        self._screen_beat: float | None = None

    def screen_alive(self) -> None:
        """Called from the screen's event loop every few seconds."""
        self._screen_beat = self.monotonic()

    def screen_silence(self) -> float | None:
        """Seconds since the screen last beat; None when this process has no screen."""
        return None if self._screen_beat is None else self.monotonic() - self._screen_beat


class CountingHandler(logging.Handler):
    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.WARNING)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        self.metrics.log_records.labels(level=record.levelname).inc()
        if record.name == UNEXPECTED:
            self.metrics.unexpected_errors.inc()
