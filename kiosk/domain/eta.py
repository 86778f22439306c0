"""Honest waits: how long until each checked-in patient is called, as a median and a bound.

The estimator replays the practice's day forward from now, many times over (Monte Carlo,
vectorised with numpy), using what the practice knows:

* each consultation in progress and how long it has already lasted: its remaining time is drawn
  from the provider's duration distribution *conditional on the time already spent*;
* each provider's own pace: a lognormal fitted to their history, updated with today's finished
  consultations (today's weigh more, so a slow day shows quickly);
* booked patients not yet arrived ahead in the book: each may still come, with the chance
  that follows from the show rate and the punctuality given that they are not here yet; on
  time they join the line at their slot, late at their arrival;
* providers whose session has not started: they start at the session start plus the
  practice's usual unannounced delay (also when the start has passed without a call);
* walk-ins here, for a provider or for whoever is free first (decided in each run), and
  walk-ins still to come before a waiting patient's place, at the practice's usual rate for
  that hour.

All working providers are replayed together, so a walk-in for anyone goes to whoever is free
first in each run. Each provider calls the patients waiting for them in queue order: the
appointment time for those who came on time, the arrival time for late patients and walk-ins;
an idle provider calls a patient who is here up to ``early_call_minutes`` before their place.
The wait of a patient in a run is when they are called; the median over runs is the estimate,
the 75th percentile the bound ("about three patients in four stay under").

Contract (others drive it; keep the names): :class:`QueueEvent`, :class:`WaitEstimate`,
:class:`WaitEstimator` with ``observe(event)`` and ``estimate(now)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


WALK_IN_STEP_MINUTES = 5  # resolution of walk-ins still to come

KINDS = ("session", "booked", "walk_in", "checked_in", "called", "finished", "no_show",
         "cancelled")


@dataclass(frozen=True)
class QueueEvent:
    kind: str                 # one of KINDS
    at: datetime              # when it happened; for "session": when the session starts
    visit_id: str | None = None
    provider_id: str | None = None        # "walk_in": None means any provider may take it;
                                          # "called": the provider who called
    scheduled_start: datetime | None = None   # "booked": appointment start
    session_end: datetime | None = None       # "session": when the provider's session ends


@dataclass(frozen=True)
class WaitEstimate:
    median_minutes: float     # minutes from `now` until this visit is called
    upper_minutes: float      # a bound about three patients in four stay under


@dataclass
class _Visit:
    visit_id: str
    provider_id: str | None
    scheduled: datetime | None = None
    checked_in: datetime | None = None
    called: datetime | None = None
    finished: datetime | None = None
    gone: bool = False        # no-show or cancelled

    def queue_key(self, late_after_minutes: float) -> datetime:
        """Where the patient stands in line: the slot if they came on time, else arrival."""
        assert self.checked_in is not None
        if self.scheduled is None:
            return self.checked_in
        late = (self.checked_in - self.scheduled).total_seconds() / 60 > late_after_minutes
        return self.checked_in if late else self.scheduled


@dataclass
class _Provider:
    provider_id: str
    session_start: datetime | None = None
    session_end: datetime | None = None
    history: list[float] = field(default_factory=list)
    today: list[float] = field(default_factory=list)
    current: _Visit | None = None
    started: bool = False

    def pace(self, prior_median: float, prior_sigma: float, today_weight: float
             ) -> tuple[float, float]:
        """(mu, sigma) of log minutes: history and today pooled, today's counting more."""
        logs = [math.log(max(d, 0.5)) for d in self.history]
        weights = [1.0] * len(logs)
        logs += [math.log(max(d, 0.5)) for d in self.today]
        weights += [today_weight] * len(self.today)
        # A few pseudo-observations at the practice-wide prior keep a new provider sensible.
        logs += [math.log(prior_median)] * 3
        weights += [1.0] * 3
        total = sum(weights)
        mu = sum(w * x for w, x in zip(weights, logs, strict=True)) / total
        if len(logs) > 5:
            variance = sum(w * (x - mu) ** 2 for w, x in zip(weights, logs, strict=True)) / total
            sigma = math.sqrt(max(variance, 0.05))
        else:
            sigma = prior_sigma
        return mu, sigma


