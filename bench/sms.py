"""Text messages through a real Kannel (bearerbox, smsbox, fakesmsc as the SMS centre; see
tests/support/kannel.py), both ways.

1. Outgoing: N texts (a third each in English, Arabic and Chinese, so two thirds go as UCS-2)
   handed to smsbox one after another by ``KannelGateway`` (one reused HTTP session), counted
   as they reach fakesmsc. Target (issue 19): 1,000 texts in <= 30 s.
2. Incoming to reply: M texts injected at fakesmsc one at a time, each from its own number;
   smsbox calls the kiosk's inbound endpoint (``InboundSms``; the handler a trivial stand-in
   for the HERE check-in), and the reply is timed until it reaches fakesmsc. Target: p95 <= 2 s.
   fakesmsc is made to read every 10 ms (tests/support/kannel.py), so figures carry up to
   10 ms of that.

Baseline in the same run, for a ratio that survives a slower or busier machine: the same
number of plain HTTP GETs to the inbound endpoint (the kiosk's side alone, no Kannel).
This prints figures; it does not pass or fail.

Run from the repository root:

    .venv/bin/python bench/sms.py [--texts N] [--replies M]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
from sqlalchemy import func, select

# tests/ (the Kannel harness) is a package at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.base.clock import FixedClock, SystemClock
from kiosk.base.settings import load_settings
from kiosk.messages.answering import TextAnswerer
from kiosk.messages.inbound import InboundSms
from kiosk.messages.sms import KannelGateway
from kiosk.ops.demo import generate_day
from kiosk.store.db import Database
from kiosk.store.models import Appointment, CheckinMethod, Patient, Visit
from kiosk.store.site import SiteContext
from tests.support.kannel import (
    SENDSMS_PASSWORD,
    SENDSMS_USER,
    Kannel,
    kannel_get_url,
)

SECRET = "bench-inbound-secret-0123"
PRACTICE = "+441632960000"
TEXTS = ("Your appointment: Tue 3 Dec, 09:30 with Dr Lee, Main St. Reply HERE from the car park.",
         "موعدك: الثلاثاء ٣ ديسمبر، ٠٩:٣٠ مع د. لي. أرسل هنا من موقف السيارات.",
         "您的预约：12月3日 09:30，李医生，主楼。到停车场后回复 HERE。")
SEND_TARGET_S, REPLY_P95_TARGET_S = 30.0, 2.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def here_through_kannel(kannel: Kannel, count: int) -> list[float]:
    """``count`` patients of a demo day text HERE at 15:00 (late for most: checked in and
    sent to reception, the heaviest answer) through Kannel to a second endpoint answering
    with the kiosk's TextAnswerer on a SQLite site; each reply awaited at the phone."""
    folder = Path(tempfile.mkdtemp(prefix="kiosk-sms-bench-"))
    settings = load_settings(environ={}, overrides={
        "database_url": f"sqlite:///{folder}/kiosk.sqlite3", "timezone": "Europe/Berlin"})
    database = Database(settings.database_url)
    database.upgrade()
    clock = FixedClock(datetime(2026, 12, 3, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")))
    ctx = SiteContext.open(settings, database, clock)
    generate_day(ctx, ctx.today(), count, seed=5)
    with ctx.db.read() as session:
        numbers = sorted(set(session.scalars(select(Patient.mobile).join(
            Appointment, Appointment.patient_id == Patient.id)
            .where(Patient.mobile.is_not(None)))))
    numbers = [n for n in numbers if n][:count]
    answerer = InboundSms(TextAnswerer(ctx), clock=clock, kannel_secret=SECRET,
                          per_minute=count + 1).start()
    # A second Kannel, whose sms-service calls this endpoint.
    site_kannel = Kannel(kannel_get_url(answerer.base_url, SECRET)).start()
    latencies = []
    try:
        for number in numbers:
            start = time.perf_counter()
            site_kannel.inject(number, PRACTICE, "HERE")
            site_kannel.texts_to(number, 1, timeout=30)
            latencies.append(time.perf_counter() - start)
    finally:
        site_kannel.stop()
        answerer.stop()
    with ctx.db.read() as session:
        checked_in = session.scalar(select(func.count()).select_from(Visit).where(
            Visit.method == CheckinMethod.TEXT))
    database.dispose()
    print(f"HERE: {checked_in} of {len(numbers)} texts became a check-in (method 'text')")
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--replies", type=int, default=200)
    args = parser.parse_args()

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, "
          f"Python {platform.python_version()}, load average before "
          f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}", flush=True)

    inbound = InboundSms(lambda sender, text: "Checked in: K12. Please take a seat.",
                         clock=SystemClock(), kannel_secret=SECRET,
                         per_minute=args.replies + 1).start()
    kannel = Kannel(kannel_get_url(inbound.base_url, SECRET)).start()
    try:
        print(f"Kannel started in {kannel.startup_seconds:.2f} s (bearerbox, smsbox, fakesmsc "
              "on loopback)")
        gateway = KannelGateway(kannel.sendsms_url, SENDSMS_USER, SENDSMS_PASSWORD, PRACTICE,
                                timeout=10)

        # 1. Outgoing.
        began = time.perf_counter()
        for number in range(args.texts):
            gateway.send(f"+4477009{number:05d}", TEXTS[number % 3], f"bench-{number}")
        handed = time.perf_counter() - began
        received = kannel.wait_texts(args.texts, timeout=300)
        arrived = time.perf_counter() - began
        wrong = sum(text.text != TEXTS[int(text.receiver[-5:]) % 3] for text in received)
        print(f"outgoing: {len(received)} of {args.texts} texts reached the SMS centre in "
              f"{arrived:.2f} s ({args.texts / arrived:.0f}/s; all handed to smsbox in "
              f"{handed:.2f} s); {wrong} with other words than sent; target <= "
              f"{SEND_TARGET_S:g} s for 1,000: "
              f"{'met' if arrived * 1000 / args.texts <= SEND_TARGET_S else 'MISSED'}")
        gateway.close()

        # 2. Incoming to reply.
        latencies = []
        for number in range(args.replies):
            sender = f"+4479009{number:05d}"
            start = time.perf_counter()
            kannel.inject(sender, PRACTICE, "HERE")
            kannel.texts_to(sender, 1, timeout=30)
            latencies.append(time.perf_counter() - start)
        p95 = percentile(latencies, 0.95)
        print(f"incoming to reply: {len(latencies)} texts, p50 "
              f"{statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
              f"{max(latencies) * 1000:.0f} ms; target p95 <= {REPLY_P95_TARGET_S:g} s: "
              f"{'met' if p95 <= REPLY_P95_TARGET_S else 'MISSED'}")

        # 3. The real answer: HERE checks a patient in (TextAnswerer, CheckinService, a
        # SQLite site with a demo day), the reply gives the ticket, place and wait.
        here = here_through_kannel(kannel, args.replies)
        p95 = percentile(here, 0.95)
        print(f"HERE to the check-in's answer at the phone: {len(here)} texts, p50 "
              f"{statistics.median(here) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
              f"{max(here) * 1000:.0f} ms; target p95 <= {REPLY_P95_TARGET_S:g} s: "
              f"{'met' if p95 <= REPLY_P95_TARGET_S else 'MISSED'}")

        # Baseline: the kiosk's side alone.
        http = requests.Session()
        direct = []
        for number in range(args.replies):
            start = time.perf_counter()
            http.get(f"{inbound.base_url}/sms/kannel", timeout=10, params={
                "secret": SECRET, "from": f"+4478009{number:05d}", "text": "HERE"})
            direct.append(time.perf_counter() - start)
        print(f"baseline (same run): a plain HTTP GET to the inbound endpoint, p50 "
              f"{statistics.median(direct) * 1000:.1f} ms, p95 "
              f"{percentile(direct, 0.95) * 1000:.1f} ms; Kannel's round trip is "
              f"{statistics.median(latencies) / statistics.median(direct):.0f}x that at p50")
    finally:
        stopping = time.perf_counter()
        kannel.stop()
        inbound.stop()
        print(f"Kannel stopped in {time.perf_counter() - stopping:.2f} s; load average after "
              f"{' '.join(f'{load:.2f}' for load in os.getloadavg())}")


if __name__ == "__main__":
    main()
