"""Faults and abuse: scenarios that break things on purpose and count what survives.

One function per scenario, each taking its size: ``tests/system/test_faults.py`` runs them small
(``./dev test``) and asserts that nothing was lost, duplicated or crashed and no forged code was
accepted; ``bench/faults.py`` runs them at full size (``./dev bench``) and prints the figures.
Every scenario returns (and prints) :class:`Figures`.

1. :func:`checkin_storm`: many ``kiosk checkin`` processes on one database, a share of them
   SIGKILLed at random moments, some of them inside the check-in's write transaction
   (``tests/support/fault_cli.py`` pauses there to be killed).
2. :func:`sync_killed_mid_drain`: ``kiosk sync --watch`` SIGKILLed mid-drain, again and again,
   against the real FHIR server; every check-in must arrive upstream exactly once.
3. :func:`postgres_outage`: a private PostgreSQL server stopped and started under a running
   kiosk, reception and sync worker, with ``/healthz`` polled.
4. :func:`sqlite_bad_days`: a full disk, a read-only database, a writer holding the lock.
5. :func:`back_to_back_syncs`: two one-shot ``kiosk sync`` in a row (the second must not wait).
6. :func:`fuzz`: generated names, dates and codes through the flow's validators and the engine.
7. :func:`hostile_monitor`: slow, silent, disconnecting, malformed and many clients of
   ``/healthz``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

from kiosk.base.clock import FixedClock, RunningClock
from kiosk.domain import tokens
from kiosk.domain.flow import (
    CheckinRequest,
    InputProblem,
    KioskFlow,
    date_problem_field,
    validate_birth_date,
    validate_name,
)
from kiosk.domain.results import Outcome
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import InvalidTransition, QueueService
from kiosk.store.db import Database, DatabaseUnavailable
from kiosk.store.models import Appointment, OutboxItem, OutboxState, SyncStatus, Visit
from kiosk.store.site import SiteContext
from kiosk.sync.worker import SyncWorker
from tests.support.fhir_server import FhirServer, practice_day
from tests.support.pg_server import PostgresUnavailable, TempPostgres, create_database
from tests.support.site import PEOPLE, book, make_ctx, make_settings

REPOSITORY = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Europe/Berlin")
DAY = date(2026, 11, 23)
SUCCEEDED = ("checked_in", "already_checked_in")


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, second, tzinfo=TZ)


# -- figures ---------------------------------------------------------------------------------

@dataclass
class Figures:
    """What a scenario counted. ``problems`` says what each lost, duplicated, crashed or
    forged one was, for the test's message."""

    scenario: str
    database: str
    attempts: int = 0
    faults: int = 0
    lost: int = 0
    duplicated: int = 0
    crashed: int = 0
    forged_accepted: int = 0
    recovery_seconds: float | None = None
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def problem(self, kind: str, text: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.problems) < 40:
            self.problems.append(f"{kind}: {text}")

    def report(self) -> str:
        recovery = "-" if self.recovery_seconds is None else f"{self.recovery_seconds:.2f} s"
        head = (f"[{self.scenario} / {self.database}] attempts {self.attempts}, faults injected "
                f"{self.faults}, lost {self.lost}, duplicated {self.duplicated}, crashed "
                f"{self.crashed}, forged accepted {self.forged_accepted}, recovery {recovery}, "
                f"took {self.seconds:.1f} s")
        lines = [head] + [f"    {key}: {value}" for key, value in self.details.items()]
        lines += [f"    PROBLEM {text}" for text in self.problems]
        return "\n".join(lines)

    def show(self) -> Figures:
        print(self.report(), flush=True)
        return self


