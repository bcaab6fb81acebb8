"""The whole GUI path on the private Tor network: two windows, two real Nodes, two tors.

Alice makes herself findable in "My alias"; Bob types her three words in the Add-contact
dialog, sees her card (not verified: words only) and sends the request; Alice accepts it in
her requests section (her notifier says so, without the message text); Bob writes; Alice's
window shows the message; both status dots say Tor. Then Alice deletes Bob: he disappears
from her list and his link to her goes down. Nothing is faked: the lookup, the proof of work,
the client authorization and the messages all go through tor on 127.0.0.1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.ui.add_contact import AddContactDialog
from libra_gui.ui.alias_view import MyAliasDialog
from libra_gui.ui.contact_details import ContactDetailsDialog
from libra_gui.ui.contacts import ContactListModel
from libra_gui.ui.engine import EngineFacade
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.notify import Notification

pytestmark = pytest.mark.slow

BOOT = 180_000  # ms: two tors bootstrapping on a loaded 2-core machine
NET = 150_000  # ms: a lookup or a first dial to a fresh onion service
WAIT = 60_000


def _window(qtbot, tmp_path: Path, name: str, tor_network) -> MainWindow:
    data_dir = tmp_path / name.lower()
    settings = TorSettings(data_dir=data_dir / "tor", extra_torrc=tor_network.client_torrc_lines())
    facade = EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)
    facade.create_profile(name, f"{name} passphrase for e2e").result(timeout=60)
    window = MainWindow(facade)
    qtbot.addWidget(window)
    window.resize(900, 640)
    window.show()
    facade.start_node()
    return window


def _path(window: MainWindow, contact_id: int) -> str:
    row = window.contacts_model.row_of(contact_id)
    if row is None:
        return "missing"
    return window.contacts_model.index(row).data(ContactListModel.PathRole)


def test_add_by_alias_accept_and_talk_over_tor(qtbot, tor_network, tmp_path):
    alice = _window(qtbot, tmp_path, "Alice", tor_network)
    bob = _window(qtbot, tmp_path, "Bob", tor_network)
    try:
        for window in (alice, bob):
            qtbot.waitUntil(lambda w=window: w.facade.tor_status.online, timeout=BOOT)

        # Alice: findable with her words.
        mine = MyAliasDialog(alice.facade, alice)
        qtbot.addWidget(mine)
        qtbot.waitUntil(lambda: mine.card.info is not None, timeout=WAIT)
        mine.card.findable.click()
        qtbot.waitUntil(lambda: mine.card.info.findable and mine.card.info.active, timeout=WAIT)
        words = mine.card.info.words
        mine.accept()

        # Bob: types her words (spaces, upper case), finds her, sends the request.
        notes: list[Notification] = []
        alice.notifier.notified.connect(notes.append)
        add = AddContactDialog(bob.facade, bob, my_name="Bob")
        qtbot.addWidget(add)
        add.show()
        qtbot.keyClicks(add.words, words.replace("-", " ").upper())
        assert add.find_button.isEnabled() and "Looks right" in add.hint.text()
        qtbot.mouseClick(add.find_button, Qt.MouseButton.LeftButton)
        assert add.pages.currentWidget() is add.search_page
        qtbot.waitUntil(
            lambda: add.pages.currentWidget() is not add.search_page, timeout=NET + 30_000
        )
        assert add.pages.currentWidget() is add.card_page, add.find_error.text.text()
        assert add.card_name.text() == "Alice"
        assert "Not verified yet" in add.card_trust.text()
        add.note.setPlainText("Hi Alice, it's Bob from the e2e test")
        qtbot.mouseClick(add.send_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: add.pages.currentWidget() is not add.send_page, timeout=NET)
        assert add.pages.currentWidget() is add.done_page, add.find_error.text.text()
        alice_id = add.contact_id
        assert alice_id is not None
        add.accept()
        qtbot.waitUntil(lambda: bob.requests.sent_title.isVisible(), timeout=WAIT)

        # Alice: the request shows up (and is announced without its text); she accepts.
        qtbot.waitUntil(lambda: alice.requests.isVisible(), timeout=NET)
        assert any(n.kind == "request" and "Bob" in n.text for n in notes)
        assert not any("e2e test" in n.text for n in notes)
        accept = next(
            b for b in alice.requests.findChildren(type(alice.send_button)) if b.text() == "Accept"
        )
        qtbot.mouseClick(accept, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: alice.contacts_model.rowCount() == 1, timeout=WAIT)
        bob_id = alice.contacts_model.contact(0).id

        # Bob writes (queued until her link arrives); Alice's window shows it.
        assert bob.select_contact(alice_id)
        qtbot.keyClicks(bob.composer, "hello Alice, over Tor")
        qtbot.keyClick(bob.composer, Qt.Key.Key_Return)
        assert alice.select_contact(bob_id)
        qtbot.waitUntil(
            lambda: [m.body for m in alice.messages.messages()] == ["hello Alice, over Tor"],
            timeout=NET,
        )
        qtbot.waitUntil(lambda: _path(alice, bob_id) == "tor", timeout=WAIT)
        qtbot.waitUntil(lambda: _path(bob, alice_id) == "tor", timeout=WAIT)
        assert "Connected through Tor" in alice.chat_status.text()
        qtbot.waitUntil(lambda: not bob.requests.sent_title.isVisible(), timeout=WAIT)

        # Alice deletes Bob: gone from her list, and his link to her goes down.
        details = ContactDetailsDialog(alice.facade, bob_id, alice)
        qtbot.addWidget(details)
        qtbot.waitUntil(lambda: details.details is not None, timeout=WAIT)
        details.delete_button.click()
        details.delete_now.click()
        qtbot.waitUntil(lambda: alice.contacts_model.rowCount() == 0, timeout=WAIT)
        assert alice.messages.contact_id is None
        qtbot.waitUntil(lambda: _path(bob, alice_id) == "offline", timeout=WAIT)
    finally:
        for window in (alice, bob):
            window.close()
