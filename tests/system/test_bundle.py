"""The kiosk as IT installs it: the PyInstaller bundle (packaging/build-bundle.sh) run as a
program, with no Python or project on its path, and the Linux packaging around it (the .deb,
the systemd units, install.sh).

The bundle is built once per test session (a few minutes). In CI it is always built afresh
into a temporary folder. Elsewhere it is kept in build/bundle-cache and reused while nothing
it is made from has changed (the project's sources, catalogs and packaging, the installed
Python packages); KIOSK_BUNDLE_REBUILD=1 forces a new build. Without PyInstaller the tests
fail in CI (CI set) and are skipped elsewhere.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk import __version__
from tests.support.site import IN_CI, doctor_rows, unavailable

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the marker's time (any will do)

ROOT = Path(__file__).resolve().parents[2]
LINUX = ROOT / "packaging" / "linux"
UNITS = ("lobby-kiosk-session.service", "lobby-kiosk-x11.service", "lobby-kiosk-sync.service",
         "lobby-kiosk-messages.service")
DAY = "2026-11-23"
BUILD_TIMEOUT = 1200
# Shared libraries a bundled file may link that are not in the bundle, nor on this machine:
# the optional speech-dispatcher client (speak_guidance and board_announce; install.sh
# --speech installs it). Everything else must resolve.
OPTIONAL_SYSTEM_LIBRARIES = {"libspeechd.so.2"}
# What the bundle is made from, for the cache key.
SOURCES = ("kiosk", "ui", "locales", "assets", "packaging/pyinstaller",
           "packaging/build-bundle.sh", "pyproject.toml")




class BundleReport:
    """Prints how the bundle was had (built, and in how long, or reused) after the tests."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.lines:
            terminalreporter.write_sep("-", "PyInstaller bundle")
            for line in self.lines:
                terminalreporter.write_line(line)


def _inputs_key() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for dist in sorted(f"{d.metadata['Name']!s}=={d.version}"
                       for d in importlib.metadata.distributions()):
        digest.update(dist.encode())
    for source in SOURCES:
        path = ROOT / source
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix in (".mo", ".pyc"):
                continue
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def _build(outdir: Path, workdir: Path) -> float:
    env = {**os.environ, "PYTHON": sys.executable, "WORKDIR": str(workdir)}
    started = time.monotonic()
    done = subprocess.run([str(ROOT / "packaging" / "build-bundle.sh"), str(outdir)],
                          env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                          check=False)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, f"build-bundle.sh failed:\n{done.stdout}\n{done.stderr}"
    return elapsed