class WaitEstimator:
    """See the module docstring. Settings (keyword arguments, all optional; the app passes
    the practice's rules and what it learned from past days,
    ``kiosk.services.waits.practice_habits``):

    ``runs`` Monte Carlo runs (200); ``slot_minutes`` typical consultation when a provider has
    no history (15); ``sigma`` log-spread for such a provider (0.5); ``today_weight`` weight of
    each of today's consultations against one of history (4); ``upper_quantile`` (0.75);
    ``late_after_minutes`` how late an arrival may be and keep its slot (15);
    ``early_call_minutes`` how long before their slot an idle provider calls a patient who is
    already here (15); ``show_rate`` chance a booked patient comes at all (0.85);
    ``arrival_offset_mean`` and ``arrival_offset_sd`` when they come, relative to their slot,
    in minutes (normal; -8 and 12: most come early); ``late_start_minutes`` the usual
    unannounced delay of a provider's first call after their session start (mean of an
    exponential, 5); ``walk_in_rates`` usual walk-ins per hour by provider id (None: for
    anyone), 24 numbers, one per hour of day (default: none expected); ``seed``.
    """

    def __init__(self, history: Mapping[str, Sequence[float]] | None = None,
                 **settings: Any) -> None:
        self.runs = int(settings.get("runs", 200))
        self.slot_minutes = float(settings.get("slot_minutes", 15.0))
        self.sigma = float(settings.get("sigma", 0.5))
        self.late_after_minutes = float(settings.get("late_after_minutes", 15.0))
        self.show_rate = float(settings.get("show_rate", 0.85))
        self.today_weight = float(settings.get("today_weight", 4.0))
        self.upper_quantile = float(settings.get("upper_quantile", 0.75))
        self.early_call_minutes = float(settings.get("early_call_minutes", 15.0))
        self.late_start_minutes = float(settings.get("late_start_minutes", 5.0))
        self.arrival_offset_mean = float(settings.get("arrival_offset_mean", -8.0))
        self.arrival_offset_sd = float(settings.get("arrival_offset_sd", 12.0))
        self.walk_in_rates: dict[str | None, list[float]] = {
            provider_id: [float(rate) for rate in hourly]
            for provider_id, hourly in (settings.get("walk_in_rates") or {}).items()}
        self.seed = int(settings.get("seed", 20261123))
        self._rng: np.random.Generator | None = None
        self.providers: dict[str, _Provider] = {}
        self.visits: dict[str, _Visit] = {}
        for provider_id, durations in (history or {}).items():
            self._provider(provider_id).history = [float(d) for d in durations]

    # -- events ----------------------------------------------------------------------------

    @property
    def rng(self) -> np.random.Generator:
        """numpy loads at the first estimate, not when the kiosk starts (0.1 s of imports
        before the first frame)."""
        if self._rng is None:
            import numpy as np

            self._rng = np.random.default_rng(self.seed)
        return self._rng

    def _provider(self, provider_id: str) -> _Provider:
        if provider_id not in self.providers:
            self.providers[provider_id] = _Provider(provider_id)
        return self.providers[provider_id]

    def _visit(self, event: QueueEvent) -> _Visit:
        assert event.visit_id is not None, f"{event.kind} needs a visit_id"
        visit = self.visits.get(event.visit_id)
        if visit is None:
            visit = _Visit(event.visit_id, event.provider_id)
            self.visits[event.visit_id] = visit
        return visit

    def observe(self, event: QueueEvent) -> None:
        kind = event.kind
        if kind == "session":
            assert event.provider_id is not None
            provider = self._provider(event.provider_id)
            provider.session_start, provider.session_end = event.at, event.session_end
        elif kind == "booked":
            visit = self._visit(event)
            visit.provider_id = event.provider_id
            visit.scheduled = event.scheduled_start
        elif kind == "walk_in":
            visit = self._visit(event)
            visit.provider_id = event.provider_id
            visit.checked_in = visit.checked_in or event.at
        elif kind == "checked_in":
            self._visit(event).checked_in = event.at
        elif kind == "called":
            visit = self._visit(event)
            visit.called = event.at
            provider_id = event.provider_id or visit.provider_id
            if provider_id is not None:
                visit.provider_id = provider_id
                provider = self._provider(provider_id)
                provider.current = visit
                provider.started = True
        elif kind == "finished":
            visit = self._visit(event)
            visit.finished = event.at
            if visit.called is not None and visit.provider_id is not None:
                provider = self._provider(visit.provider_id)
                minutes = (event.at - visit.called).total_seconds() / 60
                if 1 <= minutes <= 120:  # a finish pressed hours late teaches nothing
                    provider.today.append(minutes)
                if provider.current is visit:
                    provider.current = None
        elif kind in ("no_show", "cancelled"):
            visit = self._visit(event)
            visit.gone = True
            # Called, then gone (left without being seen): the provider is free again.
            for provider in self.providers.values():
                if provider.current is visit:
                    provider.current = None
        else:
            raise ValueError(f"unknown event kind {kind!r}")

    # -- estimates -------------------------------------------------------------------------

    def estimate(self, now: datetime) -> dict[str, WaitEstimate]:
        waiting = [v for v in self.visits.values()
                   if v.checked_in is not None and v.called is None and not v.gone
                   and v.checked_in <= now]
        if not waiting:
            return {}
        for provider_id in {v.provider_id for v in waiting if v.provider_id is not None}:
            self._provider(provider_id)
        working = [p for p in self.providers.values() if self._is_working(p, waiting)]
        if not working:
            return {}
        return self._replay(working, waiting, now)

    def _is_working(self, provider: _Provider, waiting: list[_Visit]) -> bool:
        """Providers with a session, a call or a waiting patient today (history alone is not
        enough: an any-provider walk-in must not be promised to someone who is not in)."""
        return (provider.session_start is not None or provider.started
                or provider.current is not None
                or any(v.provider_id == provider.provider_id for v in waiting))

    def _replay(self, working: list[_Provider], waiting: list[_Visit], now: datetime
                ) -> dict[str, WaitEstimate]:
        import numpy as np  # loaded at the first estimate (see rng)
        runs, rng = self.runs, self.rng
        index = {p.provider_id: i for i, p in enumerate(working)}
        paces = [p.pace(self.slot_minutes, self.sigma, self.today_weight) for p in working]
        mu = np.array([m for m, _ in paces])
        sigma = np.array([s for _, s in paces])

        # When each provider is next free, in minutes from now, per run.
        free = np.zeros((len(working), runs))
        for i, provider in enumerate(working):
            free[i] = self._next_free(provider, mu[i], sigma[i], now)

        # The line, in queue order: waiting patients, then those who may still join ahead of
        # the last of them (booked patients not here yet, walk-ins yet to come).
        late_after = self.late_after_minutes
        line: list[_Place] = [_Place(v.queue_key(late_after), index.get(v.provider_id or ""),
                                     v.visit_id) for v in waiting]
        last_key = max(place.key for place in line)
        line += self._booked_ahead(index, now, last_key)
        line += self._walk_ins_ahead(index, now, last_key)
        line.sort(key=lambda place: (place.key, place.chance < 1))

        called_at: dict[str, np.ndarray] = {}
        every_run = np.arange(runs)
        for place in line:
            offset = (place.key - now).total_seconds() / 60
            # A patient here may be called up to ``early_call_minutes`` before their place;
            # someone not here yet, not before they come.
            earliest = offset - self.early_call_minutes if place.visit_id else max(offset, 0.0)
            if place.provider is not None:
                who = np.full(runs, place.provider)
                start = np.maximum(free[place.provider], earliest)
            else:  # anyone's patient: whoever can take them first, in each run
                candidates = np.maximum(free, earliest)
                who = np.argmin(candidates, axis=0)
                start = candidates[who, every_run]
            duration = rng.lognormal(mu[who], sigma[who])
            if place.chance < 1:
                comes = rng.random(runs) < place.chance
                free[who, every_run] = np.where(comes, start + duration, free[who, every_run])
            else:
                assert place.visit_id is not None
                called_at[place.visit_id] = start
                free[who, every_run] = start + duration

        estimates = {}
        for visit_id, starts in called_at.items():
            median = float(np.median(starts))
            upper = float(np.quantile(starts, self.upper_quantile))
            estimates[visit_id] = WaitEstimate(round(median, 1), round(max(upper, median), 1))
        return estimates

    def _next_free(self, provider: _Provider, mu: float, sigma: float, now: datetime
                   ) -> np.ndarray:
        import numpy as np  # loaded at the first estimate (see rng)
        runs = self.runs
        if provider.current is not None and provider.current.called is not None:
            elapsed = max(0.0, (now - provider.current.called).total_seconds() / 60)
            return _remaining(self.rng, mu, sigma, elapsed, runs)
        if provider.started or provider.session_start is None:
            return np.zeros(runs)
        # Not started yet: the session start, and the practice's usual unannounced delay
        # (memoryless, so the same whether the start is still ahead or already past).
        until_start = max(0.0, (provider.session_start - now).total_seconds() / 60)
        delay = self.rng.exponential(self.late_start_minutes, runs) \
            if self.late_start_minutes > 0 else np.zeros(runs)
        return until_start + delay

    def _booked_ahead(self, index: dict[str, int], now: datetime, last_key: datetime
                      ) -> list[_Place]:
        """Booked patients not here yet who may still queue ahead of someone waiting: at their
        slot if they come within ``late_after_minutes`` of it, else at their arrival. Both
        chances come from the show rate and the punctuality (arrival minus slot: normal), given
        that they have not come by now."""
        places = []
        arrival = NormalDist(self.arrival_offset_mean, max(self.arrival_offset_sd, 1.0))
        for booked in self.visits.values():
            if (booked.provider_id not in index or booked.checked_in is not None
                    or booked.called is not None or booked.gone or booked.scheduled is None
                    or booked.scheduled >= last_key):
                continue
            provider = index[booked.provider_id]
            overdue = (now - booked.scheduled).total_seconds() / 60
            not_yet = 1 - arrival.cdf(overdue)  # P(not here by now | they come)
            unknown = 1 - self.show_rate + self.show_rate * not_yet
            if unknown <= 0:
                continue
            late_after = self.late_after_minutes
            if overdue < late_after:  # may still come in time to keep their slot
                in_time = self.show_rate * (arrival.cdf(late_after) - arrival.cdf(overdue))
                if in_time / unknown > 0.02:
                    places.append(_Place(booked.scheduled, provider, None, in_time / unknown))
            # Late: they queue at their arrival, expected at the mean of the normal's tail.
            after = max(overdue, late_after)
            tail = 1 - arrival.cdf(after)
            late = self.show_rate * tail / unknown
            if late > 0.02:
                z = (after - arrival.mean) / arrival.stdev
                expected = arrival.mean + arrival.stdev * NormalDist().pdf(z) / max(tail, 1e-9)
                key = max(now, booked.scheduled + timedelta(minutes=expected))
                if key < last_key:
                    places.append(_Place(key, provider, None, late))
        return places

    def _walk_ins_ahead(self, index: dict[str, int], now: datetime, last_key: datetime
                        ) -> list[_Place]:
        """Walk-ins still to come before ``last_key``, from the practice's usual rates by
        hour of day: one possible walk-in per provider (or for anyone) per few minutes, with
        the chance of one arriving then."""
        places: list[_Place] = []
        if not self.walk_in_rates:
            return places
        step = timedelta(minutes=WALK_IN_STEP_MINUTES)
        moment = now
        while moment < last_key:
            middle = moment + step / 2
            for provider_id, hourly in self.walk_in_rates.items():
                provider = index.get(provider_id) if provider_id is not None else None
                if provider_id is not None and provider is None:
                    continue  # not working today
                rate = hourly[middle.hour] if len(hourly) == 24 else 0.0
                chance = min(1.0, rate * WALK_IN_STEP_MINUTES / 60)
                if chance > 0.005:
                    places.append(_Place(middle, provider, None, chance))
            moment += step
        return places


