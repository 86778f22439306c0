"""Patient data at rest on the kiosk's own disk: the SQLite file, its write-ahead log and the
logs are the kiosk user's alone whatever the umask, and a purge leaves nothing of the purged
patients in the bytes of the database file or its log, even while other connections are open
(the running kiosk, reception and the board each hold one)."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kiosk.base import logs
from kiosk.domain.names import name_keys
from kiosk.services.retention import purge
from kiosk.store.db import Database, default_sqlite_path
from tests.core.test_retention import a_day
from tests.support.site import PEOPLE, load_day, make_ctx, make_settings


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def test_the_database_its_log_and_folder_are_private_whatever_the_umask(tmp_path, clock,
                                                                          monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "made-by-the-kiosk"))
    folder = default_sqlite_path().parent  # the embedded default's folder, made by the kiosk
    with umask(0o022):
        ctx = make_ctx(make_settings(""), clock)
        try:
            load_day(ctx)  # writes: the -wal and -shm files exist now
            files = sorted(folder.iterdir())
            assert [p.name for p in files] == ["kiosk.sqlite3", "kiosk.sqlite3-shm",
                                               "kiosk.sqlite3-wal"]
            assert {p.name: mode(p) for p in files} == {p.name: "0o600" for p in files}
            assert mode(folder) == mode(folder.parent) == "0o700"
            assert folder.parent.parent == tmp_path
        finally:
            ctx.db.dispose()


def test_a_database_made_readable_by_an_older_version_is_made_private(tmp_path):
    path = tmp_path / "kiosk.sqlite3"
    Database(f"sqlite:///{path}").engine.dispose()
    os.chmod(path, 0o644)
    Database(f"sqlite:///{path}").engine.dispose()
    assert mode(path) == "0o600"


def test_log_files_are_private_whatever_the_umask(tmp_path, sqlite_url):
    folder = tmp_path / "logs"
    with umask(0o022):
        logs.configure(make_settings(sqlite_url, log_dir=str(folder)), "run")
        try:
            logging.getLogger("kiosk.test").warning("a line")
        finally:
            logs.configure(make_settings(sqlite_url), "run")  # back to no file
    assert mode(folder) == "0o700" and mode(folder / "run.log") == "0o600"
    assert "a line" in (folder / "run.log").read_text()


def test_a_purge_leaves_nothing_readable_in_the_file_or_its_log_with_connections_open(
        sqlite_url, clock):
    ctx = make_ctx(make_settings(sqlite_url), clock)
    path = Path(ctx.db.url.database or "")
    others = [Database(sqlite_url) for _ in range(3)]  # the kiosk, reception, the board
    try:
        day = load_day(ctx)
        a_day(ctx, day)
        held = [other.engine.connect() for other in others]  # open, between transactions
        for connection in held:
            connection.exec_driver_sql("SELECT count(*) FROM patient").all()
            connection.rollback()
        purged = [person for person in PEOPLE if person[0] not in ("wang", "tomorrow")]
        secrets = {value.encode() for _key, given, family, born, *_ in purged
                   for value in (given, family, born.isoformat())
                   if len(value) > 3}
        secrets |= {key.encode() for _key, _given, family, *_ in purged
                    for key in name_keys(family) if len(key) > 3}
        raw = path.read_bytes() + path.with_name(path.name + "-wal").read_bytes()
        assert {secret for secret in secrets if secret in raw}  # the data is there before

        clock.advance(days=2)
        done = purge(ctx)
        assert done.appointments > 0
        wal = path.with_name(path.name + "-wal")
        raw = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        with ctx.db.engine.connect() as connection:  # a provider's and a location's names stay
            public = " ".join(str(row) for query in ("SELECT * FROM provider",
                                                     "SELECT * FROM location")
                              for row in connection.exec_driver_sql(query).all()).lower()
        assert sorted(s for s in secrets if s in raw and s.decode().lower() not in public) == []
        for connection in held:
            connection.close()
    finally:
        for other in others:
            other.engine.dispose()
        ctx.db.dispose()
