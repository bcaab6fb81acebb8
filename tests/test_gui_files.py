"""Files in the chat, on real parts: two windows whose engines' FileServices talk through the
in-memory link (records carried between the two engine threads by the node's own sink).

The one injected fault: the link from Alice to Bob can *hold* file chunks after N of them
(what a slow network looks like), so a transfer can be seen and cancelled half-way; loopback
would otherwise finish before the test could look. The file dialogs are Qt's own, answered
by the test; opening a file goes through QDesktopServices, whose "file" handler the test
registers to see which URL would be opened.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QLineEdit, QWidget
from test_storage import find_leaks

from libra_gui.core.protocol.records import FileChunk, LinkRecord
from libra_gui.core.services.node import _Sink
from libra_gui.ui.engine import Engine, EngineFacade
from libra_gui.ui.files_view import FileRow
from libra_gui.ui.main_window import MainWindow
from tests.test_gui_contacts import make_pair, on_next_dialog
from tests.test_gui_main import WAIT, Pair, ThreadLink, make_facade, open_window


class FileLink(ThreadLink):
    """ThreadLink plus what file transfer needs (``drain``), and a hold on file chunks."""

    def __init__(self, target: Engine, contact_id: int) -> None:
        super().__init__(target, contact_id)
        self.hold_after: int | None = None
        self._gate = threading.Lock()
        self._chunks = 0
        self._held: list[LinkRecord] = []

    def send(self, records: Sequence[LinkRecord]) -> None:
        passing = []
        with self._gate:
            for record in records:
                if isinstance(record, FileChunk):
                    if self.hold_after is not None and self._chunks >= self.hold_after:
                        self._held.append(record)
                        continue
                    self._chunks += 1
                passing.append(record)
        if passing:
            super().send(passing)

    async def drain(self, channel: object = None) -> None:
        await asyncio.sleep(0)

    def release(self) -> None:
        with self._gate:
            self.hold_after = None
            held, self._held = self._held, []
        if held:
            super().send(held)


def join(a: EngineFacade, b: EngineFacade, pair: Pair) -> tuple[FileLink, FileLink]:
    """Links up on both sides through the node's own sink (as test_gui_main.connect)."""
    ea, eb = a.engine, b.engine
    assert ea.node is not None and eb.node is not None
    to_bob, to_alice = FileLink(eb, pair.alice_id), FileLink(ea, pair.bob_id)
    ea.submit(_Sink(ea.node).link_up(pair.bob_id, to_bob)).result(30)  # type: ignore[arg-type]
    eb.submit(_Sink(eb.node).link_up(pair.alice_id, to_alice)).result(30)  # type: ignore[arg-type]
    to_bob.open()
    to_alice.open()
    return to_bob, to_alice


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return make_pair(tmp_path)


@pytest.fixture
def chat(qtbot, pair: Pair) -> Iterator[tuple[MainWindow, MainWindow, FileLink]]:
    facades = [make_facade(pair.alice), make_facade(pair.bob)]
    try:
        alice, bob = open_window(qtbot, facades[0]), open_window(qtbot, facades[1])
        to_bob, _ = join(alice.facade, bob.facade, pair)
        assert alice.select_contact(pair.bob_id) and bob.select_contact(pair.alice_id)
        yield alice, bob, to_bob
    finally:
        for facade in facades:
            facade.shutdown()