@dataclass(frozen=True)
class _Place:
    """A place in the replayed line: a waiting patient (``visit_id``), or someone who may
    still come (``chance`` < 1); ``provider`` is an index into the working providers, None for
    anyone's patient."""

    key: datetime
    provider: int | None
    visit_id: str | None
    chance: float = 1.0


def _remaining(rng: np.random.Generator, mu: float, sigma: float, elapsed: float,
               runs: int) -> np.ndarray:
    """Remaining minutes of a consultation already ``elapsed`` long: lognormal draws
    conditioned on exceeding the elapsed time (rejection sampling on the upper tail)."""
    import numpy as np  # loaded at the first estimate (see rng)
    if elapsed <= 0:
        return rng.lognormal(mu, sigma, runs)
    tail = 1 - NormalDist().cdf((math.log(elapsed) - mu) / sigma)
    if tail < 0.02:
        # Far beyond the usual length: assume a few more minutes, not an eternity.
        return rng.exponential(3.0, runs)
    draws = rng.lognormal(mu, sigma, int(runs / tail * 1.3) + 16)
    longer = draws[draws > elapsed]
    while longer.size < runs:  # rare: top up
        more = rng.lognormal(mu, sigma, runs * 4)
        longer = np.concatenate([longer, more[more > elapsed]])
    return np.asarray(longer[:runs] - elapsed, dtype=float)
