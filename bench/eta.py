"""Wait-time estimators on simulated clinic days: the estimate shown at check-in against the wait.

Each day is ``bench/clinic_sim.py``'s SimPy model of a five-provider morning (its docstring gives
the model, the event conventions and the sources of every parameter). Days use the fixed seeds
0..N-1, in four scenarios: "base", and "stress" where reality is harsher than the estimators'
history says, both in a practice that calls everyone in one line (calling rule "arrival"); and
the same days, "base-fill" and "stress-fill", in a practice where booked patients who are due go
first and walk-ins fill the gaps ("booked_first"). The estimators, each given the same events
and a fresh instance per day:

* ``kiosk``: ``kiosk.domain.eta.WaitEstimator``, when that module imports, told the calling
  rule of the scenario's practice (after);
* ``kiosk-arrival``: the same told ``calling_rule="arrival"`` (one line, today's rule before
  the setting existed: before), where the scenario's practice calls otherwise;
* ``before``: with ``--before FILE``, the ``WaitEstimator`` of another copy of
  ``kiosk/domain/eta.py`` (say, ``git show HEAD~1:kiosk/domain/eta.py > /tmp/eta_before.py``),
  given the same settings without the calling rule;
* ``naive``: the baseline below, the place in the provider's line of present patients times the
  provider's historical mean consultation.

Scored is the median estimate each checked-in patient is shown at check-in, against the wait that
followed (call time minus check-in time): mean absolute error, 90th percentile absolute error,
share within 5 minutes, share whose wait exceeded the upper bound by more than 5 minutes, and the
mean signed error (bias; positive: the estimate was too long) and how much lower the MAE is
than the naive baseline's on the same patients: overall, for walk-ins and booked patients, and
by length of the wait. Then the targets, and the time of one ``estimate()`` call (median over
fresh instances; the events are fed untimed) for a mid-day state in which one provider has 40
patients in the day, and for a lobby of 6 providers with 40 patients waiting.

Targets (issue), for the estimator under test: base (and base-fill) MAE <= 5.0 min, >= 65%
within 5 min, P90 <= 13 min, upper bound exceeded by more than 5 min for <= 10%, MAE at least
30% below the naive baseline's; stress (and stress-fill) MAE <= 8.5 min, upper bound exceeded
by more than 5 min for <= 10%, MAE at least 25% below naive's; estimate() for the lobby of 6
providers and 40 patients <= 10 ms. This prints figures and met/MISSED; it does not fail. Run
from the repository root:

    .venv/bin/python bench/eta.py [--days N] [--scenario NAME|both|fill|all] [--estimator NAME]
                                  [--before FILE] [--scenario base --duration-cv CV]
"""

from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import multiprocessing.pool
import os
import platform
import shlex
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
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
    EVENT_CLASS,
    SCENARIOS,
    SESSION_START,
    Estimate,
    Estimator,
    History,
    ProviderSpec,
    QueueEvent,
    Scenario,
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
LOBBY_PROVIDERS = 6
LOBBY_WAITING = 40
TARGETS = {  # scenario kind: MAE, within 5 min, P90, over the bound, MAE below naive's
    "base": (5.0, 0.65, 13.0, 0.10, 0.30),
    "stress": (8.5, None, None, 0.10, 0.25),
}


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


def practice_settings(history: History) -> dict[str, object]:
    """The practice's rules, as the app passes them from its settings: on time means within
    5 minutes of the slot here (the simulator's rule), and calls come at most 15 minutes early.
    And its habits, as the app learns them from past days
    (kiosk.services.waits.practice_habits): the usual day's, which is the base scenario's, also
    on a stress day."""
    usual = BASE
    return dict(late_after_minutes=usual.grace_minutes,
                early_call_minutes=usual.early_call_minutes,
                show_rate=1 - usual.no_show_rate, arrival_offset_mean=usual.offset_mean,
                arrival_offset_sd=usual.offset_sd, late_start_minutes=usual.late_start_mean,
                walk_in_rates=usual_walk_in_rates(list(history)))