class OpenedUrls(QObject):
    """Stands in for the desktop's file opener (QDesktopServices' documented hook)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def bubble_of(qtbot, window: MainWindow, name: str) -> FileRow:
    def find() -> FileRow | None:
        rows = [r for r in window.chat_view.file_rows() if r.bubble.message.body == name]
        return rows[-1] if rows and rows[-1].bubble.transfer is not None else None

    qtbot.waitUntil(lambda: find() is not None, timeout=WAIT)
    row = find()
    assert row is not None
    return row


def answer_file_dialog(qtbot, path: Path) -> object:
    def choose(dialog: QWidget) -> None:
        assert isinstance(dialog, QFileDialog)
        name = dialog.findChild(QLineEdit, "fileNameEdit")  # what a person types into
        assert name is not None
        name.setText(str(path))
        dialog.accept()

    return on_next_dialog(choose)


def test_send_with_progress_cancel_half_way_then_receive_open_and_no_plaintext_elsewhere(
    qtbot, chat, pair: Pair, tmp_path: Path
):
    alice, bob, to_bob = chat
    big = tmp_path / "holiday video.mp4"
    big.write_bytes(os.urandom(1_500_000))

    # Alice attaches with the paperclip (Ctrl+O), through the real file dialog.
    timer = answer_file_dialog(qtbot, big)
    qtbot.mouseClick(alice.attach_button, Qt.MouseButton.LeftButton)
    del timer
    mine = bubble_of(qtbot, alice, big.name).bubble
    assert "Waiting for Bob to accept" in mine.detail.text()
    assert mine.cancel_button.isVisible() and not mine.accept_button.isVisible()
    theirs = bubble_of(qtbot, bob, big.name).bubble
    assert "1.5 MB" in theirs.detail.text() and "Accept to download" in theirs.detail.text()
    assert theirs.accept_button.isVisible() and theirs.cancel_button.text() == "Decline"

    # Bob accepts; the network "slows down" after 5 chunks: a progress bar half-way.
    to_bob.hold_after = 5
    qtbot.mouseClick(theirs.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: 0 < theirs.progress.value() < 1000, timeout=WAIT)
    assert theirs.progress.isVisible() and "Downloading…" in theirs.detail.text()
    qtbot.waitUntil(lambda: mine.transfer.state == "transferring", timeout=WAIT)
    assert mine.progress.isVisible() and "Sending…" in mine.detail.text()

    # Bob cancels half-way: both sides say so, and nothing of it stays on Bob's disk.
    qtbot.mouseClick(theirs.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: theirs.transfer.state == "cancelled", timeout=WAIT)
    assert theirs.detail.text().endswith("Cancelled") and not theirs.progress.isVisible()
    qtbot.waitUntil(lambda: mine.transfer.state == "cancelled", timeout=WAIT)
    assert "Cancelled by Bob" in mine.detail.text()
    to_bob.release()

    # A second file goes through; Bob opens it: saved where he chose, then opened there.
    photo = tmp_path / "ridge.jpg"
    content = os.urandom(300_000)
    photo.write_bytes(content)
    alice.send_file(photo)
    theirs = bubble_of(qtbot, bob, photo.name).bubble
    qtbot.mouseClick(theirs.accept_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: theirs.transfer.state == "done", timeout=WAIT)
    assert theirs.detail.text().endswith("Received")
    assert theirs.save_button.isVisible() and theirs.open_button.isVisible()
    mine = bubble_of(qtbot, alice, photo.name).bubble
    qtbot.waitUntil(lambda: mine.transfer.state == "done", timeout=WAIT)
    assert mine.detail.text().endswith("Sent") and not mine.open_button.isVisible()

    opened = OpenedUrls()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        dest = tmp_path / "downloads" / "ridge copy.jpg"
        dest.parent.mkdir()
        timer = answer_file_dialog(qtbot, dest)
        qtbot.mouseClick(theirs.open_button, Qt.MouseButton.LeftButton)
        del timer
        qtbot.waitUntil(lambda: len(opened.urls) == 1, timeout=WAIT)
        assert Path(opened.urls[0].toLocalFile()) == dest
        assert dest.read_bytes() == content
        assert "Saved to ridge copy.jpg" in theirs.detail.text()
        # Opening again uses the saved copy: no second dialog, no second plaintext.
        qtbot.mouseClick(theirs.open_button, Qt.MouseButton.LeftButton)
        assert len(opened.urls) == 2 and opened.urls[1] == opened.urls[0]
    finally:
        QDesktopServices.unsetUrlHandler("file")

    # The only plaintext Libra wrote is the one the user asked for.
    needles = {"video": big.read_bytes()[4096:4160], "photo": content[4096:4160]}
    assert find_leaks(pair.bob, needles) == []


def test_declining_and_errors_are_explained(qtbot, chat, tmp_path: Path):
    alice, bob, _ = chat
    doc = tmp_path / "notes.txt"
    doc.write_text("private notes\n" * 100)
    alice.send_file(doc)
    theirs = bubble_of(qtbot, bob, doc.name).bubble
    qtbot.mouseClick(theirs.cancel_button, Qt.MouseButton.LeftButton)  # "Decline"
    qtbot.waitUntil(lambda: theirs.transfer.state == "cancelled", timeout=WAIT)
    mine = bubble_of(qtbot, alice, doc.name).bubble
    qtbot.waitUntil(lambda: mine.transfer.state == "cancelled", timeout=WAIT)
    assert not any(b.isVisible() for b in (mine.cancel_button, mine.accept_button))

    alice.send_file(tmp_path / "does not exist.pdf")
    qtbot.waitUntil(alice.send_error.isVisible, timeout=WAIT)
    assert alice.send_error.text().startswith("Cannot read this file")

    index = alice.messages.index(alice.messages.row_of(("m", mine.message.id)) or 0)
    assert "file notes.txt" in index.data(Qt.ItemDataRole.AccessibleTextRole)
    assert "Cancelled" in index.data(Qt.ItemDataRole.AccessibleTextRole)
