"""Telling a barcode scanner from a person at the keyboard, by timing alone.

USB and Bluetooth 2D scanners act as keyboards: they type the code at a steady few milliseconds
per character (seen: 7-8 ms, sometimes 16 ms) and end with Enter. People rarely type faster
than one key every ~100 ms. So keys are held back for a moment: a key that arrives within
``max_gap_ms`` of the previous one joins a burst; a burst of at least ``min_length`` keys that
ends with Enter (or with silence) is a scan and goes to QR check-in; anything else is released
to the focused field as typed. A scan never lands in a text field, and a person's keys arrive
after a delay too short to notice.

Pure logic with injected timestamps; ui/scanner.py feeds it Qt key events.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_SCAN_LENGTH = 4096  # longer bursts are still scans, but only this much is kept


@dataclass
class Decision:
    """What to do after a key: release these keys to the field, or check in this scan.
    ``consumed`` is how many held keys the decision settles (a scan's payload is capped)."""

    release: list[str] = field(default_factory=list)
    scan: str | None = None
    consumed: int = 0


class BurstDetector:
    def __init__(self, max_gap_ms: float = 40.0, min_length: int = 8) -> None:
        self.max_gap_ms = max_gap_ms
        self.min_length = min_length
        self._keys: list[str] = []
        self._last_ms: float | None = None

    @property
    def holding(self) -> bool:
        return bool(self._keys)

    def key(self, text: str, at_ms: float) -> Decision:
        """A printable key arrived."""
        decision = Decision()
        if self._keys and self._last_ms is not None and at_ms - self._last_ms > self.max_gap_ms:
            decision = self._flush()
        self._keys.append(text)
        self._last_ms = at_ms
        return decision

    def enter(self, at_ms: float) -> Decision:
        """Enter (or Return) arrived: the end of a scan, or a person pressing Enter."""
        fast = self._last_ms is not None and at_ms - self._last_ms <= self.max_gap_ms
        if fast and len(self._keys) >= self.min_length:
            return self._scan()
        if not fast:
            # The burst ended in silence before this Enter: decide as quiet() would have
            # (its timer may not have fired yet, a few ms late), so that a scanner pausing
            # a little before its Enter is still a scan, not 37 keys of typing.
            return self._flush()
        return self._release()

    def flush(self) -> Decision:
        """Settle now (another key, such as Tab, must not overtake the held ones)."""
        return self._release()

    def quiet(self) -> Decision:
        """Called when no key came for ``max_gap_ms`` (the caller's timer says so): settle
        whatever is held."""
        return self._flush()

    def _flush(self) -> Decision:
        if len(self._keys) >= self.min_length:
            return self._scan()  # a scanner set up without the Enter suffix
        return self._release()

    def _scan(self) -> Decision:
        keys = self._take()
        return Decision(scan="".join(keys)[:MAX_SCAN_LENGTH], consumed=len(keys))

    def _release(self) -> Decision:
        keys = self._take()
        return Decision(release=keys, consumed=len(keys))

    def _take(self) -> list[str]:
        taken = list(self._keys)
        self._keys.clear()
        self._last_ms = None
        return taken
