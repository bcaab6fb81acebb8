"""The main window on real parts: engine thread, SQLCipher profiles in tmp_path, core services.

Two windows can talk: their engines' messaging services are joined by an in-memory link
that carries records between the two engine threads (what a Tor link does, minus Tor), so
message states, unread counts and status dots come from the real core events. Tor itself is
pointed at a missing program: its error path is real and no traffic leaves the machine.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.protocol.records import LinkRecord
from libra_gui.core.services import contacts, profile
from libra_gui.core.services.node import _Sink
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import conversations as conversations_repo
from libra_gui.core.storage import messages as messages_repo
from libra_gui.core.storage._conn import Connection
from libra_gui.core.storage.messages import Message
from libra_gui.ui.chat import MAX_WINDOW_ROWS, Composer, DaySeparator
from libra_gui.ui.contacts import ContactListModel
from libra_gui.ui.engine import PAGE, Engine, EngineFacade
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.settings_dialog import SettingsDialog
from libra_gui.ui.tor_status import BridgesDialog, TorPanel

PASS = "maple river lantern orbit"
WAIT = 60_000  # ms; generous for a loaded 2-core machine
HISTORY = 100_000


def make_facade(data_dir: Path) -> EngineFacade:
    settings = TorSettings(data_dir=data_dir / "tor", tor_path=data_dir / "no-such-tor")
    return EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)


@dataclass
class Pair:
    """Alice and Bob: profiles that know each other; ``bob_id`` is Bob in Alice's store."""

    alice: Path
    bob: Path
    bob_id: int
    alice_id: int


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    async def build() -> Pair:
        dirs = {name: tmp_path / name for name in ("alice", "bob")}
        cards = {
            name: await profile.create_profile(d, PASS, name.title(), kdf_params=INSECURE_TEST_KDF)
            for name, d in dirs.items()
        }
        ids = {}
        for me, other in (("alice", "bob"), ("bob", "alice")):
            async with profile.unlocked(dirs[me], PASS) as prof:
                ids[me] = (await contacts.add_from_card(prof, cards[other].encode())).id
        return Pair(dirs["alice"], dirs["bob"], bob_id=ids["alice"], alice_id=ids["bob"])

    return asyncio.run(build())


def fill_history(data_dir: Path, contact_id: int, count: int) -> None:
    """``count`` messages with one contact, inserted through the storage repo in one
    transaction (alternating directions, one day per 1,000 messages)."""

    def insert(conn: Connection) -> None:
        conv = conversations_repo.for_contact(conn, contact_id).id
        start = 1_700_000_000_000
        next_in = 1
        for i in range(count):
            direction = "out" if i % 3 == 0 else "in"
            if direction == "out":
                seq = conversations_repo.bump_out_seq(conn, conv)
            else:
                seq, next_in = next_in, next_in + 1
            at = start + i * 86_400
            messages_repo.insert(
                conn,
                conv,
                i.to_bytes(16, "big"),
                direction,
                seq,
                f"message number {i}",
                "delivered" if direction == "out" else "received",
                sent_at=at,
                received_at=None if direction == "out" else at,
            )
        conversations_repo.set_next_in_seq(conn, conv, next_in)
        conversations_repo.touch(conn, conv, start + count * 86_400)

    async def run() -> None:
        async with profile.unlocked(data_dir, PASS) as prof:
            await prof.db.transaction(insert)

    asyncio.run(run())


def open_window(qtbot, facade: EngineFacade) -> MainWindow:
    facade.unlock(PASS).result(timeout=60)
    window = MainWindow(facade)
    qtbot.addWidget(window)
    window.resize(900, 640)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window.contacts_model.rowCount() > 0, timeout=WAIT)
    return window


def select(window: MainWindow, contact_id: int, qtbot) -> None:
    row = window.contacts_model.row_of(contact_id)
    assert row is not None
    window.contact_list.setCurrentIndex(window.contacts_model.index(row))
    qtbot.waitUntil(lambda: window.messages.ready, timeout=WAIT)


@pytest.fixture
def windows(qtbot, pair: Pair) -> Iterator[tuple[MainWindow, MainWindow]]:
    facades = [make_facade(pair.alice), make_facade(pair.bob)]
    try:
        yield open_window(qtbot, facades[0]), open_window(qtbot, facades[1])
    finally:
        for facade in facades:
            facade.shutdown()


