"""Onboarding, unlock and the launcher: a real Qt window (offscreen), a real engine thread and
real SQLCipher profiles in tmp_path. Tor is pointed at a missing program, so nothing leaves
the machine and the Tor error path is the real one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.services import backup, profile
from libra_gui.core.storage import INSECURE_TEST_KDF, Database
from libra_gui.ui.engine import EngineFacade, ProfileInfo
from libra_gui.ui.launcher import Launcher
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.onboarding import OnboardingDialog, UnlockDialog
from libra_gui.ui.settings_dialog import SettingsDialog

PASS = "maple river lantern orbit"
WAIT = 60_000  # ms: Argon2id for the alias and a loaded 2-core machine


def make_facade(data_dir: Path) -> EngineFacade:
    settings = TorSettings(data_dir=data_dir / "tor", tor_path=data_dir / "no-such-tor")
    return EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)


@pytest.fixture
def facade(tmp_path: Path) -> Iterator[EngineFacade]:
    facade = make_facade(tmp_path / "profile")
    yield facade
    facade.shutdown()
    assert not facade.engine.thread.is_alive()


def existing_profile(data_dir: Path) -> None:
    asyncio.run(profile.create_profile(data_dir, PASS, "Robin", kdf_params=INSECURE_TEST_KDF))


def test_onboarding_creates_the_profile_and_ends_with_alias_and_qr(qtbot, facade):
    dialog = OnboardingDialog(facade)
    qtbot.addWidget(dialog)
    dialog.show()
    completed: list[ProfileInfo] = []
    dialog.completed.connect(completed.append)

    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.stack.currentWidget() is dialog.name_page
    assert not dialog.name_next.isEnabled()
    qtbot.keyClicks(dialog.name_edit, "Robin")
    qtbot.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    assert dialog.stack.currentWidget() is dialog.passphrase_page

    qtbot.keyClicks(dialog.passphrase.edit, "short")
    assert "at least" in dialog.meter.label.text()
    assert not dialog.passphrase_next.isEnabled()
    dialog.passphrase.edit.clear()
    qtbot.keyClicks(dialog.passphrase.edit, PASS)
    qtbot.keyClicks(dialog.confirm.edit, PASS[:-1])
    assert "different" in dialog.match.text() and not dialog.passphrase_next.isEnabled()
    qtbot.keyClicks(dialog.confirm.edit, PASS[-1])
    assert "match" in dialog.match.text() and dialog.passphrase_next.isEnabled()
    assert dialog.meter.score >= 3

    qtbot.keyClick(dialog.confirm.edit, Qt.Key.Key_Return)
    assert dialog.stack.currentWidget() in (dialog.creating_page, dialog.done_page)
    qtbot.waitUntil(lambda: dialog.stack.currentWidget() is dialog.done_page, timeout=WAIT)
    card = dialog.alias_card
    qtbot.waitUntil(lambda: card.info is not None and card.findable.isEnabled(), timeout=WAIT)
    assert card.info is not None
    assert len(card.info.words.split("-")) == 3 and card.words.text() == card.info.words
    assert card.info.link.startswith("libra:") and card.info.findable
    assert card.findable.isChecked()
    assert not card.qr.pixmap().isNull()
    assert "Robin" in dialog.done_title.text()
    assert Database.exists(facade.data_dir)
    assert dialog.passphrase.text() == "" and dialog.confirm.text() == ""  # not kept around

    qtbot.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert [info.display_name for info in completed] == ["Robin"]


def test_wrong_passphrase_says_so_and_the_next_try_unlocks(qtbot, facade):
    existing_profile(facade.data_dir)
    dialog = UnlockDialog(facade)
    qtbot.addWidget(dialog)
    dialog.show()
    unlocked: list[ProfileInfo] = []
    dialog.unlocked.connect(unlocked.append)

    qtbot.keyClicks(dialog.passphrase.edit, "not the passphrase")
    qtbot.keyClick(dialog.passphrase.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(dialog.error.isVisible, timeout=WAIT)
    assert dialog.error.title.text() == "Wrong passphrase"
    assert "try again" in dialog.error.text.text()
    assert dialog.passphrase.edit.isEnabled() and dialog.unlock_button.isEnabled()
    assert dialog.passphrase.edit.selectedText() == "not the passphrase"  # typing replaces it
    assert unlocked == []

    qtbot.keyClicks(dialog.passphrase.edit, PASS)
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(unlocked), timeout=WAIT)
    assert unlocked[0].display_name == "Robin"
    assert not dialog.isVisible()


def test_a_profile_open_elsewhere_gets_a_clear_message(qtbot, facade):
    existing_profile(facade.data_dir)
    other = make_facade(facade.data_dir)  # holds the profile, like a second Libra would
    try:
        other.unlock(PASS).result(timeout=60)
        dialog = UnlockDialog(facade)
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.keyClicks(dialog.passphrase.edit, PASS)
        qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dialog.error.isVisible, timeout=WAIT)
        assert dialog.error.title.text() == "Libra is already open"
        assert "Close it there" in dialog.error.text.text()
    finally:
        other.shutdown()


def test_launcher_first_run_onboarding_later_unlock_then_main_window(qtbot, tmp_path):
    data_dir = tmp_path / "profile"
    first = make_facade(data_dir)
    try:
        launcher = Launcher(first)
        assert isinstance(launcher.start(), OnboardingDialog)
        qtbot.addWidget(launcher.window)
    finally:
        first.shutdown()

    existing_profile(data_dir)
    facade = make_facade(data_dir)
    try:
        launcher = Launcher(facade)
        dialog = launcher.start()
        qtbot.addWidget(dialog)
        assert isinstance(dialog, UnlockDialog)
        qtbot.keyClicks(dialog.passphrase.edit, PASS)
        qtbot.keyClick(dialog.passphrase.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: launcher.main_window is not None, timeout=WAIT)
        window = launcher.main_window
        assert isinstance(window, MainWindow)
        qtbot.addWidget(window)
        assert window.isVisible() and window.me_name.text() == "Robin"
        # The launcher started tor in the background; with no tor program it fails visibly.
        qtbot.waitUntil(lambda: facade.tor_status.phase == "failed", timeout=WAIT)
        assert "Tor could not start" in window.tor_item.label.text()
        window.close()
        assert not facade.engine.thread.is_alive()
    finally:
        facade.shutdown()


def test_restore_from_a_backup_then_libra_opens_unlocked(qtbot, tmp_path):
    """Welcome -> "Restore from a backup" -> folder -> wrong, then right passphrase -> main."""
    original = tmp_path / "original"
    existing_profile(original)
    backup_dir = tmp_path / "backup"
    asyncio.run(backup.backup(original, backup_dir))
    facade = make_facade(tmp_path / "profile")
    try:
        launcher = Launcher(facade)
        dialog = launcher.start()
        assert isinstance(dialog, OnboardingDialog)
        qtbot.addWidget(dialog)

        # A folder that is not a backup: said on the welcome page, nothing else happens.
        dialog.choose_backup_folder = lambda: str(tmp_path)
        qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
        assert dialog.stack.currentWidget() is dialog.welcome_page
        assert dialog.welcome_error.title.text() == "This is not a Libra backup"

        dialog.choose_backup_folder = lambda: str(backup_dir)
        qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
        assert dialog.stack.currentWidget() is dialog.restore_page
        assert str(backup_dir) in dialog.restore_folder.text()
        assert not dialog.restore_next.isEnabled()

        qtbot.keyClicks(dialog.restore_passphrase.edit, "not the passphrase")
        qtbot.keyClick(dialog.restore_passphrase.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(dialog.create_error.isVisible, timeout=WAIT)
        assert dialog.create_error.title.text() == "Wrong passphrase"
        assert dialog.creating_title.text() == "Your profile was not restored"
        assert not Database.exists(facade.data_dir)
        qtbot.mouseClick(dialog.create_back, Qt.MouseButton.LeftButton)
        assert dialog.stack.currentWidget() is dialog.restore_page

        dialog.restore_passphrase.edit.setText(PASS)
        qtbot.mouseClick(dialog.restore_next, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: launcher.main_window is not None, timeout=WAIT)
        window = launcher.main_window
        assert isinstance(window, MainWindow)
        qtbot.addWidget(window)
        assert window.me_name.text() == "Robin"
        assert Database.exists(facade.data_dir)
        assert dialog.restore_passphrase.text() == ""  # not kept around
        window.close()
    finally:
        facade.shutdown()


def test_settings_makes_a_backup_that_restores(qtbot, facade, tmp_path):
    existing_profile(facade.data_dir)
    facade.unlock(PASS).result(timeout=60)
    dialog = SettingsDialog(facade, page="security")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT)
    page = dialog.security_page

    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    dialog.choose_backup_dest = lambda: str(full)
    qtbot.mouseClick(dialog.backup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.error.title.text() == "Choose an empty folder", timeout=WAIT)
    assert not page.busy.isVisible()

    dest = tmp_path / "usb" / "libra-backup"
    dialog.choose_backup_dest = lambda: str(dest)
    qtbot.mouseClick(dialog.backup_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Backup saved" in page.status.text(), timeout=WAIT)
    assert dialog.backup_button.isEnabled()
    asyncio.run(backup.restore(dest, tmp_path / "restored", PASS))
    assert Database.exists(tmp_path / "restored")