def kiosk_estimator(history: History, scenario: Scenario, rule: str | None = None) -> Estimator:
    """The kiosk's estimator, told the practice's calling rule (``rule``: another one)."""
    from kiosk.domain.eta import WaitEstimator

    estimator: Estimator = WaitEstimator(history, calling_rule=rule or scenario.calling_rule,
                                         **practice_settings(history))
    return estimator


def kiosk_arrival(history: History, scenario: Scenario) -> Estimator:
    return kiosk_estimator(history, scenario, "arrival")


BEFORE_FILE: str | None = None  # --before, set in every worker process


def before_estimator(history: History, scenario: Scenario) -> Estimator:
    """``WaitEstimator`` from the file given with ``--before``, without the calling rule."""
    assert BEFORE_FILE is not None
    spec = importlib.util.spec_from_file_location("eta_before", BEFORE_FILE)
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("eta_before")
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["eta_before"] = module
        spec.loader.exec_module(module)
    estimator: Estimator = module.WaitEstimator(history, **practice_settings(history))
    return estimator


def naive_estimator(history: History, scenario: Scenario) -> Estimator:
    return NaiveEstimator(history)


def oracle(history: History, scenario: Scenario) -> Estimator:
    from bench.oracle import OracleEstimator

    return OracleEstimator(history, scenario)


ScenarioFactory = Callable[[History, Scenario], Estimator]
ESTIMATORS: dict[str, tuple[ScenarioFactory, str]] = {
    "kiosk": (kiosk_estimator, "kiosk.domain.eta.WaitEstimator, the practice's calling rule"),
    "kiosk-arrival": (kiosk_arrival, "kiosk.domain.eta.WaitEstimator, calling_rule='arrival' "
                                     "(only where the practice calls otherwise)"),
    "before": (before_estimator, "WaitEstimator of --before FILE"),
    "naive": (naive_estimator, "place in line x historical mean (bench/eta.py)"),
    "oracle": (oracle, "the floor: knows the day's true parameters and state, not the draws "
                       "to come; median of 200 replays, P90 bound (bench/oracle.py; slow)"),
}
BASELINE = "naive"
NOT_IN_ALL = ("oracle",)  # slow: asked for by name
NOT_TIMED = ("oracle",)  # it reads the simulated day's state: no estimate() outside a day


def runs_in(name: str, scenario: Scenario) -> bool:
    """kiosk-arrival only where it differs from kiosk."""
    return name != "kiosk-arrival" or scenario.calling_rule != "arrival"


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
    walk_in: np.ndarray
    unanswered: int
    missing: int
    extra: int
    calls: int
    seconds: float

    @staticmethod
    def merge(parts: Iterable[Outcome]) -> Outcome:
        parts = list(parts)
        return Outcome(*(np.concatenate([getattr(p, name) for p in parts])
                         for name in ("median", "upper", "actual", "walk_in")),
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


def run_days(task: tuple[str, list[int], list[str], float | None, str | None]) -> Batch:
    global BEFORE_FILE
    scenario_name, seeds, names, duration_cv, BEFORE_FILE = task
    scenario = SCENARIOS[scenario_name]
    if duration_cv is not None:  # what-if: consultations (and their history) spread this much
        scenario = replace(scenario, duration_cv=duration_cv, history_cv=duration_cv)

    def bound(factory: ScenarioFactory) -> Callable[[History], Estimator]:
        return lambda history: factory(history, scenario)

    factories = {name: bound(ESTIMATORS[name][0]) for name in names}
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
                np.array([s.walk_in for s in run.scored], dtype=bool),
                run.unanswered, run.missing, run.extra, run.calls, run.seconds))
    return Batch(len(seeds), visits, no_shows, walk_ins, events,
                 {name: Outcome.merge(outcomes) for name, outcomes in parts.items()})