class ThreadLink:
    """Records from one engine to the other's messaging, on the receiving engine's thread.

    Like a real link, nothing flows until both ends are up: records sent before ``open()``
    wait (a record answered before the far end's link exists would be lost).
    """

    def __init__(self, target: Engine, contact_id: int) -> None:
        self._target, self._contact_id = target, contact_id
        self.peer_identity, self.peer_card = b"", None
        self._lock = threading.Lock()
        self._waiting: list[LinkRecord] | None = []

    def send(self, records: Sequence[LinkRecord]) -> None:
        with self._lock:
            if self._waiting is not None:
                self._waiting.extend(records)
                return
            self._target.submit(self._deliver(list(records)))

    def open(self) -> None:
        with self._lock:
            waiting, self._waiting = self._waiting or [], None
            if waiting:
                self._target.submit(self._deliver(waiting))

    async def _deliver(self, records: list[LinkRecord]) -> None:
        if self._target.node is not None:
            await _Sink(self._target.node).receive(self._contact_id, records)


def connect(a: EngineFacade, b: EngineFacade, pair: Pair) -> None:
    """Bring the link up on both sides through the node's own sink (publishes LinkStateChanged)."""
    ea, eb = a.engine, b.engine
    assert ea.node is not None and eb.node is not None
    to_bob, to_alice = ThreadLink(eb, pair.alice_id), ThreadLink(ea, pair.bob_id)
    ea.submit(_Sink(ea.node).link_up(pair.bob_id, to_bob)).result(30)  # type: ignore[arg-type]
    eb.submit(_Sink(eb.node).link_up(pair.alice_id, to_alice)).result(30)  # type: ignore[arg-type]
    to_bob.open()
    to_alice.open()


def last_message(window: MainWindow) -> Message | None:
    messages = window.messages.messages()
    return messages[-1] if messages else None


def test_two_windows_talk_states_unread_and_status_dots(qtbot, windows, pair):
    alice, bob = windows
    select(alice, pair.bob_id, qtbot)
    connect(alice.facade, bob.facade, pair)
    model = alice.contacts_model
    path_role = ContactListModel.PathRole
    qtbot.waitUntil(lambda: model.data(model.index(0), path_role) == "tor", timeout=WAIT)
    assert "Connected through Tor" in alice.chat_status.text()
    row = alice.contacts_model.index(alice.contacts_model.row_of(pair.bob_id) or 0)
    assert "Connected through Tor" in row.data(Qt.ItemDataRole.AccessibleTextRole)
    assert "Connected through Tor" in row.data(Qt.ItemDataRole.ToolTipRole)

    qtbot.keyClicks(alice.composer, "hello Bob")
    qtbot.keyClick(alice.composer, Qt.Key.Key_Return)
    assert alice.composer.toPlainText() == ""
    qtbot.waitUntil(
        lambda: (m := last_message(alice)) is not None and m.body == "hello Bob", timeout=WAIT
    )
    qtbot.waitUntil(lambda: last_message(alice).state == "delivered", timeout=WAIT)  # type: ignore[union-attr]

    # Bob has not opened the chat: an unread badge, a preview, and the message in the store.
    def bob_row() -> object:
        return bob.contacts_model.contact(bob.contacts_model.row_of(pair.alice_id) or 0)

    qtbot.waitUntil(lambda: bob_row().unread == 1, timeout=WAIT)  # type: ignore[attr-defined]
    assert bob_row().preview == "hello Bob"  # type: ignore[attr-defined]
    index = bob.contacts_model.index(bob.contacts_model.row_of(pair.alice_id) or 0)
    assert "1 unread message" in index.data(Qt.ItemDataRole.AccessibleTextRole)

    select(bob, pair.alice_id, qtbot)
    assert [m.body for m in bob.messages.messages()] == ["hello Bob"]
    qtbot.waitUntil(lambda: bob_row().unread == 0, timeout=WAIT)  # type: ignore[attr-defined]

    # A reply appears in Alice's open chat as an appended row, never a model reset.
    resets: list[bool] = []
    alice.messages.modelReset.connect(lambda: resets.append(True))
    qtbot.keyClicks(bob.composer, "hi Alice")
    qtbot.keyClick(bob.composer, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: last_message(alice).body == "hi Alice", timeout=WAIT)  # type: ignore[union-attr]
    assert resets == []
    assert last_message(alice).direction == "in"  # type: ignore[union-attr]


