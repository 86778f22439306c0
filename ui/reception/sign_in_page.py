"""Reception's first page: the staff sign-in form in the middle of the window."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.base.i18n import S_
from kiosk.services.staff import SignedIn
from kiosk.store.site import SiteContext
from ui.staff_sign_in import StaffSignIn
from ui.staff_text import StaffText
from ui.worker import CoreOps


class SignInPage(QWidget):
    """Name, PIN and "Sign in"; the PIN is checked off the GUI thread (``ops``)."""

    def __init__(self, ctx: SiteContext, t: StaffText,
                 on_signed_in: Callable[[SignedIn], None], ops: CoreOps) -> None:
        super().__init__()
        title = QLabel(t(S_("{site}: reception"), site=ctx.settings.site_name))
        title.setWordWrap(True)
        title.setProperty("role", "title")
        self.button = QPushButton(t(S_("Sign in")))
        self.button.setProperty("role", "primary")
        self.form = StaffSignIn(ctx, t, "reception", on_signed_in, extra=[self.button],
                                ops=ops)
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
