"""Wait-time estimators on simulated clinic days: the estimate shown at check-in against the wait.

Each day is ``bench/clinic_sim.py``'s SimPy model of a five-provider morning (its docstring gives
the model, the event conventions and the sources of every parameter). Days use the fixed seeds
0..N-1, in two scenarios: "base", and "stress" where reality is harsher than the estimators'
history says. The estimators, each given the same events and a fresh instance per day:

* ``kiosk``: ``kiosk.domain.eta.WaitEstimator``, when that module imports;
* ``naive``: the baseline below, the place in the provider's line of present patients times the
  provider's historical mean consultation.

Scored is the median estimate each checked-in patient is shown at check-in, against the wait that
followed (call time minus check-in time): mean absolute error, 90th percentile absolute error,
share within 5 minutes, share whose wait exceeded the upper bound by more than 5 minutes, and the
mean signed error (bias; positive: the estimate was too long), overall and by length of the wait.
Then the targets, and the time of one ``estimate()`` call for a mid-day state in which one
provider has 40 patients in the day (median over fresh instances; the events are fed untimed).

Targets (issue), for the estimator under test: base MAE <= 5.0 min, >= 65% within 5 min,
P90 <= 13 min, upper bound exceeded by more than 5 min for <= 10%; stress MAE <= 8.5 min; MAE at
least 25% below the naive baseline's in both scenarios; estimate() <= 5 ms. This prints figures
and met/MISSED; it does not fail. Run from the repository root:

    .venv/bin/python bench/eta.py [--days N] [--scenario base|stress|both] [--estimator NAME]
                                  [--scenario base --duration-cv CV]
"""

from __future__ import annotations

import argparse
import multiprocessing
import multiprocessing.pool
import os
import platform
import shlex
import statistics
import sys
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import simpy

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from bench.clinic_sim import (  # noqa: E402
    BASE,
    SCENARIOS,
    SESSION_START,
    Estimate,
    Estimator,
    EstimatorFactory,
    History,
    ProviderSpec,
    QueueEvent,
    WaitEstimate,
    at,
    make_history,
    simulate_day,
    usual_walk_in_rates,
)

WORKERS = 2
DAYS_PER_TASK = 10
BANDS = ((0.0, 10.0), (10.0, 20.0), (20.0, 40.0), (40.0, float("inf")))
WITHIN_MINUTES = 5.0  # "within" and "over the upper bound" both use this margin
TIMING_REPEATS = 200
TIMING_NOW = 10 * 60.0  # 10:00


class NaiveEstimator:
    """Place in line times the provider's historical mean consultation.

    A provider's line is their checked-in patients not yet called, in check-in order; a walk-in
    for any provider joins, at check-in, the provider with the shortest line (a consultation in
    progress counts as one more in line). The median is (patients ahead, plus one if the provider
    is with a patient) x mean; the upper bound adds one more mean.
    """

    def __init__(self, history: History | None = None, **settings: object) -> None:
        history = history or {}
        self.mean = {provider: statistics.fmean(durations)
                     for provider, durations in history.items() if durations}
        self.default = statistics.fmean(self.mean.values()) if self.mean else 15.0
        self.providers: set[str] = set(self.mean)
        self.assigned: dict[str, str | None] = {}  # visit -> booked or requested provider
        self.line: dict[str, str] = {}  # waiting visit -> provider, in check-in order
        self.busy: set[str] = set()

    def observe(self, event: QueueEvent) -> None:
        kind, visit, provider = event.kind, event.visit_id, event.provider_id
        if kind == "session" and provider is not None:
            self.providers.add(provider)
        elif kind in ("booked", "walk_in") and visit is not None:
            self.assigned[visit] = provider
        elif kind == "checked_in" and visit is not None:
            self.line[visit] = self.assigned.get(visit) or self._shortest_line()
        elif kind == "called" and visit is not None and provider is not None:
            self.line.pop(visit, None)
            self.busy.add(provider)
        elif kind == "finished" and provider is not None:
            self.busy.discard(provider)
        elif kind in ("no_show", "cancelled") and visit is not None:
            self.line.pop(visit, None)

    def _shortest_line(self) -> str:
        lengths = dict.fromkeys(sorted(self.providers), 0)
        for provider in self.line.values():
            lengths[provider] = lengths.get(provider, 0) + 1
        return min(lengths, key=lambda p: lengths[p] + (p in self.busy))

    def estimate(self, now: datetime) -> dict[str, WaitEstimate]:
        ahead: dict[str, int] = {}
        result = {}
        for visit, provider in self.line.items():
            mean = self.mean.get(provider, self.default)
            position = ahead.get(provider, 0) + (provider in self.busy)
            ahead[provider] = ahead.get(provider, 0) + 1
            result[visit] = WaitEstimate(position * mean, (position + 1) * mean)
        return result


