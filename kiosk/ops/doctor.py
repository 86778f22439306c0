"""``kiosk doctor``: why is this kiosk unhappy? Each check says ok, warn or FAIL and why;
any FAIL makes the command exit 1. The checks that need Qt (fonts, camera, text to speech)
are added by the screens (``ui.doctor``); the core checks everything else."""

from __future__ import annotations

import email.utils
import glob
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import text

from kiosk.base.clock import SystemClock
from kiosk.base.i18n import locales_dir
from kiosk.base.settings import Settings
from kiosk.ops.monitor import health
from kiosk.store.db import Database, current_revision, describe_url, head_revision
from kiosk.store.site import SiteContext
from kiosk.sync.client import FhirClient, SyncError
from kiosk.sync.transport import tls_problem, tls_verify, trusted

OK, WARN, FAIL = "ok", "warn", "FAIL"
SKEW_WARN_SECONDS = 30
SKEW_FAIL_SECONDS = 120  # signed QR codes and SMART sign-in assertions tolerate little more
DISK_FAIL_BYTES = 200 * 1024**2
DISK_WARN_BYTES = 1024**3


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str


def table(checks: Iterable[Check]) -> str:
    rows = list(checks)
    width = max(len(check.name) for check in rows)
    return "\n".join(f"{check.name:<{width}}  {check.status:<4}  {check.detail}"
                     for check in rows)


def run(settings: Settings, config_path: Path | None,
        extra: Callable[[Settings], list[Check]] | None = None) -> list[Check]:
    checks = [Check("config", OK, f"{config_path or 'no file: the defaults'}; site "
                    f"{settings.site_id}, kiosk {settings.kiosk_id}")]
    checks += translations(settings)
    db = Database(settings.database_url)
    try:
        reached = database(db)
        checks.append(reached)
        if reached.status != FAIL:
            checks.append(outbox(settings, db))
    finally:
        db.dispose()
    checks += fhir(settings)
    checks += disk(db)
    checks += logs(settings)
    checks += monitor(settings)
    checks += scanners()
    if extra is not None:
        checks += extra(settings)
    return checks


def translations(settings: Settings) -> list[Check]:
    missing = [code for code in settings.languages if code != "en" and not
               (locales_dir() / code / "LC_MESSAGES" / "kiosk.mo").is_file()]
    if missing:
        return [Check("translations", FAIL, "no compiled catalog for " + ", ".join(missing))]
    return [Check("translations", OK, f"{len(settings.languages)} languages")]


def database(db: Database) -> Check:
    where = describe_url(db.url)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = current_revision(db.engine), head_revision(db.engine)
    except Exception as error:  # any driver's way of saying "not reachable"
        return Check("database", FAIL, f"{where}: not reachable ({type(error).__name__})")
    if current != head:
        return Check("database", FAIL, f"{where}: schema {current or 'empty'}, this release "
                     f"needs {head} (kiosk db upgrade, or start the kiosk once)")
    return Check("database", OK, f"{where}, schema {head}")


def outbox(settings: Settings, db: Database) -> Check:
    """The write-backs to the practice system, judged as ``/healthz`` judges them."""

    found = health(SiteContext(settings, db, SystemClock())).checks.get("outbox")
    if found is None:  # the database answered the doctor's own check, then no more
        return Check("outbox", FAIL, "cannot be read")
    detail = f"{found['pending']} check-ins waiting to be sent, {found['parked']} refused by " \
             f"the practice system ({found['parked_last_day']} in the last day)"
    if found["status"] == "warn":
        return Check("outbox", WARN, detail + "; see kiosk sync --status")
    return Check("outbox", OK, detail)