def test_lazy_model_pages_100k_messages_and_keeps_a_bounded_window(qtbot, pair):
    fill_history(pair.alice, pair.bob_id, HISTORY)
    facade = make_facade(pair.alice)
    try:
        window = open_window(qtbot, facade)
        model, view = window.messages, window.chat_view
        resets: list[bool] = []
        select(window, pair.bob_id, qtbot)
        model.modelReset.connect(lambda: resets.append(True))
        assert model.message_count() == PAGE and model.has_older and not model.has_newer
        assert model.messages()[-1].body == f"message number {HISTORY - 1}"
        assert isinstance(model.data(model.index(0), model.MessageRole), DaySeparator)
        bar = view.verticalScrollBar()
        qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(), timeout=WAIT)

        # Scrolling to the top fetches the previous page and keeps the reader's place.
        first_loaded = model.messages()[0]
        bar.setValue(0)
        qtbot.waitUntil(lambda: model.message_count() == 2 * PAGE, timeout=WAIT)
        row = model.row_of(("m", first_loaded.id))
        assert row is not None and row > PAGE
        rect = view.visualRect(model.index(row))
        assert 0 <= rect.top() < view.viewport().height()  # still where the reader was

        # Keep going up: the window stays bounded; the newest rows are dropped for now.
        for _ in range(MAX_WINDOW_ROWS // PAGE + 1):
            before = model.messages()[0].position
            bar.setValue(0)
            qtbot.waitUntil(lambda: model.messages()[0].position != before, timeout=WAIT)  # noqa: B023
        assert model.message_count() == MAX_WINDOW_ROWS and model.has_newer
        pages_loaded = 1 + 1 + MAX_WINDOW_ROWS // PAGE + 1  # opening, the first scroll, the loop
        assert model.messages()[0].position == HISTORY - pages_loaded * PAGE + 1

        # And back down to the newest message, page by page.
        while model.has_newer:
            last = model.messages()[-1].position
            bar.setValue(bar.maximum())
            qtbot.waitUntil(
                lambda: model.messages()[-1].position != last or not model.has_newer,  # noqa: B023
                timeout=WAIT,
            )
        assert model.messages()[-1].position == HISTORY
        assert model.message_count() <= MAX_WINDOW_ROWS
        assert resets == []

        # A message written now is appended at the bottom, without a reset.
        inserted: list[tuple[int, int]] = []
        model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
        rows_before = model.rowCount()
        bar.setValue(bar.maximum())
        qtbot.keyClicks(window.composer, "and one more")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: model.messages()[-1].body == "and one more", timeout=WAIT)
        # Appended at the end (with a day separator: a new day); then the oldest row is
        # dropped to keep the window bounded, which re-inserts the top day separator.
        assert resets == [] and inserted[0] == (rows_before, rows_before + 1)
        assert model.message_count() == MAX_WINDOW_ROWS
        assert model.messages()[-1].state == "queued"  # no link: it waits in the outbox
    finally:
        facade.shutdown()


def test_composer_enter_sends_and_shift_enter_breaks_the_line(qtbot):
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    sent: list[str] = []
    composer.submitted.connect(sent.append)
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    assert sent == []  # nothing to send
    qtbot.keyClicks(composer, "first line")
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "second line")
    assert composer.toPlainText() == "first line\nsecond line"
    one_line = composer.height()
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer, "third")
    assert composer.height() > one_line  # grows with its text
    qtbot.keyClick(composer, Qt.Key.Key_Enter)  # the keypad's Enter sends too
    assert sent == ["first line\nsecond line\nthird"]


