"""A small FHIR R4 REST client on requests: every request has a timeout, TLS is verified,
and each failure is sorted by what the caller should do about it. Nothing here logs a
resource's content; error texts carry status codes and the server's OperationOutcome."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests

from kiosk.base.settings import Settings
from kiosk.sync.smart import AuthError, SmartBackendAuth
from kiosk.sync.transport import TransportError, send, tls_verify

log = logging.getLogger(__name__)
# urllib3 logs whole URLs at DEBUG, search parameters (ids, dates) included: keep it quiet.
logging.getLogger("urllib3").setLevel(logging.WARNING)

FHIR_JSON = "application/fhir+json"

class SyncError(Exception):
    """Something went wrong talking to the FHIR server; the message is safe to log."""


class Unavailable(SyncError):
    """Timeouts, refused connections, 5xx, 429: try again later (``retry_after`` seconds,
    when the server said)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(SyncError):
    """A 4xx answer other than 429: sending the same again will not help."""

    def __init__(self, status: int, outcome: str) -> None:
        super().__init__(f"HTTP {status}: {outcome}")
        self.status = status
        self.outcome = outcome


class BadAnswer(SyncError):
    """The server answered 2xx with something that is not the FHIR JSON asked for."""


class SignInFailed(Unavailable):
    """The kiosk could not sign in (no token, a refused key, HTTP 401). Never a check-in's own
    fault, so write-backs wait and retry instead of being parked; IT sees it in the status."""


@dataclass
class Response:
    status: int
    resource: dict[str, Any]
    version: str | None  # from the ETag (W/"3" -> "3") or meta.versionId


@dataclass
class Stats:
    requests: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def outcome_text(body: Any) -> str:
    """An OperationOutcome, briefly: severity, code and plain element paths of each issue; or
    what the body looked like. Not ``diagnostics`` nor ``details.text``: servers write free
    text there, and a validation message may quote a patient's name."""
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        parts = []
        for issue in body.get("issue") or []:
            if isinstance(issue, dict):
                paths = [path for path in issue.get("expression") or issue.get("location") or []
                         if isinstance(path, str) and PLAIN_PATH.fullmatch(path)]
                severity, code = (value if isinstance(value, str) and CODE.fullmatch(value)
                                  else "?" for value in (issue.get("severity"),
                                                         issue.get("code")))
                parts.append(f"{severity}/{code}"
                             + (f" at {', '.join(paths[:3])}" if paths else ""))
        return "; ".join(parts)[:500] or "OperationOutcome without issues"
    return "no OperationOutcome"


