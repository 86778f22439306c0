"""Scanner bursts told from people typing, by timing alone (kiosk/domain/scanner.py)."""

from __future__ import annotations

from kiosk.domain.scanner import BurstDetector

TOKEN = "LK1AETF75XMDLIDEAJ7ZO5T2T22SYOWLQKV54"


def type_at(detector: BurstDetector, text: str, gap_ms: float, start: float = 0.0):
    decisions, at = [], start
    for char in text:
        decisions.append(detector.key(char, at))
        at += gap_ms
    return decisions, at


def test_a_scanner_at_8_ms_per_key_ending_in_enter_is_a_scan():
    detector = BurstDetector()
    decisions, at = type_at(detector, TOKEN, 8)
    assert all(not d.release and d.scan is None for d in decisions)  # nothing reached a field
    final = detector.enter(at)
    assert final.scan == TOKEN and final.consumed == len(TOKEN) and not detector.holding


def test_a_slower_scanner_at_16_ms_is_still_a_scan():
    detector = BurstDetector()
    _, at = type_at(detector, TOKEN, 16)
    assert detector.enter(at).scan == TOKEN


def test_a_scan_whose_enter_comes_a_little_late_is_still_a_scan():
    """Enter 42 ms after the last key, before the kiosk's quiet timer (45 ms) fired: it was
    read as 37 keys of typing, so the scan did nothing (seen on a loaded test machine)."""
    for late_ms in (41, 42, 45, 60):
        detector = BurstDetector()
        _, at = type_at(detector, TOKEN, 8)
        final = detector.enter(at - 8 + late_ms)
        assert final.scan == TOKEN and not final.release, late_ms


def test_a_person_typing_gets_every_key_and_their_enter():
    detector = BurstDetector()
    released = []
    for decision in type_at(detector, "Muller", 110)[0]:
        released += decision.release
    final = detector.enter(6 * 110)
    released += final.release
    assert "".join(released) == "Muller" and final.scan is None


def test_quiet_releases_a_persons_key_and_takes_a_scan_without_enter():
    detector = BurstDetector()
    detector.key("M", 0)
    assert detector.quiet().release == ["M"]
    type_at(detector, TOKEN, 8, start=1000)
    assert detector.quiet().scan == TOKEN


def test_short_fast_bursts_are_not_scans():
    detector = BurstDetector()
    _, at = type_at(detector, "ab", 5)
    final = detector.enter(at)
    assert final.release == ["a", "b"] and final.consumed == 2


def test_a_huge_paste_is_capped_but_every_key_is_accounted_for():
    detector = BurstDetector()
    _, at = type_at(detector, "x" * 10_000, 1)
    final = detector.enter(at)
    assert len(final.scan or "") == 4096 and final.consumed == 10_000


def test_flush_releases_held_keys_before_another_key_overtakes_them():
    detector = BurstDetector()
    detector.key("1", 0)
    detector.key("2", 5)
    decision = detector.flush()
    assert decision.release == ["1", "2"] and not detector.holding
