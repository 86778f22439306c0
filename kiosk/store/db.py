"""Engines, sessions and migrations.

SQLite is the embedded default: one file in the user data folder, WAL mode so the kiosk and a
reception window on the same machine read while the other writes, a busy timeout so a writer
waits its turn instead of failing. Write transactions start with ``BEGIN IMMEDIATE`` so that two
processes never both read and then both try to upgrade to a write lock (which SQLite would fail
at once, busy timeout or not). PostgreSQL (psycopg 3) is the way to grow past one machine.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

from kiosk.base.paths import make_private, open_private, private_dir
from kiosk.store import changes
from kiosk.store.errors import DatabaseUnavailable as DatabaseUnavailable  # re-exported

log = logging.getLogger(__name__)

APP_NAME = "lobby-kiosk"
SQLITE_BUSY_TIMEOUT_MS = 5000
MIGRATIONS = Path(__file__).with_name("migrations")


def default_sqlite_path() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "kiosk.sqlite3"


def normalise_url(url: str) -> URL:
    """Empty means the embedded default; ``postgresql://`` means psycopg 3."""
    if not url:
        path = default_sqlite_path()
        private_dir(path.parent)
        return URL.create("sqlite+pysqlite", database=str(path))
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+pysqlite")
    return parsed


def describe_url(url: URL) -> str:
    """The URL without its password, for logs and messages."""
    return url.render_as_string(hide_password=True)


def make_engine(url: str | URL, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
                **kwargs: Any) -> Engine:
    """An engine that never puts statement parameters (names, birth dates) into errors."""
    url = normalise_url(url) if isinstance(url, str) else url
    if url.get_backend_name() == "sqlite":
        _prepare_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000},
                               hide_parameters=True, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
    else:
        # Smaller multi-row INSERT pages keep each statement short enough for psycopg to cache
        # its parsing: loading 200,000 patients took 19.6 s with the default 1000, 14.6 s at 100.
        kwargs.setdefault("insertmanyvalues_page_size", 100)
        # A server that hangs must not hang a kiosk: connecting and each statement time out.
        connect_args = {"connect_timeout": 5, "options": "-c statement_timeout=15000"}
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True,
                               connect_args=connect_args, **kwargs)
    return engine


def _prepare_sqlite_file(url: URL) -> None:
    """The database file, and the -wal and -shm files SQLite makes with its mode, readable by
    the kiosk's user only: created 0600 before SQLite creates it under the process's umask."""
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return  # a configured folder that is missing is a mistake to report, not to make
    try:
        os.close(open_private(path, os.O_RDWR))  # made 0600 if it was not
    except OSError:
        return  # unreadable or gone: connecting reports it, naming the database
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        make_private(companion)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows (a purge) are overwritten with zeros, not left in free pages. Set here,
        # not left to how the platform's SQLite was built (Debian's has it on, others not).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = "IMMEDIATE" if connection.get_execution_options().get("kiosk_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """One engine and its sessions. ``write()`` for anything that changes data."""

    def __init__(self, url: str | URL, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> None:
        self.url = normalise_url(url) if isinstance(url, str) else url
        self.down_because: str | None = None  # why the last statement failed, until one works
        self.engine = make_engine(self.url, busy_timeout_ms=busy_timeout_ms)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self.write_sessions = sessionmaker(
            self.engine.execution_options(kiosk_write=True), expire_on_commit=False)
        changes.install(self.write_sessions)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, _translate_errors(self):
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        with self.write_sessions() as session, _translate_errors(self), session.begin():
            yield session

    def flush_deleted(self, *, attempts: int = 25, pause_seconds: float = 0.2) -> bool:
        """After deleting patient data on SQLite: copy the write-ahead log into the database
        file and empty it, so that what was deleted (zeroed by secure_delete) is gone from
        both files now, not when the last connection closes. A reader in the middle of a
        transaction holds the log back; this waits a little for it. True when done (always
        on PostgreSQL, which has no such file)."""
        if self.url.get_backend_name() != "sqlite":
            return True
        for _ in range(attempts):
            with self.engine.connect() as connection, _translate_errors(self):
                busy, _log, _copied = connection.exec_driver_sql(
                    "PRAGMA wal_checkpoint(TRUNCATE)").one()
            if not busy:
                return True
            time.sleep(pause_seconds)
        log.warning("database: the write-ahead log could not be emptied (a reader held it); "
                    "deleted data stays in it until the next checkpoint")
        return False

    def upgrade(self) -> None:
        """Migrate to this release's schema. A database already there is only read: Alembic
        (0.2 s of imports) loads when there is something to migrate, not at every start."""
        with _translate_errors(self):
            if not self.is_current():
                upgrade(self.engine)

    def is_current(self) -> bool:
        try:
            with self.engine.connect() as connection:
                stored = connection.execute(text("SELECT version_num FROM alembic_version"))
                return [row[0] for row in stored] == [shipped_head()]
        except (OperationalError, ProgrammingError):  # no version table yet, or gone
            return False

    def analyze(self) -> None:
        """Refresh the planner's statistics, after loading many rows at once."""
        with self.engine.connect() as connection, _translate_errors(self):
            connection.exec_driver_sql("ANALYZE")
            connection.commit()

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _translate_errors(db: Database) -> Iterator[None]:
    """Driver errors become :class:`DatabaseUnavailable`, logged when the state changes (down,
    for another reason, back): pollers (heartbeat, monitor, lobby watchers) would otherwise
    write the same line every few seconds while the server is away."""
    try:
        yield
    except OperationalError as error:
        # The driver's text says why (locked, refused, no such file); no patient data in it.
        reason = str(error.orig).strip()
        if reason != db.down_because:
            db.down_because = reason
            log.error("database %s unavailable: %s", describe_url(db.url), reason)
        # "from None": the original error's text may quote a statement's parameters.
        raise DatabaseUnavailable(reason) from None
    if db.down_because is not None:
        db.down_because = None
        log.warning("database %s reachable again", describe_url(db.url))


def shipped_head() -> str:
    """The newest migration this release ships, read from the file names (each file is named
    after its revision: 0009_name_keys_across_scripts.py is revision 0009), without Alembic.
    A test holds this to Alembic's own answer."""
    return max(path.name.split("_", 1)[0]
               for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Safe to run on every start and from several processes."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
