"""Translations: the German catalogue is complete and up to date, it loads, and real widgets
show German text with it (then English again)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PySide6.QtCore import QCoreApplication

from libra_gui.core.errors import WrongPassphrase
from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.ui import i18n
from libra_gui.ui.engine import EngineFacade
from libra_gui.ui.errors import user_message
from libra_gui.ui.onboarding import UnlockDialog
from libra_gui.ui.tor_status import TorStatusItem
from tools import update_translations

TS = Path(__file__).resolve().parents[1] / "translations" / "libra_de.ts"
PLACEHOLDER = re.compile(r"%\d|%n|<a href=\"[^\"]*\">")


@pytest.fixture
def german(qapp) -> Iterator[None]:
    assert i18n.install("de") == "de"
    try:
        yield
    finally:
        i18n.install("en")


def test_every_german_message_is_finished_and_keeps_its_placeholders():
    assert update_translations.unfinished(TS) == []
    for (context, source), message in update_translations.messages(TS).items():
        translation = message.find("translation")
        assert translation is not None
        forms = [f.text or "" for f in translation.findall("numerusform")] or [
            translation.text or ""
        ]
        for text in forms:
            assert sorted(set(PLACEHOLDER.findall(text))) == sorted(
                set(PLACEHOLDER.findall(source))
            ), (context, source, text)


def test_the_catalogue_matches_the_code_and_the_qm_is_compiled():
    """Fails when someone adds text without running tools/update_translations.py."""
    if not Path(update_translations.tool("pyside6-lupdate")).exists():
        pytest.skip("pyside6-lupdate is not installed")
    assert not update_translations.stale(TS), "run: python -m tools.update_translations"
    qm = TS.with_suffix(".qm")
    assert qm.exists() and qm.stat().st_mtime >= TS.stat().st_mtime - 1


def test_languages_offered(qapp):
    assert i18n.available()[0] == "en" and "de" in i18n.available()
    assert i18n.display_name("de") == "Deutsch"
    assert i18n.catalogue("de") is not None and i18n.catalogue("xx") is None
    assert i18n.install("xx") == "en"  # a language this build lacks: English, no error


def test_widgets_speak_german_with_the_catalogue(qtbot, german, tmp_path):
    translate = QCoreApplication.translate
    assert i18n.current() == "de"
    assert translate("States", "Connected to Tor") == "Mit Tor verbunden"
    assert user_message(WrongPassphrase("x")).title == "Falsche Passphrase"
    item = TorStatusItem()
    qtbot.addWidget(item)
    assert item.details.text() == "Details" and item.label.text() == "Nicht verbunden"
    data_dir = tmp_path / "p"
    settings = TorSettings(data_dir=data_dir / "tor", tor_path=data_dir / "no-tor")
    facade = EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)
    try:
        dialog = UnlockDialog(facade)
        qtbot.addWidget(dialog)
        assert dialog.windowTitle() == "Libra entsperren"
        assert dialog.unlock_button.text() == "Entsperren"
    finally:
        facade.shutdown()


def test_english_again_after_switching_back(qtbot, qapp):
    i18n.install("de")
    i18n.install("en")
    item = TorStatusItem()
    qtbot.addWidget(item)
    assert item.label.text() == "Not connected"


def test_the_ts_file_is_what_lupdate_writes():
    root = ElementTree.parse(TS).getroot()
    assert root.get("language") == "de" and root.tag == "TS"
    assert len(update_translations.messages(TS)) > 500
