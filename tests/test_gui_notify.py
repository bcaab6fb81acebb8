"""Notifications and the tray, on real windows and engines (two, joined by the in-memory link).

The offscreen platform has no system tray (``QSystemTrayIcon.isSystemTrayAvailable()`` is
false), so the window runs without one, as on a desktop without a tray; the notifier's
decisions are checked through its ``notified`` signal. The tray itself is constructed and
driven through its own signals where a test needs one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSystemTrayIcon

from libra_gui.core.services import profile
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.notify import Notification, NotificationSettings, Tray, app_icon
from tests.test_gui_contacts import make_pair
from tests.test_gui_main import PASS, WAIT, Pair, connect, make_facade, open_window

SECRET = "the spare key is under the blue flowerpot"


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return make_pair(tmp_path)


@pytest.fixture
def linked(qtbot, pair: Pair) -> Iterator[tuple[MainWindow, MainWindow]]:
    facades = [make_facade(pair.alice), make_facade(pair.bob)]
    try:
        alice, bob = open_window(qtbot, facades[0]), open_window(qtbot, facades[1])
        connect(alice.facade, bob.facade, pair)
        assert alice.select_contact(pair.bob_id)
        yield alice, bob
    finally:
        for facade in facades:
            facade.shutdown()


def send(qtbot, window: MainWindow, text: str) -> None:
    qtbot.keyClicks(window.composer, text)
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)


def test_a_message_is_announced_by_sender_only_unless_text_is_allowed(qtbot, linked, pair):
    alice, bob = linked
    assert not QSystemTrayIcon.isSystemTrayAvailable() or bob.tray is not None
    notes: list[Notification] = []
    bob.notifier.notified.connect(notes.append)
    bob.hide()  # Bob is elsewhere

    send(qtbot, alice, SECRET)
    qtbot.waitUntil(lambda: len(notes) == 1, timeout=WAIT)
    note = notes[0]
    assert (note.kind, note.title, note.text) == ("message", "Libra", "New message from Alice")
    assert note.contact_id == pair.alice_id
    assert "flowerpot" not in note.title + note.text  # privacy first: never the text
    qtbot.waitUntil(lambda: bob.windowTitle() == "Libra (1)", timeout=WAIT)

    bob.notifier.settings = NotificationSettings(show_text=True)
    send(qtbot, alice, "x" * 300)
    qtbot.waitUntil(lambda: len(notes) == 2, timeout=WAIT)
    assert notes[1].title == "Alice" and notes[1].text == "x" * 119 + "…"

    bob.notifier.settings = NotificationSettings(show_sender=False)
    send(qtbot, alice, "who is it?")
    qtbot.waitUntil(lambda: len(notes) == 3, timeout=WAIT)
    assert (notes[2].title, notes[2].text) == ("Libra", "New message")

    bob.notifier.settings = NotificationSettings(enabled=False)
    send(qtbot, alice, "quiet now")
    qtbot.waitUntil(lambda: bob.windowTitle() == "Libra (4)", timeout=WAIT)
    assert len(notes) == 3


def test_nothing_is_announced_for_the_chat_being_read(qtbot, linked, pair):
    alice, bob = linked
    notes: list[Notification] = []
    bob.notifier.notified.connect(notes.append)
    assert bob.select_contact(pair.alice_id)
    bob.activateWindow()
    qtbot.waitUntil(bob.isActiveWindow, timeout=WAIT)
    send(qtbot, alice, "you are reading this")
    qtbot.waitUntil(
        lambda: [m.body for m in bob.messages.messages()] == ["you are reading this"],
        timeout=WAIT,
    )
    qtbot.waitUntil(lambda: bob.contacts_model.contact(0).unread == 0, timeout=WAIT)
    assert notes == [] and bob.windowTitle() == "Libra"

    bob.open_chat(None)  # reading nothing: the next one is announced
    send(qtbot, alice, "and this?")
    qtbot.waitUntil(lambda: len(notes) == 1, timeout=WAIT)


def test_changed_keys_are_announced_even_when_notifications_are_off(qtbot, linked, pair, tmp_path):
    alice, _bob = linked
    alice.notifier.settings = NotificationSettings(enabled=False)
    notes: list[Notification] = []
    alice.notifier.notified.connect(notes.append)
    other = asyncio.run(
        profile.create_profile(tmp_path / "other", PASS, "Bob", kdf_params=INSECURE_TEST_KDF)
    )
    node = alice.facade.engine.node
    assert node is not None
    alice.facade.engine.submit(node.trust.report_key_change(pair.bob_id, other.encode())).result(30)
    qtbot.waitUntil(lambda: len(notes) == 1, timeout=WAIT)
    assert notes[0].kind == "keys" and "Bob's security keys changed" in notes[0].text
    qtbot.waitUntil(alice.banner.isVisible, timeout=WAIT)
    assert "security keys changed" in alice.banner_text.text()
    assert alice.banner_button.text() == "Review…"


def test_tray_minimise_restore_and_click_through(qtbot, linked, pair):
    alice, bob = linked
    assert Tray.available() == QSystemTrayIcon.isSystemTrayAvailable()
    tray = Tray(app_icon(), bob)  # as where a tray exists
    tray.set_unread(3)
    assert tray.icon.toolTip() == "Libra: 3 unread"
    tray.set_unread(0)
    assert tray.icon.toolTip() == "Libra"
    assert [a.text() for a in tray.icon.contextMenu().actions() if a.text()] == [
        "Open Libra",
        "Quit Libra",
    ]
    bob.tray = tray
    bob.notifier.tray = tray
    tray.openRequested.connect(bob.show_from_tray)
    tray.messageClicked.connect(bob.notifier._clicked)

    bob.showMinimized()
    qtbot.waitUntil(lambda: not bob.isVisible(), timeout=WAIT)  # hidden to the tray
    notes: list[Notification] = []
    bob.notifier.notified.connect(notes.append)
    send(qtbot, alice, "ping")
    qtbot.waitUntil(lambda: len(notes) == 1, timeout=WAIT)
    tray.messageClicked.emit()  # the user clicks the notification
    qtbot.waitUntil(bob.isVisible, timeout=WAIT)
    assert not bob.isMinimized()
    assert bob.messages.contact_id == pair.alice_id
