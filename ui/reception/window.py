"""Reception's window: sign in with a PIN, then the lobby in tabs (the queue, check-in at the
desk, the kiosks, the day's report, the site's settings for admins) under a help alert. A
normal desktop window for staff, not locked down; it locks itself after
``reception_lock_minutes`` without a key or a click.

The window wires the pieces together: each tab is its own widget (``ui/reception/*_tab.py``)
and every call into the core, read or write, goes through the window's
:class:`~ui.worker.CoreOps`, off the GUI thread: a database away costs its timeout there,
and the desk keeps answering."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import S_, is_right_to_left
from kiosk.base.settings import Settings
from kiosk.services import site_settings
from kiosk.services.desk import DeskAppointment, appointments_to_check_in, providers
from kiosk.services.lobby import OpenHelp, open_help_requests
from kiosk.services.queue import QueueRow, QueueService
from kiosk.services.staff import SignedIn
from kiosk.store.models import StaffRole, VisitStatus
from kiosk.store.site import SiteContext
from ui.live import LiveUpdates
from ui.reception.desk_tab import DeskTab
from ui.reception.help_alert import Chimes, HelpAlert
from ui.reception.kiosks_tab import KIOSKS, KiosksTab
from ui.reception.queue_model import QueueModel
from ui.reception.queue_tab import QueueTab
from ui.reception.report_tab import ReportTab
from ui.reception.sign_in_page import SignInPage
from ui.reception.site_settings import SiteSettingsTab
from ui.sound import Chime
from ui.staff_text import StaffText
from ui.worker import CoreOps, Failure

log = logging.getLogger(__name__)

HEALTH_EVERY_MS = 10_000
# What a background read brings: queue rows, open help requests, the desk list, the
# site-wide settings.
Lobby = tuple[list[QueueRow] | None, list[OpenHelp], list[DeskAppointment] | None,
              Settings | None]
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


class ReceptionWindow(QMainWindow):
    def __init__(self, ctx: SiteContext, chime: Chimes | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        self.queue = QueueService(ctx)
        self.chime: Chimes = chime or Chime(self)
        self.member: SignedIn | None = None
        self.t = t = StaffText(ctx.settings.staff_language)
        # Every call into the core, in turn, off the GUI thread.
        self.ops = CoreOps(self, t.language)
        if is_right_to_left(t.language):
            self.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
        self.setWindowTitle(t(S_("Reception: {site}"), site=ctx.settings.site_name))
        self.setStyleSheet(STYLE)
        self.provider_list: list[tuple[int, str, str]] = []
        self.model = QueueModel(ctx.settings.target_wait_minutes, ctx.tz, t, ctx.now(), self)

        self.stack = QStackedWidget()
        self.sign_in_page = SignInPage(ctx, t, self.signed_in, self.ops)
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
        self.health_timer.timeout.connect(self.kiosks_tab.refresh)
        self._desk_open = False  # read by the worker thread: no widget state there
        self.site = site_settings.Follower(ctx)  # an admin's changes, here or elsewhere
        self.live = LiveUpdates(ctx, self._read_lobby, self._show_lobby, self,
                                failed=self._unreachable, ops=self.ops)

    # -- building ----------------------------------------------------------------------------

    def _build_main(self) -> QWidget:
        ctx, t, ops = self.ctx, self.t, self.ops
        page = QWidget()
        layout = QVBoxLayout(page)
        top = QHBoxLayout()
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

        self.help_alert = HelpAlert(ctx, t, ops, self.chime)
        layout.addWidget(self.help_alert)

        self.queue_tab = QueueTab(ctx, t, ops, self.model, self.queue)
        self.desk_tab = DeskTab(ctx, t, ops, self.queue)
        self.kiosks_tab = KiosksTab(ctx, t, ops)
        self.report_tab = ReportTab(ctx, t, ops)
        self.site_tab = SiteSettingsTab(ctx, t, self._site_settings_saved, ops)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.queue_tab, t(S_("Queue")))
        self.tabs.addTab(self.desk_tab, t(S_("Check in")))
        self.tabs.addTab(self.kiosks_tab, t(KIOSKS))
        self.tabs.addTab(self.report_tab, t(S_("Day report")))
        self.tabs.currentChanged.connect(self._tab_changed)
        layout.addWidget(self.tabs, 1)
        self.status = QLabel("")
        self.status.setAccessibleName(t(S_("Last action")))
        layout.addWidget(self.status)

        for part in (self.queue_tab, self.desk_tab, self.help_alert):
            part.said.connect(self._say)
            part.changed.connect(self.refresh)
        self.kiosks_tab.titled.connect(
            lambda title: self.tabs.setTabText(self.tabs.indexOf(self.kiosks_tab), title))
        return page

    # -- signing in and locking --------------------------------------------------------------

    def signed_in(self, member: SignedIn) -> None:
        self.member = member
        for part in (self.queue_tab, self.desk_tab, self.help_alert, self.report_tab):
            part.member = member
        self.who.setText(self.t(S_("Signed in: {name}"), name=member.name))
        if member.role is StaffRole.ADMIN:  # the site-wide settings: admins only
            self.site_tab.member = member
            self.site_tab.load()
            self.tabs.addTab(self.site_tab, self.t(S_("Site settings")))
        self.stack.setCurrentWidget(self.main_page)
        self.idle.start()
        self.health_timer.start()
        self.refresh()
        self.kiosks_tab.refresh()

    def lock(self) -> None:
        """Back to the PIN: nothing of the queue stays on the screen."""
        self.member = None
        for part in (self.queue_tab, self.desk_tab, self.help_alert, self.report_tab,
                     self.site_tab):
            part.member = None
        if self.tabs.indexOf(self.site_tab) >= 0:
            self.tabs.removeTab(self.tabs.indexOf(self.site_tab))
        self.idle.stop()
        self.health_timer.stop()
        self.model.set_rows([], self.ctx.now())
        self.desk_tab.clear()
        self.report_tab.clear()
        self.status.setText("")
        self.stack.setCurrentWidget(self.sign_in_page)
        self.sign_in_page.reload()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.member is not None and event.type() in (
                QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.Wheel):
            self.idle.start()
        return False

    @property
    def settled(self) -> bool:
        """Every call asked for has answered, and no read is due (tests, screenshots)."""
        return self.live.settled and self.ops.idle

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
            self.help_alert.chime_for(help_requests)
            return
        selected = self.queue_tab.selected_ticket()
        self.model.set_rows(rows, self.ctx.now(),
                            {r.visit_id for r in help_requests if r.visit_id is not None})
        self.queue_tab.select_ticket(selected)
        self._show_counts()
        self.help_alert.show_requests(help_requests,
                                      {row.visit_id: row.ticket for row in self.model.rows},
                                      self.ctx.now())
        if not self.provider_list:
            self._load_providers()
        if desk is not None:
            self.desk_tab.show_appointments(desk)

    def _unreachable(self, failure: Failure) -> None:
        if failure.unreachable and self.member is not None:
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

    def _say(self, text: str) -> None:
        """A tab's line for the status bar; an answer that comes after locking is dropped."""
        if self.member is not None:
            self.status.setText(text)

    def _site_settings_saved(self, settings: Settings) -> None:
        self.model.target = settings.target_wait_minutes
        self.refresh()

    def _tab_changed(self, index: int) -> None:
        tab = self.tabs.widget(index)
        self._desk_open = tab is self.desk_tab
        if self.member is None:
            return
        if tab is self.desk_tab:
            self.desk_tab.load()
        elif tab is self.kiosks_tab:
            self.kiosks_tab.refresh()
        elif tab is self.report_tab:
            self.report_tab.load()

    def _load_providers(self) -> None:
        # Asked again by the next lobby read if it fails.
        self.ops.run(lambda: providers(self.ctx), self._show_providers, lambda _failure: None,
                     key="providers")

    def _show_providers(self, provider_list: list[tuple[int, str, str]]) -> None:
        self.provider_list = provider_list
        combos = (self.provider_filter, self.queue_tab.move_to, self.desk_tab.walk_provider)
        for combo in combos:
            combo.blockSignals(True)
        self.provider_filter.clear()
        self.provider_filter.addItem(self.t(S_("All")), None)
        for provider_id, _external, name in provider_list:
            self.provider_filter.addItem(name, provider_id)
        self.queue_tab.set_providers(provider_list)
        self.desk_tab.set_providers(provider_list)
        for combo in combos:
            combo.blockSignals(False)

    def _filter_changed(self) -> None:
        self.queue_tab.proxy.choose(self.provider_filter.currentData())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.live.stop()
        self.ops.close()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        super().closeEvent(event)
