"""The settings dialog and the Tor panel's saved choices: a real Qt window (offscreen), the
real engine thread and real SQLCipher profiles. Where tor must start, it is the real tor with
``DisableNetwork 1`` in the saved extra settings, so nothing leaves the machine."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QLabel

from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.services import app_settings
from libra_gui.core.services.direct_policy import IP_WARNING
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.ui import theme
from libra_gui.ui.engine import EngineFacade
from libra_gui.ui.notify import NotificationSettings
from libra_gui.ui.onboarding import UnlockDialog
from libra_gui.ui.settings_dialog import SettingsDialog, notification_settings
from libra_gui.ui.texts import ip_warning
from libra_gui.ui.tor_status import BridgesDialog, TorPanel

PASS = "maple river lantern orbit"
WAIT = 60_000  # ms: Argon2id (alias, rekey) on a loaded 2-core machine
PLAIN = "198.51.100.7:9001"  # TEST-NET-2: never routed
TOR = shutil.which("tor")


def make_facade(data_dir: Path, *, explicit: bool = True) -> EngineFacade:
    """``explicit``: start with a tor that does not exist, as the other GUI tests do; else
    the profile's stored Tor settings rule, as in the app."""
    settings = None
    if explicit:
        settings = TorSettings(data_dir=data_dir / "tor", tor_path=data_dir / "no-such-tor")
    return EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)


@pytest.fixture
def facade(tmp_path: Path) -> Iterator[EngineFacade]:
    facade = make_facade(tmp_path / "profile")
    facade.create_profile("Robin", PASS).result(timeout=60)
    yield facade
    facade.shutdown()
    theme.apply(QApplication.instance(), dark=False)  # the dialog may have switched it


def open_dialog(qtbot, facade: EngineFacade, page: str = "tor") -> SettingsDialog:
    dialog = SettingsDialog(facade, page=page)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT)
    return dialog


def test_the_pages_show_the_stored_defaults(qtbot, facade):
    dialog = open_dialog(qtbot, facade)
    assert dialog.stack.currentWidget() is dialog.tor_page
    assert dialog.mode_buttons["bundled"].isChecked()
    assert not dialog.use_bridges.isChecked() and dialog.learn_timeout.isChecked()
    assert not dialog.circuit_timeout.isEnabled()
    assert not dialog.tor_save.isEnabled()  # nothing changed yet
    assert dialog.direct_buttons["verified"].isChecked() and not dialog.findable.isChecked()
    assert dialog.notifications.currentData() == "name_only"
    assert dialog.theme_buttons["system"].isChecked() and dialog.language.currentData() == ""
    assert dialog.language.findData("de") > 0
    # The IP warning is said plainly, in the user's language (core: direct_policy.IP_WARNING).
    warning = dialog.findChild(QLabel, "ipWarning")
    assert warning is not None and warning.text() == ip_warning()
    assert "IP address" in warning.text() and "IP address" in IP_WARNING
    dialog._dirty.clear()
    dialog.close()


def test_privacy_and_appearance_are_saved_in_the_profile(qtbot, facade):
    dialog = open_dialog(qtbot, facade, "privacy")
    dialog.direct_buttons["known"].setChecked(True)
    dialog.ice_edit.setPlainText("turn:nocredentials.example.org:3478")
    assert dialog.ice_check.property("kind") == "bad" and not dialog.privacy_save.isEnabled()
    dialog.ice_edit.setPlainText("stun:stun.example.org:3478")
    assert dialog.privacy_save.isEnabled()
    dialog.auto_accept.setChecked(True)
    dialog.max_file.setValue(100)
    dialog.notifications.setCurrentIndex(dialog.notifications.findData("hidden"))
    dialog.findable.setChecked(True)
    changed: list[app_settings.PrivacyPrefs] = []
    dialog.privacyChanged.connect(changed.append)
    dialog.privacy_save.click()
    qtbot.waitUntil(lambda: dialog.privacy_page.status.text() == "Saved.", timeout=WAIT)
    assert not dialog.privacy_page.error.isVisible()

    dialog.show_page("appearance")
    dialog.theme_buttons["dark"].setChecked(True)  # applied at once ...
    assert theme.colors().dark
    qtbot.waitUntil(lambda: dialog.appearance_page.status.text() == "Saved.", timeout=WAIT)
    dialog.language.setCurrentIndex(dialog.language.findData("de"))
    qtbot.waitUntil(lambda: "Deutsch" in dialog.appearance_page.status.text(), timeout=WAIT)
    assert "next time" in dialog.appearance_page.status.text()  # ... the language is not
    dialog.close()
    assert not dialog.isVisible()  # everything was saved: no question

    snap = facade.settings().result(timeout=60)
    assert snap.privacy == app_settings.PrivacyPrefs(
        direct_default="known",
        ice_servers=("stun:stun.example.org:3478",),
        file_auto_accept=True,
        file_max_size=100 << 20,
        notifications="hidden",
    )
    assert snap.findable and not snap.beacon_private
    assert snap.appearance == app_settings.AppearancePrefs(theme="dark", language="de")
    assert changed == [snap.privacy] and facade.privacy == snap.privacy
    assert notification_settings(snap.privacy) == NotificationSettings(True, False, False)

    again = open_dialog(qtbot, facade, "privacy")  # a new dialog shows what was stored
    assert again.direct_buttons["known"].isChecked() and again.findable.isChecked()
    assert again.theme_buttons["dark"].isChecked()
    again.close()


