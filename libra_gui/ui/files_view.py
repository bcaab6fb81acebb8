"""Files in the chat: the file bubble (name, size, progress, state, Accept / Cancel / Save /
Open) and the paperclip button of the composer.

A file message is a row of the chat model like any other; the chat view puts a
:class:`FileRow` on it (a real widget, so its buttons take keyboard focus and screen
readers see them). The transfer's state comes from the engine (``FileTransfer``) and its
events; the bubble only shows it and asks for actions through ``actionRequested``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core.services.files import FileTransfer
from ..core.storage.messages import Message
from . import theme
from .texts import file_state_text, size_text, time_text

BUBBLE_WIDTH = 330
ROW_HEIGHT = 96  # a file row's height until its widget is in place
ACTIVE = ("offered", "accepted", "transferring")


class FileIcon(QWidget):
    """A document with a folded corner and the file's extension on it (drawn)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedSize(36, 44)
        self._ext = ""
        self._outgoing = False

    def set_file(self, name: str, outgoing: bool) -> None:
        self._ext = Path(name).suffix[1:5].upper()
        self._outgoing = outgoing
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        c = theme.colors()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        paper = QColor("#ffffff") if self._outgoing else QColor(c.surface)
        ink = QColor(c.accent)
        w, h, fold = float(self.width()), float(self.height()), 10.0
        path = QPainterPath()
        path.moveTo(1, 1)
        path.lineTo(w - fold, 1)
        path.lineTo(w - 1, fold)
        path.lineTo(w - 1, h - 1)
        path.lineTo(1, h - 1)
        path.closeSubpath()
        painter.setPen(QPen(QColor(c.border), 1))
        painter.setBrush(paper)
        painter.drawPath(path)
        corner = QPainterPath()
        corner.moveTo(w - fold, 1)
        corner.lineTo(w - fold, fold)
        corner.lineTo(w - 1, fold)
        painter.drawPath(corner)
        if self._ext:
            font = painter.font()
            font.setPixelSize(9)
            font.setBold(True)
            painter.setFont(font)
            painter.setPen(ink)
            painter.drawText(
                QRectF(0, h / 2, w, h / 2 - 4), Qt.AlignmentFlag.AlignCenter, self._ext
            )


