"""Reception's help alert: a red band over the tabs while a patient at a kiosk asks for
help, a chime when a new request comes and again every ``HELP_REPEAT_MS`` until someone
acknowledges (the acknowledgement is written off the GUI thread)."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Protocol

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from kiosk.base.i18n import S_
from kiosk.services.lobby import OpenHelp, acknowledge_help
from kiosk.services.staff import SignedIn
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText
from ui.worker import CoreOps, Failure

HELP_REPEAT_MS = 15_000


class Chimes(Protocol):
    """What plays the chime (:class:`ui.sound.Chime`, or a test's counter)."""

    def play(self) -> None: ...


class HelpAlert(QFrame):
    """``said(text)``: a line for the status bar; ``changed()``: requests were acknowledged.
    ``member`` is who is signed in (None: locked, nobody to acknowledge)."""

    said = Signal(str)
    changed = Signal()

    def __init__(self, ctx: SiteContext, t: StaffText, ops: CoreOps, chime: Chimes) -> None:
        super().__init__()
        self.ctx, self.t, self.ops, self.chime = ctx, t, ops, chime
        self.member: SignedIn | None = None
        self.ids: set[int] = set()  # the open requests
        self.setProperty("role", "alert")
        row = QHBoxLayout(self)
        self.text = QLabel("")
        self.button = QPushButton(t(S_("Acknowledge")))
        self.button.clicked.connect(self.acknowledge)
        row.addWidget(self.text, 1)
        row.addWidget(self.button)
        self.hide()
        self.timer = QTimer(self)  # the chime repeats until someone acknowledges
        self.timer.setInterval(HELP_REPEAT_MS)
        self.timer.timeout.connect(self.chime.play)

    def chime_for(self, requests: list[OpenHelp]) -> None:
        """A chime for a request not heard before; again and again while any is open."""
        ids = {request.id for request in requests}
        if ids - self.ids:
            self.chime.play()
        self.ids = ids
        if ids:
            self.timer.start()
        else:
            self.timer.stop()

    def show_requests(self, requests: list[OpenHelp], tickets: dict[int, str],
                      now: datetime) -> None:
        """The open requests, with the ticket of the patient who asked where known
        (``tickets``: visit id -> ticket)."""
        self.chime_for(requests)
        if not requests:
            self.hide()
            return
        t, parts = self.t, []
        for r in requests:
            ago = max(0, int((now - r.at).total_seconds() // 60))
            ticket = tickets.get(r.visit_id) if r.visit_id is not None else None
            parts.append(t(S_("{kiosk}, ticket {ticket}, {minutes} min ago"), kiosk=r.kiosk_id,
                           ticket=ticket, minutes=ago) if ticket else
                         t(S_("{kiosk}, {minutes} min ago"), kiosk=r.kiosk_id, minutes=ago))
        self.text.setText(t(S_("A patient needs help: {where}"), where="; ".join(parts)))
        self.show()

    def acknowledge(self) -> None:
        """Every open request, in the member's name: someone is going to the kiosk."""
        if self.member is None:
            return
        ids, actor, ctx = sorted(self.ids), self.member.name, self.ctx

        def acknowledge_all() -> None:
            for request_id in ids:  # one short transaction each
                with suppress(LookupError):  # gone meanwhile (purged): nobody to help there
                    acknowledge_help(ctx, request_id, actor=actor)

        self.ops.run(acknowledge_all, self._acknowledged, self._failed, key="acknowledge",
                     disable=[self.button])

    def _acknowledged(self, _nothing: None) -> None:
        self.said.emit(self.t(S_("Help request acknowledged: please go to the kiosk.")))
        self.changed.emit()

    def _failed(self, failure: Failure) -> None:
        self.said.emit(failure.message)
