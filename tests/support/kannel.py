"""A real Kannel for a test, on free loopback ports: bearerbox, smsbox, and ``fakesmsc`` as the
SMS centre (Debian: kannel, kannel-extras).

The texts we send come out at fakesmsc (:meth:`Kannel.wait_texts`); texts a patient sends are
typed into fakesmsc (:meth:`Kannel.inject`), and smsbox's ``sms-service`` hands them to the
kiosk's inbound endpoint with the shared secret, whose answer comes back out at fakesmsc as
the reply.

fakesmsc runs interactively: it reads the texts to inject from stdin and prints the texts
bearerbox gives it on stderr ("Got message N: <from to type text>"). Between lines on stdin it
reads bearerbox only once a second, so a thread types an empty line every few milliseconds
(which it skips) to make it read at once.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_from_bytes, unquote_to_bytes

import requests

BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SENDSMS_USER = "kiosk"
SENDSMS_PASSWORD = "sendsms-password"
ADMIN_PASSWORD = "admin-password"
# fakesmsc reads stdin with a 256-byte buffer: a longer line would become two texts.
MAX_INJECT_LINE = 255
POKE_SECONDS = 0.01


class KannelUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class FakeText:
    """A text that reached the SMS centre (fakesmsc): a whole one, its parts joined."""

    sender: str
    receiver: str
    kind: str       # "text", "ucs-2", or "data" (the parts of a long text, joined)
    body: bytes
    parts: int = 1

    @property
    def text(self) -> str:
        if self.kind == "ucs-2" or (self.kind == "data" and _looks_ucs2(self.body)):
            return self.body.decode("utf-16-be")
        return self.body.decode("utf-8")


def _looks_ucs2(body: bytes) -> bool:
    """fakesmsc prints a long text's parts as "data" whatever their coding; UCS-2 shows by its
    even length and a zero or control byte (the high byte of Latin, Arabic...)."""
    return len(body) % 2 == 0 and any(byte < 0x20 and byte not in (10, 13) for byte in body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> str | None:
    """Why Kannel cannot run here, or None."""
    missing = [path for path in (BEARERBOX, SMSBOX, FAKESMSC) if not os.access(path, os.X_OK)]
    if missing:
        return (f"Kannel not installed ({', '.join(missing)} missing; Debian: apt-get install "
                "kannel kannel-extras)")
    return None


def kannel_conf(*, admin_port: int, smsbox_port: int, smsc_port: int, sendsms_port: int,
                get_url: str, folder: Path) -> str:
    """bearerbox and smsbox's configuration: one fake SMS centre, one sendsms user, and one
    catch-all sms-service that asks the kiosk's endpoint for the reply."""
    return f"""\
group = core
admin-port = {admin_port}
admin-password = "{ADMIN_PASSWORD}"
admin-allow-ip = "127.0.0.1"
admin-deny-ip = "*.*.*.*"
smsbox-port = {smsbox_port}
box-allow-ip = "127.0.0.1"
box-deny-ip = "*.*.*.*"
log-file = "{folder}/bearerbox.log"
log-level = 1

group = smsc
smsc = fake
smsc-id = fake
port = {smsc_port}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{folder}/smsbox.log"
log-level = 1
# Incoming UCS-2 texts reach the kiosk as UTF-8.
mo-recode = true
# When the kiosk does not answer (refused, malformed, failed) the patient gets nothing, rather
# than Kannel's "Could not fetch content, sorry."
reply-couldnotfetch = ""
reply-emptymessage = ""

group = sendsms-user
username = "{SENDSMS_USER}"
password = "{SENDSMS_PASSWORD}"
max-messages = 10
concatenation = true

group = sms-service
keyword = default
catch-all = true
get-url = "{get_url}"
accept-x-kannel-headers = true
max-messages = 3
concatenation = true
omit-empty = true
"""


def kannel_get_url(inbound_base: str, secret: str) -> str:
    """The sms-service get-url for the kiosk's endpoint (README: Messages to patients)."""
    return (f"{inbound_base}/sms/kannel?secret={secret}"
            "&from=%p&text=%b&coding=%c&charset=%C")