class FileBubble(QFrame):
    """One file in the chat: what it is, how far it got, and what can be done with it."""

    actionRequested = Signal(str, int)  # "accept" | "cancel" | "save" | "open", transfer id

    def __init__(self, message: Message, contact_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fileBubble")
        self.message = message
        self.outgoing = message.direction == "out"
        self.setProperty("outgoing", self.outgoing)
        self.transfer: FileTransfer | None = None
        self.saved_to: Path | None = None
        self._contact = contact_name
        self.setFixedWidth(BUBBLE_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 8)
        layout.setSpacing(5)
        top = QHBoxLayout()
        top.setSpacing(10)
        self.icon = FileIcon(self)
        self.icon.set_file(message.body, self.outgoing)
        names = QVBoxLayout()
        names.setSpacing(1)
        self.name = QLabel()
        self.name.setStyleSheet("font-weight: 600;")
        self.name.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail = QLabel()
        names.addWidget(self.name)
        names.addWidget(self.detail)
        top.addWidget(self.icon)
        top.addLayout(names, 1)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setAccessibleName(self.tr("Progress"))
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.accept_button = QPushButton(self.tr("Accept"))
        self.save_button = QPushButton(self.tr("Save…"))
        self.open_button = QPushButton(self.tr("Open"))
        for button, action in (
            (self.cancel_button, "cancel"),
            (self.accept_button, "accept"),
            (self.save_button, "save"),
            (self.open_button, "open"),
        ):
            button.clicked.connect(lambda _=False, a=action: self._request(a))
            button.setAccessibleName(f"{button.text()} {message.body}")
        self.accept_button.setObjectName("primary")
        self.time = QLabel(time_text(message.sent_at))
        self.time.setStyleSheet("font-size: 8pt;")
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(self.time, 0, Qt.AlignmentFlag.AlignBottom)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addLayout(buttons)
        self._elided_name()
        self.show_transfer(None)

    def _elided_name(self) -> None:
        metrics = self.name.fontMetrics()
        room = BUBBLE_WIDTH - 24 - 46
        self.name.setText(metrics.elidedText(self.message.body, Qt.TextElideMode.ElideMiddle, room))
        self.name.setToolTip(self.message.body)

    def show_transfer(self, transfer: FileTransfer | None, saved_to: Path | None = None) -> None:
        """Show the transfer's state (None: not known yet, e.g. the offer is still arriving)."""
        self.transfer = transfer
        if saved_to is not None:
            self.saved_to = saved_to
        if transfer is None:
            self.detail.setText(self.tr("Preparing…"))
            self.progress.hide()
            for button in (
                self.cancel_button,
                self.accept_button,
                self.save_button,
                self.open_button,
            ):
                button.hide()
            return
        state = transfer.state
        text = file_state_text(
            state,
            transfer.direction,
            "stalled" if transfer.stalled else transfer.reason,
            transfer.done_bytes,
            transfer.size,
            self._contact,
        )
        if state == "done" and self.saved_to is not None:
            text = self.tr("Saved to %1").replace("%1", self.saved_to.name)
        self.detail.setText(f"{size_text(transfer.size)} · {text}")
        moving = state in ("accepted", "transferring")
        self.progress.setVisible(moving)
        if transfer.size:
            self.progress.setValue(int(transfer.done_bytes * 1000 / transfer.size))
        self.cancel_button.setVisible(state in ACTIVE)
        self.cancel_button.setText(
            self.tr("Decline") if state == "offered" and not self.outgoing else self.tr("Cancel")
        )
        incoming_done = state == "done" and not self.outgoing
        self.accept_button.setVisible(state == "offered" and not self.outgoing)
        self.save_button.setVisible(incoming_done)
        self.open_button.setVisible(incoming_done)
        self.setAccessibleName(f"{transfer.name}, {self.detail.text()}")

    def _request(self, action: str) -> None:
        if self.transfer is not None:
            self.actionRequested.emit(action, self.transfer.id)


class FileRow(QWidget):
    """A chat row holding one file bubble, on the right for ours, on the left for theirs."""

    def __init__(
        self, message: Message, contact_name: str, margin: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.bubble = FileBubble(message, contact_name, self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(margin, 3, margin, 3)
        if message.direction == "out":
            layout.addStretch(1)
        layout.addWidget(self.bubble, 0, Qt.AlignmentFlag.AlignTop)
        if message.direction != "out":
            layout.addStretch(1)

    def sizeHint(self) -> QSize:
        margins = self.layout().contentsMargins()
        height = self.bubble.sizeHint().height() + margins.top() + margins.bottom()
        return QSize(BUBBLE_WIDTH, height)


def attach_icon(color: QColor, side: int = 22) -> QIcon:
    """A paperclip, drawn (no icon theme needed)."""
    pixmap = QPixmap(side * 2, side * 2)
    pixmap.setDevicePixelRatio(2.0)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(color, 1.7)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    u = side / 22
    path = QPainterPath()
    path.moveTo(QPointF(15 * u, 7 * u))
    path.lineTo(QPointF(8.5 * u, 13.5 * u))
    path.arcTo(QRectF(6 * u, 11.5 * u, 4.5 * u, 4.5 * u), 135, 180)
    path.lineTo(QPointF(17 * u, 8 * u))
    path.arcTo(QRectF(13 * u, 3 * u, 7.5 * u, 7.5 * u), -45, 180)
    path.lineTo(QPointF(6 * u, 11 * u))
    path.arcTo(QRectF(2.5 * u, 9 * u, 10 * u, 10 * u), 135, 180)
    path.lineTo(QPointF(17.5 * u, 12 * u))
    painter.drawPath(path)
    painter.end()
    return QIcon(pixmap)


class AttachButton(QToolButton):
    """The composer's paperclip: send a file."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attach")
        self.setIcon(attach_icon(QColor(theme.colors().muted)))
        self.setIconSize(QSize(22, 22))
        self.setFixedSize(36, 36)
        self.setToolTip(self.tr("Send a file (Ctrl+O)"))
        self.setAccessibleName(self.tr("Send a file"))
        self.setCursor(Qt.CursorShape.PointingHandCursor)
