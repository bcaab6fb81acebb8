"""Small shared widgets and painters: busy spinner, avatar, status dot, error card, QR view."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from PySide6.QtCore import QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from . import theme
from .errors import Action, UserMessage

_AVATAR_COLORS = ("#5b6ee1", "#c9508f", "#2f9e8f", "#d9822b", "#8e5bd6", "#3b8fd9", "#5a9e3a")


class BusyIndicator(QWidget):
    """A spinning arc: shows that a long wait (Argon2id, Tor) is progressing."""

    def __init__(self, parent: QWidget | None = None, size: int = 28) -> None:
        super().__init__(parent)
        self._angle = 0
        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._step)
        self.setFixedSize(size, size)
        self.setAccessibleName(self.tr("Working, please wait"))
        self.hide()

    def start(self) -> None:
        self._timer.start()
        self.show()

    def stop(self) -> None:
        self._timer.stop()
        self.hide()

    def _step(self) -> None:
        self._angle = (self._angle + 12) % 360
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(theme.colors().accent), max(2.0, self.width() / 9))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        margin = pen.widthF()
        rect = QRectF(self.rect()).adjusted(margin, margin, -margin, -margin)
        painter.drawArc(rect, -self._angle * 16, 270 * 16)


def avatar_color(seed: int) -> QColor:
    return QColor(_AVATAR_COLORS[seed % len(_AVATAR_COLORS)])


def paint_avatar(painter: QPainter, rect: QRect, name: str, seed: int) -> None:
    """A coloured circle with the name's first letter (stable colour per ``seed``)."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(avatar_color(seed))
    painter.drawEllipse(rect)
    font = QFont(painter.font())
    font.setPixelSize(max(10, int(rect.height() * 0.45)))
    font.setWeight(QFont.Weight.DemiBold)
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, (name.strip()[:1] or "?").upper())
    painter.restore()


def name_seed(name: str) -> int:
    """A stable colour index for a name (the same person keeps the same colour)."""
    return zlib.crc32(name.encode("utf-8"))


def dot_color(state: str) -> QColor:
    c = theme.colors()
    return QColor(
        {
            "tor": c.dot_tor,
            "connecting-direct": c.dot_connecting,
            "direct": c.dot_direct,
            "fallback": c.dot_fallback,
        }.get(state, c.dot_offline)
    )


def paint_dot(painter: QPainter, center_x: int, center_y: int, radius: int, state: str) -> None:
    """A status dot with a ring in the background colour, so it reads on top of an avatar."""
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor(theme.colors().sidebar), 2))
    painter.setBrush(dot_color(state))
    painter.drawEllipse(QRectF(center_x - radius, center_y - radius, 2 * radius, 2 * radius))
    painter.restore()


class StatusDot(QWidget):
    """A standalone status dot (chat header, status bar); the text is for screen readers."""

    def __init__(self, parent: QWidget | None = None, size: int = 12) -> None:
        super().__init__(parent)
        self._color = QColor(theme.colors().dot_offline)
        self.setFixedSize(size, size)

    def set(self, color: QColor, text: str) -> None:
        self._color = color
        self.setToolTip(text)
        self.setAccessibleName(text)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._color)
        painter.drawEllipse(QRectF(self.rect()).adjusted(1, 1, -1, -1))


class ErrorCard(QFrame):
    """A translated error: title, what to do, optional details, and action buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        self.title = QLabel()
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setObjectName("error")
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.details = QLabel()
        self.details.setObjectName("muted")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._buttons = QHBoxLayout()
        self._buttons.addStretch(1)
        for widget in (self.title, self.text, self.details):
            layout.addWidget(widget)
        layout.addLayout(self._buttons)
        self._actions: dict[Action, Callable[[], None]] = {}
        self.hide()

    def set_handlers(self, handlers: dict[Action, Callable[[], None]]) -> None:
        """What each action button does; actions without a handler get no button."""
        self._actions = handlers

    def show_message(self, message: UserMessage) -> None:
        self.title.setText(message.title)
        self.text.setText(message.text)
        self.details.setText(message.details)
        self.details.setVisible(bool(message.details) and message.details != message.text)
        while self._buttons.count() > 1:
            item = self._buttons.takeAt(1)
            if item.widget() is not None:
                item.widget().deleteLater()
        labels = {
            "retry": self.tr("Try again"),
            "choose_tor": self.tr("Choose Tor program…"),
            "bridges": self.tr("Add bridges…"),
        }
        for action in message.actions:
            handler = self._actions.get(action)
            if handler is None:
                continue
            button = QPushButton(labels[action])
            button.setObjectName("primary" if action == "retry" else "")
            button.clicked.connect(handler)
            self._buttons.addWidget(button)
        self.setAccessibleName(f"{message.title}. {message.text}")
        self.show()


class QrView(QLabel):
    """A QR code, scaled without smoothing so every module stays sharp."""

    def __init__(self, parent: QWidget | None = None, side: int = 240) -> None:
        super().__init__(parent)
        self._side = side
        self.setFixedSize(QSize(side, side))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setStyleSheet("background: #ffffff; border-radius: 12px;")

    def set_png(self, png: bytes) -> None:
        pixmap = QPixmap()
        pixmap.loadFromData(png, "PNG")
        self.setPixmap(
            pixmap.scaled(
                self._side - 8,
                self._side - 8,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )


class Avatar(QWidget):
    """A round avatar with an initial (chat header, sidebar header)."""

    def __init__(self, parent: QWidget | None = None, size: int = 36) -> None:
        super().__init__(parent)
        self._name, self._seed = "", 0
        self.setFixedSize(size, size)

    def set_person(self, name: str, seed: int) -> None:
        self._name, self._seed = name, seed
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        paint_avatar(painter, self.rect(), self._name, self._seed)


def section_card(title: str, text: str = "") -> tuple[QFrame, QVBoxLayout]:
    """A card with a heading and an optional muted explanation (settings and contact
    details are built from these); returns it and its layout to fill."""
    card = QFrame()
    card.setObjectName("card")
    layout = QVBoxLayout(card)
    layout.setContentsMargins(16, 14, 16, 14)
    layout.setSpacing(8)
    heading = QLabel(title)
    heading.setStyleSheet("font-weight: 600;")
    layout.addWidget(heading)
    if text:
        explanation = QLabel(text)
        explanation.setWordWrap(True)
        explanation.setObjectName("muted")
        layout.addWidget(explanation)
    return card, layout