@pytest.fixture(scope="session")
def bundle(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundle folder (holding the executable `kiosk`)."""
    if importlib.util.find_spec("PyInstaller") is None:
        unavailable("PyInstaller is not installed (pip install -e '.[dev]'; ./dev does)")
    if shutil.which("objdump") is None:
        unavailable("objdump is not installed (Debian: binutils; ./dev test adds it)")
    report = BundleReport()
    request.config.pluginmanager.register(report, "lobby-kiosk-bundle-report")
    if IN_CI:
        where = tmp_path_factory.mktemp("bundle")
        elapsed = _build(where / "dist", where / "work")
        folder = where / "dist" / "lobby-kiosk"
        report.lines.append(f"built in {elapsed:.0f} s (fresh, CI)")
    else:
        cache = ROOT / "build" / "bundle-cache"
        cache.mkdir(parents=True, exist_ok=True)
        folder = cache / "dist" / "lobby-kiosk"
        with (cache / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be building it
            key = _inputs_key()
            stamp = cache / "inputs.sha256"
            fresh = (stamp.is_file() and stamp.read_text() == key and
                     (folder / "kiosk").is_file() and not os.environ.get("KIOSK_BUNDLE_REBUILD"))
            if fresh:
                report.lines.append(f"reused {folder} (its inputs have not changed)")
            else:
                stamp.unlink(missing_ok=True)
                shutil.rmtree(cache / "dist", ignore_errors=True)
                elapsed = _build(cache / "dist", cache / "work")
                stamp.write_text(key)
                report.lines.append(f"built in {elapsed:.0f} s into {folder}")
    size = subprocess.run(["du", "-sh", str(folder)], capture_output=True, text=True,
                          check=True).stdout.split()[0]
    report.lines.append(f"size (du -sh): {size}")
    return folder


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def kiosk(bundle: Path, workdir: Path, *args: str, timeout: float = 120,
          **env: str) -> subprocess.CompletedProcess[str]:
    """Run the bundled `kiosk` as the units do (see :func:`bundle_env`)."""
    return subprocess.run([str(bundle / "kiosk"), *args], cwd=workdir,
                          env=bundle_env(workdir, **env), capture_output=True, text=True,
                          timeout=timeout, check=False)


def bundle_env(workdir: Path, **env: str) -> dict[str, str]:
    """The bundled `kiosk`'s environment, as the units give it: its own settings file, a
    private data folder, offscreen, and none of this test process's Python or KIOSK_
    variables."""
    config = workdir / "kiosk.toml"
    if not config.exists():
        config.write_text('timezone = "Europe/Berlin"\n')
    clean = {name: value for name, value in os.environ.items()
             if not name.startswith(("KIOSK_", "PYTHON", "QT_", "VIRTUAL_ENV"))}
    clean.update({"KIOSK_CONFIG": str(config), "XDG_DATA_HOME": str(workdir / "data"),
                  "XDG_CACHE_HOME": str(workdir / "cache"), "QT_QPA_PLATFORM": "offscreen",
                  "PATH": "/usr/bin:/bin"})
    clean.pop("DISPLAY", None)
    clean.pop("WAYLAND_DISPLAY", None)
    clean.update(env)
    return clean


def no_crash(done: subprocess.CompletedProcess[str]) -> str:
    output = done.stdout + done.stderr
    assert "Traceback (most recent call last)" not in output, output
    assert "kiosk.unexpected" not in output, output  # an error nothing handled, logged
    return output


def db_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'k.db'}"


def seed_demo_day(workdir: Path, url: str, appointments: int = 10) -> None:
    """A demo day loaded by the project's own `kiosk demo-data` (this Python, with Faker): the
    production bundle carries no demo data (packaging/build-bundle.sh --with-demo would)."""
    done = subprocess.run([sys.executable, "-m", "kiosk.ops.cli", "--db", url, "demo-data",
                           "--date", DAY, "--appointments", str(appointments)], cwd=workdir,
                          env=bundle_env(workdir), capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture
def demo_db(bundle: Path, workdir: Path) -> str:
    """A database the bundle made (its migrations, frozen), holding a demo day."""
    done = kiosk(bundle, workdir, "--db", db_url(workdir), "db", "upgrade")
    no_crash(done)
    assert done.returncode == 0, done.stdout + done.stderr
    seed_demo_day(workdir, db_url(workdir))
    return db_url(workdir)


# --- (a) to (d): the bundled program ----------------------------------------------------------

@pytest.mark.slow
def test_version(bundle: Path, workdir: Path) -> None:
    done = kiosk(bundle, workdir, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"kiosk {__version__}"


@pytest.mark.slow
def test_demo_data_migrates_the_database_frozen(bundle: Path, workdir: Path,
                                                 demo_db: str) -> None:
    from alembic.script import ScriptDirectory

    from kiosk.store.db import MIGRATIONS

    with sqlite3.connect(workdir / "k.db") as connection:
        (version,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        (appointments,) = connection.execute("SELECT count(*) FROM appointment").fetchone()
    # Every migration of the source tree made it into the bundle.
    assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert appointments >= 10
    listed = kiosk(bundle, workdir, "--db", demo_db, "appointments", "--date", DAY, "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"status": "booked"' in listed.stdout


@pytest.mark.slow
@pytest.mark.parametrize("command", [["demo-data", "--date", DAY, "--appointments", "5"],
                                     ["demo", "--headless"]])
def test_the_production_bundle_says_it_has_no_demo_data(bundle: Path, workdir: Path,
                                                        command: list[str]) -> None:
    """Faker comes only with build-bundle.sh --with-demo: without it the demo commands say so
    and how to get demo data, with exit code 2, and touch no database."""
    done = kiosk(bundle, workdir, "--db", db_url(workdir), *command)
    output = no_crash(done)
    assert done.returncode == 2, output
    assert "this build of the kiosk has no demo data" in done.stderr, output
    assert "build-bundle.sh --with-demo" in done.stderr, output
    assert not (workdir / "k.db").exists()


@pytest.mark.slow
def test_translations_babel_and_time_zones_come_with_the_bundle(bundle: Path, workdir: Path,
                                                                demo_db: str) -> None:
    done = kiosk(bundle, workdir, "--db", demo_db, "--now", f"{DAY}T08:00", "checkin",
                 "--family", "nobody", "--dob", "1980-01-01", "--lang", "ar")
    no_crash(done)
    assert done.returncode == 1  # not found: the command ran
    assert re.search("[\u0600-\u06ff]", done.stdout), done.stdout  # the Arabic catalog


@pytest.mark.slow
def test_names_across_scripts_work_frozen(bundle: Path, workdir: Path, demo_db: str) -> None:
    """pypinyin's dictionary and anyascii's tables come with the bundle: 王 is found as Wang,
    and a Greek name (anyascii) is looked up without a crash."""
    wang = kiosk(bundle, workdir, "--db", demo_db, "--now", f"{DAY}T08:55", "checkin",
                 "--family", "Wang", "--dob", "1968-01-08")
    no_crash(wang)
    assert wang.returncode == 0, wang.stdout + wang.stderr
    greek = kiosk(bundle, workdir, "--db", demo_db, "--now", f"{DAY}T08:55", "checkin",
                  "--family", "Παπαδόπουλος", "--dob", "1968-01-08")
    no_crash(greek)
    assert greek.returncode == 1, greek.stdout + greek.stderr  # not found, no crash


@pytest.mark.slow
def test_run_shows_the_welcome_screen_offscreen_and_exits(bundle: Path, workdir: Path,
                                                         demo_db: str) -> None:
    done = kiosk(bundle, workdir, "--db", demo_db, "run", "--exit-after", "3")
    no_crash(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "welcome screen shown" in done.stderr


@pytest.mark.slow
def test_run_serves_healthz_and_metrics_and_writes_json_logs(bundle: Path, workdir: Path,
                                                             demo_db: str) -> None:
    import json
    import socket

    import requests

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = bundle_env(workdir, KIOSK_MONITOR_ADDRESS=f"127.0.0.1:{port}", KIOSK_LOG_FORMAT="json",
                     KIOSK_LOG_DIR=str(workdir / "logs"))
    running = subprocess.Popen([str(bundle / "kiosk"), "--db", demo_db, "run", "--exit-after",
                                "8"], cwd=workdir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        health: dict[str, object] = {}
        for _ in range(60):  # the frozen program needs a few seconds to start
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
                if "screen" in health.get("checks", {}):  # type: ignore[operator]
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        assert health.get("status") == "ok", health
        assert health["checks"]["screen"]["status"] == "ok", health  # type: ignore[index]
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        assert "lobby_kiosk_database_up 1.0" in metrics
        assert 'lobby_kiosk_visits_today{status="waiting"}' in metrics
    finally:
        out, err = running.communicate(timeout=60)
    assert running.returncode == 0, out + err
    lines = (workdir / "logs" / "run.log").read_text(encoding="utf-8").splitlines()
    messages = [json.loads(line)["message"] for line in lines]
    assert "welcome screen shown" in messages


@pytest.mark.slow
def test_doctor_prints_its_checks(bundle: Path, workdir: Path, demo_db: str) -> None:
    done = kiosk(bundle, workdir, "--db", demo_db, "doctor")
    output = no_crash(done)
    # 1: a check failed, which is fine here (no camera); anything else is a crash.
    assert done.returncode in (0, 1), output
    assert "database" in output.lower(), output
    table = doctor_rows(done.stdout)
    for name in ("config", "translations", "database", "fonts"):  # what the bundle carries
        assert table[name][0] == "ok", (name, done.stdout)
    # The camera check loads QtMultimedia's FFmpeg backend (it breaks if Qt's FFmpeg libraries
    # are stripped); here it finds no camera.
    assert "camera" in table, done.stdout
    assert "No QtMultimedia backends found" not in output, output


# --- more of the bundle ------------------------------------------------------------------------

@pytest.mark.slow
def test_qr_codes_as_png_and_svg(bundle: Path, workdir: Path, demo_db: str) -> None:
    listed = kiosk(bundle, workdir, "--db", demo_db, "appointments", "--date", DAY, "--json")
    appointment = re.search(r'"id": "([^"]+)"', listed.stdout)
    assert appointment, listed.stdout
    done = kiosk(bundle, workdir, "--db", demo_db, "qr", "make", "--appointment",
                 appointment.group(1), "--png", "q.png", "--svg", "q.svg")
    no_crash(done)
    assert done.returncode == 0, done.stderr
    assert (workdir / "q.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (workdir / "q.svg").read_bytes()


@pytest.mark.slow
def test_the_postgresql_driver_is_bundled(bundle: Path, workdir: Path) -> None:
    # Nothing listens on port 1: the binary psycopg driver loads, connects, is refused.
    done = kiosk(bundle, workdir, "--db", "postgresql://nobody@127.0.0.1:1/kiosk", "db",
                 "upgrade", PSYCOPG_IMPL="binary")
    no_crash(done)
    assert done.returncode == 3, done.stderr  # the database is unavailable
    assert "refused" in done.stderr.lower() or "unavailable" in done.stderr.lower()


@pytest.mark.slow
@pytest.mark.postgres
def test_migrations_on_postgresql_frozen(bundle: Path, workdir: Path, pg_admin_url: str) -> None:
    import uuid

    from tests.support.pg_server import create_database

    url = create_database(pg_admin_url, f"b_{uuid.uuid4().hex[:12]}")
    done = kiosk(bundle, workdir, "--db", url, "db", "upgrade")
    no_crash(done)
    assert done.returncode == 0, done.stderr
    seed_demo_day(workdir, url, appointments=5)  # the frozen schema takes the demo day
    listed = kiosk(bundle, workdir, "--db", url, "appointments", "--date", DAY, "--json")
    assert listed.returncode == 0, listed.stderr
    assert '"status": "booked"' in listed.stdout


@pytest.mark.slow
def test_smart_sign_in_signs_with_the_bundled_cryptography(bundle: Path, workdir: Path,
                                                          demo_db: str) -> None:
    """SMART Backend Services: the bundle reads the kiosk's private key and signs the JWT
    (cryptography, stripped in the bundle), then finds nothing listening on port 1."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP384R1())
    (workdir / "smart.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    (workdir / "kiosk.toml").write_text(
        'timezone = "Europe/Berlin"\n'
        'fhir_base_url = "http://127.0.0.1:1/fhir"\n'
        'fhir_auth = "smart"\n'
        'fhir_client_id = "kiosk-test"\n'
        f'fhir_private_key_file = "{workdir / "smart.pem"}"\n'
        'fhir_token_url = "http://127.0.0.1:1/token"\n')
    done = kiosk(bundle, workdir, "--db", demo_db, "sync")
    output = no_crash(done)
    # Signed before it posts: a key it could not read or use would fail before the endpoint.
    assert "sign-in: token endpoint: cannot connect" in output, output
    assert done.returncode == 3, output  # the sync is incomplete


@pytest.mark.slow
def test_the_sample_config_is_read_by_the_bundle(bundle: Path, workdir: Path) -> None:
    done = kiosk(bundle, workdir, "--config", str(ROOT / "packaging" / "kiosk.toml.sample"),
                 "config", "show")
    no_crash(done)
    assert done.returncode == 0, done.stderr
    assert "site_id" in done.stdout


@pytest.mark.slow
def test_the_bundle_holds_what_the_kiosk_needs_and_not_more(bundle: Path) -> None:
    internal = bundle / "_internal"
    versions = {p.name for p in (ROOT / "kiosk" / "store" / "migrations" / "versions").glob("*.py")}
    bundled = {p.name for p in
               (internal / "kiosk" / "store" / "migrations" / "versions").glob("*.py")}
    assert versions and bundled == versions
    assert (internal / "kiosk" / "store" / "migrations" / "env.py").is_file()
    for po in (ROOT / "locales").glob("*/LC_MESSAGES/*.po"):
        assert (internal / po.relative_to(ROOT).with_suffix(".mo")).is_file(), po
    assert (internal / "assets").is_dir()
    assert (internal / "babel" / "locale-data" / "ar.dat").is_file()
    assert (internal / "tzdata" / "zoneinfo" / "Europe" / "Berlin").is_file()
    plugins = internal / "PySide6" / "Qt" / "plugins"
    assert {p.name for p in (plugins / "platforms").iterdir()} == {
        "libqoffscreen.so", "libqxcb.so", "libqwayland.so"}
    assert list((plugins / "multimedia").glob("*ffmpeg*"))
    assert list((plugins / "texttospeech").glob("*.so"))
    assert list((plugins / "wayland-shell-integration").glob("libxdg-shell.so"))
    assert list(internal.glob("zxingcpp*")) or list(internal.rglob("zxingcpp*.so"))
    assert list(internal.rglob("_psycopg*.so"))
    names = {p.name for p in internal.rglob("*")}
    for unwanted in ("libQt6WebEngineCore.so.6", "libQt6Pdf.so.6", "libQt6Svg.so.6", "pytest",
                     "_pytest", "hypothesis", "mypy", "PyInstaller", "tests",
                     # demo data only (build-bundle.sh --with-demo), and what nothing loads
                     "faker", "pygments", "pytz", "translations", "imageformats",
                     # Pillow writes PNG only: no fonts, colour management, AVIF or WebP
                     "_imagingft.cpython-311-x86_64-linux-gnu.so", "_avif", "_webp",
                     # from the system, through the .deb's Depends (the spec's SYSTEM_LIBS)
                     "libpulse.so.0", "libglib-2.0.so.0", "libX11.so.6", "libfontconfig.so.1"):
        assert not {name for name in names if name.startswith(unwanted)}, unwanted
    dangling = [str(p.relative_to(internal)) for p in internal.rglob("*")
                if p.is_symlink() and not p.exists()]
    assert not dangling, dangling
    # Symbol tables stripped (libpython carries 17 MB of them), where stripping is safe.
    symbols = subprocess.run(["objdump", "-h", str(next(internal.glob("libpython3*.so*")))],
                             capture_output=True, text=True, check=True).stdout
    assert ".symtab" not in symbols


@pytest.mark.slow
def test_every_bundled_library_finds_what_it_links(bundle: Path) -> None:
    """Each shared object in the bundle (Qt's platform, multimedia and speech plugins among
    them) resolves its libraries in the bundle or on this machine: what was trimmed from the
    bundle was not needed. Libraries the target machine must provide are Debian packages of
    install.sh and of the .deb's Depends."""
    internal = bundle / "_internal"
    missing: dict[str, set[str]] = {}
    for path in internal.rglob("*.so*"):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as handle:
            if handle.read(4) != b"\x7fELF":
                continue
        done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False,
                              env={**os.environ, "LD_LIBRARY_PATH": str(internal)})
        for line in done.stdout.splitlines():
            if "not found" in line:
                library = line.split("=>")[0].strip()
                if library not in OPTIONAL_SYSTEM_LIBRARIES:
                    missing.setdefault(library, set()).add(str(path.relative_to(internal)))
    assert not missing, (
        f"unresolved libraries (a Debian package missing here, or trimmed from the bundle by "
        f"the spec): {missing}")


