"""Who holds a lease (the sync worker's, the message sender's): a name for this process, and
whether a named holder on this host has died, so that its successor need not wait it out."""

from __future__ import annotations

import os
import socket


def holder_name(kiosk_id: str) -> str:
    return f"{kiosk_id}@{socket.gethostname()}:{os.getpid()}"[:128]


def holder_gone(holder: str) -> bool:
    """True when ``holder`` names a process on this host that no longer runs (killed, or
    crashed before giving its lease back): its successor need not wait out the lease. A
    holder on another host, or a process id now used by another process, is waited out."""
    place, _, pid = holder.rpartition(":")
    host = place.partition("@")[2]
    if host != socket.gethostname() or not pid.isdecimal():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, under another user
        return False
    return False
