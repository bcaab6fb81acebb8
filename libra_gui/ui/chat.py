"""The chat view: a lazy, windowed message model, bubble painting and the composer.

The model never holds a whole conversation. It shows a window of at most ``max_rows``
messages and pages through the store as the user scrolls: older pages are prepended when the
view nears the top, newer ones appended near the bottom, and rows on the far side are dropped,
so opening or scrolling 100k messages costs a page query and a layout of a few hundred rows.
New messages are appended with ``beginInsertRows`` (never a reset). Day separators are rows of
their own, computed when pages are inserted.

File messages are rows too; the model keeps the open conversation's transfers (from the
engine, then from its file events) and the view puts a file bubble widget on each file row.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPen,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QPlainTextEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QWidget,
)

from ..core.events import Event
from ..core.services.events import FileOffered, FileProgress, FileStateChanged
from ..core.services.files import FileTransfer
from ..core.storage.messages import Message
from . import theme
from .engine import PAGE, EngineFacade
from .files_view import ROW_HEIGHT as FILE_ROW_HEIGHT
from .files_view import FileRow
from .texts import day_text, file_state_text, message_state_text, size_text, time_text

Index = QModelIndex | QPersistentModelIndex

MAX_WINDOW_ROWS = 5 * PAGE  # messages kept in the model at once


def shown_at(message: Message) -> int:
    """The time we show: when it arrived for inbound, when we wrote it for outbound (both our
    own clock, so times never go backwards against the display order)."""
    if message.direction == "in" and message.received_at is not None:
        return message.received_at
    return message.sent_at


def _day(ms: int) -> int:
    return datetime.datetime.fromtimestamp(ms / 1000).date().toordinal()


@dataclass(frozen=True)
class DaySeparator:
    """A "Today" / "Monday" / date row before the first message of each day."""

    day: int  # proleptic ordinal of the local date
    ms: int  # a moment of that day, for the label


Row = Message | DaySeparator


class MessageListModel(QAbstractListModel):
    """A window onto one conversation, filled from the store page by page."""

    MessageRole = Qt.ItemDataRole.UserRole + 1

    windowChanging = Signal()  # rows above the viewport are about to change: keep your place
    windowChanged = Signal()
    loaded = Signal()  # the first page of a newly opened conversation is in

    def __init__(
        self,
        facade: EngineFacade,
        parent: QWidget | None = None,
        *,
        page: int = PAGE,
        max_rows: int = MAX_WINDOW_ROWS,
    ) -> None:
        super().__init__(parent)
        self._facade = facade
        self._page = page
        self._max_rows = max_rows
        self._rows: list[Row] = []
        self.contact_id: int | None = None
        self._generation = 0
        self._ready = False
        self.has_older = False
        self.has_newer = False
        self._loading_older = False
        self._loading_newer = False
        self._newer_again = False
        self.paging_down = False  # the rows being appended are a page the user scrolled to
        self._transfers: dict[tuple[str, bytes], FileTransfer] = {}  # (direction, file id)
        self._transfer_keys: dict[int, tuple[str, bytes]] = {}  # transfer id -> key
        self.saved: dict[int, Path] = {}  # transfer id -> where the user saved it (this run)

    # -- Qt model API ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == self.MessageRole:
            return row
        if isinstance(row, DaySeparator):
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return day_text(row.ms)
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return row.body
        if role == Qt.ItemDataRole.AccessibleTextRole:
            who = self.tr("You") if row.direction == "out" else self.tr("Contact")
            state = message_state_text(row.state)
            if row.kind == "file":
                transfer = self.transfer_for(row)
                if transfer is not None:
                    state = file_state_text(
                        transfer.state,
                        transfer.direction,
                        transfer.reason,
                        transfer.done_bytes,
                        transfer.size,
                        "",
                    )
                    state = f"{size_text(transfer.size)}, {state}"
                return (
                    self.tr("%1, %2, file %3: %4")
                    .replace("%1", who)
                    .replace("%2", time_text(shown_at(row)))
                    .replace("%3", row.body)
                    .replace("%4", state)
                )
            return f"{who}, {time_text(shown_at(row))}, {state}: {row.body}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{day_text(shown_at(row))} {time_text(shown_at(row))} · " + (
                message_state_text(row.state)
            )
        return None

    # -- what the window shows ---------------------------------------------------------------

    @property
    def loading_older(self) -> bool:
        """An older page is on its way (the reader scrolled up)."""
        return self._loading_older

    @property
    def ready(self) -> bool:
        """The first page of the open conversation is loaded."""
        return self._ready

    def messages(self) -> list[Message]:
        return [r for r in self._rows if isinstance(r, Message)]

    def message_count(self) -> int:
        return sum(1 for r in self._rows if isinstance(r, Message))

    def row_of(self, key: tuple[str, int]) -> int | None:
        """Row of a message (``("m", row id)``) or separator (``("d", day)``)."""
        for i, row in enumerate(self._rows):
            if _key(row) == key:
                return i
        return None

    def key_at(self, row: int) -> tuple[str, int] | None:
        return _key(self._rows[row]) if 0 <= row < len(self._rows) else None

    # -- loading -----------------------------------------------------------------------------

    def open(self, contact_id: int | None) -> None:
        """Show the newest page of ``contact_id``'s conversation (None: nothing)."""
        self.beginResetModel()
        self._rows = []
        self.contact_id = contact_id
        self._generation += 1
        self._ready = False
        self.has_older = self.has_newer = False
        self._loading_older = self._loading_newer = self._newer_again = False
        self._transfers, self._transfer_keys = {}, {}
        self.endResetModel()
        if contact_id is not None:
            self._load(None, self._on_first)
            self._load_transfers()

    def jump_to_latest(self) -> None:
        """Back to the newest page (after sending while scrolled far up)."""
        self.open(self.contact_id)

    def fetch_older(self) -> bool:
        """Load the page before the first shown message; False if there is nothing to do."""
        first = self._first_message()
        if not self._ready or not self.has_older or self._loading_older or first is None:
            return False
        self._loading_older = True
        self._load(first.position, self._on_older)
        return True

    def fetch_newer(self) -> bool:
        """Load the page after the last shown message (only when the window was trimmed)."""
        if not self._ready or not self.has_newer or self._loading_newer:
            return False
        self._refresh_newer()
        return True

    def notify_new(self) -> None:
        """Something became displayable in this conversation: append it (if the window
        reaches the newest message; otherwise it is fetched when the user scrolls down)."""
        if not self._ready:
            self._newer_again = True  # the first page is in flight; look again after it
        elif not self.has_newer:
            self._refresh_newer()

    def update_state(self, msg_id: bytes, state: str) -> None:
        """An outgoing message moved on (queued -> sent -> delivered): repaint its row only."""
        for i in range(len(self._rows) - 1, -1, -1):
            row = self._rows[i]
            if isinstance(row, Message) and row.direction == "out" and row.msg_id == msg_id:
                self._rows[i] = replace(row, state=state)  # type: ignore[arg-type]
                index = self.index(i)
                self.dataChanged.emit(index, index)
                return

    # -- files -------------------------------------------------------------------------------

    def transfer_for(self, message: Message) -> FileTransfer | None:
        """The transfer behind a file message (None until the engine told us)."""
        return self._transfers.get((message.direction, message.msg_id))

    def apply_file_event(self, event: Event) -> None:
        """A file of the open conversation moved on: update its row (progress, state)."""
        if not isinstance(event, FileOffered | FileProgress | FileStateChanged):
            return
        if event.contact_id != self.contact_id:
            return
        key = self._transfer_keys.get(event.transfer_id)
        transfer = self._transfers.get(key) if key is not None else None
        if transfer is None or isinstance(event, FileOffered):
            self._load_transfers()
            return
        if isinstance(event, FileProgress):
            transfer = replace(transfer, done_bytes=event.done_bytes)
        else:
            stalled = event.reason == "stalled"
            transfer = replace(
                transfer,
                state=event.state,  # type: ignore[arg-type]
                reason=transfer.reason if stalled else event.reason,
                stalled=stalled,
                done_bytes=transfer.size if event.state == "done" else transfer.done_bytes,
            )
        self._transfers[key] = transfer  # type: ignore[index]
        self._file_changed(key)  # type: ignore[arg-type]

    def mark_saved(self, transfer_id: int, path: Path) -> None:
        self.saved[transfer_id] = path
        key = self._transfer_keys.get(transfer_id)
        if key is not None:
            self._file_changed(key)

    def _load_transfers(self) -> None:
        assert self.contact_id is not None
        generation = self._generation
        future = self._facade.transfers(self.contact_id)
        self._facade.then(
            future, self, lambda found: self._on_transfers(generation, found), lambda _e: None
        )

    def _on_transfers(self, generation: int, transfers: list[FileTransfer]) -> None:
        if generation != self._generation:
            return
        self._transfers = {(t.direction, t.file_id): t for t in transfers}
        self._transfer_keys = {t.id: (t.direction, t.file_id) for t in transfers}
        for i, row in enumerate(self._rows):
            if isinstance(row, Message) and row.kind == "file":
                self.dataChanged.emit(self.index(i), self.index(i))

    def _file_changed(self, key: tuple[str, bytes]) -> None:
        for i in range(len(self._rows) - 1, -1, -1):
            row = self._rows[i]
            if isinstance(row, Message) and (row.direction, row.msg_id) == key:
                self.dataChanged.emit(self.index(i), self.index(i))
                return

    # -- replies -----------------------------------------------------------------------------

    def _load(self, before: int | None, handler: Callable[[int, list[Message]], None]) -> None:
        assert self.contact_id is not None
        generation = self._generation
        future = self._facade.history(self.contact_id, before, self._page)
        self._facade.then(future, self, lambda msgs: handler(generation, msgs), self._failed)

    def _refresh_newer(self) -> None:
        if self._loading_newer:
            self._newer_again = True
            return
        last = self._last_message()
        assert self.contact_id is not None
        self._loading_newer = True
        generation = self._generation
        after = (last.position or 0) if last is not None else 0
        future = self._facade.newer(self.contact_id, after, self._page)
        self._facade.then(future, self, lambda msgs: self._on_newer(generation, msgs), self._failed)

    def _failed(self, error: BaseException) -> None:
        self._loading_older = self._loading_newer = False

    def _on_first(self, generation: int, messages: list[Message]) -> None:
        if generation != self._generation:
            return
        self.has_older = len(messages) == self._page
        self._append(messages)
        self._ready = True
        self.loaded.emit()
        if self._newer_again:
            self._newer_again = False
            self._refresh_newer()

    def _on_older(self, generation: int, messages: list[Message]) -> None:
        if generation != self._generation:
            return
        self._loading_older = False
        self.has_older = len(messages) == self._page
        if not messages:
            return
        rows = _with_separators(messages, None)
        self.windowChanging.emit()
        if self._rows and _key(self._rows[0]) == ("d", _day(shown_at(messages[-1]))):
            self.beginRemoveRows(QModelIndex(), 0, 0)  # the junction is the same day
            del self._rows[0]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self._rows[0:0] = rows
        self.endInsertRows()
        self._trim_bottom()
        self.windowChanged.emit()

    def _on_newer(self, generation: int, messages: list[Message]) -> None:
        if generation != self._generation:
            return
        self._loading_newer = False
        last = self._last_message()
        after = (last.position or 0) if last is not None else 0
        fresh = [m for m in messages if (m.position or 0) > after]
        full_page = len(messages) == self._page
        self.paging_down = self.has_newer  # scrolling down through a trimmed window
        if self.has_newer:
            self.has_newer = full_page
        self._append(fresh)
        self.paging_down = False
        if self.message_count() > self._max_rows:
            self.windowChanging.emit()
            self._trim_top()
            self.windowChanged.emit()
        if (full_page and not self.has_newer) or self._newer_again:
            self._newer_again = False
            self._refresh_newer()

    # -- row bookkeeping ---------------------------------------------------------------------

    def _append(self, messages: list[Message]) -> None:
        if not messages:
            return
        rows = _with_separators(messages, self._last_message())
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    def _trim_bottom(self) -> None:
        """Drop the newest rows beyond the window (they are fetched again on scroll down)."""
        cut = self._cut_index(from_top=False)
        if cut is None:
            return
        self.beginRemoveRows(QModelIndex(), cut, len(self._rows) - 1)
        del self._rows[cut:]
        self.endRemoveRows()
        self.has_newer = True

    def _trim_top(self) -> None:
        cut = self._cut_index(from_top=True)
        if cut is None:
            return
        self.beginRemoveRows(QModelIndex(), 0, cut - 1)
        del self._rows[:cut]
        self.endRemoveRows()
        self.has_older = True
        first = self._rows[0] if self._rows else None
        if isinstance(first, Message):  # the new first row needs its day separator
            separator = DaySeparator(_day(shown_at(first)), shown_at(first))
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._rows.insert(0, separator)
            self.endInsertRows()

    def _cut_index(self, *, from_top: bool) -> int | None:
        """Where to cut so that ``max_rows`` messages stay (rows counted from the far end)."""
        excess = self.message_count() - self._max_rows
        if excess <= 0:
            return None
        seen = 0
        order = range(len(self._rows)) if from_top else range(len(self._rows) - 1, -1, -1)
        for i in order:
            if isinstance(self._rows[i], Message):
                seen += 1
                if seen == excess:
                    if from_top:
                        return i + 1
                    # keep no dangling separator at the new end
                    while i > 0 and isinstance(self._rows[i - 1], DaySeparator):
                        i -= 1
                    return i
        return None

    def _first_message(self) -> Message | None:
        return next((r for r in self._rows if isinstance(r, Message)), None)

    def _last_message(self) -> Message | None:
        return next((r for r in reversed(self._rows) if isinstance(r, Message)), None)


