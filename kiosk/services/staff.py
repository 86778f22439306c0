"""Staff who sign in to reception: a name and a PIN, the PIN kept only as a slow hash.

scrypt (Python's hashlib, OpenSSL underneath) with n=2**14, r=8: about 50 ms a guess on the
development machine, salted per member; the string holds its own cost so it can be raised
later. Five wrong PINs in a row lock the member for five minutes, so a PIN of 4-8 digits
cannot be guessed at the reception desk.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from kiosk.base.i18n import S_, Explained
from kiosk.store.audit import audit
from kiosk.store.models import StaffMember, StaffRole
from kiosk.store.site import SiteContext, ensure_site

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILURES = 5
LOCK_MINUTES = 5
PIN_PATTERN = re.compile(r"^[0-9]{4,8}$")
NAME_PATTERN = re.compile(r"^\S(.{0,62}\S)?$")


class StaffError(Explained, ValueError):
    """A staff member cannot be added or sign in; the message is safe to show and log."""


@dataclass(frozen=True)
class SignedIn:
    staff_id: int
    name: str
    role: StaffRole

    @property
    def is_admin(self) -> bool:
        return self.role == StaffRole.ADMIN


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                            dklen=32)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}$" \
           f"{encode(digest).decode()}"


def pin_matches(pin: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def check_pin(pin: str) -> str:
    if not PIN_PATTERN.match(pin):
        raise StaffError(S_("A PIN is 4 to 8 digits."))
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise StaffError(S_("Choose a PIN that is not all one digit or a run (1234)."))
    return pin


def add_staff(ctx: SiteContext, name: str, pin: str, *, admin: bool = False,
              actor: str = "cli") -> None:
    """Add a member, or give an existing one a new PIN (and role)."""
    name = " ".join(name.split())
    if not NAME_PATTERN.match(name):
        raise StaffError(S_("A staff name is 1 to 64 characters."))
    pin_hash = hash_pin(check_pin(pin))
    role = StaffRole.ADMIN if admin else StaffRole.STAFF
    with ctx.db.write() as session:
        ensure_site(session, ctx.settings, ctx.now())
        member = session.scalar(select(StaffMember).where(
            StaffMember.site_id == ctx.settings.site_id, StaffMember.name == name))
        if member is None:
            member = StaffMember(site_id=ctx.settings.site_id, name=name, role=role,
                                 pin_hash=pin_hash, active=True, failed_attempts=0,
                                 created_at=ctx.now())
            session.add(member)
        else:
            member.pin_hash, member.role, member.active = pin_hash, role, True
            member.failed_attempts, member.locked_until = 0, None
        session.flush()
        audit(session, ctx, actor, "staff_set", staff_id=member.id, role=role.value)


def remove_staff(ctx: SiteContext, name: str, *, actor: str = "cli") -> None:
    with ctx.db.write() as session:
        member = session.scalar(select(StaffMember).where(
            StaffMember.site_id == ctx.settings.site_id, StaffMember.name == name,
            StaffMember.active.is_(True)))
        if member is None:
            raise StaffError(S_("No staff member is called {name}."), name=name)
        member.active = False
        audit(session, ctx, actor, "staff_removed", staff_id=member.id)


def staff_names(ctx: SiteContext) -> list[tuple[str, StaffRole]]:
    with ctx.db.read() as session:
        return [(name, role) for name, role in session.execute(
            select(StaffMember.name, StaffMember.role).where(
                StaffMember.site_id == ctx.settings.site_id, StaffMember.active.is_(True))
            .order_by(StaffMember.name))]


@functools.cache
def _unknown_name_hash() -> str:
    """A hash to check a PIN against when the name is unknown: the same time as a real one."""
    return hash_pin("0000")


def sign_in(ctx: SiteContext, name: str, pin: str, *, where: str) -> SignedIn:
    """The member, or :class:`StaffError` saying (without hinting which part was wrong). The
    PIN is checked outside any transaction (the slow hash must not hold the write lock that
    check-ins wait for); the outcome is written after, in a short one."""
    now = ctx.now()
    wrong = S_("Wrong name or PIN.")
    with ctx.db.read() as session:
        member = session.scalar(select(StaffMember).where(
            StaffMember.site_id == ctx.settings.site_id, StaffMember.name == name,
            StaffMember.active.is_(True)))
    if member is None:
        pin_matches(pin, _unknown_name_hash())
        raise StaffError(wrong, minutes=0)
    if member.locked_until is not None and member.locked_until > now:
        minutes = max(1, round((member.locked_until - now).total_seconds() / 60))
        raise StaffError(S_("Too many wrong PINs: try again in {minutes} min."),
                         minutes=minutes)
    right = pin_matches(pin, member.pin_hash)
    with ctx.db.write() as session:
        current = session.get(StaffMember, member.id, with_for_update=True)
        assert current is not None  # members are deactivated, never deleted
        if right:
            current.failed_attempts, current.locked_until = 0, None
            audit(session, ctx, current.name, "staff_signed_in", where=where)
            return SignedIn(current.id, current.name, current.role)
        current.failed_attempts += 1
        if current.failed_attempts >= MAX_FAILURES:
            current.failed_attempts = 0
            current.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            audit(session, ctx, where, "staff_locked", staff_id=current.id)
            log.warning("reception %s: staff member %d locked after %d wrong PINs", where,
                        current.id, MAX_FAILURES)
        else:
            audit(session, ctx, where, "staff_wrong_pin", staff_id=current.id)
    raise StaffError(wrong, minutes=0)
