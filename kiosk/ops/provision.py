"""The config file IT keeps on each machine: a documented sample of every setting
(``kiosk config sample``, ``packaging/kiosk.toml.sample``), and ``kiosk provision``, which
writes one from a few answers. Written with tomli-w; read back with the settings' own
validation before anything is saved."""

from __future__ import annotations

import contextlib
import os
import stat
import textwrap
from pathlib import Path
from typing import Any

import tomli_w

from kiosk.base.settings import Settings, describe, load_settings

HEADER = """\
# Lobby kiosk settings. One file per machine; every setting is optional.
#
# Where it is read from: --config FILE, else the KIOSK_CONFIG environment variable, else
# /etc/lobby-kiosk/kiosk.toml (C:\\ProgramData\\lobby-kiosk\\kiosk.toml on Windows).
# KIOSK_<NAME> environment variables override the file (secrets belong there, or in a
# file only root and the kiosk user can read). Site-wide settings that an admin sets at
# reception (languages, default_language, welcome_message, target_wait_minutes,
# late_after_minutes, checkin_opens_minutes, board_names) override this file.
# `kiosk config show` prints the effective settings; `kiosk doctor` checks them.
"""


def _toml_value(name: str, value: Any) -> str:
    if isinstance(value, tuple | list):  # on one line: tomli-w spreads arrays over several
        items = ", ".join(tomli_w.dumps({"x": item}).strip()[4:] for item in value)
        return f"{name} = [{items}]"
    return tomli_w.dumps({name: value}).strip()


def _documented(exclude: frozenset[str] = frozenset()) -> list[str]:
    lines: list[str] = []
    for name, kind, default, doc in describe():
        if name in exclude:
            continue
        lines += [f"# {line}" for line in textwrap.wrap(doc, 92)]
        lines += [f"# ({kind})", f"# {_toml_value(name, default)}", ""]
    return lines


def sample_config() -> str:
    """Every setting with its meaning, type and default, commented out."""
    return "\n".join([HEADER, *_documented()])


def render(values: dict[str, Any]) -> str:
    """A config file with ``values`` set, then every other setting documented."""
    chosen = [_toml_value(name, value) for name, value in values.items()]
    return "\n".join([HEADER, "# Written by `kiosk provision`.", *chosen, "",
                      "# ---- the other settings, at their defaults ----", "",
                      *_documented(frozenset(values))])


def provision(values: dict[str, Any], path: Path, *, force: bool = False) -> Settings:
    """Check ``values`` as the kiosk will at start, then write ``path`` (0640: it may name
    the database). Refuses to replace a file unless ``force``; a replaced file keeps its
    owner, group and mode (the installer's root:kiosk 0640), so the kiosk can still read it."""
    settings = load_settings(overrides=values, environ={})  # SettingsError names the problem
    previous = path.stat() if path.exists() else None
    if previous is not None and not force:
        raise FileExistsError(f"{path} exists (use --force to replace it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)  # left by a run killed half way
    # Created 0640 (never readable by others, whatever the umask, even for a moment).
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o640 if previous is None
                  else stat.S_IMODE(previous.st_mode) & 0o770)
        if previous is not None:
            with contextlib.suppress(PermissionError):  # only root can give a file away
                os.fchown(out.fileno(), previous.st_uid, previous.st_gid)
        out.write(render(values))
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)  # whole or not at all
    assert load_settings(path, environ={}) == settings
    return settings
