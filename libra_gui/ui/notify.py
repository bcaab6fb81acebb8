"""Notifications and the tray icon.

:class:`Notifier` decides *whether* and *what* to tell (pure Qt logic, testable offscreen):
nothing for the chat you are reading; otherwise a line that by default names the sender and
never shows message text ("New message from Maya"), because notifications appear on the
lock screen and in screen shares. ``NotificationSettings`` holds the choices (the settings
screen sets them): show the text, or hide even the sender.

:class:`Tray` is the system-tray icon where the desktop has one: it shows the notifications,
the unread count, and lets the window be minimised to it. Without a tray (some desktops, the
offscreen platform) the window's taskbar entry is flashed instead (``QApplication.alert``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtGui import QAction, QIcon, QPixmap, QRegion
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from ..core.services.beacon import ContactRequestReceived
from ..core.services.events import ContactKeyChanged, MessageReceived
from .engine import EngineFacade

PREVIEW_CHARS = 120
SHOW_MS = 6000


@dataclass
class NotificationSettings:
    """What a notification may show (privacy first: sender name, never the text)."""

    enabled: bool = True
    show_sender: bool = True
    show_text: bool = False


@dataclass(frozen=True)
class Notification:
    kind: str  # message | request | question | keys
    title: str
    text: str
    contact_id: int | None = None


class Tray(QObject):
    """The tray icon: Open / Quit menu, notifications, unread count in the tooltip."""

    openRequested = Signal()
    quitRequested = Signal()
    messageClicked = Signal()

    def __init__(self, icon: QIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.icon = QSystemTrayIcon(icon, self)
        menu = QMenu()
        open_action = QAction(self.tr("Open Libra"), menu)
        quit_action = QAction(self.tr("Quit Libra"), menu)
        open_action.triggered.connect(self.openRequested)
        quit_action.triggered.connect(self.quitRequested)
        menu.addAction(open_action)
        menu.addSeparator()
        menu.addAction(quit_action)
        self._menu = menu
        self.icon.setContextMenu(menu)
        self.icon.activated.connect(self._on_activated)
        self.icon.messageClicked.connect(self.messageClicked)
        self.set_unread(0)
        self.icon.show()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def set_unread(self, count: int) -> None:
        if count:
            self.icon.setToolTip(self.tr("Libra: %1 unread").replace("%1", str(count)))
        else:
            self.icon.setToolTip(self.tr("Libra"))

    def show(self, note: Notification) -> None:
        self.icon.showMessage(
            note.title, note.text, QSystemTrayIcon.MessageIcon.Information, SHOW_MS
        )

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.openRequested.emit()


class Notifier(QObject):
    """Turns core events into notifications; ``notified`` carries each one shown."""

    notified = Signal(object)  # Notification
    openChat = Signal(int)
    openRequests = Signal()

    def __init__(
        self,
        facade: EngineFacade,
        window: QWidget,
        *,
        is_reading: Callable[[int], bool],
        name_of: Callable[[int], str | None],
        tray: Tray | None = None,
        settings: NotificationSettings | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._is_reading = is_reading
        self._name_of = name_of
        self.tray = tray
        self.settings = settings or NotificationSettings()
        self._last: Notification | None = None
        facade.messageReceived.connect(self.on_message)
        facade.requestReceived.connect(self.on_request)
        facade.verificationRequested.connect(self.on_question)
        facade.keyChanged.connect(self.on_keys)
        if tray is not None:
            tray.messageClicked.connect(self._clicked)

    def on_message(self, event: MessageReceived) -> None:
        if self._is_reading(event.contact_id):
            return
        name = self._name_of(event.contact_id)
        s = self.settings
        if s.show_sender and name:
            title = name if s.show_text else self.tr("Libra")
            text = self.tr("New message from %1").replace("%1", name)
        else:
            title, text = self.tr("Libra"), self.tr("New message")
        if s.show_text:
            body = event.body.replace("\n", " ")
            text = body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1] + "…"
        self._show(Notification("message", title, text, event.contact_id))

    def on_request(self, event: ContactRequestReceived) -> None:
        s = self.settings
        if s.show_sender:
            text = self.tr("New contact request from %1").replace("%1", event.display_name)
        else:
            text = self.tr("New contact request")
        if s.show_text and event.message:
            text += f": {event.message[:PREVIEW_CHARS]}"
        self._show(Notification("request", self.tr("Libra"), text))

    def on_question(self, contact_id: int, _question: str) -> None:
        name = self._name_of(contact_id) if self.settings.show_sender else None
        if name:
            text = self.tr("%1 asks you a question to check it is really you").replace("%1", name)
        else:
            text = self.tr("A contact asks you a question to check it is really you")
        self._show(Notification("question", self.tr("Libra"), text, contact_id))

    def on_keys(self, event: ContactKeyChanged) -> None:
        text = self.tr("%1's security keys changed: check before you continue").replace(
            "%1", event.display_name
        )
        self._show(Notification("keys", self.tr("Libra"), text, event.contact_id), force=True)

    def _show(self, note: Notification, *, force: bool = False) -> None:
        if not self.settings.enabled and not force:
            return
        self._last = note
        self.notified.emit(note)
        if self.tray is not None:
            self.tray.show(note)
        else:
            QApplication.alert(self._window, 0)

    def _clicked(self) -> None:
        note = self._last
        if note is None:
            return
        if note.kind == "request":
            self.openRequests.emit()
        elif note.contact_id is not None:
            self.openChat.emit(note.contact_id)


def app_icon() -> QIcon:
    """Libra's mark as an icon (window and tray), drawn at a few sizes."""
    from .onboarding import LogoMark

    icon = QIcon()
    for side in (16, 24, 32, 48, 64, 128):
        mark = LogoMark(None, side)
        pixmap = QPixmap(side, side)
        pixmap.fill(Qt.GlobalColor.transparent)
        mark.render(pixmap, QPoint(), QRegion(), QWidget.RenderFlag.DrawChildren)
        icon.addPixmap(pixmap)
        mark.deleteLater()
    return icon