@pytest.mark.slow
@pytest.mark.gui
def test_run_under_x_with_the_bundled_xcb_plugin(bundle: Path, workdir: Path,
                                                demo_db: str) -> None:
    if shutil.which("Xvfb") is None:
        unavailable("Xvfb is not installed (Debian: xvfb; ./dev test adds it)")
    display = f":{900 + os.getpid() % 90}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        done = kiosk(bundle, workdir, "--db", demo_db, "run", "--exit-after", "3",
                     DISPLAY=display, QT_QPA_PLATFORM="xcb")
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    no_crash(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "welcome screen shown" in done.stderr


# --- the Debian package and the units ------------------------------------------------------------

@pytest.fixture(scope="session")
def deb(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("dpkg-deb") is None:
        unavailable("dpkg-deb is not installed (Debian: dpkg)")
    out = tmp_path_factory.mktemp("deb")
    # gzip at level 1: the same package, built in seconds rather than minutes with xz.
    env = {**os.environ, "DEB_COMPRESSION": "gzip", "DEB_LEVEL": "1"}
    done = subprocess.run([str(LINUX / "build-deb.sh"), str(bundle), str(out)], env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("lobby-kiosk_*.deb")
    return built


@pytest.mark.slow
def test_the_deb_holds_the_bundle_units_and_maintainer_scripts(deb: Path,
                                                               tmp_path: Path) -> None:
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert deb.name == f"lobby-kiosk_{__version__}_{arch}.deb"
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    assert "Package: lobby-kiosk" in info
    assert f"Version: {__version__}" in info
    depends = re.search(r"^ Depends: (.*)$", info, re.M)
    assert depends and "cage" in depends.group(1) and "libc6 (>=" in depends.group(1), info
    for script in ("postinst", "prerm", "postrm"):
        assert re.search(rf"^\s+\d+ bytes,\s+\d+ lines\s+\*\s+{script}\s", info, re.M), info
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True).stdout
    entries = {line.split()[-1]: line.split()[0] for line in contents.splitlines()}
    assert entries["./opt/lobby-kiosk/kiosk"].startswith("-rwxr-xr-x")
    assert "./opt/lobby-kiosk/_internal/kiosk/store/migrations/env.py" in entries
    for unit in UNITS:
        assert entries[f"./lib/systemd/system/{unit}"].startswith("-rw-r--r--")
    for path in ("./usr/share/doc/lobby-kiosk/kiosk.toml.sample",
                 "./usr/share/lobby-kiosk/kiosk.toml.sample",
                 "./usr/share/lobby-kiosk/install.sh"):
        assert path in entries, path
    assert all(" root/root " in line for line in contents.splitlines())
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "--control", str(deb), str(control)], check=True)
    postinst = (control / "postinst").read_text()
    assert "/usr/share/lobby-kiosk/install.sh --package-configure" in postinst
    for script in ("postinst", "prerm", "postrm"):
        assert os.stat(control / script).st_mode & stat.S_IXUSR
        subprocess.run(["sh", "-n", str(control / script)], check=True)


