"""Reception's queue as a table: today's active visits (:class:`QueueModel`), with the
patients who asked for help and those past the target wait highlighted, and the provider
filter in front of it (:class:`ProviderFilter`)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor

from kiosk.base.i18n import S_
from kiosk.services.queue import STATUS_NAMES, QueueRow
from kiosk.store.models import VisitStatus
from ui.staff_text import StaffText

COLUMNS = (S_("Ticket"), S_("Patient"), S_("Provider"), S_("Appointment"), S_("Checked in"),
           S_("Waiting"), S_("Status"), S_("Estimate"), S_("Flags"))
PAST_TARGET = QColor("#FBE3C0")
HELP_ROW = QColor("#F6C9C9")


class QueueModel(QAbstractTableModel):
    """Today's active visits; ``tick(now)`` moves the waiting times on without a query."""

    def __init__(self, target_minutes: int, tz: tzinfo, t: StaffText, now: datetime,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.t = t
        self.rows: list[QueueRow] = []
        self.help_visits: set[int] = set()  # visits whose patient asked for help
        self.now = now
        self.target = target_minutes
        self.tz = tz

    def set_rows(self, rows: list[QueueRow], now: datetime,
                 help_visits: set[int] | None = None) -> None:
        self.beginResetModel()
        self.rows, self.now = rows, now
        self.help_visits = help_visits or set()
        self.endResetModel()

    def tick(self, now: datetime) -> None:
        self.now = now
        if self.rows:
            self.dataChanged.emit(self.index(0, 5), self.index(len(self.rows) - 1, 8))

    def past_target(self, row: QueueRow) -> bool:
        return row.status == VisitStatus.WAITING and \
            row.waiting_minutes(self.now) >= self.target

    def flags_of(self, row: QueueRow) -> list[str]:
        t, flags = self.t, []
        if row.visit_id in self.help_visits:
            flags.append(t(S_("help requested")))
        if self.past_target(row):
            flags.append(t(S_("past target")))
        if row.arrived_late:
            flags.append(t(S_("arrived late")))
        if row.cancelled_upstream:
            flags.append(t(S_("cancelled upstream")))
        return flags

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.t(COLUMNS[section])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.UserRole:  # what sorting compares
            return self._key(row, column)
        if role == Qt.ItemDataRole.BackgroundRole and row.visit_id in self.help_visits:
            return QBrush(HELP_ROW)
        if role == Qt.ItemDataRole.BackgroundRole and self.past_target(row):
            return QBrush(PAST_TARGET)
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return ", ".join(self.flags_of(row)) or None
        return None

    def _text(self, row: QueueRow, column: int) -> str:
        t = self.t
        if column == 0:
            return row.ticket
        if column == 1:
            if not row.patient_name:
                return t(S_("(walk-in)"))
            # A name in another script with its Latin spelling, so that staff can say it.
            return f"{row.patient_name} · {row.latin_name}" if row.latin_name \
                else row.patient_name
        if column == 2:
            return row.provider
        if column == 3:
            return t.time(row.appointment_start.astimezone(self.tz)) if row.appointment_start \
                else t(S_("walk-in"))
        if column == 4:
            return t.time(row.checked_in_at.astimezone(self.tz))
        if column == 5:
            return t.minutes(row.waiting_minutes(self.now))
        if column == 6:
            text = t(STATUS_NAMES[row.status])
            if row.status == VisitStatus.WAITING and row.position:
                text = t(S_("waiting (#{place})"), place=row.position)
            if row.room and row.status != VisitStatus.WAITING:
                text = t(S_("{status}, {room}"), status=text, room=row.room)
            return text
        if column == 7:
            if row.wait is None or row.status != VisitStatus.WAITING:
                return ""
            if not row.wait.known:
                return "?"
            return t(S_("about {low} (at most {high}) min"), low=row.wait.median,
                     high=row.wait.upper)
        return ", ".join(self.flags_of(row))

    def _key(self, row: QueueRow, column: int) -> Any:
        if column == 0:
            return int(row.ticket.rsplit("-", 1)[-1]) if row.ticket[-1:].isdigit() else 0
        if column == 3:
            return row.appointment_start.timestamp() if row.appointment_start else 0.0
        if column == 4:
            return row.checked_in_at.timestamp()
        if column == 5:
            return row.waiting_minutes(self.now)
        if column == 7:
            return row.wait.median if row.wait else -1
        return self._text(row, column)


class ProviderFilter(QSortFilterProxyModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.provider_id: int | None = None
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def choose(self, provider_id: int | None) -> None:
        self.provider_id = provider_id
        self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int,
                         source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.provider_id is None:
            return True
        model = self.sourceModel()
        assert isinstance(model, QueueModel)
        return model.rows[source_row].provider_id == self.provider_id

