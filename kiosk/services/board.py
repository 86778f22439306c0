"""What the lobby board shows: the call now, the last few calls, and each waiting ticket's
place and estimated wait. Tickets only, unless the site chose to add the given name and the
family name's initial; never anything clinical."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from kiosk.domain.results import Wait
from kiosk.services.queue import QueueRow
from kiosk.store.models import VisitStatus

RECENT_CALLS = 5


@dataclass(frozen=True)
class BoardCall:
    ticket: str
    room: str | None
    called_at: datetime
    label: str
    language: str


@dataclass(frozen=True)
class BoardWaiting:
    ticket: str
    provider: str
    position: int
    wait: Wait | None
    label: str


@dataclass(frozen=True)
class BoardState:
    now_calling: BoardCall | None
    recent: list[BoardCall]
    waiting: list[BoardWaiting]
    languages: list[str]  # of the patients in the lobby, the most common first


def board_state(rows: list[QueueRow], *, names: str, default_language: str) -> BoardState:
    """From reception's rows (``QueueService.rows()``), keeping what a public screen may show."""

    def label(row: QueueRow) -> str:
        return row.short_name if names == "initials" else ""

    calls = sorted(((row.called_at, row) for row in rows if row.called_at is not None),
                   key=lambda pair: pair[0], reverse=True)[:RECENT_CALLS]
    recent = [BoardCall(row.ticket, row.room, at, label(row), row.language)
              for at, row in calls]
    now_calling = next((call for call, (_, row) in zip(recent, calls, strict=True)
                        if row.status == VisitStatus.CALLED), None)
    waiting = [BoardWaiting(row.ticket, row.provider, row.position, row.wait, label(row))
               for row in sorted(rows, key=lambda r: (r.checked_in_at, r.ticket))
               if row.status == VisitStatus.WAITING and row.position is not None]
    spoken = Counter(row.language for row in rows)
    languages = [default_language] + [language for language, _ in spoken.most_common()
                                      if language != default_language]
    return BoardState(now_calling, recent, waiting, languages)
