"""TLS to the FHIR server for real: a private CA and a server certificate made here, an HTTPS
server on loopback, and the CAs the kiosk trusts (transport.tls_verify): the fhir_ca_bundle file,
else the system's CA file, and a clear SyncError when neither holds the practice's CA."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.ops import doctor
from kiosk.sync import transport as transport_module
from kiosk.sync.client import FhirClient, SyncError, Unavailable
from kiosk.sync.transport import tls_verify
from kiosk.sync.worker import SyncWorker
from tests.support.site import make_settings
from tests.support.sync import sync_ctx

CAPABILITIES = {"resourceType": "CapabilityStatement", "status": "active", "kind": "instance",
                "fhirVersion": "4.0.1", "format": ["json"], "rest": [{"mode": "server"}]}


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_ca(common: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common)).issuer_name(_name(common))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .sign(key, hashes.SHA256()))
    return cert, key


@dataclass
class Pki:
    ca: Path        # the practice's CA, which signed the server's certificate
    other: Path     # a CA that did not (a system store without the practice's CA)
    with_ca: Path   # a "system store": another CA and the practice's
    cert: Path      # the server's certificate and key
    key: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca, ca_key = make_ca("Practice test CA")
    other, _ = make_ca("Some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name("fhir.practice.test"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    found = Pki(folder / "practice-ca.pem", folder / "other-ca.pem",
                folder / "system-store.pem", folder / "server.pem", folder / "server.key")
    found.ca.write_bytes(_pem(ca))
    found.other.write_bytes(_pem(other))
    found.with_ca.write_bytes(_pem(other) + _pem(ca))
    found.cert.write_bytes(_pem(cert))
    found.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                            serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    return found


class Fhir(BaseHTTPRequestHandler):
    """/metadata, and for SMART a configuration and a token endpoint on the same server."""

    def do_GET(self) -> None:
        base = f"https://127.0.0.1:{self.server.server_address[1]}"
        if self.path.startswith("/metadata"):
            self._json(200, CAPABILITIES, "application/fhir+json")
        elif self.path == "/.well-known/smart-configuration":
            self._json(200, {"token_endpoint": f"{base}/auth/token"})
        else:
            self._json(404, {"resourceType": "OperationOutcome", "issue": []})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._json(200, {"access_token": "t0ken", "token_type": "bearer", "expires_in": 300})

    def _json(self, status: int, body: dict[str, Any], kind: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def https(pki: Pki) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert, pki.key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Fhir)
    # A client that refuses the certificate fails the handshake in accept(): an OSError,
    # which the server ignores.
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture
def system_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Points the system's CA file at a given file: OpenSSL's SSL_CERT_FILE, which
    ssl.get_default_verify_paths() reads; the distributions' usual files are left out."""
    def use(path: Path) -> None:
        monkeypatch.setenv("SSL_CERT_FILE", str(path))
        monkeypatch.setattr(transport_module, "SYSTEM_CA_FILES", (str(tmp_path / "absent.crt"),))
    return use