@pytest.fixture
def units_to_verify(bundle: Path, tmp_path: Path) -> tuple[Path, list[str]]:
    """Copies of the units whose programs exist on this machine: the bundled kiosk for
    /opt/lobby-kiosk/kiosk, and for cage and xinit, when they are not installed here, a stand-in
    script (systemd-analyze verify refuses a unit whose ExecStart= program is missing; the
    programs themselves are not what is verified)."""
    stand_in = tmp_path / "stand-in"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    replaced = []
    folder = tmp_path / "units"
    folder.mkdir()
    for unit in UNITS:
        text = (LINUX / unit).read_text().replace("/opt/lobby-kiosk/kiosk",
                                                  str(bundle / "kiosk"))
        for program in ("/usr/bin/cage", "/usr/bin/xinit"):
            if program in text and not os.access(program, os.X_OK):
                text = text.replace(program, str(stand_in))
                replaced.append(program)
        (folder / unit).write_text(text)
    return folder, sorted(set(replaced))


@pytest.mark.slow
def test_systemd_analyze_verifies_the_units(units_to_verify: tuple[Path, list[str]]) -> None:
    if shutil.which("systemd-analyze") is None:
        unavailable("systemd-analyze is not installed (Debian: systemd): units not verified")
    folder, replaced = units_to_verify
    done = subprocess.run(["systemd-analyze", "verify", *(str(folder / u) for u in UNITS)],
                          capture_output=True, text=True, timeout=120, check=False)
    ours = [line for line in (done.stdout + done.stderr).splitlines()
            if "lobby-kiosk" in line]
    assert done.returncode == 0 and not ours, (
        f"systemd-analyze verify (stand-ins for {replaced or 'nothing'}):\n"
        f"{done.stdout}{done.stderr}")


