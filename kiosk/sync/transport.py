"""Sending one HTTP request to the practice system (the FHIR server or its token endpoint):
which CAs to trust, a timeout on every request, and the transport's failures turned into one
exception whose message is safe to log (no URL, no query)."""

from __future__ import annotations

import os
import ssl
import sys
from typing import Any

import requests

from kiosk.base.settings import Settings

# Where Linux distributions keep the system's CA certificates as one file, with what
# update-ca-certificates (Debian, Ubuntu) or update-ca-trust (Fedora, RHEL) added to it. Tried
# after the file OpenSSL itself is set to (SSL_CERT_FILE, or its build's default, which in a
# bundle built elsewhere may not exist here).
SYSTEM_CA_FILES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                   "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem")


def tls_verify(settings: Settings) -> bool | str:
    """What requests' ``verify=`` is for the FHIR server and its token endpoint: False when
    fhir_verify_tls is off; the fhir_ca_bundle file when set; else, on Linux, the system's CA
    file, so that a practice CA added to the system store is trusted (requests alone would
    trust only certifi's copy of Mozilla's list); else True, that list (Windows, macOS, or a
    Linux without such a file)."""
    if not settings.fhir_verify_tls:
        return False
    if settings.fhir_ca_bundle:
        return settings.fhir_ca_bundle
    if sys.platform.startswith("linux"):
        for candidate in (ssl.get_default_verify_paths().cafile, *SYSTEM_CA_FILES):
            if candidate and os.path.isfile(candidate):
                return candidate
    return True


class TransportError(Exception):
    """No answer: a timeout, a refused connection, a certificate not trusted, no CA file."""


def send(http: requests.Session, method: str, url: str, *, timeout: float,
         **options: Any) -> requests.Response:
    """One request. ``verify`` is the session's, given with the request: requests lets
    REQUESTS_CA_BUNDLE in the environment override a session's own."""
    try:
        return http.request(method, url, timeout=timeout, verify=http.verify, **options)
    except requests.Timeout:
        raise TransportError(f"no answer within {timeout:g} s") from None
    except requests.exceptions.SSLError as error:
        raise TransportError(f"TLS certificate not trusted ({tls_problem(error)}; trusting "
                             f"{trusted(http.verify)})") from None
    except requests.ConnectionError:
        raise TransportError("cannot connect") from None
    except requests.RequestException as error:
        raise TransportError(type(error).__name__) from None
    except OSError:  # requests' own check: the CA file does not exist
        raise TransportError(f"no CA file {trusted(http.verify)}") from None


def tls_problem(error: BaseException) -> str:
    """OpenSSL's reason a certificate was refused ("unable to get local issuer certificate",
    "certificate has expired", a host name mismatch), found in the exceptions requests and
    urllib3 wrap it in; not their messages, which quote the URL and its query."""
    seen: set[int] = set()
    todo: list[object] = [error]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLCertVerificationError):
            return str(item.verify_message or "certificate verify failed")
        todo.extend([*item.args, getattr(item, "reason", None), item.__cause__,
                     item.__context__])
    return "TLS handshake failed"


def trusted(verify: bool | str) -> str:
    """The CAs a ``verify=`` value stands for, in words."""
    if isinstance(verify, str):
        return verify
    return "certifi's CA list (or REQUESTS_CA_BUNDLE)" if verify else "no CA (not verified)"