@pytest.fixture(autouse=True)
def requests_env_lacks_the_ca(monkeypatch: pytest.MonkeyPatch, pki: Pki) -> None:
    """requests lets REQUESTS_CA_BUNDLE replace a session's CAs (even verify=False): set it to
    a file without the practice's CA, to show the kiosk's choice is the one used."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.other))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pki.other))


def settings_for(url: str, **overrides: object):
    return make_settings("sqlite://", fhir_base_url=url, fhir_timeout_seconds=5.0, **overrides)


def test_the_ca_bundle_setting_is_trusted(https, pki, system_store):
    system_store(pki.other)
    settings = settings_for(https, fhir_ca_bundle=str(pki.ca))
    assert tls_verify(settings) == str(pki.ca)
    assert FhirClient(settings).capabilities()["resourceType"] == "CapabilityStatement"


def test_empty_means_the_system_store(https, pki, system_store):
    system_store(pki.with_ca)  # as after update-ca-certificates with the practice's CA
    settings = settings_for(https)
    assert tls_verify(settings) == str(pki.with_ca)
    assert FhirClient(settings).capabilities()["fhirVersion"] == "4.0.1"
    checks = {check.name: check for check in doctor.fhir(settings)}
    assert checks["fhir"].status == doctor.OK, checks["fhir"]
    assert checks["fhir"].detail.endswith(f"metadata HTTP 200, CAs: {pki.with_ca}")


def test_a_store_without_the_practice_ca_is_a_clear_sync_error(https, pki, system_store,
                                                               sqlite_url, clock):
    system_store(pki.other)
    settings = settings_for(https)
    with pytest.raises(Unavailable) as refused:
        FhirClient(settings).capabilities()
    assert str(refused.value) == ("GET metadata: TLS certificate not trusted (unable to get "
                                  f"local issuer certificate; trusting {pki.other})")
    # The sync worker reports it as a failed pass, not a traceback.
    ctx = sync_ctx(sqlite_url, clock, https)
    try:
        outcome = SyncWorker(ctx).run_once()
    finally:
        ctx.db.dispose()
    assert outcome.error is not None and "TLS certificate not trusted" in outcome.error
    checks = {check.name: check for check in doctor.fhir(settings)}
    assert checks["fhir"].status == doctor.FAIL
    assert "TLS certificate not trusted (unable to get local issuer certificate" in \
        checks["fhir"].detail


def test_a_missing_ca_file_is_a_sync_error(https, tmp_path):
    settings = settings_for(https, fhir_ca_bundle=str(tmp_path / "missing.pem"))
    with pytest.raises(SyncError, match=r"GET metadata: no CA file .*missing\.pem$"):
        FhirClient(settings).capabilities()


def test_smart_sign_in_uses_the_same_cas(https, pki, system_store, tmp_path):
    key = tmp_path / "kiosk.key"
    key.write_bytes(ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    smart = {"fhir_auth": "smart", "fhir_client_id": "kiosk", "fhir_private_key_file": str(key)}
    system_store(pki.with_ca)
    client = FhirClient(settings_for(https, **smart))
    assert client.capabilities()["resourceType"] == "CapabilityStatement"
    assert client._smart is not None and client._smart.tokens_fetched == 1
    system_store(pki.other)
    with pytest.raises(SyncError, match="sign-in: SMART configuration: TLS certificate not "
                                        "trusted"):
        FhirClient(settings_for(https, **smart)).capabilities()
    # A missing CA file: a sync error from sign-in too, as from the client (once a traceback).
    missing = settings_for(https, fhir_ca_bundle=str(tmp_path / "missing.pem"), **smart)
    with pytest.raises(SyncError, match=r"SMART configuration: no CA file .*missing\.pem"):
        FhirClient(missing).capabilities()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verification_off_is_off_whatever_the_environment_says(https):
    settings = settings_for(https, fhir_verify_tls=False)
    assert tls_verify(settings) is False
    assert FhirClient(settings).capabilities()["resourceType"] == "CapabilityStatement"


def test_which_file_is_the_system_store(monkeypatch, tmp_path, pki):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "absent.pem"))
    second = tmp_path / "ca-bundle.crt"
    second.write_bytes(pki.ca.read_bytes())
    monkeypatch.setattr(transport_module, "SYSTEM_CA_FILES",
                        (str(tmp_path / "ca-certificates.crt"), str(second)))
    settings = settings_for("https://fhir.practice.test/")
    assert tls_verify(settings) == str(second)
    monkeypatch.setattr(transport_module, "SYSTEM_CA_FILES", ())
    assert tls_verify(settings) is True  # no system file: requests' default (certifi)
    monkeypatch.setattr(transport_module, "SYSTEM_CA_FILES", (str(second),))
    monkeypatch.setattr(transport_module.sys, "platform", "win32")
    assert tls_verify(settings) is True  # Windows and macOS: requests' default