# --- quick checks, no bundle needed --------------------------------------------------------------

def unit_settings(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (LINUX / name).read_text().splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found


@pytest.mark.parametrize("name", ["lobby-kiosk-session.service", "lobby-kiosk-x11.service"])
def test_the_session_units_log_the_kiosk_user_in_on_tty1(name: str) -> None:
    unit = unit_settings(name)
    for key, value in {"User": "kiosk", "PAMName": "login", "TTYPath": "/dev/tty1",
                       "StandardInput": "tty", "UtmpIdentifier": "tty1", "Restart": "always",
                       "RestartSec": "2", "RestartPreventExitStatus": "64"}.items():
        assert unit[key] == [value], key
    assert "getty@tty1.service" in unit["Conflicts"]
    assert "KIOSK_CONFIG=/etc/lobby-kiosk/kiosk.toml" in unit["Environment"]
    assert "XDG_DATA_HOME=/var/lib/lobby-kiosk" in unit["Environment"]
    start = unit["ExecStart"][0]
    if name == "lobby-kiosk-session.service":
        assert start == "/usr/bin/cage -d -s -- /opt/lobby-kiosk/kiosk run"
        assert "QT_QPA_PLATFORM=wayland" in unit["Environment"]
    else:
        assert start.startswith("/usr/bin/xinit /opt/lobby-kiosk/kiosk run -- :0 vt1 ")
        assert "-nocursor" in start.split()


def exec_condition(name: str) -> list[str]:
    """The unit's ExecCondition= as systemd runs it: the "+" (as root) dropped, "$$" a literal
    "$" (and no other "$", which systemd would expand itself), quotes split as it splits them."""
    (line,) = unit_settings(name)["ExecCondition"]
    assert line.startswith("+/bin/sh -c '") and "$" not in line.replace("$$", ""), line
    return shlex.split(line[1:].replace("$$", "$"))


@pytest.mark.parametrize("name", ["lobby-kiosk-session.service", "lobby-kiosk-x11.service"])
def test_after_a_staff_exit_the_next_start_is_skipped_once(name: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """The marker `kiosk run` writes on a staff exit (ui.lockdown.mark_staff_exit) against the
    unit's own check: exit 1 (1-254: systemd skips the start, does not fail the unit and does
    not restart it) once, removing the marker, so that the next `systemctl start` runs."""
    from ui.lockdown import STAFF_EXIT_MARKER, mark_staff_exit

    unit = unit_settings(name)
    assert unit["RuntimeDirectory"] == ["lobby-kiosk"]
    # Kept while a restart is due (the marker must outlive the exit), gone with a stopped unit.
    assert unit["RuntimeDirectoryPreserve"] == ["restart"]
    assert unit["RestartPreventExitStatus"] == ["64"] and unit["SuccessExitStatus"] == ["64"]
    check = exec_condition(name)

    def start(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(check, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True,
                              text=True, timeout=10, check=False)

    runtime = {"RUNTIME_DIRECTORY": str(tmp_path)}
    assert start(**runtime).returncode == 0  # no marker: the kiosk starts
    monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path))
    assert mark_staff_exit("k1", NOW) == tmp_path / STAFF_EXIT_MARKER
    skipped = start(**runtime)
    assert skipped.returncode == 1, skipped.stderr
    assert "staff left kiosk mode" in skipped.stdout  # in the unit's journal
    assert list(tmp_path.iterdir()) == []
    assert start(**runtime).returncode == 0  # `systemctl start` brings kiosk mode back
    assert start().returncode == 0  # without RUNTIME_DIRECTORY: never in the way


def test_the_sync_unit_is_hardened_and_shares_the_database() -> None:
    unit = unit_settings("lobby-kiosk-sync.service")
    assert unit["ExecStart"] == ["/opt/lobby-kiosk/kiosk sync --watch"]
    assert unit["User"] == ["kiosk"]
    assert unit["Restart"] == ["always"]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "ProtectHome": "read-only", "ReadWritePaths": "/var/lib/lobby-kiosk",
                       "PrivateTmp": "yes"}.items():
        assert unit[key] == [value], key
    assert "XDG_DATA_HOME=/var/lib/lobby-kiosk" in unit["Environment"]


