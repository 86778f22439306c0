"""Every setting of the kiosk, declared once: name, type, default and meaning.

Values come from, in rising priority: the defaults below, a TOML file (``--config FILE`` or
``KIOSK_CONFIG``), and ``KIOSK_<NAME>`` environment variables. A bad value stops start-up with a
message that names the key and the expected form (:class:`SettingsError`).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kiosk.base.i18n import STAFF_LANGUAGES

ENV_PREFIX = "KIOSK_"
CONFIG_ENV = "KIOSK_CONFIG"
MASK = "********"


class SettingsError(ValueError):
    """A setting has a value the kiosk cannot use; the message says which and why."""


def _setting(default: Any, doc: str, *, secret: bool = False, check: Callable[[Any], str | None]
             | None = None) -> Any:
    return field(default=default, metadata={"doc": doc, "secret": secret, "check": check})


def _positive(value: int | float) -> str | None:
    return None if 0 < value < 1e9 else "a number greater than 0 (and finite)"


def _not_negative(value: int | float) -> str | None:
    return None if value >= 0 else "a number of 0 or more"


def _secret(value: str) -> str | None:
    return None if value == "" or len(value) >= 16 else "empty, or at least 16 characters"


def _wait_model(value: str) -> str | None:
    return None if value in ("eta", "simple") else "'eta' or 'simple'"


def _calling_rule(value: str) -> str | None:
    return None if value in ("booked_first", "arrival") else "'booked_first' or 'arrival'"


def _timezone(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return "an IANA time zone name such as 'Europe/Berlin' or 'America/New_York'"
    return None


_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _identifier(value: str) -> str | None:
    if _IDENT.fullmatch(value):
        return None
    return "letters, digits, '.', '_' or '-' (1 to 64 characters)"


def _ticket_prefix(value: str) -> str | None:
    ok = re.fullmatch(r"[A-Z]{1,3}", value)
    return None if ok else "1 to 3 capital letters A-Z, such as 'K'"


def _language(value: str) -> str | None:
    if re.fullmatch(r"[a-z]{2,3}(_[A-Za-z]{2,4})?", value):
        return None
    return "a language code such as 'en' or 'zh_Hant'"


def _languages(value: tuple[str, ...]) -> str | None:
    bad = [item for item in value if _language(item)]
    if bad or not value:
        return f"a list of language codes such as ['en', 'es'] (not {bad})"
    return None


def _log_level(value: str) -> str | None:
    levels = ("DEBUG", "INFO", "WARNING", "ERROR")
    return None if value.upper() in levels else "one of " + ", ".join(levels)


def _log_format(value: str) -> str | None:
    return None if value in ("text", "json") else "'text' or 'json'"


def _monitor_address(value: str) -> str | None:
    host, _, port = value.rpartition(":")
    if value == "" or (host and port.isdigit() and int(port) < 65535
                       and re.fullmatch(r"[A-Za-z0-9.\-]+", host)):
        return None
    return ("empty (off), or HOST:PORT such as '127.0.0.1:9464' (an IPv4 address or a name; "
            "a port below 65535)")


def _database_url(value: str) -> str | None:
    if value == "" or re.match(r"^(sqlite|postgresql|postgres)(\+\w+)?://", value):
        return None
    return "empty (the embedded SQLite file) or a URL such as 'postgresql://user@host/kiosk'"


def _http_url(value: str) -> str | None:
    if value == "" or re.match(r"^https?://[^/\s]+", value):
        return None
    return "empty, or an http(s) URL such as 'https://ehr.example.org/fhir'"


def _references(value: tuple[str, ...]) -> str | None:
    bad = [item for item in value if not re.fullmatch(r"Location/[A-Za-z0-9\-.]{1,64}", item)]
    return f"a list of references such as ['Location/main'] (not {bad})" if bad else None


def _fhir_auth(value: str) -> str | None:
    return None if value in ("none", "bearer", "smart") else "'none', 'bearer' or 'smart'"


def _staff_language(value: str) -> str | None:

    return None if value in STAFF_LANGUAGES else "one of " + ", ".join(STAFF_LANGUAGES)


def _short_text(value: str) -> str | None:
    fits = len(value) <= 200 and "\n" not in value
    return None if fits else "one line of 200 characters or fewer"


def _hide_cursor(value: str) -> str | None:
    return None if value in ("touch", "always", "never") else "'touch', 'always' or 'never'"


def _board_names(value: str) -> str | None:
    return None if value in ("none", "initials") else "'none' or 'initials'"


def _write_mode(value: str) -> str | None:
    return None if value in ("put", "patch") else "'put' or 'patch'"


def _sms_gateway(value: str) -> str | None:
    return None if value in ("none", "kannel", "twilio") else "'none', 'kannel' or 'twilio'"


def _country_code(value: str) -> str | None:
    ok = value == "" or re.fullmatch(r"[1-9][0-9]{0,2}", value)
    return None if ok else "empty, or a country calling code of 1 to 3 digits such as '44' or '1'"


def _smtp_url(value: str) -> str | None:
    if value == "" or re.fullmatch(r"smtps?://([^@/\s:]+@)?[^@/\s:]+(:\d{1,5})?/?", value):
        return None
    return ("empty (no email), or 'smtp://[user@]host[:port]' (STARTTLS) or "
            "'smtps://[user@]host[:port]' (TLS from the start); the password is smtp_password")


def _email_address(value: str) -> str | None:
    if value == "" or re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", value):
        return None
    return "empty, or an address such as 'appointments@practice.example.org'"


def _quiet_hours(value: str) -> str | None:
    if value == "" or re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
        return None
    return "empty (none), or 'HH:MM-HH:MM' in the practice's time, such as '21:00-08:00'"


@dataclass(frozen=True)
class Settings:
    """The effective settings. Field order is the order ``kiosk config show`` prints."""

    site_id: str = _setting(
        "main", "Identifier of the practice site; QR codes are bound to it.", check=_identifier)
    site_name: str = _setting("Lobby Medical Practice", "Name of the practice shown on screens.")
    location_id: str = _setting(
        "main", "External id of the location this kiosk serves.", check=_identifier)
    kiosk_id: str = _setting(
        "kiosk-1", "Name of this kiosk in logs, audit records and reception.", check=_identifier)
    database_url: str = _setting(
        "", "Database URL; empty means a SQLite file in the user data folder.",
        secret=True, check=_database_url)
    timezone: str = _setting("UTC", "The practice's time zone (IANA name).", check=_timezone)
    qr_secret: str = _setting(
        "", "Site secret that signs QR codes (at least 16 characters); empty means the one "
        "generated in the database. Setting it re-keys the site: codes issued before stop "
        "working.", secret=True, check=_secret)
    checkin_opens_minutes: int = _setting(
        60, "Check-in opens this many minutes before the appointment.", check=_not_negative)
    late_after_minutes: int = _setting(
        15, "Arriving more than this many minutes late flags the patient for reception.",
        check=_not_negative)
    lockout_attempts: int = _setting(
        5, "Failed name and date-of-birth attempts that pause name check-in on a kiosk...",
        check=_positive)
    lockout_window_minutes: int = _setting(
        10, "...within this many minutes...", check=_positive)
    lockout_minutes: int = _setting(
        2, "...for this many minutes (QR check-in keeps working); each further pause within "
        "an hour doubles it...", check=_positive)
    lockout_max_minutes: int = _setting(
        15, "...up to this many minutes.", check=_positive)
    target_wait_minutes: int = _setting(
        15, "The practice's target wait from check-in to being called.", check=_positive)
    consultation_minutes: float = _setting(
        15.0, "Typical consultation length, until a provider has history of their own.",
        check=_positive)
    wait_model: str = _setting(
        "eta", "Wait estimate shown: 'eta' (the practice's book, pace and history) or "
        "'simple' (place in line times a typical consultation).", check=_wait_model)
    calling_rule: str = _setting(
        "booked_first", "How providers choose whom to call, for the wait estimates: "
        "'booked_first' (booked patients whose time has come go first; walk-ins fill the "
        "gaps) or 'arrival' (everyone in one line: the appointment time for those on time, the "
        "arrival for late patients and walk-ins).", check=_calling_rule)
    ticket_prefix: str = _setting("K", "Letters in front of ticket numbers.", check=_ticket_prefix)
    default_language: str = _setting(
        "en", "Language the kiosk returns to after each patient.", check=_language)
    languages: tuple[str, ...] = _setting(
        ("en", "es", "zh_Hans", "zh_Hant", "vi", "tl", "ko", "ar", "ru", "fr", "ht", "pt", "hi",
         "fa", "pl"),
        "Languages offered to patients, in the order shown.", check=_languages)
    welcome_message: str = _setting(
        "", "A short note for patients on the welcome screen, shown as written in every "
        "language (say, 'Flu vaccinations today without appointment'); empty: none.",
        check=_short_text)
    reach_layout: bool = _setting(
        False, "On a tall (portrait) screen, keep every control in its lower part, within "
        "reach from a wheelchair.")
    speak_guidance: bool = _setting(
        False, "Read each screen aloud in the patient's language where a text-to-speech "
        "engine exists.")
    hide_cursor: str = _setting(
        "touch", "`kiosk run` hides the mouse cursor: 'touch' (when a touch screen is found), "
        "'always' or 'never'.", check=_hide_cursor)
    fhir_base_url: str = _setting(
        "", "Base URL of the practice system's FHIR R4 API; empty: no schedule sync.",
        check=_http_url)
    fhir_location: tuple[str, ...] = _setting(
        (), "FHIR Location references whose appointments this site pulls, such as "
        "['Location/main']; empty: Location/<location_id>.", check=_references)
    fhir_page_size: int = _setting(
        100, "Resources per page asked of the FHIR server (_count).", check=_positive)
    fhir_poll_seconds: int = _setting(
        60, "Seconds between schedule syncs.", check=_positive)
    fhir_timeout_seconds: float = _setting(
        10.0, "Seconds to wait for the FHIR server to connect or answer, per request.",
        check=_positive)
    fhir_auth: str = _setting(
        "none", "How the kiosk signs in to the FHIR server: 'none', 'bearer' (a fixed token) "
        "or 'smart' (SMART Backend Services: a JWT signed with the kiosk's private key).",
        check=_fhir_auth)
    fhir_token: str = _setting(
        "", "Bearer token (or set fhir_token_file).", secret=True)
    fhir_token_file: str = _setting(
        "", "File holding the bearer token (read at each sync, so it can be rotated).")
    fhir_client_id: str = _setting(
        "", "SMART: the client id the practice system registered for this site.")
    fhir_private_key_file: str = _setting(
        "", "SMART: PEM file of the private key (RSA of 2048+ bits: RS384; EC P-384: ES384).")
    fhir_private_key: str = _setting(
        "", "SMART: the PEM private key itself, for the environment (instead of the file).",
        secret=True)
    fhir_key_id: str = _setting(
        "", "SMART: the key's id ('kid') in the JWK set registered with the practice system.")
    fhir_token_url: str = _setting(
        "", "SMART: the token endpoint; empty: read from the server's "
        ".well-known/smart-configuration.", check=_http_url)
    fhir_scope: str = _setting(
        "system/Appointment.rsu system/Patient.rs system/Practitioner.rs system/Location.rs "
        "system/Encounter.cr", "SMART: the scopes asked for (SMART v2 syntax).")
    fhir_ca_bundle: str = _setting(
        "", "File of CA certificates (PEM) to trust for the FHIR server and its token "
        "endpoint. Empty: on Linux the system's CA file (/etc/ssl/certs/ca-certificates.crt, "
        "which update-ca-certificates writes, or /etc/pki/tls/certs/ca-bundle.crt); on Windows "
        "and macOS (or without that file) certifi's list, not the system store: set this file "
        "for a practice CA there.")
    fhir_verify_tls: bool = _setting(
        True, "Verify the FHIR server's TLS certificate (turn off only on a test bench).")
    fhir_write_mode: str = _setting(
        "put", "How a check-in is written back: 'put' (the whole Appointment) or 'patch' "
        "(JSON Patch).", check=_write_mode)
    fhir_create_encounter: bool = _setting(
        False, "Also create an Encounter (status arrived) for each check-in.")
    # -- text messages: the SMS gateway (kiosk/messages/sms.py, kiosk/messages/inbound.py) --
    sms_gateway: str = _setting(
        "none", "How text messages go out: 'none', 'kannel' (Kannel's HTTP sendsms on "
        "smsbox) or 'twilio' (Twilio's REST API, or a provider with the same interface).",
        check=_sms_gateway)
    sms_url: str = _setting(
        "", "Kannel: smsbox's sendsms URL, such as 'http://127.0.0.1:13013/cgi-bin/sendsms' "
        "(a URL without a path gets /cgi-bin/sendsms). Twilio: the API's base URL; empty: "
        "'https://api.twilio.com'.", check=_http_url)
    sms_username: str = _setting(
        "", "Kannel: the sendsms-user's username. Twilio: the account SID.")
    sms_password: str = _setting(
        "", "Kannel: the sendsms-user's password. Twilio: the auth token (it also checks "
        "the signature of incoming texts).", secret=True)
    sms_from: str = _setting(
        "", "The practice's number texts come from (E.164, such as '+441632960000'), or a "
        "sender name the gateway allows; empty: the gateway's own default (Kannel only).")
    sms_default_country_code: str = _setting(
        "", "Country calling code for numbers written without '+' (a leading 0 is the "
        "national prefix), such as '44'; empty: such numbers are refused.",
        check=_country_code)
    sms_timeout_seconds: float = _setting(
        10.0, "Seconds to wait for the SMS gateway to connect or answer, per text.",
        check=_positive)
    sms_inbound_address: str = _setting(
        "", "Receive texts patients send on HOST:PORT, such as '127.0.0.1:8471' (Kannel's "
        "sms-service get-url, or a Twilio webhook behind a TLS proxy). Empty: off.",
        check=_monitor_address)
    sms_inbound_secret: str = _setting(
        "", "Shared secret Kannel's get-url sends as ?secret=... (at least 16 characters); "
        "empty: the Kannel endpoint refuses every request.", secret=True, check=_secret)
    sms_inbound_public_url: str = _setting(
        "", "Twilio: the URL exactly as configured at Twilio for incoming texts (its "
        "signature covers it), such as 'https://kiosk.example.org/sms/twilio'; empty: this "
        "server's own address.", check=_http_url)
    sms_inbound_per_minute: int = _setting(
        5, "Texts one sender may send per minute; beyond that they get no answer.",
        check=_positive)
    staff_language: str = _setting(
        "en", "Language of the reception window and the day report: 'en', 'ar', 'es' or "
        "'zh_Hans'.", check=_staff_language)
    reception_lock_minutes: int = _setting(
        5, "Reception's window locks itself after this many idle minutes.", check=_positive)
    board_names: str = _setting(
        "none", "What the lobby board shows beside a ticket: 'none', or 'initials' (given "
        "name and the family name's initial).", check=_board_names)
    board_announce: bool = _setting(
        False, "The lobby board also speaks each call, in the patient's language, where a "
        "text-to-speech engine exists (a chime sounds either way).")
    retention_days: int = _setting(
        1, "Patient data (names, birth dates, appointments) is deleted after the end of its "
        "day plus this many days; 1: at the end of the next day. Visits stay, anonymous.",
        check=_not_negative)
    smtp_url: str = _setting(
        "", "Email to patients goes through this SMTP server: 'smtp://[user@]host[:port]' "
        "(STARTTLS when offered) or 'smtps://[user@]host[:port]' (TLS from the start); the "
        "user signs in with smtp_password. Empty: no email.", check=_smtp_url)
    smtp_password: str = _setting(
        "", "The SMTP user's password (with a user in smtp_url).", secret=True)
    smtp_require_tls: bool = _setting(
        True, "Refuse to send email over a connection without TLS (an smtp:// server that "
        "offers no STARTTLS). Turn off only for a relay on this machine.")
    smtp_ca_file: str = _setting(
        "", "File of CA certificates (PEM) to trust for the SMTP server; empty: as for "
        "fhir_ca_bundle, the system's CA file.")
    smtp_timeout_seconds: float = _setting(
        20.0, "Seconds to wait for the SMTP server to connect or answer.", check=_positive)
    message_from: str = _setting(
        "", "The From address of email to patients (the practice's); needed with smtp_url.",
        check=_email_address)
    send_confirmations: bool = _setting(
        True, "Send a confirmation when an appointment booked ahead is first seen.")
    reminder_hours: int = _setting(
        24, "Send a reminder this many hours before each appointment; 0: no reminders.",
        check=_not_negative)
    quiet_hours: str = _setting(
        "21:00-08:00", "Confirmations and reminders falling in these hours (the practice's "
        "time, 'HH:MM-HH:MM') wait for their end; empty: none.", check=_quiet_hours)
    messages_poll_seconds: int = _setting(
        30, "Seconds between the passes of `kiosk messages --watch`.", check=_positive)
    log_level: str = _setting("INFO", "Log level: DEBUG, INFO, WARNING or ERROR.", check=_log_level)
    log_format: str = _setting(
        "text", "Log lines as 'text', or 'json' (one JSON object per line).", check=_log_format)
    log_dir: str = _setting(
        "", "Folder for log files, one per command (run.log, sync.log...), rotated by size; "
        "empty: stderr only (the journal under systemd).")
    log_max_megabytes: int = _setting(
        10, "A log file is rotated when it reaches this size.", check=_positive)
    log_backups: int = _setting(
        5, "Rotated log files kept per command (run.log.1 ...).", check=_not_negative)
    monitor_address: str = _setting(
        "", "Serve /healthz and /metrics (Prometheus) on HOST:PORT, such as "
        "'127.0.0.1:9464'; `kiosk sync --watch` uses the next port (port 0: any free one, "
        "logged). Empty: off. No patient data is served; keep it on a trusted network.",
        check=_monitor_address)

    def replace(self, **changes: Any) -> Settings:
        return load_settings(overrides={**self.as_dict(), **changes}, environ={})

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def shown(self) -> dict[str, Any]:
        """The settings as ``config show`` prints them: secrets masked when set."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            value = list(value) if isinstance(value, tuple) else value
            out[f.name] = MASK if f.metadata["secret"] and value else value
        return out


