"""What the kiosk's pages and overlays need from the window that holds them, and nothing more.

A page reads the flow and the patient's choices, translates, and hands the flow's requests
back; it never reaches into the window itself (``KioskWindow`` satisfies this protocol)."""

from __future__ import annotations

from typing import Any, Protocol

from kiosk.domain.flow import CheckinRequest, KioskFlow


class PageHost(Protocol):
    @property
    def flow(self) -> KioskFlow:
        """The patient's way through the kiosk: what every page renders and calls."""
        ...

    @property
    def larger_text(self) -> bool:
        """The patient switched larger text on."""
        ...

    @property
    def hardware_keyboard(self) -> bool:
        """The patient typed on a physical keyboard: the on-screen keys can go."""
        ...

    @property
    def feedback_given(self) -> bool:
        """This patient already rated the visit: the faces are not asked again."""
        ...

    def tr(self, message: str, **values: Any) -> str:
        """``message`` in the patient's language, with ``values`` filled in."""
        ...

    def run(self, request: CheckinRequest | None) -> None:
        """Answer a check-in request off the GUI thread (``None``: nothing to answer)."""
        ...

    def feedback(self, score: int) -> None:
        """The patient's rating of the visit, 1 to 5."""
        ...

    @property
    def texts_asked(self) -> bool | None:
        """This patient touched "Text me when it is my turn": True once it is set up, False
        when it could not be, None before (or not asked)."""
        ...

    def text_me(self) -> None:
        """The patient asked to be texted when next and when called (off the GUI thread)."""
        ...
