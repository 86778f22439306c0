"""QR tokens: small, opaque, bound to a site, an appointment and a day; nothing else passes."""

from __future__ import annotations

import base64
import string
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.domain import tokens

SECRET = b"s" * 32
DAY = date(2026, 11, 23)
TOKEN = tokens.issue(SECRET, "main", "appt-42", DAY)
QR_ALPHANUMERIC = set(string.digits + string.ascii_uppercase + " $%*+-./:")


def test_token_is_short_alphanumeric_and_carries_nothing_in_clear():
    assert len(TOKEN) == tokens.TOKEN_LENGTH == 37
    assert set(TOKEN) <= QR_ALPHANUMERIC
    assert tokens.qr_version(TOKEN) == 2  # 25 x 25 modules
    encoded = TOKEN[3:]
    body = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    assert b"appt" not in body and b"42" not in body
    assert b"main" not in body


def test_round_trip_gives_the_day_and_the_appointment_tag():
    claims = tokens.verify(TOKEN, SECRET, "main")
    assert claims.day == DAY
    assert claims.tag == tokens.appointment_tag(SECRET, "main", "appt-42")


def test_same_appointment_and_day_give_the_same_token_others_differ():
    assert tokens.issue(SECRET, "main", "appt-42", DAY) == TOKEN
    assert tokens.issue(SECRET, "main", "appt-43", DAY) != TOKEN
    assert tokens.issue(SECRET, "main", "appt-42", date(2026, 11, 24)) != TOKEN


@pytest.mark.parametrize("position", range(len(TOKEN)))
def test_changing_any_character_breaks_the_token(position):
    replacement = "A" if TOKEN[position] != "A" else "B"
    tampered = TOKEN[:position] + replacement + TOKEN[position + 1:]
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(tampered, SECRET, "main")


@pytest.mark.parametrize("appointment", [f"appt-{n}" for n in range(12)])
def test_only_the_issued_spelling_of_a_token_is_valid(appointment):
    """The last Base32 character carries spare bits; no other spelling may pass."""
    token = tokens.issue(SECRET, "main", appointment, DAY)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    for other in alphabet.replace(token[-1], ""):
        with pytest.raises(tokens.InvalidToken):
            tokens.verify(token[:-1] + other, SECRET, "main")


def test_another_sites_secret_or_id_is_refused():
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(TOKEN, b"t" * 32, "main")
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(TOKEN, SECRET, "other")


@given(st.text(max_size=200))
def test_arbitrary_text_is_refused_cleanly(text):
    if text.strip().upper() == TOKEN:
        return
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(text, SECRET, "main")


@given(st.binary(min_size=tokens.BODY_BYTES, max_size=tokens.BODY_BYTES))
def test_well_formed_tokens_with_forged_bodies_are_refused(body):
    import base64

    forged = tokens.PREFIX + base64.b32encode(body).decode().rstrip("=")
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(forged, SECRET, "main")


@given(st.binary(max_size=400))
def test_arbitrary_bytes_as_a_scanner_might_send_them_are_refused(raw):
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(raw.decode("latin-1"), SECRET, "main")


def test_png_and_svg_decode_back_to_the_token(tmp_path):
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp ships with the gui extra")
    from PIL import Image

    tokens.write_png(TOKEN, tmp_path / "code.png")
    tokens.write_svg(TOKEN, tmp_path / "code.svg")
    decoded = zxingcpp.read_barcodes(Image.open(tmp_path / "code.png"))
    assert [code.text for code in decoded] == [TOKEN]
    svg = (tmp_path / "code.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "path" in svg
