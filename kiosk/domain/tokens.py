"""QR check-in tokens: format, signing, verification and rendering.

Format, version 1 (``LK1``)::

    "LK1" + BASE32(body)            37 characters, upper-case letters and digits 2-7 only
    body = version (1 byte, 0x01)
         | day     (2 bytes, big-endian: days since 2000-01-01 of the appointment's local date)
         | tag     (8 bytes: HMAC-SHA256(secret, "tag|" + site id + "|" + appointment id)[:8])
         | mac     (10 bytes: HMAC-SHA256(secret, "mac|" + site id + "|" + version|day|tag)[:10])

* Opaque: the tag is derived from the appointment's external id with the site secret; nobody
  without the secret can tell which appointment (or whose) a code belongs to. No patient data.
* Bound to one site (its secret and id are in the MAC), one appointment (the tag) and one day.
* Small: every character is in QR "alphanumeric" mode, so the code fits a version 2 symbol
  (25 x 25 modules) at error correction M; a scanner types it without layout surprises
  (no lower case, no punctuation that moves between keyboard layouts).
* Verification is constant-time (``hmac.compare_digest``) and looks at nothing longer than a
  token, so 10 kB of pasted text costs nothing.

A code that fails any check is ``invalid_code``; the caller never learns which check failed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import struct
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

PREFIX = "LK1"
VERSION = 1
EPOCH = date(2000, 1, 1)
TAG_BYTES = 8
MAC_BYTES = 10
BODY_BYTES = 1 + 2 + TAG_BYTES + MAC_BYTES
TOKEN_LENGTH = len(PREFIX) + (BODY_BYTES * 8 + 4) // 5  # 37


class InvalidToken(ValueError):
    """Not a token of this site for any appointment: the kiosk says ``invalid_code``."""


@dataclass(frozen=True)
class TokenClaims:
    day: date
    tag: bytes


QUICK_MASK = 2  # qr_code(quick=True): vertical stripes every third column, a common choice


def appointment_tag(secret: bytes, site_id: str, appointment_external_id: str) -> bytes:
    message = f"tag|{site_id}|{appointment_external_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).digest()[:TAG_BYTES]


def _mac(secret: bytes, site_id: str, signed: bytes) -> bytes:
    return hmac.new(secret, b"mac|" + site_id.encode() + b"|" + signed,
                    hashlib.sha256).digest()[:MAC_BYTES]


def issue(secret: bytes, site_id: str, appointment_external_id: str, day: date) -> str:
    offset = (day - EPOCH).days
    if not 0 <= offset < 2**16:
        raise ValueError(f"date {day} is outside what a token can carry")
    signed = struct.pack(">BH", VERSION, offset) + appointment_tag(
        secret, site_id, appointment_external_id)
    body = signed + _mac(secret, site_id, signed)
    return PREFIX + base64.b32encode(body).decode("ascii").rstrip("=")


def verify(token: str, secret: bytes, site_id: str) -> TokenClaims:
    """Check a scanned payload; return what it claims or raise InvalidToken."""
    text = token.strip()
    if len(text) != TOKEN_LENGTH:
        raise InvalidToken("length")
    text = text.upper()
    if not text.startswith(PREFIX):
        raise InvalidToken("prefix")
    encoded = text[len(PREFIX):]
    try:
        body = base64.b32decode(encoded + "=" * (-len(encoded) % 8))
    except (binascii.Error, ValueError):
        raise InvalidToken("encoding") from None
    if len(body) != BODY_BYTES or base64.b32encode(body).decode().rstrip("=") != encoded:
        # The last Base32 character has spare bits: only the one spelling issued is valid.
        raise InvalidToken("encoding")
    signed, mac = body[: -MAC_BYTES], body[-MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(secret, site_id, signed)):
        raise InvalidToken("signature")
    version, offset = struct.unpack(">BH", signed[:3])
    if version != VERSION:
        raise InvalidToken("version")
    return TokenClaims(day=EPOCH + timedelta(days=offset), tag=signed[3:])


def qr_code(token: str, *, quick: bool = False) -> Any:  # qrcode ships no types
    """The QR code of a token (qrcode), for files and for screens that show it. ``quick``
    (thousands of emails a pass): one fixed mask instead of qrcode's search for the best of
    eight, which takes four fifths of the time; any mask is a valid code that reads the same
    (the search only evens out dark and light areas a little)."""
    import qrcode  # imported here: only issuing codes needs it, not the check-in path
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=10, border=4,
                         mask_pattern=QUICK_MASK if quick else None)
    code.add_data(token)
    code.make(fit=True)
    return code


def qr_version(token: str) -> int:
    """The QR symbol version (size) the token needs; 2 means 25 x 25 modules."""
    return int(qr_code(token).version)


def write_png(token: str, path: Path) -> None:
    qr_code(token).make_image().save(str(path))


def write_svg(token: str, path: Path) -> None:
    from qrcode.image.svg import SvgPathImage

    buffer = io.BytesIO()
    qr_code(token).make_image(image_factory=SvgPathImage).save(buffer)
    path.write_bytes(buffer.getvalue())