def test_unsaved_changes_are_not_dropped_silently(qtbot, facade, monkeypatch):
    dialog = open_dialog(qtbot, facade)
    dialog.extra_edit.setPlainText("ConnectionPadding 1")
    asked: list[bool] = []
    monkeypatch.setattr(dialog, "_confirm_discard", lambda: asked.append(True) or False)
    dialog.close()
    assert asked and dialog.isVisible()  # "keep editing"
    monkeypatch.setattr(dialog, "_confirm_discard", lambda: True)
    dialog.close()
    assert not dialog.isVisible()


def test_tor_page_checks_while_typing(qtbot, facade, tmp_path):
    dialog = open_dialog(qtbot, facade)
    dialog.use_bridges.setChecked(True)
    assert dialog.bridges_check.property("kind") == "bad"  # no lines yet
    dialog.bridges_edit.setPlainText(f"{PLAIN}\nobfs4 192.0.2.1:443 ABCDEF")
    assert "Line 2" in dialog.bridges_check.text() and not dialog.tor_save.isEnabled()
    dialog.bridges_edit.setPlainText(f"{PLAIN}\n198.51.100.8:443")
    assert dialog.bridges_check.text() == "2 bridges: plain"
    assert dialog.tor_save.isEnabled()
    dialog.extra_edit.setPlainText("SocksPort 9050")
    assert "SocksPort" in dialog.extra_check.text() and not dialog.tor_save.isEnabled()
    dialog.extra_edit.setPlainText("DisableNetwork 1")
    dialog.mode_buttons["custom"].setChecked(True)
    assert dialog.mode_extras["custom"].isVisible() and not dialog.mode_extras["attach"].isVisible()
    dialog.tor_path.setText(str(tmp_path / "nothing-here"))
    assert dialog.program_check.property("kind") == "bad" and not dialog.tor_save.isEnabled()
    dialog.mode_buttons["attach"].setChecked(True)
    dialog.attach_address.setText("localhost")
    assert dialog.program_check.property("kind") == "bad"
    dialog.attach_address.setText("127.0.0.1:9151")
    assert dialog.program_check.property("kind") == "ok"
    assert not dialog.bridges_edit.isEnabled()  # an attached tor has its own configuration
    prefs = dialog.tor_prefs()
    assert (prefs.mode, prefs.attach_port, prefs.use_bridges) == ("attach", 9151, True)
    dialog._dirty.clear()
    dialog.close()


def test_saving_an_attach_address_reconnects_and_is_remembered(qtbot, facade, tmp_path):
    """Attach to a control port where nothing listens: the real error path, no network."""
    dialog = open_dialog(qtbot, facade)
    phases: list[str] = []
    facade.torStatusChanged.connect(lambda status: phases.append(status.phase))
    dialog.mode_buttons["attach"].setChecked(True)
    dialog.attach_address.setText("127.0.0.1:9")
    dialog.attach_password.setText("hunter2")
    dialog.learn_timeout.setChecked(False)
    dialog.circuit_timeout.setValue(45)
    dialog.tor_save.click()
    qtbot.waitUntil(lambda: "Saved" in dialog.tor_page.status.text(), timeout=WAIT)
    assert facade.tor_settings.attach is not None
    assert facade.tor_settings.attach.describe() == "control port 127.0.0.1:9"
    assert "CircuitBuildTimeout 45" in facade.tor_settings.extra_torrc
    qtbot.waitUntil(lambda: facade.tor_status.phase == "failed", timeout=WAIT)
    assert "starting" in phases
    dialog.close()

    data_dir = facade.data_dir
    facade.shutdown()
    later = make_facade(data_dir, explicit=False)  # the next start: no explicit settings
    try:
        later.unlock(PASS).result(timeout=60)
        assert later.tor_prefs.attach_password == "hunter2"
        assert later.tor_settings.attach is not None and later.tor_settings.attach.port == 9
    finally:
        later.shutdown()