def fhir(settings: Settings) -> list[Check]:
    if not settings.fhir_base_url:
        return [Check("fhir", OK, "not configured (no schedule sync)")]
    base = settings.fhir_base_url.rstrip("/")
    verify = tls_verify(settings)
    cas = f", CAs: {trusted(verify)}" if base.startswith("https:") else ""
    try:
        answer = requests.get(f"{base}/metadata", timeout=settings.fhir_timeout_seconds,
                              headers={"Accept": "application/fhir+json"}, verify=verify)
    except requests.exceptions.SSLError as error:
        return [Check("fhir", FAIL, f"{base}: TLS certificate not trusted "
                      f"({tls_problem(error)}{cas})")]
    except (requests.RequestException, OSError) as error:  # OSError: a missing CA file
        return [Check("fhir", FAIL, f"{base}: not reachable ({type(error).__name__}{cas})")]
    checks = [Check("fhir", OK if answer.ok else FAIL,
                    f"{base}: metadata HTTP {answer.status_code}{cas}")]
    served = answer.headers.get("Date")
    if served:
        skew = time.time() - email.utils.parsedate_to_datetime(served).timestamp()
        status = FAIL if abs(skew) > SKEW_FAIL_SECONDS else \
            WARN if abs(skew) > SKEW_WARN_SECONDS else OK
        checks.append(Check("clock", status, f"{skew:+.0f} s against the FHIR server"))
    else:
        checks.append(Check("clock", WARN, "the FHIR server sends no Date header"))
    try:
        FhirClient(settings).get("Appointment", {"_count": "1", "_summary": "count"})
        checks.append(Check("fhir auth", OK, f"{settings.fhir_auth}: an Appointment search "
                            "was answered"))
    except SyncError as error:
        checks.append(Check("fhir auth", FAIL, f"{settings.fhir_auth}: {error}"))
    return checks


def disk(db: Database) -> list[Check]:
    folder = Path(db.url.database).parent if db.url.get_backend_name() == "sqlite" and \
        db.url.database else Path.home()
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    status = FAIL if free < DISK_FAIL_BYTES else WARN if free < DISK_WARN_BYTES else OK
    return [Check("disk", status, f"{free / 1024**3:.1f} GB free in {folder}")]


def logs(settings: Settings) -> list[Check]:
    """With ``log_dir``, the folder must take files (the kiosk would fall back to stderr)."""
    if not settings.log_dir:
        return [Check("logs", OK, f"{settings.log_format} on stderr (the journal under systemd)")]
    folder = Path(settings.log_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except OSError as problem:
        return [Check("logs", FAIL, f"{folder}: cannot write ({problem.strerror})")]
    return [Check("logs", OK, f"{settings.log_format} files in {folder}, rotated at "
                  f"{settings.log_max_megabytes} MB, {settings.log_backups} kept")]


def monitor(settings: Settings) -> list[Check]:
    """Asks the running kiosk's /healthz, when monitoring is on: a kiosk that is not running
    is worth a warning here, not a failure (the doctor also runs before the first start)."""

    if not settings.monitor_address:
        return []
    url = f"http://{settings.monitor_address}/healthz"
    try:
        answer = requests.get(url, timeout=3)
        body = answer.json()
        state = str(body.get("status", "?")) if isinstance(body, dict) else "?"
    except (requests.RequestException, ValueError) as problem:
        return [Check("monitor", WARN, f"{url}: no answer ({type(problem).__name__}); is the "
                      "kiosk running?")]
    status = {"ok": OK, "degraded": WARN}.get(state, FAIL)
    return [Check("monitor", status, f"{url}: {state}")]


def scanners() -> list[Check]:
    """A keyboard-wedge scanner is a keyboard to the system; list what is plugged in."""
    devices = sorted(Path(path).name for path in glob.glob("/dev/input/by-id/*-event-kbd"))
    if not devices:
        return [Check("scanner", WARN, "no keyboard-like USB device (a scanner is one); "
                      "QR codes by camera only")]
    return [Check("scanner", OK, f"{len(devices)} keyboard-like devices: "
                  + ", ".join(name.removesuffix("-event-kbd") for name in devices[:3]))]
