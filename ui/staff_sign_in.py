"""Staff pick their name and type their PIN: reception's sign-in and the kiosk's staff exit.
The PIN is checked by :func:`kiosk.services.staff.sign_in` (slow hash, lock after wrong PINs),
like the list of names, off the GUI thread: while the hash runs (or the database is away) the
form is disabled and the window keeps painting."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit, QVBoxLayout, QWidget

from kiosk.base.i18n import S_
from kiosk.services.staff import SignedIn, sign_in, staff_names
from kiosk.store.site import SiteContext
from ui.staff_text import StaffText
from ui.worker import CoreOps, Failure

NO_STAFF = S_("No staff yet: add one with `kiosk staff add NAME`.")


class StaffSignIn(QWidget):
    """Name, PIN, ``extra`` widgets (a button, a keypad), and the problem if any.
    ``where`` names the place in the audit record ("reception", "kiosk kiosk-1").
    ``buttons``: widgets outside the form that submit it, disabled with it while the PIN is
    checked. ``ops``: the window's runner of core calls (one of its own if None)."""

    def __init__(self, ctx: SiteContext, t: StaffText, where: str,
                 on_signed_in: Callable[[SignedIn], None],
                 extra: Sequence[QWidget] = (), *, buttons: Sequence[QWidget] = (),
                 ops: CoreOps | None = None) -> None:
        super().__init__()
        self.ctx, self.t, self.where = ctx, t, where
        self.on_signed_in = on_signed_in
        self.ops = ops or CoreOps(self, t.language)
        self.buttons = list(buttons)
        self._focus: QWidget | None = None  # where the focus was when the PIN was sent
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
        """An empty PIN, and the staff names read again (the choice kept where it can be)."""
        self.problem.clear()
        self.pin.clear()
        self.pin.setFocus()
        self.ops.run(lambda: [name for name, _role in staff_names(self.ctx)],
                     self._show_names, self._names_failed, key="staff names")

    def _show_names(self, names: list[str]) -> None:
        chosen = self.who.currentText()
        self.who.clear()
        self.who.addItems(names)
        if chosen in names:
            self.who.setCurrentText(chosen)
        if not names:
            self.problem.setText(self.t(NO_STAFF))

    def _names_failed(self, failure: Failure) -> None:
        self.problem.setText(failure.message)  # the names shown before (if any) stay

    def submit(self) -> None:
        """Check the PIN off the GUI thread; a second submit meanwhile does nothing."""
        if self.ops.running("sign in"):
            return
        pin, name = self.pin.text(), self.who.currentText()
        self.pin.clear()
        # Disabled while the hash runs, the form loses the focus: it goes back afterwards
        # (the PIN field, the button clicked), so that the next try is typed where it was.
        self._focus = QApplication.focusWidget()
        self.ops.run(lambda: sign_in(self.ctx, name, pin, where=self.where), self._signed_in,
                     self._refused, key="sign in", disable=[self, *self.buttons])

    def _signed_in(self, member: SignedIn) -> None:
        self.problem.setText("")
        self.on_signed_in(member)

    def _refused(self, failure: Failure) -> None:
        # A StaffError (wrong name or PIN, locked for a while) in the staff's language; the
        # database away: UNREACHABLE.
        self.problem.setText(failure.message)
        focus, self._focus = self._focus, None
        if focus is not None and (focus is self.pin or focus in self.buttons
                                  or self.isAncestorOf(focus)):
            focus.setFocus()
