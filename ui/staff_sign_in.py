"""Staff pick their name and type their PIN: reception's sign-in and the kiosk's staff exit.
The PIN is checked by :func:`kiosk.services.staff.sign_in` (slow hash, lock after wrong PINs)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from kiosk.base.i18n import S_
from kiosk.services.staff import SignedIn, StaffError, sign_in, staff_names
from kiosk.store.db import DatabaseUnavailable
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText

UNREACHABLE = S_("The database cannot be reached; see the log.")


class StaffSignIn(QWidget):
    """Name, PIN, ``extra`` widgets (a button, a keypad), and the problem if any.
    ``where`` names the place in the audit record ("reception", "kiosk kiosk-1")."""

    def __init__(self, ctx: SiteContext, t: StaffText, where: str,
                 on_signed_in: Callable[[SignedIn], None],
                 extra: Sequence[QWidget] = ()) -> None:
        super().__init__()
        self.ctx, self.t, self.where = ctx, t, where
        self.on_signed_in = on_signed_in
        self.who = QComboBox()
        self.who.setAccessibleName(t(S_("Staff member")))
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(t(S_("PIN")))
        self.pin.setAccessibleName(t(S_("PIN")))
        self.pin.setMaxLength(8)
        self.pin.returnPressed.connect(self.submit)
        self.problem = QLabel("")
        self.problem.setProperty("role", "problem")
        self.problem.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(t(S_("Who is signing in?"))))
        layout.addWidget(self.who)
        layout.addWidget(self.pin)
        for widget in extra:
            layout.addWidget(widget)
        layout.addWidget(self.problem)
        self.reload()

    def reload(self) -> None:
        self.who.clear()
        self.problem.clear()
        try:
            names = [name for name, _role in staff_names(self.ctx)]
        except DatabaseUnavailable:
            names = []
            self.problem.setText(self.t(UNREACHABLE))
        self.who.addItems(names)
        if not names and not self.problem.text():
            self.problem.setText(self.t(S_("No staff yet: add one with `kiosk staff add NAME`.")))
        self.pin.clear()
        self.pin.setFocus()

    def submit(self) -> None:
        pin, name = self.pin.text(), self.who.currentText()
        self.pin.clear()
        try:
            member = sign_in(self.ctx, name, pin, where=self.where)
        except StaffError as error:
            self.problem.setText(self.t.error(error))
            return
        except DatabaseUnavailable:
            self.problem.setText(self.t(UNREACHABLE))
            return
        self.problem.setText("")
        self.on_signed_in(member)
