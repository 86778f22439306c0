"""Schema, migrations and the database's bad days (locked, gone)."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from kiosk.domain.results import Outcome
from kiosk.services.checkin import CheckinService
from kiosk.store import db as kiosk_db
from kiosk.store.db import Database, DatabaseUnavailable
from kiosk.store.models import Base
from kiosk.store.site import SiteContext
from tests.support.site import at, make_settings


def test_migrations_build_exactly_the_models(ctx):
    with ctx.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    assert kiosk_db.current_revision(ctx.db.engine) == kiosk_db.head_revision(ctx.db.engine)


def test_upgrade_on_every_start_is_harmless(ctx, day):
    ctx.db.upgrade()
    ctx.db.upgrade()
    assert CheckinService(ctx).by_name("Müller", day["muller"].birth_date).succeeded


def test_an_up_to_date_database_starts_without_loading_alembic(db_url):
    """Alembic (0.2 s of imports) loads only when there is something to migrate; the fast
    path reads the version the files name, held to Alembic's own answer."""
    import subprocess
    import sys

    engine = Database(db_url).engine
    assert kiosk_db.shipped_head() == kiosk_db.head_revision(engine)
    probe = ("import sys; from kiosk.store.db import Database; db = Database(sys.argv[1]); "
             "db.upgrade(); print('alembic' in sys.modules)")
    first = subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True,
                           text=True, timeout=120, check=True)
    again = subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True,
                           text=True, timeout=120, check=True)
    assert (first.stdout.strip(), again.stdout.strip()) == ("True", "False")
    assert kiosk_db.current_revision(engine) == kiosk_db.shipped_head()


def test_kiosks_starting_together_migrate_once(db_url):
    """Several processes upgrading one empty database at once: all succeed, schema is whole."""
    import subprocess
    import sys

    starts = [subprocess.Popen([sys.executable, "-m", "kiosk.ops.cli", "--db", db_url, "db",
                                "upgrade"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True) for _ in range(4)]
    for process in starts:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    engine = Database(db_url).engine
    assert kiosk_db.current_revision(engine) == kiosk_db.head_revision(engine)


def test_embedded_default_is_a_wal_sqlite_file_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    database = Database("")
    database.upgrade()
    path = kiosk_db.default_sqlite_path()
    assert path.is_relative_to(tmp_path) and path.exists()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_locked_database_is_a_clear_error_and_loses_nothing(sqlite_url, clock, day_factory):
    database = Database(sqlite_url, busy_timeout_ms=200)
    database.upgrade()
    ctx = SiteContext.open(make_settings(sqlite_url), database, clock)
    person = day_factory(ctx)["muller"]
    path = sqlite_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseUnavailable, match="locked"):
            CheckinService(ctx).by_name("Müller", person.birth_date)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # Once the lock is gone the same patient checks in normally.
    assert CheckinService(ctx).by_name("Müller", person.birth_date).outcome is Outcome.CHECKED_IN


def test_an_unreachable_postgresql_server_is_a_clear_error(clock):
    url = "postgresql://kiosk@127.0.0.1:1/kiosk"  # nothing listens on port 1
    with pytest.raises(DatabaseUnavailable):
        Database(url).upgrade()


@pytest.fixture
def day_factory():
    from tests.support.site import load_day
    return load_day