def kind_of(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def kiosk_env(fhir_url: str = "", **settings: str) -> dict[str, str]:
    """The environment of a kiosk process: none of the caller's KIOSK_ settings, no config file,
    the practice's time zone, and ``settings`` (as KIOSK_<NAME>)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("KIOSK_")}
    env.update({"KIOSK_CONFIG": "", "KIOSK_TIMEZONE": "Europe/Berlin",
                "KIOSK_FHIR_BASE_URL": fhir_url, "KIOSK_FHIR_TIMEOUT_SECONDS": "5"})
    env.update({f"KIOSK_{name.upper()}": value for name, value in settings.items()})
    return env


def kiosk_command(url: str, now: str, *args: str, module: str = "ui.launcher") -> list[str]:
    return [sys.executable, "-m", module, "--db", url, "--now", now, *args]


def unexpected_output(text: str) -> bool:
    """A traceback, or the kiosk's own log line for an exception nothing caught."""
    return "Traceback" in text or "kiosk.unexpected" in text or "unexpected error" in text


def synced_site(url: str, fhir: FhirServer, *, appointments: int, practitioners: int,
                clock: Any, **overrides: Any) -> SiteContext:
    """The FHIR server loaded with a practice day and a site that has pulled it, so that each
    check-in queues its write-back (an outbox row)."""
    fhir.reset()
    fhir.put_all(practice_day(DAY.isoformat(), appointments=appointments,
                              patients=appointments, practitioners=practitioners))
    settings = {"fhir_base_url": fhir.url, "fhir_page_size": 500, "fhir_timeout_seconds": 30,
                **overrides}
    ctx = make_ctx(make_settings(url, **settings), clock)
    result = SyncWorker(ctx).sync_once(full=True)
    assert result.ok and result.pulled is not None, result.error
    assert result.pulled.appointments == appointments, result.pulled
    return ctx


def day_people(appointments: int) -> dict[str, tuple[str, str, str]]:
    """Appointment id -> (family name, birth date, start "HH:MM") of practice_day's patients."""
    resources = practice_day(DAY.isoformat(), appointments=appointments, patients=appointments,
                             practitioners=1)
    patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
    return {f"ap-{n}": (patients[f"pat-{n}"]["name"][0]["family"],
                        patients[f"pat-{n}"]["birthDate"], "") for n in range(appointments)}


def start_of(ctx: SiteContext, external_id: str) -> datetime:
    with ctx.db.read() as session:
        start = session.scalar(select(Appointment.start).where(
            Appointment.external_id == external_id))
    assert start is not None
    return ctx.local(start)


# -- 1. check-ins killed at random -----------------------------------------------------------

@dataclass
class Job:
    index: int
    appointment: str
    how: str                  # "qr" or "name"
    kill: str | None          # None, "random", "visit" or "outbox"
    command: list[str]
    env: dict[str, str]
    mark: Path | None = None
    kill_after: float = 0.0
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    ended: float = 0.0
    killed: bool = False
    rc: int | None = None
    out: str = ""
    err: str = ""
    answer: dict[str, Any] | None = None


def _launch(job: Job, folder: Path) -> None:
    job.started = time.monotonic()
    out = open(folder / f"{job.index}.out", "wb")  # noqa: SIM115 - closed in _collect
    err = open(folder / f"{job.index}.err", "wb")  # noqa: SIM115
    job.process = subprocess.Popen(job.command, env=job.env, stdout=out, stderr=err,
                                   cwd=REPOSITORY)
    out.close()
    err.close()


def _collect(job: Job, folder: Path) -> None:
    assert job.process is not None
    job.rc = job.process.wait()
    job.ended = time.monotonic()
    job.out = (folder / f"{job.index}.out").read_text(encoding="utf-8", errors="replace")
    job.err = (folder / f"{job.index}.err").read_text(encoding="utf-8", errors="replace")
    with contextlib.suppress(ValueError):
        job.answer = json.loads(job.out) if job.out.strip() else None


def run_jobs(jobs: list[Job], folder: Path, parallel: int, rng: random.Random) -> float:
    """Run ``jobs``, ``parallel`` at a time, killing those planned to be killed: at their
    random moment, or as soon as they say they are paused inside the transaction. Returns
    the time of the last kill (monotonic), 0.0 if none."""
    waiting = list(jobs)
    running: list[Job] = []
    last_kill = 0.0
    while waiting or running:
        while waiting and len(running) < parallel:
            job = waiting.pop(0)
            if job.kill == "random":  # somewhere in a typical life, from start-up to exit
                lives = sorted(j.ended - j.started for j in jobs if j.rc is not None
                               and not j.killed)
                typical = lives[len(lives) // 2] if lives else 2.0
                job.kill_after = rng.uniform(0.05, 1.3 * typical)
            _launch(job, folder)
            running.append(job)
        time.sleep(0.004)
        now = time.monotonic()
        for job in running[:]:
            assert job.process is not None
            if job.process.poll() is not None:
                _collect(job, folder)
                running.remove(job)
                continue
            due = (job.kill == "random" and now - job.started >= job.kill_after) or (
                job.mark is not None and job.mark.exists())
            if due:
                if job.mark is not None:
                    time.sleep(rng.uniform(0, 0.01))
                job.process.send_signal(signal.SIGKILL)
                job.killed = True
                last_kill = time.monotonic()
                _collect(job, folder)
                running.remove(job)
    return last_kill


def checkin_storm(url: str, fhir: FhirServer, folder: Path, *, processes: int = 40,
                  kill_share: float = 0.45, parallel: int = 6, seed: int = 1) -> Figures:
    """``processes`` ``kiosk checkin`` processes, two per appointment (one by QR code, one by
    name and date of birth, in random order), ``parallel`` at a time on one database; about
    ``kill_share`` of them SIGKILLed: half at a random moment of their life, a quarter paused
    right after the visit's INSERT, a quarter after the flush of its write-back row (both
    inside the write transaction). Then the database is counted: visits per appointment,
    tickets, outbox rows per visit, and every ticket a process printed. The appointments left
    without a visit are checked in again (recovery)."""
    started = time.monotonic()
    rng = random.Random(seed)
    figures = Figures("check-ins SIGKILLed", kind_of(url))
    folder.mkdir(parents=True, exist_ok=True)
    count = max(1, math.ceil(processes / 2))
    practitioners = max(1, math.ceil(count / 8))
    ctx = synced_site(url, fhir, appointments=count, practitioners=practitioners,
                      clock=FixedClock(at(7, 0)))
    people = day_people(count)
    env = kiosk_env(fhir.url)
    jobs: list[Job] = []
    for n in range(processes):
        external = f"ap-{n // 2}"
        how = ("qr", "name")[(n + (n // 2) % 2) % 2]
        now = (start_of(ctx, external) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
        if how == "qr":
            code = tokens.issue(ctx.qr_secret, ctx.settings.site_id, external, DAY)
            args = ["checkin", "--qr", code, "--json"]
        else:
            family, born, _ = people[external]
            args = ["checkin", "--family", family, "--dob", born, "--json"]
        kill = None
        if rng.random() < kill_share:
            kill = rng.choices(["random", "visit", "outbox"], weights=[2, 1, 1])[0]
        job = Job(n, external, how, kill, [], dict(env))
        module = "ui.launcher"
        if kill in ("visit", "outbox"):
            module = "tests.support.fault_cli"
            job.mark = folder / f"{n}.mark"
            job.env.update({"KIOSK_FAULT_PAUSE_AT": kill, "KIOSK_FAULT_MARK": str(job.mark)})
        job.command = kiosk_command(url, now, *args, module=module)
        jobs.append(job)
    rng.shuffle(jobs)
    last_kill = run_jobs(jobs, folder, parallel, rng)

    figures.attempts = len(jobs)
    figures.faults = sum(job.killed for job in jobs)
    killed_where = Counter(job.kill for job in jobs if job.killed)
    unavailable = 0
    wrong: list[str] = []
    for job in jobs:
        if job.killed:
            continue
        if unexpected_output(job.err) or job.rc not in (0, 1, 3):
            figures.problem("crashed", f"process {job.index} ({job.how}) exit {job.rc}: "
                                       f"{job.err.strip()[-400:]}")
        elif job.rc == 3:
            unavailable += 1
        elif job.answer is None or job.answer.get("outcome") not in SUCCEEDED:
            wrong.append(f"{job.how}: {job.rc} {job.answer and job.answer.get('outcome')}")
    figures.details["planned to be killed"] = (
        f"{sum(job.kill is not None for job in jobs)} (the others of them finished before "
        "their moment, or lost the race before the statement they were to stop after)")
    figures.details["killed"] = (f"{figures.faults} ({killed_where['random']} at a random "
                                 f"moment, {killed_where['visit']} after the visit's INSERT, "
                                 f"{killed_where['outbox']} after the write-back row's flush)")
    figures.details["database unavailable (exit 3, clear message)"] = unavailable
    figures.details["wrong answers"] = len(wrong)
    if wrong:
        figures.problems.append(f"wrong answers: {wrong[:5]}")

    def count_database(stage: str) -> dict[str, str]:
        with ctx.db.read() as session:
            visits = session.execute(select(Appointment.external_id, Visit.ticket_code,
                                            Visit.id, Visit.service_date)
                                     .join(Visit, Visit.appointment_id == Appointment.id)).all()
            outbox = Counter(session.scalars(select(OutboxItem.appointment_id)))
            by_appointment = dict(session.execute(
                select(Visit.appointment_id, Appointment.external_id)
                .join(Appointment, Visit.appointment_id == Appointment.id)).all())
        per_appointment = Counter(external for external, *_ in visits)
        for external, number in per_appointment.items():
            if number > 1:
                figures.problem("duplicated", f"{stage}: {number} visits for {external}")
        tickets = Counter((ticket, day) for _, ticket, _, day in visits)
        for (ticket, _), number in tickets.items():
            if number > 1:
                figures.problem("duplicated", f"{stage}: ticket {ticket} given {number} times")
        for appointment_id, external in by_appointment.items():
            if outbox.get(appointment_id, 0) != 1:
                kind = "lost" if outbox.get(appointment_id, 0) == 0 else "duplicated"
                figures.problem(kind, f"{stage}: {outbox.get(appointment_id, 0)} outbox rows "
                                      f"for the visit of {external}")
        for appointment_id in outbox:
            if appointment_id not in by_appointment:
                figures.problem("duplicated", f"{stage}: an outbox row without a visit")
        return {external: ticket for external, ticket, *_ in visits}

    stored = count_database("after the storm")
    for job in jobs:
        ticket = (job.answer or {}).get("ticket")
        if ticket and stored.get(job.appointment) != ticket:
            figures.problem("lost", f"process {job.index} printed ticket {ticket} for "
                                    f"{job.appointment}, the database has "
                                    f"{stored.get(job.appointment)}")
    figures.details["visits after the storm"] = f"{len(stored)} of {count} appointments"

    # Recovery: the patients whose every try was killed try again, and must be checked in.
    missing = sorted(set(f"ap-{n}" for n in range(count)) - set(stored))
    first_success: float | None = None
    reruns: list[float] = []
    for external in missing:
        begun = time.monotonic()
        code = tokens.issue(ctx.qr_secret, ctx.settings.site_id, external, DAY)
        now = (start_of(ctx, external) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
        done = subprocess.run(kiosk_command(url, now, "checkin", "--qr", code, "--json"),
                              env=env, capture_output=True, text=True, cwd=REPOSITORY,
                              timeout=120)
        reruns.append(time.monotonic() - begun)
        if done.returncode == 0 and first_success is None:
            first_success = time.monotonic()
        if done.returncode != 0 or unexpected_output(done.stderr):
            figures.problem("lost", f"{external} could not be checked in after the storm: "
                                    f"exit {done.returncode} {done.stderr.strip()[-300:]}")
    figures.details["checked in again after the storm"] = (
        f"{len(missing)}" + (f" (one process each, longest {max(reruns):.2f} s, start-up "
                             f"included)" if reruns else ""))
    figures.details["recovery"] = (
        "last kill -> the first check-in that succeeded after it (a process started after "
        "the storm, start-up included; with nothing left to redo, the first of the storm's "
        "own processes to succeed after the kill)")
    if last_kill and first_success is not None:
        figures.recovery_seconds = first_success - last_kill
    elif last_kill:
        # Nothing was left to redo: the first check-in that ended after the last kill.
        after = [job.ended for job in jobs if not job.killed and job.rc == 0
                 and job.ended >= last_kill]
        figures.recovery_seconds = min(after) - last_kill if after else None
    final = count_database("after recovery")
    if len(final) != count:
        figures.problem("lost", f"{count - len(final)} appointments without a visit at the end")
    if kind_of(url) == "sqlite":
        with ctx.db.read() as session:
            figures.details["integrity_check"] = session.connection().exec_driver_sql(
                "PRAGMA integrity_check").scalar()
    runtimes = sorted(job.ended - job.started for job in jobs if not job.killed)
    if runtimes:
        figures.details["process run time (not killed)"] = (
            f"median {runtimes[len(runtimes) // 2]:.2f} s, longest {runtimes[-1]:.2f} s")
    ctx.db.dispose()
    figures.seconds = time.monotonic() - started
    return figures.show()


# -- 2. the sync worker killed mid-drain -----------------------------------------------------

class Journal:
    """The FHIR server's journal of writes, read as it grows."""

    def __init__(self, server: FhirServer) -> None:
        self.path = server.journal
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.entries: list[dict[str, Any]] = []

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return self.entries
        with open(self.path, "rb") as file:
            file.seek(self.offset)
            data = file.read()
        complete = data.rfind(b"\n") + 1
        for line in data[:complete].splitlines():
            if line.strip():
                self.entries.append(json.loads(line)["resource"])
        self.offset += complete
        return self.entries

    def arrived(self) -> int:
        return sum(1 for r in self.read()
                   if r.get("resourceType") == "Appointment" and r.get("status") == "arrived")


def sync_killed_mid_drain(url: str, fhir: FhirServer, folder: Path, *, checkins: int = 60,
                          kills: int = 3, encounters: bool = True, seed: int = 1,
                          deadline_seconds: float = 600) -> Figures:
    """``checkins`` check-ins queued for write-back, then ``kiosk sync --watch`` started and
    SIGKILLed mid-drain ``kills`` times (each time once it has written a random share of what
    is left), a successor started at once each time, until the outbox is empty. Then the FHIR
    server's journal is counted: each appointment written ``arrived`` exactly once, and (with
    ``encounters``) exactly one Encounter each."""
    started = time.monotonic()
    rng = random.Random(seed)
    figures = Figures("sync worker SIGKILLed mid-drain", kind_of(url))
    folder.mkdir(parents=True, exist_ok=True)
    ctx = synced_site(url, fhir, appointments=checkins,
                      practitioners=max(1, math.ceil(checkins / 30)), clock=FixedClock(at(9, 30)))
    service = CheckinService(ctx)
    for n in range(checkins):
        result = service.by_staff(f"ap-{n}", actor="faults")
        assert result.ticket, result
    journal = Journal(fhir)
    env = kiosk_env(fhir.url, fhir_poll_seconds="1",
                    fhir_create_encounter="true" if encounters else "false")
    command = kiosk_command(url, f"{DAY}T09:30", "sync", "--watch")

    def pending() -> int:
        with ctx.db.read() as session:
            return session.scalar(select(func.count()).select_from(OutboxItem).where(
                OutboxItem.state == OutboxState.PENDING)) or 0

    def last_success() -> datetime | None:
        with ctx.db.read() as session:
            return session.scalar(select(SyncStatus.last_success_at))

    resumed: list[float] = []
    crashed_logs: list[str] = []
    until = time.monotonic() + deadline_seconds
    kill_time: float | None = None
    runs = 0
    while time.monotonic() < until:
        log_file = folder / f"sync-{runs}.err"
        with open(log_file, "wb") as err:
            watcher = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                       stderr=err, cwd=REPOSITORY)
        runs += 1
        written_before = journal.arrived()
        if kill_time is not None:  # how long until the successor writes again
            while time.monotonic() < until and watcher.poll() is None:
                if journal.arrived() > written_before or pending() == 0:
                    resumed.append(time.monotonic() - kill_time)
                    break
                time.sleep(0.005)
        if figures.faults < kills and pending() > 0:
            left = pending()
            target = written_before + rng.randint(1, max(1, left // (kills - figures.faults + 1)))
            while (time.monotonic() < until and watcher.poll() is None
                   and journal.arrived() < target and pending() > 0):
                time.sleep(0.002)
            time.sleep(rng.uniform(0, 0.02))  # somewhere in the next write, or between two
            if watcher.poll() is None:
                watcher.send_signal(signal.SIGKILL)
                watcher.wait()
                kill_time = time.monotonic()
                figures.faults += 1
                text = log_file.read_text(errors="replace")
                if unexpected_output(text):
                    crashed_logs.append(text[-400:])
                continue
        # The last worker: it must drain the rest and finish a pass.
        before = last_success()
        while time.monotonic() < until and watcher.poll() is None:
            if pending() == 0 and last_success() != before:
                break
            time.sleep(0.05)
        if kill_time is not None:
            figures.recovery_seconds = time.monotonic() - kill_time
        watcher.send_signal(signal.SIGTERM)
        try:
            rc = watcher.wait(timeout=60)
        except subprocess.TimeoutExpired:
            watcher.kill()
            rc = watcher.wait()
        text = log_file.read_text(errors="replace")
        if rc != 0 or unexpected_output(text):
            crashed_logs.append(f"exit {rc}: {text[-400:]}")
        break
    for text in crashed_logs:
        figures.problem("crashed", text)

    entries = journal.read()
    arrived = Counter(r["id"] for r in entries
                      if r.get("resourceType") == "Appointment" and r.get("status") == "arrived")
    encounter_ids: dict[str, set[str]] = {}
    for resource in entries:
        if resource.get("resourceType") == "Encounter":
            for reference in resource.get("appointment") or []:
                key = reference.get("reference", "").rpartition("/")[2]
                encounter_ids.setdefault(key, set()).add(resource["id"])
    for n in range(checkins):
        external = f"ap-{n}"
        if arrived[external] == 0:
            figures.problem("lost", f"{external} never written arrived")
        elif arrived[external] > 1:
            figures.problem("duplicated", f"{external} written arrived {arrived[external]} times")
        if encounters:
            found = len(encounter_ids.get(external, ()))
            if found == 0:
                figures.problem("lost", f"no Encounter for {external}")
            elif found > 1:
                figures.problem("duplicated", f"{found} Encounters for {external}")
    with ctx.db.read() as session:
        states = Counter(session.scalars(select(OutboxItem.state)))
    figures.attempts = checkins
    figures.details["sync processes started"] = runs
    figures.details["outbox at the end"] = {state.value: n for state, n in states.items()}
    figures.details["Encounters created"] = encounters
    if resumed:
        figures.details["kill -> successor's first write"] = (
            f"median {sorted(resumed)[len(resumed) // 2]:.2f} s, longest {max(resumed):.2f} s")
    figures.details["recovery"] = "last kill -> the successor's first successful pass"
    if states.get(OutboxState.PENDING):
        figures.problem("lost", f"{states[OutboxState.PENDING]} write-backs still pending")
    ctx.db.dispose()
    figures.seconds = time.monotonic() - started
    return figures.show()


def back_to_back_syncs(url: str, fhir: FhirServer, *, appointments: int = 30) -> Figures:
    """Two one-shot ``kiosk sync`` processes in a row: the second must run at once (the first
    gave its lease back), not wait or be refused."""
    started = time.monotonic()
    figures = Figures("two one-shot syncs back to back", kind_of(url))
    ctx = synced_site(url, fhir, appointments=appointments, practitioners=3,
                      clock=FixedClock(at(8, 50)))
    env = kiosk_env(fhir.url)
    times = []
    for _ in range(2):
        begun = time.monotonic()
        done = subprocess.run(kiosk_command(url, f"{DAY}T08:50", "sync"), env=env,
                              capture_output=True, text=True, timeout=300, cwd=REPOSITORY)
        times.append(time.monotonic() - begun)
        figures.attempts += 1
        if done.returncode != 0 or unexpected_output(done.stderr):
            figures.problem("crashed", f"exit {done.returncode}: {done.stderr[-300:]}")
    figures.details["pass times"] = ", ".join(f"{t:.2f} s" for t in times)
    ctx.db.dispose()
    figures.seconds = time.monotonic() - started
    return figures.show()


# -- 3. PostgreSQL stopped and started under a running site ----------------------------------

class StoppablePostgres(TempPostgres):
    """A private server (as tests.support.pg_server) that can be stopped and started again
    with its data, on the same port. Commits are synchronous here: an immediate stop must not
    lose what was reported committed."""

    def start(self) -> StoppablePostgres:
        super().start()
        self.halt()
        self.resume()
        return self

    @property
    def options(self) -> str:
        return (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.dir} -c fsync=off "
                f"-c synchronous_commit=on -c max_connections=100")

    def halt(self, mode: str = "immediate") -> None:
        assert self.dir is not None and self.bindir is not None
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode,
                   "-w", "stop"])

    def resume(self) -> None:
        assert self.dir is not None and self.bindir is not None
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-l",
                   str(self.dir / "log"), "-o", self.options, "-w", "-t", "60", "start"])


def _healthz(port: int) -> int | str:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    except requests.RequestException as error:
        return type(error).__name__


def postgres_outage(fhir: FhirServer, *, outage_seconds: float = 3.0, appointments: int = 400,
                    seed: int = 1) -> Figures:
    """A kiosk checking patients in by QR code every 50 ms, reception reading the queue and
    calling patients, a sync worker watching every second and ``/healthz`` polled every
    100 ms, all on a private PostgreSQL server that is stopped (immediate mode: as a crash)
    for ``outage_seconds`` and started again. Counted: attempts refused while it was down
    (DatabaseUnavailable, as the kiosk expects), anything else raised (crashed), check-ins
    reported done but missing (lost), server back -> first check-in (recovery), /healthz."""
    from kiosk.ops.monitor import serve

    started = time.monotonic()
    rng = random.Random(seed)
    figures = Figures(f"PostgreSQL stopped for {outage_seconds:g} s", "postgresql")
    try:
        server = StoppablePostgres().start()
    except PostgresUnavailable as why:
        figures.details["not run"] = str(why).splitlines()[0]
        return figures.show()
    try:
        url = create_database(server.url("postgres"), "kiosk")
        clock = RunningClock(at(8, 55))
        overrides = {"fhir_poll_seconds": 1, "checkin_opens_minutes": 720,
                     "late_after_minutes": 720, "fhir_timeout_seconds": 5,
                     "monitor_address": "127.0.0.1:0"}
        ctx = synced_site(url, fhir, appointments=appointments,
                          practitioners=max(1, appointments // 30), clock=clock, **overrides)
        settings = ctx.settings

        def role() -> SiteContext:
            return SiteContext.open(settings, Database(url), clock)

        kiosk, desk, syncing = role(), role(), role()
        monitor = serve(kiosk)
        assert monitor is not None
        stop = threading.Event()
        lock = threading.Lock()
        done: dict[str, str] = {}
        successes: list[float] = []
        refused: Counter[str] = Counter()
        health: list[tuple[float, int | str]] = []
        order = [f"ap-{n}" for n in range(appointments)]
        rng.shuffle(order)

        def crash(where: str, error: BaseException) -> None:
            with lock:
                figures.problem("crashed", f"{where}: {type(error).__name__}: {error}"[:300])

        def kiosk_loop() -> None:
            service = CheckinService(kiosk)
            while not stop.is_set() and order:
                external = order[0]
                code = tokens.issue(kiosk.qr_secret, settings.site_id, external, DAY)
                with lock:
                    figures.attempts += 1
                try:
                    result = service.by_qr(code, kiosk_id="kiosk-1")
                except DatabaseUnavailable:
                    with lock:
                        refused["kiosk"] += 1
                except Exception as error:
                    crash("kiosk", error)
                else:
                    if result.ticket:
                        with lock:
                            done[external] = result.ticket
                            successes.append(time.monotonic())
                        order.pop(0)
                    else:
                        crash("kiosk", AssertionError(f"answer {result.outcome}"))
                        order.pop(0)
                stop.wait(0.05)

        def desk_loop() -> None:
            queue = QueueService(desk)
            turn = 0
            while not stop.is_set():
                turn += 1
                try:
                    rows = queue.rows()
                    if turn % 5 == 0 and rows:
                        waiting = [row for row in rows if row.status.value == "waiting"]
                        if waiting:
                            queue.act(waiting[0].ticket, "call", actor="desk", room="1")
                except DatabaseUnavailable:
                    with lock:
                        refused["reception"] += 1
                except (LookupError, InvalidTransition):
                    pass
                except Exception as error:
                    crash("reception", error)
                stop.wait(0.1)

        def health_loop() -> None:
            while not stop.is_set():
                health.append((time.monotonic(), _healthz(monitor.port)))
                stop.wait(0.1)

        worker = SyncWorker(syncing)
        threads = [threading.Thread(target=kiosk_loop, name="kiosk"),
                   threading.Thread(target=desk_loop, name="reception"),
                   threading.Thread(target=worker.watch, args=(stop,), name="sync"),
                   threading.Thread(target=health_loop, name="health")]
        for thread in threads:
            thread.start()
        time.sleep(2.0)
        before = len(done)
        server.halt("immediate")
        down = time.monotonic()  # stopped: from here /healthz must say 503
        figures.faults = 1
        time.sleep(outage_seconds)
        server.resume()
        up = time.monotonic()
        # Run on until the kiosk has checked someone in again, and a little more.
        wait_until = up + 60
        while time.monotonic() < wait_until and not [t for t in successes if t > up]:
            time.sleep(0.05)
        time.sleep(2.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
            if thread.is_alive():
                figures.problem("crashed", f"the {thread.name} thread did not stop")
        monitor.stop()
        after = [t for t in successes if t > up]
        figures.recovery_seconds = (after[0] - up) if after else None
        if not after:
            figures.problem("crashed", "no check-in succeeded after the server came back")
        # Lost: reported checked in, missing from the database.
        with ctx.db.read() as session:
            stored = dict(session.execute(select(Appointment.external_id, Visit.ticket_code)
                                          .join(Visit, Visit.appointment_id == Appointment.id))
                          .all())
            per_appointment = Counter(session.scalars(select(Visit.appointment_id)))
        for external, ticket in done.items():
            if stored.get(external) != ticket:
                figures.problem("lost", f"{external}: ticket {ticket} reported, database has "
                                        f"{stored.get(external)}")
        figures.duplicated += sum(1 for n in per_appointment.values() if n > 1)
        # The sync worker outlived the outage: its write-backs all go out.
        deadline = time.monotonic() + 30
        pending = -1
        while time.monotonic() < deadline:
            pending = worker_pass_pending(ctx)
            if pending == 0:
                break
            with contextlib.suppress(Exception):
                SyncWorker(syncing).sync_once()
            time.sleep(0.5)
        statuses = [status for _, status in health]
        during = [status for t, status in health if down + 0.2 < t < up]
        after_up = [t for t, status in health if t > up and status == 200]
        figures.details["checked in before / during+after the outage"] = (
            f"{before} / {len(done) - before}")
        figures.details["refused while down (DatabaseUnavailable)"] = dict(refused)
        figures.details["/healthz while down"] = dict(Counter(map(str, during)))
        figures.details["/healthz answers"] = dict(Counter(map(str, statuses)))
        figures.details["server back -> /healthz 200"] = (
            f"{after_up[0] - up:.2f} s" if after_up else "never")
        figures.details["write-backs pending at the end"] = pending
        if during and 503 not in during:
            figures.problem("crashed", f"/healthz never said 503 while down: {during[:5]}")
        if not after_up:
            figures.problem("crashed", "/healthz never said 200 after the server came back")
        if pending:
            figures.problem("lost", f"{pending} write-backs still pending after the outage")
        for context in (ctx, kiosk, desk, syncing):
            context.db.dispose()
    finally:
        server.stop()
    figures.seconds = time.monotonic() - started
    return figures.show()


def worker_pass_pending(ctx: SiteContext) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(OutboxItem).where(
            OutboxItem.state == OutboxState.PENDING)) or 0


# -- 4. SQLite's bad days --------------------------------------------------------------------

def _mount_tmpfs(folder: Path, size: str) -> str | None:
    """Mount a small tmpfs on ``folder``; None when done, else why not."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return "not root"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs",
                           str(folder)], capture_output=True, text=True, check=False)
    return None if done.returncode == 0 else (done.stderr.strip() or "mount failed")


def _umount(folder: Path) -> None:
    subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)


def _little_site(url: str) -> tuple[SiteContext, dict[str, str]]:
    """The fixture practice, one patient checked in (committed); codes of the others."""
    ctx = make_ctx(make_settings(url), FixedClock(at(8, 50)))
    people = book(ctx, PEOPLE)
    codes = {who: tokens.issue(ctx.qr_secret, ctx.settings.site_id, person.appointment, DAY)
             for who, person in people.items()
             if who in ("muller", "garcia", "oneil", "hashemi", "wang", "ivanova", "nguyen")}
    assert CheckinService(ctx).by_qr(codes.pop("muller")).ticket
    return ctx, codes


def _visits(ctx: SiteContext) -> set[str]:
    with ctx.db.read() as session:
        return set(session.scalars(select(Visit.ticket_code)))


def _cli_checkin(url: str, code: str, *, prefix: tuple[str, ...] = (),
                 timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, *kiosk_command(url, f"{DAY}T08:50", "checkin", "--qr", code)],
                          env=kiosk_env(), capture_output=True, text=True, cwd=REPOSITORY,
                          timeout=timeout)


def _judge_cli(figures: Figures, done: subprocess.CompletedProcess[str], what: str) -> None:
    figures.attempts += 1
    clear = done.returncode == 3 and "the database is unavailable" in done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("kiosk:")]
    figures.details[f"CLI {what}"] = f"exit {done.returncode}: {(said or [''])[-1][:160]}"
    if not clear or unexpected_output(done.stderr):
        figures.problem("crashed", f"CLI {what}: exit {done.returncode}, "
                                   f"{done.stderr.strip()[-300:]}")


def _attempt(figures: Figures, ctx: SiteContext, code: str, what: str) -> bool:
    """One in-process check-in during a fault: True if it went through anyway."""
    figures.attempts += 1
    try:
        result = CheckinService(ctx).by_qr(code)
    except DatabaseUnavailable as error:
        figures.details[f"in-process {what}"] = f"DatabaseUnavailable: {error}"[:200]
        return False
    except Exception as error:
        figures.problem("crashed", f"in-process {what}: {type(error).__name__}: {error}"[:300])
        return False
    figures.details[f"in-process {what}"] = f"went through: {result.outcome.value}"
    return True


def _recover(figures: Figures, ctx: SiteContext, code: str, since: float,
             committed: set[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            result = CheckinService(ctx).by_qr(code)
        except DatabaseUnavailable:
            time.sleep(0.05)
            continue
        if result.outcome.value in SUCCEEDED:
            figures.recovery_seconds = time.monotonic() - since
        break
    if figures.recovery_seconds is None:
        figures.problem("crashed", "no check-in after the fault was gone")
    now = _visits(ctx)
    for ticket in committed - now:
        figures.problem("lost", f"ticket {ticket}, committed before the fault")
    with ctx.db.read() as session:
        check = session.connection().exec_driver_sql("PRAGMA integrity_check").scalar()
    figures.details["integrity_check"] = check
    if check != "ok":
        figures.problem("lost", f"integrity_check: {check}")


def sqlite_bad_days(folder: Path, *, hold_seconds: float = 6.5, cli: bool = True) -> list[Figures]:
    """A full disk (a 3 MB tmpfs, filled), a read-only database (the file made 0444 and the
    CLI run with root's file-permission override dropped; and, in-process, the tmpfs remounted
    read-only), and a writer that holds the lock longer than the busy timeout. Each must give
    a clear error (exit 3 and its message from the CLI, DatabaseUnavailable in-process), lose
    nothing committed and work again once the fault is gone."""
    results = [_full_disk(folder / "full", cli=cli), _read_only(folder / "ro", cli=cli),
               _locked(folder / "lock", hold_seconds=hold_seconds, cli=cli)]
    return results


def _full_disk(folder: Path, *, cli: bool) -> Figures:
    started = time.monotonic()
    figures = Figures("SQLite: disk full", "sqlite")
    why = _mount_tmpfs(folder, "3m")
    if why:
        figures.details["not run"] = f"cannot mount a small tmpfs ({why})"
        return figures.show()
    try:
        url = f"sqlite:///{folder / 'kiosk.sqlite3'}"
        ctx, codes = _little_site(url)
        committed = _visits(ctx)
        ctx.db.flush_deleted()  # an empty write-ahead log: the next write must grow a file
        filler = folder / "filler"
        chunk = b"\0" * 65536
        # The suppress outside the file: closing it flushes what did not fit, and fails too.
        with contextlib.suppress(OSError), open(filler, "wb") as file:
            while True:
                file.write(chunk)
                file.flush()
        # The last bytes, one at a time.
        with contextlib.suppress(OSError), open(folder / "filler2", "wb") as file:
            while True:
                file.write(b"\0")
                file.flush()
        figures.faults = 1
        figures.details["free bytes"] = shutil.disk_usage(folder).free
        items = list(codes.values())
        went = sum(_attempt(figures, ctx, items[n], f"check-in {n + 1} on a full disk")
                   for n in range(2))
        figures.details["went through on a full disk"] = went
        try:
            QueueService(ctx).rows()
            figures.details["reading the queue on a full disk"] = "works"
        except DatabaseUnavailable as error:
            figures.details["reading the queue on a full disk"] = f"DatabaseUnavailable: {error}"
        if cli:
            _judge_cli(figures, _cli_checkin(url, items[2]), "check-in on a full disk")
        filler.unlink()
        (folder / "filler2").unlink(missing_ok=True)
        gone = time.monotonic()
        _recover(figures, ctx, items[3], gone, committed)
        ctx.db.dispose()
    finally:
        _umount(folder)
    figures.seconds = time.monotonic() - started
    return figures.show()


def _read_only(folder: Path, *, cli: bool) -> Figures:
    started = time.monotonic()
    figures = Figures("SQLite: read-only database", "sqlite")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.sqlite3"
    url = f"sqlite:///{path}"
    ctx, codes = _little_site(url)
    committed = _visits(ctx)
    items = list(codes.values())
    setpriv = shutil.which("setpriv")
    if cli and setpriv and os.geteuid() == 0:
        ctx.db.dispose()
        os.chmod(path, 0o444)
        figures.faults += 1
        drop = (setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps",
                "-dac_override,-dac_read_search")
        _judge_cli(figures, _cli_checkin(url, items[0], prefix=drop),
                   "check-in, file 0444 (without root's override)")
        os.chmod(path, 0o600)
    elif cli:
        figures.details["CLI on a 0444 file"] = "not run (needs root and setpriv)"
    # In-process: a read-only mount (root ignores file modes, not a read-only file system).
    mount = folder / "mnt"
    why = _mount_tmpfs(mount, "16m")
    if why:
        figures.details["read-only mount"] = f"not run: cannot mount a tmpfs ({why})"
        _recover(figures, ctx, items[1], time.monotonic(), committed)
        ctx.db.dispose()
        figures.seconds = time.monotonic() - started
        return figures.show()
    try:
        url = f"sqlite:///{mount / 'kiosk.sqlite3'}"
        ctx.db.dispose()
        ctx, codes = _little_site(url)
        committed = _visits(ctx)
        items = list(codes.values())
        ctx.db.dispose()  # no file open for writing: the remount needs that
        remount = subprocess.run(["mount", "-o", "remount,ro", str(mount)], capture_output=True,
                                 text=True, check=False)
        if remount.returncode != 0:
            figures.details["read-only mount"] = f"not run: {remount.stderr.strip()}"
        else:
            figures.faults += 1
            _attempt(figures, ctx, items[0], "check-in on a read-only mount")
            try:
                QueueService(ctx).rows()
                figures.details["reading the queue, read-only mount"] = "works"
            except DatabaseUnavailable as error:
                figures.details["reading the queue, read-only mount"] = \
                    f"DatabaseUnavailable: {error}"
            if cli:
                _judge_cli(figures, _cli_checkin(url, items[1]), "check-in on a read-only mount")
            ctx.db.dispose()
            subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        _recover(figures, ctx, items[2], time.monotonic(), committed)
        ctx.db.dispose()
    finally:
        _umount(mount)
    figures.seconds = time.monotonic() - started
    return figures.show()


def _locked(folder: Path, *, hold_seconds: float, cli: bool) -> Figures:
    started = time.monotonic()
    figures = Figures("SQLite: a writer holds the lock past the busy timeout", "sqlite")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "kiosk.sqlite3"
    url = f"sqlite:///{path}"
    ctx, codes = _little_site(url)
    committed = _visits(ctx)
    items = list(codes.values())
    quick = SiteContext.open(ctx.settings, Database(url, busy_timeout_ms=300), ctx.clock)
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    figures.faults = 1
    held = time.monotonic()
    runs: list[subprocess.CompletedProcess[str]] = []
    runner = None
    if cli:  # the CLI's busy timeout is 5 s: it gives up while the lock is still held
        runner = threading.Thread(target=lambda: runs.append(_cli_checkin(url, items[0])))
        runner.start()
    _attempt(figures, quick, items[1], "check-in, busy timeout 0.3 s")
    if runner is not None:  # held until the CLI has waited out its busy timeout, however long
        runner.join(timeout=120)  # its start-up took on a busy machine
    patient: list[Any] = []

    def waits_its_turn() -> None:  # started 1 s before the release, within its 5 s
        try:
            patient.append(CheckinService(ctx).by_qr(items[2]))
        except Exception as error:
            patient.append(error)

    time.sleep(max(0.0, hold_seconds - 1.0 - (time.monotonic() - held)))
    waiting = threading.Thread(target=waits_its_turn)
    waiting.start()
    time.sleep(1.0)
    holder.execute("ROLLBACK")
    holder.close()
    released = time.monotonic()
    figures.details["lock held"] = f"{released - held:.1f} s"
    waiting.join(timeout=30)
    if runner is not None:
        _judge_cli(figures, runs[0], "check-in (busy timeout 5 s)")
    figures.attempts += 1
    answer = patient[0] if patient else None
    if isinstance(answer, BaseException) or answer is None or not answer.ticket:
        figures.problem("crashed", f"a check-in waiting its turn: {answer!r}"[:300])
    else:
        figures.details["a check-in started 1 s before the release"] = (
            f"{answer.outcome.value} after the release")
    _recover(figures, quick, items[3], released, committed)
    quick.db.dispose()
    ctx.db.dispose()
    figures.seconds = time.monotonic() - started
    return figures.show()


# -- 6. fuzz ---------------------------------------------------------------------------------

SCRIPTS = [
    (0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F),          # Latin with accents
    (0x370, 0x3FF), (0x400, 0x4FF), (0x530, 0x58F),     # Greek, Cyrillic, Armenian
    (0x590, 0x5FF), (0x600, 0x6FF), (0x750, 0x77F),     # Hebrew, Arabic
    (0x900, 0x97F), (0xE00, 0xE7F), (0x10A0, 0x10FF),   # Devanagari, Thai, Georgian
    (0x1100, 0x11FF), (0x3040, 0x30FF), (0x4E00, 0x9FFF),  # Jamo, kana, CJK
    (0xAC00, 0xD7A3), (0xFF01, 0xFF5E), (0x1F300, 0x1F6FF),  # Hangul, fullwidth, emoji
    (0x20000, 0x2A6DF), (0x1D400, 0x1D7FF),               # CJK ext. B, math letters
]
MARKS = [chr(c) for c in range(0x300, 0x370)] + ["\u0651", "\u064B", "\u093C", "\u0E31",
                                                 "\u20DD", "\uFE0F", "\u200D"]
BIDI = ["\u200E", "\u200F", "\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066",
        "\u2067", "\u2068", "\u2069", "\u061C"]
INVISIBLE = ["\u200B", "\u200C", "\u2060", "\uFEFF", "\u00AD", "\u180E", "\u3000", "\u00A0"]
CONTROL = [chr(c) for c in range(0, 32)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
ODD = ["\ud800", "\udcff", "\udfff", "\uFFFD", "\uFFFF", "\U0010FFFF", "'", '"', "%", "_",
       "\\", ";", "--", "/*", "*/", "' OR '1'='1", "\u2028", "\u2029", "Ǆ", "ß", "İ", "ﬁ",
       "K", "Å"]
DIGITS = ["0123456789", "٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹", "०१२३४५६७८९", "０１２３４５６７８９",
          "๐๑๒๓๔๕๖๗๘๙", "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗", "⁰¹²³⁴⁵⁶⁷⁸⁹", "①②③④⑤⑥⑦⑧⑨"]


def random_name(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.02:
        return "".join(rng.choice("abcdefghij é王") for _ in range(rng.randint(9000, 11000)))
    if shape < 0.05:
        return ""
    if shape < 0.08:
        return "".join(rng.choice(" \t\n\u3000\u00A0") for _ in range(rng.randint(1, 5)))
    parts: list[str] = []
    low, high = rng.choice(SCRIPTS)
    for _ in range(rng.randint(1, 24)):
        pick = rng.random()
        if pick < 0.62:
            parts.append(chr(rng.randint(low, high)))
        elif pick < 0.72:
            parts.append(rng.choice(MARKS))
        elif pick < 0.78:
            parts.append(rng.choice(BIDI))
        elif pick < 0.83:
            parts.append(rng.choice(INVISIBLE))
        elif pick < 0.88:
            parts.append(rng.choice(CONTROL))
        elif pick < 0.92:
            parts.append(rng.choice(ODD))
        elif pick < 0.96:
            parts.append(" ")
        else:
            low, high = rng.choice(SCRIPTS)
    return "".join(parts)


def variant_of(rng: random.Random, name: str) -> str:
    """A real name as a patient (or a mischief) might type it."""
    choice = rng.randrange(8)
    if choice == 0:
        return name.upper()
    if choice == 1:
        return name.lower()
    if choice == 2:
        return unicodedata.normalize("NFD", name)
    if choice == 3:
        return "".join(c for c in unicodedata.normalize("NFD", name)
                       if not unicodedata.combining(c))
    if choice == 4:
        return rng.choice(BIDI) + name + rng.choice(BIDI)
    if choice == 5:
        return f"  {name}  "
    if choice == 6:
        return name + rng.choice(MARKS + CONTROL + INVISIBLE)
    return name


def random_field(rng: random.Random) -> str:
    shape = rng.random()
    if shape < 0.5:
        digits = rng.choice(DIGITS)
        return "".join(rng.choice(digits) for _ in range(rng.choice([0, 1, 2, 2, 2, 3, 4, 4, 5])))
    if shape < 0.6:
        return str(rng.choice([0, -1, 13, 31, 32, 99, 100, 1000, 9999, 10000, 2**31, 2**63,
                               10**40]))
    if shape < 0.7:
        return rng.choice(["", " ", "1.5", "1e3", "-5", "+5", "0x1f", "٣١", "Ⅻ", "½", "²",
                           "1_000", " 07 ", "\x00", "\u202e12"])
    return random_name(rng)[:6]


def random_date(rng: random.Random) -> date:
    shape = rng.random()
    if shape < 0.1:
        return rng.choice([date.min, date.max, date(1, 12, 31), date(9999, 1, 1),
                           date(2000, 2, 29), DAY, DAY + timedelta(days=1)])
    return date.fromordinal(rng.randint(date(1850, 1, 1).toordinal(),
                                        date(2100, 12, 31).toordinal()))


def flip_bit(rng: random.Random, code: str) -> str:
    body = base64.b32decode(code[len(tokens.PREFIX):] + "=" * (-len(code[3:]) % 8))
    spot = rng.randrange(len(body) * 8)
    changed = bytearray(body)
    changed[spot // 8] ^= 1 << (spot % 8)
    return tokens.PREFIX + base64.b32encode(bytes(changed)).decode().rstrip("=")


def random_code(rng: random.Random, valid: list[str], secret: bytes, site: str,
                appointments: list[str]) -> tuple[str, str, bool]:
    """(kind, payload, legit): legit when the payload is a code issued for this site, today,
    for a booked appointment, in any spelling the verifier accepts (case, whitespace)."""
    code = rng.choice(valid)
    kind = rng.choice(["valid", "lowercase", "padded", "truncated", "bit-flipped",
                       "character changed", "other site", "other secret", "other day",
                       "unknown appointment", "random base32", "garbage", "long", "extended"])
    if kind == "valid":
        return kind, code, True
    if kind == "lowercase":
        return kind, code.lower(), True
    if kind == "padded":
        before, after = rng.choice([" ", "\t", "\n", "\r\n"]), rng.choice(["", " ", "\n"])
        return kind, before + code + after, True
    if kind == "truncated":
        return kind, code[:rng.randrange(len(code))], False
    if kind == "bit-flipped":
        return kind, flip_bit(rng, code), False
    if kind == "character changed":
        spot = rng.randrange(3, len(code))
        other = rng.choice([c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" if c != code[spot]])
        return kind, code[:spot] + other + code[spot + 1:], False
    external = rng.choice(appointments)
    if kind == "other site":
        return kind, tokens.issue(secret, "other-site", external, DAY), False
    if kind == "other secret":
        return kind, tokens.issue(os.urandom(32), site, external, DAY), False
    if kind == "other day":
        shift = rng.choice([-365, -7, -1, 1, 2, 30])
        return kind, tokens.issue(secret, site, external, DAY + timedelta(days=shift)), False
    if kind == "unknown appointment":
        return kind, tokens.issue(secret, site, f"nobody-{rng.randrange(10**6)}", DAY), False
    if kind == "random base32":
        return kind, tokens.PREFIX + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                             for _ in range(34)), False
    if kind == "long":
        return kind, code * rng.randint(2, 300), False
    if kind == "extended":
        return kind, code + rng.choice(["A", "=", "\x00", "\u200b", "é", code[-1]]), False
    return kind, random_name(rng), False


def fuzz(url: str, *, inputs: int = 5000, seed: int = 1) -> Figures:
    """``inputs`` generated inputs through the flow (its validators and state machine, as the
    screens call them) and the engine (``CheckinService.answer``/``by_qr``/``by_name``): names
    in many scripts with combining, bidi, invisible and control characters and lone
    surrogates, 10,000-character strings, impossible dates and date fields in any digits, and
    codes truncated, bit-flipped, re-lettered, lower-cased, padded, extended, of another site or
    secret or day or of no appointment. Counted: crashes (any exception, or an answer the
    flow does not expect) and forged codes accepted (any answer but ``invalid_code`` to a code
    not issued for this site, today, for an appointment)."""
    started = time.monotonic()
    rng = random.Random(seed)
    figures = Figures("fuzz", kind_of(url))
    clock = FixedClock(at(8, 30))  # from before check-in opens to the end of the day
    # Name check-in's pause after failed attempts is kept out of the way (a minute's window,
    # a thousand attempts, the clock moving on): otherwise nearly every name answer is
    # "locked" and the search itself is not exercised.
    settings = make_settings(url, lockout_attempts=1000, lockout_window_minutes=1)
    ctx = make_ctx(settings, clock)
    people = book(ctx, PEOPLE)
    secret, site = ctx.qr_secret, settings.site_id
    today = [p.appointment for p in people.values() if p.start.date() == DAY]
    valid = [tokens.issue(secret, site, appointment, DAY) for appointment in today]
    service = CheckinService(ctx)
    outcomes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    step = min(0.5, 15 * 3600 / max(1, inputs))  # the whole run stays within the day
    expected = set(Outcome)
    names = [(p.family, p.given, p.birth_date) for p in people.values()]
    for n in range(inputs):
        figures.attempts += 1
        clock.advance(seconds=step)
        flow = KioskFlow(clock, "en", settings.languages, tz=ctx.tz)
        what = rng.random()
        try:
            request: CheckinRequest | None
            if what < 0.4:
                kind, payload, legit = random_code(rng, valid, secret, site, today)
                kinds[f"code: {kind}"] += 1
                request = flow.scanned(payload)
                assert request is not None
                result = service.answer(request, "fuzz")
                if not legit and result.outcome is not Outcome.INVALID_CODE:
                    figures.problem("forged_accepted", f"{kind} {payload!r:.60}: "
                                                       f"{result.outcome.value}")
            elif what < 0.75:  # the screens' path: family name, date fields, given name
                if rng.random() < 0.5:
                    family, given, born = rng.choice(names)
                    family, given = variant_of(rng, family), variant_of(rng, given)
                    fields = [str(born.day), str(born.month), str(born.year)]
                    if rng.random() < 0.3:
                        fields[rng.randrange(3)] = random_field(rng)
                    kinds["flow: a real name, varied"] += 1
                else:
                    family, given = random_name(rng), random_name(rng)
                    fields = [random_field(rng) for _ in range(3)]
                    kinds["flow: generated"] += 1
                flow.start_name_entry()
                problem = flow.submit_family(family)
                validate_name(family)
                checked = validate_birth_date(*fields, clock.now().date())
                if isinstance(checked, InputProblem):
                    date_problem_field(checked, fields[0], fields[1])
                if problem is not None:
                    outcomes[f"input: {problem.value}"] += 1
                    continue
                request = flow.submit_birth_date(*fields)
                if request is None:
                    outcomes[f"input: {flow.problem}"] += 1
                    continue
                result = service.answer(request, f"fuzz-{n % 7}")
                if result.outcome is Outcome.NEED_GIVEN_NAME:
                    flow.finish(result, request.request_id)
                    again = flow.submit_given(given)
                    if again is not None:
                        result = service.answer(again, f"fuzz-{n % 7}")
            else:  # straight to the engine, as `kiosk checkin --family --dob --given` does
                family = random_name(rng) if rng.random() < 0.7 else variant_of(
                    rng, rng.choice(names)[0])
                given = random_name(rng) if rng.random() < 0.3 else None
                kinds["engine: by_name"] += 1
                result = service.by_name(family, random_date(rng), given=given,
                                         kiosk_id=f"fuzz-{n % 7}")
            outcomes[result.outcome.value] += 1
            if result.outcome not in expected:
                figures.problem("crashed", f"answer {result.outcome!r}")
        except Exception as error:
            figures.problem("crashed", f"{type(error).__name__}: {str(error)[:160]}")
    figures.faults = figures.attempts
    figures.details["inputs by kind"] = dict(sorted(kinds.items()))
    figures.details["answers"] = dict(outcomes.most_common())
    ctx.db.dispose()
    figures.seconds = time.monotonic() - started
    return figures.show()


# -- 7. hostile monitor clients --------------------------------------------------------------

def hostile_monitor(url: str, *, connections: int = 100, silent: int = 20,
                    seed: int = 1) -> Figures:
    """``connections`` clients of ``/healthz`` at once-ish: ``silent`` connect and say
    nothing, the rest ask and hang up hard before the answer, send garbage, trickle a request
    slower than the server's patience, or ask properly. Meanwhile a legitimate client asks
    ``/healthz`` every 100 ms (what a load balancer does). Counted: ERROR log records (the
    kiosk's own count), the most threads at once, what the legitimate client got and how
    long its slowest answer took."""
    import logging

    from kiosk.ops.monitor import REQUEST_TIMEOUT_SECONDS, serve

    started = time.monotonic()
    rng = random.Random(seed)
    figures = Figures("hostile /healthz clients", kind_of(url))
    ctx = make_ctx(make_settings(url, monitor_address="127.0.0.1:0"), FixedClock(at(8, 50)))
    book(ctx, PEOPLE)
    errors: list[logging.LogRecord] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record)

    catch = Catch()
    logging.getLogger().addHandler(catch)
    server = serve(ctx)
    assert server is not None
    port = server.port
    stop = threading.Event()
    peak = [threading.active_count()]
    legit: list[tuple[float, int | str]] = []

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], threading.active_count())
            stop.wait(0.005)

    def probe() -> None:
        while not stop.is_set():
            begun = time.monotonic()
            status = _healthz(port)
            legit.append((time.monotonic() - begun, status))
            stop.wait(0.1)

    baseline = threading.active_count()
    helpers = [threading.Thread(target=sample), threading.Thread(target=probe)]
    for helper in helpers:
        helper.start()
    kinds: Counter[str] = Counter()
    held: list[socket.socket] = []
    slow: list[socket.socket] = []
    plan = ["silent"] * silent + [rng.choice(["hang up", "garbage", "slow", "proper"])
                                  for _ in range(connections - silent)]
    rng.shuffle(plan)
    refused = 0
    for kind in plan:
        kinds[kind] += 1
        try:
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            refused += 1
            continue
        try:
            if kind == "silent":
                held.append(client)
                continue
            if kind == "hang up":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.sendall(b"GET /metrics HTTP/1.1\r\nHost: kiosk\r\n\r\n")
                client.close()
            elif kind == "garbage":
                client.sendall(bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000)))
                               + b"\r\n\r\n")
                client.close()
            elif kind == "slow":
                client.sendall(b"GET /hea")
                slow.append(client)
            else:
                client.sendall(rng.choice([b"GET /healthz HTTP/1.0\r\n\r\n",
                                           b"GET /metrics HTTP/1.0\r\n\r\n",
                                           b"GET /\x1b[31m HTTP/1.0\r\n\r\n",
                                           b"POST /healthz HTTP/1.0\r\n\r\n"]))
                client.settimeout(0.2)
                with contextlib.suppress(OSError):
                    client.recv(100)
                client.close()
        except OSError:  # the kiosk closed it first (turned away): fine
            client.close()
    storm_end = time.monotonic()
    time.sleep(REQUEST_TIMEOUT_SECONDS + 1.5)  # the silent and slow ones time out
    for client in slow:
        with contextlib.suppress(OSError):
            client.sendall(b"lthz HTTP/1.0\r\n\r\n")
    closed_by_kiosk = 0
    for client in held:
        client.settimeout(1)
        try:
            closed_by_kiosk += client.recv(1) == b""
        except ConnectionResetError:
            closed_by_kiosk += 1
        except OSError:
            pass
    after = _healthz(port)
    stop.set()
    for helper in helpers:
        helper.join()
    for client in held + slow:
        client.close()
    server.stop()
    logging.getLogger().removeHandler(catch)
    figures.attempts = connections
    figures.faults = connections - kinds["proper"]
    for record in errors:
        figures.problem("crashed", f"ERROR logged: {record.getMessage()[:200]}")
    answered = [(seconds, status) for seconds, status in legit]
    ok = [seconds for seconds, status in answered if status == 200]
    figures.details["clients"] = dict(kinds)
    figures.details["connections refused by the OS"] = refused
    figures.details["turned away by the kiosk (over 4 at once from one address, or 32 "
                    "in all)"] = server.httpd.turned_away
    figures.details["threads: before / peak"] = f"{baseline} / {peak[0]}"
    figures.details["silent clients closed by the kiosk"] = f"{closed_by_kiosk} of {len(held)}"
    figures.details["legitimate /healthz during the storm"] = (
        f"{len(ok)} answered 200 of {len(answered)}, others "
        f"{dict(Counter(str(s) for _, s in answered if s != 200))}")
    if ok:
        figures.details["legitimate /healthz time"] = (
            f"median {sorted(ok)[len(ok) // 2] * 1000:.0f} ms, slowest {max(ok) * 1000:.0f} ms")
    figures.details["storm sent in"] = f"{storm_end - started:.2f} s"
    figures.details["/healthz after the storm"] = after
    if after != 200:
        figures.problem("crashed", f"/healthz after the storm: {after}")
    figures.recovery_seconds = None
    ctx.db.dispose()
    figures.seconds = time.monotonic() - started
    return figures.show()


def fresh_sqlite_url(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / f'kiosk-{uuid.uuid4().hex[:8]}.sqlite3'}"
