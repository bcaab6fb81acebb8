"""The main window: contacts on the left, the open conversation on the right, Tor below.

Everything it shows comes from the facade (commands and signals); it holds no core object.
Closing it shuts the engine down cleanly (node, store, thread); minimising it while a tray
icon exists hides it to the tray. Keyboard: Ctrl+N add a contact, Ctrl+K go to a chat,
Alt+Up / Alt+Down previous / next chat, Ctrl+O send a file, Ctrl+I contact details,
Ctrl+, settings, Esc closes the chat (and every dialog), Ctrl+Q quits.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QStandardPaths,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.events import Event
from ..core.services.events import MessageReceived
from .add_contact import AddContactDialog
from .alias_view import MyAliasDialog
from .chat import ChatView, Composer, MessageListModel
from .contact_details import ContactDetailsDialog
from .contacts import ContactDelegate, ContactListModel, QuickSwitcher, RequestsSection
from .engine import ContactSummary, EngineFacade, ProfileInfo, RequestSummary
from .errors import user_message
from .files_view import AttachButton
from .notify import Notifier, Tray, app_icon
from .onboarding import LogoMark
from .settings_dialog import SettingsDialog, notification_settings, open_settings
from .states import TorStatus
from .texts import path_text, trust_text
from .tor_status import TorPanel, TorStatusItem
from .widgets import Avatar, StatusDot, dot_color

REFRESH_DELAY_MS = 120  # coalesce bursts of events into one contact-list query


class MainWindow(QMainWindow):
    """Contact list, chat view, composer and the Tor status bar."""

    settingsRequested = Signal()  # Ctrl+, or the menu: the settings screen opens

    def __init__(
        self,
        facade: EngineFacade,
        profile: ProfileInfo | None = None,
        *,
        use_tray: bool = True,
    ) -> None:
        super().__init__()
        self.facade = facade
        self.profile = profile or facade.profile_info
        self.setWindowTitle(self.tr("Libra"))
        self.setWindowIcon(app_icon())
        self.resize(1100, 720)
        self.setMinimumSize(720, 480)
        self._contacts_by_id: dict[int, ContactSummary] = {}
        self._shut_down = False

        splitter = QSplitter()
        splitter.setChildrenCollapsible(False)
        splitter.setHandleWidth(1)
        splitter.addWidget(self._build_sidebar())
        splitter.addWidget(self._build_chat_area())
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 770])
        self.setCentralWidget(splitter)

        self.tor_item = TorStatusItem()
        self.tor_item.clicked.connect(self.show_tor_panel)
        self.statusBar().addWidget(self.tor_item)
        self.statusBar().setSizeGripEnabled(False)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self.refresh_contacts)

        facade.torStatusChanged.connect(self._on_tor_status)
        facade.pathChanged.connect(self._on_path)
        facade.messageReceived.connect(self._on_received)
        facade.messageStateChanged.connect(self._on_state)
        facade.trustChanged.connect(lambda *_: self._refresh_timer.start())
        facade.contactsChanged.connect(self._refresh_timer.start)
        facade.requestsChanged.connect(self.refresh_requests)
        facade.fileChanged.connect(self._on_file_event)
        facade.verificationRequested.connect(lambda *_: self._update_banner())
        facade.verificationFinished.connect(lambda *_: self._update_banner())
        self._build_actions()

        self.tray = Tray(app_icon(), self) if use_tray and Tray.available() else None
        if self.tray is not None:
            self.tray.openRequested.connect(self.show_from_tray)
            self.tray.quitRequested.connect(self.quit)
        self.notifier = Notifier(
            facade,
            self,
            is_reading=self.is_reading,
            name_of=self._name_of,
            tray=self.tray,
            settings=notification_settings(facade.privacy),
        )
        self.settingsRequested.connect(self.open_settings)
        self.notifier.openChat.connect(self._open_from_notification)
        self.notifier.openRequests.connect(self.show_from_tray)

        self.contacts_model.set_paths(facade.paths)
        self._on_tor_status(facade.tor_status)
        self.refresh_contacts()
        self.refresh_requests()

    # -- building ----------------------------------------------------------------------------

    def _build_actions(self) -> None:
        """Menus double as the list of keyboard shortcuts (every action works from the keys)."""
        menu = self.menuBar()
        libra = menu.addMenu(self.tr("&Libra"))
        chat = menu.addMenu(self.tr("&Chat"))

        def action(
            target_menu: object, text: str, keys: QKeySequence | str, slot: object
        ) -> QAction:
            item = QAction(text, self)
            item.setShortcut(QKeySequence(keys))
            item.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            item.triggered.connect(slot)  # type: ignore[arg-type]
            target_menu.addAction(item)  # type: ignore[attr-defined]
            return item

        self.add_action = action(libra, self.tr("&Add a contact…"), "Ctrl+N", self.add_contact)
        self.jump_action = action(libra, self.tr("&Go to a chat…"), "Ctrl+K", self.quick_switch)
        self.alias_action = action(libra, self.tr("&My alias…"), "", self.show_alias)
        self.tor_action = action(libra, self.tr("&Tor connection…"), "", self.show_tor_panel)
        self.settings_action = action(
            libra, self.tr("&Settings…"), "Ctrl+,", self.settingsRequested.emit
        )
        libra.addSeparator()
        self.quit_action = action(
            libra, self.tr("&Quit"), QKeySequence(QKeySequence.StandardKey.Quit), self.quit
        )
        self.attach_action = action(chat, self.tr("Send a &file…"), "Ctrl+O", self.choose_file)
        self.details_action = action(
            chat, self.tr("Contact &details…"), "Ctrl+I", self.show_details
        )
        chat.addSeparator()
        self.prev_action = action(
            chat, self.tr("&Previous chat"), "Alt+Up", lambda: self._step_chat(-1)
        )
        self.next_action = action(
            chat, self.tr("&Next chat"), "Alt+Down", lambda: self._step_chat(1)
        )
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, lambda: self.open_chat(None))
        self._update_chat_actions()

    def _build_sidebar(self) -> QWidget:
        sidebar = QWidget()
        sidebar.setObjectName("sidebar")
        sidebar.setMinimumWidth(260)
        layout = QVBoxLayout(sidebar)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)

        header = QWidget()
        header.setObjectName("sidebarHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(14, 12, 10, 12)
        row.setSpacing(6)
        self.me_avatar = Avatar(header, 34)
        name = self.profile.display_name if self.profile else ""
        self.me_avatar.set_person(name, 0)
        self.me_name = QLabel(name)
        self.me_name.setObjectName("chatTitle")
        self.alias_button = QPushButton(self.tr("My alias"))
        self.alias_button.setToolTip(self.tr("Your three words and QR code, to share"))
        self.alias_button.clicked.connect(self.show_alias)
        self.add_button = QToolButton()
        self.add_button.setObjectName("addContact")
        self.add_button.setText("+")
        self.add_button.setToolTip(self.tr("Add a contact (Ctrl+N)"))
        self.add_button.setAccessibleName(self.tr("Add a contact"))
        self.add_button.setFixedSize(34, 34)
        self.add_button.setStyleSheet("font-size: 16pt; padding-bottom: 2px;")
        self.add_button.clicked.connect(self.add_contact)
        row.addWidget(self.me_avatar)
        row.addSpacing(4)
        row.addWidget(self.me_name, 1)
        row.addWidget(self.alias_button)
        row.addWidget(self.add_button)
        layout.addWidget(header)

        self.requests = RequestsSection()
        self.requests.accepted.connect(self._accept_request)
        self.requests.declined.connect(self._decline_request)
        self.requests.blocked.connect(self._block_request)
        self.requests.withdrawn.connect(self._withdraw)
        layout.addWidget(self.requests)

        self.contacts_title = QLabel(self.tr("Chats"))
        self.contacts_title.setObjectName("sectionTitle")
        self.contacts_title.setContentsMargins(16, 6, 16, 4)
        layout.addWidget(self.contacts_title)

        self.contacts_model = ContactListModel(self)
        self.contact_list = QListView()
        self.contact_list.setObjectName("contactList")
        self.contact_list.setAccessibleName(self.tr("Contacts"))
        self.contact_list.setModel(self.contacts_model)
        self.contact_list.setItemDelegate(ContactDelegate(self.contact_list))
        self.contact_list.setMouseTracking(True)
        self.contact_list.setUniformItemSizes(True)
        self.contact_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.contact_list.selectionModel().currentChanged.connect(self._on_current_contact)
        layout.addWidget(self.contact_list, 1)

        self.no_contacts = QWidget()
        empty = QVBoxLayout(self.no_contacts)
        empty.setContentsMargins(20, 20, 20, 20)
        title = QLabel(self.tr("No contacts yet"))
        title.setObjectName("chatTitle")
        text = QLabel(
            self.tr(
                "Add someone with their three words, invite link or QR code, or share your own "
                "alias with them. Requests you receive appear here."
            )
        )
        text.setWordWrap(True)
        text.setObjectName("muted")
        add = QPushButton(self.tr("Add a contact"))
        add.setObjectName("primary")
        add.clicked.connect(self.add_contact)
        show = QPushButton(self.tr("Show my alias"))
        show.clicked.connect(self.show_alias)
        for widget in (title, text, add, show):
            empty.addWidget(widget)
        empty.addStretch(1)
        layout.addWidget(self.no_contacts, 1)
        self.no_contacts.hide()
        return sidebar

    def _build_chat_area(self) -> QWidget:
        self.chat_stack = QStackedWidget()

        placeholder = QWidget()
        p = QVBoxLayout(placeholder)
        p.addStretch(1)
        logo = LogoMark(None, 56)
        p.addWidget(logo, 0, Qt.AlignmentFlag.AlignHCenter)
        self.placeholder_title = hello = QLabel(self.tr("Choose a conversation"))
        hello.setObjectName("chatTitle")
        hello.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note = QLabel(
            self.tr(
                "Messages are end-to-end encrypted and travel through Tor. Only you and your "
                "contact can read them."
            )
        )
        note.setObjectName("muted")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        note.setWordWrap(True)
        keys = QLabel(self.tr("Ctrl+K: go to a chat · Ctrl+N: add a contact"))
        keys.setObjectName("muted")
        keys.setAlignment(Qt.AlignmentFlag.AlignCenter)
        p.addWidget(hello)
        p.addWidget(note)
        p.addSpacing(8)
        p.addWidget(keys)
        p.addStretch(2)
        p.setContentsMargins(60, 0, 60, 0)
        self.placeholder = placeholder

        chat = QWidget()
        layout = QVBoxLayout(chat)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        header = QWidget()
        header.setObjectName("chatHeader")
        row = QHBoxLayout(header)
        row.setContentsMargins(16, 10, 16, 10)
        self.chat_avatar = Avatar(header, 36)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.chat_name = QLabel()
        self.chat_name.setObjectName("chatTitle")
        status_row = QHBoxLayout()
        status_row.setSpacing(6)
        self.chat_dot = StatusDot(header, 9)
        self.chat_status = QLabel()
        self.chat_status.setObjectName("muted")
        status_row.addWidget(self.chat_dot)
        status_row.addWidget(self.chat_status, 1)
        titles.addWidget(self.chat_name)
        titles.addLayout(status_row)
        self.details_button = QPushButton(self.tr("Details"))
        self.details_button.setObjectName("flat")
        self.details_button.setToolTip(
            self.tr("Safety number, verification, trust, direct connection (Ctrl+I)")
        )
        self.details_button.clicked.connect(self.show_details)
        row.addWidget(self.chat_avatar)
        row.addSpacing(6)
        row.addLayout(titles, 1)
        row.addWidget(self.details_button)
        layout.addWidget(header)

        self.banner = QFrame()
        self.banner.setObjectName("banner")
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(16, 8, 16, 8)
        self.banner_text = QLabel()
        self.banner_text.setWordWrap(True)
        self.banner_button = QPushButton()
        self.banner_button.clicked.connect(self._banner_action)
        banner_row.addWidget(self.banner_text, 1)
        banner_row.addWidget(self.banner_button)
        self.banner.hide()
        self._banner_kind = ""
        layout.addWidget(self.banner)

        self.messages = MessageListModel(self.facade, self)
        self.chat_view = ChatView(self.messages)
        self.chat_view.fileAction.connect(self._file_action)
        layout.addWidget(self.chat_view, 1)

        bar = QWidget()
        bar.setObjectName("composerBar")
        bar_layout = QVBoxLayout(bar)
        bar_layout.setContentsMargins(16, 10, 16, 12)
        self.send_error = QLabel()
        self.send_error.setObjectName("error")
        self.send_error.setWordWrap(True)
        self.send_error.hide()
        compose_row = QHBoxLayout()
        self.attach_button = AttachButton()
        self.attach_button.clicked.connect(self.choose_file)
        self.composer = Composer()
        self.composer.submitted.connect(self.send)
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("primary")
        self.send_button.setToolTip(self.tr("Send (Enter)"))
        self.send_button.clicked.connect(
            lambda: (
                self.send(self.composer.toPlainText().strip())
                if self.composer.toPlainText().strip()
                else None
            )
        )
        compose_row.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignBottom)
        compose_row.addWidget(self.composer, 1)
        compose_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        bar_layout.addWidget(self.send_error)
        bar_layout.addLayout(compose_row)
        layout.addWidget(bar)
        self.chat_page = chat
        chat.setAcceptDrops(True)
        chat.installEventFilter(self)

        self.chat_stack.addWidget(placeholder)
        self.chat_stack.addWidget(chat)
        return self.chat_stack

    # -- contacts ----------------------------------------------------------------------------

    def refresh_contacts(self) -> None:
        self.facade.then(self.facade.contacts(), self, self._show_contacts, self._show_error)

    def _show_contacts(self, contacts: list[ContactSummary]) -> None:
        current = self.messages.contact_id
        self._contacts_by_id = {c.id: c for c in contacts}
        self.contacts_model.set_contacts(contacts)
        has_any = bool(contacts)
        self.contact_list.setVisible(has_any)
        self.contacts_title.setVisible(has_any)
        self.no_contacts.setVisible(not has_any)
        self.placeholder_title.setText(
            self.tr("Choose a conversation") if has_any else self.tr("Your chats will appear here")
        )
        self.requests.set_sent([c for c in contacts if c.awaiting_acceptance and not c.blocked])
        unread = sum(c.unread for c in contacts)
        self.setWindowTitle(
            self.tr("Libra (%1)").replace("%1", str(unread)) if unread else self.tr("Libra")
        )
        if self.tray is not None:
            self.tray.set_unread(unread)
        if current is not None:
            if current not in self._contacts_by_id:  # deleted
                self.open_chat(None)
                return
            row = self.contacts_model.row_of(current)
            if row is not None:
                self.contact_list.selectionModel().setCurrentIndex(
                    self.contacts_model.index(row),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect,
                )
            self._show_header(current)

    def refresh_requests(self) -> None:
        self.facade.then(
            self.facade.pending_requests(), self, self._show_requests, self._show_error
        )

    def _show_requests(self, requests: list[RequestSummary]) -> None:
        self.requests.set_requests(requests)

    def _accept_request(self, request_id: int) -> None:
        self._decide(self.facade.accept_request(request_id))

    def _decline_request(self, request_id: int) -> None:
        self._decide(self.facade.decline_request(request_id))

    def _block_request(self, request_id: int) -> None:
        self._decide(self.facade.block_request(request_id))

    def _withdraw(self, contact_id: int) -> None:
        self._decide(self.facade.delete_contact(contact_id))

    def _decide(self, future: object) -> None:
        self.requests.show_error("")

        def failed(error: BaseException) -> None:
            message = user_message(error)
            self.requests.show_error(f"{message.title}: {message.text}")

        self.facade.then(future, self, self._request_decided, failed)  # type: ignore[arg-type]

    def _request_decided(self, _result: object) -> None:
        self.refresh_requests()
        self.refresh_contacts()

    def select_contact(self, contact_id: int) -> bool:
        """Open a contact's chat through the list (so list and chat agree)."""
        row = self.contacts_model.row_of(contact_id)
        if row is None:
            return False
        self.contact_list.setCurrentIndex(self.contacts_model.index(row))
        if self.messages.contact_id != contact_id:
            self.open_chat(contact_id)
        return True

    def _step_chat(self, step: int) -> None:
        count = self.contacts_model.rowCount()
        if not count:
            return
        current = self.messages.contact_id
        row = self.contacts_model.row_of(current) if current is not None else None
        row = 0 if row is None else max(0, min(count - 1, row + step))
        contact = self.contacts_model.contact(row)
        if contact is not None:
            self.select_contact(contact.id)

    # -- chat --------------------------------------------------------------------------------

    def _on_current_contact(self, current: QModelIndex, _previous: QModelIndex) -> None:
        contact = self.contacts_model.contact(current.row()) if current.isValid() else None
        if contact is not None and contact.id != self.messages.contact_id:
            self.open_chat(contact.id)

    def open_chat(self, contact_id: int | None) -> None:
        """Show a conversation (None: the placeholder)."""
        self.send_error.hide()
        contact = self._contacts_by_id.get(contact_id) if contact_id is not None else None
        self.chat_view.contact_name = contact.display_name if contact is not None else ""
        self.messages.open(contact_id)
        self._update_chat_actions()
        if contact_id is None:
            self.contact_list.clearSelection()
            self.chat_stack.setCurrentWidget(self.placeholder)
            return
        self.chat_stack.setCurrentWidget(self.chat_page)
        self.chat_view.setAccessibleName(self.tr("Messages"))
        self._show_header(contact_id)
        self.composer.setFocus()
        self._mark_read(contact_id)

    def _update_chat_actions(self) -> None:
        has_chat = self.messages.contact_id is not None
        self.attach_action.setEnabled(has_chat)
        self.details_action.setEnabled(has_chat)

    def _show_header(self, contact_id: int) -> None:
        contact = self._contacts_by_id.get(contact_id)
        if contact is None:
            return
        path = self.facade.paths.get(contact_id, "offline")
        self.chat_avatar.set_person(contact.display_name, contact.id)
        self.chat_name.setText(contact.display_name)
        status = f"{path_text(path)} · {trust_text(contact.trust)}"
        self.chat_status.setText(status)
        self.chat_dot.set(dot_color(path), path_text(path))
        self.chat_view.setAccessibleName(
            self.tr("Messages with %1").replace("%1", contact.display_name)
        )
        self.chat_view.contact_name = contact.display_name
        blocked = contact.blocked
        self.composer.setEnabled(not blocked)
        self.send_button.setEnabled(not blocked)
        self.attach_button.setEnabled(not blocked)
        self.composer.setPlaceholderText(
            self.tr("You blocked %1").replace("%1", contact.display_name)
            if blocked
            else self.tr("Write a message")
        )
        self._update_banner()

    def _update_banner(self) -> None:
        """One line under the header for what needs the user: keys, a question, a request."""
        contact_id = self.messages.contact_id
        contact = self._contacts_by_id.get(contact_id) if contact_id is not None else None
        if contact is None:
            self.banner.hide()
            return
        name = contact.display_name
        question = self.facade.questions.get(contact.id)
        if contact.key_change_pending:
            kind = "details"
            text = self.tr("%1's security keys changed. Check before you continue.").replace(
                "%1", name
            )
            button = self.tr("Review…")
        elif question is not None:
            kind = "details"
            text = self.tr("%1 asks you a question to check it is really you.").replace("%1", name)
            button = self.tr("Answer…")
        elif contact.blocked:
            kind = "unblock"
            text = self.tr("You blocked %1. Nothing is sent or received.").replace("%1", name)
            button = self.tr("Unblock")
        elif contact.awaiting_acceptance:
            kind = ""
            text = self.tr(
                "Waiting for %1 to accept your request. What you write now is delivered once "
                "they do."
            ).replace("%1", name)
            button = ""
        else:
            self.banner.hide()
            return
        self._banner_kind = kind
        self.banner_text.setText(text)
        self.banner_button.setText(button)
        self.banner_button.setVisible(bool(button))
        self.banner.show()

    def _banner_action(self) -> None:
        contact_id = self.messages.contact_id
        if contact_id is None:
            return
        if self._banner_kind == "unblock":
            self.facade.then(
                self.facade.set_blocked(contact_id, False),
                self,
                lambda _: self.refresh_contacts(),
                self._show_chat_error,
            )
        else:
            self.show_details()

    def _mark_read(self, contact_id: int) -> None:
        contact = self._contacts_by_id.get(contact_id)
        if contact is not None and contact.unread:
            self.facade.then(
                self.facade.mark_read(contact_id),
                self,
                lambda _: self._refresh_timer.start(),
                self._show_error,
            )

    def send(self, text: str) -> None:
        contact_id = self.messages.contact_id
        if contact_id is None or not text:
            return
        self.composer.clear()
        self.send_error.hide()
        if self.messages.has_newer:
            self.messages.jump_to_latest()

        def failed(error: BaseException) -> None:
            if not self.composer.toPlainText():
                self.composer.setPlainText(text)
            self._show_chat_error(error)

        self.facade.then(self.facade.send_text(contact_id, text), self, lambda _: None, failed)

    def is_reading(self, contact_id: int) -> bool:
        """Is the user looking at this chat right now (then no notification)?"""
        return (
            self.isVisible()
            and not self.isMinimized()
            and self.isActiveWindow()
            and self.messages.contact_id == contact_id
        )

    def _name_of(self, contact_id: int) -> str | None:
        contact = self._contacts_by_id.get(contact_id)
        return contact.display_name if contact is not None else None

    # -- files -------------------------------------------------------------------------------

    def choose_file(self) -> None:
        """Pick a file and send it to the open chat."""
        if self.messages.contact_id is None or not self.attach_button.isEnabled():
            return
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Send a file"))
        if path:
            self.send_file(Path(path))

    def send_file(self, path: Path) -> None:
        contact_id = self.messages.contact_id
        if contact_id is None:
            return
        self.send_error.hide()
        if self.messages.has_newer:
            self.messages.jump_to_latest()
        self.facade.then(
            self.facade.send_file(contact_id, path), self, lambda _: None, self._show_chat_error
        )

    def _on_file_event(self, event: Event) -> None:
        self.messages.apply_file_event(event)

    def _file_action(self, action: str, transfer_id: int) -> None:
        facade = self.facade
        if action == "accept":
            self.facade.then(
                facade.accept_file(transfer_id), self, lambda _: None, self._show_chat_error
            )
        elif action == "cancel":
            self.facade.then(
                facade.cancel_file(transfer_id), self, lambda _: None, self._show_chat_error
            )
        elif action == "save":
            self.save_file(transfer_id, open_after=False)
        elif action == "open":
            saved = self.messages.saved.get(transfer_id)
            if saved is not None and saved.exists():
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(saved)))
            else:
                self.save_file(transfer_id, open_after=True)

    def save_file(self, transfer_id: int, *, open_after: bool) -> None:
        """Ask where to put a received file, decrypt it there (the only plaintext copy
        Libra writes), then open it if asked."""
        row = self.chat_view.file_row(transfer_id)
        name = row.bubble.transfer.name if row and row.bubble.transfer else ""
        folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DownloadLocation)
        title = self.tr("Open the file") if open_after else self.tr("Save the file")
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path(folder or ".") / name))
        if not path:
            return
        dest = Path(path)

        def saved(result: Path) -> None:
            self.messages.mark_saved(transfer_id, result)
            self.statusBar().showMessage(self.tr("Saved to %1").replace("%1", str(result)), 8000)
            if open_after:
                QDesktopServices.openUrl(QUrl.fromLocalFile(str(result)))

        self.facade.then(
            self.facade.save_file(transfer_id, dest), self, saved, self._show_chat_error
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Files dropped on the chat are sent to it."""
        if watched is self.chat_page and self.attach_button.isEnabled():
            if event.type() == QEvent.Type.DragEnter:
                drag: QDragEnterEvent = event  # type: ignore[assignment]
                if drag.mimeData().hasUrls() and all(
                    u.isLocalFile() for u in drag.mimeData().urls()
                ):
                    drag.acceptProposedAction()
                    return True
            elif event.type() == QEvent.Type.Drop:
                drop: QDropEvent = event  # type: ignore[assignment]
                for url in drop.mimeData().urls():
                    if url.isLocalFile():
                        self.send_file(Path(url.toLocalFile()))
                drop.acceptProposedAction()
                return True
        return super().eventFilter(watched, event)

    # -- events ------------------------------------------------------------------------------

    def _on_received(self, event: MessageReceived) -> None:
        contact_id = event.contact_id
        if contact_id == self.messages.contact_id:
            self.messages.notify_new()
            if self.is_reading(contact_id):  # else: read when the window is activated
                self.facade.then(
                    self.facade.mark_read(contact_id),
                    self,
                    lambda _: self._refresh_timer.start(),
                    self._show_error,
                )
                return
        self._refresh_timer.start()

    def _on_state(self, contact_id: int, msg_id: bytes, state: str) -> None:
        if contact_id == self.messages.contact_id:
            if state == "queued":
                self.messages.notify_new()
            else:
                self.messages.update_state(msg_id, state)
        if state == "queued":
            self._refresh_timer.start()

    def _on_path(self, contact_id: int, state: str) -> None:
        self.contacts_model.set_path(contact_id, state)
        if contact_id == self.messages.contact_id:
            self._show_header(contact_id)
        contact = self._contacts_by_id.get(contact_id)
        if state != "offline" and contact is not None and contact.awaiting_acceptance:
            self._refresh_timer.start()  # they accepted: their card (with inbox) arrived

    def _on_tor_status(self, status: TorStatus) -> None:
        self.tor_item.show_status(status)

    # -- dialogs -----------------------------------------------------------------------------

    def show_alias(self) -> None:
        self._run_dialog(MyAliasDialog(self.facade, self))

    def show_tor_panel(self) -> None:
        self._run_dialog(TorPanel(self.facade, self))

    @staticmethod
    def _run_dialog(dialog: QDialog) -> int:
        """Show a dialog modally, then let it go (it would otherwise live, and keep listening
        to the facade, as long as the window)."""
        try:
            return dialog.exec()
        finally:
            dialog.deleteLater()

    def add_contact(self) -> None:
        dialog = AddContactDialog(
            self.facade, self, my_name=self.profile.display_name if self.profile else ""
        )
        dialog.openChat.connect(self._open_when_listed)
        self._run_dialog(dialog)

    def _open_when_listed(self, contact_id: int) -> None:
        """Open a chat that may not be in the list yet (just added): refresh, then open."""
        if self.select_contact(contact_id):
            return

        def listed(contacts: list[ContactSummary]) -> None:
            self._show_contacts(contacts)
            self.select_contact(contact_id)

        self.facade.then(self.facade.contacts(), self, listed, self._show_error)

    def show_details(self, contact_id: int | None = None) -> None:
        contact_id = contact_id if isinstance(contact_id, int) else self.messages.contact_id
        if contact_id is None:
            return
        self._run_dialog(ContactDetailsDialog(self.facade, contact_id, self))
        self.refresh_contacts()

    def quick_switch(self) -> None:
        switcher = QuickSwitcher(self.contacts_model, self)
        switcher.chosen.connect(self.select_contact)
        self._run_dialog(switcher)

    def _show_error(self, error: BaseException) -> None:
        message = user_message(error)
        self.statusBar().showMessage(f"{message.title}: {message.text}", 10_000)

    def _show_chat_error(self, error: BaseException) -> None:
        message = user_message(error)
        self.send_error.setText(f"{message.title}: {message.text}")
        self.send_error.show()

    # -- tray --------------------------------------------------------------------------------

    def open_settings(self, page: str = "tor") -> SettingsDialog:
        """The settings screen (Ctrl+, or the menu); saved notification choices apply at once."""
        dialog = open_settings(self, self.facade, page)
        dialog.privacyChanged.connect(
            lambda prefs: setattr(self.notifier, "settings", notification_settings(prefs))
        )
        return dialog

    def show_from_tray(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _open_from_notification(self, contact_id: int) -> None:
        self.show_from_tray()
        self.select_contact(contact_id)

    def changeEvent(self, event: QEvent) -> None:
        """Minimised with a tray icon: hide to the tray (the icon brings it back)."""
        super().changeEvent(event)
        if (
            event.type() == QEvent.Type.WindowStateChange
            and self.isMinimized()
            and self.tray is not None
        ):
            QTimer.singleShot(0, self.hide)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            contact_id = self.messages.contact_id
            if contact_id is not None:
                self._mark_read(contact_id)

    # -- shutdown ----------------------------------------------------------------------------

    def quit(self) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Hide at once, then stop the node, close the store and join the engine thread."""
        self.hide()
        if self.tray is not None:
            self.tray.icon.hide()
        if not self._shut_down:
            self._shut_down = True
            self.facade.shutdown()
        event.accept()
