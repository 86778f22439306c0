"""The lobby display: "Now calling K-27, Room 3" large, the last few calls, and every waiting
ticket with its place and estimated wait, live. A public screen: tickets only (or the given
name and family initial where the site chose so), never anything clinical. Headings rotate
through the languages of the patients in the lobby; each call chimes and, optionally, is
spoken in the patient's language.

The board's only call into the core, the lobby's state, is read off the GUI thread (through
:class:`~ui.worker.CoreOps`, by :class:`~ui.live.LiveUpdates`): a database away leaves the
last state on the screen, and the board keeps rotating its languages."""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import DOMAIN, is_right_to_left, translate
from kiosk.base.settings import Settings
from kiosk.domain.texts import (
    BOARD_MINUTES,
    BOARD_NOW_CALLING,
    BOARD_PLACE,
    BOARD_RECENT,
    BOARD_ROOM,
    BOARD_SPOKEN_CALL,
    BOARD_WAITING,
    BOARD_WAITING_EMPTY,
)
from kiosk.services import site_settings
from kiosk.services.board import BoardCall, BoardState, board_state
from kiosk.services.queue import QueueService
from kiosk.store.site import SiteContext
from ui.live import LiveUpdates
from ui.sound import Chime
from ui.worker import CoreOps

log = logging.getLogger(__name__)

ROTATE_MS = 8000
WAITING_SHOWN = 12
STYLE = """
QWidget#board { background: #0B2E36; }
QWidget#board QLabel { color: #FFFFFF; font-size: 30px; }
QWidget#board QLabel[role="heading"] { font-size: 34px; font-weight: 600; color: #9FD6E0; }
QWidget#board QLabel[role="calling"] { font-size: 128px; font-weight: 800; color: #FFE27A; }
QWidget#board QLabel[role="room"] { font-size: 54px; font-weight: 700; }
QWidget#board QLabel[role="recent"] { font-size: 38px; font-weight: 600; }
QWidget#board QLabel[role="ticket"] { font-size: 34px; font-weight: 700; }
QWidget#board QLabel[role="quiet"] { color: #C9E2E7; }
QWidget#board QFrame[role="panel"] { background: #12414C; border-radius: 24px; }
"""


class Speaker(Protocol):
    """What speaks a call (:class:`ui.speech.Guide`): True if a voice spoke ``language``."""

    def say(self, text: str, language: str) -> bool: ...


