"""The queue: positions per provider, walk-ins, and reception's actions, each audited."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import select

from kiosk.domain import tokens
from kiosk.services.checkin import CheckinService
from kiosk.services.queue import InvalidTransition, QueueService
from kiosk.services.waits import LobbyDay, SimpleWaitModel
from kiosk.store.models import AuditEvent, VisitStatus
from tests.support.site import DAY, at


def check_in(ctx, day, *who):
    service = CheckinService(ctx)
    return [service.by_qr(tokens.issue(ctx.qr_secret, "main", day[w].appointment, DAY))
            for w in who]


def test_positions_count_per_provider_in_appointment_order(ctx, day):
    check_in(ctx, day, "garcia", "hashemi", "muller", "wang")
    rows = {row.ticket: row for row in QueueService(ctx).rows()}
    # p1: Müller 09:00 before García 09:15; p2: al-Hashemi 09:00 before Wang 09:15.
    assert (rows["K-3"].position, rows["K-1"].position) == (1, 2)
    assert (rows["K-2"].position, rows["K-4"].position) == (1, 2)
    assert rows["K-3"].provider == "Dr. Amara Okafor"
    assert all(row.wait is not None for row in rows.values())


def test_reception_moves_a_patient_through_the_visit_and_it_is_audited(ctx, clock, day):
    check_in(ctx, day, "muller", "garcia")
    queue = QueueService(ctx)
    called = queue.act("K-1", "call", actor="anna", room="3")
    assert (called.status, called.room, called.called_at) == (VisitStatus.CALLED, "3", clock.now())
    assert [r.position for r in queue.rows() if r.ticket == "K-2"] == [1]  # moved up
    clock.advance(minutes=2)
    assert queue.act("k-1", "start", actor="anna").started_at == clock.now()
    clock.advance(minutes=12)
    assert queue.act("K-1", "finish", actor="ben").status is VisitStatus.DONE
    assert queue.act("K-2", "left", actor="ben").status is VisitStatus.LEFT
    assert queue.rows() == []
    with ctx.db.read() as session:
        trail = [(e.actor, e.action) for e in session.scalars(
            select(AuditEvent).order_by(AuditEvent.id))]
    assert trail[-4:] == [("anna", "call"), ("anna", "start"), ("ben", "finish"),
                          ("ben", "left")]


def test_actions_that_do_not_fit_the_state_are_refused(ctx, day):
    check_in(ctx, day, "muller")
    queue = QueueService(ctx)
    with pytest.raises(InvalidTransition, match="waiting"):
        queue.act("K-1", "finish", actor="anna")
    with pytest.raises(LookupError):
        queue.act("K-99", "call", actor="anna")


def test_walk_in_takes_its_place_at_its_arrival(ctx, clock, day):
    clock.set(at(9, 20))
    check_in(ctx, day, "muller")     # 09:00, arrives 09:20: on time enough, place 09:00
    check_in(ctx, day, "ivanova")    # 09:45, early: place 09:45
    clock.set(at(9, 25))
    ticket = QueueService(ctx).walk_in("p1", actor="anna", name="walk-in with flu")
    assert ticket == "K-3"
    rows = {row.ticket: row for row in QueueService(ctx).rows()}
    assert [rows[t].position for t in ("K-1", "K-3", "K-2")] == [1, 2, 3]
    assert rows["K-3"].method.value == "staff"


def test_simple_wait_model_grows_with_place_and_respects_appointment_time():
    from datetime import datetime, timedelta

    from kiosk.services.waits import QueuedVisit

    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    waiting = [QueuedVisit(n, 1, VisitStatus.WAITING, now, n, None, None) for n in range(3)]
    later = QueuedVisit(9, 1, VisitStatus.WAITING, now, 9, now + timedelta(minutes=50), None)
    in_room = [QueuedVisit(8, 1, VisitStatus.IN_ROOM, now, 8, None, now - timedelta(minutes=5))]
    other = QueuedVisit(20, 2, VisitStatus.WAITING, now, 20, None, None)  # another provider's
    waits = SimpleWaitModel(15).waits(
        LobbyDay(None, None, now.date(), [*waiting, other, later], in_room, now))  # type: ignore[arg-type]
    assert [waits[n].median for n in range(3)] == [10, 25, 40]
    assert waits[20].median == 0  # first in their own provider's line, that provider free
    assert all(waits[n].upper > waits[n].median for n in range(3))
    assert waits[9].median == 55  # behind three others, and not before 09:50 anyway
