"""Logging for every command: plain text or JSON lines, on stderr (the journal under systemd)
and, with ``log_dir``, in a rotated file per command.

No patient data, ever: messages are written with ids, counts and reasons only, and an
exception's *message* is never written (a ``KeyError`` or a database error may quote what a
patient typed); its type and where it happened are, which is what IT needs to report it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import threading
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from kiosk.base.paths import open_private, private_dir
from kiosk.base.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MEGABYTE = 1024 * 1024
# The logger of exceptions nothing caught; the monitor counts its records.
UNEXPECTED = "kiosk.unexpected"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def where(trace: TracebackType | None, depth: int = 6) -> str:
    """File, line and function of the innermost frames, innermost first: no source lines,
    no values."""
    frames = traceback.extract_tb(trace)[-depth:]
    return " <- ".join(f"{Path(frame.filename).name}:{frame.lineno} {frame.name}"
                       for frame in reversed(frames)) or "?"


def describe_exception(info: ExcInfo | tuple[None, None, None]) -> str:
    kind, error, trace = info
    if kind is None:
        return ""
    return f"{kind.__module__}.{kind.__qualname__} at {where(trace)} ({_safe_detail(error)})"


def _safe_detail(error: BaseException | None) -> str:
    """What can be said of an exception without its message: for a missing module its name,
    for a file error the error and the file (a module or a path is not patient data)."""
    if isinstance(error, ImportError) and error.name:
        return f"module {error.name!r} is missing: pip install --upgrade lobby-kiosk"
    if isinstance(error, OSError) and error.strerror:
        place = f": {error.filename}" if isinstance(error.filename, str) else ""
        return f"{error.strerror}{place}"
    return "message withheld"


class TextFormatter(logging.Formatter):
    """The usual one-line text, with exceptions reduced to type and place."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        # logging caches the first handler's exception text on the record; ours must not
        # reuse another formatter's (full) text, nor leave ours behind for it.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

    def formatException(self, ei: Any) -> str:
        return "  " + describe_exception(ei)

    def formatStack(self, stack_info: str) -> str:
        return ""  # stack_info=True lines are code, but nothing here asks for them


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the command,
    the kiosk; ``exception`` when there was one (type and place only). A fixed set of keys:
    ``extra=`` values are not copied, so nothing slips in unseen."""

    def __init__(self, settings: Settings, command: str) -> None:
        super().__init__()
        self.fixed = {"site": settings.site_id, "kiosk": settings.kiosk_id, "command": command}

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **self.fixed,
            "thread": record.threadName,
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = describe_exception(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _Ours(logging.Handler):
    """The handlers this module adds (configuring again replaces them). When a record cannot
    be written (a format mistake, a failed rotation), logging would print the record's
    arguments to stderr, and those may be a patient's: say only where it came from."""

    def handleError(self, record: logging.LogRecord) -> None:
        kind = sys.exc_info()[0]
        sys.stderr.write(f"kiosk: a log record from {record.name} ({record.pathname}:"
                         f"{record.lineno}) could not be written: "
                         f"{kind.__name__ if kind else '?'}\n")


class _StreamHandler(_Ours, logging.StreamHandler[TextIO]):
    pass


def _file_handler(path: Path, settings: Settings) -> logging.Handler:
    # logging.handlers (and the socket module it loads) only where a log file is configured.
    from logging.handlers import RotatingFileHandler

    class FileHandler(_Ours, RotatingFileHandler):
        def _open(self) -> io.TextIOWrapper:
            # Logs hold no patient data, yet they say who worked when: 0600, like the database.
            descriptor = open_private(Path(self.baseFilename), os.O_WRONLY | os.O_APPEND)
            return open(descriptor, "a", encoding=self.encoding, errors=self.errors)

    return FileHandler(path, maxBytes=settings.log_max_megabytes * MEGABYTE,
                       backupCount=settings.log_backups, encoding="utf-8")


def log_file(settings: Settings, command: str) -> Path | None:
    return Path(settings.log_dir) / f"{command}.log" if settings.log_dir else None


def configure(settings: Settings, command: str) -> None:
    """Set up logging for ``command`` (run, sync, reception...). Safe to call again: our
    handlers are replaced, anyone else's (a test harness's) are kept."""
    root = logging.getLogger()
    formatter: logging.Formatter = JsonFormatter(settings, command) \
        if settings.log_format == "json" else TextFormatter()
    for old in [handler for handler in root.handlers if isinstance(handler, _Ours)]:
        root.removeHandler(old)
        old.close()
    others = root.handlers[:]
    if not others:  # stderr, unless something else (a test harness) already collects logs
        stream = _StreamHandler(sys.stderr)
        stream.setFormatter(formatter)
        root.addHandler(stream)
    path = log_file(settings, command)
    if path is not None:
        try:
            private_dir(path.parent)
            to_file = _file_handler(path, settings)
        except OSError as problem:
            print(f"kiosk: cannot write the log file {path} ({problem.strerror}); "
                  "logging to stderr only", file=sys.stderr)
        else:
            to_file.setFormatter(formatter)
            root.addHandler(to_file)
    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level)
    # Alembic announces every start, even when there is nothing to migrate.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, level))
    install_exception_hooks()


def install_exception_hooks() -> None:
    """Exceptions nothing caught (in the main thread or any other) are logged the same way,
    type and place only, instead of Python's traceback with the message on stderr."""
    unexpected = logging.getLogger(UNEXPECTED)

    def on_exception(kind: type[BaseException], error: BaseException,
                     trace: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, error, trace)
            return
        unexpected.error("unexpected %s", kind.__name__, exc_info=(kind, error, trace))

    def on_thread_exception(args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread else "?"
        unexpected.error("unexpected %s in thread %s", args.exc_type.__name__, name,
                         exc_info=(args.exc_type, args.exc_value or args.exc_type(),
                                   args.exc_traceback))

    sys.excepthook = on_exception
    threading.excepthook = on_thread_exception
