"""Reception's window: sign in with a PIN, the live queue, one-touch actions, help alerts,
the kiosks' health and the day's report. A normal desktop window for staff, not locked down;
it locks itself after ``reception_lock_minutes`` without a key or a click.

Every action is a core call (``kiosk.services.queue``, ``kiosk.services.lobby``,
``kiosk.services.checkin``) made with the signed-in member's name, which the audit keeps."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import S_, is_right_to_left
from kiosk.base.settings import Settings
from kiosk.services import site_settings
from kiosk.services.checkin import CheckinService
from kiosk.services.lobby import (
    OpenHelp,
    SiteHealth,
    acknowledge_help,
    open_help_requests,
    site_health,
)
from kiosk.services.queue import (
    STATUS_NAMES,
    DeskAppointment,
    InvalidTransition,
    NotFound,
    QueueRow,
    QueueService,
    appointments_to_check_in,
    providers,
    ticket_card,
)
from kiosk.services.staff import SignedIn
from kiosk.store.db import DatabaseUnavailable
from kiosk.store.models import StaffRole, VisitStatus
from kiosk.store.site import SiteContext
from ui.live import LiveUpdates
from ui.reception.site_settings import SiteSettingsTab
from ui.sound import Chime
from ui.staff_sign_in import UNREACHABLE, StaffSignIn
from ui.staff_text import StaffText

log = logging.getLogger(__name__)

HEALTH_EVERY_MS = 10_000
# What a background read brings: queue rows, open help requests, the desk list, the
# site-wide settings.
Lobby = tuple[list[QueueRow] | None, list[OpenHelp], list[DeskAppointment] | None,
              Settings | None]
HELP_REPEAT_MS = 15_000
COLUMNS = (S_("Ticket"), S_("Patient"), S_("Provider"), S_("Appointment"), S_("Checked in"),
           S_("Waiting"), S_("Status"), S_("Estimate"), S_("Flags"))
PAST_TARGET = QColor("#FBE3C0")
HELP_ROW = QColor("#F6C9C9")
KIOSKS = S_("Kiosks")
STYLE = """
QMainWindow, QWidget { font-size: 15px; }
QLabel[role="title"] { font-size: 22px; font-weight: 600; }
QLabel[role="counts"] { font-size: 17px; }
QLabel[role="problem"] { color: #9B1C1C; font-weight: 600; }
QFrame[role="alert"] { background: #9B1C1C; border-radius: 8px; }
QFrame[role="alert"] QLabel { color: white; font-size: 17px; font-weight: 600; }
QPushButton { min-height: 34px; padding: 2px 14px; }
QPushButton[role="primary"] { background: #0F5E6E; color: white; font-weight: 600; }
QTableView { font-size: 15px; }
"""


class QueueModel(QAbstractTableModel):
    """Today's active visits; ``tick(now)`` moves the waiting times on without a query."""

    def __init__(self, target_minutes: int, tz: Any, t: StaffText,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.t = t
        self.rows: list[QueueRow] = []
        self.help_visits: set[int] = set()  # visits whose patient asked for help
        self.now = datetime.now().astimezone()
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
            return row.patient_name or t(S_("(walk-in)"))
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


class SignInPage(QWidget):
    def __init__(self, ctx: SiteContext, t: StaffText,
                 on_signed_in: Callable[[SignedIn], None]) -> None:
        super().__init__()
        title = QLabel(t(S_("{site}: reception"), site=ctx.settings.site_name))
        title.setWordWrap(True)
        title.setProperty("role", "title")
        self.button = QPushButton(t(S_("Sign in")))
        self.button.setProperty("role", "primary")
        self.form = StaffSignIn(ctx, t, "reception", on_signed_in, extra=[self.button])
        self.button.clicked.connect(self.form.submit)
        self.who, self.pin, self.problem = self.form.who, self.form.pin, self.form.problem
        self.submit, self.reload = self.form.submit, self.form.reload
        box = QWidget()
        column = QVBoxLayout(box)
        column.addWidget(title)
        column.addWidget(self.form)
        box.setFixedWidth(420)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box)
        row.addStretch(1)
        outer = QVBoxLayout(self)  # the form stays together in the middle of the window
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)


class TicketDialog(QDialog):
    """A patient's ticket and their appointment's QR code, shown again."""

    def __init__(self, parent: QWidget, t: StaffText, ticket: str, provider: str,
                 token: str | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(t(S_("Ticket {ticket}"), ticket=ticket))
        layout = QVBoxLayout(self)
        big = QLabel(ticket)
        big.setStyleSheet("font-size: 56px; font-weight: 700; color: #0F5E6E;")
        big.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(big)
        layout.addWidget(QLabel(provider), alignment=Qt.AlignmentFlag.AlignCenter)
        self.qr = QLabel()
        if token is not None:
            from kiosk.domain.tokens import qr_code

            image = qr_code(token).make_image().convert("RGB")
            data = image.tobytes("raw", "RGB")
            qimage = QImage(data, image.size[0], image.size[1], image.size[0] * 3,
                            QImage.Format.Format_RGB888).copy()
            self.qr.setPixmap(QPixmap.fromImage(qimage).scaledToWidth(260))
            layout.addWidget(self.qr, alignment=Qt.AlignmentFlag.AlignCenter)
            layout.addWidget(QLabel(t(S_("Scan at the kiosk to see your place and wait."))),
                             alignment=Qt.AlignmentFlag.AlignCenter)
        close = QPushButton(t(S_("Close")))
        close.clicked.connect(self.accept)
        layout.addWidget(close)


class ReceptionWindow(QMainWindow):
    def __init__(self, ctx: SiteContext, chime: Chime | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.queue = QueueService(ctx)
        self.chime = chime or Chime(self)
        self.member: SignedIn | None = None
        self.t = t = StaffText(ctx.settings.staff_language)
        if is_right_to_left(t.language):
            self.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self.setWindowTitle(t(S_("Reception: {site}"), site=ctx.settings.site_name))
        self.setStyleSheet(STYLE)
        self.rooms: dict[int, str] = {}
        self.provider_list: list[tuple[int, str, str]] = []
        self.help_ids: set[int] = set()

        self.stack = QStackedWidget()
        self.sign_in_page = SignInPage(ctx, t, self.signed_in)
        self.main_page = self._build_main()
        self.stack.addWidget(self.sign_in_page)
        self.stack.addWidget(self.main_page)
        self.setCentralWidget(self.stack)

        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(ctx.settings.reception_lock_minutes * 60_000)
        self.idle.timeout.connect(self.lock)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.ticker = QTimer(self)
        self.ticker.setInterval(1000)
        self.ticker.timeout.connect(lambda: self.model.tick(self.ctx.now()))
        self.ticker.start()
        self.health_timer = QTimer(self)
        self.health_timer.setInterval(HEALTH_EVERY_MS)
        self.health_timer.timeout.connect(self.refresh_health)
        self.help_timer = QTimer(self)  # the chime repeats until someone acknowledges
        self.help_timer.setInterval(HELP_REPEAT_MS)
        self.help_timer.timeout.connect(self.chime.play)
        self._desk_open = False  # read by the worker thread: no widget state there
        self.site = site_settings.Follower(ctx)  # an admin's changes, here or elsewhere
        self.live = LiveUpdates(ctx, self._read_lobby, self._show_lobby, self,
                                failed=self._unreachable)

    # -- building ----------------------------------------------------------------------------

    def _build_main(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
        t = self.t
        title = QLabel(t(S_("Lobby")))
        title.setProperty("role", "title")
        self.counts = QLabel("")
        self.counts.setProperty("role", "counts")
        self.provider_filter = QComboBox()
        self.provider_filter.setAccessibleName(t(S_("Show provider")))
        self.provider_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.provider_filter.currentIndexChanged.connect(self._filter_changed)
        self.who = QLabel("")
        lock = QPushButton(t(S_("Lock")))
        lock.clicked.connect(self.lock)
        top.addWidget(title)
        top.addSpacing(16)
        top.addWidget(self.counts, 1)
        top.addWidget(QLabel(t(S_("Provider:"))))
        top.addWidget(self.provider_filter)
        top.addSpacing(16)
        top.addWidget(self.who)
        top.addWidget(lock)
        layout.addLayout(top)

        self.alert = QFrame()
        self.alert.setProperty("role", "alert")
        alert_row = QHBoxLayout(self.alert)
        self.alert_text = QLabel("")
        self.alert_button = QPushButton(t(S_("Acknowledge")))
        self.alert_button.clicked.connect(self.acknowledge_all)
        alert_row.addWidget(self.alert_text, 1)
        alert_row.addWidget(self.alert_button)
        self.alert.hide()
        layout.addWidget(self.alert)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_queue_tab(), t(S_("Queue")))
        self.tabs.addTab(self._build_desk_tab(), t(S_("Check in")))
        self.tabs.addTab(self._build_kiosks_tab(), t(KIOSKS))
        self.tabs.addTab(self._build_report_tab(), t(S_("Day report")))
        self.site_tab = SiteSettingsTab(self.ctx, t, self._site_settings_saved)
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self.status = QLabel("")
        self.status.setAccessibleName(t(S_("Last action")))
        layout.addWidget(self.status)
        return page

    def _build_queue_tab(self) -> QWidget:
        t = self.t
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.model = QueueModel(self.ctx.settings.target_wait_minutes, self.ctx.tz, t, self)
        self.proxy = ProviderFilter(self)
        self.proxy.setSourceModel(self.model)
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
        for key, label in (("call", S_("Call")), ("start", S_("In room")),
                           ("finish", S_("Finish")), ("left", S_("Left without being seen")),
                           ("undo", S_("Undo")), ("ticket", S_("Show ticket and QR"))):
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
        return tab

    def _build_desk_tab(self) -> QWidget:
        t = self.t
        tab = QWidget()
        layout = QVBoxLayout(tab)
        explain = QLabel(t(S_("Appointments today not checked in yet (a patient the kiosk sent "
                              "to reception):")))
        explain.setWordWrap(True)
        layout.addWidget(explain)
        self.search = QLineEdit()
        self.search.setPlaceholderText(t(S_("Filter by name or time")))
        self.search.textChanged.connect(self._filter_desk)
        layout.addWidget(self.search)
        self.desk = QListWidget()
        self.desk.setAccessibleName(t(S_("Appointments to check in")))
        layout.addWidget(self.desk, 1)
        check_in = QPushButton(t(S_("Check in the selected appointment")))
        check_in.setProperty("role", "primary")
        check_in.clicked.connect(self.check_in_selected)
        layout.addWidget(check_in)
        walk = QHBoxLayout()
        walk.addWidget(QLabel(t(S_("Walk-in:"))))
        self.walk_name = QLineEdit()
        self.walk_name.setPlaceholderText(t(S_("Name (optional)")))
        self.walk_name.setMaxLength(200)
        self.walk_provider = QComboBox()
        self.walk_provider.setAccessibleName(t(S_("Walk-in provider")))
        self.walk_provider.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        add = QPushButton(t(S_("Add walk-in")))
        add.clicked.connect(self.add_walk_in)
        walk.addWidget(self.walk_name, 1)
        walk.addWidget(self.walk_provider)
        walk.addWidget(add)
        layout.addLayout(walk)
        return tab

    def _build_kiosks_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.health = QListWidget()
        self.health.setAccessibleName(self.t(KIOSKS))
        self.sync_line = QLabel("")
        self.sync_line.setWordWrap(True)
        layout.addWidget(self.health, 1)
        layout.addWidget(self.sync_line)
        return tab

    def _build_report_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        self.report = QTextBrowser()
        self.report.setAccessibleName(self.t(S_("Day report")))
        layout.addWidget(self.report, 1)
        return tab

    # -- signing in and locking --------------------------------------------------------------

    def signed_in(self, member: SignedIn) -> None:
        self.member = member
        self.who.setText(self.t(S_("Signed in: {name}"), name=member.name))
        if member.role is StaffRole.ADMIN:  # the site-wide settings: admins only
            self.site_tab.member = member
            self.site_tab.load()
            self.tabs.addTab(self.site_tab, self.t(S_("Site settings")))
        self.stack.setCurrentWidget(self.main_page)
        self.idle.start()
        self.health_timer.start()
        self.refresh()
        self.refresh_health()

    def lock(self) -> None:
        """Back to the PIN: nothing of the queue stays on the screen."""
        self.member = None
        self.site_tab.member = None
        if self.tabs.indexOf(self.site_tab) >= 0:
            self.tabs.removeTab(self.tabs.indexOf(self.site_tab))
        self.idle.stop()
        self.health_timer.stop()
        self.model.set_rows([], self.ctx.now())
        self.desk.clear()
        self.report.clear()
        self.status.setText("")
        self.stack.setCurrentWidget(self.sign_in_page)
        self.sign_in_page.reload()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.member is not None and event.type() in (
                QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel):
            self.idle.start()
        return False

    # -- showing ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the queue and the open help requests again, off the GUI thread (this runs
        on every lobby change, and after each action)."""
        self.live.refresh()

    def _read_lobby(self) -> Lobby:
        # On the worker thread. Locked: only the help requests, which still chime.
        signed_in = self.member is not None
        # An admin (here or at another desk) may have changed the target wait.
        site = self.site.changed() if signed_in else None
        rows = self.queue.rows() if signed_in else None
        desk = appointments_to_check_in(self.ctx) if signed_in and self._desk_open else None
        return rows, open_help_requests(self.ctx), desk, site

    def _show_lobby(self, lobby: Lobby) -> None:
        rows, help_requests, desk, site = lobby
        if site is not None:  # applied even if locked meanwhile: it is read only once
            self.ctx.settings = site
            self.model.target = site.target_wait_minutes
        if self.member is None or rows is None:  # locked meanwhile: show nothing
            self._chime_for(help_requests)
            return
        selected = self.selected_ticket()
        self.model.set_rows(rows, self.ctx.now(),
                            {r.visit_id for r in help_requests if r.visit_id is not None})
        self._reselect(selected)
        self._show_counts()
        self._show_help(help_requests)
        if not self.provider_list:
            self._load_providers()
        if desk is not None:
            self._show_desk(desk)

    def _unreachable(self, error: Exception) -> None:
        if isinstance(error, DatabaseUnavailable) and self.member is not None:
            self.counts.setText(self.t(S_("The database cannot be reached: the list may be "
                                          "out of date.")))

    def _show_counts(self) -> None:
        rows = self.model.rows
        waiting = [r for r in rows if r.status == VisitStatus.WAITING]
        past = [r for r in waiting if self.model.past_target(r)]
        text = self.t(S_("Waiting: {waiting}. Called or in a room: {called}."),
                      waiting=len(waiting), called=len(rows) - len(waiting))
        if past:
            text += "  ·  " + self.t(S_("Past the {minutes}-minute target: {count}."),
                                     minutes=self.ctx.settings.target_wait_minutes,
                                     count=len(past))
        self.counts.setText(text)

    def _chime_for(self, requests: list[OpenHelp]) -> None:
        ids = {request.id for request in requests}
        if ids - self.help_ids:
            self.chime.play()
        self.help_ids = ids
        if ids:
            self.help_timer.start()
        else:
            self.help_timer.stop()

    def _show_help(self, requests: list[OpenHelp]) -> None:
        self._chime_for(requests)
        if not requests:
            self.alert.hide()
            return
        now, t = self.ctx.now(), self.t
        tickets = {row.visit_id: row.ticket for row in self.model.rows}
        parts = []
        for r in requests:
            ago = max(0, int((now - r.at).total_seconds() // 60))
            ticket = tickets.get(r.visit_id) if r.visit_id is not None else None
            parts.append(t(S_("{kiosk}, ticket {ticket}, {minutes} min ago"), kiosk=r.kiosk_id,
                           ticket=ticket, minutes=ago) if ticket else
                         t(S_("{kiosk}, {minutes} min ago"), kiosk=r.kiosk_id, minutes=ago))
        self.alert_text.setText(t(S_("A patient needs help: {where}"), where="; ".join(parts)))
        self.alert.show()

    def refresh_health(self) -> None:
        """Kiosks and sync, read off the GUI thread (every 10 s: a database away must not
        freeze the desk)."""
        self.live.worker.run(lambda: site_health(self.ctx), self._show_health,
                             lambda _error: self.sync_line.setText(self.t(UNREACHABLE)))

    def _show_health(self, health: SiteHealth) -> None:
        self.health.clear()
        now, t = self.ctx.now(), self.t
        for kiosk in health.kiosks:
            ago = int((now - kiosk.last_seen).total_seconds())
            item = QListWidgetItem(t(
                S_("{kiosk}: online (last seen {seconds} s ago, version {version})")
                if kiosk.online else
                S_("{kiosk}: OFFLINE (last seen {seconds} s ago, version {version})"),
                kiosk=kiosk.kiosk_id, seconds=ago, version=kiosk.version))
            if not kiosk.online:
                item.setForeground(QBrush(QColor("#9B1C1C")))
            self.health.addItem(item)
        if not health.kiosks:
            self.health.addItem(t(S_("No kiosk has reported yet.")))
        if not self.ctx.settings.fhir_base_url:
            sync = t(S_("Schedule sync: not configured."))
        elif health.last_sync is None:
            sync = t(S_("Schedule sync: no successful sync yet."))
        else:
            sync = t(S_("Schedule sync: last success at {time}."),
                     time=t.time(self.ctx.local(health.last_sync)))
        if health.sync_error:  # the sync's own words, for IT
            sync += " " + t(S_("Last error: {error}"), error=health.sync_error)
        sync += " " + t(S_("Check-ins waiting to be sent: {pending}; refused (need a look): "
                           "{refused}."), pending=health.outbox_pending,
                        refused=health.outbox_parked)
        self.sync_line.setText(sync)
        offline = [k.kiosk_id for k in health.kiosks if not k.online]
        self.tabs.setTabText(2, t(S_("Kiosks ({count} offline)"), count=len(offline))
                             if offline else t(KIOSKS))

    def show_report(self) -> None:
        from kiosk.services.report import day_report

        try:
            self.report.setHtml(day_report(self.ctx, self.ctx.today()).as_html(self.t.language))
        except DatabaseUnavailable:
            self.report.setPlainText(self.t(UNREACHABLE))

    def _site_settings_saved(self, settings: Settings) -> None:
        self.model.target = settings.target_wait_minutes
        self.refresh()

    def _tab_changed(self, index: int) -> None:
        self._desk_open = index == 1
        if self.member is None:
            return
        if index == 1:
            self._load_desk()
        elif index == 2:
            self.refresh_health()
        elif index == 3:
            self.show_report()

    def _load_providers(self) -> None:
        self.provider_list = providers(self.ctx)
        for combo in (self.provider_filter, self.move_to, self.walk_provider):
            combo.blockSignals(True)
            combo.clear()
        self.provider_filter.addItem(self.t(S_("All")), None)
        for provider_id, _external, name in self.provider_list:
            self.provider_filter.addItem(name, provider_id)
            self.move_to.addItem(name, provider_id)
            self.walk_provider.addItem(name, provider_id)
        for combo in (self.provider_filter, self.move_to, self.walk_provider):
            combo.blockSignals(False)

    def _filter_changed(self) -> None:
        self.proxy.choose(self.provider_filter.currentData())

    def _load_desk(self) -> None:
        self._show_desk(appointments_to_check_in(self.ctx))

    def _show_desk(self, appointments: list[DeskAppointment]) -> None:
        self.desk.clear()
        for appointment in appointments:
            when = self.t.time(self.ctx.local(appointment.start))
            item = QListWidgetItem(f"{when}  {appointment.patient_name}  ·  "
                                   f"{appointment.provider}")
            item.setData(Qt.ItemDataRole.UserRole, appointment.external_id)
            self.desk.addItem(item)
        self._filter_desk(self.search.text())

    def _filter_desk(self, text: str) -> None:
        wanted = text.strip().casefold()
        for index in range(self.desk.count()):
            item = self.desk.item(index)
            item.setHidden(bool(wanted) and wanted not in item.text().casefold())

    # -- acting ----------------------------------------------------------------------------

    def selected_row(self) -> QueueRow | None:
        chosen = self.table.selectionModel().selectedRows()
        if not chosen:
            return None
        return self.model.rows[self.proxy.mapToSource(chosen[0]).row()]

    def selected_ticket(self) -> str | None:
        row = self.selected_row()
        return row.ticket if row else None

    def select_ticket(self, ticket: str) -> bool:
        return self._reselect(ticket)

    def _reselect(self, ticket: str | None) -> bool:
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

    def do(self, action: str) -> None:
        """One touch: the action on the selected patient, audited with the member's name."""
        if self.member is None:
            return
        actor, t = self.member.name, self.t
        if action == "undo":
            self._try(lambda: t(S_("Undone: {ticket}."),
                                ticket=self.queue.undo_last(actor=actor)))
            return
        row = self.selected_row()
        if row is None:
            self.status.setText(t(S_("Select a patient in the list first.")))
            return
        if action == "ticket":
            try:
                card = ticket_card(self.ctx, row.visit_id)
            except LookupError as error:  # gone meanwhile (purged, another desk)
                self.status.setText(self.t.error(error))
                return
            except DatabaseUnavailable:
                self.status.setText(self.t(UNREACHABLE))
                return
            self.ticket_dialog = TicketDialog(self, t, card.ticket, card.provider,
                                              card.qr_token)
            self.ticket_dialog.show()
            return
        if action == "move":
            provider_id = self.move_to.currentData()
            self._try(lambda: (self.queue.move(row.ticket, provider_id, actor=actor),
                               t(S_("{ticket} moved to {provider}."), ticket=row.ticket,
                                 provider=self.move_to.currentText()))[1])
            return
        room = None
        if action == "call":
            room = self.room.text().strip()[:32] or self.rooms.get(row.provider_id)
            if room:
                self.rooms[row.provider_id] = room
        done = {"call": S_("{ticket} called to {room}.") if room else S_("{ticket} called."),
                "start": S_("{ticket} is in the room."), "finish": S_("{ticket} finished."),
                "left": S_("{ticket} left without being seen.")}[action]
        self._try(lambda: (self.queue.act(row.ticket, action, actor=actor, room=room),
                           t(done, ticket=row.ticket, room=room) + " "
                           + t(S_("(Undo for a minute.)")))[1])

    def _try(self, call: Callable[[], str]) -> None:
        try:
            message = call()
        except (LookupError, InvalidTransition) as error:
            self.status.setText(self.t.error(error))
            return
        except DatabaseUnavailable:
            self.status.setText(self.t(S_("The database cannot be reached: nothing was "
                                          "changed.")))
            return
        self.status.setText(message)
        self.refresh()

    def check_in_selected(self) -> None:
        item = self.desk.currentItem()
        if self.member is None or item is None:
            self.status.setText(self.t(S_("Select an appointment first.")))
            return
        external_id = item.data(Qt.ItemDataRole.UserRole)
        actor = self.member.name

        def check_in() -> str:
            result = CheckinService(self.ctx).by_staff(external_id, actor=actor)
            if result.ticket is None:
                raise NotFound(S_("That appointment cannot be checked in."))
            return self.t(S_("Checked in: ticket {ticket}."), ticket=result.ticket)
        self._try(check_in)  # its refresh re-reads the desk list too

    def add_walk_in(self) -> None:
        if self.member is None:
            return
        provider_id = self.walk_provider.currentData()
        external = next((e for p, e, _n in self.provider_list if p == provider_id), None)
        if external is None:
            self.status.setText(self.t(S_("Choose a provider for the walk-in.")))
            return
        name = " ".join(self.walk_name.text().split())[:200] or None
        actor = self.member.name
        self._try(lambda: self.t(S_("Walk-in added: ticket {ticket}."),
                                 ticket=self.queue.walk_in(external, actor=actor, name=name)))
        self.walk_name.clear()

    def acknowledge_all(self) -> None:
        if self.member is None:
            return
        for request_id in sorted(self.help_ids):
            acknowledge_help(self.ctx, request_id, actor=self.member.name)
        self.status.setText(self.t(S_("Help request acknowledged: please go to the kiosk.")))
        self.refresh()

    def closeEvent(self, event: Any) -> None:
        self.live.stop()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(event)
