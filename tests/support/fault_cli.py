"""The ``kiosk`` command (``ui.launcher``) with a place to be killed inside the check-in's
write transaction, for the fault suite (tests/support/faults.py).

    python -m tests.support.fault_cli KIOSK-ARGUMENTS...

With ``KIOSK_FAULT_PAUSE_AT`` set, the process stops inside the check-in transaction and waits
to be killed, after it has created the file ``KIOSK_FAULT_MARK``:

* ``visit``: right after the INSERT of the visit (the ticket number taken, nothing else
  written yet);
* ``outbox``: after the flush that writes the visit's write-back (outbox) row and audit
  record, before the commit.

Nothing is changed in the product: the hooks are SQLAlchemy events registered from here, and
the command that runs is the one a kiosk runs. Without the variable this is the plain command.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def _pause(mark: str) -> None:
    with open(mark, "w", encoding="utf-8") as file:
        file.write(str(os.getpid()))
    time.sleep(120)  # the test kills us long before
    os._exit(99)  # never reached when the test does its job: a commit must not follow


def install(where: str, mark: str) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    if where == "visit":
        @event.listens_for(Engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("INSERT INTO VISIT"):
                _pause(mark)
    elif where == "outbox":
        from kiosk.store.models import OutboxItem

        @event.listens_for(Session, "after_flush")
        def _flushed(session: Session, _context: Any) -> None:
            if any(isinstance(item, OutboxItem) for item in session.new):
                _pause(mark)
    else:
        raise SystemExit(f"KIOSK_FAULT_PAUSE_AT: unknown place {where!r}")


def main() -> int:
    where = os.environ.get("KIOSK_FAULT_PAUSE_AT")
    if where:
        install(where, os.environ["KIOSK_FAULT_MARK"])
    from ui.launcher import main as kiosk_main

    return kiosk_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