def test_an_upgrade_from_the_previous_release_keeps_every_row(ctx, day):
    """A working day on this schema, taken back to the previous release's (0005: before
    help requests named visits and before site-wide settings), then upgraded as a kiosk of
    this release does at start: every row is still there, and the new parts work."""
    from alembic import command
    from sqlalchemy import MetaData, select

    from kiosk.services import site_settings
    from kiosk.services.checkin import CheckinService
    from kiosk.services.lobby import request_help
    from kiosk.services.queue import QueueService
    from kiosk.services.staff import add_staff
    from kiosk.store.db import alembic_config, current_revision
    from kiosk.store.models import StaffRole

    checkin = CheckinService(ctx)
    for who in ("muller", "hashemi", "wang"):
        person = day[who]
        assert checkin.by_name(person.family, person.birth_date, kiosk_id="k1").ticket
    QueueService(ctx).act("K-1", "call", actor="Rosa", room="2")
    add_staff(ctx, "Rosa", "2580")
    request_help(ctx, "k1", "welcome")

    def snapshot() -> dict[str, list[dict[str, str]]]:
        tables = MetaData()
        with ctx.db.engine.connect() as connection:
            tables.reflect(connection)
            return {table.name: [{key: str(value) for key, value in row.items()}
                                 for row in connection.execute(select(table)).mappings()]
                    for table in tables.sorted_tables if table.name != "alembic_version"}

    # Dropped on purpose since 0005: the stored actual wait (derived from the visit now).
    dropped = {"wait_estimate": {"actual"}}
    # Derived rows added on purpose since 0005: the loose name keys across scripts (0009).
    grown = {"patient_name_key"}

    command.downgrade(alembic_config(ctx.db.engine), "0005")
    assert current_revision(ctx.db.engine) == "0005"
    before = snapshot()
    assert len(before["visit"]) == 3 and len(before["patient"]) == len(day)
    ctx.db.upgrade()  # what `kiosk run` does at start
    after = snapshot()
    for table, rows in before.items():
        if not rows:
            continue
        columns = set(rows[0]) - dropped.get(table, set())
        assert columns <= set(after[table][0]), table

        def kept(found: list[dict[str, str]], columns: set[str] = columns) -> list[tuple]:
            return sorted(tuple(row[name] for name in sorted(columns)) for row in found)
        if table in grown:
            assert set(kept(rows)) <= set(kept(after[table])), table
        else:
            assert kept(after[table]) == kept(rows), table  # the old columns, row for row
    assert any(row["key"].startswith("~") for row in after["patient_name_key"])
    assert after["site_setting"] == []
    # The new parts work on the upgraded data.
    site_settings.save(ctx, {"target_wait_minutes": 20}, actor="Ines", role=StaffRole.ADMIN)
    request_help(ctx, "k1", "result", visit_id=1)
    assert {row.ticket for row in QueueService(ctx).rows()} == {"K-1", "K-2", "K-3"}


def test_an_outage_is_logged_when_it_starts_and_when_it_ends(tmp_path, caplog):
    """Pollers read every few seconds: one line when the database goes, one when it is back."""
    import logging

    from sqlalchemy import text

    from kiosk.store.db import Database, DatabaseUnavailable

    folder = tmp_path / "not-yet"
    db = Database(f"sqlite:///{folder}/kiosk.sqlite3")
    caplog.set_level(logging.INFO, logger="kiosk.store.db")
    for _ in range(3):
        with pytest.raises(DatabaseUnavailable), db.read() as session:
            session.execute(text("SELECT 1"))
    folder.mkdir()
    for _ in range(2):
        with db.read() as session:
            session.execute(text("SELECT 1"))
    lines = [(record.levelname, record.getMessage().split(":")[0]) for record in caplog.records
             if record.name == "kiosk.store.db"]
    assert [level for level, _ in lines] == ["ERROR", "WARNING"], lines
    assert "reachable again" in caplog.records[-1].getMessage()
    db.dispose()


def test_an_upgrade_that_copies_the_visit_table_keeps_every_row_that_refers_to_a_visit(
        ctx, day, clock):
    """SQLite alters a table by copying it and dropping the original (0013 copies visit):
    with foreign keys on, that drop would delete each visit's recorded estimates and empty
    the audit's and help requests' references. The upgrade runs with them off, and checks."""
    from alembic import command
    from sqlalchemy import func, select

    from kiosk.services.checkin import CheckinService
    from kiosk.services.lobby import request_help
    from kiosk.store.db import alembic_config
    from kiosk.store.models import AuditEvent, HelpRequest, WaitEstimateRecord

    clock.set(at(8, 50))
    for who in ("muller", "hashemi"):
        assert CheckinService(ctx).by_name(day[who].family, day[who].birth_date,
                                           kiosk_id="k1").ticket
    request_help(ctx, "k1", "result", visit_id=1)

    def references() -> tuple[int, int, int]:
        with ctx.db.read() as session:
            return (session.scalar(select(func.count()).select_from(WaitEstimateRecord)),
                    session.scalar(select(func.count()).where(AuditEvent.visit_id.is_not(None))),
                    session.scalar(select(func.count()).where(HelpRequest.visit_id.is_not(None))))

    before = references()
    assert before[0] == 2 and before[1] >= 2 and before[2] == 1
    command.downgrade(alembic_config(ctx.db.engine), "0012")
    ctx.db.upgrade()
    assert references() == before
