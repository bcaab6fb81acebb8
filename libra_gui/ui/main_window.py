"""The main window: contacts on the left, the open conversation on the right, Tor below.

Everything it shows comes from the facade (commands and signals); it holds no core object.
Closing it shuts the engine down cleanly (node, store, thread).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.services.events import MessageReceived
from .alias_view import MyAliasDialog
from .chat import ChatView, Composer, MessageListModel
from .contacts import ContactDelegate, ContactListModel, RequestsSection
from .engine import ContactSummary, EngineFacade, ProfileInfo, RequestSummary
from .errors import user_message
from .onboarding import LogoMark
from .states import TorStatus
from .texts import path_text, trust_text
from .tor_status import TorPanel, TorStatusItem
from .widgets import Avatar, StatusDot, dot_color

REFRESH_DELAY_MS = 120  # coalesce bursts of events into one contact-list query


class MainWindow(QMainWindow):
    """Contact list, chat view, composer and the Tor status bar."""

    def __init__(self, facade: EngineFacade, profile: ProfileInfo | None = None) -> None:
        super().__init__()
        self.facade = facade
        self.profile = profile or facade.profile_info
        self.setWindowTitle(self.tr("Libra"))
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
        QShortcut(QKeySequence.StandardKey.Quit, self, self.close)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, lambda: self.open_chat(None))

        self.contacts_model.set_paths(facade.paths)
        self._on_tor_status(facade.tor_status)
        self.refresh_contacts()
        self.refresh_requests()

    # -- building ----------------------------------------------------------------------------

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
        self.me_avatar = Avatar(header, 34)
        name = self.profile.display_name if self.profile else ""
        self.me_avatar.set_person(name, 0)
        self.me_name = QLabel(name)
        self.me_name.setObjectName("chatTitle")
        self.alias_button = QPushButton(self.tr("My alias"))
        self.alias_button.setToolTip(self.tr("Your three words and QR code, to share"))
        self.alias_button.clicked.connect(self.show_alias)
        row.addWidget(self.me_avatar)
        row.addWidget(self.me_name, 1)
        row.addWidget(self.alias_button)
        layout.addWidget(header)

        self.requests = RequestsSection()
        self.requests.accepted.connect(self._accept_request)
        self.requests.declined.connect(self._decline_request)
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
                "Share your alias (three words or a QR code) with the people you want to talk "
                "to. When they add you, their request appears here."
            )
        )
        text.setWordWrap(True)
        text.setObjectName("muted")
        show = QPushButton(self.tr("Show my alias"))
        show.setObjectName("primary")
        show.clicked.connect(self.show_alias)
        for widget in (title, text, show):
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
        note.setMaximumWidth(460)
        p.addWidget(hello)
        p.addWidget(note, 0, Qt.AlignmentFlag.AlignHCenter)
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
        row.addWidget(self.chat_avatar)
        row.addSpacing(6)
        row.addLayout(titles, 1)
        layout.addWidget(header)

        self.messages = MessageListModel(self.facade, self)
        self.chat_view = ChatView(self.messages)
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
        compose_row.addWidget(self.composer, 1)
        compose_row.addWidget(self.send_button, 0, Qt.AlignmentFlag.AlignBottom)
        bar_layout.addWidget(self.send_error)
        bar_layout.addLayout(compose_row)
        layout.addWidget(bar)
        self.chat_page = chat

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
        if current is not None:
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
        self.facade.then(
            self.facade.accept_request(request_id), self, self._request_decided, self._show_error
        )

    def _decline_request(self, request_id: int) -> None:
        self.facade.then(
            self.facade.decline_request(request_id), self, self._request_decided, self._show_error
        )

    def _request_decided(self, _result: object) -> None:
        self.refresh_requests()
        self.refresh_contacts()

    # -- chat --------------------------------------------------------------------------------

    def _on_current_contact(self, current: QModelIndex, _previous: QModelIndex) -> None:
        contact = self.contacts_model.contact(current.row()) if current.isValid() else None
        if contact is not None and contact.id != self.messages.contact_id:
            self.open_chat(contact.id)

    def open_chat(self, contact_id: int | None) -> None:
        """Show a conversation (None: the placeholder)."""
        self.send_error.hide()
        self.messages.open(contact_id)
        if contact_id is None:
            self.contact_list.clearSelection()
            self.chat_stack.setCurrentWidget(self.placeholder)
            return
        self.chat_stack.setCurrentWidget(self.chat_page)
        self.chat_view.setAccessibleName(self.tr("Messages"))
        self._show_header(contact_id)
        self.composer.setFocus()
        self._mark_read(contact_id)

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
            message = user_message(error)
            self.send_error.setText(f"{message.title}: {message.text}")
            self.send_error.show()

        self.facade.then(self.facade.send_text(contact_id, text), self, lambda _: None, failed)

    # -- events ------------------------------------------------------------------------------

    def _on_received(self, event: MessageReceived) -> None:
        contact_id = event.contact_id
        if contact_id == self.messages.contact_id:
            self.messages.notify_new()
            if self.isVisible() and not self.isMinimized():
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

    def _on_tor_status(self, status: TorStatus) -> None:
        self.tor_item.show_status(status)

    # -- dialogs -----------------------------------------------------------------------------

    def show_alias(self) -> None:
        MyAliasDialog(self.facade, self).exec()

    def show_tor_panel(self) -> None:
        TorPanel(self.facade, self).exec()

    def _show_error(self, error: BaseException) -> None:
        message = user_message(error)
        self.statusBar().showMessage(f"{message.title}: {message.text}", 10_000)

    # -- shutdown ----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        """Hide at once, then stop the node, close the store and join the engine thread."""
        self.hide()
        if not self._shut_down:
            self._shut_down = True
            self.facade.shutdown()
        event.accept()
