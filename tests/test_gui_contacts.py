"""Adding contacts, requests, contact details, my alias and keyboard navigation, on real parts.

SQLCipher profiles in tmp_path, the engine thread with the core services, real Qt widgets
offscreen. Two windows talk through test_gui_main's in-memory link (records carried between
the two engine threads through the node's own sink), so verification questions, trust
changes and status dots come from real core events. Finding people over Tor is covered by
test_gui_e2e.py; here the dialog is exercised up to the network (Tor is a missing program).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, QTimer
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QApplication, QPushButton, QWidget

from libra_gui.core.crypto.alias import AliasSyntaxError, parse_alias, wordlist
from libra_gui.core.protocol.uri import parse_invite
from libra_gui.core.services import contacts, profile
from libra_gui.core.services import trust as trust_service
from libra_gui.core.services.beacon import public_card
from libra_gui.core.services.contacts import ContactError
from libra_gui.core.services.qr import find_invite
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import contacts as contacts_repo
from libra_gui.core.storage import conversations as conversations_repo
from libra_gui.core.storage import files as files_repo
from libra_gui.core.storage import messages as messages_repo
from libra_gui.core.storage import outbox as outbox_repo
from libra_gui.core.storage import requests as requests_repo
from libra_gui.core.storage import settings as settings_repo
from libra_gui.core.storage._conn import Connection
from libra_gui.ui import camera
from libra_gui.ui.add_contact import AddContactDialog
from libra_gui.ui.alias_view import MyAliasDialog
from libra_gui.ui.contact_details import ContactDetailsDialog
from libra_gui.ui.contacts import QuickSwitcher
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.settings_dialog import SettingsDialog
from tests.test_gui_main import (
    PASS,
    WAIT,
    Pair,
    connect,
    last_message,
    make_facade,
    open_window,
)


def make_pair(tmp_path: Path) -> Pair:
    """Alice and Bob: profiles that know each other (as test_gui_main's ``pair`` fixture)."""

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


@pytest.fixture
def pair(tmp_path: Path) -> Pair:
    return make_pair(tmp_path)


@pytest.fixture
def linked(qtbot, pair: Pair) -> Iterator[tuple[MainWindow, MainWindow]]:
    """Alice's and Bob's windows, their engines joined by the in-memory link."""
    facades = [make_facade(pair.alice), make_facade(pair.bob)]
    try:
        alice, bob = open_window(qtbot, facades[0]), open_window(qtbot, facades[1])
        connect(alice.facade, bob.facade, pair)
        yield alice, bob
    finally:
        for facade in facades:
            facade.shutdown()


def exchange(qtbot, alice: MainWindow, bob: MainWindow, pair: Pair) -> None:
    """One message each way: both ratchet sessions exist afterwards."""
    for sender, receiver, to, frm, text in (
        (alice, bob, pair.bob_id, pair.alice_id, "hi Bob"),
        (bob, alice, pair.alice_id, pair.bob_id, "hi Alice"),
    ):
        assert sender.select_contact(to)
        qtbot.keyClicks(sender.composer, text)
        qtbot.keyClick(sender.composer, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda s=sender: last_message(s) is not None, timeout=WAIT)
        qtbot.waitUntil(lambda s=sender: last_message(s).state == "delivered", timeout=WAIT)  # type: ignore[union-attr]
        assert receiver.select_contact(frm)
        qtbot.waitUntil(
            lambda r=receiver, t=text: (m := last_message(r)) is not None and m.body == t,
            timeout=WAIT,
        )


def on_next_dialog(handler: Callable[[QWidget], None]) -> QTimer:
    """Call ``handler`` with the next modal dialog as soon as it is shown (``exec`` blocks the
    test until the handler closes it). Keep the returned timer alive until then."""
    timer = QTimer()
    timer.setInterval(20)
    seen: list[QWidget] = []

    def poll() -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None and dialog.isVisible() and not seen:
            seen.append(dialog)
            timer.stop()
            handler(dialog)

    timer.timeout.connect(poll)
    timer.start()
    return timer


def run_sync(coro_fn: Callable[..., object], data_dir: Path) -> object:
    async def run() -> object:
        async with profile.unlocked(data_dir, PASS) as prof:
            return await coro_fn(prof)  # type: ignore[misc]

    return asyncio.run(run())


def button(qtbot, parent: QWidget, text: str) -> QPushButton:
    """The visible button labelled ``text`` (new buttons are shown by a queued call: wait)."""

    def visible() -> list[QPushButton]:
        return [b for b in parent.findChildren(QPushButton) if b.text() == text and b.isVisible()]

    qtbot.waitUntil(lambda: bool(visible()), timeout=WAIT)
    return visible()[0]


# --- core: deleting and blocking a contact --------------------------------------------------


def test_remove_deletes_the_contact_and_everything_kept_for_it(pair: Pair, tmp_path):
    chunk_dir = files_repo.files_dir(pair.alice)
    store_name = secrets.token_hex(16)
    chunk_file = files_repo.chunk_path(chunk_dir, store_name)
    chunk_file.write_bytes(b"\0\0\0\4sealed")
    other = asyncio.run(
        profile.create_profile(tmp_path / "mallory", PASS, "Bob", kdf_params=INSECURE_TEST_KDF)
    )

    async def seed(prof: profile.Profile) -> None:
        def fill(conn: Connection) -> None:
            conv = conversations_repo.for_contact(conn, pair.bob_id).id
            msg_id = secrets.token_bytes(16)
            seq = conversations_repo.bump_out_seq(conn, conv)
            messages_repo.insert(conn, conv, msg_id, "out", seq, "bye", "queued", sent_at=1)
            outbox_repo.enqueue(conn, pair.bob_id, msg_id, seq, b"payload")
            settings_repo.put(conn, f"ratchet.used_otks.{pair.bob_id}", b"x")
            bob = contacts_repo.get(conn, pair.bob_id)
            assert bob is not None
            trust_service.record_key_change(conn, bob, other)
            files_repo.insert(
                conn,
                contact_id=pair.bob_id,
                direction="in",
                file_id=secrets.token_bytes(16),
                name="report.pdf",
                size=10,
                sha256=bytes(32),
                chunk_size=4096,
                file_key=bytes(32),
                state="done",
                store_name=store_name,
            )

        await prof.db.transaction(fill)
        removed = await contacts.remove(prof, pair.bob_id)
        assert removed.display_name == "Bob"
        with pytest.raises(ContactError):
            await contacts.remove(prof, pair.bob_id)

        def check(conn: Connection) -> None:
            assert contacts_repo.get(conn, pair.bob_id) is None
            assert conversations_repo.find_for_contact(conn, pair.bob_id) is None
            assert outbox_repo.pending(conn, pair.bob_id) == []
            assert files_repo.list_all(conn, pair.bob_id) == []
            for key in (f"ratchet.used_otks.{pair.bob_id}", f"trust.pending_card.{pair.bob_id}"):
                assert settings_repo.get(conn, key) is None
            count = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
            assert count == 0

        await prof.db.run(check)

    run_sync(seed, pair.alice)
    assert not chunk_file.exists()


def test_blocking_a_contact_also_refuses_its_requests(pair: Pair):
    async def run(prof: profile.Profile) -> None:
        blocked = await contacts.set_blocked(prof, pair.bob_id, True)
        assert blocked.blocked
        assert await prof.db.run(requests_repo.is_blocked, blocked.identity_key)
        unblocked = await contacts.set_blocked(prof, pair.bob_id, False)
        assert not unblocked.blocked
        assert not await prof.db.run(requests_repo.is_blocked, blocked.identity_key)

    run_sync(run, pair.alice)


# --- add contact ----------------------------------------------------------------------------


@pytest.fixture
def alice_window(qtbot, pair: Pair):
    facade = make_facade(pair.alice)
    try:
        yield open_window(qtbot, facade)
    finally:
        facade.shutdown()


def test_typing_words_completes_checks_and_suggests(qtbot, alice_window: MainWindow):
    dialog = AddContactDialog(alice_window.facade, alice_window, my_name="Alice")
    qtbot.addWidget(dialog)
    dialog.show()
    words = wordlist()
    first = next(w for w in words if w.startswith("amb"))
    assert not dialog.find_button.isEnabled()
    assert "three words" in dialog.hint.text()

    # The word being typed is completed from the list.
    qtbot.keyClicks(dialog.words, "amb")
    completer = dialog.words.completer_
    assert completer.completionPrefix() == "amb" and completer.completionCount() >= 1
    dialog.words.complete_word(first)
    assert dialog.words.text() == f"{first}-"

    # A typo: what is wrong, and the fix as a button.
    second, typo = _typo_with_one_fix(words)
    third = words[200]
    dialog.words.setText(f"{first} {typo} {third}")
    assert not dialog.find_button.isEnabled()
    assert "Word 2 is not in Libra's word list" in dialog.hint.text()
    fix = button(qtbot, dialog, second)
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert dialog.words.text() == f"{first}-{second}-{third}"
    assert dialog.find_button.isEnabled()
    assert dialog.hint.text() == f"Looks right: {first}-{second}-{third}"
    qtbot.waitUntil(lambda: not [b for b in dialog.findChildren(QPushButton) if b.text() == second])

    # An invite link is recognised; a damaged one is explained.
    info = alice_window.facade.my_alias().result(timeout=60)
    dialog.words.setText(info.link)
    assert dialog.find_button.isEnabled() and "Invite link for" in dialog.hint.text()
    dialog.words.setText(info.link[:-6] + "zzzzzz")
    assert not dialog.find_button.isEnabled()
    assert dialog.hint.objectName() == "error"

    # Tor is not running: Find says what to do instead of spinning forever.
    dialog.words.setText(f"{first} {second} {third}")
    qtbot.mouseClick(dialog.find_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.find_error.isVisible(), timeout=WAIT)
    assert dialog.find_error.title.text() == "Not connected yet"
    assert dialog.pages.currentWidget() is dialog.find_page
    assert "You can type the words now" in dialog.tor_note.text()


def _typo_with_one_fix(words: tuple[str, ...]) -> tuple[str, str]:
    """A list word and a misspelling of it (one letter dropped) that suggests only it."""
    for word in words[1000:]:
        if len(word) < 6 or "-" in word:
            continue
        typo = word[:2] + word[3:]
        try:
            parse_alias(f"{typo} {typo} {typo}")
        except AliasSyntaxError as exc:
            if exc.suggestions == (word,):
                return word, typo
    raise AssertionError("no suitable word")


def _png(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def test_invite_from_a_picture_file_and_from_the_clipboard(qtbot, alice_window, tmp_path):
    facade = alice_window.facade
    mine = MyAliasDialog(facade, alice_window)
    qtbot.addWidget(mine)
    qtbot.waitUntil(lambda: mine.card.info is not None, timeout=WAIT)
    invite = parse_invite(mine.card.info.link)
    picture = mine.card.qr.pixmap().toImage()  # what is on screen is what gets scanned
    path = tmp_path / "their-code.png"
    assert picture.save(str(path))

    dialog = AddContactDialog(facade, alice_window)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.scan_file(path)
    # Read, then looked up (which needs Tor: here it says so).
    qtbot.waitUntil(lambda: dialog.find_error.isVisible(), timeout=WAIT)
    assert parse_invite(dialog.words.text()) == invite
    assert dialog.find_error.title.text() == "Not connected yet"

    # A copied picture, pasted.
    dialog.words.clear()
    dialog.find_error.hide()
    QGuiApplication.clipboard().setImage(picture)
    qtbot.mouseClick(dialog.paste_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.find_error.isVisible(), timeout=WAIT)
    assert parse_invite(dialog.words.text()) == invite

    # A picture without a QR code: what to do.
    blank = QImage(200, 200, QImage.Format.Format_RGB32)
    blank.fill(Qt.GlobalColor.white)
    dialog.words.clear()
    dialog.find_error.hide()
    dialog.scan_image(blank)
    qtbot.waitUntil(lambda: dialog.find_error.isVisible(), timeout=WAIT)
    assert dialog.find_error.title.text() == "No invite in this image"
    assert dialog.words.text() == ""
    assert find_invite(_png(picture)) == invite


def test_the_camera_is_offered_only_where_it_can_work(qtbot, alice_window):
    dialog = AddContactDialog(alice_window.facade, alice_window)
    qtbot.addWidget(dialog)
    dialog.show()
    state = camera.availability()
    assert dialog.camera_button.isVisible() == (state == "ready")
    assert dialog.camera_note.isVisible() == (state != "ready")
    if state == "no-module":
        assert "From a picture" in dialog.camera_note.text()
        assert camera.open_scanner(alice_window.facade) is None


# --- requests -------------------------------------------------------------------------------


def test_requests_are_declined_blocked_and_sent_ones_withdrawn(qtbot, pair: Pair, tmp_path):
    people = {}
    for name in ("Lena", "Mallory", "Noah"):
        created = asyncio.run(
            profile.create_profile(tmp_path / name, PASS, name, kdf_params=INSECURE_TEST_KDF)
        )

        async def public(prof: profile.Profile) -> bytes:
            return public_card(prof).encode()

        people[name] = (created, run_sync(public, tmp_path / name))

    async def seed(prof: profile.Profile) -> None:
        for name in ("Lena", "Mallory"):
            card, shown = people[name]
            await prof.db.transaction(
                lambda conn, c=card, s=shown, n=name: requests_repo.add_pending(
                    conn, c.identity_key, s, f"hi, {n} here"
                )
            )
        await contacts.add_from_card(prof, people["Noah"][1])  # we asked Noah (beacon card)

    run_sync(seed, pair.alice)
    facade = make_facade(pair.alice)
    try:
        window = open_window(qtbot, facade)
        section = window.requests
        qtbot.waitUntil(lambda: section.title.text() == "Contact requests (2)", timeout=WAIT)
        assert section.sent_title.text() == "Sent requests (1)"
        noah = next(c for c in window.contacts_model._contacts if c.display_name == "Noah")
        assert noah.awaiting_acceptance
        window.select_contact(noah.id)
        assert window.banner.isVisible() and "Waiting for Noah" in window.banner_text.text()

        # Accepting needs Tor: it says so where the request is.
        qtbot.mouseClick(button(qtbot, section, "Accept"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: section.error.isVisible(), timeout=WAIT)
        assert section.error.text().startswith("Not connected yet")

        qtbot.mouseClick(button(qtbot, section, "Decline"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: section.title.text() == "Contact requests (1)", timeout=WAIT)
        qtbot.mouseClick(button(qtbot, section, "Block"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not section.title.isVisible(), timeout=WAIT)

        qtbot.mouseClick(button(qtbot, section, "Withdraw"), Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not section.isVisible(), timeout=WAIT)
        qtbot.waitUntil(lambda: window.contacts_model.row_of(noah.id) is None, timeout=WAIT)
        assert window.messages.contact_id is None  # its chat closed with it
    finally:
        facade.shutdown()

    async def blocked(prof: profile.Profile) -> tuple[bool, bool]:
        lena = people["Lena"][0].identity_key
        mallory = people["Mallory"][0].identity_key
        return (
            await prof.db.run(requests_repo.is_blocked, lena),
            await prof.db.run(requests_repo.is_blocked, mallory),
        )

    assert run_sync(blocked, pair.alice) == (False, True)


# --- contact details ------------------------------------------------------------------------


def details_of(qtbot, window: MainWindow, contact_id: int) -> ContactDetailsDialog:
    dialog = ContactDetailsDialog(window.facade, contact_id, window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.details is not None, timeout=WAIT)
    return dialog


def test_safety_number_trust_direct_policy_block_and_delete(qtbot, linked, pair: Pair):
    alice, bob = linked
    assert alice.select_contact(pair.bob_id)
    mine = details_of(qtbot, alice, pair.bob_id)
    theirs = details_of(qtbot, bob, pair.alice_id)
    assert mine.safety.text() == theirs.safety.text()  # the same 60 digits on both screens
    assert len(mine.details.safety_number.replace(" ", "")) == 60
    scanned = find_invite_text(mine.safety_qr)
    assert scanned == mine.details.safety_number.replace(" ", "")
    assert mine.name.text() == "Bob" and "Not verified" in mine.status.text()

    # They match: verified (the chat header says so too), then trusted.
    qtbot.mouseClick(mine.verify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: mine.details.trust == "verified", timeout=WAIT)
    assert not mine.verify_button.isVisible() and "You verified Bob" in mine.verified.text()
    qtbot.waitUntil(lambda: "Verified" in alice.chat_status.text(), timeout=WAIT)
    mine.trust.setCurrentIndex(mine.trust.findData("trusted"))
    mine.trust.activated.emit(mine.trust.currentIndex())
    qtbot.waitUntil(lambda: mine.details.trust == "trusted", timeout=WAIT)

    # Direct connection: the warning is in plain words; the choice sticks.
    assert "IP address" in mine.warning.text() and mine.warning.isVisible()
    assert "may be used" in mine.policy_now.text()  # trusted: the default allows it
    mine.policy.setCurrentIndex(mine.policy.findData("off"))
    mine.policy.activated.emit(mine.policy.currentIndex())
    qtbot.waitUntil(lambda: mine.details.direct_policy == "off", timeout=WAIT)
    assert "goes through Tor" in mine.policy_now.text()

    # Block: composer off, a banner to undo it; unblock from the banner.
    qtbot.mouseClick(mine.block_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: mine.details.blocked, timeout=WAIT)
    assert mine.block_button.text() == "Unblock Bob"
    qtbot.waitUntil(lambda: not alice.composer.isEnabled(), timeout=WAIT)
    assert alice.banner.isVisible() and "You blocked Bob" in alice.banner_text.text()
    qtbot.mouseClick(alice.banner_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: alice.composer.isEnabled(), timeout=WAIT)
    mine.load()
    qtbot.waitUntil(lambda: not mine.details.blocked, timeout=WAIT)

    # Delete, after saying what it does: the contact and the chat are gone.
    qtbot.mouseClick(mine.delete_button, Qt.MouseButton.LeftButton)
    assert mine.confirm.isVisible() and "cannot be undone" in mine.confirm_text.text()
    deleted: list[int] = []
    mine.deleted.connect(deleted.append)
    qtbot.mouseClick(mine.delete_now, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: deleted == [pair.bob_id], timeout=WAIT)
    qtbot.waitUntil(lambda: alice.contacts_model.rowCount() == 0, timeout=WAIT)
    assert alice.messages.contact_id is None and alice.no_contacts.isVisible()


def find_invite_text(view: QWidget) -> str:
    """The text of the QR code a widget shows (read back from its pixels)."""
    from libra_gui.core.services.qr import decode_qr_image

    texts = decode_qr_image(_png(view.pixmap().toImage()))  # type: ignore[attr-defined]
    assert len(texts) == 1
    return texts[0]


def test_shared_secret_question_between_two_windows(qtbot, linked, pair: Pair):
    alice, bob = linked
    exchange(qtbot, alice, bob, pair)
    mine = details_of(qtbot, alice, pair.bob_id)
    mine.question.setText("Where did we first meet?")
    mine.answer_edit.setText("The Climbing Gym")
    qtbot.mouseClick(mine.ask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: mine.waiting.isVisible(), timeout=WAIT)
    assert "Waiting for Bob to answer" in mine.waiting_text.text()
    assert not mine.ask_button.isEnabled()

    # Bob's chat says he is asked; the banner opens his details, where he answers.
    assert bob.select_contact(pair.alice_id)
    qtbot.waitUntil(lambda: bob.banner.isVisible(), timeout=WAIT)
    assert "asks you a question" in bob.banner_text.text()
    theirs = details_of(qtbot, bob, pair.alice_id)
    assert theirs.question_card.isVisible()
    assert "Where did we first meet?" in theirs.their_question.text()
    theirs.their_answer.setText("  the climbing gym ")
    qtbot.mouseClick(theirs.answer_button, Qt.MouseButton.LeftButton)

    for dialog in (mine, theirs):
        qtbot.waitUntil(lambda d=dialog: d.result.isVisible(), timeout=WAIT)
        assert "The answers matched" in dialog.result.text()
        qtbot.waitUntil(lambda d=dialog: d.details.trust == "verified", timeout=WAIT)
    assert not mine.waiting.isVisible() and not theirs.question_card.isVisible()
    qtbot.waitUntil(lambda: not bob.banner.isVisible(), timeout=WAIT)

    # A wrong answer is said plainly and changes nothing.
    mine.trust.setCurrentIndex(mine.trust.findData("known"))
    mine.trust.activated.emit(mine.trust.currentIndex())
    qtbot.waitUntil(lambda: mine.details.trust == "known", timeout=WAIT)
    mine.question.setText("Name of my cat?")
    mine.answer_edit.setText("Tiger")
    qtbot.mouseClick(mine.ask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: theirs.question_card.isVisible(), timeout=WAIT)
    theirs.their_answer.setText("Felix")
    theirs.answer()
    qtbot.waitUntil(lambda: "did not match" in mine.result.text(), timeout=WAIT)
    mine.load()
    qtbot.waitUntil(lambda: mine.details.trust == "known" and mine.ask_button.isEnabled())


def test_asking_without_a_connection_says_what_to_do(qtbot, alice_window, pair: Pair):
    dialog = details_of(qtbot, alice_window, pair.bob_id)
    qtbot.mouseClick(dialog.ask_button, Qt.MouseButton.LeftButton)
    assert "Write a question" in dialog.result.text()
    dialog.question.setText("Our first pet?")
    dialog.answer_edit.setText("Rex")
    qtbot.mouseClick(dialog.ask_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.error.isVisible(), timeout=WAIT)
    assert dialog.error.title.text() == "Your contact is not connected"
    assert not dialog.waiting.isVisible()


# --- my alias -------------------------------------------------------------------------------


def test_my_alias_modes_one_time_invite_and_new_words(qtbot, alice_window):
    dialog = MyAliasDialog(alice_window.facade, alice_window)
    qtbot.addWidget(dialog)
    dialog.show()
    card = dialog.card
    qtbot.waitUntil(lambda: card.info is not None, timeout=WAIT)
    assert not card.info.findable and not dialog.settings.isEnabled()
    assert "Nobody can find you" in dialog.state.text()
    old_words = card.info.words

    card.findable.click()
    qtbot.waitUntil(lambda: card.info.findable, timeout=WAIT)
    assert dialog.settings.isEnabled() and dialog.public.isChecked()
    assert "anyone who knows your three words" in dialog.state.text()
    public = find_invite(_png(card.qr.pixmap().toImage()))  # the big QR scans
    assert public.onion is None and not public.private

    dialog.private.click()
    qtbot.waitUntil(lambda: card.info.private, timeout=WAIT)
    dialog.one_time.click()
    qtbot.waitUntil(lambda: card.info.one_time, timeout=WAIT)
    invite = find_invite(_png(card.qr.pixmap().toImage()))
    assert invite.private and invite.one_time and invite.onion is not None
    assert parse_invite(card.info.link) == invite
    assert "words alone are not enough" in card.hint.text()
    assert "only with your invite link" in dialog.state.text()

    dialog.expiry.setCurrentIndex(dialog.expiry.findData(3600))
    dialog.expiry.activated.emit(dialog.expiry.currentIndex())
    qtbot.waitUntil(lambda: card.info.expires is not None, timeout=WAIT)
    assert 3500 < card.info.expires - time.time() <= 3600
    assert dialog.expiry.itemData(0) == -1  # "At 14:32 (as set)" stays selected

    # New words: asked first, then everything changes.
    qtbot.mouseClick(dialog.regenerate, Qt.MouseButton.LeftButton)
    assert dialog.confirm.isVisible()
    qtbot.mouseClick(dialog.regenerate_now, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: card.info.words != old_words, timeout=WAIT)
    assert card.words.text() == card.info.words
    assert find_invite(_png(card.qr.pixmap().toImage())).alias == card.info.words

    card.findable.click()
    qtbot.waitUntil(lambda: not card.info.findable, timeout=WAIT)
    assert not dialog.settings.isEnabled()


# --- keyboard -------------------------------------------------------------------------------


def test_keyboard_reaches_every_screen(qtbot, pair: Pair):
    facade = make_facade(pair.alice)
    try:
        window = open_window(qtbot, facade)

        def activate() -> None:  # the offscreen platform does not re-activate after a dialog
            window.activateWindow()
            qtbot.waitUntil(window.isActiveWindow, timeout=WAIT)

        activate()
        ctrl = Qt.KeyboardModifier.ControlModifier
        seen: list[str] = []

        def close_with_escape(dialog: QWidget) -> None:
            seen.append(type(dialog).__name__)
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)

        timer = on_next_dialog(close_with_escape)
        qtbot.keyClick(window.contact_list, Qt.Key.Key_N, ctrl)
        assert seen == ["AddContactDialog"]
        activate()

        def jump(dialog: QWidget) -> None:
            seen.append(type(dialog).__name__)
            assert isinstance(dialog, QuickSwitcher)
            qtbot.keyClicks(dialog.search, "bo")
            qtbot.keyClick(dialog.search, Qt.Key.Key_Return)

        timer = on_next_dialog(jump)
        qtbot.keyClick(window.contact_list, Qt.Key.Key_K, ctrl)
        assert seen[-1] == "QuickSwitcher"
        assert window.messages.contact_id == pair.bob_id
        activate()
        assert window.composer.hasFocus()

        timer = on_next_dialog(close_with_escape)
        qtbot.keyClick(window.composer, Qt.Key.Key_I, ctrl)
        assert seen[-1] == "ContactDetailsDialog"
        activate()

        settings: list[bool] = []
        window.settingsRequested.connect(lambda: settings.append(True))
        qtbot.keyClick(window.composer, Qt.Key.Key_Comma, ctrl)
        assert settings == [True]
        dialog = window.findChild(SettingsDialog)  # opened by the window, not blocking
        assert dialog is not None and dialog.isVisible()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: window.findChild(SettingsDialog) is None, timeout=WAIT)
        activate()

        qtbot.keyClick(window.composer, Qt.Key.Key_Escape)
        assert window.messages.contact_id is None
        qtbot.keyClick(window.contact_list, Qt.Key.Key_Down, Qt.KeyboardModifier.AltModifier)
        assert window.messages.contact_id == pair.bob_id
        del timer
    finally:
        facade.shutdown()
