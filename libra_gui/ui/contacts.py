"""The contact list: model, row painting, the requests section above it (theirs to decide,
ours waiting), and the Ctrl+K quick switcher."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from . import theme
from .engine import ContactSummary, RequestSummary
from .texts import (
    fingerprint_text,
    path_short,
    path_text,
    trust_text,
    unread_text,
    when_text,
)
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
            if contact.awaiting_acceptance:
                parts.append(self.tr("waiting for them to accept your request"))
            if contact.blocked:
                parts.append(self.tr("blocked"))
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
        if contact.preview_kind == "file":
            preview = self.tr("File: %1").replace("%1", preview)
        if contact.preview_outgoing:
            preview = self.tr("You: %1").replace("%1", preview)
        if contact.blocked:
            preview = self.tr("Blocked")
        elif not preview and contact.awaiting_acceptance:
            preview = self.tr("Request sent: waiting for them to accept")
        elif not preview:
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
    """Contact requests above the chats: theirs (accept, decline, block) and ours (waiting
    for them to accept; withdraw). Hidden when there are none."""

    accepted = Signal(int)
    declined = Signal(int)
    blocked = Signal(int)
    withdrawn = Signal(int)  # contact id of a request we sent

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("requests")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(12, 8, 12, 8)
        self._layout.setSpacing(6)
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self._layout.addWidget(self.title)
        self._incoming_box = QVBoxLayout()
        self._incoming_box.setSpacing(6)
        self._layout.addLayout(self._incoming_box)
        self.sent_title = QLabel()
        self.sent_title.setObjectName("sectionTitle")
        self._layout.addWidget(self.sent_title)
        self._sent_box = QVBoxLayout()
        self._sent_box.setSpacing(4)
        self._layout.addLayout(self._sent_box)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setWordWrap(True)
        self._layout.addWidget(self.error)
        self._rows: list[QWidget] = []
        self._sent_rows: list[QWidget] = []
        self._incoming: list[RequestSummary] = []
        self._sent: list[ContactSummary] = []
        self.error.hide()
        self._update()

    def set_requests(self, requests: list[RequestSummary]) -> None:
        if requests == self._incoming and self._rows:
            return  # unchanged: no relayout of the sidebar
        for row in self._rows:
            row.hide()  # at once: a click on a row on its way out would act on a stale request
            row.deleteLater()
        self._rows = []
        self._incoming = list(requests)
        self.title.setText(self.tr("Contact requests (%1)").replace("%1", str(len(requests))))
        for request in requests:
            row = self._row(request)
            self._rows.append(row)
            self._incoming_box.addWidget(row)
        self._update()

    def set_sent(self, contacts: list[ContactSummary]) -> None:
        """Our requests not accepted yet (contacts we cannot reach until they accept)."""
        if [(c.id, c.display_name) for c in contacts] == [
            (c.id, c.display_name) for c in self._sent
        ]:
            self._sent = list(contacts)
            return  # unchanged: no relayout of the sidebar
        for row in self._sent_rows:
            row.hide()
            row.deleteLater()
        self._sent_rows = []
        self._sent = list(contacts)
        self.sent_title.setText(self.tr("Sent requests (%1)").replace("%1", str(len(contacts))))
        for contact in contacts:
            row = self._sent_row(contact)
            self._sent_rows.append(row)
            self._sent_box.addWidget(row)
        self._update()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))
        self._update()

    def _update(self) -> None:
        self.title.setVisible(bool(self._incoming))
        self.sent_title.setVisible(bool(self._sent))
        self.setVisible(bool(self._incoming or self._sent or self.error.text()))

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
        if request.fingerprint:
            name.setToolTip(
                self.tr("Key fingerprint: %1").replace("%1", fingerprint_text(request.fingerprint))
            )
        buttons = QHBoxLayout()
        block = QPushButton(self.tr("Block"))
        block.setObjectName("flat")
        block.setToolTip(self.tr("Decline, and refuse every later request from this person"))
        block.setAccessibleName(self.tr("Block %1").replace("%1", request.display_name))
        accept = QPushButton(self.tr("Accept"))
        accept.setObjectName("primary")
        accept.setAccessibleName(self.tr("Accept %1").replace("%1", request.display_name))
        decline = QPushButton(self.tr("Decline"))
        decline.setAccessibleName(self.tr("Decline %1").replace("%1", request.display_name))
        accept.clicked.connect(lambda: self.accepted.emit(request.id))
        decline.clicked.connect(lambda: self.declined.emit(request.id))
        block.clicked.connect(lambda: self.blocked.emit(request.id))
        buttons.addWidget(block)
        buttons.addStretch(1)
        buttons.addWidget(decline)
        buttons.addWidget(accept)
        layout.addLayout(buttons)
        return card

    def _sent_row(self, contact: ContactSummary) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(4, 0, 0, 0)
        texts = QVBoxLayout()
        texts.setSpacing(0)
        name = QLabel(contact.display_name)
        name.setStyleSheet("font-weight: 600;")
        note = QLabel(self.tr("Waiting for them to accept"))
        note.setObjectName("muted")
        texts.addWidget(name)
        texts.addWidget(note)
        withdraw = QPushButton(self.tr("Withdraw"))
        withdraw.setObjectName("flat")
        withdraw.setToolTip(self.tr("Forget this request and the contact"))
        withdraw.setAccessibleName(
            self.tr("Withdraw request to %1").replace("%1", contact.display_name)
        )
        withdraw.clicked.connect(lambda: self.withdrawn.emit(contact.id))
        layout.addLayout(texts, 1)
        layout.addWidget(withdraw)
        return row


class QuickSwitcher(QDialog):
    """Ctrl+K: type part of a name, Enter opens that chat (arrows choose, Esc closes)."""

    chosen = Signal(int)

    def __init__(self, model: ContactListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Go to a chat"))
        self.setMinimumSize(380, 420)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Type a name"))
        self.search.setAccessibleName(self.tr("Search contacts"))
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.list = QListView()
        self.list.setModel(self.proxy)
        self.list.setItemDelegate(ContactDelegate(self.list))
        self.list.setUniformItemSizes(True)
        self.list.setAccessibleName(self.tr("Matching contacts"))
        self.empty = QLabel(self.tr("No contact has that name."))
        self.empty.setObjectName("muted")
        self.empty.hide()
        layout.addWidget(self.search)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.empty)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._choose_current)
        self.search.installEventFilter(self)
        self.list.activated.connect(self._choose)
        self._filter("")

    def _filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        has_any = self.proxy.rowCount() > 0
        self.empty.setVisible(not has_any)
        if has_any:
            self.list.setCurrentIndex(self.proxy.index(0, 0))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Up and Down in the search box move through the list."""
        if watched is self.search and isinstance(event, QKeyEvent):
            key = event.key()
            if event.type() == QEvent.Type.KeyPress and key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentIndex().row() + (1 if key == Qt.Key.Key_Down else -1)
                if 0 <= row < self.proxy.rowCount():
                    self.list.setCurrentIndex(self.proxy.index(row, 0))
                return True
        return super().eventFilter(watched, event)

    def _choose_current(self) -> None:
        self._choose(self.list.currentIndex())

    def _choose(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        contact = index.data(ContactListModel.ContactRole)
        if contact is not None:
            self.chosen.emit(contact.id)
            self.accept()