class Kannel:
    """``Kannel(get_url).start()``; :meth:`stop` ends every process it started."""

    def __init__(self, get_url: str = "http://127.0.0.1:9/sms/kannel") -> None:
        self.get_url = get_url
        self.folder = Path(tempfile.mkdtemp(prefix="kiosk-kannel-"))
        self.admin_port, self.smsbox_port, self.smsc_port, self.sendsms_port = (
            free_port(), free_port(), free_port(), free_port())
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.startup_seconds = 0.0
        self._texts: list[FakeText] = []
        self._parts: dict[tuple[str, str, int], dict[int, bytes]] = {}
        self._seen = threading.Condition()
        self._stdin_lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- the parts a test uses ------------------------------------------------------------

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def status(self) -> str:
        answer = requests.get(f"http://127.0.0.1:{self.admin_port}/status.txt",
                              params={"password": ADMIN_PASSWORD}, timeout=2)
        return answer.text

    def inject(self, sender: str, receiver: str, text: str) -> None:
        """A text a patient sends, typed into the SMS centre (UCS-2 unless plain ASCII)."""
        if text.isascii() and text.isprintable() and text.strip() == text and text:
            line = f"{sender} {receiver} text {text}\n"
        else:
            line = f"{sender} {receiver} ucs2 {quote_from_bytes(text.encode('utf-16-be'))}\n"
        if len(line.encode()) > MAX_INJECT_LINE:
            raise ValueError(f"fakesmsc takes lines of at most {MAX_INJECT_LINE} bytes")
        self._type(line)

    def wait_texts(self, count: int, timeout: float = 10.0) -> list[FakeText]:
        """The texts the SMS centre has received, once there are ``count`` (AssertionError
        when they do not come within ``timeout``)."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while len(self._texts) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self._texts)} of {count} texts reached the "
                                         f"SMS centre within {timeout:g} s")
                self._seen.wait(left)
            return list(self._texts)

    def texts_to(self, number: str, count: int = 1, timeout: float = 10.0) -> list[FakeText]:
        """The texts the SMS centre has received for ``number``, once there are ``count``."""
        deadline = time.monotonic() + timeout
        with self._seen:
            while True:
                found = [text for text in self._texts if text.receiver == number]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0:
                    break
                self._seen.wait(left)
        if len(found) < count:
            raise AssertionError(f"{len(found)} of {count} texts reached {number} within "
                                 f"{timeout:g} s: {[text.text for text in found]}")
        return found

    @property
    def texts(self) -> list[FakeText]:
        with self._seen:
            return list(self._texts)

    # -- starting and stopping ------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> Kannel:
        problem = available()
        if problem:
            raise KannelUnavailable(problem)
        began = time.monotonic()
        conf = self.folder / "kannel.conf"
        conf.write_text(kannel_conf(
            admin_port=self.admin_port, smsbox_port=self.smsbox_port,
            smsc_port=self.smsc_port, sendsms_port=self.sendsms_port,
            get_url=self.get_url, folder=self.folder), encoding="utf-8")
        atexit.register(self.stop)
        deadline = began + timeout
        try:
            self._spawn("bearerbox", [BEARERBOX, "-v", "1", str(conf)])
            self._until(deadline, lambda: "Status: running" in self._status_or_empty(),
                        "bearerbox's admin status")
            self._spawn("smsbox", [SMSBOX, "-v", "1", str(conf)])
            self._start_fakesmsc(deadline)
            self._until(deadline, self._ready, "the SMS centre and smsbox online")
            self._until(deadline, lambda: _accepts(self.sendsms_port), "smsbox's sendsms port")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        """SIGTERM to each process (bearerbox tells smsbox to end), SIGKILL after 5 s."""
        self._stopping.set()
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            process = self.processes.get(name)
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for thread in self._threads:
            thread.join(2)
        self.processes.clear()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop_process(self, name: str) -> None:
        """End one part (say, smsbox, to see the kiosk's side of Kannel being down)."""
        process = self.processes[name]
        process.send_signal(signal.SIGTERM)
        process.wait(10)

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- inside ---------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], **options: object) -> None:
        output = (self.folder / f"{name}.out").open("wb")
        kwargs: dict[str, object] = {"stdout": output, "stderr": subprocess.STDOUT,
                                     "start_new_session": True, "cwd": self.folder}
        kwargs.update(options)
        self.processes[name] = subprocess.Popen(command, **kwargs)  # type: ignore[call-overload]
        output.close()

    def _status_or_empty(self) -> str:
        try:
            return self.status()
        except requests.RequestException:
            return ""

    def _ready(self) -> bool:
        status = self._status_or_empty()
        return "(online" in status and "smsbox:" in status

    def _until(self, deadline: float, condition: object, what: str) -> None:
        assert callable(condition)
        while not condition():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise KannelUnavailable(
                        f"{name} ended (exit {process.returncode}) before {what}: "
                        f"{self._tail(name)}")
            if time.monotonic() > deadline:
                raise KannelUnavailable(f"no {what} in time: {self._tail('bearerbox')}")
            time.sleep(0.02)

    def _tail(self, name: str) -> str:
        out = self.folder / f"{name}.out"
        text = out.read_text(errors="replace") if out.exists() else ""
        return (text + self.log(name))[-1500:]

    def _type(self, line: str) -> None:
        process = self.processes["fakesmsc"]
        assert process.stdin is not None
        with self._stdin_lock:
            process.stdin.write(line.encode())
            process.stdin.flush()

    def _start_fakesmsc(self, deadline: float) -> None:
        """fakesmsc gives up at once when bearerbox's fake SMSC port is not open yet: start it
        again until it stays connected."""
        command = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", "0"]
        while True:
            self._spawn("fakesmsc", command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
            process = self.processes["fakesmsc"]
            try:
                process.wait(0.1)
            except subprocess.TimeoutExpired:
                self._watch_fakesmsc()
                return
            if time.monotonic() > deadline:
                raise KannelUnavailable(f"fakesmsc cannot connect: {self._tail('bearerbox')}")

    def _watch_fakesmsc(self) -> None:
        def read() -> None:
            stream = self.processes["fakesmsc"].stderr
            assert stream is not None
            for raw in stream:
                marker = raw.find(b"Got message ")
                if marker >= 0:
                    start, end = raw.find(b"<", marker), raw.rstrip().rfind(b">")
                    self._received(raw[start + 1:end])

        def poke() -> None:
            while not self._stopping.wait(POKE_SECONDS):
                try:
                    self._type("\n")
                except (OSError, ValueError):
                    return

        for target in (read, poke):
            thread = threading.Thread(target=target, daemon=True, name=f"fakesmsc-{target}")
            thread.start()
            self._threads.append(thread)

    def _received(self, line: bytes) -> None:
        """One line from fakesmsc: "from to text TEXT", "from to ucs-2 URLENCODED" or, for a
        part of a long text, "from to udh UDH data URLENCODED"."""
        sender, receiver, kind, rest = (line.split(b" ", 3) + [b""] * 4)[:4]
        text: FakeText | None = None
        if kind == b"udh":
            udh, _, payload = rest.partition(b" data ")
            header = _url_bytes(udh)
            body = _url_bytes(payload)
            # Concatenation element (00, length 3): reference, parts, this part's number.
            if len(header) >= 6 and header[1] == 0:
                reference, total, number = header[3], header[4], header[5]
                key = (sender.decode(), receiver.decode(), reference)
                parts = self._parts.setdefault(key, {})
                parts[number] = body
                if len(parts) == total:
                    del self._parts[key]
                    text = FakeText(key[0], key[1], "data",
                                    b"".join(parts[n] for n in sorted(parts)), parts=total)
        elif kind == b"ucs-2":
            text = FakeText(sender.decode(), receiver.decode(), "ucs-2", _url_bytes(rest))
        else:
            text = FakeText(sender.decode(), receiver.decode(), kind.decode(), rest)
        if text is not None:
            with self._seen:
                self._texts.append(text)
                self._seen.notify_all()


def _url_bytes(encoded: bytes) -> bytes:
    return unquote_to_bytes(encoded.replace(b"+", b" "))


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
