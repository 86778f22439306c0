"""SMART Backend Services sign-in (HL7 SMART App Launch 2.x, "Backend Services"): the kiosk
proves who it is with a short-lived JWT signed by its private key (``private_key_jwt``,
RS384 for an RSA key, ES384 for an EC P-384 key), trades it at the token endpoint for an
access token (``client_credentials``), and keeps that token until shortly before it expires.

PyJWT (with cryptography) signs the assertion. Neither the key, the assertion nor the access
token ever reaches a log line or an exception message."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from kiosk.base.settings import Settings
from kiosk.sync.transport import TransportError, send

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# The assertion lives 5 minutes at most (the SMART specification's ceiling).
ASSERTION_SECONDS = 300
# A token is renewed this long before it expires, so a request never carries a stale one.
RENEW_MARGIN_SECONDS = 60


class AuthError(Exception):
    """Sign-in failed; the message is safe to log."""


@dataclass
class _Token:
    value: str
    expires_at: float


def load_key(settings: Settings) -> tuple[Any, str]:
    """The private key and the algorithm that goes with it."""
    pem = settings.fhir_private_key.encode("utf-8") if settings.fhir_private_key else None
    if pem is None:
        if not settings.fhir_private_key_file:
            raise AuthError("fhir_auth is 'smart' but neither fhir_private_key_file nor "
                            "fhir_private_key is set")
        try:
            pem = Path(settings.fhir_private_key_file).read_bytes()
        except OSError as error:
            raise AuthError(f"cannot read fhir_private_key_file: {error.strerror}") from None
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise AuthError("the SMART private key is not an unencrypted PEM private key") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise AuthError("the SMART RSA key must have at least 2048 bits")
        return key, "RS384"
    if isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP384R1):
        return key, "ES384"
    raise AuthError("the SMART private key must be RSA (RS384) or EC P-384 (ES384)")


class SmartBackendAuth:
    """Hands out a valid access token, asking the token endpoint only when the cached one is
    about to expire (or the server said it no longer takes it)."""

    def __init__(self, settings: Settings, http: requests.Session, base_url: str,
                 now: Callable[[], float] = time.time) -> None:
        if not settings.fhir_client_id:
            raise AuthError("fhir_auth is 'smart' but fhir_client_id is not set")
        self.settings = settings
        self.http = http
        self.base_url = base_url
        self.now = now
        self.key, self.algorithm = load_key(settings)
        self._token_url = settings.fhir_token_url or None
        self._token: _Token | None = None
        self.tokens_fetched = 0

    def header(self) -> dict[str, str]:
        token = self._token
        if token is None or self.now() >= token.expires_at - RENEW_MARGIN_SECONDS:
            token = self._token = self._fetch()
        return {"Authorization": f"Bearer {token.value}"}

    def forget(self) -> None:
        """The FHIR server refused the token (revoked, server restarted): fetch a new one."""
        self._token = None

    # -- the token endpoint ----------------------------------------------------------------

    def token_url(self) -> str:
        """From the setting, else from the server's ``.well-known/smart-configuration``."""
        if self._token_url is None:
            found = self._post_or_get("GET", self.base_url + ".well-known/smart-configuration",
                                      what="SMART configuration")
            url = found.get("token_endpoint")
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise AuthError("the server's SMART configuration names no token_endpoint "
                                "(set fhir_token_url)")
            self._token_url = url
        return self._token_url

    def assertion(self, token_url: str) -> str:
        issued = int(self.now())
        claims = {"iss": self.settings.fhir_client_id, "sub": self.settings.fhir_client_id,
                  "aud": token_url, "iat": issued, "exp": issued + ASSERTION_SECONDS,
                  "jti": uuid.uuid4().hex}
        headers = {"typ": "JWT"}
        if self.settings.fhir_key_id:
            headers["kid"] = self.settings.fhir_key_id
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers=headers)

    def _fetch(self) -> _Token:
        url = self.token_url()
        form = {"grant_type": "client_credentials", "scope": self.settings.fhir_scope,
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": self.assertion(url)}
        answer = self._post_or_get("POST", url, what="token endpoint", data=form)
        value = answer.get("access_token")
        if not isinstance(value, str) or not value:
            raise AuthError("the token endpoint answered without an access_token")
        lifetime = answer.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, (int, float)) and lifetime > 0 \
            else ASSERTION_SECONDS
        self.tokens_fetched += 1
        log.info("sync: signed in to the FHIR server (SMART Backend Services, %s); the token "
                 "lasts %d s", self.algorithm, seconds)
        return _Token(value, self.now() + seconds)

    def _post_or_get(self, method: str, url: str, *, what: str,
                     data: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            reply = send(self.http, method, url, timeout=self.settings.fhir_timeout_seconds,
                         data=data, headers={"Accept": "application/json"})
        except TransportError as error:
            raise AuthError(f"{what}: {error}") from None
        try:
            body = reply.json()
        except ValueError:
            body = None
        if reply.status_code >= 500 or reply.status_code == 429:
            raise AuthError(f"{what}: HTTP {reply.status_code}")
        if reply.status_code >= 400:
            # OAuth errors are codes such as invalid_client; the description is the server's.
            code = body.get("error", "?") if isinstance(body, dict) else "?"
            text = body.get("error_description", "") if isinstance(body, dict) else ""
            raise AuthError(f"{what} refused the kiosk: HTTP {reply.status_code} {code}"
                            + (f" ({str(text)[:200]})" if text else ""))
        if not isinstance(body, dict):
            raise AuthError(f"{what}: HTTP {reply.status_code} but not JSON")
        return body