def kiosk_estimator(history: History) -> Estimator:
    from kiosk.domain.eta import WaitEstimator

    # The practice's rules, as the app passes them from its settings: on time means within
    # 5 minutes of the slot here (the simulator's rule), and calls come at most 15 minutes early.
    # And its habits, as the app learns them from past days
    # (kiosk.services.waits.practice_habits): the
    # usual day's, which is the base scenario's, also on a stress day.
    usual = BASE
    estimator: Estimator = WaitEstimator(
        history, late_after_minutes=usual.grace_minutes,
        early_call_minutes=usual.early_call_minutes,
        show_rate=1 - usual.no_show_rate, arrival_offset_mean=usual.offset_mean,
        arrival_offset_sd=usual.offset_sd, late_start_minutes=usual.late_start_mean,
        walk_in_rates=usual_walk_in_rates(list(history)))
    return estimator


ESTIMATORS: dict[str, tuple[EstimatorFactory, str]] = {
    "kiosk": (kiosk_estimator, "kiosk.domain.eta.WaitEstimator"),
    "naive": (NaiveEstimator, "place in line x historical mean (bench/eta.py)"),
}
BASELINE = "naive"


def kiosk_import_error() -> str | None:
    """None if kiosk.domain.eta.WaitEstimator imports, otherwise why not."""
    try:
        from kiosk.domain.eta import WaitEstimator  # noqa: F401
    except Exception:
        return traceback.format_exc(limit=-1).strip().splitlines()[-1]
    return None


# Running days, two worker processes.

@dataclass
class Outcome:
    """One estimator's scored check-ins over some days, and how it kept the contract."""

    median: np.ndarray
    upper: np.ndarray
    actual: np.ndarray
    unanswered: int
    missing: int
    extra: int
    calls: int
    seconds: float

    @staticmethod
    def merge(parts: Iterable[Outcome]) -> Outcome:
        parts = list(parts)
        return Outcome(*(np.concatenate([getattr(p, name) for p in parts])
                         for name in ("median", "upper", "actual")),
                       *(sum(getattr(p, name) for p in parts)
                         for name in ("unanswered", "missing", "extra", "calls", "seconds")))


@dataclass
class Batch:
    days: int
    visits: int  # booked appointments plus walk-ins
    no_shows: int
    walk_ins: int
    events: int
    outcomes: dict[str, Outcome]


def run_days(task: tuple[str, list[int], list[str], float | None]) -> Batch:
    scenario_name, seeds, names, duration_cv = task
    scenario = SCENARIOS[scenario_name]
    if duration_cv is not None:  # what-if: consultations (and their history) spread this much
        scenario = replace(scenario, duration_cv=duration_cv, history_cv=duration_cv)
    factories = {name: ESTIMATORS[name][0] for name in names}
    parts: dict[str, list[Outcome]] = {name: [] for name in names}
    visits = no_shows = walk_ins = events = 0
    for seed in seeds:
        day = simulate_day(scenario, seed, factories, make_history(scenario, seed))
        visits += day.booked + day.walk_ins
        no_shows += day.no_shows
        walk_ins += day.walk_ins
        events += day.events
        for name, run in day.runs.items():
            parts[name].append(Outcome(
                np.array([s.median for s in run.scored]),
                np.array([s.upper for s in run.scored]),
                np.array([s.actual for s in run.scored]),
                run.unanswered, run.missing, run.extra, run.calls, run.seconds))
    return Batch(len(seeds), visits, no_shows, walk_ins, events,
                 {name: Outcome.merge(outcomes) for name, outcomes in parts.items()})


def run_scenario(scenario_name: str, days: int, names: list[str],
                 pool: multiprocessing.pool.Pool, duration_cv: float | None = None) -> Batch:
    seeds = list(range(days))
    tasks = [(scenario_name, seeds[i:i + DAYS_PER_TASK], names, duration_cv)
             for i in range(0, days, DAYS_PER_TASK)]
    batches = pool.map(run_days, tasks, chunksize=1)
    return Batch(sum(b.days for b in batches), sum(b.visits for b in batches),
                 sum(b.no_shows for b in batches), sum(b.walk_ins for b in batches),
                 sum(b.events for b in batches),
                 {name: Outcome.merge(b.outcomes[name] for b in batches) for name in names})


