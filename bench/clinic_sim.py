"""One simulated primary-care morning (SimPy), for scoring wait-time estimators.

``simulate_day(scenario, seed, estimators, history)`` runs one day, feeds every queue event to a
fresh instance of each estimator (all get the same events, in the same order) and scores the
estimate each one gives a patient at the moment of check-in, which is what the kiosk shows,
against the wait that followed (the call time minus the check-in time). ``bench/eta.py`` is the
report that runs many days.

The day
-------
Times are minutes after midnight of one Monday (Europe/Berlin). The doors and the kiosk open at
07:30; every provider has one booked session, 08:00-12:00, in slots of 10, 15 or 20 minutes.

* Bookings: each slot is booked with probability ``booked_share``; a booked patient does not come
  with probability ``no_show_rate``. The others arrive at the slot time plus a normal offset
  (negative is early); a share ``very_late_share`` arrive instead 15-45 minutes late, and anyone
  more than 30 minutes late is turned away and counts as a no-show. A patient arriving before
  07:30 checks in at 07:30.
* Walk-ins: a Poisson process, busier in the first hour (07:30-08:30) than later, taken until
  11:30. A share ``walk_in_any_share`` will see any provider; the others ask for one provider
  (uniformly chosen).
* Consultations: lognormal, with a provider-specific mean (``pace`` times the slot length: some
  providers are slower than their book) and one coefficient of variation for the day, clipped at
  three times the provider's mean (a rare draw of over two hours is not a primary-care
  consultation). There is no gap between one patient's end and the next call (assumption).
* Providers start their session late by an exponential delay. In the stress scenario one
  provider, chosen at random, stops once for 20-35 minutes somewhere between 09:00 and 11:00
  (after finishing the patient in the room).
* Queue discipline: a free provider looks at the present patients who are theirs, plus the
  walk-ins for any provider. Each has a key: the slot time for a booked patient who arrived no
  later than 5 minutes after it, otherwise the arrival time (late patients and walk-ins). A
  patient is callable once the key is at most ``early_call_minutes`` ahead of the clock. The
  provider calls, among the callable, by the scenario's ``calling_rule``:
  - ``"arrival"`` (base, stress): the earliest key; ties go to the earlier check-in;
  - ``"booked_first"`` (base-fill, stress-fill: booked patients who are due go first, walk-ins
    fill the gaps): booked patients whose slot has come (on time or late) by key, then
    walk-ins by arrival, then booked patients here before their slot by key.
  With nobody callable the provider waits for the next one to become callable or for the next
  check-in, whichever is first. Providers keep calling after 12:00 until nobody is left.

Events fed to estimators (the contract in ``kiosk/domain/eta.py``)
-----------------------------------------------------------
At 07:30, before anything else: one ``session`` per provider (``at`` = the booked session start,
08:00, ``session_end`` = 12:00; not when the provider really starts), then one ``booked`` per
appointment (``at`` = 07:30, ``visit_id``, ``provider_id``, ``scheduled_start``), by provider and
then slot. After that, in time order:

* ``walk_in`` (``visit_id``, ``provider_id`` or None for any provider) immediately followed by
  ``checked_in`` for the same visit and time;
* ``checked_in`` for a booked patient who arrives (at 07:30 for those who came earlier);
* ``called`` (``visit_id``, ``provider_id`` = the provider who called: for an any-provider
  walk-in, whoever took it) and, later, ``finished`` (same fields) when that consultation ends; a
  provider's ``finished`` comes before the ``called`` of the next patient, at the same time;
* ``no_show`` at slot time + 30 minutes for a booked patient who has not checked in.

No ``cancelled`` events are sent; the late start and the interruption are not announced. The
estimate is requested right after the ``checked_in`` event is fed: ``estimate(now)[visit_id]``.

History
-------
``make_history`` draws, per provider, 200 past consultation durations from that provider's usual
distribution (``history_pace`` and ``history_cv``), from its own random stream of the day's seed.
In the stress scenario reality is harsher than that history: consultations spread more (CV 0.7
where the records show 0.5) and P5 takes 1.5 times the slot where the records say 1.25; besides,
more walk-ins, no-shows and unpunctuality, later starts and one interruption.

Parameters and sources
----------------------
[CV03] Cayirli T, Veral E. Outpatient scheduling in health care: a review of literature.
       Production and Operations Management 2003;12(4):519-549.
[CVR06] Cayirli T, Veral E, Rosen H. Designing appointment scheduling systems for ambulatory care
       services. Health Care Management Science 2006;9(1):47-58.
[KR96] Klassen KJ, Rohleder TR. Scheduling outpatient appointments in a dynamic environment.
       Journal of Operations Management 1996;14(2):83-101.
[BP64] Blanco White MJ, Pike MC. Appointment systems in out-patients' clinics and the effect of
       patients' unpunctuality. Medical Care 1964;2(3):133-145.
[D18]  Dantas LF, Fleck JL, Cyrino Oliveira FL, Hamacher S. No-shows in appointment scheduling -
       a systematic literature review. Health Policy 2018;122(4):412-421.

* Consultation times: right-skewed and commonly modelled as lognormal in outpatient simulation
  studies [CV03, KR96, CVR06]. The coefficient of variation of 0.5 (0.7 under stress) is our
  choice within the range those studies use; provider means of 0.85-1.25 times the slot length
  (pace differences: two of five providers 20-25% slower than their book; under stress one is
  1.5 times while its history still says 1.25) and the clipping at three times the mean (it
  affects about 0.5% of consultations at CV 0.5, 2% at CV 0.7) are assumptions.
* Slots of 10, 15 and 20 minutes, one morning session per provider, 85% of slots booked:
  assumption (a typical primary-care book with some room for same-day patients).
* No-shows: [D18] finds an average no-show rate of the order of 23% across 105 studies (lowest by
  continent 13.2%, Oceania). Base 15%, stress 20%: assumption within that range.
* Punctuality: patients are more often early than late [CV03]; [BP64] is the classic measurement
  of outpatients' unpunctuality. Offset normal with mean -8 min and SD 12 min (stress: -5 and 18),
  with 5% very late (stress 10%): assumption consistent with those findings.
* Walk-ins: part of the environment appointment systems must absorb [CV03]; urgent same-day
  patients arriving during the session are modelled in [KR96]. The rates (5 per hour from 07:30
  to 08:30, 2 per hour until 11:30: about 11 a morning, ~16% of the patients seen; stress x1.5)
  and the 40% share for any provider: assumption.
* Providers starting late and interruptions during the session are documented causes of waiting
  [CV03]. Mean late start 4 min (stress 10 min) and the 20-35 minute interruption: assumption.
* Calling a present patient up to 15 minutes before the slot time when the provider is free, and
  the 5-minute grace for keeping one's slot: assumption (common practice).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import numpy as np
import simpy

DAY = datetime(2026, 3, 2, tzinfo=ZoneInfo("Europe/Berlin"))  # a Monday, far from DST
OPENING = 7 * 60 + 30.0
SESSION_START = 8 * 60.0
SESSION_END = 12 * 60.0
WALK_INS_UNTIL = 11 * 60 + 30.0
NO_SHOW_AFTER = 30.0  # minutes after the slot time
LONGEST = 3.0  # consultation times are clipped at this multiple of the provider's mean
HISTORY_SIZE = 200


def at(minutes: float) -> datetime:
    """The moment ``minutes`` after midnight of the simulated day."""
    return DAY + timedelta(minutes=minutes)


# The estimator contract (kiosk/domain/eta.py). The harness sends kiosk.domain.eta's own
# QueueEvent when that
# module imports, so an estimator may match on the class; this copy lets the harness run without.
@dataclass(frozen=True)
class QueueEvent:
    kind: str
    at: datetime
    visit_id: str | None = None
    provider_id: str | None = None
    scheduled_start: datetime | None = None
    session_end: datetime | None = None


@dataclass(frozen=True)
class WaitEstimate:
    median_minutes: float
    upper_minutes: float


def _event_class() -> Callable[..., QueueEvent]:
    try:
        from kiosk.domain.eta import QueueEvent as KioskQueueEvent
    except Exception:  # not written yet, or broken: bench/eta.py reports which
        return QueueEvent
    return KioskQueueEvent


EVENT_CLASS = _event_class()


class Estimate(Protocol):
    @property
    def median_minutes(self) -> float: ...

    @property
    def upper_minutes(self) -> float: ...


class Estimator(Protocol):
    def observe(self, event: QueueEvent) -> None: ...

    def estimate(self, now: datetime) -> Mapping[str, Estimate]: ...


History = Mapping[str, Sequence[float]]
EstimatorFactory = Callable[[History], Estimator]


@dataclass(frozen=True)
class ProviderSpec:
    provider_id: str
    slot_minutes: int
    pace: float  # mean consultation / slot length on the simulated day
    history_pace: float | None = None  # what the past records show; None: the same as ``pace``

    @property
    def mean_minutes(self) -> float:
        return self.pace * self.slot_minutes

    @property
    def history_mean_minutes(self) -> float:
        return (self.history_pace or self.pace) * self.slot_minutes


@dataclass(frozen=True)
class Interruption:
    window: tuple[float, float]  # it starts uniformly in this span (minutes after midnight)
    minutes: tuple[float, float]  # its length, uniform


@dataclass(frozen=True)
class Scenario:
    name: str
    providers: tuple[ProviderSpec, ...]
    duration_cv: float
    history_cv: float
    booked_share: float
    no_show_rate: float
    offset_mean: float  # arrival minus slot time, minutes (negative: early)
    offset_sd: float
    very_late_share: float
    very_late_minutes: tuple[float, float]
    walk_in_rates: tuple[tuple[float, float, float], ...]  # (from, until, patients per hour)
    walk_in_any_share: float
    late_start_mean: float  # exponential, minutes
    early_call_minutes: float
    grace_minutes: float
    interruption: Interruption | None = None
    calling_rule: str = "arrival"  # or "booked_first"; see the module docstring


BASE = Scenario(
    name="base",
    providers=(
        ProviderSpec("P1", 15, 0.9),
        ProviderSpec("P2", 15, 1.2),
        ProviderSpec("P3", 10, 1.0),
        ProviderSpec("P4", 20, 0.85),
        ProviderSpec("P5", 15, 1.25),
    ),
    duration_cv=0.5,
    history_cv=0.5,
    booked_share=0.85,
    no_show_rate=0.15,
    offset_mean=-8.0,
    offset_sd=12.0,
    very_late_share=0.05,
    very_late_minutes=(15.0, 45.0),
    walk_in_rates=((OPENING, 8 * 60 + 30.0, 5.0), (8 * 60 + 30.0, WALK_INS_UNTIL, 2.0)),
    walk_in_any_share=0.4,
    late_start_mean=4.0,
    early_call_minutes=15.0,
    grace_minutes=5.0,
)

STRESS = replace(
    BASE,
    name="stress",
    providers=(*BASE.providers[:4], ProviderSpec("P5", 15, 1.5, history_pace=1.25)),
    duration_cv=0.7,
    no_show_rate=0.2,
    offset_mean=-5.0,
    offset_sd=18.0,
    very_late_share=0.10,
    walk_in_rates=tuple((start, end, rate * 1.5) for start, end, rate in BASE.walk_in_rates),
    late_start_mean=10.0,
    interruption=Interruption(window=(9 * 60.0, 11 * 60.0), minutes=(20.0, 35.0)),
)

# The same days in a practice where booked patients who are due go first and walk-ins fill gaps.
BASE_FILL = replace(BASE, name="base-fill", calling_rule="booked_first")
STRESS_FILL = replace(STRESS, name="stress-fill", calling_rule="booked_first")

SCENARIOS: dict[str, Scenario] = {scenario.name: scenario for scenario in
                                  (BASE, STRESS, BASE_FILL, STRESS_FILL)}


def consultation_minutes(rng: np.random.Generator, mean: float, cv: float,
                         size: int | None = None) -> Any:
    """Lognormal draws with the given mean and coefficient of variation, clipped at
    ``LONGEST`` times the mean."""
    sigma2 = math.log1p(cv * cv)
    draws = rng.lognormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), size)
    return np.minimum(draws, LONGEST * mean)


def make_history(scenario: Scenario, seed: int, size: int = HISTORY_SIZE) -> dict[str, list[float]]:
    """Past consultation durations (minutes) per provider, from their usual distribution."""
    rng = np.random.default_rng([seed, 2])
    return {spec.provider_id: [round(float(x), 2) for x in
                               consultation_minutes(rng, spec.history_mean_minutes,
                                                    scenario.history_cv, size)]
            for spec in scenario.providers}


def usual_walk_in_rates(provider_ids: Sequence[str], scenario: Scenario | None = None
                        ) -> dict[str | None, list[float]]:
    """The walk-ins a practice's records show, as ``kiosk.domain.eta`` takes them: per hour of day,
    for each provider (None: for anyone). The usual day is the base scenario's, whatever the
    day brings (the stress day has more walk-ins than the records say)."""
    s = scenario or BASE
    hourly = [0.0] * 24
    for start, end, per_hour in s.walk_in_rates:
        for hour in range(24):
            overlap = min(end, (hour + 1) * 60.0) - max(start, hour * 60.0)
            if overlap > 0:
                hourly[hour] += per_hour * overlap / 60
    own = (1 - s.walk_in_any_share) / len(provider_ids)
    rates: dict[str | None, list[float]] = {pid: [r * own for r in hourly] for pid in provider_ids}
    rates[None] = [r * s.walk_in_any_share for r in hourly]
    return rates


@dataclass(frozen=True)
class Scored:
    """One estimate shown at check-in, and the wait that followed (minutes)."""

    visit_id: str
    walk_in: bool
    provider_id: str  # who called the patient
    checked_in: float  # minutes after midnight
    actual: float
    median: float
    upper: float


@dataclass
class EstimatorRun:
    scored: list[Scored] = field(default_factory=list)
    unanswered: int = 0  # check-ins whose own estimate was missing
    missing: int = 0  # other waiting visits missing from an answer, summed over check-ins
    extra: int = 0  # entries for visits not waiting, summed over check-ins
    calls: int = 0
    seconds: float = 0.0  # inside estimate()
    pending: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass
class Day:
    scenario: str
    seed: int
    events: int
    booked: int
    no_shows: int  # including those turned away for being too late
    walk_ins: int
    runs: dict[str, EstimatorRun]


@dataclass
class _Visit:
    visit_id: str
    provider_id: str | None  # None: a walk-in for any provider
    scheduled: float | None  # None: a walk-in
    arrival: float | None  # None: never checks in
    key: float = math.inf
    checked_in: float | None = None
    seq: int = 0


@dataclass
class ProviderNow:
    """What the simulation knows of a provider at this moment (for the oracle in bench/eta.py,
    which may look at the day's state; the estimators under test see only the events)."""

    started: bool = False  # has begun the session (first decision taken)
    called_at: float | None = None  # the patient in the room since then (None: free or paused)
    paused_from: float | None = None  # the interruption taken, when it began
    last_decision: float | None = None  # the last moment the provider looked for a patient


class _ClinicDay:
    def __init__(self, scenario: Scenario, seed: int,
                 estimators: Mapping[str, Estimator]) -> None:
        self.scenario = scenario
        self.rng = np.random.default_rng([seed, 1])
        self.env = simpy.Environment(initial_time=OPENING)
        self.estimators = dict(estimators)
        self.runs = {name: EstimatorRun() for name in self.estimators}
        self.event = EVENT_CLASS
        self.events = 0
        self.waiting: dict[str, _Visit] = {}
        self.provider_now = {spec.provider_id: ProviderNow() for spec in scenario.providers}
        self.changed = self.env.event()
        self.booked = self._book()
        self.walk_ins = self._walk_ins()

    # The day's population, drawn before it starts.

    def _book(self) -> list[_Visit]:
        s, rng = self.scenario, self.rng
        visits = []
        for spec in s.providers:
            for start in np.arange(SESSION_START, SESSION_END, spec.slot_minutes):
                if rng.random() >= s.booked_share:
                    continue
                slot = float(start)
                arrival: float | None = None
                if rng.random() >= s.no_show_rate:
                    if rng.random() < s.very_late_share:
                        offset = rng.uniform(*s.very_late_minutes)
                    else:
                        offset = rng.normal(s.offset_mean, s.offset_sd)
                    if offset <= NO_SHOW_AFTER:
                        arrival = slot + float(offset)
                hhmm = f"{int(slot) // 60:02d}{int(slot) % 60:02d}"
                visits.append(_Visit(f"{spec.provider_id}-{hhmm}", spec.provider_id, slot, arrival))
        return visits

    def _walk_ins(self) -> list[_Visit]:
        s, rng = self.scenario, self.rng
        times: list[float] = []
        for start, end, per_hour in s.walk_in_rates:
            count = rng.poisson(per_hour * (end - start) / 60)
            times.extend(float(t) for t in rng.uniform(start, end, count))
        ids = [spec.provider_id for spec in s.providers]
        return [_Visit(f"W{n:02d}",
                       None if rng.random() < s.walk_in_any_share else str(rng.choice(ids)),
                       None, t)
                for n, t in enumerate(sorted(times), start=1)]

    # Events, and the estimates asked for at check-in.

    def _emit(self, kind: str, minutes: float | None = None, **fields: Any) -> None:
        event = self.event(kind=kind, at=at(self.env.now if minutes is None else minutes),
                           **fields)
        self.events += 1
        for estimator in self.estimators.values():
            estimator.observe(event)

    def _ask(self, visit: _Visit) -> None:
        now = at(self.env.now)
        for name, estimator in self.estimators.items():
            run = self.runs[name]
            started = time.perf_counter()
            answer = estimator.estimate(now)
            run.seconds += time.perf_counter() - started
            run.calls += 1
            keys = set(answer)
            run.missing += len(self.waiting.keys() - keys - {visit.visit_id})
            run.extra += len(keys - self.waiting.keys())
            if visit.visit_id in answer:
                estimate = answer[visit.visit_id]
                run.pending[visit.visit_id] = (float(estimate.median_minutes),
                                               float(estimate.upper_minutes))
            else:
                run.unanswered += 1

    def _score(self, visit: _Visit, provider_id: str) -> None:
        assert visit.checked_in is not None
        for run in self.runs.values():
            if (shown := run.pending.pop(visit.visit_id, None)) is not None:
                run.scored.append(Scored(visit.visit_id, visit.scheduled is None, provider_id,
                                         visit.checked_in, self.env.now - visit.checked_in,
                                         *shown))

    # Processes.

    def _front_desk(self) -> Any:
        s = self.scenario
        timeline: list[tuple[float, int, _Visit]] = []
        for visit in (*self.booked, *self.walk_ins):
            if visit.arrival is not None:
                timeline.append((max(visit.arrival, OPENING), len(timeline), visit))
            else:
                assert visit.scheduled is not None
                timeline.append((visit.scheduled + NO_SHOW_AFTER, len(timeline), visit))
        timeline.sort(key=lambda item: (item[0], item[1]))
        for seq, (moment, _, visit) in enumerate(timeline):
            yield self.env.timeout(moment - self.env.now)
            if visit.arrival is None:
                self._emit("no_show", visit_id=visit.visit_id)
                continue
            visit.checked_in, visit.seq = self.env.now, seq
            on_time = (visit.scheduled is not None
                       and visit.arrival <= visit.scheduled + s.grace_minutes)
            visit.key = visit.scheduled if on_time and visit.scheduled is not None else self.env.now
            if visit.scheduled is None:
                self._emit("walk_in", visit_id=visit.visit_id, provider_id=visit.provider_id)
            self._emit("checked_in", visit_id=visit.visit_id)
            self.waiting[visit.visit_id] = visit
            self._ask(visit)
            changed, self.changed = self.changed, self.env.event()
            changed.succeed()

    def _next_for(self, provider_id: str) -> tuple[_Visit | None, float | None]:
        """Whom the provider calls now, by the scenario's calling rule (None: nobody is
        callable), and else when the next of their patients becomes callable."""
        now, early = self.env.now, self.scenario.early_call_minutes
        candidates = [v for v in self.waiting.values() if v.provider_id in (provider_id, None)]
        callable_now = [v for v in candidates if v.key - early <= now]
        if self.scenario.calling_rule == "booked_first":
            def rank(v: _Visit) -> tuple[int, float, int]:
                if v.scheduled is None:
                    return 1, v.key, v.seq
                return (0 if v.scheduled <= now else 2), v.key, v.seq
        else:
            def rank(v: _Visit) -> tuple[int, float, int]:
                return 0, v.key, v.seq
        chosen = min(callable_now, key=rank, default=None)
        if chosen is not None:
            return chosen, None
        return None, min((v.key - early for v in candidates), default=None)

    def _provider(self, spec: ProviderSpec, late_start: float,
                  pause: tuple[float, float] | None) -> Any:
        env = self.env
        state = self.provider_now[spec.provider_id]
        yield env.timeout(SESSION_START + late_start - env.now)
        state.started = True
        while True:
            if pause is not None and env.now >= pause[0]:
                state.paused_from = env.now
                yield env.timeout(pause[1])
                pause = None
            state.last_decision = env.now
            visit, wake_at = self._next_for(spec.provider_id)
            if visit is not None:
                del self.waiting[visit.visit_id]
                state.called_at = env.now
                self._emit("called", visit_id=visit.visit_id, provider_id=spec.provider_id)
                self._score(visit, spec.provider_id)
                duration = consultation_minutes(self.rng, spec.mean_minutes,
                                                self.scenario.duration_cv)
                yield env.timeout(float(duration))
                state.called_at = None
                self._emit("finished", visit_id=visit.visit_id, provider_id=spec.provider_id)
                continue
            wake = [self.changed]
            if wake_at is not None:
                wake.append(env.timeout(wake_at - env.now))
            if pause is not None:
                wake.append(env.timeout(pause[0] - env.now))
            yield env.any_of(wake)

    def run(self) -> None:
        s, rng = self.scenario, self.rng
        for spec in s.providers:
            self._emit("session", SESSION_START, provider_id=spec.provider_id,
                       session_end=at(SESSION_END))
        for visit in self.booked:
            assert visit.scheduled is not None
            self._emit("booked", visit_id=visit.visit_id, provider_id=visit.provider_id,
                       scheduled_start=at(visit.scheduled))
        paused = int(rng.integers(len(s.providers))) if s.interruption else -1
        for index, spec in enumerate(s.providers):
            late_start = float(rng.exponential(s.late_start_mean))
            pause = None
            if s.interruption is not None and index == paused:
                pause = (float(rng.uniform(*s.interruption.window)),
                         float(rng.uniform(*s.interruption.minutes)))
            self.env.process(self._provider(spec, late_start, pause))
        self.env.process(self._front_desk())
        self.env.run()
        assert not self.waiting, "every checked-in patient is called"


def simulate_day(scenario: Scenario, seed: int, estimators: Mapping[str, EstimatorFactory],
                 history: History | None = None) -> Day:
    """Run one day; every estimator gets its own instance, built with ``history``."""
    if history is None:
        history = make_history(scenario, seed)
    day = _ClinicDay(scenario, seed, {name: factory(history)
                                      for name, factory in estimators.items()})
    for estimator in day.estimators.values():  # the oracle looks at the day's state
        if (attach := getattr(estimator, "attach_day", None)) is not None:
            attach(day)
    day.run()
    for run in day.runs.values():
        assert not run.pending, "every estimate shown is scored"
    return Day(scenario.name, seed, day.events, len(day.booked),
               sum(visit.arrival is None for visit in day.booked), len(day.walk_ins), day.runs)
