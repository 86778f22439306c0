"""Reception's "Queue" tab: the live table of today's visits and the one-touch actions on the
selected patient (call, in room, finish, left, move, undo, the ticket again).

Every action is a core call (:class:`kiosk.services.queue.QueueService`) made off the GUI
thread with the signed-in member's name, which the audit keeps. While it runs, the action
buttons are disabled (a second click does not write twice) and the window keeps working; its
answer, or why nothing was changed, goes to the status line (:attr:`QueueTab.said`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import S_
from kiosk.services.desk import TicketCard, ticket_card
from kiosk.services.queue import QueueRow, QueueService
from kiosk.services.staff import SignedIn
from kiosk.store.site import SiteContext
from ui.reception.queue_model import ProviderFilter, QueueModel
from ui.reception.ticket_dialog import TicketDialog
from ui.staff_text import StaffText
from ui.worker import NOTHING_CHANGED, CoreOps, Failure

T = TypeVar("T")

ACTIONS = (("call", S_("Call")), ("start", S_("In room")), ("finish", S_("Finish")),
           ("left", S_("Left without being seen")), ("undo", S_("Undo")),
           ("ticket", S_("Show ticket and QR")))
# The key under which the queue's writes run: one at a time from this tab.
WRITE = "queue"


class QueueTab(QWidget):
    """``said(text)``: a line for the status bar; ``changed()``: an action changed the lobby.
    ``member`` is who is signed in (None: locked, every action does nothing)."""

    said = Signal(str)
    changed = Signal()

    def __init__(self, ctx: SiteContext, t: StaffText, ops: CoreOps, model: QueueModel,
                 queue: QueueService) -> None:
        super().__init__()
        self.ctx, self.t, self.ops, self.model, self.queue = ctx, t, ops, model, queue
        self.member: SignedIn | None = None
        self.rooms: dict[int, str] = {}  # the last room called to, per provider
        self.ticket_dialog: TicketDialog | None = None
        layout = QVBoxLayout(self)
        self.proxy = ProviderFilter(self)
        self.proxy.setSourceModel(model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName(t(S_("Lobby queue")))
        layout.addWidget(self.table, 1)

        actions = QHBoxLayout()
        self.room = QLineEdit()
        self.room.setPlaceholderText(t(S_("Room")))
        self.room.setAccessibleName(t(S_("Room")))
        self.room.setMaximumWidth(110)
        self.buttons: dict[str, QPushButton] = {}
        for key, label in ACTIONS:
            button = QPushButton(t(label))
            if key == "call":
                button.setProperty("role", "primary")
            button.clicked.connect(lambda _=False, k=key: self.do(k))
            self.buttons[key] = button
        actions.addWidget(self.room)
        actions.addWidget(self.buttons["call"])
        for key in ("start", "finish", "left"):
            actions.addWidget(self.buttons[key])
        self.move_to = QComboBox()
        self.move_to.setAccessibleName(t(S_("Move to provider")))
        self.move_to.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        move = QPushButton(t(S_("Move to")))
        move.clicked.connect(lambda: self.do("move"))
        self.buttons["move"] = move
        actions.addWidget(move)
        actions.addWidget(self.move_to)
        actions.addStretch(1)
        actions.addWidget(self.buttons["ticket"])
        actions.addWidget(self.buttons["undo"])
        layout.addLayout(actions)

    def set_providers(self, providers: list[tuple[int, str, str]]) -> None:
        """(id, external id, name) of each provider, for "Move to"."""
        self.move_to.clear()
        for provider_id, _external, name in providers:
            self.move_to.addItem(name, provider_id)

    # -- the selection ---------------------------------------------------------------------

    def selected_row(self) -> QueueRow | None:
        chosen = self.table.selectionModel().selectedRows()
        if not chosen:
            return None
        return self.model.rows[self.proxy.mapToSource(chosen[0]).row()]

    def selected_ticket(self) -> str | None:
        row = self.selected_row()
        return row.ticket if row else None

    def select_ticket(self, ticket: str | None) -> bool:
        if ticket is None:
            return False
        for index, row in enumerate(self.model.rows):
            if row.ticket == ticket:
                proxy_index = self.proxy.mapFromSource(self.model.index(index, 0))
                if proxy_index.isValid():
                    # Through the selection model: QTableView.selectRow finds the row's
                    # cells by pixel position and selects nothing in a right-to-left view
                    # whose columns leave part of it empty.
                    self.table.selectionModel().select(
                        proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                        | QItemSelectionModel.SelectionFlag.Rows)
                    self.table.setCurrentIndex(proxy_index)
                    return True
        return False

    # -- acting ----------------------------------------------------------------------------

    def do(self, action: str) -> None:
        """One touch: the action on the selected patient, audited with the member's name.
        What the call needs is read from the widgets here, on the GUI thread."""
        if self.member is None:
            return
        actor, t, queue = self.member.name, self.t, self.queue
        if action == "undo":
            self._write(lambda: queue.undo_last(actor=actor),
                        lambda ticket: t(S_("Undone: {ticket}."), ticket=ticket))
            return
        row = self.selected_row()
        if row is None:
            self.said.emit(t(S_("Select a patient in the list first.")))
            return
        ticket = row.ticket
        if action == "ticket":
            visit_id = row.visit_id
            self.ops.run(lambda: ticket_card(self.ctx, visit_id), self._show_ticket,
                         self._refused, key="ticket", disable=[self.buttons["ticket"]],
                         expected=(LookupError,))  # gone meanwhile (purged, another desk)
            return
        if action == "move":
            provider_id, provider = self.move_to.currentData(), self.move_to.currentText()
            self._write(lambda: queue.move(ticket, provider_id, actor=actor),
                        lambda _visit: t(S_("{ticket} moved to {provider}."), ticket=ticket,
                                         provider=provider))
            return
        room = None
        if action == "call":
            room = self.room.text().strip()[:32] or self.rooms.get(row.provider_id)
            if room:
                self.rooms[row.provider_id] = room
        done = {"call": S_("{ticket} called to {room}.") if room else S_("{ticket} called."),
                "start": S_("{ticket} is in the room."), "finish": S_("{ticket} finished."),
                "left": S_("{ticket} left without being seen.")}[action]
        self._write(lambda: queue.act(ticket, action, actor=actor, room=room),
                    lambda _visit: t(done, ticket=ticket, room=room) + " "
                    + t(S_("(Undo for a minute.)")))

    def _write(self, call: Callable[[], T], message: Callable[[T], str]) -> None:
        """A write to the queue off the GUI thread; the action buttons wait for its answer."""
        if self.ops.run(call, lambda result: self._done(message(result)), self._refused,
                        key=WRITE, disable=self.buttons.values(), unreachable=NOTHING_CHANGED,
                        expected=(LookupError,)):
            self.said.emit("")  # the last action's words would read as this one's

    def _done(self, message: str) -> None:
        self.said.emit(message)
        self.changed.emit()

    def _refused(self, failure: Failure) -> None:
        # Does not fit (InvalidTransition), no such ticket (NotFound), database away: in the
        # staff's language; nothing was changed.
        self.said.emit(failure.message)

    def _show_ticket(self, card: TicketCard) -> None:
        if self.member is None:  # locked meanwhile: nothing of a patient on the screen
            return
        self.ticket_dialog = TicketDialog(self, self.t, card.ticket, card.provider,
                                          card.qr_token)
        self.ticket_dialog.show()
