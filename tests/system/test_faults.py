"""Faults and abuse, bounded (the full sizes are ``bench/faults.py``): check-in processes
SIGKILLed (some inside the write transaction), the sync worker SIGKILLed mid-drain against the
real FHIR server, PostgreSQL stopped under a running site, SQLite's bad days, fuzzed input and
hostile /healthz clients. The scenarios live in tests/support/faults.py and print their
figures (``pytest -s`` shows them); here nothing may be lost, duplicated or crash, and no
forged code may check anyone in."""

from __future__ import annotations

import pytest

from kiosk.sync.client import FhirClient
from kiosk.sync.outbox import drain
from kiosk.sync.worker import SyncWorker
from tests.support import faults
from tests.support.fhir_server import FhirServer, practice_day
from tests.support.site import DAY, at, unavailable
from tests.support.sync import check_in, sync_ctx


def assert_clean(figures: faults.Figures) -> None:
    counted = (figures.lost, figures.duplicated, figures.crashed, figures.forged_accepted)
    assert counted == (0, 0, 0, 0), figures.report()


def test_check_ins_killed_at_random_lose_and_duplicate_nothing(db_url, fhir, tmp_path):
    figures = faults.checkin_storm(db_url, fhir, tmp_path / "storm", processes=20,
                                   kill_share=0.45, parallel=6, seed=17)
    assert_clean(figures)
    assert figures.faults >= 5, figures.report()
    assert figures.details["wrong answers"] == 0, figures.report()


def test_a_sync_worker_killed_mid_drain_writes_every_check_in_back_once(db_url, fhir, tmp_path):
    figures = faults.sync_killed_mid_drain(db_url, fhir, tmp_path / "sync", checkins=60,
                                           kills=3, encounters=True, seed=5)
    assert_clean(figures)
    assert figures.faults >= 1, figures.report()
    assert figures.details["outbox at the end"] == {"sent": 60}, figures.report()


class Died(BaseException):
    """The worker's process ends here (SIGKILL), between two requests."""


def test_a_worker_dying_between_the_appointment_and_its_encounter_still_creates_it_once(
        sqlite_url, clock, fhir: FhirServer, monkeypatch):
    """Found by the scenario above: the Appointment was written ``arrived``, the worker died
    before creating the Encounter; its successor found the Appointment arrived and left it
    alone, Encounter never made. Now it is made (conditionally: never a second one)."""
    import kiosk.sync.outbox as outbox

    fhir.reset()
    fhir.put_all(practice_day(DAY.isoformat(), appointments=6, patients=6, practitioners=2))
    clock.set(at(9, 0))
    ctx = sync_ctx(sqlite_url, clock, fhir.url, fhir_create_encounter=True)
    SyncWorker(ctx).run_once()
    for external in ("ap-1", "ap-2"):
        check_in(ctx, external)
    create = outbox._create_encounter

    def dies_on_the_first(client, external_id):
        if external_id == "ap-1":
            raise Died
        create(client, external_id)

    monkeypatch.setattr(outbox, "_create_encounter", dies_on_the_first)
    with pytest.raises(Died):
        drain(ctx, FhirClient(ctx.settings))
    monkeypatch.setattr(outbox, "_create_encounter", create)
    assert fhir.read("Appointment/ap-1")["status"] == "arrived"
    # The successor: a plain drain with the stored (stale) copy, then a pass that pulls first.
    assert drain(ctx, FhirClient(ctx.settings)).sent == 2
    assert SyncWorker(ctx).run_once().ok
    for external in ("ap-1", "ap-2"):
        found = fhir.http.get(f"{fhir.url}/Encounter",
                              params={"appointment": f"Appointment/{external}"}, timeout=30)
        assert len(found.json().get("entry") or []) == 1, (external, found.json())
    assert fhir.arrived_writes() == {"ap-1": 1, "ap-2": 1}
    ctx.db.dispose()


@pytest.mark.postgres
def test_postgresql_stopped_and_started_under_a_running_site(fhir):
    figures = faults.postgres_outage(fhir, outage_seconds=3.0, appointments=200, seed=3)
    if "not run" in figures.details:
        unavailable(f"PostgreSQL unavailable: {figures.details['not run']}")
    assert_clean(figures)
    assert figures.recovery_seconds is not None and figures.recovery_seconds < 10, \
        figures.report()
    assert figures.details["/healthz while down"].get("503"), figures.report()
    assert sum(figures.details["refused while down (DatabaseUnavailable)"].values()) > 0


def test_sqlite_bad_days_give_clear_errors_lose_nothing_and_recover(tmp_path):
    for figures in faults.sqlite_bad_days(tmp_path, hold_seconds=6.0):
        assert_clean(figures)
        if "not run" not in figures.details:
            assert figures.recovery_seconds is not None, figures.report()
            assert figures.details["integrity_check"] == "ok", figures.report()


def test_fuzzed_names_dates_and_codes_never_crash_nor_check_in_a_forged_code(db_url):
    figures = faults.fuzz(db_url, inputs=1000, seed=11)
    assert_clean(figures)
    assert figures.attempts == 1000


def test_hostile_monitor_clients_are_no_errors_and_the_endpoint_answers_after(sqlite_url):
    figures = faults.hostile_monitor(sqlite_url, connections=120, silent=20, seed=2)
    assert_clean(figures)
    assert figures.details["/healthz after the storm"] == 200


def test_a_date_field_of_twenty_digits_is_an_impossible_date_not_an_overflow():
    """Found by the fuzz: a day or month too long for a C long raised OverflowError from the
    validator (the kiosk's fields hold two digits; the validator is the rule for any caller)."""
    from kiosk.domain.flow import InputProblem, validate_birth_date

    for fields in (("1", "9" * 20, "1990"), ("9" * 20, "12", "84"), ("1", "1", "9" * 4)):
        assert validate_birth_date(*fields, DAY) in (InputProblem.DATE_IMPOSSIBLE,
                                                     InputProblem.DATE_FUTURE)
