"""Time, injected: services ask a Clock, never the system directly, so tests and drills fix it."""

from __future__ import annotations

import time as monotonic_time
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self._at = require_aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = require_aware(at)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at


class RunningClock:
    """A clock set to a given instant that then runs on in real time: ``--now`` for drills, so
    that a kiosk started at 08:00 on a drill day still warns an idle patient and goes back to
    the welcome screen (a clock standing still never would)."""

    def __init__(self, start: datetime,
                 monotonic: Callable[[], float] = monotonic_time.monotonic) -> None:
        self._start = require_aware(start)
        self._monotonic = monotonic
        self._began = monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._monotonic() - self._began)


def require_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return value


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """Read an ISO 8601 instant; one without an offset is taken in the practice's time zone."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=tz)


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which a local calendar day starts and the next one starts."""
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)
