"""Reminders by email: 5,000 rendered and delivered to a local SMTP server (aiosmtpd in its own
process, STARTTLS and sign-in, as tests/support/smtp.py sets it up) by one send pass over one
reused connection, with the outbox's bookkeeping (sending, then sent, committed per message).

Target (issue 19): 5,000 reminders <= 60 s. Beside it, in the same run: the same number of
ready-made messages handed to the same server by a bare smtplib loop (the floor the transport
and the server set), and the rendering alone. Run from the repository root:

    .venv/bin/python bench/messages.py [--reminders N]

Until the message content lands (kiosk/messages/render.py), emails are written by the tests'
stand-in (plain and HTML parts and the QR code as a PNG), and the script says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import smtplib
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPOSITORY = Path(__file__).resolve().parent.parent
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))

from sqlalchemy import func, select  # noqa: E402

from kiosk.base.clock import FixedClock  # noqa: E402
from kiosk.base.settings import load_settings  # noqa: E402
from kiosk.messages import render  # noqa: E402
from kiosk.messages.outbox import facts_from_json  # noqa: E402
from kiosk.messages.sender import MessageSenderPass  # noqa: E402
from kiosk.ops.demo import generate_day  # noqa: E402
from kiosk.store.db import Database  # noqa: E402
from kiosk.store.models import MessageState, PatientMessage  # noqa: E402
from kiosk.store.site import SiteContext  # noqa: E402
from tests.support.smtp import (  # noqa: E402
    PASSWORD,
    USER,
    content_is_there,
    use_stand_in_content,
)

DAY = date(2026, 11, 23)
TZ = ZoneInfo("Europe/Berlin")
SERVER = """
import sys, threading
from pathlib import Path
from tests.support.smtp import SmtpServer
server = SmtpServer(Path(sys.argv[1])).start()
print(server.port, server.cert, flush=True)
sys.stdin.read()  # until the benchmark closes it
print(len(server.mailbox.received), flush=True)
server.stop()
"""


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=5000)
    args = parser.parse_args()
    stand_in = not content_is_there()
    use_stand_in_content()
    folder = Path(tempfile.mkdtemp(prefix="bench-messages-"))
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(folder)], cwd=REPOSITORY,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPOSITORY)})
    assert server.stdout is not None and server.stdin is not None
    port, cert = server.stdout.readline().split()
    settings = load_settings(environ={}, overrides={
        "database_url": f"sqlite:///{folder}/kiosk.sqlite3", "timezone": "Europe/Berlin",
        "smtp_url": f"smtp://{USER}@127.0.0.1:{port}", "smtp_password": PASSWORD,
        "smtp_ca_file": cert, "message_from": "desk@practice.example.org",
        "send_confirmations": False, "reminder_hours": 24, "quiet_hours": ""})
    db = Database(settings.database_url)
    db.upgrade()
    clock = FixedClock(datetime(DAY.year, DAY.month, DAY.day, tzinfo=TZ) - timedelta(hours=23))
    ctx = SiteContext.open(settings, db, clock)

    started = time.perf_counter()
    wanted = args.reminders + args.reminders // 20  # the demo cancels about 3 %
    generate_day(ctx, DAY, wanted, patients=wanted)
    loaded = time.perf_counter() - started
    clock.set(datetime(DAY.year, DAY.month, DAY.day, 23, 59, tzinfo=TZ) - timedelta(days=1))
    with db.read() as session:
        pending = session.scalar(select(func.count()).where(
            PatientMessage.state == MessageState.PENDING, PatientMessage.kind == "reminder"))
        sample = [facts_from_json(facts, TZ) for facts in session.scalars(
            select(PatientMessage.facts).limit(args.reminders))]
    assert pending is not None and pending >= args.reminders, pending

    started = time.perf_counter()
    rendered = [render.render_email(facts, sender=settings.message_from,
                                    recipient="patient@example.org", message_id=f"<{n}@b>")
                for n, facts in enumerate(sample)]
    rendering = time.perf_counter() - started

    context = ssl.create_default_context(cafile=cert)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", int(port), timeout=30) as bare:
        bare.starttls(context=context)
        bare.login(USER, PASSWORD)
        for message in rendered:
            bare.send_message(message, to_addrs=["patient@example.org"])
    floor = time.perf_counter() - started

    started = time.perf_counter()
    result = MessageSenderPass(ctx).send_once(limit=args.reminders)
    elapsed = time.perf_counter() - started
    server.stdin.close()
    received = int(server.stdout.readline())
    server.wait(30)
    db.dispose()

    print(f"messages: {result.sent} reminders rendered and delivered in one pass "
          f"({result.parked} parked, {result.retrying} to retry): {elapsed:.1f} s, "
          f"{result.sent / elapsed:.0f} a second; target 60 s: {verdict(elapsed <= 60)}")
    print(f"  rendering alone: {rendering:.1f} s; a bare smtplib loop with the same messages "
          f"over one connection: {floor:.1f} s; the pass less both (reading, claiming and "
          f"recording each message): {elapsed - rendering - floor:.1f} s")
    print(f"  server received {received} (the bare loop's and the pass's); demo day of "
          f"{wanted} appointments loaded and enqueued in {loaded:.1f} s")
    if stand_in:
        print("  the emails were written by the tests' stand-in: the content is not there yet")
    print(f"machine: {os.cpu_count()} CPUs, {platform.platform()}, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()
