"""First run and every later start: the onboarding flow and the unlock dialog.

Onboarding: welcome -> your name -> a passphrase (strength hint, confirmation) -> creating
(Argon2id runs on the engine's store thread; a spinner shows it is working) -> your alias and
QR code. Or: welcome -> "Restore from a backup" -> the backup folder -> its passphrase ->
restoring (on the engine thread) -> Libra opens, unlocked.
Unlock: one passphrase field; a wrong passphrase says so and lets you try again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPaintEvent, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import ProfileNotFound, WrongPassphrase
from ..core.protocol.card import MAX_NAME_CHARS
from ..core.services.backup import NotABackup
from ..core.storage import Database
from . import theme
from .alias_view import AliasCard
from .engine import EngineFacade, ProfileInfo
from .errors import user_message
from .passphrase import MIN_PASSPHRASE_CHARS, strength
from .widgets import BusyIndicator, ErrorCard

PAGE_WIDTH = 420


class LogoMark(QWidget):
    """Libra's mark: a rounded square with a balance beam (drawn, no image file needed)."""

    def __init__(self, parent: QWidget | None = None, size: int = 64) -> None:
        super().__init__(parent)
        self.setFixedSize(size, size)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        side = float(self.width())
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.colors().accent))
        painter.drawRoundedRect(QRectF(0, 0, side, side), side * 0.28, side * 0.28)
        painter.setBrush(QColor("#ffffff"))
        u = side / 16
        painter.drawRect(QRectF(7.4 * u, 3.5 * u, 1.2 * u, 9 * u))  # post
        painter.drawRect(QRectF(3 * u, 5 * u, 10 * u, 1.1 * u))  # beam
        painter.drawRoundedRect(QRectF(5 * u, 12 * u, 6 * u, 1.2 * u), u / 2, u / 2)  # base
        for x in (3.9, 12.1):  # pans
            painter.drawChord(QRectF((x - 2.2) * u, 6.6 * u, 4.4 * u, 3.6 * u), 180 * 16, 180 * 16)


def _column(*widgets: QWidget) -> QWidget:
    """A centred column of ``PAGE_WIDTH`` (pages look like a card, not a form)."""
    page = QWidget()
    outer = QHBoxLayout(page)
    outer.addStretch(1)
    inner = QWidget()
    inner.setFixedWidth(PAGE_WIDTH)
    layout = QVBoxLayout(inner)
    layout.setContentsMargins(0, 24, 0, 24)
    layout.setSpacing(12)
    layout.addStretch(1)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(2)
    outer.addWidget(inner)
    outer.addStretch(1)
    return page


def _label(text: str, name: str = "", *, center: bool = False) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    if center:
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


def _buttons(*buttons: QPushButton) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 8, 0, 0)
    layout.addStretch(1)
    for button in buttons:
        layout.addWidget(button)
    return row


class PassphraseField(QWidget):
    """A password box with a "show" toggle."""

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setPlaceholderText(placeholder)
        self.edit.setAccessibleName(placeholder)
        self.show_box = QCheckBox(self.tr("Show"))
        self.show_box.toggled.connect(
            lambda on: self.edit.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.show_box)

    def text(self) -> str:
        return self.edit.text()


