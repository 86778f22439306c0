"""Schedule sync against a real FHIR R4 server on loopback (tests/support/fhir_server.py).

Targets (issue): a full pull of a day with 5,000 appointments, 4,000 patients and 30
practitioners <= 10 s; an incremental pull with 10 changes <= 0.5 s; 1,000 queued check-ins
written back once the server is there <= 20 s; beside the full pull, the same pull done as a
plain loop over fhirpy (search the appointments, read each patient and practitioner they name)
for the ratio. Run from the repository root:

    .venv/bin/python bench/fhir_sync.py [--appointments N]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from kiosk.base.clock import FixedClock  # noqa: E402
from kiosk.base.settings import load_settings  # noqa: E402
from kiosk.services.checkin import CheckinService  # noqa: E402
from kiosk.store.db import Database  # noqa: E402
from kiosk.store.site import SiteContext  # noqa: E402
from kiosk.sync.client import FhirClient  # noqa: E402
from kiosk.sync.outbox import drain  # noqa: E402
from kiosk.sync.pull import pull  # noqa: E402
from tests.support.fhir_server import FhirServer, practice_day  # noqa: E402

DAY = date(2026, 11, 23)
TZ = ZoneInfo("Europe/Berlin")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def plain_fhirpy_pull(url: str, day: date, location: str, page: int) -> tuple[int, int, int]:
    """The pull as a plain loop over fhirpy's synchronous client: every appointment page,
    then each patient and practitioner they name, read once each. Nothing is stored."""
    from fhirpy import SyncFHIRClient

    client = SyncFHIRClient(url)
    window = (f"{day.isoformat()}T00:00:00+01:00",
              f"{(day + timedelta(days=2)).isoformat()}T00:00:00+01:00")
    appointments = (client.resources("Appointment")
                    .search(date__ge=window[0], date__lt=window[1], location=location)
                    .limit(page).fetch_all())
    people: dict[str, dict[str, object]] = {}
    for appointment in appointments:
        for participant in appointment.get("participant") or []:
            reference = (participant.get("actor") or {}).get("reference", "")
            kind, _, ident = reference.partition("/")
            if kind in ("Patient", "Practitioner") and reference not in people:
                people[reference] = client.reference(kind, ident).to_resource()
    patients = sum(key.startswith("Patient/") for key in people)
    return len(appointments), patients, len(people) - patients


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appointments", type=int, default=5000)
    parser.add_argument("--patients", type=int, default=4000)
    parser.add_argument("--practitioners", type=int, default=30)
    parser.add_argument("--queued", type=int, default=1000)
    args = parser.parse_args()
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}")
    server = FhirServer()
    try:
        started = time.perf_counter()
        server.put_all(practice_day(DAY.isoformat(), appointments=args.appointments,
                                    patients=args.patients, practitioners=args.practitioners))
        print(f"server seeded with {args.appointments} appointments, {args.patients} patients, "
              f"{args.practitioners} practitioners in {time.perf_counter() - started:.1f} s")
        folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-sync-"))
        url = f"sqlite:///{folder / 'kiosk.sqlite3'}"
        settings = load_settings(environ={}, overrides={
            "database_url": url, "timezone": "Europe/Berlin", "fhir_base_url": server.url,
            "fhir_page_size": 500, "fhir_timeout_seconds": 60})
        db = Database(url)
        db.upgrade()
        clock = FixedClock(datetime(2026, 11, 23, 13, 0, tzinfo=TZ))
        ctx = SiteContext.open(settings, db, clock)
        client = FhirClient(settings)

        started = time.perf_counter()
        full = pull(ctx, client, full=True)
        seconds = time.perf_counter() - started
        print(f"full pull: {full.appointments} appointments, {full.patients} patients, "
              f"{full.practitioners} practitioners in {seconds:.2f} s, "
              f"{client.stats.requests} requests (target <= 10 s: {verdict(seconds <= 10)})")

        started = time.perf_counter()
        counts = plain_fhirpy_pull(server.url, DAY, "Location/main", 500)
        plain = time.perf_counter() - started
        print(f"the same pull as a plain fhirpy loop: {counts[0]} appointments, {counts[1]} "
              f"patients, {counts[2]} practitioners in {plain:.2f} s, not stored "
              f"(ratio: the kiosk's pull takes {seconds / plain:.2f} of its time, "
              f"{plain / seconds:.1f}x faster)")

        for n in range(10):
            resource = server.read(f"Appointment/ap-{n * 7}")
            server.update({**resource, "comment": "changed upstream"})
        before = client.stats.requests
        started = time.perf_counter()
        changes = pull(ctx, client)
        seconds = time.perf_counter() - started
        print(f"incremental pull ({'_lastUpdated' if changes.incremental else 'window'}): "
              f"{changes.appointments} appointments in {seconds:.3f} s, "
              f"{client.stats.requests - before} requests (target <= 0.5 s: "
              f"{verdict(seconds <= 0.5)})")

        service = CheckinService(ctx)
        for n in range(args.queued):
            service.by_staff(f"ap-{n}", actor="bench")
        server.kill()  # the practice system is down while the check-ins queue
        down = drain(ctx, client)
        print(f"server down: {down.retrying} retry later ({down.unavailable})")
        server.start()
        clock.advance(minutes=10)
        started = time.perf_counter()
        result = drain(ctx, client)
        seconds = time.perf_counter() - started
        print(f"{args.queued} queued check-ins written back in {seconds:.2f} s: sent "
              f"{result.sent}, already there {result.skipped}, parked {result.parked} "
              f"(target <= 20 s: {verdict(seconds <= 20 and result.sent == args.queued)})")
        writes = server.arrived_writes()
        print(f"server: {len(writes)} appointments arrived, written more than once: "
              f"{sum(count > 1 for count in writes.values())}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