@pytest.mark.skipif(TOR is None, reason="needs tor")
def test_tor_panel_choices_persist_and_a_real_tor_accepts_them(qtbot, facade):
    panel = TorPanel(facade)
    qtbot.addWidget(panel)
    panel.show()
    panel.use_tor_program(Path("/nonexistent/tor"))  # refused, with what to do
    qtbot.waitUntil(panel.save_error.isVisible, timeout=WAIT)
    assert panel.save_error.title.text() == "Check how Libra reaches Tor"

    # Never touch the network: DisableNetwork first, then the program, then bridges.
    facade.update_tor_prefs(mode="system", extra_torrc=("DisableNetwork 1",)).result(WAIT)
    panel.use_tor_program(Path(TOR))
    qtbot.waitUntil(lambda: facade.tor_prefs.mode == "custom", timeout=WAIT)
    bridges = BridgesDialog([], panel, tor_program=Path(TOR))
    qtbot.addWidget(bridges)
    bridges.editor.setPlainText(f"UseBridges 1\n\n  Bridge {PLAIN}  \n")
    assert bridges.check.text() == "1 bridge: plain" and bridges.save.isEnabled()
    panel.save_bridges(bridges.bridges())
    qtbot.waitUntil(lambda: panel.bridges.text() == "1 configured", timeout=WAIT)
    assert panel.mode.text() == "Libra runs the Tor program you chose"
    settings = facade.tor_settings
    assert settings.tor_path == Path(TOR)
    assert settings.extra_torrc == ("UseBridges 1", f"Bridge {PLAIN}", "DisableNetwork 1")
    # tor took the configuration: it runs (a refused one fails its --verify-config at once).
    qtbot.waitUntil(lambda: _tor_pid(facade) is not None, timeout=WAIT)
    assert facade.tor_status.phase in ("starting", "bootstrapping")

    data_dir = facade.data_dir
    facade.shutdown()
    later = make_facade(data_dir, explicit=False)
    try:
        later.unlock(PASS).result(timeout=60)
        assert later.tor_settings.tor_path == Path(TOR)
        assert later.tor_settings.extra_torrc == settings.extra_torrc
    finally:
        later.shutdown()


def _tor_pid(facade: EngineFacade) -> int | None:
    node = facade.engine.node  # read across threads: a test's look at the running tor
    return node.tor.pid if node is not None else None


def test_a_bridge_kind_without_its_program_is_refused_in_the_dialog(qtbot, facade, tmp_path):
    if shutil.which("conjure-client"):
        pytest.skip("conjure-client is installed here")
    bridges = BridgesDialog([], None, tor_program=tmp_path / "tor")
    qtbot.addWidget(bridges)
    bridges.show()
    bridges.editor.setPlainText("conjure 192.0.2.5:80")
    assert bridges.save.isEnabled()  # the line itself is fine
    bridges.save.click()
    assert bridges.error.isVisible() and bridges.isVisible()
    assert bridges.error.title.text() == "These bridges cannot be used here"
    bridges.editor.setPlainText("obfs4 192.0.2.5:80")
    assert "cert=" in bridges.check.text() and not bridges.save.isEnabled()


def test_change_passphrase_rekeys_with_a_spinner_and_explains_mistakes(qtbot, facade):
    dialog = open_dialog(qtbot, facade, "security")
    page = dialog.security_page
    new = "copper meadow violin harbor"
    qtbot.keyClicks(dialog.current_pass.edit, "not my passphrase")
    qtbot.keyClicks(dialog.new_pass.edit, "short")
    assert not dialog.change_button.isEnabled() and "at least" in dialog.meter.label.text()
    dialog.new_pass.edit.setText(new)
    qtbot.keyClicks(dialog.confirm_pass.edit, new[:-1])
    assert "different" in dialog.match.text() and not dialog.change_button.isEnabled()
    qtbot.keyClicks(dialog.confirm_pass.edit, new[-1])
    assert dialog.change_button.isEnabled()
    dialog.change_button.click()
    assert page.busy.isVisible() or page.error.isVisible()  # working off the GUI thread
    qtbot.waitUntil(page.error.isVisible, timeout=WAIT)
    assert page.error.title.text() == "Wrong passphrase"
    assert dialog.current_pass.edit.isEnabled() and dialog.new_pass.text() == new

    dialog.current_pass.edit.setText(PASS)
    dialog.change_button.click()
    qtbot.waitUntil(lambda: "was changed" in page.status.text(), timeout=WAIT)
    assert dialog.current_pass.text() == dialog.new_pass.text() == ""  # not kept around
    dialog.close()

    data_dir = facade.data_dir
    facade.shutdown()
    later = make_facade(data_dir)
    try:
        unlock = UnlockDialog(later)
        qtbot.addWidget(unlock)
        unlock.passphrase.edit.setText(new)
        unlock.unlock_button.click()
        qtbot.waitUntil(lambda: later.profile_info is not None, timeout=WAIT)
    finally:
        later.shutdown()


def test_the_stored_appearance_arrives_before_the_unlocked_window_is_built(qtbot, facade):
    facade.save_appearance(app_settings.AppearancePrefs(theme="dark", language="de")).result(60)
    data_dir = facade.data_dir
    facade.shutdown()
    later = make_facade(data_dir)
    order: list[object] = []
    try:
        later.appearanceLoaded.connect(lambda prefs: order.append(prefs))
        dialog = UnlockDialog(later)
        qtbot.addWidget(dialog)
        dialog.unlocked.connect(lambda _info: order.append("unlocked"))
        dialog.passphrase.edit.setText(PASS)
        dialog.unlock_button.click()
        qtbot.waitUntil(lambda: "unlocked" in order, timeout=WAIT)
        assert order == [app_settings.AppearancePrefs(theme="dark", language="de"), "unlocked"]
    finally:
        later.shutdown()
    QCoreApplication.processEvents()
