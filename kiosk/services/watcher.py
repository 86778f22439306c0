"""Watching for lobby changes committed anywhere (the read side of
:mod:`kiosk.store.changes`): reception windows and boards refresh on the news, not on a timer."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from sqlalchemy import select

from kiosk.store.changes import CHANNEL
from kiosk.store.db import Database, DatabaseUnavailable
from kiosk.store.models import SiteChange

log = logging.getLogger(__name__)


def current(db: Database, site_id: str) -> int:
    """A number that moves on with every lobby change and every store of the waits."""
    with db.read() as session:
        return int(session.scalar(select(SiteChange.seq + SiteChange.waits_seq).where(
            SiteChange.site_id == site_id)) or 0)


class ChangeWatcher:
    """Calls ``on_change()`` from its own thread soon after a lobby change is committed
    anywhere; at most once per change, possibly once for several."""

    def __init__(self, db: Database, site_id: str, on_change: Callable[[], None], *,
                 poll_seconds: float = 0.05, safety_seconds: float = 30.0) -> None:
        self.db = db
        self.site_id = site_id
        self.on_change = on_change
        self.poll_seconds = poll_seconds
        self.safety_seconds = safety_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen = -1

    def start(self) -> ChangeWatcher:
        """Starts watching in a thread; its first look (which calls ``on_change`` once) is made
        there too, not on the caller's (a window's) thread, where a database away would
        freeze it."""
        target = self._listen if self.db.url.get_backend_name() == "postgresql" \
            else self._watch_files
        self._thread = threading.Thread(target=target, name="lobby-changes", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # -- both --------------------------------------------------------------------------------

    def _read_seq(self) -> int:
        try:
            return current(self.db, self.site_id)
        except DatabaseUnavailable:
            return self._seen  # logged by the database layer; tried again later

    def _check(self) -> None:
        seq = self._read_seq()
        if seq != self._seen:
            self._seen = seq
            self._notify()

    def _notify(self) -> None:
        try:
            self.on_change()
        except Exception:  # a broken callback must not end the watching
            log.exception("lobby changes: the change callback failed")

    # -- SQLite ----------------------------------------------------------------------------

    def _signature(self, path: str) -> tuple[int, ...]:
        parts: list[int] = []
        for name in (path, path + "-wal"):
            try:
                info = os.stat(name)
            except OSError:
                parts += [0, 0, 0]
            else:
                parts += [info.st_mtime_ns, info.st_size, info.st_ino]
        return tuple(parts)

    def _watch_files(self) -> None:
        path = self.db.url.database or ""
        last = self._signature(path)
        self._check()  # the first look: anything from before the signature
        since_check = 0.0
        while not self._stop.wait(self.poll_seconds):
            since_check += self.poll_seconds
            signature = self._signature(path)
            if signature != last or since_check >= self.safety_seconds:
                last = signature
                since_check = 0.0
                self._check()

    # -- PostgreSQL ------------------------------------------------------------------------

    def _listen(self) -> None:
        import psycopg

        url = self.db.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    self._check()  # whatever happened while not listening
                    idle = 0.0
                    while not self._stop.is_set():
                        ours = False
                        for note in connection.notifies(timeout=1.0, stop_after=1):
                            ours = ours or note.payload == self.site_id
                        if ours:
                            self._notify()  # no query needed: the notification is the news
                            continue
                        idle += 1.0
                        if idle >= self.safety_seconds:
                            idle = 0.0
                            self._check()
            except psycopg.Error as error:
                log.warning("lobby changes: lost the PostgreSQL listener (%s); reconnecting",
                            type(error).__name__)
                self._stop.wait(2.0)