# A FHIR code (severity, issue type): anything else a server sends there is not repeated.
CODE = re.compile(r"[a-z][a-z-]{0,39}")
# An element path such as Appointment.participant[0].actor; not a FHIRPath with values in it.
PLAIN_PATH = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*|\[[0-9]+\])*")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class FhirClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None,
                 now: Callable[[], float] = time.time) -> None:
        if not settings.fhir_base_url:
            raise SyncError("no FHIR server configured (setting fhir_base_url)")
        self.settings = settings
        self.base = settings.fhir_base_url.rstrip("/") + "/"
        self.timeout = settings.fhir_timeout_seconds
        self.http = session or requests.Session()
        self.http.headers.update({"Accept": FHIR_JSON, "User-Agent": "lobby-kiosk"})
        # Also given with each request (here and in smart.py): a session's own verify loses
        # to REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment, even verify=False.
        self.http.verify = tls_verify(settings)
        self.stats = Stats()
        self._capabilities: dict[str, Any] | None = None
        self._smart: SmartBackendAuth | None = None
        self._now = now  # wall-clock seconds, for token lifetimes

    # -- auth ------------------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        settings = self.settings
        if settings.fhir_auth == "smart":
            try:
                if self._smart is None:
                    self._smart = SmartBackendAuth(settings, self.http, self.base, self._now)
                return self._smart.header()
            except AuthError as error:
                raise SignInFailed(f"sign-in: {error}") from None
        if settings.fhir_auth != "bearer":
            return {}
        token = settings.fhir_token
        if settings.fhir_token_file:
            try:
                token = Path(settings.fhir_token_file).read_text(encoding="utf-8").strip()
            except OSError as error:
                raise SignInFailed(f"cannot read fhir_token_file: {error.strerror}") from None
        if not token:
            raise SignInFailed("fhir_auth is 'bearer' but no token is set")
        return {"Authorization": f"Bearer {token}"}

    # -- requests --------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path.lstrip("/")

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None, headers: dict[str, str] | None = None,
                content_type: str = FHIR_JSON) -> Response:
        """One request; raises :class:`Unavailable` (:class:`SignInFailed` among them),
        :class:`Refused` or :class:`BadAnswer`."""
        reply = self._send(method, path, params, body, headers, content_type)
        if reply.status_code == 401 and self._smart is not None:
            self._smart.forget()  # revoked or expired early: sign in again, once
            reply = self._send(method, path, params, body, headers, content_type)
        status = reply.status_code
        body_json = _json_or_none(reply)
        if status == 429 or status >= 500:
            raise Unavailable(f"{method} {_what(path)}: HTTP {status} "
                              f"({outcome_text(body_json)})",
                              _retry_after(reply.headers.get("Retry-After")))
        if status == 401:
            raise SignInFailed(f"{method} {_what(path)}: HTTP 401, the server did not accept "
                               f"the kiosk's credentials ({outcome_text(body_json)})")
        if status >= 400:
            raise Refused(status, outcome_text(body_json))
        if not isinstance(body_json, dict) or "resourceType" not in body_json:
            shown = reply.headers.get("Content-Type", "no content type")
            raise BadAnswer(f"{method} {_what(path)}: HTTP {status} but not FHIR JSON ({shown})")
        version = _etag_version(reply.headers.get("ETag")) or \
            (body_json.get("meta") or {}).get("versionId")
        return Response(status, body_json, version)

    def _send(self, method: str, path: str, params: dict[str, Any] | None, body: Any,
              headers: dict[str, str] | None, content_type: str) -> requests.Response:
        all_headers = {**self._auth_headers(), **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            all_headers["Content-Type"] = content_type
        kind = _what(path)
        self.stats.requests += 1
        self.stats.by_type[kind] = self.stats.by_type.get(kind, 0) + 1
        try:
            return send(self.http, method, self.url(path), timeout=self.timeout, params=params,
                        data=data, headers=all_headers)
        except TransportError as error:
            raise Unavailable(f"{method} {_what(path)}: {error}") from None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Response:
        return self.request("GET", path, params=params)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Each page of a search (a Bundle), following ``Bundle.link`` "next" exactly as given."""
        response = self.get(path, params)
        seen: set[str] = set()
        while True:
            bundle = response.resource
            if bundle.get("resourceType") != "Bundle":
                raise BadAnswer(f"search {_what(path)}: a {bundle.get('resourceType')}, "
                                "not a Bundle")
            yield bundle
            following = [link.get("url") for link in bundle.get("link") or []
                         if isinstance(link, dict) and link.get("relation") == "next"]
            if not following or not following[0] or following[0] in seen:
                return
            seen.add(following[0])
            response = self.get(following[0])

    def capabilities(self) -> dict[str, Any]:
        """The server's CapabilityStatement, read once per client (a sync worker's life)."""
        if self._capabilities is None:
            self._capabilities = self.get("metadata").resource
        return self._capabilities


def _what(path: str) -> str:
    """The resource type a request was about, for log lines (never ids or query values)."""
    parts = path.split("?")[0].split("/")
    return next((part for part in parts if part[:1].isupper()), parts[-1] or "request")


def _json_or_none(reply: requests.Response) -> Any:
    try:
        return reply.json()
    except ValueError:
        return None


def _etag_version(etag: str | None) -> str | None:
    if not etag:
        return None
    value = etag[2:] if etag.startswith("W/") else etag
    return value.strip('"') or None
