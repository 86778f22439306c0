"""Telling every reception window and lobby board that the lobby changed, across processes
and machines, without polling the database.

Every write transaction that touches a visit or a help request moves the site's counter
(``site_change.seq``) on, as its last statement; on PostgreSQL it also sends
``NOTIFY lobby_kiosk, '<site>'``, which the server delivers when (and only if) the transaction
commits. A :class:`ChangeWatcher` then calls back:

* PostgreSQL: a connection of its own LISTENs; an idle window costs the database nothing.
* SQLite: it watches the database file and its write-ahead log with ``os.stat`` (a file
  system call, not a query) and reads the counter only when they change, so commits that
  are not lobby changes (a kiosk's heartbeat) cost one small query.

Either way the counter is also read every ``safety_seconds``, so a lost connection or a
missed notification is caught up with.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, sessionmaker

from kiosk.store.dialect import upsert_for
from kiosk.store.models import HelpRequest, SiteChange, Visit

log = logging.getLogger(__name__)

CHANNEL = "lobby_kiosk"
WATCHED = (Visit, HelpRequest)
_FLAG = "lobby_changed_site"
_WAITS_FLAG = "lobby_waits_changed_site"


def mark_changed(session: Session, site_id: str) -> None:
    """For changes the ORM does not see (bulk UPDATEs): the counter moves at commit."""
    session.info[_FLAG] = site_id


def mark_waits_changed(session: Session, site_id: str) -> None:
    """Only the stored wait estimates changed: ``waits_seq`` moves at commit (unless a lobby
    change in the same transaction moves ``seq``, which tells windows to read everything)."""
    session.info[_WAITS_FLAG] = site_id


def install(write_sessions: sessionmaker[Session]) -> None:
    """Hook the counter into a database's write sessions (done once per Database)."""

    def after_flush(session: Session, _context: Any) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, WATCHED):
                session.info[_FLAG] = obj.site_id
                return

    def before_commit(session: Session) -> None:
        session.flush()  # the counter's row lock is taken last and held shortest
        site_id = session.info.pop(_FLAG, None)
        waits_site_id = session.info.pop(_WAITS_FLAG, None)
        if site_id is not None:
            bump(session, site_id)
        elif waits_site_id is not None:
            bump(session, waits_site_id, waits_only=True)

    def forget(session: Session, *_args: Any) -> None:
        session.info.pop(_FLAG, None)
        session.info.pop(_WAITS_FLAG, None)

    factory = write_sessions
    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "before_commit", before_commit)
    event.listen(factory, "after_rollback", forget)


def bump(session: Session, site_id: str, *, waits_only: bool = False) -> None:
    insert = upsert_for(session)
    column = SiteChange.waits_seq if waits_only else SiteChange.seq
    session.execute(insert(SiteChange).values(site_id=site_id, **{column.key: 1})
                    .on_conflict_do_update(index_elements=[SiteChange.site_id],
                                           set_={column.key: column + 1}))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :site)"),
                        {"channel": CHANNEL, "site": site_id})
