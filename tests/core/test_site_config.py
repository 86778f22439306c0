"""Configuration for IT: the documented sample, `kiosk provision`, and the site-wide settings
an admin sets at reception, which every kiosk of the site applies between patients."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.base.settings import SettingsError, load_settings
from kiosk.ops.provision import provision, sample_config
from kiosk.services import site_settings
from kiosk.services.staff import add_staff
from kiosk.store.models import AuditEvent, StaffRole
from kiosk.store.site import SiteContext

REPOSITORY = Path(__file__).resolve().parents[2]


def kiosk(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ui.launcher", *args], capture_output=True,
                          text=True, cwd=REPOSITORY, input=stdin, check=False,
                          env={**os.environ, "KIOSK_CONFIG": ""})


def test_the_packaged_sample_documents_every_setting_as_the_code_declares_it(tmp_path):
    sample = (REPOSITORY / "packaging" / "kiosk.toml.sample").read_text(encoding="utf-8")
    assert sample == sample_config(), "regenerate: kiosk config sample > packaging/..."
    # Uncommented, the sample is a valid config file holding exactly the defaults.
    active = "\n".join(line[2:] for line in sample.splitlines()
                       if line.startswith("# ") and " = " in line and "`" not in line)
    path = tmp_path / "sample-uncommented.toml"
    path.write_text(active, encoding="utf-8")
    assert load_settings(path, environ={}) == load_settings(environ={})


def test_provision_writes_a_file_the_kiosk_reads_back(tmp_path):
    path = tmp_path / "etc" / "kiosk.toml"
    done = kiosk("provision", "--site-id", "north", "--site-name", "Nordpraxis Müller & Söhne",
                 "--kiosk-id", "lobby-2", "--timezone", "Europe/Berlin",
                 "--database-url", "postgresql://kiosk@db.example.org/kiosk",
                 "--fhir-base-url", "https://ehr.example.org/fhir",
                 "--languages", "en, ar,zh_Hans", "--default-language", "ar",
                 "--output", str(path))
    assert done.returncode == 0, done.stderr
    settings = load_settings(path, environ={})
    assert (settings.site_id, settings.site_name, settings.kiosk_id) == (
        "north", "Nordpraxis Müller & Söhne", "lobby-2")
    assert settings.languages == ("en", "ar", "zh_Hans") and settings.default_language == "ar"
    assert settings.database_url.startswith("postgresql://")
    assert oct(path.stat().st_mode & 0o777) == "0o640"  # it may name the database


def test_provision_checks_before_writing_and_never_replaces_silently(tmp_path):
    path = tmp_path / "kiosk.toml"
    done = kiosk("provision", "--languages", "en,es", "--default-language", "fr",
                 "--output", str(path))
    assert done.returncode == 2 and "default_language" in done.stderr
    assert not path.exists()
    provision({"site_id": "north"}, path)
    with pytest.raises(FileExistsError):
        provision({"site_id": "south"}, path)
    assert load_settings(path, environ={}).site_id == "north"
    provision({"site_id": "south"}, path, force=True)
    assert load_settings(path, environ={}).site_id == "south"


def test_provision_force_keeps_the_installed_files_owner_group_and_mode(tmp_path):
    """The installer leaves kiosk.toml root:kiosk 0640 so that the kiosk's user can read it;
    a replaced file that became root:root would stop the kiosk at its next start."""
    path = tmp_path / "kiosk.toml"
    provision({"site_id": "north"}, path)
    if os.geteuid() == 0:
        os.chown(path, 0, 1)  # as the installer does: owned by root, read by a group
    os.chmod(path, 0o640)
    before = path.stat()
    (tmp_path / "kiosk.toml.new").write_text("left by a run killed half way")
    old_umask = os.umask(0)
    try:
        provision({"site_id": "south"}, path, force=True)
    finally:
        os.umask(old_umask)
    after = path.stat()
    assert (after.st_uid, after.st_gid, oct(after.st_mode & 0o777)) == \
        (before.st_uid, before.st_gid, "0o640")
    assert load_settings(path, environ={}).site_id == "south"
    assert not (tmp_path / "kiosk.toml.new").exists()


# -- site-wide settings --------------------------------------------------------------------

def test_an_admin_changes_site_wide_settings_for_every_machine(ctx: SiteContext):
    site_settings.save(ctx, {"languages": ["en", "ar"], "target_wait_minutes": 20,
                             "welcome_message": "Flu vaccinations today"},
                       actor="Ines", role=StaffRole.ADMIN)
    # Another machine of the site, with its own config file's values, reads them.
    other = SiteContext.open(ctx.settings.replace(languages=["en", "es", "fr"],
                                             target_wait_minutes=15), ctx.db, ctx.clock)
    applied = site_settings.apply(other)
    assert applied.languages == ("en", "ar") and applied.target_wait_minutes == 20
    assert applied.welcome_message == "Flu vaccinations today"
    with ctx.db.read() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "site_settings")).one()
    assert event.actor == "Ines" and event.detail["names"] == [
        "languages", "target_wait_minutes", "welcome_message"]


def test_site_wide_settings_are_validated_and_admins_only(ctx: SiteContext):
    with pytest.raises(PermissionError):
        site_settings.save(ctx, {"target_wait_minutes": 20}, actor="Rosa",
                           role=StaffRole.STAFF)
    with pytest.raises(SettingsError, match="default_language"):
        site_settings.save(ctx, {"languages": ["en"], "default_language": "ar"},
                           actor="Ines", role=StaffRole.ADMIN)
    with pytest.raises(SettingsError, match="not a site-wide setting"):
        site_settings.save(ctx, {"database_url": "sqlite://"}, actor="Ines",
                           role=StaffRole.ADMIN)
    with pytest.raises(SettingsError, match="welcome_message"):
        site_settings.save(ctx, {"welcome_message": "x" * 10_000}, actor="Ines",
                           role=StaffRole.ADMIN)
    assert site_settings.stored(ctx) == {}


def test_a_stored_value_this_release_cannot_use_is_skipped_not_fatal(ctx: SiteContext):
    from kiosk.store.models import SiteSetting
    from kiosk.store.site import ensure_site

    with ctx.db.write() as session:
        ensure_site(session, ctx.settings, ctx.now())
        session.add(SiteSetting(site_id=ctx.settings.site_id, name="target_wait_minutes",
                                value="soon", updated_at=ctx.now(), updated_by="x"))
        session.add(SiteSetting(site_id=ctx.settings.site_id, name="board_names",
                                value="initials", updated_at=ctx.now(), updated_by="x"))
    applied = site_settings.apply(ctx)
    assert applied.target_wait_minutes == 15 and applied.board_names == "initials"


@pytest.mark.gui
def test_the_kiosk_applies_a_change_between_patients(qtbot, sqlite_ctx: SiteContext):
    from kiosk.domain.flow import Step
    from ui.app import build_kiosk

    window = build_kiosk(sqlite_ctx)
    qtbot.addWidget(window)
    window.show()
    follower = window.site_settings
    qtbot.waitUntil(lambda: not follower.worker.busy, timeout=3000)
    window.flow.start_name_entry()  # a patient is typing
    site_settings.save(sqlite_ctx, {"languages": ["en", "ar"], "welcome_message": "Welcome!"},
                       actor="Ines", role=StaffRole.ADMIN)
    follower.check()
    qtbot.waitUntil(lambda: follower.pending is not None, timeout=3000)
    welcome = window.pages[Step.WELCOME]
    assert set(welcome.language_buttons) != {"en", "ar"}  # not in front of the patient
    window.flow.done()
    follower.check()
    assert set(welcome.language_buttons) == {"en", "ar"}
    assert window.flow.languages == ("en", "ar")
    assert welcome.note.text() == "Welcome!" and not welcome.note.isHidden()
    # The language chooser over every screen offers the same (it kept the old list, and
    # opening it on a language no longer there raised KeyError).
    assert set(window.languages.buttons) == {"en", "ar"}
    window.flow.choose_language("ar")
    window.languages.open()
    assert window.languages.isVisible() and window.languages.buttons["ar"].hasFocus()
    window.close()


@pytest.mark.gui
def test_reception_shows_site_settings_to_admins_only(qtbot, ctx: SiteContext):
    from ui.reception.window import ReceptionWindow
    from ui.sound import Chime

    add_staff(ctx, "Rosa", "2580")
    add_staff(ctx, "Ines", "3691", admin=True)
    window = ReceptionWindow(ctx, chime=Chime())
    qtbot.addWidget(window)
    window.show()

    def settled() -> None:  # the window's core calls run off the GUI thread
        qtbot.waitUntil(lambda: window.settled, timeout=5000)

    page = window.sign_in_page
    settled()
    page.who.setCurrentText("Rosa")
    page.pin.setText("2580")
    page.submit()
    settled()
    assert window.member is not None and window.member.name == "Rosa"
    assert window.tabs.indexOf(window.site_tab) == -1
    window.lock()
    settled()
    page.who.setCurrentText("Ines")
    page.pin.setText("3691")
    page.submit()
    settled()
    assert window.tabs.indexOf(window.site_tab) >= 0
    tab = window.site_tab
    tab.target.setValue(25)
    tab.note.setText("  Flu   vaccinations today  ")
    tab.save()
    settled()
    assert "Saved" in tab.result.text()
    assert site_settings.stored(ctx)["target_wait_minutes"] == 25
    assert site_settings.stored(ctx)["welcome_message"] == "Flu vaccinations today"
    assert window.model.target == 25
    tab.default_language.setCurrentIndex(tab.default_language.findData("pl"))
    for index in range(tab.languages.count()):  # offer English only: Polish cannot be default
        item = tab.languages.item(index)
        item.setCheckState(item.checkState().Checked if index == 0 else item.checkState()
                           .Unchecked)
    tab.save()
    settled()
    assert tab.result.text().startswith("Not saved") and "default_language" in tab.result.text()
    window.lock()
    assert window.tabs.indexOf(window.site_tab) == -1
    window.close()
