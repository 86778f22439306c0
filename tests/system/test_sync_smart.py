"""SMART Backend Services sign-in against the real FHIR server (which then takes only tokens
the test's token endpoint issued) and a strict token endpoint
(tests/support/smart_token_server.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import select

from kiosk.base.settings import SettingsError
from kiosk.store.models import Appointment, OutboxItem, OutboxState
from kiosk.sync.client import FhirClient, SignInFailed
from kiosk.sync.outbox import drain
from kiosk.sync.pull import pull
from kiosk.sync.worker import SyncWorker
from tests.support.fhir_server import practice_day
from tests.support.site import DAY, make_ctx, make_settings, start_fhir_server
from tests.support.smart_token_server import TokenEndpoint
from tests.support.sync import check_in

CLIENT_ID = "lobby-kiosk-main"
KEY_ID = "kiosk-key-1"


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP384R1())


class Site:
    """A FHIR server that takes only tokens from its token endpoint, and that endpoint."""

    def __init__(self, folder: Path, public_key) -> None:
        tokens = folder / "tokens"
        tokens.touch()
        self.auth = TokenEndpoint(tokens, CLIENT_ID, public_key, KEY_ID)
        try:
            self.fhir = start_fhir_server(env={"FHIR_TOKENS_FILE": str(tokens),
                                               "SMART_TOKEN_URL": self.auth.url})
        finally:
            if getattr(self, "fhir", None) is None:  # failed or skipped: no endpoint left
                self.auth.close()
        self.fhir.put_all(practice_day(DAY.isoformat(), appointments=12, patients=10,
                                       practitioners=2))

    def close(self) -> None:
        self.fhir.stop()
        self.auth.close()


@pytest.fixture
def rsa_site(tmp_path, rsa_key) -> Iterator[Site]:
    site = Site(tmp_path, rsa_key.public_key())
    yield site
    site.close()


def smart_ctx(sqlite_url, clock, site: Site, key_file: Path, **overrides):
    settings = make_settings(sqlite_url, fhir_base_url=site.fhir.url, fhir_auth="smart",
                             fhir_client_id=CLIENT_ID, fhir_key_id=KEY_ID,
                             fhir_private_key_file=str(key_file), fhir_timeout_seconds=5.0,
                             **overrides)
    return make_ctx(settings, clock)


def test_without_signing_in_the_server_says_401(rsa_site, sqlite_url, clock):
    ctx = make_ctx(make_settings(sqlite_url, fhir_base_url=rsa_site.fhir.url), clock)
    result = SyncWorker(ctx).run_once()
    assert result.error is not None and "HTTP 401" in result.error


def test_rs384_sign_in_found_by_discovery_pulls_and_writes_back_with_one_token(
        rsa_site, rsa_key, sqlite_url, clock, tmp_path, caplog):
    key_file = tmp_path / "kiosk.pem"
    key_file.write_text(pem(rsa_key))
    ctx = smart_ctx(sqlite_url, clock, rsa_site, key_file)  # no fhir_token_url: discovered
    caplog.set_level(logging.DEBUG)
    client = FhirClient(ctx.settings)
    assert pull(ctx, client, full=True).appointments == 12
    check_in(ctx, "ap-0")
    assert drain(ctx, client).sent == 1
    assert rsa_site.fhir.read("Appointment/ap-0")["status"] == "arrived"
    assert client.stats.requests >= 5
    assert len(rsa_site.auth.issued) == 1, rsa_site.auth.refusals  # cached across requests
    assert rsa_site.auth.scopes[0] == ctx.settings.fhir_scope
    assert "RS384" in caplog.text
    for secret in [*rsa_site.auth.issued, "eyJ", "PRIVATE KEY"]:
        assert secret not in caplog.text


def test_es384_with_a_configured_token_url(tmp_path, ec_key, sqlite_url, clock):
    site = Site(tmp_path, ec_key.public_key())
    try:
        key_file = tmp_path / "kiosk-ec.pem"
        key_file.write_text(pem(ec_key))
        ctx = smart_ctx(sqlite_url, clock, site, key_file, fhir_token_url=site.auth.url)
        assert SyncWorker(ctx).run_once().error is None
        with ctx.db.read() as session:
            assert len(session.scalars(select(Appointment)).all()) == 12
        assert len(site.auth.issued) == 1 and not site.auth.refusals
    finally:
        site.close()


def test_a_token_is_renewed_before_it_expires_and_when_the_server_drops_it(
        rsa_site, rsa_key, sqlite_url, clock, tmp_path):
    key_file = tmp_path / "kiosk.pem"
    key_file.write_text(pem(rsa_key))
    ctx = smart_ctx(sqlite_url, clock, rsa_site, key_file)
    # The kiosk's clock starts 270 s behind (its assertion must still be valid for the
    # endpoint), so the 300 s token it gets is, by that clock, 30 s from expiry once it is
    # set right: inside the renewal margin.
    offset = [-270.0]
    client = FhirClient(ctx.settings, now=lambda: time.time() + offset[0])
    client.get("Appointment/ap-1")
    client.get("Appointment/ap-2")
    assert len(rsa_site.auth.issued) == 1
    offset[0] = 0.0
    client.get("Appointment/ap-1")
    assert len(rsa_site.auth.issued) == 2
    rsa_site.auth.revoke_all()  # the server forgets every token (a restart, a revocation)
    assert client.get("Appointment/ap-3").resource["id"] == "ap-3"
    assert len(rsa_site.auth.issued) == 3


def test_a_key_the_practice_does_not_know_retries_later_and_parks_nothing(
        rsa_site, rsa_key, sqlite_url, clock, tmp_path, caplog):
    key_file = tmp_path / "kiosk.pem"
    key_file.write_text(pem(rsa_key))
    ctx = smart_ctx(sqlite_url, clock, rsa_site, key_file)
    assert SyncWorker(ctx).run_once().error is None
    check_in(ctx, "ap-0")
    # Then someone installs the wrong key.
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file.write_text(pem(stranger))
    caplog.set_level(logging.INFO)
    result = drain(ctx, FhirClient(ctx.settings))
    assert (result.sent, result.parked, result.retrying) == (0, 0, 1)
    assert "invalid_client" in (result.unavailable or "")
    assert "signature" in rsa_site.auth.refusals[-1].lower()
    with ctx.db.read() as session:
        assert session.scalars(select(OutboxItem.state)).one() == OutboxState.PENDING
    assert "sign-in: token endpoint refused the kiosk: HTTP 401 invalid_client" in caplog.text
    for secret in [*rsa_site.auth.issued, "eyJ", "PRIVATE KEY"]:
        assert secret not in caplog.text


@pytest.mark.parametrize(("key", "problem"), [
    ("not a key", "not an unencrypted PEM private key"),
    ("p256", "must be RSA (RS384) or EC P-384 (ES384)"),
])
def test_a_wrong_kind_of_key_is_named_plainly(key, problem, sqlite_url, clock, tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem(ec.generate_private_key(ec.SECP256R1())) if key == "p256" else key)
    settings = make_settings(sqlite_url, fhir_base_url="http://127.0.0.1:9/fhir",
                             fhir_auth="smart", fhir_client_id=CLIENT_ID,
                             fhir_private_key_file=str(key_file))
    with pytest.raises(SignInFailed, match=problem.replace("(", r"\(").replace(")", r"\)")):
        FhirClient(settings).get("metadata")


def test_smart_settings_are_checked(sqlite_url):
    with pytest.raises(SettingsError, match="'none', 'bearer' or 'smart'"):
        make_settings(sqlite_url, fhir_auth="oauth")
    with pytest.raises(SettingsError, match="fhir_token_url"):
        make_settings(sqlite_url, fhir_token_url="ftp://x")