def markdown_table() -> list[str]:
    """The settings as the README's table rows (``kiosk config describe`` prints them)."""
    import json

    rows = []
    for name, kind, default, doc in describe():
        shown = list(default) if isinstance(default, tuple) else default
        rows.append(f"| `{name}` | {kind} | `{json.dumps(shown, ensure_ascii=False)}` | {doc} |")
    return rows


def describe() -> list[tuple[str, str, Any, str]]:
    """(name, type, default, description) of every setting, for docs and the sample config."""
    return [(f.name, _type_name(f), f.default, f.metadata["doc"])
            for f in dataclasses.fields(Settings)]


TYPE_NAMES = {"str": "text", "int": "whole number", "float": "number", "bool": "true/false",
              "tuple[str, ...]": "list of text"}


def _type_name(f: dataclasses.Field[Any]) -> str:
    return TYPE_NAMES[str(f.type)]


def _convert(f: dataclasses.Field[Any], raw: Any, source: str) -> Any:
    """Turn a TOML value or an environment string into the field's type, or explain why not."""
    kind = str(f.type)
    expected = {"str": "text", "int": "a whole number", "float": "a number",
                "bool": "true or false", "tuple[str, ...]": "a list of text"}[kind]

    def fail(form: str) -> SettingsError:
        shown = "a value that is not shown (secret)" if f.metadata["secret"] else repr(raw)
        return SettingsError(f"setting '{f.name}' ({source}): expected {form}, got {shown}")

    from_env = isinstance(raw, str) and source.startswith(ENV_PREFIX)
    value: Any
    if kind == "str":
        if not isinstance(raw, str):
            raise fail(expected)
        value = raw
    elif kind == "bool":
        if from_env:
            lowered = raw.strip().lower()
            if lowered not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise fail(expected)
            value = lowered in ("1", "true", "yes", "on")
        elif isinstance(raw, bool):
            value = raw
        else:
            raise fail(expected)
    elif kind in ("int", "float"):
        if isinstance(raw, bool):
            raise fail(expected)
        try:
            if from_env:
                value = int(raw) if kind == "int" else float(raw)
            elif kind == "int" and isinstance(raw, int):
                value = raw
            elif kind == "float" and isinstance(raw, int | float):
                value = float(raw)
            else:
                raise ValueError
        except ValueError:
            raise fail(expected) from None
    elif kind == "tuple[str, ...]":
        if from_env:
            raw_items: Any = [item.strip() for item in raw.split(",") if item.strip()]
        else:
            raw_items = raw
        if not isinstance(raw_items, list | tuple) or not all(
                isinstance(item, str) for item in raw_items):
            raise fail(expected + " (in the environment: comma-separated)")
        value = tuple(raw_items)
    else:  # pragma: no cover - a new type needs a converter here
        raise TypeError(f"no converter for {kind}")

    check = f.metadata["check"]
    problem = check(value) if check else None
    if problem:
        raise fail(problem)
    return value


