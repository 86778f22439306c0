"""Faults and abuse at full size, on SQLite and PostgreSQL: check-ins SIGKILLed at random
(some inside the write transaction), the sync worker SIGKILLed mid-drain against a real FHIR
server, PostgreSQL stopped and started under a running site, SQLite's bad days (full disk,
read-only, a writer holding the lock), two one-shot syncs back to back, fuzzed names, dates
and codes, and hostile ``/healthz`` clients. The scenarios are ``tests/support/faults.py``,
which ``tests/system/test_faults.py`` runs small; here each prints its figures: attempts,
faults injected, lost, duplicated, crashed, forged accepted, recovery time. This prints
figures; it does not pass or fail (a non-zero lost, duplicated, crashed or forged count is a
defect to report). PostgreSQL is a private server on loopback (``tests.support.pg_server``),
or the one ``KIOSK_TEST_POSTGRES_URL`` names; the outage scenario always starts its own.

Run from the repository root (as root for the full-disk and read-only-mount cases):

    .venv/bin/python bench/faults.py [--db sqlite|postgresql|both] [--processes N]
        [--checkins N] [--kills N] [--outage SECONDS] [--fuzz N] [--connections N]
        [--silent N] [--only NAME ...] [--keep]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from tests.support import faults  # noqa: E402
from tests.support.fhir_server import FhirServer  # noqa: E402
from tests.support.pg_server import create_database, server_url  # noqa: E402

SCENARIOS = ("storm", "sync", "outage", "sqlite", "syncs", "fuzz", "monitor")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--processes", type=int, default=400, help="check-in processes")
    parser.add_argument("--kill-share", type=float, default=0.45)
    parser.add_argument("--parallel", type=int, default=8, help="check-in processes at once")
    parser.add_argument("--checkins", type=int, default=1000, help="write-backs to drain")
    parser.add_argument("--kills", type=int, default=8, help="sync workers killed")
    parser.add_argument("--outage", type=float, default=20.0, help="PostgreSQL down, seconds")
    parser.add_argument("--fuzz", type=int, default=100_000, help="fuzzed inputs per database")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--silent", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", nargs="*", choices=SCENARIOS, default=list(SCENARIOS))
    parser.add_argument("--keep", action="store_true",
                        help="keep the working folder (databases, each process's output)")
    args, _ = parser.parse_known_args()  # `./dev bench` passes its arguments to every bench
    print(f"command: {shlex.join(sys.orig_argv)}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="kiosk-bench-faults-"))
    pg_server = None
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]

    def database(kind: str) -> str:
        nonlocal pg_server
        if kind == "sqlite":
            return faults.fresh_sqlite_url(folder / "db")
        if pg_server is None:
            pg_server = server_url()
        return create_database(pg_server[0], f"f_{uuid.uuid4().hex[:10]}")

    fhir = FhirServer() if {"storm", "sync", "outage", "syncs"} & set(args.only) else None
    results: list[faults.Figures] = []
    began = time.monotonic()
    try:
        for kind in kinds:
            if "storm" in args.only and fhir is not None:
                results.append(faults.checkin_storm(
                    database(kind), fhir, folder / f"storm-{kind}", processes=args.processes,
                    kill_share=args.kill_share, parallel=args.parallel, seed=args.seed))
            if "sync" in args.only and fhir is not None:
                results.append(faults.sync_killed_mid_drain(
                    database(kind), fhir, folder / f"sync-{kind}", checkins=args.checkins,
                    kills=args.kills, seed=args.seed))
            if "syncs" in args.only and fhir is not None:
                results.append(faults.back_to_back_syncs(database(kind), fhir))
            if "fuzz" in args.only:
                results.append(faults.fuzz(database(kind), inputs=args.fuzz, seed=args.seed))
        if "outage" in args.only and fhir is not None and "postgresql" in kinds:
            results.append(faults.postgres_outage(fhir, outage_seconds=args.outage,
                                                  seed=args.seed))
        if "sqlite" in args.only and "sqlite" in kinds:
            results.extend(faults.sqlite_bad_days(folder / "bad", hold_seconds=10.0))
        if "monitor" in args.only:
            results.append(faults.hostile_monitor(
                faults.fresh_sqlite_url(folder / "db"), connections=args.connections,
                silent=args.silent, seed=args.seed))
    finally:
        if fhir is not None:
            fhir.stop()
        if pg_server is not None and pg_server[1] is not None:
            pg_server[1].stop()
        if args.keep:
            print(f"working folder kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nSummary ({time.monotonic() - began:.0f} s):")
    print(f"{'scenario':<48} {'db':<10} {'attempts':>8} {'faults':>7} {'lost':>5} {'dup':>4} "
          f"{'crash':>5} {'forged':>6} {'recovery':>9}")
    for f in results:
        recovery = "-" if f.recovery_seconds is None else f"{f.recovery_seconds:.2f} s"
        print(f"{f.scenario[:48]:<48} {f.database:<10} {f.attempts:>8} {f.faults:>7} "
              f"{f.lost:>5} {f.duplicated:>4} {f.crashed:>5} {f.forged_accepted:>6} "
              f"{recovery:>9}")


if __name__ == "__main__":
    main()
