"""Words for staff (reception, the kiosk's staff exit) in the site's ``staff_language``."""

from __future__ import annotations

from datetime import datetime

from kiosk.base.i18n import S_, Explained, format_time, is_right_to_left, staff_translate


class StaffText:
    """Reception's words in the site's ``staff_language`` (the reception catalog)."""

    def __init__(self, language: str) -> None:
        self.language = language
        # A right-to-left sentence that starts with a Latin name ("Lobby Practice: ...")
        # would otherwise be laid out left to right: the mark makes its direction explicit.
        self.mark = "\u200f" if is_right_to_left(language) else ""

    def __call__(self, message: str, **values: object) -> str:
        return self.mark + staff_translate(message, self.language, **values)

    def error(self, error: Exception) -> str:
        """A core error as reception reads it (the English text if it has no template)."""
        if isinstance(error, Explained):
            return self.mark + error.translated(self.language)
        return str(error)

    def time(self, value: datetime) -> str:
        return format_time(value, self.language)

    def minutes(self, value: float) -> str:
        return self(S_("{minutes} min"), minutes=int(value))