def system_config_file() -> Path:
    """Where IT puts the config file (``kiosk provision`` writes it there)."""
    if os.name == "nt":
        return Path(os.environ.get("PROGRAMDATA", r"C:\ProgramData")) / "lobby-kiosk" / \
            "kiosk.toml"
    return Path("/etc/lobby-kiosk/kiosk.toml")


def config_path_from(explicit: str | os.PathLike[str] | None,
                     environ: Mapping[str, str]) -> Path | None:
    """``--config``, else ``KIOSK_CONFIG``, else the system file when it exists."""
    if explicit:
        return Path(explicit)
    from_env = environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    system = system_config_file()
    return system if environ is os.environ and system.is_file() else None


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise SettingsError(f"config file {path} is a folder, not a file") from None
    except PermissionError:
        raise SettingsError(
            f"config file {path} cannot be read by this user (uid {os.getuid()}): "
            "check its owner, group and mode (the installer makes it root:kiosk 0640)"
        ) from None
    except OSError as error:
        raise SettingsError(f"config file {path} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from None
    # Settings may sit at the top level or under a [kiosk] table.
    nested = data.pop("kiosk", {})
    if not isinstance(nested, dict):
        raise SettingsError(f"config file {path}: [kiosk] must be a table")
    return {**data, **nested}


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the effective settings: defaults < TOML file < environment < explicit overrides."""
    environ = os.environ if environ is None else environ
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}

    path = config_path_from(config_file, environ)
    if path is not None:
        for key, raw in read_toml(path).items():
            if key not in fields:
                raise SettingsError(
                    f"config file {path}: unknown setting '{key}' "
                    f"(known: {', '.join(sorted(fields))})")
            values[key] = _convert(fields[key], raw, f"in {path}")

    for name, f in fields.items():
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            values[name] = _convert(f, environ[env_name], env_name)

    for name, raw in (overrides or {}).items():
        if name not in fields:
            raise SettingsError(f"unknown setting '{name}'")
        values[name] = _convert(fields[name], raw, "override")

    settings = Settings(**values)
    if settings.default_language not in settings.languages:
        raise SettingsError(
            f"setting 'default_language': expected one of the offered languages "
            f"{settings.languages}, got {settings.default_language!r}")
    return settings