def test_tor_failure_is_explained_with_fixes_and_messages_still_queue(qtbot, pair):
    facade = make_facade(pair.alice)
    try:
        window = open_window(qtbot, facade)
        phases: list[str] = []
        facade.torStatusChanged.connect(lambda status: phases.append(status.phase))
        facade.start_node()
        qtbot.waitUntil(lambda: facade.tor_status.phase == "failed", timeout=WAIT)
        assert phases[0] == "starting"
        assert window.tor_item.label.text() == "Not connected: Tor could not start"
        assert window.tor_item.details.text() == "How to fix…"

        panel = TorPanel(facade, window)
        qtbot.addWidget(panel)
        panel.show()
        assert panel.error.isVisible()
        assert panel.error.title.text() == "Tor was not found"
        assert "no-such-tor" in panel.error.details.text()
        buttons = {b.text(): b for b in panel.error.findChildren(type(panel.retry_button))}
        assert {"Choose Tor program…", "Try again"} <= set(buttons)
        assert panel.program.text() == "not found"

        phases.clear()
        qtbot.mouseClick(buttons["Try again"], Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: phases[-1:] == ["failed"] and "starting" in phases, timeout=WAIT)

        bridges = BridgesDialog([], panel)
        qtbot.addWidget(bridges)
        bridges.editor.setPlainText("UseBridges 1\n\n  Bridge 192.0.2.1:443  \n")
        assert bridges.lines() == ["UseBridges 1", "Bridge 192.0.2.1:443"]
        facade.restart_tor(extra_torrc=bridges.lines()).result(timeout=60)
        assert facade.tor_settings.extra_torrc == ("UseBridges 1", "Bridge 192.0.2.1:443")
        qtbot.waitUntil(lambda: panel.bridges.text() == "1 configured", timeout=WAIT)

        # Offline, a message is still accepted: it waits in the outbox, shown as queued.
        select(window, pair.bob_id, qtbot)
        qtbot.keyClicks(window.composer, "written while offline")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: last_message(window) is not None, timeout=WAIT)
        message = last_message(window)
        assert message is not None and (message.body, message.state) == (
            "written while offline",
            "queued",
        )
        index = window.messages.index(window.messages.rowCount() - 1)
        assert "Waiting to be sent" in index.data(Qt.ItemDataRole.AccessibleTextRole)
        stored = facade.history(pair.bob_id, None).result(timeout=60)
        assert [(m.body, m.state) for m in stored] == [("written while offline", "queued")]
    finally:
        facade.shutdown()


def test_closing_the_window_stops_the_engine_and_releases_the_profile(qtbot, pair):
    facade = make_facade(pair.alice)
    window = open_window(qtbot, facade)
    window.close()
    assert not facade.engine.thread.is_alive()
    assert facade.send_text(pair.bob_id, "too late").exception(timeout=5) is not None
    again = make_facade(pair.alice)  # the store is closed and the profile lock released
    try:
        assert again.unlock(PASS).result(timeout=60).display_name == "Alice"
    finally:
        again.shutdown()


def test_no_contacts_shows_how_to_get_some(qtbot, tmp_path):
    facade = make_facade(tmp_path / "lonely")
    try:
        facade.create_profile("Lonely", PASS).result(timeout=60)
        window = MainWindow(facade)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(window.no_contacts.isVisible, timeout=WAIT)
        assert not window.contact_list.isVisible()
        assert window.placeholder_title.text() == "Your chats will appear here"
    finally:
        facade.shutdown()


def test_settings_open_from_the_window_and_notification_privacy_reaches_the_notifier(
    qtbot, tmp_path
):
    facade = make_facade(tmp_path / "settings")
    try:
        facade.create_profile("Robin", PASS).result(timeout=60)
        window = MainWindow(facade)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        assert window.notifier.settings.show_sender  # default: "New message from <name>"
        window.settingsRequested.emit()  # what Ctrl+, and the Libra menu's item do
        qtbot.waitUntil(lambda: window.findChild(SettingsDialog) is not None, timeout=WAIT)
        dialog = window.findChild(SettingsDialog)
        qtbot.waitUntil(lambda: dialog.loaded, timeout=WAIT)
        dialog.show_page("privacy")
        dialog.notifications.setCurrentIndex(dialog.notifications.findData("hidden"))
        dialog.privacy_save.click()
        qtbot.waitUntil(lambda: not window.notifier.settings.show_sender, timeout=WAIT)
        assert not window.notifier.settings.show_text
        dialog.close()
    finally:
        facade.shutdown()