def run_scenario(scenario_name: str, days: int, names: list[str],
                 pool: multiprocessing.pool.Pool, duration_cv: float | None = None,
                 before: str | None = None) -> Batch:
    seeds = list(range(days))
    names = [name for name in names if runs_in(name, SCENARIOS[scenario_name])]
    tasks = [(scenario_name, seeds[i:i + DAYS_PER_TASK], names, duration_cv, before)
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

    def row(self, label: str, naive: Metrics | None = None) -> str:
        better = f"{1 - self.mae / naive.mae:>+8.0%}" if naive is not None and naive.mae else ""
        return (f"  {label:<16}{self.n:>8}  {self.mae:>6.2f}  {self.p90:>6.1f}  "
                f"{self.within:>7.1%}  {self.over_upper:>7.1%}  {self.bias:>+6.2f}{better}")


def band_label(low: float, high: float) -> str:
    return f"{low:.0f}+ min" if high == float("inf") else f"{low:.0f}-{high:.0f} min"


def segments(outcome: Outcome) -> list[tuple[str, np.ndarray | None]]:
    rows: list[tuple[str, np.ndarray | None]] = [
        ("", None), ("  walk-ins", outcome.walk_in), ("  booked", ~outcome.walk_in)]
    rows += [(f"  {band_label(low, high)}", (outcome.actual >= low) & (outcome.actual < high))
             for low, high in BANDS]
    return rows


def print_scenario(name: str, batch: Batch) -> dict[str, dict[str, Metrics]]:
    """Prints the scenario's figures; returns them per estimator and segment."""
    actual = next(iter(batch.outcomes.values())).actual
    rule = SCENARIOS[name].calling_rule
    print(f"\n== {name} (the practice calls by {rule!r}): {batch.days} days; per day "
          f"{batch.visits / batch.days:.1f} visits "
          f"(booked + walk-ins), {batch.no_shows / batch.days:.1f} no-shows, "
          f"{batch.walk_ins / batch.days:.1f} walk-ins, {batch.events / batch.days:.0f} events; "
          f"actual wait mean {actual.mean():.1f} min, median {np.median(actual):.1f}, "
          f"P90 {np.percentile(actual, 90):.1f}, max {actual.max():.0f}")
    print(f"  {'':<16}{'scored':>8}  {'MAE':>6}  {'P90':>6}  {'within5':>7}  {'>upper5':>7}  "
          f"{'bias':>6}  {'vs naive':>7}   (minutes; within5 = |error| <= 5; >upper5 = wait > "
          "upper + 5; vs naive = how much lower the MAE is)")
    found: dict[str, dict[str, Metrics]] = {}
    naive = batch.outcomes.get(BASELINE)
    for estimator, outcome in batch.outcomes.items():
        found[estimator] = {}
        for label, mask in segments(outcome):
            metrics = Metrics.of(outcome, mask)
            baseline = Metrics.of(naive, mask) if naive is not None else None
            found[estimator][label.strip() or "overall"] = metrics
            print(metrics.row(label or estimator, baseline if estimator != BASELINE else None))
        calls = max(outcome.calls, 1)
        print(f"  {'':<16}estimate() {outcome.seconds / calls * 1000:.3f} ms per call in the "
              f"simulation ({outcome.calls} calls)")
        if outcome.unanswered or outcome.missing or outcome.extra:
            print(f"  {'':<16}CONTRACT: {outcome.unanswered} check-ins had no estimate of their "
                  f"own; {outcome.missing} other waiting visits missing and {outcome.extra} "
                  f"entries for visits not waiting, summed over calls")
    return found


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def print_targets(name: str, results: Mapping[str, Mapping[str, Mapping[str, Metrics]]],
                  timing_ms: float | None) -> None:
    """The issue's targets, for each scenario that ran (base-fill as base, stress-fill as
    stress), overall and the same figures for walk-ins and booked patients."""
    print(f"\ntargets for {name}:")
    lines: list[tuple[str, str, bool]] = []
    for scenario, found in results.items():
        if name not in found:
            continue
        mae, within, p90, over, below = TARGETS[scenario.split("-")[0]]
        for segment in ("overall", "walk-ins", "booked"):
            own, naive = found[name][segment], found.get(BASELINE, {}).get(segment)
            label = f"{scenario} {segment}"
            lines.append((f"{label} MAE <= {mae}", f"{own.mae:.2f}", own.mae <= mae))
            if within is not None:
                lines.append((f"{label} within 5 min >= {within:.0%}", f"{own.within:.1%}",
                              own.within >= within))
            if p90 is not None:
                lines.append((f"{label} P90 |error| <= {p90:.0f}", f"{own.p90:.1f}",
                              own.p90 <= p90))
            lines.append((f"{label} wait > upper + 5 <= {over:.0%}", f"{own.over_upper:.1%}",
                          own.over_upper <= over))
            if naive is not None and naive.mae:
                lower = 1 - own.mae / naive.mae
                lines.append((f"{label} MAE >= {below:.0%} below naive",
                              f"{lower:.0%} ({own.mae:.2f} vs {naive.mae:.2f})", lower >= below))
    if timing_ms is not None:
        lines.append((f"estimate(), {LOBBY_PROVIDERS} providers {LOBBY_WAITING} waiting "
                      "<= 10 ms", f"{timing_ms:.3f} ms", timing_ms <= 10.0))
    for label, value, ok in lines:
        print(f"  {label:<46}{value:<24}{verdict(ok)}")


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


def lobby_events() -> list[QueueEvent]:
    """A busy lobby at 10:00: 6 providers booked every 15 minutes from 08:00 to 12:00, each in a
    consultation that started at 09:47 and running about 30 minutes behind; 30 booked patients
    here (slots 09:45 to 10:45, five a provider, the later ones early) and 10 walk-ins (4 for
    anyone); the book's 11:00 to 11:45 patients not here yet."""
    event = EVENT_CLASS
    now = at(TIMING_NOW)
    events: list[QueueEvent] = []
    providers = [f"P{n}" for n in range(1, LOBBY_PROVIDERS + 1)]
    for provider in providers:
        events.append(event("session", at(SESSION_START), provider_id=provider,
                            session_end=at(12 * 60.0)))
        for slot in range(8 * 60, 12 * 60, 15):
            events.append(event("booked", at(7 * 60 + 30.0), visit_id=f"{provider}-{slot}",
                                provider_id=provider, scheduled_start=at(slot)))
    timed: list[QueueEvent] = []
    for provider in providers:
        free = SESSION_START + 5
        for slot in range(8 * 60, 9 * 60 + 45, 15):  # seen, or in the room now
            visit = f"{provider}-{slot}"
            timed.append(event("checked_in", at(slot - 8.0), visit_id=visit))
            called = max(free, slot)
            timed.append(event("called", at(called), visit_id=visit, provider_id=provider))
            free = called + 17
            if free <= TIMING_NOW:
                timed.append(event("finished", at(free), visit_id=visit, provider_id=provider))
        for slot in range(9 * 60 + 45, 11 * 60, 15):  # waiting
            timed.append(event("checked_in", at(min(slot - 10.0, TIMING_NOW - 1)),
                               visit_id=f"{provider}-{slot}"))
    for n in range(LOBBY_WAITING - 5 * LOBBY_PROVIDERS):
        provider = None if n % 5 in (1, 3) or n >= 2 * LOBBY_PROVIDERS else providers[n % 6]
        moment = at(9 * 60 + 5.0 * n + 2)
        timed.append(event("walk_in", moment, visit_id=f"W{n}", provider_id=provider))
        timed.append(event("checked_in", moment, visit_id=f"W{n}"))
    timed.sort(key=lambda e: e.at)
    events += [e for e in timed if e.at <= now]
    waiting = ({e.visit_id for e in events if e.kind == "checked_in"}
               - {e.visit_id for e in events if e.kind == "called"})
    assert len(waiting) == LOBBY_WAITING, len(waiting)
    return events


def time_estimate(factory: Callable[[History], Estimator], history: History,
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


SCENARIO_SETS = {"both": ["base", "stress"], "fill": ["base-fill", "stress-fill"],
                 "all": ["base", "stress", "base-fill", "stress-fill"]}


def main() -> None:
    global BEFORE_FILE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=200, help="days per scenario (seeds 0..N-1)")
    parser.add_argument("--scenario", choices=(*SCENARIOS, *SCENARIO_SETS), default="all")
    parser.add_argument("--estimator", default="all",
                        help=f"one of {', '.join((*ESTIMATORS, 'all'))}, or several with "
                             "commas (say kiosk,oracle,naive); all leaves out "
                             f"{', '.join(NOT_IN_ALL)}")
    parser.add_argument("--before", metavar="FILE", default=None,
                        help="also score the WaitEstimator of this copy of kiosk/domain/eta.py")
    parser.add_argument("--duration-cv", type=float, default=None,
                        help="what-if for the base scenario: consultation times (and the "
                             "history) with this coefficient of variation instead of 0.5")
    args = parser.parse_args()
    if args.duration_cv is not None and args.scenario != "base":
        parser.error("--duration-cv goes with --scenario base")
    BEFORE_FILE = str(Path(args.before).resolve()) if args.before else None
    started = time.perf_counter()

    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}, SimPy {simpy.__version__}, "
          f"NumPy {np.__version__}; {WORKERS} worker processes")

    names = [name for name in ESTIMATORS if name not in NOT_IN_ALL] \
        if args.estimator == "all" else args.estimator.split(",")
    if unknown := [name for name in names if name not in ESTIMATORS]:
        parser.error(f"unknown estimator {', '.join(unknown)}")
    if BEFORE_FILE is None and "before" in names:
        if args.estimator == "before":
            parser.error("--estimator before needs --before FILE")
        names.remove("before")
    kiosk_names = [name for name in names if name.startswith("kiosk")]
    if kiosk_names and (error := kiosk_import_error()) is not None:
        if all(name.startswith("kiosk") for name in names):
            sys.exit(f"kiosk.domain.eta.WaitEstimator does not import: {error}")
        print(f"note: kiosk.domain.eta.WaitEstimator does not import ({error}); "
              "without it")
        names = [name for name in names if name not in kiosk_names]
    for name in names:
        print(f"estimator {name}: {ESTIMATORS[name][1]}")

    scenarios = SCENARIO_SETS.get(args.scenario, [args.scenario])
    results: dict[str, dict[str, dict[str, Metrics]]] = {}
    with multiprocessing.Pool(WORKERS) as pool:
        for scenario in scenarios:
            results[scenario] = print_scenario(scenario,
                                               run_scenario(scenario, args.days, names, pool,
                                                            args.duration_cv, BEFORE_FILE))

    history = make_history(BASE, 7)
    states = [("midday", "at 10:00, P1 with 40 patients in the day", midday_events(), history),
              ("lobby", f"at 10:00, a lobby of {LOBBY_PROVIDERS} providers with "
                        f"{LOBBY_WAITING} patients waiting", lobby_events(),
               {f"P{n}": history[f"P{1 + (n - 1) % len(history)}"]
                for n in range(1, LOBBY_PROVIDERS + 1)})]
    lobby_ms: dict[str, float] = {}
    for label, what, events, state_history in states:
        waiting = ({e.visit_id for e in events if e.kind == "checked_in"}
                   - {e.visit_id for e in events if e.kind == "called"})
        print(f"\nestimate() {what} ({len(events)} events fed, {len(waiting)} patients waiting "
              f"in the practice), median over {TIMING_REPEATS} fresh instances:")
        for name in names:
            if name in NOT_TIMED:
                continue
            rules = ["booked_first", "arrival"] if name == "kiosk" else [None]
            for rule in rules:
                scenario = BASE if rule in (None, "arrival") else SCENARIOS["base-fill"]
                factory = ESTIMATORS[name][0]

                def bound(history: History, factory: ScenarioFactory = factory,
                          scenario: Scenario = scenario) -> Estimator:
                    return factory(history, scenario)

                timing_ms = time_estimate(bound, state_history, events)
                shown = name if rule is None else f"{name} ({rule})"
                print(f"  {shown:<24}{timing_ms:.3f} ms")
                if label == "lobby":
                    lobby_ms[name] = max(lobby_ms.get(name, 0.0), timing_ms)
    for name in names:
        if name != BASELINE:
            print_targets(name, results, lobby_ms.get(name))
    if names == [BASELINE]:
        print("\n(no estimator under test: targets are for kiosk.domain.eta.WaitEstimator)")
    print(f"\nelapsed: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
