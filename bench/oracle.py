"""The oracle: a floor for wait estimates on the days of ``bench/clinic_sim.py`` (bench only).

At each check-in it knows everything the simulation knows at that moment, but none of the draws
still to come: each provider's true pace and the day's true consultation spread (and the
clipping), who is in a room since when, whether a provider has started (not yet: the true
late-start distribution, given that they have not started by now), the interruption if it has
happened (its length given how long it has lasted) or else its true distribution given that it
has not happened yet, the true no-show, punctuality and very-late parameters for booked patients
not here yet (given that they have not come by now), walk-ins still to come at the day's true
rates, and the practice's calling rule, replayed exactly as the simulation calls. It replays the
rest of the morning ``runs`` times with fresh draws and reports, for each patient waiting, the
median call time (and the 90th percentile as its upper bound).

No estimator that sees only the events can know more, so its error is about the best any
estimator can reach on these scenarios: what is left is the luck of the draws still to come.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

# A module bench/eta.py uses; `./dev bench` runs every script here, this one too (it prints
# nothing): the repository on the path, as for the others.
REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bench.clinic_sim import (  # noqa: E402
    DAY,
    LONGEST,
    NO_SHOW_AFTER,
    OPENING,
    SESSION_START,
    WALK_INS_UNTIL,
    History,
    QueueEvent,
    Scenario,
    WaitEstimate,
    consultation_minutes,
)

if TYPE_CHECKING:
    from bench.clinic_sim import _ClinicDay

ORACLE_RUNS = 200
UPPER_QUANTILE = 0.9


@dataclass
class _Patient:
    arrival: float
    key: float
    seq: int
    provider: int  # -1: any provider
    scheduled: float | None
    target: int  # index among the patients waiting now; -1: one still to come


class OracleEstimator:
    def __init__(self, history: History, scenario: Scenario, runs: int = ORACLE_RUNS) -> None:
        self.scenario = scenario
        self.runs = runs
        self.day: _ClinicDay | None = None
        self.rng = np.random.default_rng(12345)
        self.ids = [spec.provider_id for spec in scenario.providers]
        self.index = {pid: i for i, pid in enumerate(self.ids)}

    def attach_day(self, day: _ClinicDay) -> None:
        self.day = day
        self.rng = np.random.default_rng([int(day.rng.bit_generator.state["state"]["state"]
                                              % 2**32), 77])

    def observe(self, event: QueueEvent) -> None:
        pass  # it reads the day's state instead

    # Draws.

    def _durations(self, spec_index: int, size: int) -> list[float]:
        spec = self.scenario.providers[spec_index]
        return [float(x) for x in consultation_minutes(self.rng, spec.mean_minutes,
                                                       self.scenario.duration_cv, size)]

    def _remaining(self, spec_index: int, elapsed: float) -> np.ndarray:
        """Remaining minutes of a consultation ``elapsed`` long, given that it is not over."""
        spec = self.scenario.providers[spec_index]
        longest = LONGEST * spec.mean_minutes
        if elapsed >= longest:
            return np.full(self.runs, 0.01)
        kept = np.empty(0)
        for _ in range(20):
            draws = consultation_minutes(self.rng, spec.mean_minutes, self.scenario.duration_cv,
                                         self.runs * 8)
            kept = np.concatenate([kept, draws[draws > elapsed]])
            if kept.size >= self.runs:
                break
        if kept.size < self.runs:  # only the clipped mass is left
            kept = np.concatenate([kept, np.full(self.runs - kept.size, longest)])
        return kept[:self.runs] - elapsed

    def _booked_arrivals(self, slot: float, now: float) -> np.ndarray:
        """Per run, when a booked patient not here by ``now`` checks in (inf: never), drawn as
        the simulation draws it, given that they have not come by now."""
        s, rng, runs = self.scenario, self.rng, self.runs
        out = np.empty(0)
        for _ in range(50):
            size = runs * 8
            shows = rng.random(size) >= s.no_show_rate
            very_late = rng.random(size) < s.very_late_share
            offset = np.where(very_late, rng.uniform(*s.very_late_minutes, size),
                              rng.normal(s.offset_mean, s.offset_sd, size))
            arrival = np.where(shows & (offset <= NO_SHOW_AFTER), slot + offset, np.inf)
            arrival = np.maximum(arrival, OPENING)
            out = np.concatenate([out, arrival[arrival > now]])
            if out.size >= runs:
                break
        if out.size < runs:
            out = np.concatenate([out, np.full(runs - out.size, np.inf)])
        return out[:runs]

    def _walk_ins(self, now: float) -> list[list[tuple[float, int]]]:
        """Per run, the walk-ins still to come: (arrival, provider index or -1)."""
        s, rng = self.scenario, self.rng
        runs: list[list[tuple[float, int]]] = [[] for _ in range(self.runs)]
        for start, end, per_hour in s.walk_in_rates:
            start = max(start, now)
            if end <= start:
                continue
            counts = rng.poisson(per_hour * (end - start) / 60, self.runs)
            for run, count in enumerate(counts):
                for moment in rng.uniform(start, min(end, WALK_INS_UNTIL), count):
                    provider = -1 if rng.random() < s.walk_in_any_share \
                        else int(rng.integers(len(self.ids)))
                    runs[run].append((float(moment), provider))
        for arrivals in runs:
            arrivals.sort()
        return runs

    # The replay.

    def estimate(self, now: datetime) -> dict[str, WaitEstimate]:
        day = self.day
        assert day is not None, "the oracle needs the day (attach_day)"
        s = self.scenario
        t0 = (now - DAY).total_seconds() / 60
        waiting = sorted(day.waiting.values(), key=lambda v: v.seq)
        if not waiting:
            return {}
        present = [_Patient(v.checked_in if v.checked_in is not None else t0, v.key, v.seq,
                            self.index[v.provider_id] if v.provider_id else -1, v.scheduled, i)
                   for i, v in enumerate(waiting)]
        providers = len(self.ids)

        # When each provider is next free, per run.
        free = np.zeros((providers, self.runs))
        paused_now: list[bool] = []
        for p, pid in enumerate(self.ids):
            state = day.provider_now[pid]
            in_pause = state.paused_from is not None and (
                state.last_decision is None or state.last_decision < state.paused_from)
            paused_now.append(in_pause)
            if not state.started:
                free[p] = max(t0, SESSION_START) + self.rng.exponential(s.late_start_mean,
                                                                        self.runs)
            elif state.called_at is not None:
                free[p] = t0 + self._remaining(p, t0 - state.called_at)
            elif in_pause and s.interruption is not None and state.paused_from is not None:
                low, high = s.interruption.minutes
                lasted = t0 - state.paused_from
                free[p] = state.paused_from + self.rng.uniform(max(low, lasted), high, self.runs)
            else:
                free[p] = t0
        # The interruption still to come (who, from when, how long), per run; none: (-1, ...).
        pauses: list[tuple[int, float, float]] = [(-1, math.inf, 0.0)] * self.runs
        taken = any(day.provider_now[pid].paused_from is not None for pid in self.ids)
        if s.interruption is not None and not taken:
            window, minutes = s.interruption.window, s.interruption.minutes
            for run in range(self.runs):
                for _ in range(1000):  # given that it has not happened by now
                    who = int(self.rng.integers(providers))
                    begins = float(self.rng.uniform(*window))
                    last = day.provider_now[self.ids[who]].last_decision
                    if last is None or begins > last:
                        pauses[run] = (who, begins, float(self.rng.uniform(*minutes)))
                        break

        # Booked patients not here yet, and walk-ins still to come.
        pending = [v for v in day.booked
                   if v.checked_in is None and v.scheduled is not None
                   and v.scheduled + NO_SHOW_AFTER >= t0]
        booked_arrivals = [self._booked_arrivals(v.scheduled, t0) for v in pending
                           if v.scheduled is not None]
        walk_ins = self._walk_ins(t0)
        durations = [self._durations(p, self.runs * 40) for p in range(providers)]
        used = [0] * providers

        calls = np.full((self.runs, len(present)), np.nan)
        for run in range(self.runs):
            future: list[_Patient] = []
            for visit, arrivals in zip(pending, booked_arrivals, strict=True):
                arrival = float(arrivals[run])
                if arrival < math.inf:
                    assert visit.scheduled is not None
                    on_time = arrival <= visit.scheduled + s.grace_minutes
                    future.append(_Patient(arrival, visit.scheduled if on_time else arrival, 0,
                                           self.index[str(visit.provider_id)], visit.scheduled,
                                           -1))
            future += [_Patient(moment, moment, 0, who, None, -1)
                       for moment, who in walk_ins[run]]
            future.sort(key=lambda patient: patient.arrival)
            for n, patient in enumerate(future):
                patient.seq = 10**6 + n
            self._replay(run, t0, present, future, [float(x) for x in free[:, run]],
                         pauses[run], durations, used, calls)
        medians = np.nanmedian(calls, axis=0)
        uppers = np.nanquantile(calls, UPPER_QUANTILE, axis=0)
        return {visit.visit_id: WaitEstimate(float(max(median - t0, 0.0)),
                                             float(max(upper - t0, 0.0)))
                for visit, median, upper in zip(waiting, medians, uppers, strict=True)}

    def _replay(self, run: int, t0: float, present: list[_Patient], future: list[_Patient],
                free: list[float], pause: tuple[int, float, float],
                durations: list[list[float]], used: list[int], calls: np.ndarray) -> None:
        """One run of the rest of the day, as ``clinic_sim._ClinicDay`` calls; records in
        ``calls[run]`` when each patient waiting now is called."""
        s = self.scenario
        early, booked_first = s.early_call_minutes, s.calling_rule == "booked_first"
        pool = list(present)
        left = len(present)
        coming = 0
        pause_who, pause_from, pause_minutes = pause
        inf = math.inf
        while left:
            p = min(range(len(free)), key=free.__getitem__)
            t = free[p]
            if t == inf:
                break
            while coming < len(future) and future[coming].arrival <= t:
                pool.append(future[coming])
                coming += 1
            if p == pause_who and t >= pause_from:
                free[p] = t + pause_minutes
                pause_who = -1
                continue
            chosen: _Patient | None = None
            best: tuple[int, float, int] | None = None
            wake = future[coming].arrival if coming < len(future) else inf
            for patient in pool:
                if patient.provider != p and patient.provider != -1:
                    continue
                if patient.key - early > t:
                    wake = min(wake, patient.key - early)
                    continue
                if booked_first:
                    group = 1 if patient.scheduled is None else (
                        0 if patient.scheduled <= t else 2)
                else:
                    group = 0
                rank = (group, patient.key, patient.seq)
                if best is None or rank < best:
                    best, chosen = rank, patient
            if chosen is None:
                if p == pause_who and pause_from > t:
                    wake = min(wake, pause_from)
                free[p] = wake
                continue
            pool.remove(chosen)
            if chosen.target >= 0:
                calls[run, chosen.target] = t
                left -= 1
            if used[p] >= len(durations[p]):
                durations[p] = self._durations(p, self.runs * 40)
                used[p] = 0
            free[p] = t + durations[p][used[p]]
            used[p] += 1


def oracle_estimator(history: History, scenario: Scenario) -> OracleEstimator:
    return OracleEstimator(history, scenario)
