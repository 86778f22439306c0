"""Time for drills: ``--now`` starts the clock and lets it run on (kiosk.base.clock)."""

from __future__ import annotations

from datetime import datetime

from kiosk.base.clock import RunningClock
from kiosk.domain.flow import KioskFlow, Step
from kiosk.ops.cli import Runtime, build_parser
from tests.support.site import TZ


def test_a_drill_clock_runs_on_so_an_idle_patient_is_warned_and_forgotten():
    # `kiosk --now ... run`: with a clock that stood still (as --now gave before) the idle
    # warning and the return to the welcome screen never came, and the patient's data stayed.
    ticks = iter(range(0, 10_000, 5))  # a monotonic clock read every 5 s
    clock = RunningClock(datetime(2026, 11, 23, 8, 0, tzinfo=TZ), lambda: float(next(ticks)))
    flow = KioskFlow(clock, "en", ("en", "ar"), tz=TZ)
    flow.choose_language("ar")
    flow.start_name_entry()
    flow.submit_family("Okafor")
    warned = False
    for _ in range(200):
        flow.tick()
        warned = warned or flow.warning_deadline is not None
        if flow.step is Step.WELCOME and flow.language == "en":
            break
    assert warned
    assert (flow.step, flow.language, flow.family) == (Step.WELCOME, "en", None)


def test_now_on_the_command_line_starts_a_running_clock(tmp_path):
    args = build_parser().parse_args(
        ["--db", f"sqlite:///{tmp_path}/k.db", "--now", "2026-11-23T08:00", "appointments",
         "--date", "2026-11-23"])
    runtime = Runtime(args)
    assert isinstance(runtime.clock, RunningClock)
    assert runtime.clock.now() >= datetime(2026, 11, 23, 8, 0, tzinfo=runtime.clock.now().tzinfo)