# Scoring.

@dataclass(frozen=True)
class Metrics:
    n: int
    mae: float
    p90: float
    within: float  # share with |error| <= 5 min
    over_upper: float  # share with actual > upper + 5 min
    bias: float

    @staticmethod
    def of(outcome: Outcome, mask: np.ndarray | None = None) -> Metrics:
        median, upper, actual = outcome.median, outcome.upper, outcome.actual
        if mask is not None:
            median, upper, actual = median[mask], upper[mask], actual[mask]
        if not len(actual):
            return Metrics(0, *(float("nan"),) * 5)
        error = median - actual
        absolute = np.abs(error)
        return Metrics(len(actual), float(absolute.mean()), float(np.percentile(absolute, 90)),
                       float(np.mean(absolute <= WITHIN_MINUTES)),
                       float(np.mean(actual > upper + WITHIN_MINUTES)), float(error.mean()))

    def row(self, label: str) -> str:
        return (f"  {label:<14}{self.n:>8}  {self.mae:>6.2f}  {self.p90:>6.1f}  "
                f"{self.within:>7.1%}  {self.over_upper:>7.1%}  {self.bias:>+6.2f}")


def band_label(low: float, high: float) -> str:
    return f"{low:.0f}+ min" if high == float("inf") else f"{low:.0f}-{high:.0f} min"


def print_scenario(name: str, batch: Batch) -> dict[str, Metrics]:
    actual = next(iter(batch.outcomes.values())).actual
    print(f"\n== {name}: {batch.days} days; per day {batch.visits / batch.days:.1f} visits "
          f"(booked + walk-ins), {batch.no_shows / batch.days:.1f} no-shows, "
          f"{batch.walk_ins / batch.days:.1f} walk-ins, {batch.events / batch.days:.0f} events; "
          f"actual wait mean {actual.mean():.1f} min, median {np.median(actual):.1f}, "
          f"P90 {np.percentile(actual, 90):.1f}, max {actual.max():.0f}")
    print(f"  {'':<14}{'scored':>8}  {'MAE':>6}  {'P90':>6}  {'within5':>7}  {'>upper5':>7}  "
          f"{'bias':>6}   (minutes; within5 = |error| <= 5; >upper5 = wait > upper + 5)")
    overall = {}
    for estimator, outcome in batch.outcomes.items():
        overall[estimator] = Metrics.of(outcome)
        print(overall[estimator].row(estimator))
        for low, high in BANDS:
            mask = (outcome.actual >= low) & (outcome.actual < high)
            print(Metrics.of(outcome, mask).row(f"  {band_label(low, high)}"))
        calls = max(outcome.calls, 1)
        print(f"  {'':<14}estimate() {outcome.seconds / calls * 1000:.3f} ms per call in the "
              f"simulation ({outcome.calls} calls)")
        if outcome.unanswered or outcome.missing or outcome.extra:
            print(f"  {'':<14}CONTRACT: {outcome.unanswered} check-ins had no estimate of their "
                  f"own; {outcome.missing} other waiting visits missing and {outcome.extra} "
                  f"entries for visits not waiting, summed over calls")
    return overall


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_targets(name: str, results: Mapping[str, Mapping[str, Metrics]],
                  timing_ms: float | None) -> None:
    print(f"\ntargets for {name}:")
    lines: list[tuple[str, str, bool]] = []
    if (base := results.get("base", {}).get(name)) is not None:
        lines += [("base MAE <= 5.0 min", f"{base.mae:.2f}", base.mae <= 5.0),
                  ("base within 5 min >= 65%", f"{base.within:.1%}", base.within >= 0.65),
                  ("base P90 |error| <= 13 min", f"{base.p90:.1f}", base.p90 <= 13.0),
                  ("base wait > upper + 5 min <= 10%", f"{base.over_upper:.1%}",
                   base.over_upper <= 0.10)]
    if (stress := results.get("stress", {}).get(name)) is not None:
        lines.append(("stress MAE <= 8.5 min", f"{stress.mae:.2f}", stress.mae <= 8.5))
    for scenario, metrics in results.items():
        own, naive = metrics.get(name), metrics.get(BASELINE)
        if own is not None and naive is not None:
            lower = 1 - own.mae / naive.mae
            lines.append((f"{scenario} MAE >= 25% below naive",
                          f"{lower:.0%} below ({own.mae:.2f} vs {naive.mae:.2f})", lower >= 0.25))
    if timing_ms is not None:
        lines.append(("estimate() with 40 patients <= 5 ms", f"{timing_ms:.3f} ms",
                      timing_ms <= 5.0))
    for label, value, ok in lines:
        print(f"  {label:<36}{value:<28}{verdict(ok)}")


