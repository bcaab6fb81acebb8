"""My alias: the three words and the QR code people use to find me, and whether they can.

``AliasCard`` (QR, words, copy buttons, the findable switch) is shared by the end of
onboarding and by ``MyAliasDialog``, which adds who may find me (anyone with the words, or
only people with my link / QR code), a one-time invite, an expiry, and new words.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QDateTime, QLocale, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from .engine import AliasInfo, EngineFacade
from .errors import user_message
from .widgets import BusyIndicator, ErrorCard, QrView

HOUR = 3600
EXPIRY_CHOICES = (0, HOUR, 24 * HOUR, 7 * 24 * HOUR)  # seconds from now; 0: never


class AliasCard(QWidget):
    """QR code, words, copy buttons and the "findable" switch (onboarding and dialog)."""

    shown = Signal(object)  # AliasInfo, after it is on screen

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
        layout.addSpacing(6)  # the code's white margin melts into a light background
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
            future = self._facade.set_findable(findable, **self.options())
        self._facade.then(future, self, self.show_alias, self._failed)

    def options(self) -> dict[str, object]:
        """The current private / one-time / expiry choices (kept when switching on or off)."""
        info = self.info
        if info is None:
            return {}
        return {"private": info.private, "one_time": info.one_time, "expires": info.expires}

    def show_alias(self, info: AliasInfo) -> None:
        self.info = info
        self._set_loading(False)
        self.error.hide()
        self.qr.set_png(info.qr_png)
        self.words.setText(info.words)
        self.words.setAccessibleName(self.tr("Your alias: %1").replace("%1", info.words))
        self.findable.blockSignals(True)
        self.findable.setChecked(info.findable)
        self.findable.blockSignals(False)
        if info.findable and (info.private or info.one_time):
            self.hint.setText(
                self.tr(
                    "Share the invite link or let them scan the code: with this invite the "
                    "words alone are not enough. Only people you accept can write to you."
                )
            )
        else:
            self.hint.setText(
                self.tr(
                    "Tell people these three words, or let them scan the code, to add you. "
                    "Only people you accept can write to you."
                )
            )
        self.shown.emit(info)

    def _set_findable(self, on: bool) -> None:
        self.findable.setEnabled(False)

        def done(info: AliasInfo) -> None:
            self.findable.setEnabled(True)
            self.show_alias(info)

        self._facade.then(self._facade.set_findable(on, **self.options()), self, done, self._failed)

    def change(self, future: object) -> None:
        """Show the result of an alias command (the dialog's settings use this too)."""
        self.findable.setEnabled(False)

        def done(info: AliasInfo) -> None:
            self.findable.setEnabled(True)
            self.show_alias(info)

        self._facade.then(future, self, done, self._failed)  # type: ignore[arg-type]

    def _set_loading(self, loading: bool) -> None:
        self.busy.start() if loading else self.busy.stop()
        for widget in (self.qr, self.words, self.copy_words, self.copy_link, self.findable):
            widget.setVisible(not loading)

    def _failed(self, error: BaseException) -> None:
        self.busy.stop()
        self.findable.setEnabled(True)
        self.error.show_message(user_message(error))
        if self.info is not None:
            self.show_alias(self.info)  # the switch goes back to what is true

    def _copy(self, text: str) -> None:
        if not text:
            return
        QGuiApplication.clipboard().setText(text)
        self.copied.setText(self.tr("Copied"))
        QTimer.singleShot(2000, lambda: self.copied.setText(""))


class MyAliasDialog(QDialog):
    """The alias card and its settings, in a window of its own (sidebar's "My alias")."""

    def __init__(self, facade: EngineFacade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._facade = facade
        self.setWindowTitle(self.tr("My alias"))
        self.setMinimumWidth(500)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(10)
        title = QLabel(self.tr("My alias"))
        title.setObjectName("chatTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.card = AliasCard(facade, self, 264)
        self.state = QLabel()
        self.state.setObjectName("trustNote")
        self.state.setWordWrap(True)
        self.state.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.new_invite = QPushButton(self.tr("Make a new invite"))
        self.new_invite.clicked.connect(self._renew)

        self.settings = QFrame()
        self.settings.setObjectName("card")
        box = QVBoxLayout(self.settings)
        box.setContentsMargins(16, 12, 16, 12)
        who = QLabel(self.tr("Who can find me"))
        who.setStyleSheet("font-weight: 600;")
        self.public = QRadioButton(self.tr("Anyone who knows my three words"))
        self.private = QRadioButton(self.tr("Only people I give my invite link or QR code"))
        self.private.setToolTip(
            self.tr(
                "Your words alone are not enough then: nobody can even tell whether you use "
                "Libra. Each time you turn this on, you get a new link and code."
            )
        )
        self._mode = QButtonGroup(self)
        self._mode.addButton(self.public)
        self._mode.addButton(self.private)
        self.one_time = QCheckBox(self.tr("The invite works only once (for one person)"))
        expiry_row = QHBoxLayout()
        expiry_label = QLabel(self.tr("Stop being findable"))
        self.expiry = QComboBox()
        self.expiry.setAccessibleName(expiry_label.text())
        expiry_row.addWidget(expiry_label)
        expiry_row.addWidget(self.expiry, 1)
        for widget in (who, self.public, self.private, self.one_time):
            box.addWidget(widget)
        box.addLayout(expiry_row)
        for control in (self.public, self.private, self.one_time):
            control.clicked.connect(self._apply)
        self.expiry.activated.connect(self._apply)

        self.regenerate = QPushButton(self.tr("New words…"))
        self.regenerate.setToolTip(
            self.tr("Replace your words, link and QR code (your contacts are not affected)")
        )
        self.regenerate.clicked.connect(self._ask_regenerate)
        self.confirm = QFrame()
        self.confirm.setObjectName("dangerBanner")
        confirm = QVBoxLayout(self.confirm)
        confirm.setContentsMargins(14, 10, 14, 10)
        text = QLabel(
            self.tr(
                "New words replace your current ones: the old words, links and QR codes stop "
                "working at once. People who are already your contacts are not affected."
            )
        )
        text.setWordWrap(True)
        keep = QPushButton(self.tr("Keep my words"))
        keep.clicked.connect(self.confirm.hide)
        self.regenerate_now = QPushButton(self.tr("Make new words"))
        self.regenerate_now.setObjectName("danger")
        self.regenerate_now.clicked.connect(self._regenerate)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(keep)
        row.addWidget(self.regenerate_now)
        confirm.addWidget(text)
        confirm.addLayout(row)
        self.confirm.hide()

        close = QPushButton(self.tr("Close"))
        close.setObjectName("primary")
        close.clicked.connect(self.accept)
        bottom = QHBoxLayout()
        bottom.addWidget(self.regenerate)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout.addWidget(title)
        layout.addWidget(self.card)
        layout.addWidget(self.state)
        layout.addWidget(self.new_invite, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(self.settings)
        layout.addWidget(self.confirm)
        layout.addLayout(bottom)
        self.card.findable.toggled.connect(lambda on: self.settings.setEnabled(on))
        self.card.shown.connect(self._show_settings)
        self.settings.hide()
        self.new_invite.hide()
        self.card.load()

    def _show_settings(self, info: AliasInfo) -> None:
        self.settings.show()
        self.settings.setEnabled(info.findable)
        self.public.setChecked(not info.private)
        self.private.setChecked(info.private)
        self.one_time.setChecked(info.one_time)
        self.expiry.clear()
        if info.expires is not None:
            when = QLocale().toString(
                QDateTime.fromSecsSinceEpoch(info.expires), QLocale.FormatType.ShortFormat
            )
            self.expiry.addItem(self.tr("At %1 (as set)").replace("%1", when), -1)
        labels = (self.tr("Never"), self.tr("In 1 hour"), self.tr("In 1 day"), self.tr("In 1 week"))
        for label, seconds in zip(labels, EXPIRY_CHOICES, strict=True):
            self.expiry.addItem(label, seconds)
        self.expiry.setCurrentIndex(0)
        expired = info.expires is not None and info.expires <= time.time()
        used = info.one_time and info.invite_used
        if not info.findable:
            text, kind = (
                self.tr(
                    "Nobody can find you right now. Your contacts can still reach you as usual."
                ),
                "",
            )
        elif used:
            text, kind = (
                self.tr("Your one-time invite was used. Make a new one to add someone else."),
                "warn",
            )
        elif expired:
            text, kind = self.tr("Your invite has expired. Make a new one."), "warn"
        elif info.private or info.one_time:
            text, kind = (
                self.tr("Findable: only with your invite link or QR code."),
                "ok",
            )
        else:
            text, kind = (
                self.tr("Findable: anyone who knows your three words can send you a request."),
                "ok",
            )
        self.state.setText(text)
        self.state.setProperty("kind", kind)
        self.state.style().unpolish(self.state)
        self.state.style().polish(self.state)
        self.new_invite.setVisible(info.findable and (used or expired))

    def _choices(self) -> dict[str, object]:
        seconds = self.expiry.currentData()
        info = self.card.info
        if seconds == -1 and info is not None:
            expires = info.expires
        else:
            expires = int(time.time()) + seconds if seconds else None
        return {
            "private": self.private.isChecked(),
            "one_time": self.one_time.isChecked(),
            "expires": expires,
        }

    def _apply(self) -> None:
        """Findable with the chosen settings (private and one-time get a new invite)."""
        self.card.change(self._facade.set_findable(True, **self._choices()))  # type: ignore[arg-type]

    def _renew(self) -> None:
        choices = self._choices()
        if choices["expires"] is not None and choices["expires"] <= time.time():  # type: ignore[operator]
            choices["expires"] = None
        self.card.change(self._facade.set_findable(True, **choices))  # type: ignore[arg-type]

    def _ask_regenerate(self) -> None:
        self.confirm.show()
        self.regenerate_now.setFocus()

    def _regenerate(self) -> None:
        self.confirm.hide()
        self.card.change(self._facade.regenerate_alias())