class BoardWindow(QWidget):
    def __init__(self, ctx: SiteContext, chime: Chime | None = None,
                 speaker: Speaker | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.queue = QueueService(ctx)
        self.site = site_settings.Follower(ctx)
        self.chime = chime or Chime(self)
        self.speaker = speaker  # ui.speech.Guide where announcements are on and a voice exists
        self.state: BoardState | None = None
        self.language_index = 0
        self.last_call: tuple[str, str] | None = None
        self._primed = False
        self.setObjectName("board")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self.setWindowTitle(f"{ctx.settings.site_name}: lobby")
        self._build()
        self.rotate = QTimer(self)
        self.rotate.setInterval(ROTATE_MS)
        self.rotate.timeout.connect(self.next_language)
        self.rotate.start()
        self.ops = CoreOps(self)
        self.live = LiveUpdates(ctx, self._read, self._show, self, ops=self.ops)
        self.live.refresh()

    @staticmethod
    def _label(role: str | None = None) -> QLabel:
        label = QLabel()
        if role:
            label.setProperty("role", role)
        return label

    @staticmethod
    def _panel() -> tuple[QFrame, QVBoxLayout]:
        panel = QFrame()
        panel.setProperty("role", "panel")
        inside = QVBoxLayout(panel)
        inside.setContentsMargins(36, 28, 36, 28)
        return panel, inside

    def _build(self) -> None:
        layout = QHBoxLayout(self)
        layout.setContentsMargins(40, 32, 40, 32)
        layout.setSpacing(32)
        calling, left = self._panel()
        self.calling_heading = self._label("heading")
        self.calling_ticket = self._label("calling")
        self.calling_ticket.setAccessibleName("Ticket now called")
        self.calling_room = self._label("room")
        self.calling_label = self._label()
        self.recent_heading = self._label("heading")
        self.recent = self._label("recent")
        for widget in (self.calling_ticket, self.calling_room, self.calling_label):
            widget.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for widget in (self.calling_heading, self.calling_room):
            widget.setWordWrap(True)
        left.addWidget(self.calling_heading)
        left.addStretch(1)
        for widget in (self.calling_ticket, self.calling_room, self.calling_label):
            left.addWidget(widget)
        left.addStretch(1)
        left.addWidget(self.recent_heading)
        left.addWidget(self.recent)
        layout.addWidget(calling, 3)

        waiting, right = self._panel()
        self.waiting_heading = self._label("heading")
        self.waiting_heading.setWordWrap(True)
        right.addWidget(self.waiting_heading)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(28)
        self.grid.setVerticalSpacing(2)
        # A fixed set of lines, filled in on each change: nothing is created or destroyed
        # while the board runs for weeks.
        self.lines: list[tuple[QLabel, QLabel, QLabel]] = []
        for line in range(WAITING_SHOWN):
            cells = (self._label("ticket"), self._label("quiet"), self._label())
            for column, cell in enumerate(cells):
                self.grid.addWidget(cell, line, column)
            self.lines.append(cells)
        self.grid.setColumnStretch(2, 1)
        self.empty = self._label("quiet")
        right.addWidget(self.empty)
        right.addLayout(self.grid)
        right.addStretch(1)
        layout.addWidget(waiting, 4)

    # -- data ------------------------------------------------------------------------------

    def _read(self) -> tuple[BoardState, Settings | None]:
        # On the worker thread; if the database is gone, the board keeps its last state.
        # An admin's change (what the board shows beside a ticket) counts as a lobby change;
        # it is applied by _show, on the GUI thread.
        fresh = self.site.changed()
        settings = fresh if fresh is not None else self.ctx.settings
        return board_state(self.queue.rows(), names=settings.board_names,
                           default_language=settings.default_language), fresh

    def _show(self, read: tuple[BoardState, Settings | None]) -> None:
        state, fresh = read
        if fresh is not None:
            self.ctx.settings = fresh
        self.state = state
        self._announce(state.now_calling)
        self._render()

    @property
    def settled(self) -> bool:
        """Every read asked for has been shown (tests, screenshots)."""
        return self.live.settled and self.ops.idle

    def _announce(self, call: BoardCall | None) -> None:
        key = (call.ticket, call.called_at.isoformat()) if call else None
        primed, self._primed = self._primed, True
        if key == self.last_call:
            return
        self.last_call = key
        if call is None or not primed:
            return  # a board switched on mid-call does not chime old news
        self.chime.play()
        if self.speaker is not None and self.ctx.settings.board_announce:
            # In the patient's language; where no voice speaks it, in the site's default.
            for language in dict.fromkeys((call.language, self.ctx.settings.default_language)):
                if self.speaker.say(translate(BOARD_SPOKEN_CALL, language, ticket=call.ticket,
                                              room=call.room or ""), language):
                    break

    def next_language(self) -> None:
        self.language_index += 1
        self._render()

    @property
    def language(self) -> str:
        languages = self.state.languages if self.state else [self.ctx.settings.default_language]
        return languages[self.language_index % len(languages)]

    # -- drawing ---------------------------------------------------------------------------

    def _render(self) -> None:
        state = self.state
        if state is None:
            return
        language = self.language
        self.setLayoutDirection(Qt.LayoutDirection.RightToLeft if is_right_to_left(language)
                                else Qt.LayoutDirection.LeftToRight)

        def say(message: str, **values: object) -> str:
            return translate(message, language, DOMAIN, **values)

        self.calling_heading.setText(say(BOARD_NOW_CALLING))
        self.recent_heading.setText(say(BOARD_RECENT))
        self.waiting_heading.setText(say(BOARD_WAITING))
        call = state.now_calling
        self.calling_ticket.setText(call.ticket if call else "–")
        self.calling_room.setText(say(BOARD_ROOM, room=call.room) if call and call.room else "")
        self.calling_label.setText(call.label if call else "")
        earlier = [c for c in state.recent if call is None or c.ticket != call.ticket]
        self.recent.setText("\n".join(
            c.ticket + (f"  ›  {c.room}" if c.room else "") for c in earlier[:3]))
        self.empty.setText("" if state.waiting else say(BOARD_WAITING_EMPTY))
        self.empty.setVisible(not state.waiting)
        shown = state.waiting[:WAITING_SHOWN]
        # Places count per provider: with several providers "Place 1" would stand beside
        # three tickets at once, and patients would compare numbers and come to the desk.
        several = len({entry.provider for entry in shown}) > 1
        for (ticket, place, wait), entry in zip(self.lines, shown + [None] * (
                WAITING_SHOWN - len(shown)), strict=True):
            if entry is None:
                for cell in (ticket, place, wait):
                    cell.clear()
                continue
            ticket.setText(entry.ticket + (f"  {entry.label}" if entry.label else ""))
            place.setText(say(BOARD_PLACE, place=entry.position)
                          + (f" · {entry.provider}" if several else ""))
            wait.setText(say(BOARD_MINUTES, low=entry.wait.median, high=entry.wait.upper)
                         if entry.wait and entry.wait.known else "")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.live.stop()
        self.ops.close()
        super().closeEvent(event)