# estimate() on a mid-day state.

class _Recorder:
    def __init__(self, history: History) -> None:
        self.events: list[QueueEvent] = []

    def observe(self, event: QueueEvent) -> None:
        self.events.append(event)

    def estimate(self, now: datetime) -> dict[str, Estimate]:
        return {}


def midday_events() -> list[QueueEvent]:
    """A simulated base day in which P1 has 40 booked 6-minute slots, up to 10:00."""
    busy = ProviderSpec("P1", 6, 1.0)
    scenario = replace(BASE, name="timing",
                       providers=(busy, *BASE.providers[1:]))
    scenario = replace(scenario, booked_share=1.0)
    recorder = _Recorder({})
    simulate_day(scenario, 7, {"recorder": lambda history: recorder})
    booked = sum(e.kind == "booked" and e.provider_id == "P1" for e in recorder.events)
    assert booked == int((12 * 60 - SESSION_START) / busy.slot_minutes) == 40
    return [e for e in recorder.events if e.at <= at(TIMING_NOW)]


def time_estimate(factory: EstimatorFactory, history: History,
                  events: list[QueueEvent]) -> float:
    """Median milliseconds of one estimate() call, each on a fresh instance fed ``events``."""
    samples = []
    for _ in range(TIMING_REPEATS):
        estimator = factory(history)
        for event in events:
            estimator.observe(event)
        started = time.perf_counter()
        estimator.estimate(at(TIMING_NOW))
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=200, help="days per scenario (seeds 0..N-1)")
    parser.add_argument("--scenario", choices=("base", "stress", "both"), default="both")
    parser.add_argument("--estimator", choices=(*ESTIMATORS, "all"), default="all")
    parser.add_argument("--duration-cv", type=float, default=None,
                        help="what-if for the base scenario: consultation times (and the "
                             "history) with this coefficient of variation instead of 0.5")
    args = parser.parse_args()
    if args.duration_cv is not None and args.scenario != "base":
        parser.error("--duration-cv goes with --scenario base")
    started = time.perf_counter()

    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}, SimPy {simpy.__version__}, "
          f"NumPy {np.__version__}; {WORKERS} worker processes")

    names = list(ESTIMATORS) if args.estimator == "all" else [args.estimator]
    if "kiosk" in names and (error := kiosk_import_error()) is not None:
        if args.estimator == "kiosk":
            sys.exit(f"kiosk.domain.eta.WaitEstimator does not import: {error}")
        print(f"note: kiosk.domain.eta.WaitEstimator does not import ({error}); "
              "naive baseline only")
        names.remove("kiosk")
    for name in names:
        print(f"estimator {name}: {ESTIMATORS[name][1]}")

    scenarios = ["base", "stress"] if args.scenario == "both" else [args.scenario]
    results: dict[str, dict[str, Metrics]] = {}
    with multiprocessing.Pool(WORKERS) as pool:
        for scenario in scenarios:
            results[scenario] = print_scenario(scenario,
                                               run_scenario(scenario, args.days, names, pool,
                                                            args.duration_cv))

    events = midday_events()
    history = make_history(BASE, 7)
    waiting = ({e.visit_id for e in events if e.kind == "checked_in"}
               - {e.visit_id for e in events if e.kind == "called"})
    print(f"\nestimate() at 10:00, P1 with 40 patients in the day ({len(events)} events fed, "
          f"{len(waiting)} patients waiting in the practice), median over {TIMING_REPEATS} fresh "
          "instances:")
    timings = {name: time_estimate(ESTIMATORS[name][0], history, events) for name in names}
    for name, timing_ms in timings.items():
        print(f"  {name:<14}{timing_ms:.3f} ms")
    for name in names:
        if name != BASELINE:
            print_targets(name, results, timings[name])
    if names == [BASELINE]:
        print("\n(no estimator under test: targets are for kiosk.domain.eta.WaitEstimator)")
    print(f"\nelapsed: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
