"""A real FHIR R4 server on loopback for tests and benchmarks:
``tests/support/fhir_server/server.js`` (Medplum's FHIR router and in-memory repository under
node:http; see its header). Its writes go to a journal file, so it can be killed and started
again with its data."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent / "fhir_server"


class FhirServerUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_installed() -> None:
    if shutil.which("node") is None:
        raise FhirServerUnavailable("node is not installed (Debian: nodejs; ./dev test adds it)")
    if not (HERE / "node_modules" / "@medplum" / "fhir-router").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            raise FhirServerUnavailable("npm is not installed (Debian: npm)")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise FhirServerUnavailable(f"npm ci failed: {done.stderr[-500:]}")


class FhirServer:
    def __init__(self, *, last_updated: bool = True, env: dict[str, str] | None = None) -> None:
        """``env`` adds server options, such as FHIR_TOKENS_FILE (see server.js)."""
        ensure_installed()
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-fhir-"))
        self.journal = self.folder / "journal.jsonl"
        admin = f"admin-{os.getpid()}-{self.port}"
        self.env = {**os.environ, "FHIR_JOURNAL": str(self.journal),
                    "FHIR_NO_LAST_UPDATED": "" if last_updated else "1",
                    "FHIR_ADMIN_TOKEN": admin, **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {admin}"
        self.start()
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(["node", str(HERE / "server.js"), str(self.port)],
                                        cwd=HERE, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        line = self.process.stdout.readline()
        while "listening" not in line:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise FhirServerUnavailable(f"the FHIR server did not start: {line}")
            line = self.process.stdout.readline()

    def kill(self) -> None:
        """Stop it hard, as a crash would (its journal stays)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- seeding and looking -----------------------------------------------------------------

    def reset(self) -> None:
        self.http.post(f"{self.url}/$reset", timeout=30).raise_for_status()

    def put_all(self, resources: list[dict[str, Any]], chunk: int = 500) -> None:
        """Create or replace resources with their own ids (batch Bundles)."""
        for index in range(0, len(resources), chunk):
            bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
                {"resource": r, "request": {"method": "PUT",
                                            "url": f"{r['resourceType']}/{r['id']}"}}
                for r in resources[index:index + chunk]]}
            reply = self.http.post(self.url, json=bundle, timeout=120,
                                   headers={"Content-Type": "application/fhir+json"})
            reply.raise_for_status()
            bad = [e["response"]["status"] for e in reply.json()["entry"]
                   if not str(e["response"]["status"]).startswith("2")]
            assert not bad, bad

    def read(self, path: str) -> dict[str, Any]:
        reply = self.http.get(f"{self.url}/{path}", timeout=30)
        reply.raise_for_status()
        return dict(reply.json())

    def update(self, resource: dict[str, Any]) -> dict[str, Any]:
        """An edit made upstream (by the practice system's own users)."""
        reply = self.http.put(f"{self.url}/{resource['resourceType']}/{resource['id']}",
                              json=resource, timeout=30,
                              headers={"Content-Type": "application/fhir+json"})
        reply.raise_for_status()
        return dict(reply.json())

    def arrived_writes(self) -> dict[str, int]:
        """How many times each Appointment was written with status arrived (from the journal,
        which survives restarts): exactly once is the promise."""
        import json

        counts: dict[str, int] = {}
        last: dict[str, str] = {}
        if not self.journal.exists():
            return counts
        for line in self.journal.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            resource = entry["resource"]
            if resource.get("resourceType") != "Appointment":
                continue
            key = resource["id"]
            if resource.get("status") == "arrived" and last.get(key) != "arrived":
                counts[key] = counts.get(key, 0) + 1
            last[key] = resource.get("status", "")
        return counts


def practice_day(day: str, *, appointments: int, patients: int, practitioners: int,
                 location: str = "main", offset: str = "+01:00") -> list[dict[str, Any]]:
    """A practice's day as FHIR resources: a Location, Practitioners, Patients (names in
    several scripts) and booked Appointments from 08:00 in 15-minute slots per practitioner."""
    family = ["Müller", "García-López", "O'Neil", "王", "Иванова", "Nguyễn", "هاشمی", "Smith"]
    given = ["Anna", "José", "Siobhán", "小明", "Ольга", "Thị Lan", "مریم", "John"]
    resources: list[dict[str, Any]] = [
        {"resourceType": "Location", "id": location, "name": "Main building", "status": "active"}]
    for n in range(practitioners):
        resources.append({"resourceType": "Practitioner", "id": f"pr-{n}",
                          "name": [{"prefix": ["Dr."], "given": ["Pat"],
                                    "family": f"Provider{n}"}]})
    for n in range(patients):
        resources.append({"resourceType": "Patient", "id": f"pat-{n}",
                          "name": [{"use": "official", "family": family[n % len(family)],
                                    "given": [given[n % len(given)]]}],
                          "birthDate": f"{1940 + n % 60}-{1 + n % 12:02d}-{1 + n % 28:02d}"})
    for n in range(appointments):
        slot = n // max(1, practitioners)
        minutes = 8 * 60 + 15 * (slot % 40)
        hour, minute = divmod(minutes, 60)
        start = f"{day}T{hour:02d}:{minute:02d}:00{offset}"
        end_hour, end_minute = divmod(minutes + 15, 60)
        resources.append({
            "resourceType": "Appointment", "id": f"ap-{n}", "status": "booked",
            "start": start, "end": f"{day}T{end_hour:02d}:{end_minute:02d}:00{offset}",
            "participant": [
                {"actor": {"reference": f"Patient/pat-{n % patients}"}, "status": "accepted"},
                {"actor": {"reference": f"Practitioner/pr-{n % practitioners}"},
                 "status": "accepted"},
                {"actor": {"reference": f"Location/{location}"}, "status": "accepted"}]})
    return resources