def _key(row: Row) -> tuple[str, int]:
    return ("d", row.day) if isinstance(row, DaySeparator) else ("m", row.id)


def _with_separators(messages: list[Message], previous: Message | None) -> list[Row]:
    rows: list[Row] = []
    day = _day(shown_at(previous)) if previous is not None else None
    for message in messages:
        ms = shown_at(message)
        if _day(ms) != day:
            day = _day(ms)
            rows.append(DaySeparator(day, ms))
        rows.append(message)
    return rows


# -- painting ----------------------------------------------------------------------------------

BUBBLE_PAD_X = 12
BUBBLE_PAD_Y = 8
ROW_MARGIN_X = 16
ROW_MARGIN_Y = 3
META_GAP = 3
MAX_BUBBLE_WIDTH = 560
SEPARATOR_HEIGHT = 36


def _text_layout(text: str, font: QFont, width: float) -> tuple[QTextLayout, float, float]:
    """Lay out ``text`` wrapped at ``width``: (layout, widest line, height)."""
    layout = QTextLayout(text.replace("\n", "\u2028"), font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    layout.setTextOption(option)
    layout.beginLayout()
    y = widest = 0.0
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        line.setPosition(QPointF(0, y))
        y += line.height()
        widest = max(widest, line.naturalTextWidth())
    layout.endLayout()
    return layout, widest, y


class BubbleDelegate(QStyledItemDelegate):
    """Paints messages as bubbles (ours right, theirs left) and day separators as pills."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._sizes: dict[tuple[int, int], QSize] = {}

    def clear_cache(self) -> None:
        self._sizes.clear()

    def _meta_font(self, font: QFont) -> QFont:
        small = QFont(font)
        small.setPointSizeF(max(7.0, font.pointSizeF() * 0.8))
        return small

    def _max_text_width(self, view_width: int) -> float:
        bubble = min(MAX_BUBBLE_WIDTH, int((view_width - 2 * ROW_MARGIN_X) * 0.75))
        return max(80.0, bubble - 2 * BUBBLE_PAD_X)

    def _meta_width(self, font: QFont, message: Message) -> float:
        metrics = QFontMetrics(self._meta_font(font))
        icon = 18 if message.direction == "out" else 0
        return metrics.horizontalAdvance(time_text(shown_at(message))) + icon

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        row = index.data(MessageListModel.MessageRole)
        width = option.rect.width() or 600
        if isinstance(row, DaySeparator) or row is None:
            return QSize(width, SEPARATOR_HEIGHT)
        if row.kind == "file":  # a FileRow widget sits on it: its height
            view = self.parent()
            widget = view.indexWidget(index) if isinstance(view, QAbstractItemView) else None
            return QSize(width, widget.sizeHint().height() if widget else FILE_ROW_HEIGHT)
        key = (row.id, width)
        cached = self._sizes.get(key)
        if cached is not None:
            return cached
        _layout, _widest, text_h = _text_layout(row.body, option.font, self._max_text_width(width))
        meta_h = QFontMetrics(self._meta_font(option.font)).height()
        height = int(text_h + META_GAP + meta_h + 2 * BUBBLE_PAD_Y + 2 * ROW_MARGIN_Y) + 1
        size = self._sizes[key] = QSize(width, height)
        return size

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row = index.data(MessageListModel.MessageRole)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        if isinstance(row, DaySeparator):
            self._paint_separator(painter, option, day_text(row.ms))
        elif isinstance(row, Message) and row.kind != "file":  # files: a FileRow widget
            self._paint_message(painter, option, row)
        painter.restore()

    def _paint_separator(self, painter: QPainter, option: QStyleOptionViewItem, text: str) -> None:
        c = theme.colors()
        font = self._meta_font(option.font)
        font.setWeight(QFont.Weight.DemiBold)
        metrics = QFontMetrics(font)
        w = metrics.horizontalAdvance(text) + 24
        h = metrics.height() + 8
        rect = QRectF(option.rect.center().x() - w / 2, option.rect.center().y() - h / 2 + 2, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(c.sidebar))
        painter.drawRoundedRect(rect, h / 2, h / 2)
        painter.setFont(font)
        painter.setPen(QColor(c.muted))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_message(self, painter: QPainter, option: QStyleOptionViewItem, m: Message) -> None:
        c = theme.colors()
        outgoing = m.direction == "out"
        layout, widest, text_h = _text_layout(
            m.body, option.font, self._max_text_width(option.rect.width())
        )
        meta_font = self._meta_font(option.font)
        meta_h = QFontMetrics(meta_font).height()
        inner_w = max(widest, self._meta_width(option.font, m))
        bubble_w = inner_w + 2 * BUBBLE_PAD_X
        bubble_h = text_h + META_GAP + meta_h + 2 * BUBBLE_PAD_Y
        top = option.rect.top() + ROW_MARGIN_Y
        if outgoing:
            left = option.rect.right() - ROW_MARGIN_X - bubble_w
        else:
            left = option.rect.left() + ROW_MARGIN_X
        bubble = QRectF(left, top, bubble_w, bubble_h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(c.bubble_out if outgoing else c.bubble_in))
        painter.drawRoundedRect(bubble, 14, 14)
        text_color = QColor(c.bubble_out_text if outgoing else c.bubble_in_text)
        painter.setPen(text_color)
        layout.draw(painter, QPointF(left + BUBBLE_PAD_X, top + BUBBLE_PAD_Y))
        meta_color = QColor(text_color)
        meta_color.setAlphaF(0.75)
        painter.setFont(meta_font)
        painter.setPen(meta_color)
        meta_top = top + BUBBLE_PAD_Y + text_h + META_GAP
        right = bubble.right() - BUBBLE_PAD_X
        if outgoing:
            icon = QRectF(right - 14, meta_top + (meta_h - 10) / 2, 14, 10)
            _paint_state_icon(painter, icon, m.state, meta_color)
            right -= 18
        time_rect = QRectF(left + BUBBLE_PAD_X, meta_top, right - left - BUBBLE_PAD_X, meta_h)
        painter.drawText(
            time_rect,
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            time_text(shown_at(m)),
        )


def _paint_state_icon(painter: QPainter, rect: QRectF, state: str, color: QColor) -> None:
    """Queued: a clock; sent: one tick; delivered: two ticks (drawn, no font needed)."""
    pen = QPen(color, 1.4)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if state == "queued":
        d = min(rect.width(), rect.height())
        clock = QRectF(rect.center().x() - d / 2, rect.center().y() - d / 2, d, d)
        painter.drawEllipse(clock)
        center = clock.center()
        painter.drawLine(center, QPointF(center.x(), clock.top() + 2.5))
        painter.drawLine(center, QPointF(clock.right() - 2.5, center.y()))
        return

    def tick(dx: float) -> None:
        path = QPainterPath()
        path.moveTo(rect.left() + dx, rect.top() + rect.height() * 0.55)
        path.lineTo(rect.left() + dx + 3, rect.bottom() - 1)
        path.lineTo(rect.left() + dx + 9, rect.top() + 1)
        painter.drawPath(path)

    tick(0)
    if state == "delivered":
        tick(4.5)


class ChatView(QListView):
    """Messages, pixel scrolling, paging on scroll, and keeping the reader's place."""

    fileAction = Signal(str, int)  # a file bubble's button: action, transfer id

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatView")
        self.contact_name = ""  # for the file bubbles' words ("Waiting for Maya to accept")
        self._model = model
        self._delegate = BubbleDelegate(self)
        self.setModel(model)
        self.setItemDelegate(self._delegate)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setUniformItemSizes(False)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setWordWrap(True)
        self.verticalScrollBar().setSingleStep(24)
        self._anchor: tuple[tuple[str, int], int] | None = None
        self._shifting = False  # rows above the viewport are changing: no paging, no sticking
        self._stick_to_bottom = True
        model.windowChanging.connect(self._remember_anchor)
        model.windowChanged.connect(self._restore_anchor)
        model.loaded.connect(self._on_loaded)
        model.rowsAboutToBeInserted.connect(self._before_insert)
        model.rowsInserted.connect(self._add_file_rows)  # first: rows get their real height
        model.rowsInserted.connect(self._after_insert)
        model.dataChanged.connect(self._update_file_rows)
        self.verticalScrollBar().valueChanged.connect(self._on_scroll)
        self.verticalScrollBar().rangeChanged.connect(lambda *_: self._maybe_page())

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 4

    def scroll_to_latest(self) -> None:
        self.executeDelayedItemsLayout()
        self.scrollToBottom()

    def resizeEvent(self, event: Any) -> None:
        bottom = self.at_bottom()
        self._delegate.clear_cache()
        super().resizeEvent(event)
        if bottom:
            QTimer.singleShot(0, self._stick_after_resize)

    def _stick_after_resize(self) -> None:
        """Still at the bottom after a resize, unless the reader went up for history meanwhile
        (a resize and a scroll to the top can land in the same event-loop pass)."""
        if not self._shifting and not self._model.loading_older:
            self.scroll_to_latest()

    def _on_loaded(self) -> None:
        self.scroll_to_latest()
        self._maybe_page()

    def _before_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        self._stick_to_bottom = (
            not self._shifting and not self._model.paging_down and self.at_bottom()
        )

    def _after_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        if not self._shifting and self._stick_to_bottom and last == self._model.rowCount() - 1:
            self.scroll_to_latest()
        QTimer.singleShot(0, self._maybe_page)  # still at an edge after the load? load more

    def _on_scroll(self, value: int) -> None:
        self._maybe_page()

    def file_rows(self) -> list[FileRow]:
        """The file bubbles in the window, top to bottom."""
        rows = (self.indexWidget(self._model.index(r)) for r in range(self._model.rowCount()))
        return [w for w in rows if isinstance(w, FileRow)]

    def file_row_count(self) -> int:
        return len(self.file_rows())

    def file_row(self, transfer_id: int) -> FileRow | None:
        """The widget showing a transfer, if its row is in the window."""
        for widget in self.file_rows():
            transfer = widget.bubble.transfer
            if transfer is not None and transfer.id == transfer_id:
                return widget
        return None

    def _add_file_rows(self, parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            index = self._model.index(row)
            message = index.data(MessageListModel.MessageRole)
            if isinstance(message, Message) and message.kind == "file":
                widget = FileRow(message, self.contact_name, ROW_MARGIN_X)
                widget.bubble.actionRequested.connect(self.fileAction)
                self._show_transfer(widget, message)
                self.setIndexWidget(index, widget)

    def _update_file_rows(self, top: QModelIndex, bottom: QModelIndex, *_roles: object) -> None:
        at_bottom = self.at_bottom()
        resized = False
        for row in range(top.row(), bottom.row() + 1):
            index = self._model.index(row)
            widget = self.indexWidget(index)
            if isinstance(widget, FileRow):
                before = widget.sizeHint().height()
                self._show_transfer(widget, widget.bubble.message)
                if widget.sizeHint().height() != before:
                    self._delegate.sizeHintChanged.emit(index)  # buttons or progress came/went
                    resized = True
        if resized and at_bottom:
            QTimer.singleShot(0, self._stick_after_resize)

    def _show_transfer(self, widget: FileRow, message: Message) -> None:
        transfer = self._model.transfer_for(message)
        saved = self._model.saved.get(transfer.id) if transfer is not None else None
        widget.bubble.show_transfer(transfer, saved)

    def _maybe_page(self) -> None:
        """Near the top: fetch older; near the bottom of a trimmed window: fetch newer."""
        if self._shifting or not self._model.ready:
            return
        bar = self.verticalScrollBar()
        reach = self.viewport().height()
        if bar.value() <= reach:
            self._model.fetch_older()
        elif bar.value() >= bar.maximum() - reach:
            self._model.fetch_newer()

    def _remember_anchor(self) -> None:
        """The first message at the top of the viewport and its offset (separators can move
        when pages join, messages cannot)."""
        self._shifting = True
        self._anchor = None
        index = self.indexAt(QPoint(4, 4))
        row = index.row() if index.isValid() else -1
        while 0 <= row < self._model.rowCount():
            key = self._model.key_at(row)
            if key is not None and key[0] == "m":
                self._anchor = (key, self.visualRect(self._model.index(row)).top())
                return
            row += 1

    def _restore_anchor(self) -> None:
        """Lay out now and put the anchor message back where it was; paging stays paused
        until then, so the intermediate scroll positions fetch nothing."""
        anchor = self._anchor
        self.executeDelayedItemsLayout()
        row = self._model.row_of(anchor[0]) if anchor is not None else None
        if anchor is not None and row is not None:
            self.scrollTo(self._model.index(row), QAbstractItemView.ScrollHint.PositionAtTop)
            bar = self.verticalScrollBar()
            bar.setValue(bar.value() - anchor[1])
        self._anchor = None
        self._shifting = False
        QTimer.singleShot(0, self._maybe_page)


class Composer(QPlainTextEdit):
    """The message box: Enter sends, Shift+Enter starts a new line; grows up to six lines."""

    submitted = Signal(str)

    MAX_LINES = 6

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.setPlaceholderText(self.tr("Write a message"))
        self.setAccessibleName(self.tr("Message"))
        self.setAccessibleDescription(self.tr("Enter sends, Shift+Enter starts a new line"))
        self.setTabChangesFocus(True)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.document().contentsChanged.connect(self._fit)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            text = self.toPlainText().strip()
            if text:
                self.submitted.emit(text)
            return
        if enter:  # Shift+Enter: a plain newline (not a paragraph separator)
            self.insertPlainText("\n")
            return
        super().keyPressEvent(event)

    def _fit(self) -> None:
        metrics = QFontMetrics(self.font())
        lines = max(1, min(self.MAX_LINES, int(self.document().size().height())))
        margins = self.contentsMargins()
        frame = int(self.document().documentMargin() * 2) + margins.top() + margins.bottom()
        self.setFixedHeight(lines * metrics.lineSpacing() + frame + 8)
