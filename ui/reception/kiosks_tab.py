"""Reception's "Kiosks" tab: each kiosk's last heartbeat (online or OFFLINE, its version) and
the schedule sync's state, read off the GUI thread (every 10 s while signed in: a database
away must not freeze the desk)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from kiosk.base.i18n import S_
from kiosk.services.lobby import SiteHealth, site_health
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText
from ui.worker import CoreOps, Failure

KIOSKS = S_("Kiosks")
OFFLINE = QColor("#9B1C1C")


class KiosksTab(QWidget):
    """``titled(text)``: the tab's title, with the number of kiosks offline."""

    titled = Signal(str)

    def __init__(self, ctx: SiteContext, t: StaffText, ops: CoreOps) -> None:
        super().__init__()
        self.ctx, self.t, self.ops = ctx, t, ops
        layout = QVBoxLayout(self)
        self.health = QListWidget()
        self.health.setAccessibleName(t(KIOSKS))
        self.sync_line = QLabel("")
        self.sync_line.setWordWrap(True)
        layout.addWidget(self.health, 1)
        layout.addWidget(self.sync_line)

    def refresh(self) -> None:
        """Read the kiosks' and the sync's state again; one read at a time."""
        self.ops.run(lambda: site_health(self.ctx), self.show_health, self._failed,
                     key="health")

    def _failed(self, failure: Failure) -> None:
        self.sync_line.setText(failure.message)  # the kiosks shown before stay

    def show_health(self, health: SiteHealth) -> None:
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
                item.setForeground(QBrush(OFFLINE))
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
        if any(health.messages.values()):
            sync += " " + t(S_("Messages to patients: {sent} sent, {pending} waiting, {parked} "
                               "parked (need a look)."), sent=health.messages["sent"],
                            pending=health.messages["pending"],
                            parked=health.messages["parked"])
        self.sync_line.setText(sync)
        offline = [k.kiosk_id for k in health.kiosks if not k.online]
        self.titled.emit(t(S_("Kiosks ({count} offline)"), count=len(offline))
                         if offline else t(KIOSKS))
