"""My alias: the three words and the QR code people use to find me, and whether they can."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .engine import AliasInfo, EngineFacade
from .errors import user_message
from .widgets import BusyIndicator, ErrorCard, QrView


class AliasCard(QWidget):
    """QR code, words, copy buttons and the "findable" switch (onboarding and dialog)."""

    def __init__(
        self, facade: EngineFacade, parent: QWidget | None = None, qr_side: int = 260
    ) -> None:
        super().__init__(parent)
        self._facade = facade
        self.info: AliasInfo | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.busy = BusyIndicator(self, 32)
        self.qr = QrView(self, qr_side)
        self.qr.setAccessibleName(self.tr("QR code of your invite"))
        self.words = QLabel()
        self.words.setObjectName("aliasWords")
        self.words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.words.setWordWrap(True)
        self.words.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hint = QLabel(
            self.tr(
                "Tell people these three words, or let them scan the code, to add you. "
                "Only people you accept can write to you."
            )
        )
        self.hint.setObjectName("muted")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QHBoxLayout()
        self.copy_words = QPushButton(self.tr("Copy words"))
        self.copy_link = QPushButton(self.tr("Copy invite link"))
        self.copy_words.clicked.connect(lambda: self._copy(self.info.words if self.info else ""))
        self.copy_link.clicked.connect(lambda: self._copy(self.info.link if self.info else ""))
        self.copied = QLabel()
        self.copied.setObjectName("muted")
        buttons.addStretch(1)
        buttons.addWidget(self.copy_words)
        buttons.addWidget(self.copy_link)
        buttons.addStretch(1)
        self.findable = QCheckBox(self.tr("Let people find me with these words"))
        self.findable.setToolTip(
            self.tr(
                "While this is on, Libra publishes a small Tor service that answers to your "
                "words. Turn it off when you do not expect new contacts."
            )
        )
        self.findable.toggled.connect(self._set_findable)
        self.error = ErrorCard(self)
        layout.addWidget(self.busy, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.qr, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.words)
        layout.addWidget(self.hint)
        layout.addLayout(buttons)
        layout.addWidget(self.copied, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.findable, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.error)
        self._set_loading(True)

    def load(self, *, findable: bool | None = None) -> None:
        """Fetch words and QR (the first time takes two Argon2id runs, about a second);
        ``findable`` also switches the beacon on or off."""
        self._set_loading(True)
        if findable is None:
            future = self._facade.my_alias()
        else:
            future = self._facade.set_findable(findable)
        self._facade.then(future, self, self.show_alias, self._failed)

    def show_alias(self, info: AliasInfo) -> None:
        self.info = info
        self._set_loading(False)
        self.qr.set_png(info.qr_png)
        self.words.setText(info.words)
        self.words.setAccessibleName(self.tr("Your alias: %1").replace("%1", info.words))
        self.findable.blockSignals(True)
        self.findable.setChecked(info.findable)
        self.findable.blockSignals(False)

    def _set_findable(self, on: bool) -> None:
        self.findable.setEnabled(False)

        def done(info: AliasInfo) -> None:
            self.findable.setEnabled(True)
            self.show_alias(info)

        self._facade.then(self._facade.set_findable(on), self, done, self._failed)

    def _set_loading(self, loading: bool) -> None:
        self.busy.start() if loading else self.busy.stop()
        for widget in (self.qr, self.words, self.copy_words, self.copy_link, self.findable):
            widget.setVisible(not loading)

    def _failed(self, error: BaseException) -> None:
        self.busy.stop()
        self.findable.setEnabled(True)
        self.error.show_message(user_message(error))

    def _copy(self, text: str) -> None:
        if not text:
            return
        QGuiApplication.clipboard().setText(text)
        self.copied.setText(self.tr("Copied"))
        QTimer.singleShot(2000, lambda: self.copied.setText(""))


class MyAliasDialog(QDialog):
    """The alias card in a window of its own (from the sidebar's "My alias" button)."""

    def __init__(self, facade: EngineFacade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("My alias"))
        self.setMinimumWidth(440)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        title = QLabel(self.tr("My alias"))
        title.setObjectName("chatTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.card = AliasCard(facade, self, 300)
        close = QPushButton(self.tr("Close"))
        close.setObjectName("primary")
        close.clicked.connect(self.accept)
        layout.addWidget(title)
        layout.addWidget(self.card)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.card.load()
