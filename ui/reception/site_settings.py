"""Reception's "Site settings" tab, for admins only: the settings every kiosk of the site
shares (``kiosk.services.site_settings.SITE_WIDE``), saved in the database (off the GUI
thread; the save button waits for the answer); kiosks apply them between patients, within a
minute."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kiosk.base.i18n import S_, native_name
from kiosk.base.settings import Settings, SettingsError
from kiosk.services import site_settings
from kiosk.services.staff import SignedIn
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText
from ui.worker import NOTHING_CHANGED, CoreOps, Failure

# Every language the kiosk has a catalog for, in the default order.
ALL_LANGUAGES = Settings().languages


class SiteSettingsTab(QWidget):
    def __init__(self, ctx: SiteContext, t: StaffText, on_saved: Callable[[Settings], None],
                 ops: CoreOps) -> None:
        super().__init__()
        self.ctx, self.t, self.on_saved, self.ops = ctx, t, on_saved, ops
        self.member: SignedIn | None = None
        self.languages = QListWidget()
        self.languages.setAccessibleName(t(S_("Languages offered")))
        self.default_language = QComboBox()
        self.default_language.setAccessibleName(t(S_("Default language")))
        self.note = QLineEdit()
        self.note.setMaxLength(200)
        self.note.setAccessibleName(t(S_("Note on the welcome screen")))
        self.note.setPlaceholderText(t(S_("Shown to every patient as written; empty: none")))
        self.target = self._minutes(1, 240)
        self.late = self._minutes(0, 240)
        self.opens = self._minutes(0, 600)
        self.board_names = QComboBox()
        self.board_names.addItem(t(S_("Tickets only")), "none")
        self.board_names.addItem(t(S_("Given name and initial")), "initials")
        # How the practice calls patients in: the wait estimates replay the same rule.
        self.calling_rule = QComboBox()
        self.calling_rule.addItem(t(S_("Booked patients when due; walk-ins fill the gaps")),
                                  "booked_first")
        self.calling_rule.addItem(t(S_("Everyone in one line, by appointment or arrival")),
                                  "arrival")
        self.result = QLabel("")
        self.result.setWordWrap(True)
        save = QPushButton(t(S_("Save for every kiosk")))
        save.setProperty("role", "primary")
        save.clicked.connect(self.save)
        self.save_button = save
        form = QFormLayout()
        form.addRow(t(S_("Languages offered")), self.languages)
        form.addRow(t(S_("Default language")), self.default_language)
        form.addRow(t(S_("Note on the welcome screen")), self.note)
        form.addRow(t(S_("Target wait (minutes)")), self.target)
        form.addRow(t(S_("Late after (minutes)")), self.late)
        form.addRow(t(S_("Check-in opens before the appointment (minutes)")), self.opens)
        form.addRow(t(S_("Lobby board shows")), self.board_names)
        form.addRow(t(S_("Patients are called")), self.calling_rule)
        layout = QVBoxLayout(self)
        layout.addLayout(form, 1)
        layout.addWidget(save, alignment=Qt.AlignmentFlag.AlignLeading)
        layout.addWidget(self.result)

    @staticmethod
    def _minutes(low: int, high: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        return box

    def load(self) -> None:
        """Show the site's current values (the file's, overridden by the database's)."""
        settings = self.ctx.settings
        self.languages.clear()
        offered = list(settings.languages)
        for code in offered + [code for code in ALL_LANGUAGES if code not in offered]:
            item = QListWidgetItem(f"{native_name(code)} ({code})")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if code in offered
                               else Qt.CheckState.Unchecked)
            self.languages.addItem(item)
        self.default_language.clear()
        for code in ALL_LANGUAGES:
            self.default_language.addItem(native_name(code), code)
        self.default_language.setCurrentIndex(ALL_LANGUAGES.index(settings.default_language)
                                              if settings.default_language in ALL_LANGUAGES
                                              else 0)
        self.note.setText(settings.welcome_message)
        self.target.setValue(settings.target_wait_minutes)
        self.late.setValue(settings.late_after_minutes)
        self.opens.setValue(settings.checkin_opens_minutes)
        self.board_names.setCurrentIndex(self.board_names.findData(settings.board_names))
        self.calling_rule.setCurrentIndex(self.calling_rule.findData(settings.calling_rule))
        self.result.setText("")

    def chosen(self) -> dict[str, object]:
        offered = [self.languages.item(i).data(Qt.ItemDataRole.UserRole)
                   for i in range(self.languages.count())
                   if self.languages.item(i).checkState() == Qt.CheckState.Checked]
        return {"languages": offered, "default_language": self.default_language.currentData(),
                "welcome_message": " ".join(self.note.text().split()),
                "target_wait_minutes": self.target.value(),
                "late_after_minutes": self.late.value(),
                "checkin_opens_minutes": self.opens.value(),
                "board_names": self.board_names.currentData(),
                "calling_rule": self.calling_rule.currentData()}

    def save(self) -> None:
        """Check and save off the GUI thread; a second click meanwhile does nothing."""
        if self.member is None:
            return
        ctx, chosen = self.ctx, self.chosen()
        actor, role = self.member.name, self.member.role
        if self.ops.run(lambda: site_settings.save(ctx, chosen, actor=actor, role=role),
                        self._saved, self._not_saved, key="site settings",
                        disable=[self.save_button], unreachable=NOTHING_CHANGED,
                        expected=(SettingsError, PermissionError)):
            self.result.setText("")

    def _saved(self, saved: Settings) -> None:
        self.result.setText(self.t(S_("Saved. Every kiosk takes it between patients, within a "
                                      "minute.")))
        self.on_saved(saved)

    def _not_saved(self, failure: Failure) -> None:
        t, problem = self.t, failure.error
        if isinstance(problem, SettingsError):  # the validator's own words, for the admin
            self.result.setText(t(S_("Not saved: {problem}"), problem=problem))
        elif isinstance(problem, PermissionError):
            self.result.setText(t(S_("Not saved: only an admin changes these settings.")))
        else:  # the database away: nothing was changed
            self.result.setText(failure.message)
