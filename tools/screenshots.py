"""Render every screen of the desktop app offscreen, with realistic demo data, into PNGs.

    QT_QPA_PLATFORM=offscreen .venv-test/bin/python -m tools.screenshots [OUT_DIR]

Default OUT_DIR: docs/screenshots. Everything is real: profiles are SQLCipher files in a
temporary folder (a cheap KDF, it is demo data), the engine thread runs the core services,
and the Tor errors come from starting a node with a tor program that does not exist. Only
the demo's bootstrap progress and contacts' path states are published on the bus by hand,
since no network is used.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QApplication, QWidget

from libra_gui.core.events import Event
from libra_gui.core.net.tor.events import TorBootstrap
from libra_gui.core.net.tor.settings import TorSettings
from libra_gui.core.protocol.files import CHUNK_SIZE
from libra_gui.core.services import backup
from libra_gui.core.services import contacts as contacts_service
from libra_gui.core.services import profile as profile_service
from libra_gui.core.services import trust as trust_service
from libra_gui.core.services.beacon import public_card
from libra_gui.core.services.direct import PathChanged
from libra_gui.core.services.events import VerificationRequested
from libra_gui.core.storage import INSECURE_TEST_KDF
from libra_gui.core.storage import contacts as contacts_repo
from libra_gui.core.storage import conversations as conversations_repo
from libra_gui.core.storage import files as files_repo
from libra_gui.core.storage import messages as messages_repo
from libra_gui.core.storage import requests as requests_repo
from libra_gui.core.storage._conn import Connection
from libra_gui.ui import theme
from libra_gui.ui.add_contact import AddContactDialog
from libra_gui.ui.alias_view import MyAliasDialog
from libra_gui.ui.contact_details import ContactDetailsDialog
from libra_gui.ui.contacts import QuickSwitcher
from libra_gui.ui.engine import CardPreview, EngineFacade
from libra_gui.ui.main_window import MainWindow
from libra_gui.ui.onboarding import OnboardingDialog, UnlockDialog
from libra_gui.ui.tor_status import BridgesDialog, TorPanel

PASSPHRASE = "maple river lantern orbit"
MISSING_TOR = Path("/nonexistent/tor")
MINUTE = 60_000
DAY = 24 * 60 * MINUTE

PEOPLE = [  # name, trust, unread, link state
    ("Maya Lindqvist", "verified", 0, "tor"),
    ("Jonas Weber", "trusted", 2, "direct"),
    ("Priya Raman", "known", 0, "connecting-direct"),
    ("Tomás Ortega", "known", 5, "offline"),
    ("Grandma", "verified", 0, "fallback"),
    ("Sam", "known", 0, "offline"),
]

MAYA_CHAT = [  # (days ago, minutes into that day's afternoon, direction, body)
    (2, 10, "in", "Did you get the photos from the hike?"),
    (2, 12, "out", "Yes! The one at the ridge is my new wallpaper 🙂"),
    (2, 13, "in", "Haha, it was so windy up there."),
    (1, 40, "out", "Are we still on for Thursday?"),
    (1, 44, "in", "Yes. 7pm at the usual place?"),
    (1, 45, "out", "Perfect. I'll bring the book I told you about."),
    (
        0,
        5,
        "in",
        "Quick question: what was the name of that bakery near the station? The one with the "
        "cardamom buns. I want to take my parents there on Sunday.",
    ),
    (0, 9, "out", "Kaffebrød! Opens at 8, get there early, they sell out by ten."),
    (0, 10, "out", "Also: the sourdough is worth it.\nTrust me on this one."),
    (0, 11, "in", "Noted 😄 thank you!"),
    (0, 30, "out", "Sending you the address now"),
    (0, 31, "out", "Storgatan 14, next to the flower shop"),
]


def wait(condition: Callable[[], object], timeout: float = 30.0) -> None:
    """Process Qt events until ``condition()`` is true (the engine replies asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not reach the expected state")
        QCoreApplication.processEvents()
        time.sleep(0.01)
    for _ in range(5):
        QCoreApplication.processEvents()


def save(widget: QWidget, out: Path, name: str) -> None:
    widget.show()
    for _ in range(10):
        QCoreApplication.processEvents()
    path = out / f"{name}.png"
    widget.grab().save(str(path))
    print(path)


def publish(facade: EngineFacade, event: Event) -> None:
    """Demo only: put an event on the engine's bus, on the engine thread."""
    engine = facade.engine
    engine.submit(_publish(engine.bus, event)).result(10)


async def _publish(bus: object, event: Event) -> None:
    bus.publish(event)  # type: ignore[attr-defined]


def seed(facade: EngineFacade, base: Path) -> None:
    """Contacts with trust levels, unread counts and chats; one pending contact request."""
    engine = facade.engine
    now = int(time.time() * 1000)
    today_afternoon = now - now % DAY + 13 * 60 * MINUTE - _utc_offset_ms()
    today_afternoon = min(today_afternoon, now - 40 * MINUTE)
    cards = []
    extra = [("Lena Fischer", "", 0, ""), ("Noah Kim", "", 0, ""), ("Priya Raman", "", 0, "")]
    for i, (name, *_rest) in enumerate([*PEOPLE, *extra]):
        card = asyncio.run(
            profile_service.create_profile(
                base / f"peer{i}", PASSPHRASE, name, kdf_params=INSECURE_TEST_KDF
            )
        )
        cards.append(card)
    public = []  # what their beacons show: no inbox (Lena asked us; we asked Noah)
    for i in (len(PEOPLE), len(PEOPLE) + 1):
        other = asyncio.run(profile_service.unlock(base / f"peer{i}", PASSPHRASE))
        public.append(public_card(other).encode())
        asyncio.run(other.db.close())
    requester_card, asked_card = public

    async def add_all() -> None:
        prof = engine.profile
        assert prof is not None
        ids = []
        for card in cards[: len(PEOPLE)]:
            ids.append((await contacts_service.add_from_card(prof, card.encode())).id)
        await contacts_service.add_from_card(prof, asked_card)  # our request, not accepted yet
        priya = ids[2]
        new_priya = cards[-1]  # the same name, other keys: a key change to decide on

        def fill(conn: Connection) -> None:
            for contact_id, (_name, trust, unread, _state) in zip(ids, PEOPLE, strict=True):
                contacts_repo.set_trust(conn, contact_id, trust)  # type: ignore[arg-type]
                conv = conversations_repo.for_contact(conn, contact_id)
                if contact_id == ids[0]:
                    _fill_chat(conn, conv.id, today_afternoon)
                elif contact_id == ids[1]:
                    _fill_files(conn, conv.id, contact_id, today_afternoon)
                else:
                    at = today_afternoon - (contact_id * 7 * MINUTE) - contact_id // 4 * DAY
                    _insert(conn, conv.id, "in", "See you soon!", at)
                    if contact_id % 2:
                        _insert(conn, conv.id, "out", "Talk later!", at + MINUTE)
                    if unread:
                        texts = ["Are you there?", "Call me when you can", "It's about Sunday"]
                        for j in range(unread):
                            _insert(conn, conv.id, "in", texts[j % 3], at + (2 + j) * MINUTE)
                        conversations_repo.add_unread(conn, conv.id, unread)
            requests_repo.add_pending(
                conn,
                cards[len(PEOPLE)].identity_key,
                requester_card,
                "Hi! We met at the climbing gym on Saturday.",
            )
            old = contacts_repo.get(conn, priya)
            assert old is not None
            trust_service.record_key_change(conn, old, new_priya)

        await prof.db.transaction(fill)

    engine.submit(add_all()).result(30)


def _utc_offset_ms() -> int:
    return int(time.localtime().tm_gmtoff * 1000)


def _insert(
    conn: Connection, conv: int, direction: str, body: str, at: int, state: str = ""
) -> None:
    out = direction == "out"
    seq = conversations_repo.bump_out_seq(conn, conv) if out else _next_in(conn, conv)
    messages_repo.insert(
        conn,
        conv,
        secrets.token_bytes(16),
        direction,  # type: ignore[arg-type]
        seq,
        body,
        (state or "delivered") if out else "received",  # type: ignore[arg-type]
        sent_at=at - (0 if out else 20_000),
        received_at=None if out else at,
    )
    conversations_repo.touch(conn, conv, at)


def _next_in(conn: Connection, conv: int) -> int:
    found = conversations_repo.get(conn, conv)
    assert found is not None
    conversations_repo.set_next_in_seq(conn, conv, found.next_in_seq + 1)
    return found.next_in_seq


FILES = [  # (minutes, direction, name, size, state, fraction done)
    (3, "in", "Hike photos (ridge).zip", 48_300_000, "done", 1.0),
    (4, "out", "Kaffebrød menu.pdf", 1_240_000, "done", 1.0),
    (6, "in", "Thursday route.gpx", 86_000, "offered", 0.0),
    (7, "out", "Sunday plan.docx", 2_900_000, "transferring", 0.4),
]


def _fill_files(conn: Connection, conv: int, contact_id: int, today_afternoon: int) -> None:
    """Jonas's chat: files in every state (rows as FileService stores them)."""
    at = today_afternoon - 3 * 60 * MINUTE
    _insert(conn, conv, "in", "Here are the photos from the ridge!", at)
    for minutes, direction, name, size, state, done in FILES:
        file_id = secrets.token_bytes(16)
        out = direction == "out"
        when = at + minutes * MINUTE
        seq = conversations_repo.bump_out_seq(conn, conv) if out else _next_in(conn, conv)
        messages_repo.insert(
            conn,
            conv,
            file_id,
            direction,  # type: ignore[arg-type]
            seq,
            name,
            "delivered" if out else "received",
            sent_at=when,
            received_at=None if out else when,
            kind="file",
        )
        chunk = CHUNK_SIZE
        row = files_repo.insert(
            conn,
            contact_id=contact_id,
            direction=direction,  # type: ignore[arg-type]
            file_id=file_id,
            name=name,
            size=size,
            sha256=hashlib.sha256(name.encode()).digest(),
            chunk_size=chunk,
            file_key=secrets.token_bytes(32),
            state=state,  # type: ignore[arg-type]
            store_name=None if out else secrets.token_hex(16),
            source_path=f"/home/alex/Documents/{name}" if out else None,
            source_mtime_ns=0 if out else None,
        )
        chunks = int(size * done) // chunk
        if chunks:
            files_repo.set_progress(conn, row.id, chunks, 0, state)  # type: ignore[arg-type]
        conversations_repo.touch(conn, conv, when)


def _fill_chat(conn: Connection, conv: int, today_afternoon: int) -> None:
    for i, (days_ago, minutes, direction, body) in enumerate(MAYA_CHAT):
        at = today_afternoon - days_ago * DAY + minutes * MINUTE
        last = i >= len(MAYA_CHAT) - 2
        state = ("sent" if i == len(MAYA_CHAT) - 2 else "queued") if last else "delivered"
        _insert(conn, conv, direction, body, at, state)


def shoot(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app, dark=False)
    with tempfile.TemporaryDirectory(prefix="libra-shots-") as tmp:
        base = Path(tmp)
        _onboarding(out, base / "fresh")
        _unlock(out, base / "fresh")
        _restore(out, base)
        _main(out, base)
        theme.apply(app, dark=True)
        _main(out, base / "dark-run", suffix="-dark")
        theme.apply(app, dark=False)
        _settings(out, base / "settings")


def _facade(data_dir: Path) -> EngineFacade:
    settings = TorSettings(data_dir=data_dir / "tor", tor_path=MISSING_TOR)
    return EngineFacade(data_dir, tor_settings=settings, kdf_params=INSECURE_TEST_KDF)


def _onboarding(out: Path, data_dir: Path) -> None:
    facade = _facade(data_dir)
    dialog = OnboardingDialog(facade)
    save(dialog, out, "onboarding-1-welcome")
    dialog.create_button.click()
    dialog.name_edit.setText("Alex Morgan")
    save(dialog, out, "onboarding-2-name")
    dialog.name_next.click()
    dialog.passphrase.edit.setText("maple river")
    dialog.confirm.edit.setText("maple rive")
    save(dialog, out, "onboarding-3-passphrase-weak")
    dialog.passphrase.edit.setText(PASSPHRASE)
    dialog.confirm.edit.setText(PASSPHRASE)
    save(dialog, out, "onboarding-3-passphrase")
    dialog.passphrase_next.click()
    save(dialog, out, "onboarding-4-creating")
    wait(lambda: dialog.alias_card.info is not None and dialog.alias_card.findable.isEnabled())
    save(dialog, out, "onboarding-5-alias")
    dialog.close()
    facade.shutdown()


def _unlock(out: Path, data_dir: Path) -> None:
    facade = _facade(data_dir)
    dialog = UnlockDialog(facade)
    save(dialog, out, "unlock")
    dialog.passphrase.edit.setText("maple river lanturn orbit")
    dialog.unlock_button.click()
    wait(lambda: dialog.error.isVisible())
    save(dialog, out, "unlock-wrong-passphrase")
    dialog.close()
    facade.shutdown()


def _restore(out: Path, base: Path) -> None:
    """Welcome -> "Restore from a backup" -> the passphrase page (backup of base/fresh)."""
    asyncio.run(backup.backup(base / "fresh", base / "backup"))
    facade = _facade(base / "restored")
    dialog = OnboardingDialog(facade)
    dialog.choose_backup_folder = lambda: str(base / "backup")
    save(dialog, out, "onboarding-1-welcome")  # now with "Restore from a backup…"
    dialog.restore_button.click()
    dialog.restore_folder.setText(
        dialog.tr("Backup folder: %1").replace("%1", "/media/usb/libra-backup")
    )  # not the temp dir
    dialog.restore_passphrase.edit.setText(PASSPHRASE)
    save(dialog, out, "onboarding-restore")
    dialog.close()
    facade.shutdown()


def _main(out: Path, base: Path, suffix: str = "") -> None:
    base.mkdir(parents=True, exist_ok=True)
    empty = _facade(base / "empty")
    empty.create_profile("Alex Morgan", PASSPHRASE).result(30)
    window = MainWindow(empty)
    window.resize(1100, 700)
    wait(lambda: window.no_contacts.isVisible() or not window.isVisible())
    if not suffix:
        save(window, out, "main-no-contacts")
    window.close()

    facade = _facade(base / "me")
    info = facade.create_profile("Alex Morgan", PASSPHRASE).result(30)
    seed(facade, base / "peers")
    window = MainWindow(facade, info)
    window.resize(1100, 700)
    window.show()
    wait(lambda: window.contacts_model.rowCount() == len(PEOPLE) + 1)
    ids = {c.display_name: c.id for c in facade.contacts().result(30)}
    for name, _trust, _unread, state in PEOPLE:
        candidate = "srflx" if state == "direct" else None
        publish(facade, PathChanged(ids[name], state, candidate))
    publish(facade, TorBootstrap(62, "loading_descriptors", "Loading relay descriptors"))
    wait(lambda: facade.tor_status.percent == 62 and len(facade.paths) == len(PEOPLE))
    window.select_contact(ids[PEOPLE[0][0]])
    wait(lambda: window.messages.ready)
    window.composer.setPlainText("Thanks! See you Thursday")
    save(window, out, f"main-chat{suffix}")
    if suffix:
        facade.shutdown()
        window.close()
        return

    panel = TorPanel(facade, window)
    save(panel, out, "tor-panel-connecting")
    facade.start_node()
    wait(lambda: facade.tor_status.phase == "failed")
    save(panel, out, "tor-panel-error")
    save(window, out, "main-tor-error")
    panel.close()
    bridges = BridgesDialog([], window)
    save(bridges, out, "tor-bridges")
    bridges.close()
    alias = MyAliasDialog(facade, window)
    wait(lambda: alias.card.info is not None)
    alias.card.findable.click()
    wait(lambda: alias.card.info is not None and alias.card.info.findable)
    save(alias, out, "my-alias")
    alias.private.click()
    wait(lambda: alias.card.info is not None and alias.card.info.private)
    alias.one_time.click()
    wait(lambda: alias.card.info is not None and alias.card.info.one_time)
    save(alias, out, "my-alias-private")
    alias.close()
    _add_contact(out, facade, window)
    _details(out, facade, window, ids)
    _files(out, window, ids["Jonas Weber"])
    switcher = QuickSwitcher(window.contacts_model, window)
    switcher.search.setText("o")
    save(switcher, out, "quick-switcher")
    switcher.close()
    window.close()


def _add_contact(out: Path, facade: EngineFacade, window: MainWindow) -> None:
    dialog = AddContactDialog(facade, window, my_name="Alex Morgan")
    dialog.resize(520, 560)
    dialog.words.setText("amber falcn cany")
    save(dialog, out, "add-contact-1-check")
    dialog.words.setText("amber-falcon-canyon")
    save(dialog, out, "add-contact-1-find")
    dialog.search_title.setText("Looking for amber-falcon-canyon…")
    dialog._started = time.monotonic() - 12
    dialog._show_elapsed()
    dialog.search_busy.start()
    dialog.pages.setCurrentWidget(dialog.search_page)
    save(dialog, out, "add-contact-2-searching")
    # Demo: the answer a beacon would give (no network here).
    found = Future()
    dialog._pending = found
    preview = CardPreview(0, "Rosa Delgado", bytes(range(32)), "amber-falcon-canyon", False, None)
    dialog._found(preview)
    save(dialog, out, "add-contact-3-card")
    dialog._pending = found
    dialog._found(
        CardPreview(0, "Rosa Delgado", bytes(range(32)), "amber-falcon-canyon", True, None)
    )
    save(dialog, out, "add-contact-3-card-invite")
    dialog.preview = None
    dialog._sent(preview, 0)
    save(dialog, out, "add-contact-4-sent")
    dialog.close()


def _details(out: Path, facade: EngineFacade, window: MainWindow, ids: dict[str, int]) -> None:
    dialog = ContactDetailsDialog(facade, ids["Maya Lindqvist"], window)
    dialog.resize(580, 1180)
    wait(lambda: dialog.details is not None)
    save(dialog, out, "contact-details")
    dialog.close()
    priya = ids["Priya Raman"]
    publish(facade, VerificationRequested(priya, b"\x01" * 16, "What did we eat in Lisbon?"))
    wait(lambda: priya in facade.questions)
    dialog = ContactDetailsDialog(facade, priya, window)
    dialog.resize(580, 720)
    wait(lambda: dialog.details is not None)
    save(dialog, out, "contact-details-warnings")
    dialog.close()


def _files(out: Path, window: MainWindow, contact_id: int) -> None:
    window.select_contact(contact_id)
    wait(lambda: window.messages.ready and window.chat_view.file_row_count() == len(FILES))
    wait(lambda: all(r.bubble.transfer is not None for r in window.chat_view.file_rows()))
    save(window, out, "chat-files")


BRIDGE_LINES = (
    "obfs4 192.0.2.10:443 4B1A2C3D4E5F60718293A4B5C6D7E8F901234567 "
    "cert=Q2pVbG9uZ0NlcnRpZmljYXRlVGV4dEZvckRlbW9uc3RyYXRpb24gT25seQ iat-mode=0\n"
    "snowflake 192.0.2.3:80 2B280B23E1107BB62ABFC40DDCC8824814F80A72 "
    "fingerprint=2B280B23E1107BB62ABFC40DDCC8824814F80A72 "
    "url=https://snowflake-broker.torproject.net/ ice=stun:stun.l.google.com:19302"
)


def _settings(out: Path, base: Path) -> None:
    """The settings pages (light), a page with mistakes, and two pages in German (dark)."""
    from libra_gui.ui import i18n
    from libra_gui.ui.settings_dialog import SettingsDialog

    app = QApplication.instance()
    facade = _facade(base / "me")
    facade.create_profile("Alex Morgan", PASSPHRASE).result(30)
    dialog = SettingsDialog(facade)
    wait(lambda: dialog.loaded)
    dialog.bridges_edit.setPlainText(BRIDGE_LINES)
    dialog.use_bridges.setChecked(True)
    save(dialog, out, "settings-tor")
    dialog.bridges_edit.setPlainText(BRIDGE_LINES.split("\n")[0][:56])  # cut while copying
    dialog.extra_edit.setPlainText("SocksPort 9050")
    bar = dialog.tor_page.verticalScrollBar()
    wait(lambda: bar.maximum() > 0)
    dialog.tor_page.ensureWidgetVisible(dialog.bridges_check)
    save(dialog, out, "settings-tor-mistakes")
    dialog._filling = True  # demo: drop the edits without the "unsaved changes" question
    dialog._dirty.clear()
    dialog.show_page("privacy")
    dialog.ice_edit.setPlainText("stun:stun.example.org:3478")
    save(dialog, out, "settings-privacy")
    dialog.show_page("appearance")
    save(dialog, out, "settings-appearance")
    dialog.show_page("security")
    dialog.current_pass.edit.setText("maple river lantern")
    dialog.new_pass.edit.setText("copper meadow violin harbor")
    dialog.confirm_pass.edit.setText("copper meadow violin harbor")
    dialog.change_button.click()
    wait(lambda: dialog.security_page.error.isVisible())
    save(dialog, out, "settings-security-wrong")
    dialog.close()

    i18n.install("de")
    theme.apply(app, dark=True)
    try:
        dialog = SettingsDialog(facade, page="privacy")
        wait(lambda: dialog.loaded)
        save(dialog, out, "settings-privacy-de-dark")
        dialog.show_page("tor")
        dialog.bridges_edit.setPlainText(BRIDGE_LINES)
        dialog.use_bridges.setChecked(True)
        save(dialog, out, "settings-tor-de-dark")
        dialog._dirty.clear()
        dialog.close()
    finally:
        i18n.install("en")
        theme.apply(app, dark=False)
    facade.shutdown()


def main() -> int:
    """``python -m tools.screenshots [OUT_DIR] [settings|restore]``: every screen, or one part."""
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/screenshots")
    if sys.argv[2:] == ["restore"]:
        out.mkdir(parents=True, exist_ok=True)
        app = QApplication.instance() or QApplication(sys.argv[:1])
        theme.apply(app, dark=False)
        with tempfile.TemporaryDirectory(prefix="libra-shots-") as tmp:
            base = Path(tmp)
            asyncio.run(
                profile_service.create_profile(
                    base / "fresh", PASSPHRASE, "Alex Morgan", kdf_params=INSECURE_TEST_KDF
                )
            )
            _restore(out, base)
        return 0
    if sys.argv[2:] == ["settings"]:
        out.mkdir(parents=True, exist_ok=True)
        app = QApplication.instance() or QApplication(sys.argv[:1])
        theme.apply(app, dark=False)
        with tempfile.TemporaryDirectory(prefix="libra-shots-") as tmp:
            _settings(out, Path(tmp))
        return 0
    shoot(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
