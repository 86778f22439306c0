"""A private, throw-away PostgreSQL server for tests and benchmarks.

``KIOSK_TEST_POSTGRES_URL`` points at an existing server instead (a database the tests may
create databases on). Otherwise the Debian server binaries are found, a cluster is made with
initdb in a temporary folder and started on a free loopback port; it stops when the process
ends. As root, the server runs as the ``postgres`` user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ENV_URL = "KIOSK_TEST_POSTGRES_URL"


class PostgresUnavailable(RuntimeError):
    pass


def find_bindir() -> Path | None:
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True,
                             check=False)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TempPostgres:
    """Start with :meth:`start`; ``url(dbname)`` gives a psycopg URL; :meth:`stop` ends it."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port = 0
        self.user = "kiosk"
        self._as: list[str] = []
        self.bindir: Path | None = None

    def start(self) -> TempPostgres:
        bindir = find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="kiosk-pg-"))
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresUnavailable("running as root and no 'postgres' user") from None
            os.chown(self.dir, owner.pw_uid, owner.pw_gid)
            os.chmod(self.dir, 0o700)
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self._run([str(bindir / "initdb"), "-D", str(data), "-U", self.user, "-A", "trust",
                   "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])
        self.port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.dir} -c fsync=off "
                   f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        self._run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"),
                   "-o", options, "-w", "-t", "60", "start"])
        atexit.register(self.stop)
        return self

    def _run(self, command: list[str]) -> None:
        done = subprocess.run(self._as + command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = ""
            if self.dir and (self.dir / "log").exists():
                log = (self.dir / "log").read_text(errors="replace")[-2000:]
            raise PostgresUnavailable(
                f"{' '.join(command[:1])} failed: {done.stderr.strip() or done.stdout.strip()}"
                f"\n{log}")

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        if self.dir is None or self.bindir is None:
            return
        subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"),
                        "-m", "immediate", "-w", "stop"],
                       capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None


def server_url() -> tuple[str, TempPostgres | None]:
    """A URL of a maintenance database on a usable server, and the server if we started it."""
    given = os.environ.get(ENV_URL)
    if given:
        return given, None
    server = TempPostgres().start()
    return server.url("postgres"), server


def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    for attempt in range(50):
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
            break
        except psycopg.OperationalError:
            if attempt == 49:
                raise
            time.sleep(0.1)
    return url.set(database=name, drivername="postgresql+psycopg").render_as_string(
        hide_password=False)
