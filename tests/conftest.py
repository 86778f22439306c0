"""Shared fixtures: real databases (a SQLite file and a private PostgreSQL server), a fixed
clock, and a small practice day with the hard cases in it (tests/support/site.py).

Tests are laid out by kind: tests/core (the Qt-free core in one process), tests/ui (Qt windows
offscreen, marked ``gui``), tests/system (several processes or real servers, marked
``system``); the helpers they share live in tests/support."""

from __future__ import annotations

import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

from kiosk.base.clock import FixedClock
from kiosk.base.settings import Settings
from kiosk.store.site import SiteContext
from tests.support.fhir_server import FhirServer
from tests.support.pg_server import PostgresUnavailable, TempPostgres, create_database, server_url
from tests.support.site import (
    Person,
    at,
    load_day,
    make_ctx,
    make_settings,
    start_fhir_server,
    unavailable,
)

_pg_skipped: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs() -> None:
    """The tests read translations from compiled catalogs, as the kiosk does."""
    from babel.messages.frontend import CommandLineInterface

    locales = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "locales")
    for template in sorted(os.listdir(locales)):  # one domain per template: kiosk, reception
        if template.endswith(".pot"):
            failed = CommandLineInterface().run(
                ["pybabel", "-q", "compile", "-d", locales, "-D", template[:-4]])
            assert not failed, f"pybabel compile failed for {template}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks by folder, so ``-m "not gui"`` runs without Qt and ``-m "not system"`` is quick."""
    for item in items:
        kind = item.path.parent.name
        if kind == "ui":
            item.add_marker(pytest.mark.gui)
        elif kind == "system":
            item.add_marker(pytest.mark.system)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """A real PostgreSQL server for the session; in CI its absence is a failure, not a skip."""
    server: TempPostgres | None = None
    try:
        url, server = server_url()
    except PostgresUnavailable as why:
        _pg_skipped.append(str(why).splitlines()[0])
        unavailable(f"PostgreSQL unavailable: {why}")
    yield url
    if server is not None:
        server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_skipped:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(f"reason: {_pg_skipped[0]}", red=True)
        terminalreporter.write_line("Run the README's test command: it installs PostgreSQL.")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each test that uses it runs twice: on a SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kiosk.sqlite3'}"
    admin = request.getfixturevalue("pg_admin_url")
    return create_database(admin, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/kiosk.sqlite3"


@pytest.fixture(scope="session")
def fhir() -> Iterator[FhirServer]:
    """One FHIR server for the whole session; tests reset() it and load what they need."""
    server = start_fhir_server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Every test: what a command run in-process (kiosk.base.logs.configure) or a lockdown changes
    in logging (handlers, level) and the exception hooks is put back afterwards, so that
    pytest keeps seeing exceptions in threads."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    hooks = sys.excepthook, threading.excepthook
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(8, 50))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return make_settings(db_url)


@pytest.fixture
def ctx(settings: Settings, clock: FixedClock) -> Iterator[SiteContext]:
    context = make_ctx(settings, clock)
    yield context
    context.db.dispose()


@pytest.fixture
def sqlite_ctx(sqlite_url: str, clock: FixedClock) -> Iterator[SiteContext]:
    context = make_ctx(make_settings(sqlite_url), clock)
    yield context
    context.db.dispose()


@pytest.fixture
def day(ctx: SiteContext) -> dict[str, Person]:
    return load_day(ctx)


@pytest.fixture
def sqlite_day(sqlite_ctx: SiteContext) -> dict[str, Person]:
    return load_day(sqlite_ctx)


