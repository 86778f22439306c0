"""Settings: declared once, read from TOML and the environment, refused clearly when wrong."""

from __future__ import annotations

import pytest

from kiosk.base.settings import MASK, Settings, SettingsError, describe, load_settings


def test_defaults_need_no_file():
    settings = load_settings(environ={})
    assert settings == Settings()
    assert settings.checkin_opens_minutes == 60
    assert settings.late_after_minutes == 15
    assert (settings.lockout_attempts, settings.lockout_window_minutes,
            settings.lockout_minutes, settings.lockout_max_minutes) == (5, 10, 2, 15)
    assert settings.target_wait_minutes == 15


def test_every_setting_has_a_description():
    for name, kind, _default, doc in describe():
        assert name and kind and len(doc) > 10


def test_toml_then_environment_then_overrides(tmp_path):
    config = tmp_path / "kiosk.toml"
    config.write_text('timezone = "Europe/Berlin"\nlate_after_minutes = 10\n'
                      '[kiosk]\nkiosk_id = "lobby-2"\nlanguages = ["en", "ar"]\n')
    settings = load_settings(config, environ={"KIOSK_LATE_AFTER_MINUTES": "20",
                                              "KIOSK_LANGUAGES": "en, ar, zh_Hans"})
    assert settings.timezone == "Europe/Berlin"
    assert settings.kiosk_id == "lobby-2"
    assert settings.late_after_minutes == 20
    assert settings.languages == ("en", "ar", "zh_Hans")
    from_env_file = load_settings(environ={"KIOSK_CONFIG": str(config)})
    assert from_env_file.kiosk_id == "lobby-2"


@pytest.mark.parametrize(("environ", "named", "expected"), [
    ({"KIOSK_TIMEZONE": "Mars/Olympus"}, "timezone", "IANA time zone"),
    ({"KIOSK_LATE_AFTER_MINUTES": "soon"}, "late_after_minutes", "whole number"),
    ({"KIOSK_LOCKOUT_ATTEMPTS": "0"}, "lockout_attempts", "greater than 0"),
    ({"KIOSK_TICKET_PREFIX": "k7"}, "ticket_prefix", "capital letters"),
    ({"KIOSK_DATABASE_URL": "mysql://x"}, "database_url", "postgresql://"),
    ({"KIOSK_DEFAULT_LANGUAGE": "de"}, "default_language", "offered languages"),
])
def test_a_bad_value_names_the_key_and_the_expected_form(environ, named, expected):
    with pytest.raises(SettingsError) as error:
        load_settings(environ=environ)
    assert named in str(error.value)
    assert expected in str(error.value)


def test_bad_toml_unknown_keys_and_missing_files_are_refused(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("timezone = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(broken, environ={})
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('time_zone = "UTC"\n')
    with pytest.raises(SettingsError, match="unknown setting 'time_zone'"):
        load_settings(unknown, environ={})
    wrong_type = tmp_path / "wrong.toml"
    wrong_type.write_text('lockout_minutes = "2"\n')
    with pytest.raises(SettingsError, match="lockout_minutes"):
        load_settings(wrong_type, environ={})
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "nowhere.toml", environ={})


def test_a_bad_secret_is_not_echoed_in_the_error():
    with pytest.raises(SettingsError) as error:
        load_settings(environ={"KIOSK_DATABASE_URL": "mysql://clinic:S3cretPw@db/kiosk"})
    assert "database_url" in str(error.value) and "S3cretPw" not in str(error.value)
    with pytest.raises(SettingsError) as error:
        load_settings(environ={"KIOSK_QR_SECRET": "short"})
    assert "qr_secret" in str(error.value) and "short" not in str(error.value)


def test_secrets_are_masked_when_shown():
    settings = load_settings(environ={"KIOSK_QR_SECRET": "hunter2-hunter2-hunter2",
                                      "KIOSK_DATABASE_URL": "postgresql://u:pw@db/kiosk"})
    shown = settings.shown()
    assert shown["qr_secret"] == MASK
    assert shown["database_url"] == MASK
    assert shown["timezone"] == "UTC"


def test_the_readme_documents_every_setting():
    from pathlib import Path

    from kiosk.base.settings import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    stale = [row for row in markdown_table() if row not in readme]
    assert stale == [], "refresh the README's table with `kiosk config describe`"
