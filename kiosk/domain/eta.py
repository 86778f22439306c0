"""Honest waits: how long until each checked-in patient is called, as a median and a bound.

The estimator replays the practice's day forward from now, many times over (Monte Carlo,
vectorised with numpy: every run and every provider at once), using what the
practice knows:

* each consultation in progress and how long it has already lasted: its remaining time is drawn
  from the provider's duration distribution *conditional on the time already spent*;
* each provider's own pace: a lognormal fitted to their history, updated with today's finished
  consultations (today's weigh more, so a slow day shows quickly);
* booked patients not arrived yet: in each run they come or not, with the chance that follows
  from the show rate and the punctuality given that they are not here yet, and when (drawn
  from the punctuality's tail after now); on time they stand in line at their slot, late at
  their arrival;
* providers whose session has not started: they start at the session start plus the
  practice's usual unannounced delay (also when the start has passed without a call);
* walk-ins here, for a provider or for whoever is free first (decided in each run), and
  walk-ins still to come, at the practice's usual rate for that hour (for a provider or for
  anyone, in proportion to those rates), called by the same rule as those already here.

All working providers are replayed together, event by event: whenever a provider is free
they call, among the patients here and callable for them (their own, and walk-ins for anyone),
the first by the practice's calling rule; with nobody callable they wait for the next patient
to arrive or become callable, never for someone who may not come. A patient is callable from
their arrival, and a booked patient on time not more than ``early_call_minutes`` before their
slot. The calling rules (``calling_rule``):

* ``"booked_first"`` (the default, as in most appointment-based practices): booked patients
  whose slot has come (on time or late) go first, in line order (the slot for those who came on
  time, the arrival for late ones); walk-ins fill the gaps, in arrival order; booked patients
  here before their slot come last, in slot order. Every booked patient who falls due while a
  walk-in waits goes ahead of it, so the replay looks at the book further ahead than the last
  patient here (``BOOKED_LOOKAHEAD_MINUTES``).
* ``"arrival"``: one line for everyone: the slot for booked patients on time, the arrival for
  late patients and walk-ins.

The wait of a patient in a run is when they are called; the median over runs is the estimate,
the 75th percentile the bound ("about three patients in four stay under").

Contract (others drive it; keep the names): :class:`QueueEvent`, :class:`WaitEstimate`,
:class:`WaitEstimator` with ``observe(event)`` and ``estimate(now)``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


CALLING_RULES = ("booked_first", "arrival")
WALK_IN_STEP_MINUTES = 5  # resolution of walk-ins still to come...
MAX_WALK_IN_CHANCE = 0.25  # ...finer when walk-ins are frequent: at most one per step
BOOKED_LOOKAHEAD_MINUTES = 240.0  # "booked_first": how far past the last patient here
WALK_IN_RANK = 1e5  # "booked_first": added to a walk-in's place in line (minutes)
EARLY_RANK = 1e6  # "booked_first": added to the place of a booked patient here before the slot

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
    # (which history list, its length), count, sum and sum of squares of its log minutes
    _sums: tuple[tuple[int, int], float, float, float] | None = field(default=None, repr=False)

    def pace(self, prior_median: float, prior_sigma: float, today_weight: float
             ) -> tuple[float, float]:
        """(mu, sigma) of log minutes: history and today pooled, today's counting more."""
        key = (id(self.history), len(self.history))
        if self._sums is None or self._sums[0] != key:  # the history's sums, once
            logs = list(map(math.log, map(max, self.history, repeat(0.5))))
            self._sums = (key, float(len(logs)), math.fsum(logs),
                          math.fsum(map(operator.mul, logs, logs)))
        _, count, total_log, total_square = self._sums
        today = [math.log(max(d, 0.5)) for d in self.today]
        # A few pseudo-observations at the practice-wide prior keep a new provider sensible.
        prior = math.log(prior_median)
        weight = count + today_weight * len(today) + 3
        mu = (total_log + today_weight * math.fsum(today) + 3 * prior) / weight
        if count + len(today) + 3 > 5:
            square = total_square + today_weight * math.fsum(x * x for x in today) \
                + 3 * prior * prior
            sigma = math.sqrt(max(square / weight - mu * mu, 0.05))
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

    ``calling_rule`` how a free provider chooses whom to call: ``"booked_first"`` (default)
    or ``"arrival"`` (see the module docstring); anything else raises ValueError.
    """

    def __init__(self, history: Mapping[str, Sequence[float]] | None = None, *,
                 calling_rule: str = "booked_first", **settings: Any) -> None:
        if calling_rule not in CALLING_RULES:
            raise ValueError(f"calling_rule must be one of {', '.join(CALLING_RULES)}, "
                             f"not {calling_rule!r}")
        self.calling_rule = calling_rule
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
        runs = self.runs
        index = {p.provider_id: i for i, p in enumerate(working)}
        paces = [p.pace(self.slot_minutes, self.sigma, self.today_weight) for p in working]
        mu = np.array([m for m, _ in paces])
        sigma = np.array([s for _, s in paces])

        # When each provider is next free, in minutes from now, per run.
        free = np.zeros((len(working), runs))
        for i, provider in enumerate(working):
            free[i] = self._next_free(provider, mu[i], sigma[i], now)

        # Everyone who may be called: the waiting patients first, then who may still come
        # before the last of them is called.
        columns = _Columns(runs, self.late_after_minutes, self.early_call_minutes)
        for visit in waiting:
            assert visit.checked_in is not None
            columns.add(_minutes(visit.checked_in, now),
                        index.get(visit.provider_id or "", -1),
                        None if visit.scheduled is None else _minutes(visit.scheduled, now))
        present = len(waiting)
        last_key = max(_minutes(v.queue_key(self.late_after_minutes), now) for v in waiting)
        # Booked patients who fall due while a walk-in waits go ahead of it: under that rule
        # the book is looked at further ahead than the last patient here.
        ahead = last_key
        if self.calling_rule == "booked_first" and any(v.scheduled is None for v in waiting):
            ahead = max(last_key, 0.0) + BOOKED_LOOKAHEAD_MINUTES
        self._booked_to_come(columns, index, now, ahead)
        self._walk_ins_to_come(columns, index, now, last_key)
        return self._call(columns, present, waiting, free, mu, sigma)

    def _call(self, columns: _Columns, present: int, waiting: list[_Visit], free: np.ndarray,
              mu: np.ndarray, sigma: np.ndarray) -> dict[str, WaitEstimate]:
        """Event by event, in every run at once: a free provider calls, among the patients
        here and callable for them, the first by the calling rule; with nobody to call they
        wait for the next one to become callable.

        Each provider has their own columns (their patients, and in each run the walk-ins
        still to come for them), and the walk-ins for anyone are one line per run (their
        rank follows their arrival, so they are called in that order, and the first of them
        is callable whenever any is). So each step every provider decides at once: their own
        patient, if one ranks ahead of the first walk-in for anyone callable then (taking
        walk-ins for anyone can only make that line shorter, never change this choice); being
        idle until the next patient may become callable; or that walk-in for anyone, which
        only the provider free first in that run takes (the others decide again at the next
        step). The calls are the same as one provider at a time in order of time."""
        import numpy as np  # loaded at the first estimate (see rng)
        runs, rng = self.runs, self.rng
        booked_first = self.calling_rule == "booked_first"
        providers = len(free)
        ready, due, rank, column, a_ready, a_rank, a_column = columns.arrays(providers,
                                                                             booked_first)
        inf = np.inf
        rows = np.arange(runs)
        call_time = np.full((runs, columns.width + 1), inf)
        remaining = np.full(runs, present)
        head = np.zeros(runs, dtype=np.intp)  # each run's first walk-in for anyone not called
        free = free.copy()
        widest = ready.shape[2]
        flat_ready, flat_due, flat_column = ready.reshape(-1), due.reshape(-1), column.reshape(-1)
        base = np.arange(providers * runs).reshape(providers, runs) * widest
        best = np.full((providers, runs), inf)
        at = np.zeros((providers, runs), dtype=np.intp)

        # Each provider's choice among their own columns, per run, at their free time: the
        # first in line among those callable (their columns are in line order; under
        # ``booked_first`` those due come first, then those here before their slot).
        flat_rank = rank.reshape(-1)
        due_now = np.empty(ready.shape, dtype=bool)
        ready_now = np.empty(ready.shape, dtype=bool)

        def choose() -> None:
            t = free[:, :, None]
            np.less_equal(ready, t, out=ready_now)
            first = ready_now.argmax(axis=-1)
            anyone_ready = ready_now.any(axis=-1)
            if booked_first:
                np.less_equal(due, t, out=due_now)
                first_due = due_now.argmax(axis=-1)
                anyone_due = due_now.any(axis=-1)
                np.copyto(at, np.where(anyone_due, first_due, first))
                value = flat_rank[base + at]
                best[...] = np.where(anyone_due, value,
                                     np.where(anyone_ready, value + EARLY_RANK, inf))
            else:
                np.copyto(at, first)
                best[...] = np.where(anyone_ready, flat_rank[base + at], inf)

        choose()
        provider_rows = np.arange(providers)[:, None]
        a_base = rows * a_ready.shape[1]
        a_flat_ready, a_flat_rank = a_ready.reshape(-1), a_rank.reshape(-1)
        spread = sigma[:, None]
        pace = mu[:, None]
        for _ in range(providers * columns.width + columns.width + 16):
            if not remaining.any():
                break
            alive = free < inf  # never NaN
            if not alive.any():
                break
            earliest = free.argmin(axis=0)
            first_anyone = a_base + head
            next_ready, next_rank = a_flat_ready[first_anyone], a_flat_rank[first_anyone]
            anyone = next_ready <= free  # the first walk-in for anyone is callable
            # Their own patient if one ranks ahead (one here before their slot, under
            # booked_first, ranks after any walk-in); else the walk-in for anyone if they are
            # free first; else idle.
            own = (best < inf) & (best <= np.where(anyone, next_rank, inf)) & alive
            take = anyone & (provider_rows == earliest) & ~own & alive
            idle = alive & ~anyone & ~own
            calls = own | take
            # Their own patients called: out of their columns.
            slots = (base + at)[own]
            flat_ready[slots] = inf
            if booked_first:  # otherwise ``due`` is not read
                flat_due[slots] = inf
            called = flat_column[slots]
            called_runs = slots // widest % runs
            call_time[called_runs, called] = free[own]
            here = called < present
            # Walk-ins for anyone called: next in their run's line.
            taking = take.any(axis=0)
            if taking.any():
                taken_runs = np.flatnonzero(taking)
                taken = a_column[taken_runs, head[taken_runs]]
                call_time[taken_runs, taken] = free[earliest[taken_runs], taken_runs]
                head[taken_runs] += 1
                called_runs = np.concatenate([called_runs[here], taken_runs[taken < present]])
            else:
                called_runs = called_runs[here]
            remaining -= np.bincount(called_runs, minlength=runs)
            after = free + np.exp(pace + spread * rng.standard_normal((providers, runs)))
            free = np.where(calls, after, free)
            pi, ri = np.nonzero(idle)
            if pi.size:  # until the next patient may become callable for them
                own_ready = ready[pi, ri]
                upcoming = np.where(own_ready > free[pi, ri][:, None], own_ready, inf)
                free[pi, ri] = np.minimum(upcoming.min(axis=1), next_ready[ri])
                calls |= idle
            if calls.any():
                choose()

        starts = call_time[:, :present]
        if not np.isfinite(starts).all():  # not reached (not expected): the last call seen
            starts = np.where(np.isfinite(starts), starts,
                              call_time[np.isfinite(call_time)].max(initial=0.0))
        medians, uppers = np.quantile(starts, [0.5, self.upper_quantile], axis=0)
        estimates = {}
        for visit, median, upper in zip(waiting, medians, uppers, strict=True):
            median = max(float(median), 0.0)
            estimates[visit.visit_id] = WaitEstimate(round(median, 1),
                                                     round(max(float(upper), median), 1))
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

    def _booked_to_come(self, columns: _Columns, index: dict[str, int], now: datetime,
                        until: float) -> None:
        """Booked patients not here yet whose slot is before ``until`` (minutes from now):
        in each run they come or not, from the show rate and the punctuality (arrival minus
        slot: normal) given that they have not come by now, and when."""
        import numpy as np  # loaded at the first estimate (see rng)
        runs, rng = self.runs, self.rng
        mean, sd = self.arrival_offset_mean, max(self.arrival_offset_sd, 1.0)
        standard = NormalDist()
        slots: list[float] = []
        owners: list[int] = []
        floors: list[float] = []
        chances: list[float] = []
        for booked in self.visits.values():
            if (booked.provider_id not in index or booked.checked_in is not None
                    or booked.called is not None or booked.gone or booked.scheduled is None):
                continue
            slot = _minutes(booked.scheduled, now)
            if slot >= until:
                continue
            floor = standard.cdf((-slot - mean) / sd)  # P(here by now | they come)
            not_yet = 1 - floor
            unknown = 1 - self.show_rate + self.show_rate * not_yet
            comes = self.show_rate * not_yet / unknown if unknown > 0 else 0.0
            if comes < 0.01:
                continue
            slots.append(slot)
            owners.append(index[booked.provider_id])
            floors.append(floor)
            chances.append(comes)
        if not slots:
            return
        # Arrival given later than now: the normal's upper tail, by its inverse (all at once).
        grid_p, grid_z = _normal_grid()
        floor_ = np.array(floors)[:, None]
        tail = floor_ + rng.random((len(slots), runs)) * (1 - floor_)
        arrivals = np.array(slots)[:, None] + mean + sd * np.interp(tail, grid_p, grid_z)
        arrivals = np.where(rng.random((len(slots), runs)) < np.array(chances)[:, None],
                            np.maximum(arrivals, 0.0), np.inf)
        for arrival, owner, slot in zip(arrivals, owners, slots, strict=True):
            columns.add(arrival, owner, slot)

    def _walk_ins_to_come(self, columns: _Columns, index: dict[str, int], now: datetime,
                          until: float) -> None:
        """Walk-ins still to come before ``until`` (minutes from now), from the practice's
        usual rates by hour of day: one possible walk-in per few minutes, for a provider or
        for anyone in proportion to those rates, with the chance of one arriving then."""
        import numpy as np  # loaded at the first estimate (see rng)
        runs, rng = self.runs, self.rng
        streams = [(index.get(provider_id, -1) if provider_id is not None else -1, hourly)
                   for provider_id, hourly in self.walk_in_rates.items()
                   if (provider_id is None or provider_id in index) and len(hourly) == 24]
        if not streams or until <= 0:
            return
        who = np.array([provider for provider, _ in streams])
        top = max(max(hourly) for _, hourly in streams) * len(streams)
        step = min(float(WALK_IN_STEP_MINUTES), 60 * MAX_WALK_IN_CHANCE / top) if top > 0 \
            else float(WALK_IN_STEP_MINUTES)
        starts: list[float] = []
        rows: list[list[float]] = []
        start = 0.0
        while start < until:
            hour = (now + timedelta(minutes=start + step / 2)).hour
            starts.append(start)
            rows.append([hourly[hour] for _, hourly in streams])
            start += step
        if not starts:
            return
        rate = np.array(rows)
        total_rate = rate.sum(axis=1)
        steps = (total_rate > 0) & (total_rate * step / 60 > 0.005)
        if not steps.any():
            return
        rate, total_rate = rate[steps], total_rate[steps]
        # Per step: when in the step, whether anyone comes, for whom (three draws per run,
        # step after step: the same numbers as drawing them one step at a time).
        chance = np.minimum(1.0, total_rate * step / 60)
        draws = rng.random((len(rate), 3, runs))
        arrival = np.array(starts)[steps][:, None] + draws[:, 0] * step
        arrival = np.where(draws[:, 1] < chance[:, None], arrival, np.inf)
        shares = np.cumsum(rate, axis=1) / total_rate[:, None]
        pick = (shares[:, None, :] <= draws[:, 2, :, None]).sum(axis=2)
        owners = who[np.minimum(pick, len(streams) - 1)]
        for when, owner in zip(arrival, owners, strict=True):
            columns.add(when, owner, None)


class _Columns:
    """Who may be called in the replay, one column each, with values per run: arrival
    (minutes from now; infinite if they do not come in that run), provider (an index into the
    working providers, -1 for anyone; per run for walk-ins still to come) and slot (minutes
    from now; None for a walk-in)."""

    def __init__(self, runs: int, late_after: float, early_call: float) -> None:
        self.runs, self.late_after, self.early_call = runs, late_after, early_call
        self.arrival: list[np.ndarray | float] = []
        self.provider: list[np.ndarray | int] = []
        self.slot: list[float | None] = []

    def add(self, arrival: np.ndarray | float, provider: np.ndarray | int, slot: float | None
            ) -> None:
        self.arrival.append(arrival)
        self.provider.append(provider)
        self.slot.append(slot)

    @property
    def width(self) -> int:
        return len(self.slot)

    def arrays(self, providers: int, booked_first: bool) -> tuple[np.ndarray, ...]:
        """Each provider's own columns and the walk-ins for anyone, per run:
        (ready, due, rank, column) of shape (providers, runs, widest), and (ready, rank,
        column) of the walk-ins for anyone, of shape (runs, most + 1), in line order. ``ready``
        when they may be called (here, and not more than ``early_call`` before their place in
        line), ``due`` when they come first by the rule (``"booked_first"``: a booked patient
        once here and their slot has come; before that they come after the walk-ins), ``rank``
        their place by the rule (lower first), ``column`` their index in the order added;
        infinite ``ready`` (and ``rank``) where there is nobody (padding, or who does not come
        in that run)."""
        import numpy as np  # loaded at the first estimate (see rng)
        runs, width = self.runs, len(self.slot)
        arrival = np.empty((runs, width))
        provider = np.empty((runs, width), dtype=np.int64)
        # Columns the same in every run (one number) at once, and those per run at once.
        for added, out in ((self.arrival, arrival), (self.provider, provider)):
            per_run = [column for column, value in enumerate(added)
                       if isinstance(value, np.ndarray)]
            if len(per_run) < width:
                fixed = [column for column, value in enumerate(added)
                         if not isinstance(value, np.ndarray)]
                out[:, fixed] = [added[column] for column in fixed]
            if per_run:
                out[:, per_run] = np.array([added[column] for column in per_run]).T
        slot = np.array([-np.inf if s is None else s for s in self.slot])
        walk_in = np.isinf(slot)
        on_time = arrival - slot <= self.late_after
        key = np.where(~walk_in & on_time, slot, arrival)  # today's place in line
        ready = np.maximum(arrival, key - self.early_call)
        if booked_first:
            rank = key + WALK_IN_RANK * walk_in
            due = np.maximum(ready, slot)
        else:
            rank, due = key, ready
        comes = np.isfinite(ready)
        rows = np.arange(runs)[:, None]

        # Own columns: each run's sorted by provider and, for each provider, in line order
        # (by rank; ties in the order added: lexsort is stable), so that the first callable
        # is the one to call.
        group = np.where(comes & (provider >= 0), provider, providers).astype(
            np.int16 if providers < 32000 else np.int64)
        order = np.lexsort((rank, group), axis=1)  # by provider, then in line order
        grouped = np.take_along_axis(group, order, axis=1).astype(np.intp)
        counts = np.bincount((rows * (providers + 1) + grouped).ravel(),
                             minlength=runs * (providers + 1)).reshape(runs, providers + 1)
        widest = max(int(counts[:, :providers].max(initial=0)), 1)
        firsts = np.cumsum(counts, axis=1) - counts
        place = np.arange(width)[None, :] - np.take_along_axis(firsts, grouped, axis=1)
        keep = grouped < providers
        source = (rows * width + order)[keep]
        target = ((grouped * runs + rows) * widest + place)[keep]
        own = []
        for values in (ready, due, rank):
            packed = np.full(providers * runs * widest, np.inf)
            packed[target] = values.take(source)
            own.append(packed.reshape(providers, runs, widest))
        packed_column = np.full(providers * runs * widest, width, dtype=np.intp)
        packed_column[target] = source % width
        own.append(packed_column.reshape(providers, runs, widest))

        # Walk-ins for anyone, in line order (by arrival: their rank and readiness follow it).
        anyone = comes & (provider < 0)
        candidates = np.flatnonzero(anyone.any(axis=0))
        most = int(anyone.sum(axis=1).max(initial=0))
        line = np.where(anyone[:, candidates], rank[:, candidates], np.inf)
        first = np.argsort(line, axis=1, kind="stable")[:, :most]
        a_column = np.full((runs, most + 1), width, dtype=np.intp)
        a_column[:, :most] = candidates[first]
        a_ready = np.full((runs, most + 1), np.inf)
        a_rank = a_ready.copy()
        a_ready[:, :most] = np.where(np.take_along_axis(line, first, axis=1) < np.inf,
                                     ready[rows, a_column[:, :most]], np.inf)
        a_rank[:, :most] = np.take_along_axis(line, first, axis=1)
        return (*own, a_ready, a_rank, a_column)


def _minutes(moment: datetime, now: datetime) -> float:
    return (moment - now).total_seconds() / 60


_NORMAL_GRID: tuple[np.ndarray, np.ndarray] | None = None


def _normal_grid() -> tuple[np.ndarray, np.ndarray]:
    """The standard normal's distribution function on a fine grid, for drawing from a tail
    by its inverse (numpy has no inverse normal)."""
    global _NORMAL_GRID
    if _NORMAL_GRID is None:
        import numpy as np  # loaded at the first estimate (see rng)
        z = np.linspace(-7.0, 7.0, 2801)
        _NORMAL_GRID = (np.array([NormalDist().cdf(float(x)) for x in z]), z)
    return _NORMAL_GRID


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
