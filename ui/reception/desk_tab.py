"""Reception's "Check in" tab: today's appointments not checked in yet (a patient the kiosk
sent to reception), checked in at the desk, and walk-ins added with a provider. The list is
read and every check-in written off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import S_
from kiosk.services.checkin import CheckinService
from kiosk.services.desk import DeskAppointment, appointments_to_check_in
from kiosk.services.queue import NotFound, QueueService
from kiosk.services.staff import SignedIn
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText
from ui.worker import NOTHING_CHANGED, CoreOps, Failure


class DeskTab(QWidget):
    """``said(text)``: a line for the status bar; ``changed()``: a check-in changed the lobby.
    ``member`` is who is signed in (None: locked)."""

    said = Signal(str)
    changed = Signal()

    def __init__(self, ctx: SiteContext, t: StaffText, ops: CoreOps,
                 queue: QueueService) -> None:
        super().__init__()
        self.ctx, self.t, self.ops, self.queue = ctx, t, ops, queue
        self.member: SignedIn | None = None
        self.providers: list[tuple[int, str, str]] = []
        layout = QVBoxLayout(self)
        explain = QLabel(t(S_("Appointments today not checked in yet (a patient the kiosk sent "
                              "to reception):")))
        explain.setWordWrap(True)
        layout.addWidget(explain)
        self.search = QLineEdit()
        self.search.setPlaceholderText(t(S_("Filter by name or time")))
        self.search.textChanged.connect(self._filter)
        layout.addWidget(self.search)
        self.desk = QListWidget()
        self.desk.setAccessibleName(t(S_("Appointments to check in")))
        layout.addWidget(self.desk, 1)
        self.check_in_button = QPushButton(t(S_("Check in the selected appointment")))
        self.check_in_button.setProperty("role", "primary")
        self.check_in_button.clicked.connect(self.check_in_selected)
        layout.addWidget(self.check_in_button)
        walk = QHBoxLayout()
        walk.addWidget(QLabel(t(S_("Walk-in:"))))
        self.walk_name = QLineEdit()
        self.walk_name.setPlaceholderText(t(S_("Name (optional)")))
        self.walk_name.setMaxLength(200)
        self.walk_provider = QComboBox()
        self.walk_provider.setAccessibleName(t(S_("Walk-in provider")))
        self.walk_provider.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.walk_in_button = QPushButton(t(S_("Add walk-in")))
        self.walk_in_button.clicked.connect(self.add_walk_in)
        walk.addWidget(self.walk_name, 1)
        walk.addWidget(self.walk_provider)
        walk.addWidget(self.walk_in_button)
        layout.addLayout(walk)

    def set_providers(self, providers: list[tuple[int, str, str]]) -> None:
        """(id, external id, name) of each provider, for the walk-in's."""
        self.providers = providers
        self.walk_provider.clear()
        for provider_id, _external, name in providers:
            self.walk_provider.addItem(name, provider_id)

    # -- the list ------------------------------------------------------------------------

    def load(self) -> None:
        """Read the list again (off the GUI thread)."""
        self.ops.run(lambda: appointments_to_check_in(self.ctx), self._loaded,
                     lambda failure: self.said.emit(failure.message), key="desk")

    def _loaded(self, appointments: list[DeskAppointment]) -> None:
        if self.member is not None:  # locked meanwhile: no patient's name on the screen
            self.show_appointments(appointments)

    def show_appointments(self, appointments: list[DeskAppointment]) -> None:
        self.desk.clear()
        for appointment in appointments:
            when = self.t.time(self.ctx.local(appointment.start))
            item = QListWidgetItem(f"{when}  {appointment.patient_name}  ·  "
                                   f"{appointment.provider}")
            item.setData(Qt.ItemDataRole.UserRole, appointment.external_id)
            self.desk.addItem(item)
        self._filter(self.search.text())

    def clear(self) -> None:
        self.desk.clear()

    def _filter(self, text: str) -> None:
        wanted = text.strip().casefold()
        for index in range(self.desk.count()):
            item = self.desk.item(index)
            item.setHidden(bool(wanted) and wanted not in item.text().casefold())

    # -- checking in ---------------------------------------------------------------------

    def check_in_selected(self) -> None:
        item = self.desk.currentItem()
        if self.member is None or item is None:
            self.said.emit(self.t(S_("Select an appointment first.")))
            return
        external_id: str = item.data(Qt.ItemDataRole.UserRole)
        actor, ctx = self.member.name, self.ctx

        def check_in() -> str:
            result = CheckinService(ctx).by_staff(external_id, actor=actor)
            if result.ticket is None:
                raise NotFound(S_("That appointment cannot be checked in."))
            return result.ticket

        if self.ops.run(check_in, self._checked_in, self._refused, key="check in",
                        disable=[self.check_in_button], unreachable=NOTHING_CHANGED,
                        expected=(LookupError,)):
            self.said.emit("")

    def _checked_in(self, ticket: str) -> None:
        self.said.emit(self.t(S_("Checked in: ticket {ticket}."), ticket=ticket))
        self.changed.emit()  # the lobby's read that follows reads this list again too

    def add_walk_in(self) -> None:
        if self.member is None:
            return
        provider_id = self.walk_provider.currentData()
        external = next((e for p, e, _n in self.providers if p == provider_id), None)
        if external is None:
            self.said.emit(self.t(S_("Choose a provider for the walk-in.")))
            return
        name = " ".join(self.walk_name.text().split())[:200] or None
        actor, queue = self.member.name, self.queue
        if self.ops.run(lambda: queue.walk_in(external, actor=actor, name=name),
                        self._walked_in, self._refused, key="walk in",
                        disable=[self.walk_in_button], unreachable=NOTHING_CHANGED,
                        expected=(LookupError,)):
            self.said.emit("")

    def _walked_in(self, ticket: str) -> None:
        self.walk_name.clear()  # only now: a walk-in not added keeps the name typed
        self.said.emit(self.t(S_("Walk-in added: ticket {ticket}."), ticket=ticket))
        self.changed.emit()

    def _refused(self, failure: Failure) -> None:
        self.said.emit(failure.message)
