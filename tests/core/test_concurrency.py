"""Kiosks racing to check in the same appointment produce exactly one queue entry.

Real processes, each with its own connection, released together by a barrier, on a shared
SQLite file and on one PostgreSQL database.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections import Counter

from sqlalchemy import func, select

from kiosk.base.clock import FixedClock
from kiosk.domain import tokens
from kiosk.services.checkin import CheckinService
from kiosk.store.db import Database
from kiosk.store.models import Visit
from kiosk.store.site import SiteContext
from tests.support.site import DAY, at, make_settings

KIOSKS = 4
ROUNDS = ("muller", "garcia", "oneil", "hashemi", "wang", "ivanova")


def _kiosk(url: str, kiosk_id: str, token_list: list[str], barrier, results) -> None:
    if os.environ.get("KIOSK_TEST_RACE_LOG"):
        logging.basicConfig(level="INFO")
    ctx = SiteContext.open(make_settings(url), Database(url), FixedClock(at(8, 55)))
    service = CheckinService(ctx)
    mine = []
    for token in token_list:
        barrier.wait(timeout=60)
        result = service.by_qr(token, kiosk_id=kiosk_id)
        mine.append((result.outcome.value, result.ticket))
    results.put((kiosk_id, mine))


def test_simultaneous_check_ins_of_one_appointment_make_one_visit(ctx, day):
    url = ctx.settings.database_url
    token_list = [tokens.issue(ctx.qr_secret, ctx.settings.site_id, day[who].appointment, DAY)
                  for who in ROUNDS]
    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(KIOSKS)
    results = spawn.Queue()
    processes = [spawn.Process(target=_kiosk, args=(url, f"k{n}", token_list, barrier, results))
                 for n in range(KIOSKS)]
    for process in processes:
        process.start()
    collected = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    for round_number, _who in enumerate(ROUNDS):
        answers = [collected[f"k{n}"][round_number] for n in range(KIOSKS)]
        outcomes = Counter(outcome for outcome, _ in answers)
        assert outcomes == {"checked_in": 1, "already_checked_in": KIOSKS - 1}, answers
        assert len({ticket for _, ticket in answers}) == 1, answers
    with ctx.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Visit)) == len(ROUNDS)
        tickets = session.scalars(select(Visit.ticket_code)).all()
    # Losing kiosks give their ticket numbers back: no gaps.
    assert sorted(tickets, key=lambda t: int(t[2:])) == [f"K-{n + 1}" for n in range(len(ROUNDS))]


def test_the_database_itself_refuses_a_second_visit_for_one_appointment(ctx, day):
    """The guarantee is a unique constraint, not the service's care."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    service = CheckinService(ctx)
    token = tokens.issue(ctx.qr_secret, ctx.settings.site_id, day["muller"].appointment, DAY)
    first = service.by_qr(token)
    with ctx.db.read() as session:
        visit = session.scalars(select(Visit)).one()
        copy = {c.name: getattr(visit, c.name) for c in Visit.__table__.columns if c.name != "id"}
    copy["ticket_number"] += 100
    with pytest.raises(IntegrityError), ctx.db.write() as session:
        session.add(Visit(**copy))
    assert first.ticket == visit.ticket_code
