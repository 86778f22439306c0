"""Honest waits: how long until each checked-in patient is called, as a median and a bound.

The estimator replays the practice's day forward from now, many times over (Monte Carlo,
vectorised with numpy), using what the practice knows:

* each consultation in progress and how long it has already lasted: its remaining time is drawn
  from the provider's duration distribution *conditional on the time already spent*;
* each provider's own pace: a lognormal fitted to their history, updated with today's finished
  consultations (today's weigh more, so a slow day shows quickly);
* booked patients not yet arrived ahead in the book: each may still come (the chance falls as
  their slot passes) and joins the line at their slot;
* providers whose session has not started: they start at the session start (or now, if late);
* walk-ins, for a provider or for whoever is free first.

Each provider serves the patients waiting for them in queue order: the appointment time for those
who came on time, the arrival time for late patients and walk-ins. The wait of a patient in a run
is when their provider reaches them; the median over runs is the estimate, the 75th percentile
the bound ("about three patients in four stay under").

Contract (others drive it; keep the names): :class:`QueueEvent`, :class:`WaitEstimate`,
:class:`WaitEstimator` with ``observe(event)`` and ``estimate(now)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from statistics import NormalDist

import numpy as np

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
    """See the module docstring. Settings (keyword arguments, all optional):

    ``runs`` Monte Carlo runs (default 200); ``slot_minutes`` typical consultation when a
    provider has no history (15); ``sigma`` log-spread for such a provider (0.5);
    ``late_after_minutes`` when an arrival counts as late (15); ``show_rate`` chance a booked
    patient still comes before their slot (0.85); ``today_weight`` weight of each of today's
    consultations against one of history (4); ``upper_quantile`` (0.75);
    ``early_call_minutes`` how long before their slot an idle provider calls a patient who is
    already here (15); ``seed``.
    """

    def __init__(self, history: Mapping[str, Sequence[float]] | None = None,
                 **settings: float) -> None:
        self.runs = int(settings.get("runs", 200))
        self.slot_minutes = float(settings.get("slot_minutes", 15.0))
        self.sigma = float(settings.get("sigma", 0.5))
        self.late_after_minutes = float(settings.get("late_after_minutes", 15.0))
        self.show_rate = float(settings.get("show_rate", 0.85))
        self.today_weight = float(settings.get("today_weight", 4.0))
        self.upper_quantile = float(settings.get("upper_quantile", 0.75))
        self.early_call_minutes = float(settings.get("early_call_minutes", 15.0))
        self.rng = np.random.default_rng(int(settings.get("seed", 20261123)))
        self.providers: dict[str, _Provider] = {}
        self.visits: dict[str, _Visit] = {}
        for provider_id, durations in (history or {}).items():
            self._provider(provider_id).history = [float(d) for d in durations]

    # -- events ----------------------------------------------------------------------------

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
        if not self.providers:
            return {}
        assigned = self._assign_walk_ins(waiting, now)
        results: dict[str, WaitEstimate] = {}
        for provider_id, provider in self.providers.items():
            mine = [v for v in waiting if assigned.get(v.visit_id) == provider_id]
            if mine:
                results.update(self._estimate_provider(provider, mine, now))
        return results

    def _assign_walk_ins(self, waiting: list[_Visit], now: datetime) -> dict[str, str]:
        """Walk-ins for anyone go to the provider expected to be free soonest."""
        assigned = {v.visit_id: v.provider_id for v in waiting if v.provider_id is not None}
        load = {pid: sum(1 for p in assigned.values() if p == pid) for pid in self.providers}
        for visit in sorted((v for v in waiting if v.provider_id is None),
                            key=lambda v: v.checked_in or now):
            mu_of = {pid: self._provider_pace(p)[0] for pid, p in self.providers.items()}
            best = min(self.providers, key=lambda pid: (load[pid] + 1) * math.exp(mu_of[pid]))
            assigned[visit.visit_id] = best
            load[best] += 1
        return {k: v for k, v in assigned.items() if v is not None}

    def _provider_pace(self, provider: _Provider) -> tuple[float, float]:
        return provider.pace(self.slot_minutes, self.sigma, self.today_weight)

    def _estimate_provider(self, provider: _Provider, mine: list[_Visit], now: datetime
                           ) -> dict[str, WaitEstimate]:
        mu, sigma = self._provider_pace(provider)
        runs = self.runs
        rng = self.rng

        # When the provider is next free, in minutes from now, per run.
        if provider.current is not None and provider.current.called is not None:
            elapsed = max(0.0, (now - provider.current.called).total_seconds() / 60)
            free = _remaining(rng, mu, sigma, elapsed, runs)
        elif not provider.started and provider.session_start is not None \
                and provider.session_start > now:
            free = np.full(runs, (provider.session_start - now).total_seconds() / 60)
        else:
            free = np.zeros(runs)

        # The line: waiting patients, and booked patients not yet here whose slot puts them
        # ahead of someone waiting.
        late_after = self.late_after_minutes
        line: list[tuple[datetime, _Visit | None, float]] = [
            (v.queue_key(late_after), v, 1.0) for v in mine]
        last_key = max(key for key, _, _ in line)
        for booked in self.visits.values():
            if (booked.provider_id == provider.provider_id and booked.checked_in is None
                    and booked.called is None and not booked.gone and booked.scheduled is not None
                    and booked.scheduled < last_key):
                overdue = (now - booked.scheduled).total_seconds() / 60
                chance = self._still_comes(overdue)
                # Coming now would be late: they would queue at their arrival, not their slot.
                key = now if overdue > late_after else booked.scheduled
                if chance > 0.02 and key < last_key:
                    line.append((key, None, chance))
        line.sort(key=lambda item: item[0])

        called_at: dict[str, np.ndarray] = {}
        for key, patient, chance in line:
            offset = (key - now).total_seconds() / 60
            if patient is None:
                # Someone booked ahead may still come: with that chance they take a turn,
                # not before their slot.
                comes = rng.random(runs) < chance
                start = np.maximum(free, offset)
                duration = rng.lognormal(mu, sigma, runs)
                free = np.where(comes, start + duration, free)
                continue
            # An idle provider calls a patient at most ``early_call_minutes`` before their place.
            start = np.maximum(free, offset - self.early_call_minutes)
            called_at[patient.visit_id] = start
            free = start + rng.lognormal(mu, sigma, runs)

        estimates = {}
        for visit_id, starts in called_at.items():
            median = float(np.median(starts))
            upper = float(np.quantile(starts, self.upper_quantile))
            estimates[visit_id] = WaitEstimate(round(median, 1), round(max(upper, median), 1))
        return estimates

    def _still_comes(self, overdue_minutes: float) -> float:
        """Chance a booked patient not here yet still comes, by how far past their slot."""
        if overdue_minutes <= 0:
            return self.show_rate
        # Fades over half an hour past the slot (late patients are rarer the later it gets).
        return self.show_rate * max(0.0, 1 - overdue_minutes / 30)


def _remaining(rng: np.random.Generator, mu: float, sigma: float, elapsed: float,
               runs: int) -> np.ndarray:
    """Remaining minutes of a consultation already ``elapsed`` long: lognormal draws
    conditioned on exceeding the elapsed time (rejection sampling on the upper tail)."""
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