class StrengthMeter(QWidget):
    """A bar and a sentence: how hard the passphrase is to guess, and how to improve it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.bar = QProgressBar()
        self.bar.setRange(0, 4)
        self.bar.setTextVisible(False)
        self.label = QLabel()
        self.label.setObjectName("muted")
        self.label.setWordWrap(True)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        self.score = 0
        self.update_for("")

    def update_for(self, passphrase: str) -> None:
        c = theme.colors()
        self.score = score = strength(passphrase)
        if len(passphrase) < MIN_PASSPHRASE_CHARS:
            text = self.tr("Use at least %1 characters.").replace("%1", str(MIN_PASSPHRASE_CHARS))
        else:
            text = (
                self.tr("Very weak: this is easy to guess. Add a few unusual words."),
                self.tr("Weak: add another word or two."),
                self.tr("Fair. Longer is better: add another word."),
                self.tr("Strong."),
                self.tr("Very strong."),
            )[score]
        colour = (c.danger, c.danger, c.warning, c.success, c.success)[score]
        self.bar.setValue(max(score, 1 if passphrase else 0))
        self.bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
        self.label.setText(text)
        self.setAccessibleName(text)


class OnboardingDialog(QDialog):
    """First run: create a profile (or point Libra to one), ending with the alias and QR."""

    completed = Signal(object)  # ProfileInfo: the profile is created and unlocked
    existingChosen = Signal(Path)  # the user chose a folder that holds a profile

    def __init__(self, facade: EngineFacade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._facade = facade
        self._info: ProfileInfo | None = None
        self._back_page: QWidget | None = None
        self._backup_folder: Path | None = None
        # Asks for the backup folder ("" = cancelled); tests and screenshots replace it.
        self.choose_backup_folder: Callable[[], str] = lambda: QFileDialog.getExistingDirectory(
            self, self.tr("Choose the backup folder")
        )
        self.setWindowTitle(self.tr("Welcome to Libra"))
        self.resize(640, 700)
        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        self.welcome_page = self._welcome_page()
        self.name_page = self._name_page()
        self.passphrase_page = self._passphrase_page()
        self.restore_page = self._restore_page()
        self.creating_page = self._creating_page()
        self.done_page = self._done_page()
        for page in (
            self.welcome_page,
            self.name_page,
            self.passphrase_page,
            self.restore_page,
            self.creating_page,
            self.done_page,
        ):
            self.stack.addWidget(page)

    # -- pages -------------------------------------------------------------------------------

    def _welcome_page(self) -> QWidget:
        logo = LogoMark(None, 72)
        logo_row = QWidget()
        row = QHBoxLayout(logo_row)
        row.addStretch(1)
        row.addWidget(logo)
        row.addStretch(1)
        title = _label(self.tr("Welcome to Libra"), "title", center=True)
        text = _label(
            self.tr(
                "Private conversations with people you know. No phone number, no account and no "
                "server: Libra connects you to your contacts through the Tor network, and only "
                "you and they can read your messages."
            ),
            "subtitle",
            center=True,
        )
        self.create_button = QPushButton(self.tr("Create my profile"))
        self.create_button.setObjectName("primary")
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(lambda: self._go(self.name_page))
        self.existing_button = QPushButton(self.tr("I already have a profile…"))
        self.existing_button.setObjectName("flat")
        self.existing_button.clicked.connect(self._choose_existing)
        self.restore_button = QPushButton(self.tr("Restore from a backup…"))
        self.restore_button.setObjectName("flat")
        self.restore_button.clicked.connect(self._choose_backup)
        self.welcome_error = ErrorCard()
        return _column(
            logo_row,
            title,
            text,
            self.create_button,
            self.existing_button,
            self.restore_button,
            self.welcome_error,
        )

    def _name_page(self) -> QWidget:
        title = _label(self.tr("What should your contacts call you?"), "title")
        text = _label(
            self.tr("People you talk to see this name. A first name or a nickname is fine."),
            "subtitle",
        )
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(self.tr("Your name"))
        self.name_edit.setAccessibleName(self.tr("Your name"))
        self.name_edit.setMaxLength(MAX_NAME_CHARS)
        self.name_next = QPushButton(self.tr("Continue"))
        self.name_next.setObjectName("primary")
        self.name_next.setEnabled(False)
        back = QPushButton(self.tr("Back"))
        back.clicked.connect(lambda: self._go(self.welcome_page))
        self.name_edit.textChanged.connect(lambda t: self.name_next.setEnabled(bool(t.strip())))
        self.name_edit.returnPressed.connect(self.name_next.click)
        self.name_next.clicked.connect(self._name_done)
        return _column(title, text, self.name_edit, _buttons(back, self.name_next))

    def _passphrase_page(self) -> QWidget:
        title = _label(self.tr("Choose a passphrase"), "title")
        text = _label(
            self.tr(
                "It encrypts your messages and keys on this computer, and you type it each time "
                "you open Libra. Nobody can recover it for you, so write it down somewhere safe. "
                "Tip: four or more random words are strong and easy to remember."
            ),
            "subtitle",
        )
        self.passphrase = PassphraseField(self.tr("Passphrase"))
        self.meter = StrengthMeter()
        self.confirm = PassphraseField(self.tr("Repeat the passphrase"))
        self.match = _label("", "muted")
        self.passphrase_next = QPushButton(self.tr("Create profile"))
        self.passphrase_next.setObjectName("primary")
        self.passphrase_next.setEnabled(False)
        back = QPushButton(self.tr("Back"))
        back.clicked.connect(lambda: self._go(self.name_page))
        self.passphrase.edit.textChanged.connect(self._check_passphrase)
        self.confirm.edit.textChanged.connect(self._check_passphrase)
        self.confirm.edit.returnPressed.connect(self.passphrase_next.click)
        self.passphrase_next.clicked.connect(self._create)
        return _column(
            title,
            text,
            self.passphrase,
            self.meter,
            self.confirm,
            self.match,
            _buttons(back, self.passphrase_next),
        )

    def _restore_page(self) -> QWidget:
        title = _label(self.tr("Restore from a backup"), "title")
        text = _label(
            self.tr(
                "Type the passphrase this profile had when the backup was made. Libra checks "
                "it, then copies the backup into place; the backup folder is not changed."
            ),
            "subtitle",
        )
        self.restore_folder = _label("", "muted")
        self.restore_folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restore_passphrase = PassphraseField(self.tr("Passphrase of the backup"))
        self.restore_next = QPushButton(self.tr("Restore"))
        self.restore_next.setObjectName("primary")
        self.restore_next.setEnabled(False)
        back = QPushButton(self.tr("Back"))
        back.clicked.connect(lambda: self._go(self.welcome_page))
        self.restore_passphrase.edit.textChanged.connect(
            lambda t: self.restore_next.setEnabled(bool(t))
        )
        self.restore_passphrase.edit.returnPressed.connect(self.restore_next.click)
        self.restore_next.clicked.connect(self._restore)
        return _column(
            title,
            text,
            self.restore_folder,
            self.restore_passphrase,
            _buttons(back, self.restore_next),
        )

    def _creating_page(self) -> QWidget:
        self.creating_busy = BusyIndicator(None, 40)
        busy_row = QWidget()
        row = QHBoxLayout(busy_row)
        row.addStretch(1)
        row.addWidget(self.creating_busy)
        row.addStretch(1)
        self.creating_title = _label(self.tr("Creating your profile…"), "title", center=True)
        self.creating_text = _label(
            self.tr(
                "Libra is making your keys and deriving the encryption key from your passphrase. "
                "This takes a few seconds."
            ),
            "subtitle",
            center=True,
        )
        self.create_error = ErrorCard()
        self.create_back = QPushButton(self.tr("Back"))
        self.create_back.clicked.connect(lambda: self._go(self._back_page or self.welcome_page))
        self.create_back.hide()
        return _column(
            busy_row,
            self.creating_title,
            self.creating_text,
            self.create_error,
            _buttons(self.create_back),
        )

    def _done_page(self) -> QWidget:
        self.done_title = _label("", "title", center=True)
        text = _label(
            self.tr("This is your alias. It is how people find you on Libra."),
            "subtitle",
            center=True,
        )
        self.alias_card = AliasCard(self._facade, None, 220)
        self.open_button = QPushButton(self.tr("Open Libra"))
        self.open_button.setObjectName("primary")
        self.open_button.clicked.connect(self._finish)
        return _column(self.done_title, text, self.alias_card, _buttons(self.open_button))

    # -- flow --------------------------------------------------------------------------------

    def _go(self, page: QWidget) -> None:
        self.stack.setCurrentWidget(page)
        focus = {
            self.name_page: self.name_edit,
            self.passphrase_page: self.passphrase.edit,
            self.restore_page: self.restore_passphrase.edit,
            self.welcome_page: self.create_button,
        }.get(page)
        if focus is not None:
            focus.setFocus()

    def _name_done(self) -> None:
        if self.name_edit.text().strip():
            self._go(self.passphrase_page)

    def _check_passphrase(self) -> None:
        first, second = self.passphrase.text(), self.confirm.text()
        self.meter.update_for(first)
        long_enough = len(first) >= MIN_PASSPHRASE_CHARS
        if not second:
            self.match.setText("")
        elif first == second:
            self.match.setText(self.tr("The passphrases match."))
        else:
            self.match.setText(self.tr("The passphrases are different."))
        self.passphrase_next.setEnabled(long_enough and first == second)

    def _create(self) -> None:
        if not self.passphrase_next.isEnabled():
            return
        self.create_error.hide()
        self.create_back.hide()
        self._back_page = self.passphrase_page
        self.creating_title.setText(self.tr("Creating your profile…"))
        self.creating_text.setText(
            self.tr(
                "Libra is making your keys and deriving the encryption key from your passphrase. "
                "This takes a few seconds."
            )
        )
        self.creating_busy.start()
        self._go(self.creating_page)
        future = self._facade.create_profile(self.name_edit.text(), self.passphrase.text())
        self._facade.then(future, self, self._created, self._create_failed)

    def _created(self, info: ProfileInfo) -> None:
        self._info = info
        self.passphrase.edit.clear()
        self.confirm.edit.clear()
        self.creating_busy.stop()
        self.done_title.setText(self.tr("Welcome, %1!").replace("%1", info.display_name))
        self._go(self.done_page)
        # Onboarding ends with a working alias: findable by default, switchable right here.
        self.alias_card.load(findable=True)

    def _create_failed(self, error: BaseException) -> None:
        self.creating_busy.stop()
        self.creating_title.setText(self.tr("Your profile was not created"))
        self.create_error.show_message(user_message(error))
        self.create_back.show()

    def _finish(self) -> None:
        if self._info is not None:
            self.completed.emit(self._info)
        self.accept()

    def reject(self) -> None:
        """Closing after the profile exists still opens Libra (it is created and unlocked)."""
        if self._info is not None:
            self._finish()
        else:
            super().reject()

    def _choose_backup(self) -> None:
        folder = self.choose_backup_folder()
        if not folder:
            return
        self.welcome_error.hide()
        if not Database.exists(folder):
            self.welcome_error.show_message(user_message(NotABackup(folder)))
            return
        self._backup_folder = Path(folder)
        self.restore_folder.setText(self.tr("Backup folder: %1").replace("%1", folder))
        self._go(self.restore_page)

    def _restore(self) -> None:
        if self._backup_folder is None or not self.restore_passphrase.text():
            return
        self.create_error.hide()
        self.create_back.hide()
        self._back_page = self.restore_page
        self.creating_title.setText(self.tr("Restoring your profile…"))
        self.creating_text.setText(
            self.tr(
                "Libra is checking the passphrase and copying your backup into place. This "
                "takes a few seconds."
            )
        )
        self.creating_busy.start()
        self._go(self.creating_page)
        future = self._facade.restore_profile(self._backup_folder, self.restore_passphrase.text())
        self._facade.then(future, self, self._restored, self._restore_failed)

    def _restored(self, info: ProfileInfo) -> None:
        """Restored and unlocked: straight into Libra (the alias is already set up)."""
        self._info = info
        self.restore_passphrase.edit.clear()
        self.creating_busy.stop()
        self._finish()

    def _restore_failed(self, error: BaseException) -> None:
        self.creating_busy.stop()
        self.creating_title.setText(self.tr("Your profile was not restored"))
        self.create_error.show_message(user_message(error))
        self.create_back.show()
        self.restore_passphrase.edit.selectAll()

    def _choose_existing(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose your Libra profile folder"))
        if not folder:
            return
        if not Database.exists(folder):
            self.welcome_error.show_message(user_message(ProfileNotFound(folder)))
            return
        self.existingChosen.emit(Path(folder))
        self.accept()


class UnlockDialog(QDialog):
    """Every later start: the passphrase, with a clear message and a retry when it is wrong."""

    unlocked = Signal(object)  # ProfileInfo

    def __init__(self, facade: EngineFacade, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._facade = facade
        self.setWindowTitle(self.tr("Unlock Libra"))
        self.resize(560, 520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        logo = LogoMark(None, 64)
        logo_row = QWidget()
        row = QHBoxLayout(logo_row)
        row.addStretch(1)
        row.addWidget(logo)
        row.addStretch(1)
        title = _label(self.tr("Unlock Libra"), "title", center=True)
        text = _label(
            self.tr("Type your passphrase to open your messages."), "subtitle", center=True
        )
        self.passphrase = PassphraseField(self.tr("Passphrase"))
        self.unlock_button = QPushButton(self.tr("Unlock"))
        self.unlock_button.setObjectName("primary")
        self.unlock_button.setEnabled(False)
        self.busy = BusyIndicator(None, 22)
        self.status = _label("", "muted")
        status_row = QWidget()
        srow = QHBoxLayout(status_row)
        srow.setContentsMargins(0, 0, 0, 0)
        srow.addWidget(self.busy)
        srow.addWidget(self.status, 1)
        srow.addWidget(self.unlock_button)
        self.error = ErrorCard()
        folder = _label(
            self.tr("Profile folder: %1").replace("%1", str(facade.data_dir)), "muted", center=True
        )
        folder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        small = QFont(folder.font())
        small.setPointSizeF(small.pointSizeF() * 0.85)
        folder.setFont(small)
        layout.addWidget(
            _column(logo_row, title, text, self.passphrase, status_row, self.error, folder)
        )
        self.passphrase.edit.textChanged.connect(
            lambda t: self.unlock_button.setEnabled(bool(t) and not self.busy.isVisible())
        )
        self.passphrase.edit.returnPressed.connect(self.unlock_button.click)
        self.unlock_button.clicked.connect(self._unlock)
        QShortcut(QKeySequence.StandardKey.Cancel, self, self.reject)
        self.passphrase.edit.setFocus()

    def _unlock(self) -> None:
        passphrase = self.passphrase.text()
        if not passphrase:
            return
        self.error.hide()
        self.unlock_button.setEnabled(False)
        self.passphrase.edit.setEnabled(False)
        self.busy.start()
        self.status.setText(self.tr("Unlocking…"))
        self._facade.then(self._facade.unlock(passphrase), self, self._done, self._failed)

    def _done(self, info: ProfileInfo) -> None:
        self.busy.stop()
        self.passphrase.edit.clear()
        self.unlocked.emit(info)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.busy.stop()
        self.status.setText("")
        self.error.show_message(user_message(error))
        self.passphrase.edit.setEnabled(True)
        if isinstance(error, WrongPassphrase):
            self.passphrase.edit.selectAll()
        self.unlock_button.setEnabled(bool(self.passphrase.text()))
        self.passphrase.edit.setFocus()