def test_the_messages_unit_is_hardened_as_the_sync_unit_and_runs_the_watch() -> None:
    unit, sync = unit_settings("lobby-kiosk-messages.service"), \
        unit_settings("lobby-kiosk-sync.service")
    assert unit["ExecStart"] == ["/opt/lobby-kiosk/kiosk messages --watch"]
    assert unit["RestartPreventExitStatus"] == ["2"]
    same = {key: value for key, value in sync.items()
            if key not in ("Description", "ExecStart")}
    assert {key: unit.get(key) for key in same} == same


def test_install_dry_run_says_what_it_would_do_and_changes_nothing(tmp_path: Path) -> None:
    fake = tmp_path / "lobby-kiosk"
    (fake / "_internal").mkdir(parents=True)
    (fake / "kiosk").write_text(f"#!/bin/sh\necho kiosk {__version__}\n")
    (fake / "kiosk").chmod(0o755)
    before = Path("/opt/lobby-kiosk").exists(), Path("/etc/lobby-kiosk").exists()
    done = subprocess.run([str(LINUX / "install.sh"), "--dry-run", "--bundle", str(fake)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    planned = done.stdout
    for step in ("apt-get install", " cage ", f"cp -a {fake} /opt/lobby-kiosk.new",
                 "mv /opt/lobby-kiosk.new /opt/lobby-kiosk", "systemctl mask getty@tty1.service",
                 "systemctl enable --quiet lobby-kiosk-session.service",
                 "/opt/lobby-kiosk/kiosk db upgrade", "/opt/lobby-kiosk/kiosk doctor"):
        assert step in planned, step
    assert (Path("/opt/lobby-kiosk").exists(), Path("/etc/lobby-kiosk").exists()) == before
    x11 = subprocess.run([str(LINUX / "install.sh"), "--dry-run", "--x11", "--bundle", str(fake)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert "xinit" in x11.stdout and "enable --quiet lobby-kiosk-x11.service" in x11.stdout


def test_the_shell_scripts_pass_shellcheck() -> None:
    if shutil.which("shellcheck") is None:
        unavailable("shellcheck is not installed (Debian: shellcheck)")
    scripts = [ROOT / "packaging" / "build-bundle.sh", LINUX / "install.sh",
               LINUX / "build-deb.sh"]
    done = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout
