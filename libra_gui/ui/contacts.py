"""The contact list: model, row painting, and the pending-requests section above it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from . import theme
from .engine import ContactSummary, RequestSummary
from .texts import path_short, path_text, trust_text, unread_text, when_text
from .widgets import paint_avatar, paint_dot

Index = QModelIndex | QPersistentModelIndex
ROW_HEIGHT = 64
AVATAR = 42


class ContactListModel(QAbstractListModel):
    """Contacts, most recent conversation first, with each one's status dot state."""

    ContactRole = Qt.ItemDataRole.UserRole + 1
    PathRole = Qt.ItemDataRole.UserRole + 2

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._contacts: list[ContactSummary] = []
        self._paths: dict[int, str] = {}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._contacts)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._contacts):
            return None
        contact = self._contacts[index.row()]
        path = self._paths.get(contact.id, "offline")
        if role == self.ContactRole:
            return contact
        if role == self.PathRole:
            return path
        if role == Qt.ItemDataRole.DisplayRole:
            return contact.display_name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{contact.display_name}\n{path_text(path)}\n{trust_text(contact.trust)}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            parts = [contact.display_name, trust_text(contact.trust), path_text(path)]
            if contact.unread:
                parts.append(unread_text(contact.unread))
            return ", ".join(parts)
        return None

    def contact(self, row: int) -> ContactSummary | None:
        return self._contacts[row] if 0 <= row < len(self._contacts) else None

    def row_of(self, contact_id: int) -> int | None:
        for i, c in enumerate(self._contacts):
            if c.id == contact_id:
                return i
        return None

    def set_contacts(self, contacts: list[ContactSummary]) -> None:
        """Replace the list; same ids in the same order only repaint (selection survives)."""
        if [c.id for c in contacts] == [c.id for c in self._contacts]:
            self._contacts = list(contacts)
            if contacts:
                self.dataChanged.emit(self.index(0), self.index(len(contacts) - 1))
            return
        self.beginResetModel()
        self._contacts = list(contacts)
        self.endResetModel()

    def set_paths(self, paths: dict[int, str]) -> None:
        self._paths = dict(paths)
        if self._contacts:
            self.dataChanged.emit(self.index(0), self.index(len(self._contacts) - 1))

    def set_path(self, contact_id: int, state: str) -> None:
        self._paths[contact_id] = state
        row = self.row_of(contact_id)
        if row is not None:
            self.dataChanged.emit(self.index(row), self.index(row))


class ContactDelegate(QStyledItemDelegate):
    """Avatar with status dot, name with trust badge, last message, time and unread badge."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        contact: ContactSummary | None = index.data(ContactListModel.ContactRole)
        if contact is None:
            return
        c = theme.colors()
        path = index.data(ContactListModel.PathRole) or "offline"
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = option.rect
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        if selected or hovered:
            painter.setPen(Qt.PenStyle.NoPen)
            background = QColor(c.selection if selected else c.border)
            if not selected:
                background.setAlpha(110)
            painter.setBrush(background)
            painter.drawRoundedRect(QRectF(rect.adjusted(6, 2, -6, -2)), 10, 10)

        avatar = QRect(rect.left() + 14, rect.center().y() - AVATAR // 2 + 1, AVATAR, AVATAR)
        paint_avatar(painter, avatar, contact.display_name, contact.id)
        paint_dot(painter, avatar.right() - 4, avatar.bottom() - 4, 6, path)

        left = avatar.right() + 12
        right = rect.right() - 14
        name_font = QFont(option.font)
        name_font.setWeight(QFont.Weight.DemiBold)
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.88)
        name_metrics, small_metrics = QFontMetrics(name_font), QFontMetrics(small)
        top_line = rect.top() + 11
        bottom_line = top_line + name_metrics.height() + 4

        when = when_text(contact.last_activity) if contact.last_activity else ""
        when_w = small_metrics.horizontalAdvance(when)
        painter.setFont(small)
        painter.setPen(QColor(c.accent if contact.unread else c.muted))
        painter.drawText(
            QRect(right - when_w, top_line, when_w, name_metrics.height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            when,
        )

        badge_w = 16 if contact.trust in ("verified", "trusted") else 0
        name_room = right - when_w - 8 - left - badge_w
        name = name_metrics.elidedText(contact.display_name, Qt.TextElideMode.ElideRight, name_room)
        painter.setFont(name_font)
        painter.setPen(QColor(c.text))
        painter.drawText(
            QRect(left, top_line, name_room, name_metrics.height()),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            name,
        )
        if badge_w:
            x = left + name_metrics.horizontalAdvance(name) + 5
            cy = top_line + name_metrics.height() / 2
            _paint_trust_badge(painter, QRectF(x, cy - 6.5, 13, 13), contact.trust)

        unread_w = 0
        if contact.unread:
            label = str(contact.unread) if contact.unread < 1000 else "999+"
            unread_w = max(20, small_metrics.horizontalAdvance(label) + 12)
            pill = QRectF(right - unread_w, bottom_line, unread_w, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(c.accent))
            painter.drawRoundedRect(pill, 10, 10)
            bold = QFont(small)
            bold.setWeight(QFont.Weight.Bold)
            painter.setFont(bold)
            painter.setPen(QColor(c.accent_text))
            painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)

        preview = contact.preview.replace("\n", " ")
        if contact.preview_outgoing:
            preview = self.tr("You: %1").replace("%1", preview)
        if not preview:
            preview = path_short(path)
        room = right - left - (unread_w + 8 if unread_w else 0)
        painter.setFont(small)
        painter.setPen(QColor(c.muted))
        painter.drawText(
            QRect(left, bottom_line, room, 20),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            small_metrics.elidedText(preview, Qt.TextElideMode.ElideRight, room),
        )
        painter.restore()


def _paint_trust_badge(painter: QPainter, rect: QRectF, trust: str) -> None:
    """A filled circle with a tick: blue for verified, green for trusted."""
    c = theme.colors()
    painter.save()
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(c.success if trust == "trusted" else c.accent))
    painter.drawEllipse(rect)
    pen = QPen(QColor("#ffffff"), 1.6)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    tick = QPainterPath()
    tick.moveTo(rect.left() + rect.width() * 0.28, rect.top() + rect.height() * 0.52)
    tick.lineTo(rect.left() + rect.width() * 0.45, rect.top() + rect.height() * 0.70)
    tick.lineTo(rect.left() + rect.width() * 0.74, rect.top() + rect.height() * 0.33)
    painter.drawPath(tick)
    painter.restore()


class RequestsSection(QFrame):
    """Pending contact requests, above the contacts; hidden when there are none."""

    accepted = Signal(int)
    declined = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("requests")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 12, 8)
        self._layout.setSpacing(6)
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self._layout.addWidget(self.title)
        self._rows: list[QWidget] = []
        self.hide()

    def set_requests(self, requests: list[RequestSummary]) -> None:
        for row in self._rows:
            row.deleteLater()
        self._rows = []
        self.title.setText(self.tr("Contact requests (%1)").replace("%1", str(len(requests))))
        for request in requests:
            row = self._row(request)
            self._rows.append(row)
            self._layout.addWidget(row)
        self.setVisible(bool(requests))

    def _row(self, request: RequestSummary) -> QWidget:
        card = QFrame()
        card.setObjectName("card")
        layout = QVBoxLayout(card)
        layout.setContentsMargins(10, 8, 10, 8)
        name = QLabel(request.display_name)
        name.setStyleSheet("font-weight: 600;")
        layout.addWidget(name)
        if request.message:
            message = QLabel(request.message)
            message.setWordWrap(True)
            message.setObjectName("muted")
            layout.addWidget(message)
        buttons = QHBoxLayout()
        accept = QPushButton(self.tr("Accept"))
        accept.setObjectName("primary")
        accept.setAccessibleName(self.tr("Accept %1").replace("%1", request.display_name))
        decline = QPushButton(self.tr("Decline"))
        decline.setAccessibleName(self.tr("Decline %1").replace("%1", request.display_name))
        accept.clicked.connect(lambda: self.accepted.emit(request.id))
        decline.clicked.connect(lambda: self.declined.emit(request.id))
        buttons.addStretch(1)
        buttons.addWidget(decline)
        buttons.addWidget(accept)
        layout.addLayout(buttons)
        return card
